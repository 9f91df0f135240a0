"""A `dfuse flash` child process on a real-time virtual board that takes seconds, stopped in
the middle by the tests of signals (SIGINT, SIGTERM)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.sim.boardfile import journal_path

PROFILE = "stm3210e-eval"


def start_long_flash(tmp_path: Path, *, as_json: bool) -> tuple[subprocess.Popen[str], Path]:
    """(the child flashing a 200 KiB application, its --sim-state file), returned once the
    child has the board open and is changing it, plus a second of erasing or programming."""
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=200 * 1024), app)  # about 8 s of modeled erase and program
    state = tmp_path / "b.json"
    sim = ["--sim", PROFILE, "--sim-state", str(state), "--sim-realtime"]
    args = [*sim, "flash", "--full", str(app), *(["--json"] if as_json else [])]
    child = subprocess.Popen(
        [sys.executable, "-m", "pydfuse", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not journal_path(state).exists():  # the board is open and being changed
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    return child, state
