"""The page holds the ``--sim-state`` file only while one of its operations runs: between two
operations a ``dfuse`` command on the same file runs at once (it waited for the server to stop,
silently to the page's user), and the page's next operation sees what the command did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.gui import demo_inputs, events, request, running_server, upload

SIM = {"path": "1-1", "serial": None}


def _dfuse(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pydfuse", "--sim", "stm3210e-eval", "--sim-state"]
    return subprocess.run(
        [*command, str(state), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_command_runs_between_two_operations_of_the_page(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    app = demo_inputs(tmp_path)["app"]
    with running_server(sim_state=state) as server:
        assert request(server, "GET", "api/devices").status == 200  # the page looked first
        file_id = upload(server, app)["id"]
        job = request(
            server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id}
        ).json()["job"]
        assert events(server, job)[-1]["type"] == "done"

        # The page is idle: the command gets the board at once and sees the upgrade.
        status = _dfuse(state, "sim", "status", "--json")
        assert status.returncode == 0, status.stderr
        assert "waiting for the virtual board" not in status.stderr
        assert json.loads(status.stdout)["memories"][0]["bytes_not_erased"] > 0

        # What the command does is what the page's next operation finds: the same upgrade
        # again writes everything (the page compares with the board the command erased).
        erased = _dfuse(state, "erase", "-a", "0", "--all")
        assert erased.returncode == 0, erased.stderr
        job = request(
            server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id}
        ).json()["job"]
        done = events(server, job)[-1]
        assert done["type"] == "done", done
        assert done["result"]["bytes_written"] == 24 * 1024
        after = _dfuse(state, "sim", "status", "--json")
        assert json.loads(after.stdout)["memories"][0]["bytes_not_erased"] > 0
