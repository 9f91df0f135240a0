"""The USB/IP server survives what a network peer can send: malformed or truncated packets,
silence, floods and too many clients close that connection only, are reported, and the next
client is served as if nothing happened."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from pydfuse.sim.board import VirtualBoard
from support.rawdfu import getstatus
from support.usbip import attach, closed_by_peer, connect, devlist, import_device, serving

OP_IMPORT = struct.pack(">HHI", 0x0111, 0x8003, 0) + b"1-1".ljust(32, b"\0")


def urb(
    command: int, *, direction: int = 1, ep: int = 0, length: int = 0, packets: int = 0
) -> bytes:
    head = struct.pack(">IIIII", command, 1, 0x10002, direction, ep)
    return head + struct.pack(">IiiiI", 0, length, 0, packets, 0) + bytes(8)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(struct.pack(">HHI", 0x0106, 0x8005, 0), id="old-protocol-version"),
        pytest.param(struct.pack(">HHI", 0x0111, 0x1234, 0), id="unknown-operation"),
        pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="http-request"),
        pytest.param(struct.pack(">HHI", 0x0111, 0x8003, 0) + b"\xff" * 32, id="busid-not-ascii"),
    ],
)
def test_a_malformed_operation_closes_only_that_connection(payload: bytes) -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        with connect(served.port) as sock:
            sock.sendall(payload)
            assert closed_by_peer(sock)
        assert len(devlist(served.port)) == 1  # the server goes on
    assert "malformed" in served.kinds()


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(urb(7), id="unknown-command"),
        pytest.param(urb(3), id="a-reply-sent-to-the-server"),
        pytest.param(urb(1, direction=2), id="bad-direction"),
        pytest.param(urb(1, ep=16), id="bad-endpoint"),
        pytest.param(urb(1, length=-1), id="negative-length"),
        pytest.param(urb(1, direction=0, length=1 << 30), id="huge-length"),
        pytest.param(urb(1, packets=5), id="isochronous-packets"),
    ],
)
def test_a_malformed_urb_closes_the_import_and_frees_the_board(packet: bytes) -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        dev.sock.sendall(packet)
        assert closed_by_peer(dev.sock)
        dev.close()
        status, again = import_device(served.port)  # no longer busy
        assert status == 0 and again is not None
        assert getstatus(again).state.name == "DFU_ERROR"
        again.close()
    malformed = [e for e in served.events if e.kind == "malformed"]
    assert len(malformed) == 1 and malformed[0].peer is not None


def test_a_truncated_packet_is_a_disconnect_not_a_crash() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        dev.sock.sendall(urb(1, direction=0, length=64)[:30])
        dev.sock.shutdown(socket.SHUT_WR)
        assert closed_by_peer(dev.sock)
        dev.close()
        assert import_device(served.port)[0] == 0
    assert "closed" in served.kinds()


def test_a_silent_client_is_dropped_after_the_handshake_timeout() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board, handshake_timeout_s=0.2) as served, connect(served.port) as sock:
        sock.sendall(b"\x01\x11")  # half a header, then nothing
        assert closed_by_peer(sock, timeout=5)
    assert any(e.kind == "closed" and "in time" in e.message for e in served.events)


def test_more_clients_than_allowed_are_turned_away() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board, max_clients=2) as served:
        first, second = connect(served.port), connect(served.port)
        first.sendall(b"\x01")  # both hold a slot, mid-handshake
        second.sendall(b"\x01")
        with connect(served.port) as third:
            assert closed_by_peer(third)
        first.close()
        second.close()
        for _ in range(200):  # the slots are free once the server has seen both go
            try:
                assert len(devlist(served.port)) == 1
                break
            except EOFError:  # turned away: still full
                time.sleep(0.01)
        else:
            pytest.fail("the server never freed the slots of closed connections")
    assert "refused" in served.kinds()


def test_too_many_outstanding_urbs_close_the_connection() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board, max_pending=4) as served:
        dev = attach(served.port)
        board.faults.timeout_next()  # the first URB hangs: the others queue up behind it
        request = b"\xa1\x03\x00\x00\x00\x00\x06\x00"
        flood = b"".join(
            struct.pack(">IIIII", 1, n, dev.devid, 1, 0)
            + struct.pack(">IiiiI", 0, 6, 0, 0, 0)
            + request
            for n in range(1, 40)
        )
        dev.sock.sendall(flood)
        assert closed_by_peer(dev.sock)
    assert any(e.kind == "malformed" and "outstanding" in e.message for e in served.events)
