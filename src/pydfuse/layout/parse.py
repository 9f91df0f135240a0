"""Parse DfuSe memory-layout strings (iInterface text) into :class:`MemoryMap` values.

Layer: layout. May import ``pydfuse.spec``, ``pydfuse.errors`` and sibling layout modules.

Grammar: §3.1 of dfuse-spec.md. What is accepted, and the sectors it gives, follow the rules of
dfu-util 0.11's parser (``dfuse_mem.c``, read for its behaviour; this is our own code), so a
string that works with dfu-util works here with the same sectors:

- the text stops at the first U+0000 (descriptor padding, §3.4);
- ``@NAME`` runs to the first ``/`` and must not be empty;
- a region header is ``/0xHEX/`` (lower-case ``0x``; blanks before the digits are skipped);
- a group is ``COUNT*SIZE<multiplier><type>``: blanks may precede COUNT and SIZE (an AT32F415
  ROM sends ``/ 128*1Kg``), whose digits are ASCII ``0``..``9`` only (other Unicode digits are
  text, as for C's ``%d``); the multiplier is the one character after SIZE: ``B`` bytes, ``K``
  KiB, ``M`` MiB, anything else bytes (a space is the usual byte marker, ``01*016 e``); the
  type is the text up to the next ``,`` or ``/``, one character; a group with no type text takes
  a lower-case type letter in the multiplier place as its type (``01*016e``: 16 bytes, ``e``);
- a group with zero count or size holds no sectors (a SP Racing H7 bootloader ends its string
  with ``0*8Ka``);
- the memory named exactly ``Device Feature`` is type ``e`` whatever its letters say (the
  STM32F4 quirk dfu-util applies);
- a group whose type is not one character, or that has none, is skipped, and parsing ends at
  the first text that is neither ``,GROUP`` nor a new ``/0xHEX/`` region (a trailing ``/`` or
  blanks are ignored without a note).

Where dfu-util would skip or ignore part of a string (or warn about an odd multiplier), the
result carries a note (:attr:`MemoryMap.notes`) saying what was left out, so it is never silent.
Deliberate differences: a group without a count (``016Kg``, sent by MATEKF722SE boards) is read
as one sector with a note, where dfu-util stops reading; a type must be a letter ``a``..``g``
(either case), where dfu-util takes the low three bits of any character. A string that yields no
sector at all raises :class:`FormatError` naming the character position (0-based) and why; a
number with more significant digits than any 32-bit address is refused the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydfuse.errors import FormatError
from pydfuse.layout.memory import KIB, MIB, MemoryMap, MemoryRegion, Sector
from pydfuse.spec import MemoryRights

# A bound on sectors per group so that a corrupt string cannot allocate millions of objects;
# the largest real layout (§3.3, STM32L152D) has 1488 sectors in one group.
MAX_SECTORS = 1 << 16
_BLANKS = " \t\n\v\f\r"  # what C's scanf skips before a number
_REGION = re.compile(rf"/0x[{_BLANKS}]*(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/")
# ASCII digits only: Python's \d also matches other scripts' digits, which C's %d does not read.
_GROUP = re.compile(rf"[{_BLANKS}]*([0-9]+)\*[{_BLANKS}]*([0-9]+)(.)", re.DOTALL)
_COUNTLESS = re.compile(rf"[{_BLANKS}]*([0-9]+)([BKM ]?)([a-gA-G])(?=[,/]|$)")
_TYPE_TEXT = re.compile(r"[^,/]*")
# More significant digits than this is more than any 32-bit count, size or address.
_MAX_DIGITS = 12
_TOO_LARGE = 1 << 48  # what such a number reads as: every bound below refuses it
_MULTIPLIERS = {"B": 1, "K": KIB, "M": MIB}
_TYPE_LETTERS = "abcdefgABCDEFG"


def _number(digits: str) -> int:
    """A decimal number of the string; one too long for any 32-bit value reads as
    :data:`_TOO_LARGE` (Python refuses to convert thousands of digits at all)."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _MAX_DIGITS else _TOO_LARGE


