"""`--json` of the commands that start the application on the virtual board (flash --leave,
leave) carries what its run showed, as their text summary does ("its run found run.vtor")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from support.firmware import elf_path

Capsys = pytest.CaptureFixture[str]


def _json(capsys: Capsys, state: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code = main(["--sim", "stm3210e-eval", "--sim-state", str(state), *args, "--json"])
    assert code == ExitCode.OK
    doc: dict = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    return doc


def test_flash_leave_json_has_the_runs_error(tmp_path: Path, capsys: Capsys) -> None:
    state = tmp_path / "board.json"
    doc = _json(capsys, state, "flash", str(elf_path("app-hal-default")), "--leave")
    run = doc["sim"]["run"]
    assert run["ok"] is False and run["findings"][0]["code"] == "run.vtor"


def test_leave_json_has_the_run_and_dfu_mode_has_none(tmp_path: Path, capsys: Capsys) -> None:
    state = tmp_path / "board.json"
    flashed = _json(capsys, state, "flash", str(elf_path("app-vtor")))
    assert flashed["sim"]["run"] is None  # still in the bootloader: nothing has run
    run = _json(capsys, state, "leave")["sim"]["run"]
    assert run["ok"] is True and run["main_loop"] is True and run["stop"] == "wfi"
