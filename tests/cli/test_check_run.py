"""`dfuse check --run`: the application runs on the profile's Cortex-M core (no board), and the
report says whether it reaches its main loop, sets VTOR in time, or faults — naming functions
from the ELF's symbols."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.formats import DfuseFile, DfuseTarget
from support.firmware import elf_image, elf_path

Capsys = pytest.CaptureFixture[str]


def _check(capsys: Capsys, *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def _run_json(capsys: Capsys, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["check", *args, "--run", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_correct_application_reaches_its_main_loop_with_vtor_set(capsys: Capsys) -> None:
    code, text = _check(capsys, str(elf_path("app-vtor")), "--profile", "stm3210e-eval", "--run")
    assert code == ExitCode.OK
    assert "run.main-loop: reached its main loop: WFI at 0x08003350 (main+0x64)" in text
    assert "VTOR = 0x08003000 set at 0x080031AA (SystemInit+0x32)" in text
    assert "RUN OK" in text


def test_hal_default_application_is_an_error_with_every_fix(capsys: Capsys) -> None:
    code, text = _check(
        capsys, str(elf_path("app-hal-default")), "--profile", "stm3210e-eval", "--run"
    )
    assert code == ExitCode.UNSAFE
    assert (
        "run.vtor: interrupts were enabled (SysTick interrupt) at 0x080031E6 (tick_init+0x26) "
        "while VTOR = 0x00000000 still selects the bootloader's vector table" in text
    )
    assert "uncomment #define USER_VECT_TAB_ADDRESS and set VECT_TAB_OFFSET to 0x00003000U" in text
    assert "NVIC_SetVectorTable(NVIC_VectTab_FLASH, 0x3000)" in text
    assert "libopencm3: SCB_VTOR = 0x08003000;" in text
    assert "CONFIG_FLASH_LOAD_OFFSET=0x3000" in text
    assert "RUN FAILED: 1 error" in text


def test_application_linked_for_0x08000000_is_reported(tmp_path: Path, capsys: Capsys) -> None:
    image = elf_image("app-linked-0x08000000")
    binary = tmp_path / "app.bin"
    binary.write_bytes(image.read(image.start, image.end - image.start))
    code, doc = _run_json(
        capsys,
        str(binary),
        "--address",
        "0x08003000",
        "--profile",
        "stm3210e-eval",
        "--symbols",
        str(elf_path("app-linked-0x08000000")),
    )
    assert code == ExitCode.UNSAFE
    assert doc["ok"] is False and doc["run"]["stop"] == "fault"
    finding = doc["run"]["findings"][0]
    assert finding["code"] == "run.bootloader-code"
    assert "the reset handler 0x08000135" in finding["message"]
    assert "linker --profile stm3210e-eval --patch" in finding["fix"][0]
    assert doc["run"]["functions"]["0x08000134"] == "Reset_Handler"


@pytest.mark.parametrize(
    ("name", "code", "function", "address"),
    [
        ("app-ram-fault", "run.unmapped", "ram_selftest", 0x20010000),
        ("app-stack-overflow", "run.stack", "sum_depth", None),
        ("app-erases-loader", "run.bootloader-write", "settings_erase", 0x08000000),
    ],
)
def test_faulting_application_names_the_faulting_function(
    capsys: Capsys, name: str, code: str, function: str, address: int | None
) -> None:
    exit_code, doc = _run_json(capsys, str(elf_path(name)), "--profile", "stm3210e-eval")
    assert exit_code == ExitCode.UNSAFE
    run = doc["run"]
    finding = run["findings"][0]
    assert finding["code"] == code
    assert run["functions"][f"0x{run['fault']['pc']:08X}"].startswith(function)
    assert f"({function}" in finding["message"]
    if address is not None:
        assert run["fault"]["address"] == address


def test_a_dfuse_file_runs_its_internal_flash_target(tmp_path: Path, capsys: Capsys) -> None:
    path = tmp_path / "fw.dfu"
    DfuseFile((DfuseTarget.from_image(0, elf_image("app-hal-default")),)).write(path)
    code, doc = _run_json(capsys, str(path), "--profile", "stm3210e-eval")
    assert code == ExitCode.UNSAFE
    assert doc["run"]["findings"][0]["code"] == "run.vtor"
    assert doc["run"]["functions"] == {}  # no ELF, no names


def test_budget_stops_a_long_start_up(capsys: Capsys) -> None:
    code, doc = _run_json(
        capsys, str(elf_path("app-64k")), "--profile", "stm3210e-eval", "--budget", "100000"
    )
    assert code == ExitCode.OK
    assert doc["run"]["stop"] == "budget" and doc["run"]["budget"] == 100_000
    assert "table_crc32" in doc["run"]["findings"][0]["message"]


def test_run_uses_the_sim_profile_when_no_profile_is_given(capsys: Capsys) -> None:
    code = main(["--sim", "stm3210e-eval", "check", str(elf_path("app-vtor")), "--run", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK and doc["run"]["board"] == "stm3210e-eval"


def test_run_without_a_profile_is_a_usage_error(capsys: Capsys) -> None:
    code, text = _check(capsys, str(elf_path("app-vtor")), "--run")
    assert code == ExitCode.USAGE
    assert "--run needs a board profile" in text


def test_budget_without_run_is_a_usage_error(capsys: Capsys) -> None:
    code, text = _check(
        capsys, str(elf_path("app-vtor")), "--profile", "stm3210e-eval", "--budget", "10"
    )
    assert code == ExitCode.USAGE and "go with --run" in text
