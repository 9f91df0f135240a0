"""Boot decision, leave, re-enumeration and the application's DFU run-time interface."""

from __future__ import annotations

import dataclasses
import errno

import pytest
import usb.core
import usb.util

from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import get_profile
from pydfuse.spec import Attributes, State, Status
from support.rawdfu import abort, dnload, find, getstatus, set_address, to_idle, vectors

APP = 0x08003000


def board_with_app(sp: int = 0x20010000, reset: int = APP + 0x131, at: int = APP) -> VirtualBoard:
    board = VirtualBoard("stm3210e-eval")
    board.memory(0).load(at, vectors(sp, reset))
    board.reset()
    return board


def test_empty_flash_stays_in_dfu_with_errfirmware() -> None:
    board = VirtualBoard("stm3210e-eval")
    assert board.running == "bootloader"
    assert board.vector_table == 0x08000000
    st = getstatus(find(board))
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_FIRMWARE)  # §2.9, §7.1


def test_valid_app_runs_from_0x08003000() -> None:
    board = board_with_app()
    assert board.running == "application"
    assert board.vector_table == APP
    dev = find(board)
    assert usb.util.get_string(dev, dev.iProduct) == "pydfuse demo application"
    intf = dev.get_active_configuration()[(0, 0)]
    assert (intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol) == (
        0xFE,
        0x01,
        0x01,
    )


def test_stack_top_equal_to_sram_end_is_valid_and_beyond_is_not() -> None:
    assert board_with_app(sp=0x20010000).running == "application"
    assert board_with_app(sp=0x20010004).running == "bootloader"
    assert board_with_app(reset=APP + 0x130).running == "bootloader"  # bit 0 clear


def test_dfu_pin_held_forces_dfu_mode() -> None:
    board = board_with_app()
    board.set_dfu_pin(True)
    board.reset()
    assert board.running == "bootloader"
    board.set_dfu_pin(False)
    board.reset()
    assert board.running == "application"


def test_app_linked_for_0x08000000_loaded_at_0x08003000_stays_in_dfu() -> None:
    board = board_with_app(reset=0x08000131)
    assert board.running == "bootloader"


def test_leave_gives_enodev_then_app_at_new_address() -> None:
    board = VirtualBoard("stm3210e-eval")
    backend = get_backend(board)
    dev = usb.core.find(backend=backend)
    old_address = dev.address
    to_idle(dev)
    board.memory(0).load(APP, vectors(0x20010000, APP + 0x131))
    dnload(dev, 0, b"")
    assert getstatus(dev).state == State.DFU_MANIFEST
    for call in (lambda: getstatus(dev), lambda: abort(dev)):
        with pytest.raises(usb.core.USBError) as info:
            call()
        assert info.value.errno == errno.ENODEV and info.value.backend_error_code == -4
    assert usb.core.find(backend=backend, idProduct=0xDF11) is None
    app = usb.core.find(backend=backend)
    assert app.idProduct == 0xDF12 and app.address != old_address
    assert board.running == "application"


def test_leave_without_app_comes_back_as_bootloader_at_new_address() -> None:
    board = VirtualBoard("stm3210e-eval")
    backend = get_backend(board)
    dev = usb.core.find(backend=backend)
    to_idle(dev)
    dnload(dev, 0, b"")
    assert getstatus(dev).state == State.DFU_MANIFEST
    again = usb.core.find(backend=backend)
    assert again.idProduct == 0xDF11 and again.address != dev.address
    assert board.running == "bootloader"


def test_rom_leave_jumps_to_the_pointer() -> None:
    board = VirtualBoard("stm32f4-rom")
    board.memory(0).load(0x08020000, vectors(0x20020000, 0x08020199))
    dev = find(board)
    to_idle(dev)
    assert set_address(dev, board, 0x08020000).state == State.DFU_DNLOAD_IDLE
    dnload(dev, 0, b"")
    assert getstatus(dev).state == State.DFU_MANIFEST
    assert (board.running, board.vector_table) == ("application", 0x08020000)


def test_rom_leave_to_bad_pointer_resets_into_bootloader() -> None:
    board = VirtualBoard("stm32f4-rom")
    board.set_dfu_pin(True)  # BOOT0 held: the reset comes back in the ROM (§2.5)
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"")
    getstatus(dev)
    assert board.running == "bootloader" and board.vector_table == 0x1FFF0000


@pytest.mark.parametrize(
    ("profile", "system_memory"),
    [("stm32f4-rom", 0x1FFF0000), ("stm32f072-rom", 0x1FFFC800)],  # RM0090 §2.3, RM0091 Table 2
)
def test_a_rom_bootloader_runs_from_its_chips_system_memory(
    profile: str, system_memory: int
) -> None:
    board = VirtualBoard(profile)
    assert board.running == "bootloader" and board.vector_table == system_memory


def test_runtime_detach_with_will_detach_reenumerates_in_dfu() -> None:
    board = board_with_app()
    backend = get_backend(board)
    app = usb.core.find(backend=backend)
    assert getstatus(app).state == State.APP_IDLE
    app.ctrl_transfer(0x21, 0, 1000, 0, None)  # DFU_DETACH
    assert board.running == "bootloader"  # bitWillDetach: it went by itself
    dfu = usb.core.find(backend=backend)
    assert dfu.idProduct == 0xDF11
    assert getstatus(dfu).status == Status.ERR_FIRMWARE  # the demo always starts so
    board.reset()
    assert board.running == "application"  # the 'stay in DFU' flag was used up


def _no_will_detach_board() -> VirtualBoard:
    base = get_profile("stm3210e-eval")
    runtime = dataclasses.replace(base.runtime, attributes=Attributes.CAN_DNLOAD)
    board = VirtualBoard(dataclasses.replace(base, runtime=runtime))
    board.memory(0).load(APP, vectors(0x20010000, APP + 0x131))
    board.reset()
    return board


def test_runtime_detach_then_bus_reset_enters_dfu() -> None:
    board = _no_will_detach_board()
    backend = get_backend(board)
    app = usb.core.find(backend=backend)
    app.ctrl_transfer(0x21, 0, 200, 0, None)
    assert getstatus(app).state == State.APP_DETACH
    board.clock.sleep(0.1)
    with pytest.raises(usb.core.USBError) as info:
        app.reset()  # libusb: descriptors changed -> NOT_FOUND
    assert info.value.backend_error_code == -5
    assert board.running == "bootloader"
    assert usb.core.find(backend=backend).idProduct == 0xDF11


def test_runtime_detach_timeout_expires_back_to_app_idle() -> None:
    board = _no_will_detach_board()
    app = find(board)
    app.ctrl_transfer(0x21, 0, 100, 0, None)
    board.clock.sleep(0.3)  # wDetachTimeOut passed without a reset
    assert getstatus(app).state == State.APP_IDLE
    app.reset()  # plain bus reset of a running application: same device
    assert board.running == "application"


def test_demo_bus_reset_keeps_dfu_state() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    dev.reset()  # §2.9: EP0 re-initialised, DFU state kept
    assert getstatus(find(board)).state == State.DFU_IDLE


def test_power_cycle_and_unplug() -> None:
    board = board_with_app()
    board.unplug()
    assert board.running == "off" and not board.usb_connected
    assert usb.core.find(backend=get_backend(board)) is None
    board.power_cycle()
    assert board.running == "application" and board.usb_connected
