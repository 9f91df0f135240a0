"""`dfuse check --run` says only what the run showed: an error trap with interrupts off is a
hang (an error), a run cut off by its budget is "still running" (not "reached its main loop"),
and a loop in a file without symbols is not taken for main() returning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.formats import save_image
from support.firmware import elf_image, elf_path

Capsys = pytest.CaptureFixture[str]
PROFILE = ("--profile", "stm3210e-eval")


def _check(capsys: Capsys, *args: str) -> tuple[int, str]:
    code = main(["check", *args, *PROFILE, "--run"])
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_error_handler_with_interrupts_off_is_a_hang_naming_its_caller(capsys: Capsys) -> None:
    code, text = _check(capsys, str(elf_path("app-error-trap")))
    assert code == ExitCode.UNSAFE
    assert "run.hang: stuck in a loop on itself at 0x" in text
    assert "(Error_Handler+0x2) with interrupts disabled (PRIMASK set)" in text
    assert "called from 0x" in text and "(settings_load+0x" in text
    assert "reached its main loop" not in text
    assert "RUN FAILED: 1 error" in text


def test_error_trap_json_says_it_is_not_a_main_loop(capsys: Capsys) -> None:
    code = main(["check", str(elf_path("app-error-trap")), *PROFILE, "--run", "--json"])
    run = json.loads(capsys.readouterr().out)["run"]
    assert code == ExitCode.UNSAFE
    assert run["stop"] == "loop" and run["main_loop"] is False and run["primask"] is True
    assert run["findings"][0]["code"] == "run.hang"
    assert run["findings"][0]["address"] == run["pc"]


def test_budget_stop_is_still_running_not_a_main_loop(capsys: Capsys) -> None:
    code, text = _check(capsys, str(elf_path("app-64k")), "--budget", "100000")
    assert code == ExitCode.OK
    assert "RUN OK: still running after 100,000 instructions" in text
    assert "reached its main loop" not in text
    # SysTick's interrupt is enabled and would never be delivered: the report says so.
    assert "the virtual core delivers no interrupts" in text


def test_loop_in_a_file_without_symbols_is_not_main_returning(
    tmp_path: Path, capsys: Capsys
) -> None:
    hex_file = tmp_path / "trap.hex"
    save_image(elf_image("app-error-trap"), hex_file, "hex")
    code, text = _check(capsys, str(hex_file))
    assert code == ExitCode.UNSAFE
    assert "main() returned" not in text and "run.hang" in text
