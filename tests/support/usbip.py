"""A small USB/IP client of the tests' own, and a server running in a background thread.

The client packs and parses the wire format itself (from the kernel's usbip_protocol
documentation), not with ``pydfuse.sim.usbip_wire``, so a mistake in the server's encoder cannot
be hidden by the same mistake here. :class:`ImportedDevice` offers pyusb's ``ctrl_transfer``
signature, so the raw DFU helpers of ``tests/support/rawdfu.py`` run over USB/IP unchanged.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.usbip import ServeEvent, UsbipServer

VERSION = 0x0111
EPIPE = -32
ECONNRESET = -104
DEVICE = struct.Struct(">256s32sIIIHHHBBBBBB")


class Stalled(Exception):
    """The device stalled the control transfer (RET_SUBMIT status -EPIPE)."""


@dataclass
class Reply:
    command: int
    seqnum: int
    status: int
    actual: int = 0
    packets: int = 0
    data: bytes = b""


def parse_device(raw: bytes) -> dict[str, Any]:
    fields = DEVICE.unpack(raw)
    return {
        "path": fields[0].rstrip(b"\0").decode(),
        "busid": fields[1].rstrip(b"\0").decode(),
        "busnum": fields[2],
        "devnum": fields[3],
        "speed": fields[4],
        "vid": fields[5],
        "pid": fields[6],
        "bcd_device": fields[7],
        "configuration": fields[11],
        "num_configurations": fields[12],
        "num_interfaces": fields[13],
    }


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def closed_by_peer(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the server closed the connection (EOF within ``timeout``), unread bytes dropped."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def devlist(port: int) -> list[dict[str, Any]]:
    """OP_REQ_DEVLIST: every exported device with its interfaces (class, subclass, protocol)."""
    with connect(port) as sock:
        sock.sendall(struct.pack(">HHI", VERSION, 0x8005, 0))
        version, code, status = struct.unpack(">HHI", recv_exactly(sock, 8))
        assert (version, code, status) == (VERSION, 0x0005, 0)
        (count,) = struct.unpack(">I", recv_exactly(sock, 4))
        devices = []
        for _ in range(count):
            device = parse_device(recv_exactly(sock, DEVICE.size))
            device["interfaces"] = [
                struct.unpack(">BBBx", recv_exactly(sock, 4))[:3]
                for _ in range(device["num_interfaces"])
            ]
            devices.append(device)
        assert closed_by_peer(sock), "the server keeps a devlist connection open"
    return devices


@dataclass
class ImportedDevice:
    """One imported device: submit URBs and read the server's replies."""

    sock: socket.socket
    info: dict[str, Any]
    next_seqnum: int = 1
    early: dict[int, Reply] = field(default_factory=dict)
    in_seqnums: set[int] = field(default_factory=set)  # replies with IN data after the header

    @property
    def devid(self) -> int:
        return int(self.info["busnum"]) << 16 | int(self.info["devnum"])

    def submit(
        self,
        setup: bytes,
        *,
        direction: int,
        length: int,
        data: bytes = b"",
        ep: int = 0,
        packets: int = 0,
    ) -> int:
        seqnum = self.next_seqnum
        self.next_seqnum += 1
        if direction == 1:
            self.in_seqnums.add(seqnum)
        head = struct.pack(">IIIII", 1, seqnum, self.devid, direction, ep)
        head += struct.pack(">IiiiI", 0, length, 0, packets, 0) + setup
        self.sock.sendall(head + data)
        return seqnum

    def unlink(self, victim: int) -> int:
        seqnum = self.next_seqnum
        self.next_seqnum += 1
        head = struct.pack(">IIIII", 2, seqnum, self.devid, 0, 0)
        self.sock.sendall(head + struct.pack(">I24x", victim))
        return seqnum

    def read_reply(self) -> Reply:
        raw = recv_exactly(self.sock, 48)
        command, seqnum, devid, direction, ep = struct.unpack(">IIIII", raw[:20])
        assert (devid, direction, ep) == (0, 0, 0), "replies carry devid/direction/ep 0"
        if command == 4:
            (status,) = struct.unpack(">i", raw[20:24])
            return Reply(command, seqnum, status)
        assert command == 3, f"unexpected reply command {command}"
        status, actual, _start, packets, _errors = struct.unpack(">iiiii", raw[20:40])
        reply = Reply(command, seqnum, status, actual, packets)
        if seqnum in self.in_seqnums and actual > 0:
            self.in_seqnums.discard(seqnum)
            reply.data = recv_exactly(self.sock, actual)
        return reply

    def reply_to(self, seqnum: int) -> Reply:
        if seqnum in self.early:
            return self.early.pop(seqnum)
        while True:
            reply = self.read_reply()
            if reply.seqnum == seqnum:
                return reply
            self.early[reply.seqnum] = reply

    def control(self, request_type: int, request: int, value: int, index: int, arg: Any) -> Reply:
        is_in = bool(request_type & 0x80)
        data = b"" if is_in or arg is None else bytes(arg)
        length = int(arg) if is_in else len(data)
        setup = struct.pack("<BBHHH", request_type, request, value, index, length)
        seqnum = self.submit(setup, direction=1 if is_in else 0, length=length, data=data)
        return self.reply_to(seqnum)

    def ctrl_transfer(
        self,
        bmRequestType: int,
        bRequest: int,
        wValue: int = 0,
        wIndex: int = 0,
        data_or_wLength: Any = None,
        timeout: int | None = None,
    ) -> Any:
        """pyusb's signature: IN returns the bytes, OUT the count; a stall raises Stalled."""
        reply = self.control(bmRequestType, bRequest, wValue, wIndex, data_or_wLength)
        if reply.status == EPIPE:
            raise Stalled
        assert reply.status == 0, reply
        return reply.data if bmRequestType & 0x80 else reply.actual

    def close(self) -> None:
        self.sock.close()


def import_device(port: int, busid: str = "1-1") -> tuple[int, ImportedDevice | None]:
    """OP_REQ_IMPORT: (status, the device) — the device is None when the status is not 0."""
    sock = connect(port)
    sock.sendall(struct.pack(">HHI", VERSION, 0x8003, 0) + busid.encode().ljust(32, b"\0"))
    version, code, status = struct.unpack(">HHI", recv_exactly(sock, 8))
    assert (version, code) == (VERSION, 0x0003)
    if status != 0:
        assert closed_by_peer(sock), "a refused import leaves the connection open"
        sock.close()
        return status, None
    info = parse_device(recv_exactly(sock, DEVICE.size))
    sock.settimeout(10)
    return 0, ImportedDevice(sock, info)


def attach(port: int, busid: str = "1-1") -> ImportedDevice:
    """Import ``busid``, which must succeed."""
    status, device = import_device(port, busid)
    assert status == 0 and device is not None, f"import refused with status {status}"
    return device


@dataclass
class Served:
    """A server in a background thread: its port and the events it reported."""

    server: UsbipServer
    events: list[ServeEvent]

    @property
    def port(self) -> int:
        return self.server.port

    loop: asyncio.AbstractEventLoop | None = None

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the server's event loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)


@contextmanager
def serving(board: VirtualBoard, **options: Any) -> Iterator[Served]:
    """Serve ``board`` on a free loopback port until the block ends."""
    events: list[ServeEvent] = []
    server = UsbipServer(board, port=0, on_event=events.append, **options)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        await server.start()
        started.set()
        await server.serve_until(stop)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10), "the server did not start"
    try:
        yield Served(server, events, loop)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        assert not thread.is_alive(), "the server did not stop"
