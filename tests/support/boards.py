"""Helpers for host/ops tests: virtual boards behind the simulator's real pyusb backend, a
request log taken at the pyusb backend boundary, and application images."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pydfuse.formats import Image
from pydfuse.ops import Environment
from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import SectorGroup, get_profile
from pydfuse.spec import DfuseCommand, MemoryRights, Request

APP_ADDRESS = 0x08003000  # ST demo application address (§2.9)
SRAM_TOP = 0x20010000  # STM3210E-EVAL: 64 KB SRAM (§2.12)


@dataclass(frozen=True)
class Setup:
    """One control transfer as pyusb handed it to the backend."""

    request_type: int
    request: int
    value: int
    index: int
    data: bytes | None  # OUT payload; None for IN
    length: int = 0  # wLength

    @property
    def is_dnload(self) -> bool:
        return self.request_type == 0x21 and self.request == Request.DNLOAD

    def command(self) -> int | None:
        """The DfuSe command opcode of a wBlockNum-0 DNLOAD (§2.2), else None."""
        if self.is_dnload and self.value == 0 and self.data:
            return self.data[0]
        return None


class RecordingBackend:
    """Delegates every call to the simulator's pyusb backend and logs control transfers.

    Not a mock: the real backend answers everything; this only watches the boundary.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.log: list[Setup] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def ctrl_transfer(
        self, handle: Any, rt: int, req: int, value: int, index: int, data: Any, timeout: Any
    ) -> Any:
        payload = None if rt & 0x80 else bytes(data)
        length = len(data) if data is not None and not isinstance(data, int) else data or 0
        self.log.append(Setup(rt, req, value, index, payload, length))
        return self._inner.ctrl_transfer(handle, rt, req, value, index, data, timeout)

    def commands(self, opcode: int, length: int | None = None) -> list[int]:
        """Addresses (or -1 without one) of every logged DfuSe command ``opcode``."""
        out = []
        for s in self.log:
            if s.command() != opcode or s.data is None:
                continue
            if length is None or len(s.data) == length:
                out.append(int.from_bytes(s.data[1:5], "little") if len(s.data) >= 5 else -1)
        return out

    def set_addresses(self) -> list[int]:
        return self.commands(DfuseCommand.SET_ADDRESS_POINTER, 5)

    def page_erases(self) -> list[int]:
        return self.commands(DfuseCommand.ERASE, 5)

    def _at_pointer(self) -> Iterator[tuple[int, Setup]]:
        """Every logged transfer with the DfuSe pointer in force when it was sent."""
        pointer = 0
        for s in self.log:
            if s.command() == DfuseCommand.SET_ADDRESS_POINTER and s.data and len(s.data) == 5:
                pointer = int.from_bytes(s.data[1:5], "little")
            yield pointer, s

    def downloads_at(self, start: int, end: int) -> list[bytes]:
        """Data blocks downloaded while the DfuSe pointer was in [start, end)."""
        return [
            s.data
            for pointer, s in self._at_pointer()
            if s.is_dnload and s.value >= 2 and s.data and start <= pointer < end
        ]

    def uploads_at(self, start: int, end: int) -> list[tuple[int, int]]:
        """(address, wLength) of every data UPLOAD while the DfuSe pointer was in [start, end)."""
        return [
            (pointer, s.length)
            for pointer, s in self._at_pointer()
            if s.request_type == 0xA1
            and s.request == Request.UPLOAD
            and s.value >= 2
            and start <= pointer < end
        ]

    def count(self, request: Request) -> int:
        return sum(1 for s in self.log if s.request == request and s.request_type in (0x21, 0xA1))


@dataclass
class Rig:
    """Boards on one simulated bus, the recording backend, and an Environment over both."""

    boards: list[VirtualBoard]
    backend: RecordingBackend
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(backend=self.backend, clock=self.boards[0].clock)

    @property
    def board(self) -> VirtualBoard:
        return self.boards[0]


def app_image(size: int, address: int = APP_ADDRESS, seed: int = 1) -> Image:
    """A valid Cortex-M3 application: MSP at the SRAM top, Thumb handlers inside the image."""
    vectors = [SRAM_TOP] + [(address + 0x200) | 1] * 15
    head = struct.pack("<16I", *vectors)
    body = bytes(((i * 131 + seed * 17) >> 3) & 0xFF for i in range(size - len(head)))
    return Image.from_segments([(address, head + body)])


def blob(address: int, size: int, seed: int = 7) -> Image:
    """Deterministic data that is neither 0xFF nor 0x00 runs."""
    return Image.from_segments([(address, bytes((i * seed + 11) & 0xFF for i in range(size)))])


def make_rig(*boards: VirtualBoard | str) -> Rig:
    real = [b if isinstance(b, VirtualBoard) else VirtualBoard(b) for b in boards]
    return Rig(real, RecordingBackend(get_backend(*real)))


# A real STM32F411 ROM's option-byte read-back (see tests/optionbytes): SPRMOD (nWRP bit 15) 0.
F411_OPTION_BLOCK = "efaa1055efaa1055ff7f0080ff7f0080"


def f411_rom(option_block: str = F411_OPTION_BLOCK) -> VirtualBoard:
    """The F4 ROM as an STM32F411 (512 KB: 8 sectors) holding ``option_block``; its nWRP word
    keeps bits 14:12 (not SPRMOD) as ones, as the real read-back shows. The simulator does not
    model PCROP: it reads the nWRP bits as write protection whatever SPRMOD says."""
    f4 = get_profile("stm32f4-rom")
    flash = replace(
        f4.alternates[0],
        layout="@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg",
        descriptor_length=2 + 2 * 55,
        sectors=(
            SectorGroup(0x08000000, 4, 16384, MemoryRights(7)),
            SectorGroup(0x08010000, 1, 65536, MemoryRights(7)),
            SectorGroup(0x08020000, 3, 131072, MemoryRights(7)),
        ),
    )
    assert f4.option_bytes is not None
    spec = replace(
        f4.option_bytes, factory=bytes.fromhex(F411_OPTION_BLOCK), keep_ones=(0x0003, 0x7000)
    )
    profile = replace(
        f4,
        name="stm32f411-rom-test",
        alternates=(flash, *f4.alternates[1:]),
        option_bytes=spec,
    )
    board = VirtualBoard(profile)
    board.memory(1).load(0x1FFFC000, bytes.fromhex(option_block))
    board.reset()
    return board


def rom_with_erasable_options() -> VirtualBoard:
    """The F072 ROM with the option alternate marked erasable ('g'), as the STM32F105/107 ROM
    reports it (dfuse-spec §3.3: `@Option Bytes  /0x1FFFF800/01*016 g`): an erase there erases
    the block, RDP byte included."""
    f0 = get_profile("stm32f072-rom")
    option = replace(
        f0.alternates[1],
        layout="@Option Bytes  /0x1FFFF800/01*016 g",
        sectors=(SectorGroup(0x1FFFF800, 1, 16, MemoryRights(7)),),
        erasable=True,
    )
    return VirtualBoard(replace(f0, alternates=(f0.alternates[0], option)))
