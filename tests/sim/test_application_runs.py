"""The Cortex-M core runs the test firmware: main loop, VTOR, interrupts, faults, budget.

The applications are real (tests/firmware, built with gcc-arm-none-eabi); the memory map is the
stm3210e-eval profile's, with the bootloader's 12 KB at 0x08000000.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from pydfuse.formats import Image, load_image
from pydfuse.sim.cortexm import machine_for_profile, run_firmware, vtor_owner
from pydfuse.sim.cortexm.result import RunResult
from pydfuse.sim.profiles import get_profile
from support.firmware import APP, elf_image, elf_path, function_range

E_EVAL = get_profile("stm3210e-eval")


def run(
    image: Image, *, table: int = APP, budget: int = 5_000_000, profile: str = "stm3210e-eval"
) -> RunResult:
    spec = machine_for_profile(get_profile(profile), {0: [(s.address, s.data) for s in image]})
    return run_firmware(spec, table, budget=budget)


def inside(name: str, function: str, address: int | None) -> bool:
    lo, hi = function_range(name, function)
    return address is not None and lo <= address < hi


def test_correct_application_sets_vtor_before_interrupts_and_sleeps_in_its_main_loop() -> None:
    result = run(elf_image("app-vtor"))
    assert result.stop == "wfi" and result.main_loop
    assert inside("app-vtor", "main", result.pc)
    assert [w.value for w in result.vtor_writes] == [APP]
    assert inside("app-vtor", "SystemInit", result.vtor_writes[0].pc)
    assert result.vtor == APP and result.vtor_owner == "application"
    first = result.irq_enables[0]
    assert first.source == "SysTick interrupt" and inside("app-vtor", "tick_init", first.pc)
    assert first.vtor == APP and first.vtor_owner == "application"
    assert result.irq_with_bootloader_vtor is None
    assert result.fault is None


def test_hal_default_enables_the_systick_interrupt_with_the_bootloaders_table() -> None:
    result = run(elf_image("app-hal-default"))
    assert result.stop == "wfi"
    assert result.vtor_writes == ()
    bad = result.irq_with_bootloader_vtor
    assert bad is not None
    assert bad.vtor == 0 and bad.source == "SysTick interrupt"
    assert inside("app-hal-default", "tick_init", bad.pc)


def test_start_up_waits_end_because_the_clock_flags_follow_their_enables() -> None:
    result = run(elf_image("app-vtor"))
    # clock_init_72mhz returned 0: the LED, the UART and the banner came after it.
    assert result.peripheral_writes["GPIOF"] >= 2
    assert result.peripheral_writes["USART1"] == len("pydfuse test application\r\n") + 2
    assert result.peripheral_writes["RCC"] > 5


def test_application_linked_for_0x08000000_runs_into_the_bootloaders_flash() -> None:
    elf = elf_image("app-linked-0x08000000")
    as_bin = Image.from_segments(
        [(APP, elf.read(elf.start, elf.end - elf.start))]
    )  # the .bin flashed at 0x08003000
    result = run(as_bin)
    assert result.stop == "fault" and result.fault is not None
    assert result.fault.kind == "bootloader-code"
    assert result.reset_handler is not None and result.reset_handler < APP
    assert result.pc == result.reset_handler & ~1


def test_nothing_at_the_application_address_is_no_vector_table() -> None:
    result = run(elf_image("app-linked-0x08000000"))  # the ELF's own address, 0x08000000
    assert result.stop == "fault" and result.fault is not None
    assert result.fault.kind == "no-vector-table"
    assert "erased" in result.fault.detail


def test_bus_fault_names_the_address_and_the_code_that_read_it() -> None:
    result = run(elf_image("app-ram-fault"))
    assert result.fault is not None and result.fault.kind == "unmapped"
    assert result.fault.address == 0x20010000  # just past the 64 KB of SRAM
    assert inside("app-ram-fault", "ram_selftest", result.fault.pc)


def test_stack_overflow_is_a_stack_fault_in_the_recursing_function() -> None:
    result = run(elf_image("app-stack-overflow"))
    assert result.fault is not None and result.fault.kind == "stack"
    assert result.fault.sp is not None and result.fault.sp < E_EVAL.sram_start
    assert inside("app-stack-overflow", "sum_depth", result.fault.pc)


def test_erasing_the_bootloaders_first_page_is_caught_before_it_happens() -> None:
    result = run(elf_image("app-erases-loader"))
    assert result.fault is not None and result.fault.kind == "bootloader-write"
    assert result.fault.address == 0x08000000
    assert inside("app-erases-loader", "settings_erase", result.fault.pc)


def test_stack_pointer_outside_sram_faults_before_the_first_instruction() -> None:
    image = elf_image("app-vtor")
    data = bytearray(image.read(image.start, image.end - image.start))
    data[0:4] = (0x20020000).to_bytes(4, "little")  # linked for a 128 KB part
    result = run(Image.from_segments([(APP, bytes(data))]))
    assert result.fault is not None and result.fault.kind == "stack"
    assert result.fault.sp == 0x20020000


def test_budget_stop_reports_the_busy_loop() -> None:
    result = run(elf_image("app-64k"), budget=200_000)
    # Cut off inside its start-up (the table checksum): not known to be in its main loop.
    assert result.stop == "budget" and not result.main_loop and result.loop is not None
    lo, hi = result.loop
    assert inside("app-64k", "table_crc32", lo) and inside("app-64k", "table_crc32", hi)


def test_error_trap_with_interrupts_off_is_a_hang_not_a_main_loop() -> None:
    result = run(elf_image("app-error-trap"))
    assert result.stop == "loop" and inside("app-error-trap", "Error_Handler", result.pc)
    assert result.masked is True and result.stuck and not result.main_loop
    assert inside("app-error-trap", "settings_load", result.lr)


def test_loop_on_itself_with_an_interrupt_enabled_is_a_main_loop() -> None:
    # The correct application's banner and LED set-up, then a plain "b ." as its main loop.
    image = elf_image("app-vtor")
    lo, _ = function_range("app-vtor", "main")
    wfi = lo + image.read(lo, 0x70).index(b"\x30\xbf") - image.start  # WFI -> "b ."
    data = bytearray(image.read(image.start, image.end - image.start))
    data[wfi : wfi + 2] = b"\xfe\xe7"
    result = run(Image.from_segments([(APP, bytes(data))]))
    assert result.stop == "loop" and result.masked is False and "SysTick" in result.sources
    assert result.main_loop and not result.stuck


def test_64k_application_reaches_its_main_loop_within_the_default_budget() -> None:
    result = run(elf_image("app-64k"))
    assert result.stop == "wfi" and result.vtor_owner == "application"


def test_budget_is_the_last_instruction_run_even_just_before_the_main_loop() -> None:
    # app-vtor sleeps after a few thousand instructions; 200 must not reach its WFI.
    result = run(elf_image("app-vtor"), budget=200)
    assert result.stop == "budget" and result.budget == 200 and not result.main_loop


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run(elf_image("app-vtor"), budget=0)


def test_without_unicorn_the_run_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "unicorn", None)
    monkeypatch.delitem(sys.modules, "pydfuse.sim.cortexm.core", raising=False)
    result = run(elf_image("app-vtor"))
    assert result.stop == "not-run" and not result.main_loop
    assert "pydfuse[run]" in result.detail
    assert result.initial_sp == 0x20010000  # the table was still read


def test_address_zero_is_the_bootloaders_table_after_a_rom_jump_only() -> None:
    rom = get_profile("stm32f4-rom")
    image = load_image(elf_path("app-linked-0x08000000"))
    contents = {0: [(s.address, s.data) for s in image]}
    after_reset = machine_for_profile(rom, contents)
    after_jump = machine_for_profile(rom, contents, started_by_rom_jump=True)
    assert vtor_owner(after_reset, 0x08000000, 0) == "application"
    assert vtor_owner(after_jump, 0x08000000, 0) == "bootloader"
    assert vtor_owner(after_jump, 0x08000000, 0x08000000) == "application"
    assert vtor_owner(after_jump, 0x08000000, 0x20000000) == "sram"


def test_result_survives_a_round_trip_through_its_dict() -> None:
    result = run(elf_image("app-hal-default"))
    assert RunResult.from_dict(result.to_dict()) == result


def test_the_core_runs_where_the_address_space_is_limited() -> None:
    """unicorn's default 1 GiB code buffer ended the whole process under ``ulimit -v``."""
    script = (
        "from support.firmware import elf_image, APP\n"
        "from pydfuse.sim.cortexm import machine_for_profile, run_firmware\n"
        "from pydfuse.sim.profiles import get_profile\n"
        "image = elf_image('app-vtor')\n"
        "spec = machine_for_profile(get_profile('stm3210e-eval'),"
        " {0: [(s.address, s.data) for s in image]})\n"
        "print(run_firmware(spec, APP, budget=5_000_000).stop)\n"
    )

    def limit() -> None:  # 900 MB of address space: ample for Python, not for 1 GiB of TCG
        resource.setrlimit(resource.RLIMIT_AS, (900_000_000, 900_000_000))

    tests_dir = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tests_dir,
        preexec_fn=limit,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wfi"
