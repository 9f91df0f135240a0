"""``stm3210e-eval-quirks`` behaves as ST's USB-FS DFU demo does (dfuse-spec.md §2.8, §2.9,
§7.7, §7.10; sim.stdemo): the errors it never reports, routing by address, poll timeouts by the
media of the pointer before the command, and the 0x0F it writes into its state byte."""

from __future__ import annotations

import struct
from typing import Any

import pytest
import usb.core

from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import REQUEST_TYPE_IN, REQUEST_TYPE_OUT, Request, State, Status
from support.rawdfu import (
    abort,
    clrstatus,
    command,
    dnload,
    find,
    finish,
    getstatus,
    set_address,
    to_idle,
    upload,
)

APP = 0x08010000
SPI = 0x00010000
NOR = 0x64010000


def _board() -> tuple[VirtualBoard, Any]:
    board = VirtualBoard("stm3210e-eval-quirks", run_firmware=False)
    dev = find(board)
    to_idle(dev)
    return board, dev


def _raw_status(dev: Any) -> tuple[int, int]:
    """(bStatus, bState) without decoding bState into State (0x0F is none)."""
    reply = bytes(dev.ctrl_transfer(REQUEST_TYPE_IN, Request.GETSTATUS, 0, 0, 6))
    return reply[0], reply[4]


@pytest.mark.parametrize(
    "payload",
    [b"\x41", b"\x92", b"\x55", b"\x42\x00\x30\x00\x08", b"\x21\x00\x00"],
    ids=["mass erase", "read unprotect", "unknown opcode", "unknown 5-byte", "short address"],
)
def test_commands_the_demo_does_not_decode_are_reported_ok(payload: bytes) -> None:
    board, dev = _board()
    board.memory(0).load(APP, b"\x12\x34")
    status = command(dev, board, payload)
    assert (status.state, status.status) == (State.DFU_DNLOAD_IDLE, Status.OK)
    assert board.memory(0).read(APP, 2) == b"\x12\x34"


def test_block_one_and_unknown_addresses_are_ignored_and_ok() -> None:
    board, dev = _board()
    set_address(dev, board, 0x30000000)  # in no memory
    dnload(dev, 2, b"\x00" * 16)
    assert finish(dev, board).status == Status.OK
    dnload(dev, 1, b"\x00" * 16)
    assert finish(dev, board).status == Status.OK
    assert all(not list(m.used_sectors()) for m in board.memories)


def test_program_failures_are_reported_ok() -> None:
    board, dev = _board()
    board.memory(0).load(APP, b"\x00\x11")  # not erased: PGERR on an F1
    set_address(dev, board, APP)
    dnload(dev, 2, b"\x22\x33")
    assert finish(dev, board).status == Status.OK
    assert board.memory(0).read(APP, 2) == b"\x00\x11"  # the flash refused it all the same


def test_the_address_not_the_alternate_picks_the_memory() -> None:
    board, dev = _board()  # alternate 0 (internal flash) selected
    set_address(dev, board, SPI)
    dnload(dev, 2, b"spi!")
    assert finish(dev, board).status == Status.OK
    assert board.memory(1).read(SPI, 4) == b"spi!"


def test_poll_timeouts_follow_the_media_of_the_pointer_before_the_command() -> None:
    board, dev = _board()
    set_address(dev, board, APP)
    dnload(dev, 0, b"\x41" + struct.pack("<I", SPI))  # erase in SPI, pointer still internal
    assert getstatus(dev).poll_ms == 50
    board.clock.sleep(5)
    assert getstatus(dev).state == State.DFU_DNLOAD_IDLE
    # The erase loaded the pointer (the demo's erase command sets it): SPI from now on.
    dnload(dev, 0, b"\x41" + struct.pack("<I", SPI))
    assert getstatus(dev).poll_ms == 3000
    board.clock.sleep(5)
    getstatus(dev)
    dnload(dev, 2, b"\x00" * 256)  # a block at the SPI pointer: program time
    assert getstatus(dev).poll_ms == 20
    board.clock.sleep(1)
    getstatus(dev)
    set_address(dev, board, NOR)
    dnload(dev, 0, b"\x41" + struct.pack("<I", NOR))
    assert getstatus(dev).poll_ms == 1000
    board.clock.sleep(5)
    getstatus(dev)
    dnload(dev, 2, b"\x00" * 16)
    assert getstatus(dev).poll_ms == 25


def test_a_pointer_of_media_index_3_gets_the_m29w128g_timings() -> None:
    """``MAL_GetStatus`` indexes its timing table with ``(pointer >> 26) & 3``; index 3 is the
    M29W128G row (1000 ms erase, 25 ms program: USB-FS-Device_Lib V4.0.0 dfu_mal.c, usb_conf.h),
    so a pointer such as 0x0C000000 (no memory) is timed as that NOR, not as internal flash."""
    board, dev = _board()
    set_address(dev, board, 0x0C000000)
    dnload(dev, 0, b"\x41" + struct.pack("<I", 0x0C000000))
    assert getstatus(dev).poll_ms == 1000
    board.clock.sleep(2)
    getstatus(dev)
    dnload(dev, 2, b"\x00" * 16)
    assert getstatus(dev).poll_ms == 25


def test_a_bad_upload_block_writes_0x0f_into_the_state_byte() -> None:
    _, dev = _board()
    with pytest.raises(usb.core.USBError):
        upload(dev, 1, 16)
    assert _raw_status(dev) == (Status.OK, 0x0F)
    assert dev.ctrl_transfer(REQUEST_TYPE_IN, Request.GETSTATE, 0, 0, 1)[0] == 0x0F
    with pytest.raises(usb.core.USBError):
        dnload(dev, 2, b"\x00")  # no handler accepts state 0x0F
    abort(dev)  # ignored
    assert _raw_status(dev) == (Status.OK, 0x0F)
    clrstatus(dev)  # not dfuERROR: the demo's "state error"
    assert _raw_status(dev) == (Status.ERR_UNKNOWN, State.DFU_ERROR)
    clrstatus(dev)
    assert _raw_status(dev) == (Status.OK, State.DFU_IDLE)


def test_zero_length_upload_returns_to_idle_from_any_state() -> None:
    _, dev = _board()
    with pytest.raises(usb.core.USBError):
        upload(dev, 1, 16)
    assert upload(dev, 2, 0) == b""
    assert _raw_status(dev) == (Status.OK, State.DFU_IDLE)


def test_get_commands_leaves_upload_idle_only_for_a_short_read() -> None:
    _, dev = _board()
    assert upload(dev, 0, 3) == b"\x00\x21\x41"
    assert getstatus(dev).state == State.DFU_UPLOAD_IDLE
    abort(dev)
    assert upload(dev, 0, 16) == b"\x00\x21\x41"
    assert getstatus(dev).state == State.DFU_IDLE


def test_malformed_requests_stall_without_touching_the_state() -> None:
    _, dev = _board()
    with pytest.raises(usb.core.USBError):
        dev.ctrl_transfer(REQUEST_TYPE_OUT, Request.GETSTATUS, 0, 0, None)
    assert _raw_status(dev) == (Status.OK, State.DFU_IDLE)
