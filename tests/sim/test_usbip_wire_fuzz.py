"""Fuzzing ``dfuse sim serve``'s wire format from a raw socket (issue #14): whatever a network
peer sends — operations and URBs with any field mutated, wrong data lengths, truncated or
concatenated messages — the server never dies, never logs an unhandled exception, closes only
that connection, and the next client (or one that was already attached) is served."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import State
from support.rawdfu import dnload, getstatus, to_idle
from support.usbip import ImportedDevice, attach, connect, devlist, import_device, serving

VERSION = 0x0111
U32 = st.integers(0, 0xFFFFFFFF)
DFU_REQUESTS = [  # real DFU / standard requests, so mutations reach the board model
    (0xA1, 3, 0, 0, 6),  # GETSTATUS
    (0xA1, 5, 0, 0, 1),  # GETSTATE
    (0x21, 4, 0, 0, 0),  # CLRSTATUS
    (0x21, 6, 0, 0, 0),  # ABORT
    (0x21, 1, 0, 0, 5),  # DNLOAD (a DfuSe command)
    (0x21, 1, 2, 0, 64),  # DNLOAD data
    (0xA1, 2, 2, 0, 64),  # UPLOAD
    (0x80, 6, 0x0100, 0, 18),  # GET_DESCRIPTOR device
    (0x80, 6, 0x0200, 0, 255),  # GET_DESCRIPTOR configuration
    (0x80, 6, 0x0304, 0x0409, 255),  # GET_DESCRIPTOR string 4
    (0x01, 11, 1, 0, 0),  # SET_INTERFACE alt 1
    (0x00, 9, 1, 0, 0),  # SET_CONFIGURATION
    (0x23, 3, 4, 1, 0),  # SET_FEATURE(PORT_RESET)
]


@st.composite
def setups(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(min_size=8, max_size=8))
    rt, req, value, index, length = draw(st.sampled_from(DFU_REQUESTS))
    value = draw(st.sampled_from([value, draw(st.integers(0, 0xFFFF))]))
    length = draw(st.sampled_from([length, draw(st.integers(0, 0xFFFF))]))
    return struct.pack("<BBHHH", rt, req, value, index, length)


@st.composite
def submits(draw: st.DrawFn) -> bytes:
    """A CMD_SUBMIT (or UNLINK): mostly well-formed around a real or random SETUP, so the board
    model gets to answer; sometimes with any field or the data length wrong."""
    setup = draw(setups())
    wlength = struct.unpack("<H", setup[6:])[0]
    sane = draw(st.integers(0, 9)) > 0
    command = draw(st.sampled_from([1, 1, 1, 1, 2]) if sane else U32)
    direction = (
        setup[0] >> 7
        if sane and draw(st.integers(0, 4))
        else draw(U32 if not sane else st.integers(0, 1))
    )
    length = (
        wlength
        if sane and draw(st.integers(0, 4))
        else draw(st.integers(-(2**31), 2**31 - 1) if not sane else st.integers(0, 0xFFFF))
    )
    head = struct.pack(">IIIII", command, draw(U32), 0x10002, direction, 0 if sane else draw(U32))
    head += struct.pack(
        ">IiiiI",
        draw(U32),
        length,
        draw(st.integers(-(2**31), 2**31 - 1)),
        draw(st.sampled_from([0, -1])) if sane else draw(st.integers(-(2**31), 2**31 - 1)),
        draw(U32),
    )
    out = min(length, 4096) if direction == 0 and length > 0 else 0
    exact = st.binary(min_size=out, max_size=out)
    return head + setup + draw(exact if sane else exact | st.binary(max_size=80))


def _op(code: int, status: int = 0) -> bytes:
    return struct.pack(">HHI", VERSION, code, status)


@st.composite
def operations(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([VERSION, VERSION, 0x0106, draw(st.integers(0, 0xFFFF))]))
    code = draw(st.sampled_from([0x8005, 0x8003, 0x8003, draw(st.integers(0, 0xFFFF))]))
    head = struct.pack(">HHI", version, code, draw(U32))
    busid = draw(
        st.sampled_from([b"1-1".ljust(32, b"\0"), b"1-2".ljust(32, b"\0")])
        | st.binary(min_size=0, max_size=40)
    )
    return head + busid


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """A client's whole byte stream: usually a valid import first, then URBs, all of it open to
    mutation, sometimes cut short at a random point."""
    valid_import = _op(0x8003) + b"1-1".ljust(32, b"\0")
    parts = [valid_import if draw(st.integers(0, 4)) else draw(operations())]
    parts += draw(st.lists(submits(), min_size=1, max_size=8))
    raw = b"".join(parts)
    if not draw(st.integers(0, 3)):
        raw = raw[: draw(st.integers(0, len(raw)))]
    if not draw(st.integers(0, 3)) and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    return raw


class _Unhandled(logging.Handler):
    """Collects ERROR records (asyncio's "Unhandled exception in client_connected_cb", ...)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def unhandled() -> Iterator[_Unhandled]:
    handler = _Unhandled()
    loggers = [logging.getLogger(name) for name in ("asyncio", "pydfuse.sim.usbip")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


SENTINEL = 0xFFFFFFF0  # the seqnum of a GETSTATUS sent after the fuzzed bytes
SENTINEL_URB = (
    struct.pack(">IIIII", 1, SENTINEL, 0x10002, 1, 0)
    + struct.pack(">IiiiI", 0, 6, 0, 0, 0)
    + struct.pack("<BBHHH", 0xA1, 3, 0, 0, 6)
)
SENTINEL_REPLY = struct.pack(">IIIII", 3, SENTINEL, 0, 0, 0)


def _send_and_drain(port: int, raw: bytes) -> None:
    """Send ``raw`` and a GETSTATUS after it; wait until its answer comes (every URB before it
    was served) or the server closes the connection; then close ours and read to the end."""
    with connect(port) as sock:
        received = b""
        try:
            sock.sendall(raw + SENTINEL_URB)
            sock.settimeout(0.2)  # a stream cut inside a message leaves the server waiting
            with contextlib.suppress(TimeoutError):
                while SENTINEL_REPLY not in received:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    received += chunk
            sock.settimeout(10)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server closed first: that is allowed
        except TimeoutError:
            pytest.fail("the server kept a connection open after its client finished sending")


def _still_serving(port: int) -> None:
    """The server lists and imports the board, which answers a standard request (the fuzzed
    client may have left it anywhere, its application included: a DFU request may stall)."""
    (device,) = devlist(port)
    assert device["busid"] == "1-1"
    dev = _attach_when_free(port)
    try:
        descriptor = dev.control(0x80, 6, 0x0100, 0, 18)  # GET_DESCRIPTOR(device)
        assert descriptor.status == 0 and descriptor.data[:2] == b"\x12\x01"
    finally:
        dev.close()


def test_any_client_byte_stream_closes_only_that_connection(unhandled: _Unhandled) -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:

        @given(streams())
        def one_client(raw: bytes) -> None:
            _send_and_drain(served.port, raw)
            _still_serving(served.port)
            assert not unhandled.records, unhandled.records[0].getMessage()

        one_client()
    assert not unhandled.records


def test_garbage_from_a_second_client_leaves_the_attached_one_working(
    unhandled: _Unhandled,
) -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        attached: ImportedDevice = attach(served.port)
        try:

            @given(st.lists(operations(), min_size=1, max_size=3).map(b"".join))
            def intruder(raw: bytes) -> None:
                _send_and_drain(served.port, raw)
                assert getstatus(attached).state is not None  # the owner still talks to it

            intruder()
        finally:
            attached.close()
        _still_serving(served.port)
    assert not unhandled.records


def test_a_client_vanishing_mid_urb_leaves_the_board_as_it_was() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        to_idle(dev)
        # A DNLOAD of 1024 bytes whose data stops after 100: then the client is gone (RST).
        setup = struct.pack("<BBHHH", 0x21, 1, 2, 0, 1024)
        head = struct.pack(">IIIII", 1, 99, dev.devid, 0, 0) + struct.pack(
            ">IiiiI", 0, 1024, 0, 0, 0
        )
        dev.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        dev.sock.sendall(head + setup + bytes(100))
        dev.close()
        again = _attach_when_free(served.port)  # the board never saw the half URB
        assert getstatus(again).state == State.DFU_IDLE
        again.close()
    assert "malformed" not in served.kinds()


def test_a_client_vanishing_while_the_board_works_does_not_stop_the_work() -> None:
    board = VirtualBoard("stm3210e-eval", realtime=True, time_scale=4.0)
    board.memory(1).load(0x00010000, b"\x00" * 16)
    with serving(board) as served:
        dev = attach(served.port)
        to_idle(dev)
        dev.ctrl_transfer(0x01, 11, 1, 0, None)  # SET_INTERFACE: alt 1, the SPI flash
        dnload(dev, 0, b"\x41" + (0x00010000).to_bytes(4, "little"))  # erase a 64 KiB sector
        busy = getstatus(dev)
        assert busy.state == State.DFU_DNBUSY and busy.poll_ms >= 500
        dev.sock.settimeout(0.05)
        with pytest.raises(TimeoutError):
            getstatus(dev)  # the board holds this GETSTATUS until the erase is done ...
        dev.close()  # ... and the client goes away meanwhile
        again = _attach_when_free(served.port)
        assert getstatus(again).state == State.DFU_DNLOAD_IDLE  # the erase ran to its end
        again.close()
    assert board.memory(1).read(0x00010000, 16) == b"\xff" * 16


def _attach_when_free(port: int) -> ImportedDevice:
    """Import the board once the server has seen the previous client go (ST_DEV_BUSY until)."""
    deadline = time.monotonic() + 5
    while True:
        status, device = import_device(port)
        if device is not None:
            device.sock.settimeout(10)
            return device
        assert status == 2 and time.monotonic() < deadline, f"import refused: {status}"
        time.sleep(0.01)
