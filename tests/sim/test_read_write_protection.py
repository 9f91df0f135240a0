"""The ROM profiles' option bytes and protection, driven with raw DFU requests (AN3156 §4-§5,
RM0090 §3.7, RM0091 §4): factory values, RDP level 1 refusing reads/writes/erases with errVENDOR,
silent write protection, Read Unprotect, RDP level 2 locking the bootloader away."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import usb.core

from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import State, Status
from support.rawdfu import (
    abort,
    dnload,
    erase,
    find,
    getstatus,
    read,
    set_address,
    to_idle,
    upload,
    vectors,
    write,
    write_option_block,
)

F4_FACTORY = bytes.fromhex("ffaa0055ffaa0055ffff0000ffff0000")
F0_FACTORY = bytes.fromhex("aa55ff00ff00ff00ff00ff00ff00ff00")
F4_LEVEL1 = bytes.fromhex("ffbb0044ffbb0044ffff0000ffff0000")
F4_WRP_0_1 = bytes.fromhex("ffaa0055ffaa0055fcff0300fcff0300")  # nWRP bits 0 and 1 cleared


def _board(profile: str, options: bytes | None = None) -> VirtualBoard:
    board = VirtualBoard(profile)
    if options is not None:
        memory = board.memory(1)
        memory.load(memory.sectors[0].address, options)
        board.reset()  # the option-byte loader runs at reset
    return board


@pytest.mark.parametrize(
    ("profile", "address", "factory"),
    [("stm32f4-rom", 0x1FFFC000, F4_FACTORY), ("stm32f072-rom", 0x1FFFF800, F0_FACTORY)],
)
def test_factory_option_bytes_are_read_back_and_never_all_ff(
    profile: str, address: int, factory: bytes
) -> None:
    board = VirtualBoard(profile)
    dev = find(board)
    to_idle(dev)
    dev.set_interface_altsetting(0, 1)
    block = read(dev, board, address, 16)
    assert block == factory
    assert block != b"\xff" * 16  # written back to a real F4, 0xFF would set RDP level 1
    assert board.rdp_level == 0


@pytest.mark.parametrize(
    ("profile", "address", "length"),
    [
        ("stm32f4-rom", 0x1FFFC000, 4),  # shorter than the block
        ("stm32f4-rom", 0x1FFFC008, 8),  # from inside it
        ("stm32f4-rom", 0x1FFFC000, 32),  # longer
        ("stm32f072-rom", 0x1FFFF800, 2),
    ],
)
def test_option_bytes_are_read_only_as_the_whole_block(
    profile: str, address: int, length: int
) -> None:
    # AN3156 §4.1: "for the option bytes read size must be equal to the option byte block
    # size". What the ROM answers otherwise is not documented: the model refuses the read the
    # way it refuses an address it cannot read (stall, dfuERROR/errTARGET), never a short block.
    board = VirtualBoard(profile)
    dev = find(board)
    to_idle(dev)
    dev.set_interface_altsetting(0, 1)
    assert set_address(dev, board, address).state == State.DFU_DNLOAD_IDLE
    abort(dev)
    with pytest.raises(usb.core.USBError):
        upload(dev, 2, length)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)
    to_idle(dev)
    block = board.memory(1).sectors[0]
    assert read(dev, board, block.address, block.size) == board.memory(1).read(
        block.address, block.size
    )


def test_level_1_refuses_every_read_with_errvendor_but_set_address_works() -> None:
    board = _board("stm32f4-rom", F4_LEVEL1)
    assert board.rdp_level == 1
    dev = find(board)
    to_idle(dev)
    for alt, address in ((0, 0x08000000), (1, 0x1FFFC000)):
        dev.set_interface_altsetting(0, alt)
        assert set_address(dev, board, address).state == State.DFU_DNLOAD_IDLE
        abort(dev)
        with pytest.raises(usb.core.USBError):
            upload(dev, 2, 16)
        st = getstatus(dev)
        assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_VENDOR)
        to_idle(dev)
    assert upload(dev, 0, 16) == b"\x00\x21\x41\x92"  # Get is allowed (AN3156 Table 4)


def test_level_1_refuses_write_and_erase_with_errvendor_and_changes_nothing() -> None:
    board = _board("stm32f4-rom", F4_LEVEL1)
    board.memory(0).load(0x08000000, b"firmware")
    dev = find(board)
    to_idle(dev)
    st = erase(dev, board, 0x08000000)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_VENDOR)
    to_idle(dev)
    st = write(dev, board, 0x08004000, b"\x00" * 16)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_VENDOR)
    to_idle(dev)
    dev.set_interface_altsetting(0, 1)
    st = write(dev, board, 0x1FFFC000, F4_FACTORY)  # no way back through the option bytes
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_VENDOR)
    assert board.memory(0).read(0x08000000, 8) == b"firmware"
    assert board.memory(0).read(0x08004000, 16) == b"\xff" * 16
    assert board.rdp_level == 1


def test_read_unprotect_erases_flash_restores_factory_options_and_resets() -> None:
    protected_and_locked = bytes.fromhex("ffbb0044ffbb0044fcff0300fcff0300")
    board = _board("stm32f4-rom", protected_and_locked)
    board.memory(0).load(0x08000000, b"secret")
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x92")
    assert getstatus(dev).state == State.DFU_DNBUSY
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)  # AN3156 §5.4: it disconnects and resets
    assert info.value.errno == errno.ENODEV
    assert board.memory(0).read(0x08000000, 6) == b"\xff" * 6
    assert board.memory(1).read(0x1FFFC000, 16) == F4_FACTORY  # Table 4 note: defaults
    assert board.rdp_level == 0 and board.running == "bootloader"


def test_read_unprotect_on_an_unprotected_chip_keeps_the_flash() -> None:
    board = VirtualBoard("stm32f4-rom")
    board.memory(0).load(0x08000000, b"keep me")
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x92")
    assert getstatus(dev).state == State.DFU_DNBUSY
    with pytest.raises(usb.core.USBError):
        getstatus(dev)
    assert board.memory(0).read(0x08000000, 7) == b"keep me"  # AN3156 Table 4: RAM only


def test_write_protected_sectors_ignore_erase_and_program_without_an_error() -> None:
    board = _board("stm32f4-rom", F4_WRP_0_1)
    board.memory(0).load(0x08000000, b"boot")
    dev = find(board)
    to_idle(dev)
    st = erase(dev, board, 0x08000000)
    assert (st.state, st.status) == (State.DFU_DNLOAD_IDLE, Status.OK)  # AN3156 §5.3 note
    assert board.memory(0).read(0x08000000, 4) == b"boot"
    st = write(dev, board, 0x08004000, b"\x00" * 16)  # sector 1
    assert (st.state, st.status) == (State.DFU_DNLOAD_IDLE, Status.OK)  # §5.1 note 2
    assert board.memory(0).read(0x08004000, 16) == b"\xff" * 16
    assert write(dev, board, 0x08008000, b"\x00" * 16).status == Status.OK  # sector 2
    assert board.memory(0).read(0x08008000, 16) == b"\x00" * 16
    dnload(dev, 0, b"\x41")  # mass erase: impossible with a protected sector (RM0090 §3.7.4)
    first = getstatus(dev)
    board.clock.sleep(first.poll_ms / 1000)
    assert getstatus(dev).status == Status.OK
    assert board.memory(0).read(0x08008000, 16) == b"\x00" * 16


def test_option_bytes_write_must_start_at_the_block() -> None:
    board = VirtualBoard("stm32f072-rom")
    dev = find(board)
    to_idle(dev)
    dev.set_interface_altsetting(0, 1)
    st = write(dev, board, 0x1FFFF804, b"\xff\x00")
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)
    assert board.memory(1).read(0x1FFFF800, 16) == F0_FACTORY


@pytest.mark.parametrize(
    "block",
    [
        bytes.fromhex("aa00ff00ff00ff00ff00ff00ff00ff00"),  # RDP complement wrong -> 0xFF
        b"\xff" * 16,  # erased state: RDP 0xFF
    ],
)
def test_f0_rdp_that_does_not_load_as_0xaa_means_level_1(block: bytes) -> None:
    board = _board("stm32f072-rom", block)
    assert board.rdp_level == 1


def test_f0_write_protects_4k_blocks() -> None:
    # WRP0 = 0xFE: the first 4 KB block (pages 0-1) is protected (RM0091 §4.1.3)
    board = _board("stm32f072-rom", bytes.fromhex("aa55ff00ff00ff00fe01ff00ff00ff00"))
    dev = find(board)
    to_idle(dev)
    assert write(dev, board, 0x08000800, b"\x00\x00").status == Status.OK
    assert board.memory(0).read(0x08000800, 2) == b"\xff\xff"  # page 1: protected
    assert write(dev, board, 0x08001000, b"\x00\x00").status == Status.OK
    assert board.memory(0).read(0x08001000, 2) == b"\x00\x00"  # page 2: not


def test_level_2_locks_the_bootloader_away_for_good() -> None:
    board = VirtualBoard("stm32f4-rom")
    dev = find(board)
    to_idle(dev)
    level2 = bytes.fromhex("ffcc0033ffcc0033ffff0000ffff0000")
    assert write_option_block(dev, board, 1, 0x1FFFC000, level2).state == State.DFU_DNBUSY
    assert board.rdp_level == 2
    assert board.running == "off" and not board.usb_connected  # no application to run
    board.set_dfu_pin(True)
    board.power_cycle()
    assert board.running == "off"  # BOOT0 no longer reaches the system memory
    board.memory(0).load(0x08000000, vectors(0x20020000, 0x08000101))
    board.power_cycle()
    assert board.running == "application"


def test_state_file_keeps_an_all_ff_option_block(tmp_path: Path) -> None:
    board = _board("stm32f072-rom", b"\xff" * 16)
    board.save(tmp_path / "board.json")
    again = VirtualBoard.load(tmp_path / "board.json")
    assert again.memory(1).read(0x1FFFF800, 16) == b"\xff" * 16
    assert again.rdp_level == 1


@pytest.mark.parametrize(
    ("written", "stored", "level"),
    [
        ("cc00ff00ff00ff00ff00ff00ff00ff00", "cc33ff00ff00ff00ff00ff00ff00ff00", 2),
        ("aa00ff0012ffff00ff00ff00ff00ff00", "aa55ff0012edff00ff00ff00ff00ff00", 0),
    ],
)
def test_f0_chip_writes_each_option_complement_itself(
    written: str, stored: str, level: int
) -> None:
    # RM0091 §3.2.2: "The option byte is automatically complemented into the next flash memory
    # address before the programming operation starts": the complements in the block are not used.
    board = VirtualBoard("stm32f072-rom")
    dev = find(board)
    to_idle(dev)
    write_option_block(dev, board, 1, 0x1FFFF800, bytes.fromhex(written))
    assert board.memory(1).read(0x1FFFF800, 16).hex() == stored
    assert board.rdp_level == level
