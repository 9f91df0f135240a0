"""Random-request fuzzing of the simulator through its pyusb backend, with invariants.

A :class:`Fuzzer` plays seeded random sequences of what a raw pyusb client can do to a virtual
board — DFU class requests well and badly formed, DfuSe commands and data blocks at interesting
addresses, standard and vendor requests, bus resets, armed faults, time passing — and checks
after every step and every sequence (issue #9):

1. nothing but ``usb.core.USBError`` leaves pyusb;
2. the DFU state is always one of the 11 states of DFU 1.1 (the ST demo profile may also show
   0x0F, the status value its firmware writes into the state byte after a bad UPLOAD block);
3. a well-formed GETSTATUS is answered whenever the device is on the bus and not waiting for
   a reset after manifestation;
4. memory changes only through a legal erase or program: every changed byte is either 0xFF in
   a sector some erase command (page, mass, unprotect, or a plain-DFU block) could have erased,
   or a byte of a data block the client sent, at an address the block could have gone to;
5. every DFU class request does what §1.6 allows in the state it meets (support.dfu11): how
   the transfer ends and the state (and status) it leaves; checked wherever the table alone
   decides (not on the ST demo profile, not with a fault armed, not while the device is busy).

Everything is derived from the seed, so a failure names the profile, the seed, the sequence
number and its requests, and :func:`replay` plays the run up to that sequence again.
"""

from __future__ import annotations

import errno
import random
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import usb.core

from pydfuse.sim.backend import SimBackend, get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import PROFILES, BoardProfile
from pydfuse.spec import DfuseCommand, Request, State, Status
from support import dfu11

STATES = {int(s) for s in State}
STATUSES = {int(s) for s in Status}
ST_DEMO_BAD_STATE = 0x0F  # §2.9/§7.7: errSTALLEDPKT written into the state byte
_GONE = (errno.ENODEV, errno.ENOENT)
_OUT, _IN = 0x21, 0xA1


@dataclass(frozen=True)
class Op:
    """One step of a sequence: a control transfer, a bus reset, faults to arm or time passing."""

    kind: str  # "ctrl" | "reset" | "sleep" | "fault"
    bm: int = 0
    request: int = 0
    value: int = 0
    index: int = 0
    payload: bytes | int | None = None  # OUT data, or IN length
    timeout: int = 1000
    seconds: float = 0.0
    fault: tuple[Any, ...] = ()

    def __str__(self) -> str:
        if self.kind == "ctrl":
            data = self.payload.hex() if isinstance(self.payload, bytes) else self.payload
            return (
                f"ctrl(0x{self.bm:02x}, {self.request}, 0x{self.value:04x}, {self.index}, "
                f"{data}, timeout={self.timeout})"
            )
        if self.kind == "sleep":
            return f"sleep({self.seconds})"
        if self.kind == "fault":
            return f"fault{self.fault}"
        return self.kind


class Violation(AssertionError):
    """An invariant failed; the message says which, and how to replay it."""


@dataclass
class _Record:
    """What a sequence sent, to judge memory changes: pointers, blocks and erase commands."""

    pointers: set[int] = field(default_factory=set)
    blocks: list[tuple[int, bytes]] = field(default_factory=list)  # (wBlockNum, data)
    erase_at: set[int] = field(default_factory=set)
    mass_erase: bool = False
    unprotect: bool = False  # Read Unprotect also puts the option bytes back (AN3156 Table 4)


