"""Ctrl-C in the middle of a flash says where it stopped and what that left on the device (as a
pulled cable does), exit code 130, in JSON too; not a bare "aborted"."""

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

PROFILE = "stm3210e-eval"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_during_a_flash_says_what_it_left(tmp_path: Path, as_json: bool) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=200 * 1024), app)  # about 8 s of modeled erase and program
    sim = ["--sim", PROFILE, "--sim-state", str(tmp_path / "b.json"), "--sim-realtime"]
    args = [*sim, "flash", "--full", str(app), *(["--json"] if as_json else [])]
    child = subprocess.Popen(
        [sys.executable, "-m", "pydfuse", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)  # Python is up and the board is being erased or programmed
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == ExitCode.INTERRUPTED, err
    assert "error: interrupted during " in err
    assert "its memory is only partly" in err
    assert "hint: run the same command again" in err
    if as_json:
        record = json.loads(out)
        assert record["exit_code"] == ExitCode.INTERRUPTED
        assert record["error"].startswith("interrupted during ")
        assert record["phase"] in ("erase", "program")
