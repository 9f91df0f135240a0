"""A USB/IP server that puts a virtual board on a real USB bus (layer: sim; imports sim only).

An asyncio server for the Linux USB/IP protocol (0x0111, see :mod:`pydfuse.sim.usbip_wire`). It
exports one :class:`~pydfuse.sim.board.VirtualBoard` as bus id ``1-1``: a client's kernel
(``usbip attach``, the vhci-hcd driver) imports it and every operating-system tool then sees a
USB device. It is a thin adapter, like the pyusb backend: each USBIP_CMD_SUBMIT on endpoint 0
becomes one :meth:`VirtualBoard.control` call, a stall becomes ``-EPIPE`` in USBIP_RET_SUBMIT,
a request the device never answers stays pending until the client unlinks it
(USBIP_RET_UNLINK ``-ECONNRESET``).

Re-enumeration: when the board leaves the bus (DfuSe leave, DFU detach, a reset, a pulled
cable), the server answers the transfer that caused it, then closes the connection, which the
client's kernel sees as an unplug; the board's new identity is offered under the same bus id
and reported with an ``offered`` event (``dfuse sim serve --attach`` imports it again).

Board calls run one at a time on a worker thread, so a board on the wall clock
(``--sim-realtime``) never blocks the event loop. Library code never prints: what a user would
want to see arrives as :class:`ServeEvent` objects through ``on_event`` (without one, as INFO
records of the ``pydfuse.sim.usbip`` logger); URB traffic is logged at DEBUG level there.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import struct
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pydfuse.sim import usbip_wire as wire
from pydfuse.sim.board import DeviceGone, TransferTimeout, VirtualBoard
from pydfuse.sim.usbdev import Setup, Stall

__all__ = ["DEFAULT_PORT", "EventKind", "ServeEvent", "UsbipServer", "exported_device"]

DEFAULT_PORT = 3240
BUSID = "1-1"
_log = logging.getLogger(__name__)
T = TypeVar("T")

EventKind = Literal[
    "listening",  # the server is bound (message names the address)
    "offered",  # a device is importable now (at start and after each re-enumeration)
    "devlist",  # a client listed the exported devices
    "imported",  # a client imported the board
    "refused",  # a connection or import was turned away (busy, no device, too many clients)
    "closed",  # a connection ended (client detach, or the device left the bus)
    "malformed",  # a client sent bytes that are no USB/IP message: its connection was closed
    "gone",  # the board left the bus and is off (pulled cable): nothing to offer
]


@dataclass(frozen=True, slots=True)
class ServeEvent:
    """Something a person watching the server wants to know."""

    kind: EventKind
    message: str
    peer: str | None = None
    running: str | None = None  # what the board runs now, for offered/gone


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one board transfer produced, for RET_SUBMIT; ``moved``: the board re-enumerated."""

    status: int = 0
    data: bytes = b""
    actual: int = 0
    reply: bool = True  # False: the device never answered (NAK until the client unlinks)
    moved: bool = False


@dataclass(eq=False)
class _Import:
    """One imported connection: the board generation it saw and its URB bookkeeping."""

    peer: str
    generation: int
    writer: asyncio.StreamWriter
    queue: deque[tuple[wire.Submit, bytes]] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int | None = None
    parked: set[int] = field(default_factory=set)  # never answered, waiting for an unlink
    unlinked: set[int] = field(default_factory=set)
    moved: bool = False


def exported_device(board: VirtualBoard) -> wire.ExportedDevice | None:
    """The board as OP_REP_DEVLIST/IMPORT describe it, or None while it is off the bus."""
    usb = board.usb
    if not board.usb_connected or usb is None:
        return None
    interfaces = {
        i.bInterfaceNumber: (i.bInterfaceClass, i.bInterfaceSubClass, i.bInterfaceProtocol)
        for i in usb.config.interfaces
        if i.bAlternateSetting == 0
    }
    return wire.ExportedDevice(
        path=f"/sys/devices/platform/pydfuse-sim/usb1/{BUSID}",
        busid=BUSID,
        busnum=1,
        devnum=board.generation % 126 + 2,  # a new address at every enumeration (2..127)
        id_vendor=usb.device.idVendor,
        id_product=usb.device.idProduct,
        bcd_device=usb.device.bcdDevice,
        device_class=usb.device.bDeviceClass,
        device_subclass=usb.device.bDeviceSubClass,
        device_protocol=usb.device.bDeviceProtocol,
        configuration_value=usb.configuration,
        num_configurations=usb.device.bNumConfigurations,
        interfaces=tuple(interfaces[n] for n in sorted(interfaces)),
    )


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "?")


