"""End to end: flash a real application with --leave on the virtual board; it runs on the
board's Cortex-M core, the leave says how that went, and ``dfuse sim status`` shows what it
did (main loop, VTOR, the error and its fix) in later commands from the state file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main
from support.firmware import elf_path

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "stm3210e-eval", "--sim-state", str(tmp_path / "board.json")]


def _flash_and_leave(sim: list[str], name: str, capsys: Capsys) -> str:
    assert main([*sim, "flash", str(elf_path(name)), "--leave"]) == ExitCode.OK
    out = capsys.readouterr()
    return " ".join((out.out + out.err).split())


def _status(sim: list[str], capsys: Capsys, *extra: str) -> dict[str, Any]:
    assert main([*sim, "sim", "status", "--json", *extra]) == ExitCode.OK
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_correct_application_reaches_its_main_loop_after_leave(
    sim: list[str], capsys: Capsys
) -> None:
    text = _flash_and_leave(sim, "app-vtor", capsys)
    assert "running application from 0x08003000; it reached its main loop" in text
    run = _status(sim, capsys)["application"]
    assert run["stop"] == "wfi" and run["ok"] is True
    assert run["vtor"] == 0x08003000 and run["vtor_writes"][0]["value"] == 0x08003000


def test_hal_default_application_shows_the_vtor_error_in_sim_status(
    sim: list[str], capsys: Capsys
) -> None:
    text = _flash_and_leave(sim, "app-hal-default", capsys)
    assert "its run found run.vtor (dfuse sim status shows what to fix)" in text
    run = _status(sim, capsys, "--symbols", str(elf_path("app-hal-default")))["application"]
    assert run["ok"] is False
    error = run["findings"][0]
    assert error["code"] == "run.vtor" and "(tick_init+0x26)" in error["message"]
    assert any("USER_VECT_TAB_ADDRESS" in fix for fix in error["fix"])
    assert main([*sim, "sim", "status"]) == ExitCode.OK
    shown = " ".join(capsys.readouterr().out.split())
    assert "run.vtor: interrupts were enabled (SysTick interrupt) at 0x080031E6" in shown
    assert "RUN FAILED: 1 error" in shown


def test_faulting_application_is_named_in_sim_status(sim: list[str], capsys: Capsys) -> None:
    _flash_and_leave(sim, "app-ram-fault", capsys)
    run = _status(sim, capsys, "--symbols", str(elf_path("app-ram-fault")))["application"]
    assert run["stop"] == "fault" and run["fault"]["kind"] == "unmapped"
    assert "(ram_selftest+0xc)" in run["findings"][0]["message"]


def test_back_in_dfu_mode_there_is_no_application_run(sim: list[str], capsys: Capsys) -> None:
    _flash_and_leave(sim, "app-vtor", capsys)
    assert main([*sim, "detach"]) == ExitCode.OK
    capsys.readouterr()
    assert _status(sim, capsys)["application"] is None
