"""Flash semantics and timing through pyusb: erase, program, rights, routing (§2.6, §5, §6)."""

from __future__ import annotations

import errno
import struct

import pytest
import usb.core

from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import State, Status
from support.rawdfu import (
    abort,
    command,
    dnload,
    erase,
    find,
    finish,
    getstatus,
    read,
    set_address,
    to_idle,
    upload,
    write,
)


@pytest.fixture
def e_eval() -> tuple[VirtualBoard, object]:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    return board, dev


def test_program_without_erase_fails_with_errprog(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    assert erase(dev, board, 0x08004000).state == State.DFU_DNLOAD_IDLE
    assert write(dev, board, 0x08004000, b"\x12\x34" * 8).status == Status.OK
    st = write(dev, board, 0x08004000, b"\x00\x34" * 8)  # needs a re-erase: PGERR (§5.4)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_PROG)
    assert board.memory(0).read(0x08004000, 2) == b"\x12\x34"  # failed half-word unchanged


def test_writing_zero_over_programmed_halfword_is_allowed(
    e_eval: tuple[VirtualBoard, object],
) -> None:
    board, dev = e_eval
    board.memory(0).load(0x08004000, b"\x12\x34")
    assert write(dev, board, 0x08004000, b"\0\0").status == Status.OK  # §5.4 exception
    assert board.memory(0).read(0x08004000, 4) == b"\0\0\xff\xff"


def test_odd_tail_is_padded_with_ff(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    assert write(dev, board, 0x08004000, b"\x01\x02\x03").status == Status.OK
    assert board.memory(0).read(0x08004000, 4) == b"\x01\x02\x03\xff"


def test_protected_sectors_refuse_write_and_erase(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    before = board.memory(0).read(0x08000000, 16)
    st = write(dev, board, 0x08002800, b"\0" * 16)  # last 'a' page (§3.4)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)
    to_idle(dev)
    st = erase(dev, board, 0x08000000)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)
    assert board.memory(0).read(0x08000000, 16) == before


def test_erase_is_the_page_containing_the_address(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    mem = board.memory(0)
    mem.load(0x08003000, b"\xaa" * 0x1000)  # two 2 KB pages
    assert erase(dev, board, 0x08003804).state == State.DFU_DNLOAD_IDLE
    assert mem.read(0x08003000, 0x800) == b"\xaa" * 0x800
    assert mem.read(0x08003800, 0x800) == b"\xff" * 0x800


def test_data_outside_selected_alternate_is_errtarget_on_second_getstatus(
    e_eval: tuple[VirtualBoard, object],
) -> None:
    board, dev = e_eval
    dev.set_interface_altsetting(0, 1)  # SPI
    assert set_address(dev, board, 0x08004000).state == State.DFU_DNLOAD_IDLE
    dnload(dev, 2, b"\0" * 64)
    first = getstatus(dev)
    assert first.state == State.DFU_DNBUSY  # §2.6: the error shows on the 2nd GETSTATUS
    second = getstatus(dev)
    assert (second.state, second.status) == (State.DFU_ERROR, Status.ERR_TARGET)


def test_spi_and_nor_ranges_and_timing(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    dev.set_interface_altsetting(0, 1)
    dnload(dev, 0, b"\x41" + struct.pack("<I", 0x00010000))
    busy = getstatus(dev)
    assert busy.poll_ms == 1000  # §6.3 M25P64 64 KB sector erase, typ
    board.clock.sleep(busy.poll_ms / 1000)
    assert getstatus(dev).state == State.DFU_DNLOAD_IDLE
    assert set_address(dev, board, 0x00010000).state == State.DFU_DNLOAD_IDLE
    dnload(dev, 2, bytes(range(256)) * 4)
    busy = getstatus(dev)
    assert busy.poll_ms == 6  # 4 pages x 1.4 ms, rounded up
    board.clock.sleep(busy.poll_ms / 1000)
    assert getstatus(dev).state == State.DFU_DNLOAD_IDLE
    assert board.memory(1).read(0x00010000, 1024) == bytes(range(256)) * 4
    dev.set_interface_altsetting(0, 2)
    assert erase(dev, board, 0x64FF0000).state == State.DFU_DNLOAD_IDLE  # last NOR block
    assert write(dev, board, 0x64FF0000, b"nor!").status == Status.OK
    assert board.memory(2).read(0x64FF0000, 4) == b"nor!"
    st = erase(dev, board, 0x65000000)  # past the 16 MB NOR
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)


def test_nor_clear_bits_rule(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    dev.set_interface_altsetting(0, 2)
    board.memory(2).load(0x64000000, b"\xf0\xf0")
    assert write(dev, board, 0x64000000, b"\x30\x10").status == Status.OK  # only clears bits
    st = write(dev, board, 0x64000000, b"\x31\x10")  # would set a bit: errPROG
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_PROG)


def test_timing_on_the_virtual_clock_matches_profile(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    dnload(dev, 0, b"\x41" + struct.pack("<I", 0x08003000))
    busy = getstatus(dev)
    assert busy.poll_ms == 30  # §6.1 page erase, midpoint of 20..40 ms
    t0 = board.clock.monotonic()
    board.clock.sleep(0.030)
    getstatus(dev)
    assert set_address(dev, board, 0x08003000).state == State.DFU_DNLOAD_IDLE
    dnload(dev, 2, b"\x55" * 1024)
    busy = getstatus(dev)
    assert busy.poll_ms == 27  # 512 half-words x 52.5 µs = 26.88 ms
    assert board.stats.erase_s == pytest.approx(0.030)
    assert board.stats.program_s == pytest.approx(512 * 52.5e-6)
    assert board.clock.monotonic() - t0 >= 0.030


def test_polling_early_is_held_not_an_error(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    dnload(dev, 0, b"\x41" + struct.pack("<I", 0x08003000))
    assert getstatus(dev).state == State.DFU_DNBUSY
    t0 = board.clock.monotonic()
    st = getstatus(dev)  # no sleep: the device NAKs until the erase is done (§2.6)
    assert (st.state, st.status) == (State.DFU_DNLOAD_IDLE, Status.OK)
    assert board.clock.monotonic() - t0 >= 0.030
    assert board.stats.held_s == pytest.approx(0.030, abs=1e-3)


def test_hold_longer_than_timeout_raises_etimedout(e_eval: tuple[VirtualBoard, object]) -> None:
    _board, dev = e_eval
    dev.set_interface_altsetting(0, 1)
    dnload(dev, 0, b"\x41" + struct.pack("<I", 0))
    assert getstatus(dev).poll_ms == 1000
    with pytest.raises(usb.core.USBTimeoutError) as info:
        dev.ctrl_transfer(0xA1, 3, 0, 0, 6, timeout=200)
    assert info.value.errno == errno.ETIMEDOUT and info.value.backend_error_code == -7
    assert getstatus(dev).state == State.DFU_DNLOAD_IDLE  # with the default 1 s it completes


def test_incrementing_block_numbers_after_one_set_address(
    e_eval: tuple[VirtualBoard, object],
) -> None:
    board, dev = e_eval
    set_address(dev, board, 0x08004000)
    for block in range(2, 5):
        dnload(dev, block, bytes([block]) * 1024)
        assert finish(dev, board).state == State.DFU_DNLOAD_IDLE
    mem = board.memory(0)
    assert mem.read(0x08004000, 3072) == b"\x02" * 1024 + b"\x03" * 1024 + b"\x04" * 1024


def test_upload_get_commands_and_unmapped_read(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    assert upload(dev, 0, 64) == b"\x00\x21\x41"  # §2.4 demo list
    abort(dev)
    assert set_address(dev, board, 0x30000000).state == State.DFU_DNLOAD_IDLE
    abort(dev)
    with pytest.raises(usb.core.USBError):
        upload(dev, 2, 16)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)


def test_unknown_command_is_errstalledpkt(e_eval: tuple[VirtualBoard, object]) -> None:
    _board, dev = e_eval
    dnload(dev, 0, b"\x55\x01")
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_STALLEDPKT)


def test_dnload_longer_than_transfer_size_is_refused(
    e_eval: tuple[VirtualBoard, object],
) -> None:
    _board, dev = e_eval
    with pytest.raises(usb.core.USBError):
        dnload(dev, 2, bytes(1025))
    assert getstatus(dev).status == Status.ERR_STALLEDPKT


def test_block_before_getstatus_is_stalled(e_eval: tuple[VirtualBoard, object]) -> None:
    """§7.2: a DNLOAD sent before the GETSTATUS pair is stalled."""
    board, dev = e_eval
    set_address(dev, board, 0x08004000)
    dnload(dev, 2, bytes(16))
    with pytest.raises(usb.core.USBError):
        dnload(dev, 3, bytes(16))
    assert getstatus(dev).state == State.DFU_ERROR


def test_mass_erase_spares_protected_pages(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    mem = board.memory(0)
    mem.load(0x08000000, b"boot")
    mem.load(0x08010000, b"data")
    st = command(dev, board, b"\x41")
    assert st.state == State.DFU_DNLOAD_IDLE
    assert mem.read(0x08000000, 4) == b"boot"
    assert mem.read(0x08010000, 4) == b"\xff" * 4


def test_read_back_through_upload_blocks(e_eval: tuple[VirtualBoard, object]) -> None:
    board, dev = e_eval
    payload = bytes(i & 0xFF for i in range(3000))
    board.memory(0).load(0x08005000, payload)
    set_address(dev, board, 0x08005000)
    abort(dev)
    blocks = [upload(dev, 2 + i, 1024) for i in range(3)]
    assert b"".join(blocks)[:3000] == payload
    assert getstatus(dev).state == State.DFU_UPLOAD_IDLE  # all blocks were full
    abort(dev)
    assert read(dev, board, 0x08005000, 10) == payload[:10]
