"""Fixtures for host/ops tests (helpers live in support/boards.py)."""

from __future__ import annotations

import pytest

from support.boards import Rig, make_rig


@pytest.fixture
def rig() -> Rig:
    """A virtual STM3210E-EVAL in DFU mode (no application yet) on its own bus."""
    return make_rig("stm3210e-eval")
