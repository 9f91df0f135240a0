"""Firmware images as sparse, merged, address-sorted segments (layer: formats).

Imports only ``pydfuse.errors``. An :class:`Image` is immutable: building one sorts the
segments, merges touching ones, and refuses overlaps and addresses beyond 32 bits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydfuse.errors import FormatError

ADDRESS_LIMIT = 1 << 32


@dataclass(frozen=True, slots=True)
class Segment:
    """A contiguous run of bytes at ``address``."""

    address: int
    data: bytes

    @property
    def end(self) -> int:
        """First address after the segment."""
        return self.address + len(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Image:
    """Address-sorted, non-overlapping, merged segments. Build with :meth:`from_segments`."""

    segments: tuple[Segment, ...] = ()

    @classmethod
    def from_segments(
        cls, segments: Iterable[Segment | tuple[int, bytes]], *, source: str | None = None
    ) -> Image:
        """Sort, check and merge ``segments``; touching segments become one.

        Raises :class:`FormatError` on overlapping data or data outside the 32-bit space.
        """
        items = sorted(
            (s if isinstance(s, Segment) else Segment(s[0], bytes(s[1])) for s in segments),
            key=lambda s: s.address,
        )
        merged: list[tuple[int, list[bytes], int]] = []  # (start, chunks, end)
        for seg in items:
            if not seg.data:
                continue
            if seg.address < 0 or seg.end > ADDRESS_LIMIT:
                raise FormatError(
                    f"data at 0x{seg.address:x}..0x{seg.end - 1:x} lies outside the 32-bit "
                    "address space",
                    path=source,
                )
            if merged and seg.address < merged[-1][2]:
                raise FormatError(
                    f"overlapping data at 0x{seg.address:08x} (the previous run ends at "
                    f"0x{merged[-1][2]:08x})",
                    path=source,
                    hint="each address may be given only once; check the input files' ranges",
                )
            if merged and seg.address == merged[-1][2]:
                start, chunks, _ = merged[-1]
                chunks.append(seg.data)
                merged[-1] = (start, chunks, seg.end)
            else:
                merged.append((seg.address, [seg.data], seg.end))
        return cls(tuple(Segment(start, b"".join(chunks)) for start, chunks, _ in merged))

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    def __bool__(self) -> bool:
        return bool(self.segments)

    @property
    def size(self) -> int:
        """Number of data bytes (gaps excluded)."""
        return sum(len(s.data) for s in self.segments)

    @property
    def start(self) -> int:
        """Lowest address, or 0 for an empty image."""
        return self.segments[0].address if self.segments else 0

    @property
    def end(self) -> int:
        """First address after the highest byte, or 0 for an empty image."""
        return self.segments[-1].end if self.segments else 0

    def merged_with(self, other: Image, *, source: str | None = None) -> Image:
        """A new image holding both; overlaps are an error."""
        return Image.from_segments((*self.segments, *other.segments), source=source)

    def without(self, start: int, end: int) -> Image:
        """A new image without the bytes in ``[start, end)``."""
        pieces: list[Segment] = []
        for seg in self.segments:
            if seg.end <= start or seg.address >= end:
                pieces.append(seg)
                continue
            if seg.address < start:
                pieces.append(Segment(seg.address, seg.data[: start - seg.address]))
            if seg.end > end:
                pieces.append(Segment(end, seg.data[end - seg.address :]))
        return Image(tuple(pieces))

    def covers(self, start: int, end: int) -> bool:
        """Whether every byte of ``[start, end)`` is in the image."""
        return any(s.address <= start and end <= s.end for s in self.segments)

    def read(self, address: int, length: int, fill: int = 0xFF) -> bytes:
        """``length`` bytes from ``address``; gaps read as ``fill``."""
        out = bytearray([fill]) * length
        for seg in self.segments:
            lo, hi = max(seg.address, address), min(seg.end, address + length)
            if lo < hi:
                out[lo - address : hi - address] = seg.data[lo - seg.address : hi - seg.address]
        return bytes(out)
