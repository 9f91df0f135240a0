"""Every DFU class request is checked for direction, recipient, interface and wLength (DFU 1.1
table 3.1) before it acts; a malformed one stalls, and in DFU mode leaves dfuERROR/errSTALLEDPKT
(§1.6). Reproduces the crashes of issue #9: a DNLOAD with the IN bit made the next GETSTATUS
raise IndexError; an UPLOAD of length 0 outside the selected memory raised ValueError."""

from __future__ import annotations

import struct
from typing import Any

import pytest
import usb.core

from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.usbdev import Setup, Stall
from pydfuse.spec import Request, State, Status
from support.rawdfu import abort, dnload, find, getstatus, set_address, to_idle, upload

OUT, IN = 0x21, 0xA1


def _stalls(dev: Any, bm: int, request: int, value: int, payload: Any) -> None:
    with pytest.raises(usb.core.USBError) as info:
        dev.ctrl_transfer(bm, request, value, 0, payload)
    assert info.value.backend_error_code == -9  # LIBUSB_ERROR_PIPE: a stall


def _ready(profile: str = "stm3210e-eval") -> tuple[VirtualBoard, Any]:
    board = VirtualBoard(profile, run_firmware=False)
    dev = find(board)
    to_idle(dev)
    return board, dev


def test_dnload_sent_device_to_host_stalls_and_getstatus_answers() -> None:
    _, dev = _ready()
    _stalls(dev, IN, Request.DNLOAD, 0, 5)  # wLength 5, no data stage: the IndexError case
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_STALLEDPKT)


def test_getstatus_sent_host_to_device_does_not_run_a_pending_erase() -> None:
    board, dev = _ready()
    address = 0x08010000
    board.memory(0).load(address, b"\x12\x34")
    dnload(dev, 0, b"\x41" + struct.pack("<I", address))  # erase, pending in DNLOAD-SYNC
    _stalls(dev, OUT, Request.GETSTATUS, 0, None)
    assert board.memory(0).read(address, 2) == b"\x12\x34"  # nothing was erased
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_STALLEDPKT)
    assert board.memory(0).read(address, 2) == b"\x12\x34"


def test_upload_sent_host_to_device_stalls() -> None:
    board, dev = _ready()
    set_address(dev, board, 0x08010000)
    abort(dev)
    _stalls(dev, OUT, Request.UPLOAD, 2, b"\x00" * 16)
    assert getstatus(dev).status == Status.ERR_STALLEDPKT


def test_zero_length_upload_outside_the_memory_reads_nothing() -> None:
    # stm32f4-rom alt 1 (option bytes): the pointer still names internal flash.
    board, dev = _ready("stm32f4-rom")
    dev.set_interface_altsetting(0, 1)
    set_address(dev, board, 0x08000000)
    abort(dev)
    assert upload(dev, 2, 0) == b""
    st = getstatus(dev)
    assert st.state in (State.DFU_UPLOAD_IDLE, State.DFU_IDLE) and st.status == Status.OK


@pytest.mark.parametrize(
    ("bm", "code", "length", "why"),
    [
        (IN, Request.GETSTATUS, 5, "GETSTATUS wLength is 6"),
        (IN, Request.GETSTATUS, 64, "GETSTATUS wLength is 6"),
        (IN, Request.GETSTATE, 2, "GETSTATE wLength is 1"),
        (OUT, Request.CLRSTATUS, 1, "CLRSTATUS has no data"),
        (OUT, Request.ABORT, 3, "ABORT has no data"),
        (IN, Request.ABORT, 1, "ABORT is host-to-device"),
        (IN, Request.DETACH, 1, "DETACH is host-to-device"),
        (0xA0, Request.GETSTATUS, 6, "sent to the device, not the interface"),
        (0xA2, Request.GETSTATUS, 6, "sent to an endpoint"),
        (IN, 7, 6, "no such DFU request"),
    ],
)
def test_malformed_requests_stall_into_errstalledpkt(
    bm: int, code: int, length: int, why: str
) -> None:
    _, dev = _ready()
    payload: Any = length if bm & 0x80 else bytes(length) or None
    _stalls(dev, bm, code, 0, payload)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_STALLEDPKT), why


def test_request_for_another_interface_stalls_into_errstalledpkt() -> None:
    # pyusb (like libusb) refuses to claim interface 1 itself, so this goes to the board.
    board, dev = _ready()
    with pytest.raises(Stall):
        board.control(Setup(IN, Request.GETSTATUS, 0, 1, 6))
    assert getstatus(dev).status == Status.ERR_STALLEDPKT


def test_runtime_mode_stalls_without_a_dfu_error() -> None:
    board = VirtualBoard("stm32f4-rom", run_firmware=False)
    board.memory(0).load(0x08000000, struct.pack("<II", 0x20020000, 0x08000101))
    board.reset()
    assert board.running == "application"
    dev = find(board)
    _stalls(dev, IN, Request.DNLOAD, 0, 5)
    assert getstatus(dev).state == State.APP_IDLE


def test_st_demo_quirks_stall_without_changing_state() -> None:
    _, dev = _ready("stm3210e-eval-quirks")
    _stalls(dev, IN, Request.DNLOAD, 0, 5)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_IDLE, Status.OK)


def test_out_data_stage_must_match_wlength() -> None:
    board = VirtualBoard("stm3210e-eval", run_firmware=False)
    with pytest.raises(Stall):
        board.control(Setup(OUT, Request.DNLOAD, 0, 0, 5), b"\x21\x00")
    with pytest.raises(Stall):
        board.control(Setup(OUT, Request.CLRSTATUS, 0, 0, 0), b"\x00")
