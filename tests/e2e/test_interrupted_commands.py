"""Ctrl-C in the middle of a flash says where it stopped and what that left on the device (as a
pulled cable does), exit code 130, in JSON too; not a bare "aborted"."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode
from support.longflash import start_long_flash


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_during_a_flash_says_what_it_left(tmp_path: Path, as_json: bool) -> None:
    child, _ = start_long_flash(tmp_path, as_json=as_json)  # erasing or programming
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