class Fuzzer:
    """Seeded random sequences against fresh and reused boards of every registered profile."""

    def __init__(self, seed: int, profiles: tuple[str, ...] = tuple(sorted(PROFILES))) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.profiles = profiles
        self.boards: dict[str, tuple[VirtualBoard, SimBackend]] = {}
        self.uses: dict[str, int] = {}
        self.totals: Counter[str] = Counter()  # the boards' stats, summed when replaced

    # -- driving ----------------------------------------------------------------------------
    def run(self, sequences: int, *, first: int = 0) -> int:
        """Play ``sequences`` sequences (numbered from ``first``); returns requests sent."""
        sent = 0
        for number in range(first, first + sequences):
            sent += self.play(self.profiles[number % len(self.profiles)], number)
        return sent

    def _board(self, name: str) -> tuple[VirtualBoard, SimBackend]:
        uses = self.uses.get(name, 0)
        if name not in self.boards or uses >= 50:  # a fresh board now and then: memory stays small
            if name in self.boards:
                self._count(self.boards[name][0])
            board = VirtualBoard(name, run_firmware=False)
            self.boards[name] = (board, get_backend(board))
            uses = 0
        self.uses[name] = uses + 1
        board, backend = self.boards[name]
        if not board.usb_connected:
            board.power_cycle()
        return board, backend

    def _count(self, board: VirtualBoard) -> None:
        stats = board.stats
        for key in ("transfers", "stalls", "erases", "program_units", "bytes_uploaded"):
            self.totals[key] += getattr(stats, key)

    def counts(self) -> Counter[str]:
        """Totals over every board used so far (boards still in use included)."""
        out = Counter(self.totals)
        for board, _ in self.boards.values():
            stats = board.stats
            for key in ("transfers", "stalls", "erases", "program_units", "bytes_uploaded"):
                out[key] += getattr(stats, key)
        return out

    def play(self, name: str, number: int) -> int:
        """One random sequence on the ``name`` board, every invariant checked; returns its
        length. Each step is drawn knowing the board's state, so that besides noise the
        sequences also walk the way a host does (clear errors, poll, erase, write, read)."""
        board, backend = self._board(name)
        before = _snapshot(board)
        record = _Record(pointers={board.profile.default_pointer})
        if board.dfu is not None:
            record.pointers.add(board.dfu.pointer)
        dev = _find(backend)
        ops: list[Op] = []
        if self.rng.random() < 0.05:
            ops.append(self._fault())
        try:
            for step in range(self.rng.randint(1, 24)):
                if step or not ops:
                    ops.append(self._op(board))
                for op in ops[len(ops) - 1 :] if step else ops:
                    dev = self._step(board, backend, dev, op, record)
                    check_state(board, f"after step {len(ops) - 1}")
            _check_getstatus(board, backend)
            _check_memory(board, before, record)
        except Violation as error:
            lines = "\n".join(f"  {i}: {op}" for i, op in enumerate(ops))
            raise Violation(
                f"{error}\nprofile {name}, seed {self.seed}, sequence {number}:\n{lines}"
            ) from None
        return len(ops)

    def _step(
        self, board: VirtualBoard, backend: SimBackend, dev: Any, op: Op, record: _Record
    ) -> Any:
        if op.kind == "sleep":
            board.clock.sleep(op.seconds)
            return dev
        if op.kind == "fault":
            getattr(board.faults, op.fault[0])(*op.fault[1:])
            return dev
        if dev is None:
            dev = _find(backend)
            if dev is None:
                return None
        if op.kind == "reset":
            return self._transfer(lambda: dev.reset(), dev)
        _remember(board.profile, op, record)
        length = op.payload if isinstance(op.payload, int) else len(op.payload or b"")
        expected = dfu11.expect(board, op.bm, op.request, op.index, length)
        outcome: list[Any] = []
        dev = self._transfer(
            lambda: outcome.append(
                dev.ctrl_transfer(op.bm, op.request, op.value, op.index, op.payload, op.timeout)
            ),
            dev,
            outcome,
        )
        if expected is not None and dev is not None:
            problem = dfu11.check_transition(board, expected, outcome[0] if outcome else "ok")
            if problem is not None:
                raise Violation(problem)
        return dev

    @staticmethod
    def _transfer(send: Any, dev: Any, outcome: list[Any] | None = None) -> Any:
        """Run one request; None when the device left. How it ended goes to ``outcome``: the
        reply, or "stall" / "timeout" / "error"."""
        try:
            send()
        except usb.core.USBError as error:
            if error.errno in _GONE:
                return None  # the device left or re-enumerated: find it again
            if outcome is not None:
                kinds = {errno.EPIPE: "stall", errno.ETIMEDOUT: "timeout"}
                outcome.append(kinds.get(error.errno, "error"))
        except Exception as error:  # the invariant under test: nothing else may escape
            raise Violation(f"{type(error).__name__} escaped pyusb: {error}") from error
        return dev

    # -- generating ------------------------------------------------------------------------
    def _op(self, board: VirtualBoard) -> Op:
        profile = board.profile
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return self._host_move(board)
        if roll < 0.45:
            return self._host_request()
        if roll < 0.62:
            return self._dnload(profile)
        if roll < 0.7:
            return self._upload(profile)
        if roll < 0.8:
            return self._random_request(profile)
        if roll < 0.87:
            return self._standard_request()
        if roll < 0.89:
            return Op("reset")
        return Op("sleep", seconds=rng.choice([0.0, 0.001, 0.05, 0.11, 1.0, 3.5, 40.0]))

    def _host_move(self, board: VirtualBoard) -> Op:
        """What a host would do next in the board's state (clear, poll, abort, write, read)."""
        rng = self.rng
        dfu = board.dfu
        state = None if dfu is None else dfu.state
        if state == State.DFU_ERROR:
            return Op("ctrl", _OUT, Request.CLRSTATUS, 0, 0, None)
        if state in (State.DFU_DNLOAD_SYNC, State.DFU_MANIFEST_SYNC, State.DFU_DNBUSY):
            if dfu is not None and dfu.busy_until is not None and rng.random() < 0.5:
                return Op("sleep", seconds=max(dfu.busy_until - board.clock.monotonic(), 0.0))
            return Op("ctrl", _IN, Request.GETSTATUS, 0, 0, 6, timeout=self._timeout())
        if state == State.DFU_UPLOAD_IDLE and rng.random() < 0.5:
            return Op("ctrl", _OUT, Request.ABORT, 0, 0, None)
        profile = board.profile
        if state in (State.DFU_IDLE, State.DFU_DNLOAD_IDLE) and profile.dfuse:
            address = struct.pack("<I", self._address(profile))
            if rng.random() < 0.5:
                payload = rng.choice([b"\x21", b"\x41"]) + address
                return Op("ctrl", _OUT, Request.DNLOAD, 0, 0, payload)
            size = rng.choice([2, 4, 16, 256, profile.transfer_size])
            return Op("ctrl", _OUT, Request.DNLOAD, 2, 0, rng.randbytes(size))
        if state == State.DFU_IDLE and rng.random() < 0.5:
            return self._upload(profile)
        return self._dnload(profile)

    def _host_request(self) -> Op:
        request, bm, length = self.rng.choice(
            [
                (Request.GETSTATUS, _IN, 6),
                (Request.GETSTATUS, _IN, 6),
                (Request.GETSTATE, _IN, 1),
                (Request.CLRSTATUS, _OUT, None),
                (Request.ABORT, _OUT, None),
                (Request.DETACH, _OUT, None),
            ]
        )
        value = self.rng.choice([0, 0, 0, 1000]) if request == Request.DETACH else 0
        return Op("ctrl", bm, request, value, 0, length, timeout=self._timeout())

    def _timeout(self) -> int:
        return self.rng.choice([1000, 1000, 5000, 0, 50])

    def _address(self, profile: BoardProfile) -> int:
        rng = self.rng
        alt = rng.choice(profile.alternates)
        group = rng.choice(alt.sectors)
        choice = rng.random()
        if choice < 0.4:
            return group.address + rng.randrange(group.count) * group.size
        if choice < 0.6:
            return group.end - rng.choice([1, 2, 4, 16])
        if choice < 0.8:
            return group.address + rng.randrange(group.count * group.size)
        return rng.choice([0, profile.default_pointer, 0xFFFFFFFC, rng.getrandbits(32)])

    def _dnload(self, profile: BoardProfile) -> Op:
        rng = self.rng
        block = rng.choice([0, 0, 0, 0, 1, 2, 2, 2, 3, 5, rng.getrandbits(16)])
        if block == 0 and profile.dfuse:
            payload = self._command(profile)
        else:
            ts = profile.transfer_size
            size = rng.choice([0, 1, 2, 3, 4, 16, 255, ts - 1, ts, ts + 1, rng.randint(1, ts)])
            fill = rng.random()
            if fill < 0.5:
                payload = rng.randbytes(size)
            else:
                payload = bytes([rng.choice([0x00, 0xFF, 0x5A])]) * size
        bm = _OUT if rng.random() < 0.95 else _IN
        data: bytes | int | None = payload if bm == _OUT else len(payload)
        return Op("ctrl", bm, Request.DNLOAD, block, 0, data or None, timeout=self._timeout())

    def _command(self, profile: BoardProfile) -> bytes:
        rng = self.rng
        address = struct.pack("<I", self._address(profile))
        return rng.choice(
            [
                b"\x21" + address,
                b"\x21" + address,
                b"\x41" + address,
                b"\x41",
                b"\x92",
                b"\x00",
                bytes([rng.getrandbits(8)]) + rng.randbytes(rng.choice([0, 1, 3, 4, 6])),
                address[:2],
            ]
        )

    def _upload(self, profile: BoardProfile) -> Op:
        rng = self.rng
        block = rng.choice([0, 1, 2, 2, 3, 4, rng.getrandbits(16)])
        length = rng.choice([0, 1, 3, 4, 16, profile.transfer_size, profile.transfer_size + 1])
        if rng.random() < 0.95:
            return Op("ctrl", _IN, Request.UPLOAD, block, 0, length, timeout=self._timeout())
        return Op("ctrl", _OUT, Request.UPLOAD, block, 0, bytes(length) or None)

    def _random_request(self, profile: BoardProfile) -> Op:
        rng = self.rng
        bm = rng.choice([0x21, 0xA1, 0x20, 0xA0, 0x22, 0xA2, 0x23, 0xC1, 0x41, rng.getrandbits(8)])
        if bm & 0x1F == 1 and rng.random() < 0.9:
            index = 0  # pyusb claims the interface named in wIndex; 1+ fails in pyusb itself
        else:
            index = rng.choice([0, 1, 0x100, rng.getrandbits(16)])
        request = rng.choice([rng.randrange(8), rng.randrange(8), rng.getrandbits(8)])
        value = rng.choice([0, 1, 2, rng.getrandbits(16)])
        length = rng.choice([0, 1, 5, 6, 64, profile.transfer_size + 1])
        payload: bytes | int | None
        payload = length if bm & 0x80 else (rng.randbytes(length) or None)
        return Op("ctrl", bm, request, value, index, payload, timeout=self._timeout())

    def _standard_request(self) -> Op:
        rng = self.rng
        bm, request, value, index, payload = rng.choice(
            [
                (0x01, 0x0B, rng.randrange(6), 0, None),  # SET_INTERFACE
                (0x01, 0x0B, rng.randrange(6), 0, None),
                (0x80, 0x06, (rng.choice([1, 2, 3, 6, 0x21]) << 8) | rng.randrange(8), 0, 255),
                (0x00, 0x09, rng.choice([0, 1, 2]), 0, None),  # SET_CONFIGURATION
                (0x80, 0x00, 0, 0, 2),  # GET_STATUS
                (0x81, 0x0A, 0, 0, 1),  # GET_INTERFACE
                (0x80, 0x08, 0, 0, 1),  # GET_CONFIGURATION
                (0x00, 0x05, rng.randrange(128), 0, None),  # SET_ADDRESS
            ]
        )
        return Op("ctrl", bm, request, value, index, payload)

    def _fault(self) -> Op:
        rng = self.rng
        kind = rng.choice(["fail_next", "stall_next", "timeout_next", "disconnect_after"])
        if kind == "fail_next":
            op = rng.choice(["program", "erase", "upload", "command"])
            status = rng.choice([s for s in Status if s != Status.OK])
            return Op("fault", fault=(kind, op, status, None))
        if kind == "disconnect_after":
            return Op("fault", fault=(kind, rng.randrange(1, 12)))
        return Op("fault", fault=(kind,))


