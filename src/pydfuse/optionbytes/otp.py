"""One-time-programmable (OTP) memory: what a write there changes for good (layer: optionbytes;
imports ``pydfuse.layout`` and ``pydfuse.formats``).

An OTP area is never erased: programming only clears bits, and every bit written to 0 stays 0
for the life of the chip ("The OTP data and lock blocks cannot be erased", RM0090 §3.8). On the
STM32F4 a 16-byte lock block follows the 512 data bytes: writing 0x00 to lock byte LOCKBi locks
data block i for good ("Each OTP data block can be programmed until the value 0x00 is
programmed in the corresponding OTP lock byte. The lock bytes must only contain 0x00 and 0xFF
values", RM0090 §3.8, Table 18: 16 blocks of 32 bytes at 0x1FFF7800, locks at 0x1FFF7A00).
Memories are recognised by their name (``@OTP Memory``), the lock block by its address.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydfuse.formats import Image
from pydfuse.layout import MemoryMap


@dataclass(frozen=True, slots=True)
class OtpArea:
    """Where an OTP area's data blocks and their lock bytes are (one lock byte per block)."""

    data_start: int
    block_size: int
    blocks: int
    lock_start: int
    source: str

    def block_of(self, address: int) -> int | None:
        """The data block holding ``address``, else None."""
        offset = address - self.data_start
        if 0 <= offset < self.block_size * self.blocks:
            return offset // self.block_size
        return None

    def lock_of(self, address: int) -> int | None:
        """The block whose lock byte is at ``address``, else None."""
        offset = address - self.lock_start
        return offset if 0 <= offset < self.blocks else None


OTP_AREAS = (
    OtpArea(0x1FFF7800, 32, 16, 0x1FFF7A00, "RM0090 §3.8 Table 18 (STM32F405/407/F42x/F43x)"),
    OtpArea(
        0x1FF0F000,
        64,
        16,
        0x1FF0F400,
        "STM32F76x/77x: 1024 bytes in 16 blocks of 64 (OpenOCD's stm32f2x OTP support), lock "
        "bytes at 0x1FF0F400 (ST community thread on programming an F767's OTP, 2018)",
    ),
)


def is_otp(memory: MemoryMap) -> bool:
    """Whether the memory is one-time programmable (the ROMs call it ``OTP Memory``)."""
    return memory.label.lower().startswith("otp")


def otp_area(memory: MemoryMap) -> OtpArea | None:
    """The known OTP area whose lock block lies in ``memory``, else None."""
    return next((a for a in OTP_AREAS if memory.contains(a.lock_start)), None)


@dataclass(frozen=True, slots=True)
class OtpWrite:
    """What writing a file into an OTP memory does: ``programmed`` [start, end) spans of bytes
    that change for good (lock bytes included), ``locked`` the data blocks it locks for ever,
    ``impossible`` what no write can do there (a bit back to 1, a byte of a locked block),
    ``odd_locks`` lock-byte addresses given another value than 0x00 or 0xFF."""

    memory: str
    programmed: tuple[tuple[int, int], ...]
    locked: tuple[int, ...]
    impossible: tuple[str, ...]
    odd_locks: tuple[int, ...]

    @property
    def permanent(self) -> bool:
        return bool(self.programmed)

    def describe(self) -> str:
        """One sentence saying what will be permanent."""
        count = sum(end - start for start, end in self.programmed)
        where = ", ".join(
            f"0x{lo:08x}" if hi - lo == 1 else f"0x{lo:08x}-0x{hi - 1:08x}"
            for lo, hi in self.programmed
        )
        text = (
            f"writing {self.memory} programs {count} one-time-programmable byte(s) ({where}): "
            "they can never be erased or changed back"
        )
        if self.locked:
            blocks = ", ".join(str(b) for b in self.locked)
            text += (
                f"; it LOCKS OTP block(s) {blocks} for ever (lock byte 0x00): nothing can be "
                "written there again"
            )
        if self.odd_locks:
            text += "; lock byte(s) " + ", ".join(f"0x{a:08x}" for a in self.odd_locks)
            text += " get a value other than 0x00 or 0xFF, which RM0090 §3.8 forbids"
        return text


def otp_write(memory: MemoryMap, image: Image, current: bytes | None = None) -> OtpWrite:
    """What writing ``image`` into the OTP ``memory`` changes, given what it holds now
    (``current``, from ``memory.start``; None: a new chip, every byte 0xFF). Bytes the file
    holds as 0xFF over 0xFF change nothing; bytes outside the file are not written."""
    start, size = memory.start, memory.end - memory.start
    now = current if current is not None else b"\xff" * size
    new, gaps = image.read(start, size), image.read(start, size, fill=0x00)
    area = otp_area(memory)
    spans: list[tuple[int, int]] = []
    locked: list[int] = []
    odd: list[int] = []
    in_locked: dict[int, int] = {}  # locked block -> bytes the file wants changed there
    back_to_one: list[int] = []  # addresses where the file needs a 0 bit to become 1
    for i, (value, was) in enumerate(zip(new, now, strict=False)):
        if value != gaps[i]:  # the file holds no byte here
            continue
        address = start + i
        block = area.block_of(address) if area is not None else None
        if area is not None and block is not None and _lock_byte(area, block, now, start):
            if value != was:
                in_locked[block] = in_locked.get(block, 0) + 1
            continue
        if value & ~was & 0xFF:
            back_to_one.append(address)
        if was & ~value & 0xFF:
            if spans and spans[-1][1] == address:
                spans[-1] = (spans[-1][0], address + 1)
            else:
                spans.append((address, address + 1))
            lock = area.lock_of(address) if area is not None else None
            if lock is not None:
                locked.append(lock)
                if value != 0x00:
                    odd.append(address)
    impossible = [
        f"OTP block {b} is locked for good and holds other bytes than the file ({n} differ)"
        for b, n in sorted(in_locked.items())
    ]
    if back_to_one:
        first = back_to_one[0]
        impossible.append(
            f"{len(back_to_one)} byte(s) would need programmed bits back at 1, which OTP never "
            f"allows (first 0x{first:08x}: the chip holds 0x{now[first - start]:02x}, the file "
            f"0x{new[first - start]:02x})"
        )
    return OtpWrite(memory.label, tuple(spans), tuple(locked), tuple(impossible), tuple(odd))


def _lock_byte(area: OtpArea, block: int, now: bytes, start: int) -> bool:
    """Whether data block ``block`` is locked in ``now`` (the memory's bytes from ``start``)."""
    offset = area.lock_start - start + block
    return 0 <= offset < len(now) and now[offset] == 0x00
