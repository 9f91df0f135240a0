"""Delta flashing leaves every board bit-identical to a full flash (issue #11's safety promise).

Property: for random prior contents (erased, already final, final with a flipped bit, stale
bytes beside the image, garbage) and random images (several elements per sector, gaps, odd
addresses, 0xFF runs, several memories in one .dfu), "delta flash then read back" equals "full
flash then read back" on every memory of the board, on each virtual board profile that can read
back. Two boards start from the same contents; one is flashed with ``delta=True`` (sometimes
with a one-byte read glitch armed), one with ``delta=False``; both must succeed (or fail) alike
and end holding the same bytes everywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import DfuseError
from pydfuse.formats import DfuseFile, DfuseTarget, Segment
from pydfuse.ops import DeviceSelector, flash
from pydfuse.sim.board import VirtualBoard
from support.boards import make_rig

ANY = DeviceSelector()


@dataclass(frozen=True)
class Window:
    """Sectors of one memory an image may touch (plus one untouched sector on each side)."""

    alt: int
    start: int
    sector: int
    count: int


# Windows start past read-only loader pages, and keep clear of the bytes a vector table check
# would recognise (the first word of random data is never an SRAM address below).
WINDOWS = {
    "stm3210e-eval": (
        Window(0, 0x08003000 + 0x800, 0x800, 6),
        Window(1, 0x00010000, 0x10000, 2),
        Window(2, 0x64010000, 0x10000, 2),
    ),
    "stm3210e-eval-quirks": (Window(0, 0x08003000 + 0x800, 0x800, 6),),
    "stm32f4-rom": (Window(0, 0x08004000, 0x4000, 3),),
    "stm32f4-rom-quirks": (Window(0, 0x08004000, 0x4000, 3),),
    "stm3210b-eval": (Window(0, 0x08003000 + 0x400, 0x400, 6), Window(1, 0x00010000, 0x10000, 2)),
    "stm32f072-rom": (Window(0, 0x08000800, 0x800, 5),),
}
Targets = list[tuple[Window, tuple[Segment, ...]]]
Scenario = tuple[str, Targets, list[list[str]], int, int | None]
SHAPES = ("final", "erased", "flipped bit", "stale beside image", "garbage")


def _data(draw: st.DrawFn, length: int) -> bytes:
    kind = draw(st.sampled_from(("random", "ff", "00", "ff with holes")))
    if kind == "random":
        data = bytearray(draw(st.binary(min_size=length, max_size=length)))
    elif kind == "ff":
        data = bytearray(b"\xff" * length)
    elif kind == "00":
        data = bytearray(length)
    else:
        data = bytearray(b"\xff" * length)
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, length - 1))] = draw(st.integers(0, 0xFE))
    if len(data) >= 4 and 0x10 <= data[3] <= 0x3F:  # never an SRAM-looking first word
        data[3] = 0x55
    return bytes(data)


@st.composite
def elements(draw: st.DrawFn, window: Window) -> tuple[Segment, ...]:
    """1-4 non-overlapping elements inside ``window`` (several may share a sector)."""
    size = window.sector * window.count
    cuts = sorted(set(draw(st.lists(st.integers(0, size), min_size=2, max_size=8))))
    pairs = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a]
    if not pairs:
        start = draw(st.integers(0, size - 1))
        pairs = [(start, min(size, start + draw(st.integers(1, 64))))]
    return tuple(
        Segment(window.start + a, _data(draw, b - a)) for a, b in pairs[: draw(st.integers(1, 4))]
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    profile = draw(st.sampled_from(sorted(WINDOWS)))
    windows = WINDOWS[profile]
    chosen = draw(
        st.lists(st.sampled_from(windows), min_size=1, max_size=len(windows), unique=True)
    )
    targets = [(w, draw(elements(w))) for w in sorted(chosen, key=lambda w: w.alt)]
    shapes = [[draw(st.sampled_from(SHAPES)) for _ in range(w.count + 2)] for w, _ in targets]
    first = targets[0][0]
    glitch = draw(st.none() | st.integers(0, first.sector * first.count - 1))
    return profile, targets, shapes, draw(st.integers(0, 2**32)), glitch


def _final(window: Window, segments: tuple[Segment, ...], address: int) -> bytearray:
    out = bytearray(b"\xff" * window.sector)
    for seg in segments:
        lo, hi = max(seg.address, address), min(seg.end, address + window.sector)
        if lo < hi:
            out[lo - address : hi - address] = seg.data[lo - seg.address : hi - seg.address]
    return out


def _prior(board: VirtualBoard, targets: Targets, shapes: list[list[str]], seed: int) -> None:
    """Load the prior contents ``shapes`` say into every sector around each image
    (the same bytes for the same ``seed``)."""
    rng = random.Random(seed)
    for (window, segments), sector_shapes in zip(targets, shapes, strict=True):
        memory = board.memory(window.alt)
        for i, shape in enumerate(sector_shapes):
            address = window.start + (i - 1) * window.sector
            if shape == "erased":
                continue
            data = _final(window, segments, address)
            if shape == "flipped bit":
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif shape == "stale beside image":
                holes = [k for k in range(len(data)) if data[k] == 0xFF] or [0]
                data[rng.choice(holes)] = rng.randrange(0xFF)
            elif shape == "garbage":
                data = bytearray(rng.randbytes(len(data)))
            memory.load(address, bytes(data))


def _everything(board: VirtualBoard) -> list[list[tuple[int, bytes]]]:
    return [list(board.memory(alt).used_sectors()) for alt in range(len(board.profile.alternates))]


def _flash(
    scenario: Scenario, *, delta: bool, glitch: bool = False
) -> tuple[object, list[list[tuple[int, bytes]]]]:
    """(outcome, every memory's contents) after flashing the scenario's .dfu; ``glitch``: with
    the scenario's read glitch armed (one read of one byte returns it inverted)."""
    profile, targets, shapes, seed, glitch_at = scenario
    board = VirtualBoard(profile)
    _prior(board, targets, shapes, seed)
    if glitch and glitch_at is not None:
        board.faults.garble_next_read(targets[0][0].start + glitch_at)
    rig = make_rig(board)
    dfu = DfuseFile(targets=tuple(DfuseTarget(w.alt, elements=segs) for w, segs in targets))
    try:
        result = flash(rig.env, ANY, dfu, delta=delta)
        outcome: object = (result.verified, [t.alt for t in result.targets])
    except DfuseError as error:
        outcome = type(error).__name__
    return outcome, _everything(board)


@given(scenarios())
def test_delta_flash_leaves_the_board_exactly_as_a_full_flash(scenario: Scenario) -> None:
    full = _flash(scenario, delta=False)
    delta = _flash(scenario, delta=True, glitch=True)
    if delta[1] != full[1]:
        _only_a_glitch_that_read_the_final_byte(scenario, full[1], delta[1])
    # A read glitch may be caught by verify (said, not hidden); nothing else differs.
    assert delta[0] == full[0] or (scenario[4] is not None and delta[0] == "VerifyError")


def _only_a_glitch_that_read_the_final_byte(
    scenario: Scenario, full: list[list[tuple[int, bytes]]], delta: list[list[tuple[int, bytes]]]
) -> None:
    """The one difference a single compare read cannot see (a known limit, accepted by issue
    #11's cost targets: a second read of every sector would double the re-flash time): the
    glitch inverted exactly the one byte in which the board differed from the image, so the
    sector read back as final and was skipped, and nothing else in that memory was written (a
    write would have had verify re-read it)."""
    _, targets, _, _, glitch_at = scenario
    assert glitch_at is not None, "delta and full flash differ without a read glitch"
    window = targets[0][0]
    where = window.start + glitch_at
    full_mem, delta_mem = dict(full[window.alt]), dict(delta[window.alt])
    sector = where - (where - window.start) % window.sector
    want = full_mem.get(sector, b"\xff" * window.sector)
    have = delta_mem.get(sector, b"\xff" * window.sector)
    diffs = [i for i in range(window.sector) if want[i] != have[i]]
    assert [sector + i for i in diffs] == [where] and have[where - sector] ^ 0xFF == want[
        where - sector
    ]
    others = {a: b for a, b in full_mem.items() if a != sector}
    assert others == {a: b for a, b in delta_mem.items() if a != sector}
    assert [m for i, m in enumerate(full) if i != window.alt] == [
        m for i, m in enumerate(delta) if i != window.alt
    ]
