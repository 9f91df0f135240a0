"""The virtual board runs the application it starts, and keeps what it did with its state."""

from __future__ import annotations

import json
from pathlib import Path

from pydfuse.formats import Image
from pydfuse.sim.board import VirtualBoard
from support.firmware import APP, elf_image


def board_running(name: str, **options: object) -> VirtualBoard:
    board = VirtualBoard("stm3210e-eval", **options)  # type: ignore[arg-type]
    image: Image = elf_image(name)
    for segment in image:
        board.memory(0).load(segment.address, segment.data)
    board.reset()
    return board


def test_started_application_has_run_to_its_main_loop() -> None:
    board = board_running("app-vtor")
    assert board.running == "application"
    assert board.app_run is not None and board.app_run.stop == "wfi"
    assert board.app_run.vtor == APP


def test_hal_default_application_is_seen_enabling_interrupts_with_the_loader_table() -> None:
    board = board_running("app-hal-default")
    assert board.app_run is not None
    assert board.app_run.irq_with_bootloader_vtor is not None


def test_bootloader_mode_has_no_application_run() -> None:
    board = board_running("app-vtor")
    board.set_dfu_pin(True)
    board.reset()
    assert board.running == "bootloader" and board.app_run is None


def test_running_can_be_switched_off() -> None:
    board = board_running("app-vtor", run_firmware=False)
    assert board.running == "application" and board.app_run is None


def test_budget_is_the_boards_setting() -> None:
    board = board_running("app-64k", budget=10_000)
    assert board.app_run is not None and board.app_run.stop == "budget"


def test_saved_board_keeps_the_run_and_does_not_repeat_it(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    board_running("app-hal-default").save(state)
    doc = json.loads(state.read_text())
    assert doc["app_run"]["result"]["stop"] == "wfi"
    # Mark the saved result: a board that ran the application again would not carry the mark.
    doc["app_run"]["result"]["pc"] = 0x0800BEEF
    state.write_text(json.dumps(doc))
    restored = VirtualBoard.load(state)
    assert restored.running == "application"
    assert restored.app_run is not None and restored.app_run.pc == 0x0800BEEF


def test_changed_flash_runs_the_application_again(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    board = board_running("app-hal-default")
    board.save(state)
    doc = json.loads(state.read_text())
    doc["app_run"]["result"]["pc"] = 0x0800BEEF
    doc["app_run"]["digest"] = "0" * 64  # memories that no longer match the saved run
    state.write_text(json.dumps(doc))
    restored = VirtualBoard.load(state)
    assert restored.app_run is not None and restored.app_run.pc != 0x0800BEEF
