"""SIGTERM (a CI job's timeout, ``kill``) in the middle of a device command on a ``--sim-state``
board ends it cleanly: the board is saved as it is (no crash journal left to replay), exit code
143, one line and no traceback, a JSON error with ``--json``."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode
from pydfuse.sim.boardfile import journal_path
from pydfuse.sim.state import read_state
from support.longflash import PROFILE, start_long_flash


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to a child process")
@pytest.mark.parametrize("as_json", [False, True])
def test_sigterm_during_a_flash_saves_the_board_and_exits_143(
    tmp_path: Path, as_json: bool
) -> None:
    child, state = start_long_flash(tmp_path, as_json=as_json)
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