def _find(backend: SimBackend) -> Any:
    return usb.core.find(backend=backend)


def _remember(profile: BoardProfile, op: Op, record: _Record) -> None:
    """Note what an OUT DNLOAD could make the device do (whether or not it will)."""
    if op.request != Request.DNLOAD or op.bm != _OUT or not isinstance(op.payload, bytes):
        return
    data = op.payload
    if profile.dfuse and op.value == 0:
        opcode, args = data[0], data[1:]
        if len(args) == 4:
            address = int.from_bytes(args, "little")
            if opcode == DfuseCommand.SET_ADDRESS_POINTER:
                record.pointers.add(address)
            elif opcode == DfuseCommand.ERASE:
                record.erase_at.add(address)
                record.pointers.add(address)  # the ST demo loads its pointer from an erase
        elif not args and opcode in (DfuseCommand.ERASE, DfuseCommand.READ_UNPROTECT):
            record.mass_erase = True
            record.unprotect |= opcode == DfuseCommand.READ_UNPROTECT
        return
    record.blocks.append((op.value, data))


def _state_of(board: VirtualBoard) -> int | None:
    dfu = board.dfu
    return None if dfu is None else dfu.state_byte


def check_state(board: VirtualBoard, where: str) -> None:
    """Invariant 2: one of the 11 DFU states (0x0F allowed on the ST demo profile)."""
    state = _state_of(board)
    if state is None or state in STATES:
        return
    if state == ST_DEMO_BAD_STATE and board.profile.st_demo_requests:
        return
    raise Violation(f"state {state} is none of the 11 DFU states ({where})")


