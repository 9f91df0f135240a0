"""Raw DFU request helpers for the simulator tests (no pydfuse.host: the sim is tested alone)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import usb.core

from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import REQUEST_TYPE_IN, REQUEST_TYPE_OUT, Request, State, Status


@dataclass(frozen=True)
class St:
    status: Status
    poll_ms: int
    state: State


def find(board: VirtualBoard, **kw: Any) -> Any:
    dev = usb.core.find(backend=get_backend(board), **kw)
    assert dev is not None
    return dev


def getstatus(dev: Any) -> St:
    r = bytes(dev.ctrl_transfer(REQUEST_TYPE_IN, Request.GETSTATUS, 0, 0, 6))
    return St(Status(r[0]), r[1] | r[2] << 8 | r[3] << 16, State(r[4]))


def getstate(dev: Any) -> State:
    return State(dev.ctrl_transfer(REQUEST_TYPE_IN, Request.GETSTATE, 0, 0, 1)[0])


def clrstatus(dev: Any) -> None:
    dev.ctrl_transfer(REQUEST_TYPE_OUT, Request.CLRSTATUS, 0, 0, None)


def abort(dev: Any) -> None:
    dev.ctrl_transfer(REQUEST_TYPE_OUT, Request.ABORT, 0, 0, None)


def dnload(dev: Any, block: int, data: bytes) -> None:
    dev.ctrl_transfer(REQUEST_TYPE_OUT, Request.DNLOAD, block, 0, data or None)


def upload(dev: Any, block: int, length: int) -> bytes:
    return bytes(dev.ctrl_transfer(REQUEST_TYPE_IN, Request.UPLOAD, block, 0, length))


def to_idle(dev: Any) -> None:
    """CLRSTATUS out of the demo's initial dfuERROR/errFIRMWARE (§7.1)."""
    if getstatus(dev).state == State.DFU_ERROR:
        clrstatus(dev)
    assert getstatus(dev).state == State.DFU_IDLE


def finish(dev: Any, board: VirtualBoard) -> St:
    """The DfuSe 'execute on GETSTATUS' dance: first DNBUSY, wait the poll, then the result."""
    first = getstatus(dev)
    assert first.state == State.DFU_DNBUSY, first
    board.clock.sleep(first.poll_ms / 1000)
    return getstatus(dev)


def command(dev: Any, board: VirtualBoard, payload: bytes) -> St:
    dnload(dev, 0, payload)
    return finish(dev, board)


def set_address(dev: Any, board: VirtualBoard, address: int) -> St:
    return command(dev, board, b"\x21" + struct.pack("<I", address))


def erase(dev: Any, board: VirtualBoard, address: int) -> St:
    return command(dev, board, b"\x41" + struct.pack("<I", address))


def write(dev: Any, board: VirtualBoard, address: int, data: bytes) -> St:
    st = set_address(dev, board, address)
    assert st.state == State.DFU_DNLOAD_IDLE, st
    dnload(dev, 2, data)
    return finish(dev, board)


def write_option_block(dev: Any, board: VirtualBoard, alt: int, address: int, block: bytes) -> St:
    """Write an option-byte block: the first GETSTATUS starts it (dfuDNBUSY) and the ROM then
    resets without a second answer (AN3156 §5.1), so only that first status is returned."""
    dev.set_interface_altsetting(0, alt)
    set_address(dev, board, address)
    dnload(dev, 2, block)
    return getstatus(dev)


def read(dev: Any, board: VirtualBoard, address: int, length: int) -> bytes:
    st = set_address(dev, board, address)
    assert st.state == State.DFU_DNLOAD_IDLE, st
    abort(dev)
    return upload(dev, 2, length)


def vectors(sp: int, reset: int) -> bytes:
    return struct.pack("<II", sp, reset) + bytes(0x130 - 8)
