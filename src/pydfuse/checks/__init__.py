"""Pre-flight checks of images: vector table and placement -> findings with user-level messages.

Layer: checks (beside ``pydfuse.plan``). May import ``pydfuse.layout``, ``pydfuse.formats``,
``pydfuse.spec`` and ``pydfuse.errors``. Pure: returns data, never prints.
"""

from __future__ import annotations

from pydfuse.checks.elements import check_element_order, check_target_overlap
from pydfuse.checks.findings import (
    SEVERITIES,
    CheckReport,
    Finding,
    Severity,
    TargetImage,
    TargetReport,
)
from pydfuse.checks.placement import check_placement
from pydfuse.checks.preflight import is_application, preflight, short_name
from pydfuse.checks.vectors import check_vector_table

__all__ = [
    "SEVERITIES",
    "CheckReport",
    "Finding",
    "Severity",
    "TargetImage",
    "TargetReport",
    "check_element_order",
    "check_placement",
    "check_target_overlap",
    "check_vector_table",
    "is_application",
    "preflight",
    "short_name",
]
