"""Pre-flight checks of images: vector table and placement -> findings with user-level messages.

Layer: checks (beside ``pydfuse.plan``). May import ``pydfuse.layout``, ``pydfuse.formats``,
``pydfuse.spec`` and ``pydfuse.errors``. Pure: returns data, never prints.
"""

from __future__ import annotations

from pydfuse.checks.backup import left_out_note
from pydfuse.checks.board import (
    ARCHITECTURAL_RAM,
    BoardFacts,
    RamRange,
    application_alt,
    inferred_app_address,
)
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
from pydfuse.checks.preflight import app_address_of, is_application, preflight, short_name
from pydfuse.checks.vectors import check_vector_table, looks_like_vector_table

__all__ = [
    "ARCHITECTURAL_RAM",
    "SEVERITIES",
    "BoardFacts",
    "CheckReport",
    "Finding",
    "RamRange",
    "Severity",
    "TargetImage",
    "TargetReport",
    "app_address_of",
    "application_alt",
    "check_element_order",
    "check_placement",
    "check_target_overlap",
    "check_vector_table",
    "inferred_app_address",
    "is_application",
    "left_out_note",
    "looks_like_vector_table",
    "preflight",
    "short_name",
]
