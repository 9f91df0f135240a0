"""The DFU class function of the virtual board: DFU 1.1 states + DfuSe (layer: sim).

Imports only ``pydfuse.spec`` and sibling sim modules. Every class request is first looked up in
the §1.6 table (:mod:`pydfuse.sim.dfu_table`); handlers run only for cells marked ACCEPT. Work
that takes device time (erase, program, manifestation) is started when the GETSTATUS that
reports dfuDNBUSY / dfuMANIFEST is answered (§2.1, §2.9) and ends at ``busy_until`` on the board
clock; the board holds any request that arrives earlier until then, as the real USB peripheral
NAKs it (§2.6 last row). Memory effects are applied when the work starts.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydfuse.sim.clock import Clock
from pydfuse.sim.dfu_table import (
    DFU_TABLE,
    DFUSE_TABLE,
    ST_DEMO_TABLE,
    Cell,
    Event,
    malformed_cell,
    well_formed,
)
from pydfuse.sim.faults import Faults
from pydfuse.sim.flash import Memory, OpResult
from pydfuse.sim.profiles import BoardProfile
from pydfuse.sim.protection import Protection, whole_option_block
from pydfuse.sim.stats import SimStats
from pydfuse.sim.stdemo import CORRUPT_STATE, StDemo, corrupt_cell
from pydfuse.sim.usbdev import NoResponse, Setup, Stall
from pydfuse.spec import (
    DFUSE_DATA_BLOCK_OFFSET,
    Attributes,
    DfuseCommand,
    Request,
    State,
    Status,
)

__all__ = ["BoardHooks", "DfuFunction"]


class BoardHooks(Protocol):
    """What the DFU function asks of its board; called after the status stage of a transfer."""

    def leave(self, address: int) -> None:
        """DfuSe leave (§2.5): drop off the bus and run the code whose vectors are at address."""
        ...

    def self_detach(self) -> None:
        """bitWillDetach: detach and re-attach without a host bus reset (§1.7, §1.1)."""
        ...

    def system_reset(self) -> None:
        """Option bytes written / read unprotect: the chip resets itself (§2.6, §7.14)."""
        ...


@dataclass(frozen=True, slots=True)
class _Download:
    """A DNLOAD waiting for its GETSTATUS (dfuDNLOAD-SYNC)."""

    block: int
    data: bytes


@dataclass(frozen=True, slots=True)
class _Work:
    """Work started by a GETSTATUS: its result, poll-timeout kind and what follows it."""

    result: OpResult
    kind: str  # "erase" | "program" | "command" | "mass_erase" (keys of reported poll maps)
    then_reset: bool = False


_REQUESTS = {int(r): r for r in Request}  # bRequest -> Request, without an enum call per transfer

_EVENT_OF_REQUEST = {
    Request.DETACH: Event.DETACH,
    Request.UPLOAD: Event.UPLOAD,
    Request.GETSTATUS: Event.GETSTATUS,
    Request.CLRSTATUS: Event.CLRSTATUS,
    Request.GETSTATE: Event.GETSTATE,
    Request.ABORT: Event.ABORT,
}


class DfuFunction:
    """DFU interface of the board, in run-time mode (appIDLE...) or in DFU mode."""

    def __init__(
        self,
        profile: BoardProfile,
        memories: Sequence[Memory],
        *,
        clock: Clock,
        stats: SimStats,
        faults: Faults,
        hooks: BoardHooks,
        runtime: bool = False,
        initial_status: Status = Status.OK,
        protection: Protection | None = None,
    ) -> None:
        self.profile = profile
        self.memories = memories
        self.clock = clock
        self.stats = stats
        self.faults = faults
        self.hooks = hooks
        self.protection = protection  # ROM read/write protection (sim.protection), if modeled
        self.runtime = runtime
        self._st_demo = profile.st_demo_requests and profile.dfuse and not runtime
        if runtime or not profile.dfuse:
            self.table = DFU_TABLE
        else:
            self.table = ST_DEMO_TABLE if self._st_demo else DFUSE_TABLE
        self.attributes = profile.runtime.attributes if runtime else profile.attributes
        self.state = State.APP_IDLE if runtime else State.DFU_IDLE
        self.status = Status.OK
        if not runtime and initial_status != Status.OK:
            self.state, self.status = State.DFU_ERROR, initial_status
        self.alternate = 0
        self.pointer = profile.default_pointer
        self.busy_until: float | None = None
        self.detach_deadline: float | None = None
        self.after_status: list[Callable[[], None]] = []
        self._download: _Download | None = None
        self._work: _Work | None = None
        self._done: OpResult | None = None
        self._manifested = False
        self._erased: set[int] = set()  # plain DFU: sectors erased in this download
        self._demo = StDemo(self) if self._st_demo else None
        self.corrupt = False  # the ST demo's state byte holds 0x0F (sim.stdemo)

    # -- ClassHandler -----------------------------------------------------------------------
    def select_alternate(self, alternate: int) -> None:
        self.alternate = alternate

    def class_request(self, setup: Setup, data: bytes) -> bytes:
        """A class request: its shape is checked first (DFU 1.1 table 3.1), then the §1.6 table
        decides; a malformed one never reaches a handler."""
        self.settle()
        request = _REQUESTS.get(setup.bRequest)
        if request is None or not well_formed(
            request, setup.bmRequestType, setup.wIndex, setup.wLength
        ):
            return self._refuse(malformed_cell(self.state, st_demo=self._st_demo))
        if request == Request.DNLOAD:
            event = Event.DNLOAD if setup.wLength > 0 else Event.DNLOAD_ZERO
        else:
            event = _EVENT_OF_REQUEST[request]
        if self._demo is not None and event is Event.UPLOAD and setup.wLength == 0:
            return self._demo.upload_nothing()
        cell = corrupt_cell(event) if self.corrupt else self.table[(self.state, event)]
        if cell is Cell.STAY:
            return self._get_status() if event is Event.GETSTATUS else bytes((self.state_byte,))
        if cell is not Cell.ACCEPT:
            return self._refuse(cell)
        return self._accept(event, setup, data)

    def _refuse(self, cell: Cell) -> bytes:
        if cell is Cell.IGNORE:
            return b""
        if cell is Cell.ERROR_UNKNOWN:
            self._fail(Status.ERR_UNKNOWN)
            return b""
        if cell is Cell.NO_RESPONSE:
            raise NoResponse
        if cell is Cell.STALL_ERROR:
            self._fail(Status.ERR_STALLEDPKT)
        elif cell is Cell.STALL_APP_IDLE:
            self.state = State.APP_IDLE
        raise Stall

    def _fail(self, status: Status) -> None:
        self.state, self.status = State.DFU_ERROR, status
        self.corrupt = False
        self._download = self._work = self._done = None

    fail = _fail  # for sim.stdemo

    @property
    def state_byte(self) -> int:
        """The bState the device reports (the ST demo can report 0x0F, sim.stdemo)."""
        return CORRUPT_STATE if self.corrupt else int(self.state)

    def _accept(self, event: Event, setup: Setup, data: bytes) -> bytes:
        if event is Event.DETACH:
            return self._detach(setup.wValue)
        if event is Event.DNLOAD:
            return self._dnload(setup.wValue, data)
        if event is Event.DNLOAD_ZERO:
            self.state = State.DFU_MANIFEST_SYNC
            self._manifested = False
            return b""
        if event is Event.UPLOAD:
            return self._upload(setup.wValue, setup.wLength)
        if event is Event.GETSTATUS:
            return self._getstatus_sync()
        if event is Event.CLRSTATUS:
            self.state, self.status = State.DFU_IDLE, Status.OK
            return b""
        # ABORT in dfuDNLOAD-IDLE / dfuUPLOAD-IDLE
        self.state, self.status = State.DFU_IDLE, Status.OK
        self._download = self._work = self._done = None
        return b""

    # -- time ------------------------------------------------------------------------------
    def settle(self) -> None:
        """Finish work whose time is up (§1.6 'poll timeout elapses', detach timer)."""
        now = self.clock.monotonic()
        if self.busy_until is not None and now >= self.busy_until:
            self.busy_until = None
            self._finish_busy()
        if self.detach_deadline is not None and now > self.detach_deadline:
            self.detach_deadline = None
            if self.state == State.APP_DETACH:
                self.state = State.APP_IDLE

    def _finish_busy(self) -> None:
        if self.state == State.DFU_DNBUSY:
            self.state = State.DFU_DNLOAD_SYNC
            self._done = self._work.result if self._work else None
            self._work = None
        elif self.state == State.DFU_MANIFEST:
            if self.attributes & Attributes.MANIFESTATION_TOLERANT:
                self.state = State.DFU_MANIFEST_SYNC
                self._manifested = True
            else:
                self.state = State.DFU_MANIFEST_WAIT_RESET
                if self.attributes & Attributes.WILL_DETACH:
                    self.hooks.self_detach()

    def _start_busy(self, duration_s: float) -> None:
        self.stats.busy_s += duration_s
        self.busy_until = self.clock.monotonic() + duration_s

    # -- replies ---------------------------------------------------------------------------
    def _status_bytes(self, poll_ms: int = 0) -> bytes:
        poll = min(max(poll_ms, 0), 0xFFFFFF)
        return struct.pack("<BI", self.status, poll)[:4] + bytes((self.state_byte, 0))

    def _get_status(self) -> bytes:
        return self._status_bytes()

    def _getstatus_sync(self) -> bytes:
        """GETSTATUS in dfuDNLOAD-SYNC or dfuMANIFEST-SYNC (the ACCEPT cells)."""
        if self.state == State.DFU_MANIFEST_SYNC:
            return self._manifest()
        if self._download is not None:
            download, self._download = self._download, None
            pointer = self.pointer  # the demo times the command by the pointer before it
            work = self._execute(download)
            if work is None:  # refused outright: the first answer is already dfuERROR
                return self._status_bytes()
            self._work = work
            self.state = State.DFU_DNBUSY
            self._start_busy(work.result.duration_s)
            if work.then_reset:
                self.after_status.append(self.hooks.system_reset)
            if self._demo is not None:
                poll = self._demo.poll_ms(pointer, download.block, download.data)
            else:
                poll = self._poll_ms(work)
            return self._status_bytes(poll)
        done, self._done = self._done, None
        if done is not None and not done.ok:
            self._fail(done.status)
        else:
            self.state = State.DFU_DNLOAD_IDLE
        return self._status_bytes()

    def _poll_ms(self, work: _Work) -> int:
        if self.profile.fixed_poll_timeout_ms is not None:
            return self.profile.fixed_poll_timeout_ms
        reported = self.profile.reported_poll_timeouts_ms.get(work.kind)
        if reported is not None:
            return reported
        return math.ceil(work.result.duration_s * 1000 - 1e-9)

    def _manifest(self) -> bytes:
        if self._manifested:  # tolerant device, manifestation finished (§1.7 step 3)
            self.state = State.DFU_IDLE
            return self._status_bytes()
        self.state = State.DFU_MANIFEST
        poll_ms = self.profile.manifest_poll_ms
        if self.profile.dfuse:
            # §2.5: the device answers dfuMANIFEST, then disconnects and jumps after the
            # status stage; it never answers again on this connection.
            pointer = self.pointer
            self.after_status.append(lambda: self.hooks.leave(pointer))
        else:
            self._start_busy(poll_ms / 1000.0)
        return self._status_bytes(poll_ms)

    # -- requests ---------------------------------------------------------------------------
    def _detach(self, timeout_ms: int) -> bytes:
        self.state = State.APP_DETACH
        wait_ms = min(timeout_ms, self.profile.runtime.detach_timeout_ms)
        self.detach_deadline = self.clock.monotonic() + wait_ms / 1000.0
        if self.attributes & Attributes.WILL_DETACH:
            self.after_status.append(self.hooks.self_detach)
        return b""

    def _dnload(self, block: int, data: bytes) -> bytes:
        if self.state == State.DFU_IDLE and not self.attributes & Attributes.CAN_DNLOAD:
            return self._refuse(Cell.STALL_ERROR)
        if len(data) > self.profile.transfer_size:
            return self._refuse(Cell.STALL_ERROR)  # §7.11: never more than wTransferSize
        if self.state == State.DFU_IDLE:
            self._erased.clear()
        self._download = _Download(block, bytes(data))
        self._done = None
        self.state = State.DFU_DNLOAD_SYNC
        self.stats.bytes_downloaded += len(data)
        return b""

    @property
    def memory(self) -> Memory:
        return self.memories[self.alternate]

    def _execute(self, download: _Download) -> _Work | None:
        if not self.profile.dfuse:
            return self._plain_block(download)
        if self._demo is not None:
            return _Work(self._demo.execute(download.block, download.data), "program")
        if download.block == 0:
            return self._command(download.data)
        if download.block == 1:  # §2.1: wValue 1 is not used
            self._fail(Status.ERR_STALLEDPKT)
            return None
        # §2.3: the descriptor's wTransferSize, not the request length. AN2662 also says the
        # last write moves the pointer used by leave; we keep the pointer where Set Address put
        # it, since moving it would break hosts that increment wBlockNum after one Set Address.
        offset = (download.block - DFUSE_DATA_BLOCK_OFFSET) * self.profile.transfer_size
        return self._program(self.pointer + offset, download.data)

    def _program(self, address: int, data: bytes) -> _Work:
        injected = self.faults.take_failure("program", address, len(data))
        if injected is not None:
            return _Work(OpResult(injected, 0.0, address=address), "program")
        guard = self.protection
        guarded = None if guard is None else guard.program(self.memory, address, data)
        result = guarded if guarded is not None else self.memory.program(address, data)
        self.stats.program_s += result.duration_s
        self.stats.program_units += result.units
        reset = self.memory.alt.resets_after_write and result.ok
        return _Work(result, "program", then_reset=reset)

    def _erase(self, address: int | None) -> _Work:
        injected = self.faults.take_failure("erase", address)
        kind = "erase" if address is not None else "mass_erase"
        if injected is not None:
            return _Work(OpResult(injected, 0.0, address=address), kind)
        guard = self.protection
        result = None if guard is None else guard.erase(self.memory, address)
        if result is None:
            memory = self.memory
            result = memory.erase(address) if address is not None else memory.mass_erase()
        self.stats.erase_s += result.duration_s
        self.stats.erases += result.units
        return _Work(result, kind)

    def _command(self, data: bytes) -> _Work | None:
        """DfuSe commands on wBlockNum 0 (§2.2)."""
        opcode, args = data[0], data[1:]
        address = struct.unpack("<I", args)[0] if len(args) == 4 else None
        if opcode == DfuseCommand.ERASE and (address is not None or not args):
            if address is None and not self.profile.supports_mass_erase:
                return self._unknown_command()
            return self._erase(address)
        injected = self.faults.take_failure("command", address)
        if injected is not None:
            return _Work(OpResult(injected, 0.0, address=address), "command")
        if opcode == DfuseCommand.SET_ADDRESS_POINTER and address is not None:
            self.pointer = address
            return _Work(OpResult(Status.OK, 0.0), "command")
        if opcode == DfuseCommand.GET_COMMANDS and not args and 0 in self.profile.get_commands:
            return _Work(OpResult(Status.OK, 0.0), "command")
        if (
            opcode == DfuseCommand.READ_UNPROTECT
            and not args
            and self.profile.supports_read_unprotect
        ):
            if self.protection is not None:  # AN3156 §5.4 and Table 4 (sim.protection)
                return _Work(self.protection.unprotect(), "mass_erase", then_reset=True)
            # No read protection is modeled: unprotecting mass-erases and resets (§2.2).
            work = self._erase(None)
            return _Work(work.result, "mass_erase", then_reset=True)
        return self._unknown_command()

    def _unknown_command(self) -> _Work | None:
        # §2.2 / §2.6: an unsupported command puts the ROM in dfuERROR/errSTALLEDPKT.
        self._fail(Status.ERR_STALLEDPKT)
        return None

    def _plain_block(self, download: _Download) -> _Work:
        """Plain DFU 1.1 (§1.8): block n goes to memory start + n * wTransferSize."""
        memory = self.memory
        start = memory.sectors[0].address
        address = start + download.block * self.profile.transfer_size
        if not memory.contains(address, len(download.data)):
            return _Work(OpResult(Status.ERR_ADDRESS, 0.0, address=address), "program")
        # A plain DFU device erases what it is about to write (the host cannot ask it to).
        erase_s = 0.0
        for sector in memory.sectors:
            overlaps = sector.address < address + len(download.data) and address < sector.end
            if overlaps and sector.address not in self._erased:
                work = self._erase(sector.address)
                if not work.result.ok:
                    return work
                erase_s += work.result.duration_s
                self._erased.add(sector.address)
        work = self._program(address, download.data)
        total = OpResult(work.result.status, erase_s + work.result.duration_s, work.result.units)
        return _Work(total, "program")

    def _upload(self, block: int, length: int) -> bytes:
        if self.state == State.DFU_IDLE and not self.attributes & Attributes.CAN_UPLOAD:
            return self._refuse(Cell.STALL_ERROR)
        if length > self.profile.transfer_size:
            return self._refuse(Cell.STALL_ERROR)
        if self._demo is not None:
            return self._demo.upload(block, length)
        first = self.state == State.DFU_IDLE
        if self.profile.dfuse and block == 0:
            reply = self.profile.get_commands[:length]  # §2.4
        elif self.profile.dfuse and block == 1:
            return self._refuse(Cell.STALL_ERROR)
        else:
            reply = self._upload_memory(block, length)
        # §1.6: the first UPLOAD always enters dfuUPLOAD-IDLE; later a short block ends it.
        self.state = State.DFU_UPLOAD_IDLE if first or len(reply) == length else State.DFU_IDLE
        self.stats.bytes_uploaded += len(reply)
        return reply

    def _upload_memory(self, block: int, length: int) -> bytes:
        if length == 0:
            return b""  # nothing to read, wherever the pointer is
        memory = self.memory
        if self.profile.dfuse:
            offset = (block - DFUSE_DATA_BLOCK_OFFSET) * self.profile.transfer_size
            address = self.pointer + offset
        else:
            address = memory.sectors[0].address + block * self.profile.transfer_size
            end = memory.sectors[-1].end
            if address >= end:
                return b""  # plain DFU: past the end, an empty (short) block ends the upload
        injected = self.faults.take_failure("upload", address, length)
        if injected is not None:
            self._fail(injected)
            raise Stall
        if self.protection is not None and self.protection.read_protected:
            self._fail(Status.ERR_VENDOR)  # AN3156 §4.1: no read of any memory at RDP level 1
            raise Stall
        if memory.alt.memory_kind == "option" and not whole_option_block(memory, address, length):
            self._fail(Status.ERR_TARGET)  # AN3156 §4.1: the whole block (sim.protection)
            raise Stall
        allowed = memory.readable_length(address, length)
        if allowed == 0 and length > 0:
            self._fail(Status.ERR_TARGET)  # §2.6: read at a non-allowed address
            raise Stall
        return self.faults.garble(address, memory.read(address, allowed))
