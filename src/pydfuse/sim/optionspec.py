"""Option bytes of a virtual ROM bootloader as data: factory block, where RDP and write
protection live, how a written block is stored (layer: sim; imports nothing from pydfuse).

The simulator keeps this small model of its own and never imports ``pydfuse.optionbytes``, so a
mistake in the host's tables cannot be hidden by the same mistake here. Only what the ROM's
behaviour depends on is modelled: the RDP byte, the write-protection bits and the storage rules.
Sources: RM0091 Rev 10 §4 (F0), RM0090 Rev 21 §3.7 (F4), AN3156 §5.1 (writes through the ROM).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["F0_OPTION_BYTES", "F4_OPTION_BYTES", "OptionBytesSpec"]


@dataclass(frozen=True, slots=True)
class OptionBytesSpec:
    """One family's option-byte rules as the chip applies them.

    ``storage`` "byte-pairs" (F0: value byte + complement byte; a pair that does not match loads
    as 0xFF, 0xFF/0xFF is the erased state, RM0091 §4) or "halfword-rows" (F4: the ROM writes
    FLASH_OPTCR, the chip stores each 16-bit word as [v, ~v, v, ~v] — the layout a real F411 ROM
    read-back shows). ``wrp_unit_bytes``: 4096 = bit i protects the i-th 4 KB of flash and the
    last bit the rest (F0, §4.1.3); 0 = bit i protects sector i (F4 nWRPi, §3.7.4).
    """

    storage: Literal["byte-pairs", "halfword-rows"]
    factory: bytes
    wrp_unit_bytes: int
    wrp_bits: int
    rdp_level0: int = 0xAA
    rdp_level2: int | None = 0xCC
    keep_ones: tuple[int, int] = (0, 0)  # F4: bits the chip stores as 1 (USER, nWRP words)

    @property
    def size(self) -> int:
        return len(self.factory)

    def _pair(self, block: bytes, offset: int) -> int:
        value, complement = block[offset], block[offset + 1]
        ok = complement == value ^ 0xFF or value == complement == 0xFF
        return value if ok else 0xFF

    def rdp(self, block: bytes) -> int:
        """The RDP byte the chip loads from ``block``."""
        if self.storage == "byte-pairs":
            return self._pair(block, 0)
        return block[1]

    def level(self, block: bytes) -> int:
        value = self.rdp(block)
        if value == self.rdp_level0:
            return 0
        return 2 if value == self.rdp_level2 else 1

    def wrp_mask(self, block: bytes) -> int:
        """Write-protection bits as 1 = protected, bit i = unit i."""
        if self.storage == "byte-pairs":
            raw = sum(self._pair(block, 8 + 2 * i) << (8 * i) for i in range(4))
        else:
            raw = int.from_bytes(block[8:10], "little")
        return ~raw & ((1 << self.wrp_bits) - 1)  # active low

    def stored(self, written: bytes) -> bytes:
        """What the option block holds after the ROM wrote ``written`` at its start: all
        options are erased first (AN3156 §5.1), so a short write leaves the rest erased. F0:
        the chip writes each complement itself from the value byte (RM0091 §3.2.2), whatever
        the block held there."""
        if self.storage == "byte-pairs":
            out = bytearray(b"\xff" * self.size)
            for offset in range(0, min(len(written), self.size), 2):
                out[offset], out[offset + 1] = written[offset], written[offset] ^ 0xFF
            return bytes(out)
        padded = bytes(written) + b"\xff" * max(0, self.size - len(written))
        out = bytearray()
        for offset, ones in zip((0, 8), self.keep_ones, strict=True):
            value = int.from_bytes(padded[offset : offset + 2], "little") | ones
            row = (value, value ^ 0xFFFF, value, value ^ 0xFFFF)
            out += b"".join(word.to_bytes(2, "little") for word in row)
        return bytes(out)


# RM0091 Rev 10 Table 12, ST production values: RDP 0xAA, USER 0xFF, data and WRP 0xFF, each with
# its complement.
F0_OPTION_BYTES = OptionBytesSpec(
    storage="byte-pairs",
    factory=bytes.fromhex("aa55ff00ff00ff00ff00ff00ff00ff00"),
    wrp_unit_bytes=4096,
    wrp_bits=32,
)

# RM0090 Rev 21 Table 16 with FLASH_OPTCR's reset value 0x0FFFAAED (§3.9.9): RDP 0xAA; USER
# nRST_STDBY = nRST_STOP = WDG_SW = 1, BOR off (11), bit 4 "0x1: not used", bits 1:0 "0x3: not
# used"; nWRP 0xFFF with bits 15:12 "0xF: not used". Rows [v, ~v, v, ~v] as read back from a
# real F411 ROM (see sim/profiles.py).
F4_OPTION_BYTES = OptionBytesSpec(
    storage="halfword-rows",
    factory=bytes.fromhex("ffaa0055ffaa0055ffff0000ffff0000"),
    wrp_unit_bytes=0,
    wrp_bits=12,
    keep_ones=(0x0013, 0xF000),
)