class UsbipServer:
    """Serve ``board`` over USB/IP on ``host:port`` (port 0: any free port, see :attr:`port`).

    ``max_clients`` bounds the open connections (a further one is closed at once);
    ``handshake_timeout_s`` closes a connection that sends no complete operation in time;
    ``max_pending`` bounds the URBs one client may have outstanding.
    """

    def __init__(
        self,
        board: VirtualBoard,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        max_clients: int = 4,
        handshake_timeout_s: float = 10.0,
        max_pending: int = 64,
        on_event: Callable[[ServeEvent], None] | None = None,
    ) -> None:
        if max_clients < 1:
            raise ValueError("max_clients must be at least 1")
        self.board = board
        self.host = host
        self.port = port
        self.max_clients = max_clients
        self.handshake_timeout_s = handshake_timeout_s
        self.max_pending = max_pending
        self._on_event = on_event
        self._server: asyncio.base_events.Server | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pydfuse-board")
        self._connections: set[asyncio.Task[None]] = set()
        self._importer: _Import | None = None
        self._offered: tuple[int, bool] | None = None  # (generation, on the bus) last reported

    # -- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and start accepting; :attr:`port` is the bound port afterwards."""
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._emit("listening", f"listening on {self.host}:{self.port}")
        await self._offer()

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Start (if needed), serve until ``stop`` is set, then :meth:`close`."""
        if self._server is None:
            await self.start()
        try:
            await stop.wait()
        finally:
            await self.close()

    async def power_cycle(self) -> None:
        """Power the board off and on (a pulled cable plugged back in): a connection to the old
        device is closed by its next transfer, and the board is offered again."""
        await self._on_board(self.board.power_cycle)
        importer = self._importer
        if importer is not None:
            importer.writer.close()  # the device it imported is gone: the client sees an unplug
        await self._offer()

    async def close(self) -> None:
        """Stop accepting, drop every connection, and let a running board call finish."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        # The board is saved after this returns: no transfer may still be changing it.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    async def __aenter__(self) -> UsbipServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- helpers -------------------------------------------------------------------------------
    def _emit(self, kind: EventKind, message: str, **fields: str | None) -> None:
        if self._on_event is None:
            peer = fields.get("peer")
            _log.info("%s%s", f"{peer}: " if peer else "", message)
            return
        self._on_event(ServeEvent(kind, message, **fields))

    async def _on_board(self, func: Callable[[], T]) -> T:
        """Run ``func`` on the board's worker thread (one board call at a time)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    async def _offer(self) -> None:
        """Report a device that is importable now and was not reported yet."""

        def look() -> tuple[wire.ExportedDevice | None, tuple[int, bool], str]:
            board = self.board
            return exported_device(board), (board.generation, board.usb_connected), board.running

        device, seen, running = await self._on_board(look)
        if self._offered == seen:
            return
        first, self._offered = self._offered, seen
        if device is None:
            self._emit("gone", "the board is off the bus (cable pulled)", running=running)
            return
        mode = "DFU mode" if running == "bootloader" else "run-time mode"
        again = "re-enumerated: offering" if first is not None else "offering"
        self._emit(
            "offered",
            f"{again} bus id {BUSID}, {device.id_vendor:04x}:{device.id_product:04x} in {mode}",
            running=running,
        )

    # -- connections ---------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_name(writer)
        task = asyncio.current_task()
        if len(self._connections) >= self.max_clients:
            self._emit("refused", f"{self.max_clients} clients connected already", peer=peer)
            writer.close()
            return
        assert task is not None
        self._connections.add(task)
        try:
            await self._connection(reader, writer, peer)
        except asyncio.CancelledError:
            pass  # the server is closing: end this connection quietly
        except wire.ProtocolViolation as error:
            self._emit("malformed", f"closed the connection: {error}", peer=peer)
        except asyncio.IncompleteReadError:
            self._emit("closed", "the client closed the connection", peer=peer)
        except asyncio.TimeoutError:
            self._emit("closed", "no request in time: connection closed", peer=peer)
        except (ConnectionError, OSError) as error:
            self._emit("closed", f"connection lost ({error})", peer=peer)
        finally:
            self._connections.discard(task)
            if self._importer is not None and self._importer.writer is writer:
                self._importer = None
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if self._server is not None:
                await self._offer()

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        timeout = self.handshake_timeout_s
        raw = await asyncio.wait_for(reader.readexactly(wire.OP_HEADER_SIZE), timeout)
        code, _status = wire.decode_op_header(raw)
        if code == wire.OP_REQ_DEVLIST:
            device = await self._on_board(lambda: exported_device(self.board))
            writer.write(wire.devlist_reply([device] if device is not None else []))
            await writer.drain()
            self._emit("devlist", "listed the exported devices", peer=peer)
            return
        busid = wire.decode_busid(
            await asyncio.wait_for(reader.readexactly(wire.BUSID_SIZE), timeout)
        )
        session = await self._import(busid, writer, peer)
        if session is not None:
            await self._serve_urbs(reader, session)

    async def _import(self, busid: str, writer: asyncio.StreamWriter, peer: str) -> _Import | None:
        def look() -> tuple[wire.ExportedDevice | None, int]:
            return exported_device(self.board), self.board.generation

        device, generation = await self._on_board(look)
        status = wire.ST_OK
        if busid != BUSID or device is None:
            status = wire.ST_NODEV
        elif self._importer is not None:
            status = wire.ST_DEV_BUSY
        if status != wire.ST_OK:
            writer.write(wire.import_reply(None, status))
            await writer.drain()
            why = "is in use by another client" if status == wire.ST_DEV_BUSY else "is not here"
            self._emit("refused", f"import of bus id {busid!r}: the device {why}", peer=peer)
            return None
        session = _Import(peer, generation, writer)
        self._importer = session
        writer.write(wire.import_reply(device))
        await writer.drain()
        self._emit("imported", f"imported bus id {busid}", peer=peer)
        return session

    # -- URB phase -----------------------------------------------------------------------------
    async def _serve_urbs(self, reader: asyncio.StreamReader, session: _Import) -> None:
        worker = asyncio.ensure_future(self._run_transfers(session))
        receiver = asyncio.ensure_future(self._receive(reader, session))
        try:
            done, _ = await asyncio.wait({worker, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (worker, receiver):
                task.cancel()
            await asyncio.gather(worker, receiver, return_exceptions=True)
        for task in done:
            task.result()  # re-raise what ended the connection (malformed input, EOF)

    async def _receive(self, reader: asyncio.StreamReader, session: _Import) -> None:
        while True:
            command = wire.decode_urb_header(await reader.readexactly(wire.URB_HEADER_SIZE))
            if isinstance(command, wire.Unlink):
                self._unlink(session, command)
                continue
            data = await reader.readexactly(command.out_bytes) if command.out_bytes else b""
            if len(session.queue) >= self.max_pending:
                raise wire.ProtocolViolation(f"more than {self.max_pending} URBs outstanding")
            session.queue.append((command, data))
            session.ready.set()

    def _unlink(self, session: _Import, command: wire.Unlink) -> None:
        victim = command.victim
        queued = [item for item in session.queue if item[0].seqnum == victim]
        cancelled = bool(queued) or victim in session.parked or victim == session.in_flight
        for item in queued:
            session.queue.remove(item)
        session.parked.discard(victim)
        if victim == session.in_flight:
            session.unlinked.add(victim)  # the board is busy with it: drop its answer
        status = wire.STATUS_ECONNRESET if cancelled else 0
        _log.debug("unlink %d of %d: status %d", command.seqnum, victim, status)
        session.writer.write(wire.ret_unlink(command, status))

    async def _run_transfers(self, session: _Import) -> None:
        while True:
            if not session.queue:
                session.ready.clear()
                await session.ready.wait()
                continue
            command, data = session.queue.popleft()
            session.in_flight = command.seqnum
            outcome = await self._on_board(
                functools.partial(self._transfer, command, data, session.generation)
            )
            session.in_flight = None
            if command.seqnum in session.unlinked:
                session.unlinked.discard(command.seqnum)
            elif not outcome.reply:
                session.parked.add(command.seqnum)
            else:
                session.writer.write(
                    wire.ret_submit(command, outcome.status, outcome.data, outcome.actual)
                )
            await session.writer.drain()
            if outcome.moved:
                self._emit(
                    "closed", "the device left the bus: connection closed", peer=session.peer
                )
                return

    def _transfer(self, command: wire.Submit, data: bytes, generation: int) -> _Outcome:
        """One URB against the board (worker thread)."""
        outcome = self._control(command, data, generation)
        _log.debug(
            "#%d -> %s",
            command.seqnum,
            f"status {outcome.status}, {outcome.actual} bytes" if outcome.reply else "no answer",
        )
        board = self.board
        moved = not board.usb_connected or board.generation != generation
        if moved:
            return _Outcome(outcome.status, outcome.data, outcome.actual, outcome.reply, True)
        return outcome

    def _control(self, command: wire.Submit, data: bytes, generation: int) -> _Outcome:
        if command.ep != 0:
            return _Outcome(wire.STATUS_EPIPE)  # DFU has endpoint 0 only
        request_type, request, value, index, length = struct.unpack("<BBHHH", command.setup)
        setup = Setup(request_type, request, value, index, length)
        _log.debug(
            "#%d ep%d %s %02x %02x %04x %04x %d%s",
            command.seqnum,
            command.ep,
            "IN " if command.is_in else "OUT",
            request_type,
            request,
            value,
            index,
            length,
            f" +{len(data)} bytes" if data else "",
        )
        if setup.is_in != command.is_in:
            return _Outcome(wire.STATUS_EPIPE)
        if (request_type, request) == (0x00, 0x05):
            return _Outcome()  # SET_ADDRESS is the host controller's; vhci keeps it local
        try:
            if (request_type, request, value) == (0x23, 0x03, 4):
                # SET_FEATURE(PORT_RESET) to the port: how a client asks the server for a bus
                # reset (usbip_host's rule); vhci resets its own port and sends nothing.
                self.board.bus_reset()
                return _Outcome()
            reply = self.board.control(setup, data, 0, generation=generation)
        except Stall:
            return _Outcome(wire.STATUS_EPIPE)
        except TransferTimeout:
            return _Outcome(reply=False)
        except DeviceGone:
            return _Outcome(reply=False, moved=True)
        if setup.is_in:
            reply = reply[: command.length]
            return _Outcome(data=reply, actual=len(reply))
        return _Outcome(actual=len(data))
