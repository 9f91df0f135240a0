"""Ctrl-C during ``flash --all`` (issue #11): the command stops at once with exit code 130 and
no traceback, every board's --sim-state file is saved and readable, and no board interrupted
after its erase began boots half-written firmware (the vector table is written last)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pydfuse.formats import save_image
from support.boards import app_image

PROFILE = "stm3210e-eval"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _dfuse(*args: str) -> list[str]:
    return [sys.executable, "-m", "pydfuse", "--sim", PROFILE, *args]


def test_ctrl_c_stops_every_board_and_saves_each_state(tmp_path: Path) -> None:
    app = tmp_path / "app.hex"
    save_image(app_image(40 * 2048), app)  # ~1.2 s of erasing, ~2.1 s of programming
    station = tmp_path / "station"
    sim = ["--sim-boards", "3", "--sim-state", str(station)]
    process = subprocess.Popen(
        _dfuse(*sim, "--sim-realtime", "flash", str(app), "--all", "--full"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # plain progress lines, one set per board
        if "erasing 100%" in line:
            break  # the boards program for about 2 s from now
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err and "aborted" in err
    for number in (1, 2, 3):
        one = ["--sim-state", str(station / f"board-{number:02d}.json")]
        status = subprocess.run(
            _dfuse(*one, "sim", "status", "--json"), capture_output=True, text=True, check=True
        )
        board = json.loads(status.stdout)
        assert board["running"] == "bootloader"
        assert board["memories"][0]["bytes_not_erased"] < 40 * 2048  # cut short, saved as such
        reset = subprocess.run(
            _dfuse(*one, "sim", "reset", "--json"), capture_output=True, text=True, check=True
        )
        assert json.loads(reset.stdout)["running"] == "bootloader"  # no half-written app boots