def _quote(text: str, limit: int = 100) -> str:
    """``repr`` of a piece of the string, shortened so that an error stays one readable line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 20]!r}... ({len(text)} characters)"


def _fail(text: str, position: int, what: str) -> FormatError:
    return FormatError(
        f"malformed memory layout {_quote(text)} at position {position}: {what}",
        hint="a layout looks like '@Internal Flash  /0x08000000/06*002Ka,250*002Kg' (§3.1)",
    )


@dataclass
class _Parse:
    """One parse in progress: the text, the cursor and what has been found so far."""

    text: str
    device_feature: bool
    position: int = 0
    regions: list[MemoryRegion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def region(self, address: int) -> None:
        """The groups after a ``/0xADDR/`` header, up to the first text that is not a group."""
        sectors: list[Sector] = []
        counts: list[int] = []
        cursor = address
        while (group := self._group(cursor)) is not None:
            count, size, rights = group
            if count and size:
                sectors.extend(Sector(cursor + i * size, size, rights) for i in range(count))
                counts.append(count)
                cursor += count * size
            if not self.text.startswith(",", self.position):
                break
            self.position += 1
        if sectors:
            self.regions.append(MemoryRegion(address, tuple(sectors), tuple(counts)))

    def _type_end(self, start: int) -> int:
        """Where the type text from ``start`` ends: the next ``,`` or ``/``, or the end."""
        match = _TYPE_TEXT.match(self.text, start)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def _group(self, address: int) -> tuple[int, int, MemoryRights] | None:
        """The group at the cursor (count, size, rights), or None where groups end."""
        start = self.position
        match = _GROUP.match(self.text, start)
        if match is None:
            return self._countless(address)
        count, size = _number(match.group(1)), _number(match.group(2))
        multiplier = match.group(3)
        end = self._type_end(match.end())
        kind = self.text[match.end() : end]
        item = _quote(self.text[start:end].strip(_BLANKS), 40)
        if not kind and multiplier in "abcdefg":
            kind, multiplier = multiplier, " "  # '01*016e': 16 bytes of type e
        if not kind and self.device_feature:
            kind = "e"  # dfu-util forces the type before it looks for one
        if len(kind) != 1:
            what = (
                f"its type {_quote(kind, 30)} is not one letter"
                if kind
                else "it has no type letter"
            )
            self.notes.append(f"group {item} skipped: {what}")
            self.position = end
            return None
        if multiplier not in _MULTIPLIERS and multiplier != " ":
            self.notes.append(
                f"group {item}: {multiplier!r} is not a size multiplier (B, K or M), read as bytes"
            )
        size *= _MULTIPLIERS.get(multiplier, 1)
        rights = self._rights(kind, item, start, address, count, size)
        self.position = end
        return count, size, rights

    def _countless(self, address: int) -> tuple[int, int, MemoryRights] | None:
        """Our extension: ``016Kg`` (no ``COUNT*``) is one sector."""
        match = _COUNTLESS.match(self.text, self.position)
        if match is None:
            return None
        item = _quote(match.group(0).strip(_BLANKS), 40)
        self.notes.append(
            f"group {item} has no count: read as one sector (dfu-util stops reading there)"
        )
        size = _number(match.group(1)) * _MULTIPLIERS.get(match.group(2), 1)
        rights = self._rights(match.group(3), item, self.position, address, 1, size)
        self.position = match.end()
        return 1, size, rights

    def _rights(
        self, kind: str, item: str, start: int, address: int, count: int, size: int
    ) -> MemoryRights:
        if kind not in _TYPE_LETTERS:
            raise _fail(self.text, start, f"group {item} has type {kind!r}, not a letter a..g")
        if count > MAX_SECTORS or address + count * size > 1 << 32:
            what = f"sector group {item} runs past the 32-bit address space"
            raise _fail(self.text, start, what)
        if self.device_feature:
            kind = "e"  # §3.1 / §7 item 5: the F4 'Device Feature' memory is written in place
        # §3.2: the low three bits of the (lower- or upper-case) letter are the rights.
        return MemoryRights(ord(kind) & 7)


def parse_layout(text: str) -> MemoryMap:
    """Parse one layout string, e.g. ``@Internal Flash  /0x08000000/06*002Ka,250*002Kg``."""
    text = text.split("\x00", 1)[0]
    if not text.startswith("@"):
        raise _fail(text, 0, "a layout string starts with '@'")
    slash = text.find("/")
    if slash < 0:
        raise _fail(text, len(text), "no '/0xADDRESS/' after the name")
    if slash == 1:
        raise _fail(text, 1, "no memory name between '@' and '/'")
    name = text[1:slash]
    parse = _Parse(text, device_feature=name == "Device Feature", position=slash)
    while (header := _REGION.match(text, parse.position)) is not None:
        address = int(header.group(1), 16)
        if address >= 1 << 32:
            shown = _quote(f"0x{header.group(1)}", 24)
            raise _fail(text, parse.position, f"address {shown} is beyond 32 bits")
        parse.position = header.end()
        parse.region(address)
    if not parse.regions:
        raise _fail(text, parse.position, _why_empty(parse, slash))
    rest = text[parse.position :]
    if rest.strip(_BLANKS + "/"):
        parse.notes.append(
            f"text from position {parse.position} ({rest[:24]!r}) is not a sector group or a "
            "'/0xADDRESS/' region and was ignored"
        )
    try:
        return MemoryMap(name, tuple(parse.regions), notes=tuple(parse.notes))
    except FormatError as error:
        raise _fail(text, slash, str(error)) from error


def _why_empty(parse: _Parse, slash: int) -> str:
    """Why a string gave no sector at all (the error message of :func:`parse_layout`)."""
    rest = parse.text[parse.position :]
    if parse.position == slash:
        return f"expected '/0xADDRESS/' but found {rest[:16]!r}"
    if parse.notes:
        return parse.notes[0]
    if parse.text[parse.position - 1] == "/":  # nothing was read after the region header
        if not rest:
            return "no sector groups"
        item = re.split("[,/]", rest)[0][:24]
        return f"bad sector group {item!r} (expected COUNT*SIZE<B|K|M| ><a..g>)"
    return "the layout describes no sectors (every group has a zero count or size)"
