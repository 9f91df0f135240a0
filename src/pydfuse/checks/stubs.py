"""Where an application was linked, told by its code when its vectors cannot tell
(layer: checks). May import ``pydfuse.formats``. Pure.

:mod:`pydfuse.checks.vectors` sees an application linked for another address than the one it
is loaded at when its handlers point outside the image. One linked D bytes *higher*, and larger
than D (the usual case: a 64 KiB application linked for 0x0800C000 and placed at 0x08008000),
still has every handler inside itself. Two things in its code tell, checked against the real
firmware of pydfuse's DFU corpus (MicroPython, OpenMV, ST's Cube samples, ...) and gcc builds at
-O0..-O2 for Cortex-M0/M3/M4 (no false alarm where each is linked, every shifted copy caught):

* **stub handlers**: unused handlers are stubs — ``b .`` (the CMSIS ``Default_Handler`` most
  device vectors share, Cube's ``while (1)`` fault handlers) or ``bx lr`` (empty SVC/PendSV
  handlers), after a frame-pointer prologue at gcc's -O0 — and stubs are position-independent
  code. Loaded where it was linked, an image has them where its vectors point; linked D bytes
  higher, it has them D bytes lower. Counted over the system and device vectors, a self-loop
  once per vector using it (the default handler weighs what it serves);
* **addresses past its end**: code and constant tables hold absolute addresses of the
  image's own code and data (literal pools, function pointers, string tables). Linked D bytes
  higher, those that name its last D bytes point past the end of the image as loaded: many
  distinct ones, densely up to about D (its initialised data at the very end is named only
  once, so D is then an estimate). A correctly placed image names few addresses past its end
  (a settings page, a file system: a handful).

D is tried in steps of 1 KiB (bootloader sizes, sector starts) up to 256 KiB.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable

from pydfuse.formats.image import Image

# (code, whether it is a self-loop): gcc's output for `while (1) {}` and `{}` at -O1..-O3/-Os
# and at -O0 (ARMv7-M and ARMv6-M prologues), checked with arm-none-eabi-gcc 13.
STUBS: tuple[tuple[bytes, bool], ...] = (
    (struct.pack("<H", 0xE7FE), True),  # b .
    (struct.pack("<3H", 0xB480, 0xAF00, 0xE7FE), True),  # push {r7}; add r7, sp, #0; b .
    (struct.pack("<3H", 0xB580, 0xAF00, 0xE7FE), True),  # push {r7, lr}; ... (Cortex-M0)
    (struct.pack("<H", 0x4770), False),  # bx lr
    (struct.pack("<6H", 0xB480, 0xAF00, 0xBF00, 0x46BD, 0xBC80, 0x4770), False),
    (struct.pack("<5H", 0xB580, 0xAF00, 0x46C0, 0x46BD, 0xBD80), False),  # Cortex-M0
)
LINK_STEP = 0x400  # link addresses differ by whole KiB (bootloader sizes, sector starts)
MAX_SHIFT = 0x40000
FIRST_CODE = 0x40  # no handler lies inside the 16 system vectors
TABLE_LIMIT = 0x400  # a vector table holds at most 16 + 240 entries
MANY_POINTERS = 48  # distinct addresses past the end: correct images in the corpus hold <= 37
DENSE_GAP = 0x4000  # addresses of one image's code and constants lie closer together


def stub_at(image: Image, address: int) -> bool | None:
    """True for a self-loop stub at ``address``, False for a returning one, None for none."""
    for segment in image:
        if segment.address <= address < segment.end:
            offset = address - segment.address
            for code, loops in STUBS:
                if segment.data.startswith(code, offset):
                    return loops
            return None
    return None


def _inside(image: Image, address: int) -> bool:
    return any(s.address <= address < s.end for s in image)


def _word(image: Image, address: int) -> int | None:
    for s in image:
        if s.address <= address and address + 4 <= s.end:
            value: int = struct.unpack_from("<I", s.data, address - s.address)[0]
            return value
    return None


def handler_uses(image: Image, table: int, handlers: list[int]) -> Counter[int]:
    """How many vectors use each handler: ``handlers`` (the system vectors after the reset
    vector, code addresses) and the device (IRQ) vectors that follow the 16 system ones —
    words that are 0 or Thumb addresses near the handlers, up to the first that is neither."""
    uses = Counter(handlers)
    if not handlers:
        return uses
    span = image.end - image.start
    low, high = min(handlers) - span, max(handlers) + span
    for address in range(table + FIRST_CODE, table + TABLE_LIMIT, 4):
        value = _word(image, address)
        if value is None or (value and not (value & 1 and low <= value < high)):
            break
        if value:
            uses[value & ~1] += 1
    return uses


def stub_weight(image: Image, uses: Counter[int], shift: int) -> tuple[int, int, bool]:
    """(weight, distinct handlers, whether the only one is a self-loop several vectors use) of
    the stubs found ``shift`` bytes below the handlers: a self-loop weighs the number of
    vectors using it, a return 1."""
    weight = distinct = 0
    shared_loop = False
    for target, count in uses.items():
        loops = stub_at(image, target - shift)
        if loops is None:
            continue
        distinct += 1
        weight += count if loops else 1
        shared_loop = loops and count >= 2
    return weight, distinct, shared_loop and distinct == 1


def _convincing(weight: int, distinct: int, shared_loop: bool, placed: int, k: int) -> bool:
    """Whether stubs found at a shift outweigh those where the vectors point, and more than
    chance gives among ``k`` distinct handlers (a `bx lr` ends many functions)."""
    return weight >= max(2 * placed + 2, 4 + k // 8) and (distinct >= 2 or shared_loop)


def likeliest_base(image: Image, table: int, uses: Counter[int], bases: list[int]) -> int | None:
    """Of the candidate link addresses ``bases``, the one under which the most stub handlers
    lie where the vectors say (None when none has any): for messages, where the handlers'
    destinations alone leave several possible."""
    best, best_weight = None, 0
    for base in bases:
        weight = stub_weight(image, uses, base - table)[0]
        if weight > best_weight:
            best, best_weight = base, weight
    return best


def _pointers_past_end(image: Image, limit: int) -> list[int]:
    """The distinct word-aligned values in ``image`` that lie in [end, end + limit), sorted."""
    end, found = image.end, set()
    for segment in image:
        skip = (-segment.address) % 4
        count = (len(segment.data) - skip) // 4
        for value in struct.unpack_from(f"<{count}I", segment.data, skip):
            if end <= value < end + limit:
                found.add(value)
    return sorted(found)


def higher_link_base(
    image: Image, table: int, reset: int, handlers: list[int]
) -> tuple[int, str, bool] | None:
    """``(link address, how it shows, whether the address is an estimate)`` when the image
    whose vector table is at ``table`` was linked for a higher address (see the module
    docstring); None when nothing says so.
    ``reset`` and ``handlers`` (the system vectors after the reset vector) are code addresses,
    Thumb bit cleared, all inside ``image``."""
    uses = handler_uses(image, table, handlers)
    lowest = min(reset, *uses) if uses else reset
    top = min(MAX_SHIFT, lowest - table - FIRST_CODE)
    shifts = [
        d
        for d in range(LINK_STEP, top + 1, LINK_STEP)
        if all(_inside(image, t - d) for t in (reset, *uses))
    ]
    placed = stub_weight(image, uses, 0)[0]
    scored = [(stub_weight(image, uses, d), d) for d in shifts]
    best = max(scored, key=lambda item: item[0][0], default=None)
    if best is not None and _convincing(*best[0], placed, len(uses)):
        shift = best[1]
        why = f", but its stub handlers (b . / bx lr) lie 0x{shift:x} bytes lower"
        return table + shift, why, False
    return _by_pointers(image, table, shifts, lambda d: stub_weight(image, uses, d)[0] >= placed)


def _by_pointers(
    image: Image, table: int, shifts: list[int], agrees: Callable[[int], bool]
) -> tuple[int, str, bool] | None:
    """The link address told by many addresses past the image's end (``agrees``: the stub
    handlers do not contradict that shift). They name its code and constants up to about the
    end of what it would span linked there: the shift is the first step past the dense run of
    them (a few far ones, a settings page, do not count)."""
    if not shifts:
        return None
    past = _pointers_past_end(image, shifts[-1])
    if len(past) < MANY_POINTERS:
        return None
    last = past[0]
    for value in past[1:]:
        if value - last > DENSE_GAP:
            break
        last = value
    reach = last - image.end + 1
    shift = next((d for d in shifts if d >= reach), None)
    if shift is None or not agrees(shift):
        return None
    why = f", and {len(past)} addresses it holds lie past its end (up to 0x{last:08x})"
    return table + shift, why, True