def _check_getstatus(board: VirtualBoard, backend: SimBackend) -> None:
    """A well-formed GETSTATUS is answered (invariant 3)."""
    if not board.usb_connected or board.dfu is None:
        return
    dev = _find(backend)
    if dev is None:
        raise Violation("the board is on the bus but pyusb cannot find it")
    if board.usb is not None and board.usb.configuration == 0:
        dev.set_configuration(1)  # an unconfigured device stalls class requests (USB 2.0 §9.1)
    for _ in range(4):
        injected = any(line.startswith("next control") for line in board.faults.armed())
        try:
            reply = bytes(dev.ctrl_transfer(_IN, Request.GETSTATUS, 0, 0, 6, 0))
        except usb.core.USBError as error:
            if injected:
                continue  # an armed stall/timeout fault fired, as it should
            dfu = board.dfu
            if dfu is None or dfu.state == State.DFU_MANIFEST_WAIT_RESET:
                return  # §1.6: no answer while waiting for the reset (the timeout is right)
            if error.errno == errno.EPIPE and board.profile.early_poll_stalls:
                board.clock.sleep(1.0)  # §7.3: an L4-style ROM stalls until the work is done
                continue
            raise Violation(f"GETSTATUS got {error!r} in state {dfu.state!r}") from error
        if len(reply) != 6 or reply[0] not in STATUSES:
            raise Violation(f"GETSTATUS answered {reply.hex()}")
        if reply[4] not in STATES and not (
            reply[4] == ST_DEMO_BAD_STATE and board.profile.st_demo_requests
        ):
            raise Violation(f"GETSTATUS reports state {reply[4]}")
        return
    raise Violation("GETSTATUS kept stalling")


