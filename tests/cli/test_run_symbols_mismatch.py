"""Function names come from an ELF the user names (`--symbols`); when it is not the build that
ran (a stale or other ELF), the names would point at the wrong functions. `check --run` and
`sim status` say so instead of naming them as if they were right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from support.firmware import elf_path

Capsys = pytest.CaptureFixture[str]


def test_check_run_warns_when_the_symbols_are_from_another_build(capsys: Capsys) -> None:
    code = main(
        [
            "check",
            str(elf_path("app-ram-fault")),
            "--profile",
            "stm3210e-eval",
            "--run",
            "--symbols",
            str(elf_path("app-64k")),
            "--json",
        ]
    )
    run = json.loads(capsys.readouterr().out)["run"]
    assert code == ExitCode.UNSAFE  # the bus fault is still the error
    codes = [f["code"] for f in run["findings"]]
    assert codes[0] == "run.unmapped" and "run.symbols-mismatch" in codes
    warning = next(f for f in run["findings"] if f["code"] == "run.symbols-mismatch")
    assert "app-64k.elf" in warning["message"] and "not the build that ran" in warning["message"]


def test_the_right_symbols_give_no_warning(capsys: Capsys) -> None:
    code = main(
        ["check", str(elf_path("app-ram-fault")), "--profile", "stm3210e-eval", "--run", "--json"]
    )
    run = json.loads(capsys.readouterr().out)["run"]
    assert code == ExitCode.UNSAFE
    assert "run.symbols-mismatch" not in [f["code"] for f in run["findings"]]


def test_sim_status_warns_about_a_stale_elf(tmp_path: Path, capsys: Capsys) -> None:
    sim = ["--sim", "stm3210e-eval", "--sim-state", str(tmp_path / "board.json")]
    assert main([*sim, "flash", str(elf_path("app-hal-default")), "--leave", "-q"]) == 0
    capsys.readouterr()
    assert main([*sim, "sim", "status", "--symbols", str(elf_path("app-vtor"))]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "run.symbols-mismatch" in text and "app-vtor.elf" in text
    assert main([*sim, "sim", "status", "--symbols", str(elf_path("app-hal-default"))]) == 0
    assert "run.symbols-mismatch" not in capsys.readouterr().out
