"""An executable statement of dfu-util 0.11's layout-string rules, as a test oracle.

dfu-util's ``parse_memory_layout`` (src/dfuse_mem.c, GPL: read for its behaviour only) walks the
string with three ``sscanf`` calls: ``"@%[^/]%n"`` for the name, ``"/0x%x/%n"`` for a region
header, ``"%d*%d%c%[^,/]%n"`` for a group. This module re-states those C conversions one by one
(``%d`` skips blanks, takes an optional sign and digits; ``%c`` takes any one character; ``%[^,/]``
takes one or more characters other than ``,`` and ``/``; a literal must match exactly; a failed
conversion ends the call and reports how many conversions succeeded) and then the loop around
them, so that :func:`segments` gives the segments dfu-util would build. It is written as a
scanf emulator on purpose, unlike :mod:`pydfuse.layout.parse`, so the two are independent.

Where dfu-util's behaviour is undefined — a group with no type text (``sscanf`` returns 3 and
``%n`` is not reached, so dfu-util advances by a stale count) — this oracle takes the intended
reading: the cursor moves to just after the multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

BLANKS = " \t\n\v\f\r"


@dataclass(frozen=True)
class Segment:
    """One ``struct memsegment``: [start, end] inclusive, pagesize, memtype & 7."""

    start: int
    end: int
    pagesize: int
    memtype: int

    @property
    def sectors(self) -> list[tuple[int, int, int]]:
        """(address, size, rights) of every page; none when end < start (count or size 0)."""
        if self.pagesize <= 0 or self.end < self.start:
            return []
        count = (self.end - self.start + 1) // self.pagesize
        return [(self.start + i * self.pagesize, self.pagesize, self.memtype) for i in range(count)]


def _scan_int(text: str, i: int) -> tuple[int, int] | None:
    """C ``%d``: blanks, an optional sign, at least one decimal digit."""
    while i < len(text) and text[i] in BLANKS:
        i += 1
    j = i + 1 if i < len(text) and text[i] in "+-" else i
    k = j
    while k < len(text) and text[k] in "0123456789":  # C's isdigit: ASCII only
        k += 1
    if k == j:
        return None
    return int(text[i:k]), k


def _scan_hex(text: str, i: int) -> tuple[int, int] | None:
    """C ``%x``: blanks, an optional ``0x``/``0X`` prefix, at least one hex digit."""
    while i < len(text) and text[i] in BLANKS:
        i += 1
    if text[i : i + 2].lower() == "0x" and i + 2 < len(text) and _is_hex(text[i + 2]):
        i += 2
    k = i
    while k < len(text) and _is_hex(text[k]):
        k += 1
    if k == i:
        return None
    return int(text[i:k], 16), k


def _is_hex(char: str) -> bool:
    return char in "0123456789abcdefABCDEF"


def _scan_group(text: str, i: int) -> tuple[int, list[object], int]:
    """``"%d*%d%c%[^,/]%n"`` at ``i``: (conversions, values, position after them)."""
    values: list[object] = []
    first = _scan_int(text, i)
    if first is None:
        return 0, values, i
    values.append(first[0])
    i = first[1]
    if not text.startswith("*", i):
        return 1, values, i
    second = _scan_int(text, i + 1)
    if second is None:
        return 1, values, i
    values.append(second[0])
    i = second[1]
    if i >= len(text):
        return 2, values, i
    values.append(text[i])
    i += 1
    k = i
    while k < len(text) and text[k] not in ",/":
        k += 1
    if k == i:
        return 3, values, i
    values.append(text[i:k])
    return 4, values, k


def segments(text: str) -> list[Segment] | None:
    """The segments dfu-util 0.11 builds from ``text`` (None: it could not read a name)."""
    text = text.split("\x00", 1)[0]  # a C string
    if not text.startswith("@") or len(text) < 2 or text[1] == "/":
        return None
    i = text.find("/") if "/" in text else len(text)
    name = text[1:i]
    out: list[Segment] = []
    while text.startswith("/0x", i):
        header = _scan_hex(text, i + 3)
        if header is None or not text.startswith("/", header[1]):
            break
        address, i = header[0], header[1] + 1
        while True:
            found, values, after = _scan_group(text, i)
            if found <= 2:
                break
            i = after
            sectors, size, multiplier = values[0], values[1], values[2]
            assert isinstance(sectors, int) and isinstance(size, int)
            assert isinstance(multiplier, str)
            memtype = ""
            if found == 4:
                typestring = values[3]
                assert isinstance(typestring, str)
                if len(typestring) != 1:
                    continue  # "Parsing type identifier failed": skipped, cursor stays
                memtype = typestring
            if name == "Device Feature":
                memtype = "e"
            if multiplier == "K":
                size *= 1024
            elif multiplier == "M":
                size *= 1024 * 1024
            elif multiplier in "abcdefg" and not memtype:
                memtype = multiplier
            if not memtype:
                continue  # "No valid type for segment"
            out.append(Segment(address, address + sectors * size - 1, size, ord(memtype) & 7))
            address += sectors * size
            if text.startswith(",", i):
                i += 1
            else:
                break
    return out


def sectors(text: str) -> list[tuple[int, int, int]] | None:
    """Every page dfu-util would know in ``text`` as (address, size, rights)."""
    found = segments(text)
    if found is None:
        return None
    return [sector for segment in found for sector in segment.sectors]