Snapshot = list[dict[int, bytes]]


def _snapshot(board: VirtualBoard) -> Snapshot:
    return [dict(memory.used_sectors()) for memory in board.memories]


def _write_ranges(board: VirtualBoard, alt: int, record: _Record) -> list[tuple[int, bytes]]:
    """(address, data) of every place a sent data block could have been written in ``alt``."""
    size = board.profile.transfer_size
    out = []
    if board.profile.dfuse:
        for block, data in record.blocks:
            if block >= 2:
                out += [(p + (block - 2) * size, data) for p in record.pointers]
    else:
        start = board.memories[alt].sectors[0].address
        out = [(start + block * size, data) for block, data in record.blocks]
    return out


def _erasable(
    board: VirtualBoard, address: int, size: int, writes: list[tuple[int, bytes]], record: _Record
) -> bool:
    """Whether some command sent could have erased the sector [address, address+size)."""
    if record.mass_erase:
        return True
    if any(address <= a < address + size for a in record.erase_at):
        return True
    # A plain DFU device erases what a block is about to overwrite (§1.8).
    return not board.profile.dfuse and any(
        a < address + size and address < a + len(d) for a, d in writes
    )


def _check_memory(board: VirtualBoard, before: Snapshot, record: _Record) -> None:
    """Invariant 4, sector by sector; only changed 256-byte chunks are looked at byte-wise."""
    for alt, (old_sectors, memory) in enumerate(zip(before, board.memories, strict=True)):
        new_sectors = dict(memory.used_sectors())
        writes = _write_ranges(board, alt, record)
        if memory.alt.memory_kind == "option" and (
            record.unprotect or any(a == memory.sectors[0].address for a, _ in writes)
        ):
            # Read Unprotect puts back the factory values; a write of the block is stored by
            # the chip's rules (complements, fixed bits: sim.optionspec), not byte for byte.
            continue
        for address in set(old_sectors) | set(new_sectors):
            sector = memory.sector_at(address)
            assert sector is not None
            old = old_sectors.get(address, b"\xff" * sector.size)
            new = new_sectors.get(address, b"\xff" * sector.size)
            if old == new:
                continue
            erasable = _erasable(board, address, sector.size, writes, record)
            for offset in _changed(old, new):
                value = new[offset]
                where = address + offset
                if value == 0xFF and erasable:
                    continue
                if any(a <= where < a + len(d) and d[where - a] == value for a, d in writes):
                    continue
                raise Violation(
                    f"alt {alt}: byte at 0x{where:08x} went 0x{old[offset]:02x} -> "
                    f"0x{value:02x} without an erase or a block that writes it"
                )


def _changed(old: bytes, new: bytes) -> Iterator[int]:
    for chunk in range(0, len(old), 256):
        if old[chunk : chunk + 256] != new[chunk : chunk + 256]:
            for offset in range(chunk, min(chunk + 256, len(old))):
                if old[offset] != new[offset]:
                    yield offset


def replay(seed: int, number: int) -> None:
    """Play sequences 0..``number`` of ``seed`` again (boards are reused from one sequence to
    the next exactly as in the first run, so the failing one meets the same board)."""
    Fuzzer(seed).run(number + 1)
