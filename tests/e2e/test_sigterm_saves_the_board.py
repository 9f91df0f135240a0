"""SIGTERM (a CI job's timeout, ``kill``) in the middle of a device command on a ``--sim-state``
board ends it cleanly: the board is saved as it is (no crash journal left to replay), exit code
143, one line and no traceback, a JSON error with ``--json``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.sim.boardfile import journal_path
from pydfuse.sim.state import read_state

PROFILE = "stm3210e-eval"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to a child process")
@pytest.mark.parametrize("as_json", [False, True])
def test_sigterm_during_a_flash_saves_the_board_and_exits_143(
    tmp_path: Path, as_json: bool
) -> None:
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
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == ExitCode.TERMINATED == 143, err
    assert "Traceback" not in err
    assert "error: terminated (SIGTERM)" in err and "hint: " in err
    assert not journal_path(state).exists()  # saved at the end, not left for a replay
    assert read_state(state)["profile"] == PROFILE
    if as_json:
        record = json.loads(out)
        assert record["exit_code"] == 143 and record["error"] == "terminated (SIGTERM)"
