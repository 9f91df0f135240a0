"""Fixtures shared by the end-to-end tests: a --sim board kept in a state file, and the demo
application as an Intel HEX file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image

PROFILE = "stm3210e-eval"


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    """``--sim stm3210e-eval --sim-state TMP/board.json``."""
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


@pytest.fixture
def app(tmp_path: Path) -> str:
    """A 6 KiB demo application linked for 0x08003000, as a HEX file."""
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=6 * 1024), path)
    return str(path)
