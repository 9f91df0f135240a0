"""After an Upgrade with "leave" (or Leave DFU mode) on the --sim board, the page gets what the
board's Cortex-M core saw the application do, as `dfuse flash --leave` prints it: Cube's
default application (VTOR not set) is reported with its error and the fix, not just "running
application"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pydfuse.gui.server import GuiServer
from support.firmware import elf_path
from support.gui import events, request, running_server, upload

SIM = {"path": "1-1", "serial": None}


@pytest.fixture
def server() -> Iterator[GuiServer]:
    with running_server() as started:
        yield started


def _upgrade_and_leave(server: GuiServer, name: str) -> dict[str, object]:
    file_id = upload(server, elf_path(name))["id"]
    job = request(
        server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id, "leave": True}
    )
    done = events(server, job.json()["job"])[-1]
    assert done["type"] == "done", done
    sim: dict[str, object] = done["sim"]
    return sim


def test_upgrade_with_leave_reports_the_vtor_error_of_the_run(server: GuiServer) -> None:
    sim = _upgrade_and_leave(server, "app-hal-default")
    assert sim["running"] == "application"
    run = sim["run"]
    assert isinstance(run, dict) and run["ok"] is False
    finding = run["findings"][0]
    assert finding["code"] == "run.vtor" and finding["severity"] == "error"
    assert any("USER_VECT_TAB_ADDRESS" in fix for fix in finding["fix"])


def test_a_correct_application_is_reported_in_its_main_loop(server: GuiServer) -> None:
    run = _upgrade_and_leave(server, "app-vtor")["run"]
    assert isinstance(run, dict) and run["ok"] is True and run["main_loop"] is True
    listing = request(server, "GET", "api/devices").json()
    assert listing["sim"]["run"]["main_loop"] is True  # the device list carries it too
