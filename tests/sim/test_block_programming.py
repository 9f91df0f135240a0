"""Whole-block programming gives exactly what programming one unit after the other gives.

``Memory.program`` checks and writes a block at once (issue #11). The reference below is the
plain per-unit algorithm (§5.4 F1 half-words, §5.5/§6.3/§6.4 clear-bits, overwrite), written
against the memory's back door only; hypothesis drives both through random sequences of loads,
programs and erases on memories of every rule, including odd geometries whose edge units stick
out of the memory, and compares status, time, units, failure address and every byte.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.sim.flash import ERASED, Memory, OpResult
from pydfuse.sim.profiles import AltProfile, FlashTiming, ProgramRule, SectorGroup
from pydfuse.spec import MemoryRights, Status

_RW = MemoryRights.READABLE | MemoryRights.ERASABLE | MemoryRights.WRITABLE
_RO = MemoryRights.READABLE


def reference_program(memory: Memory, address: int, data: bytes) -> OpResult:
    """Program unit by unit, stopping at the first unit the flash refuses."""
    span_ok = memory.contains(address, len(data))
    writable = all(
        memory.sector_at(a) is not None
        and (not memory.enforce_readonly or memory.sector_at(a).rights & MemoryRights.WRITABLE)  # type: ignore[union-attr]
        for a in range(address, address + max(len(data), 1))
    )
    if not span_ok or not writable:
        return OpResult(Status.ERR_TARGET, 0.0, address=address)
    if not data:  # nothing to program (hypothesis found b"" at an odd address: no unit is tried)
        return OpResult(Status.OK, 0.0, 0)
    unit = memory.alt.timing.program_unit_bytes
    unit_s = memory.alt.timing.program_unit_us / 1e6
    first = address - address % unit
    last = -(-(address + len(data)) // unit) * unit
    written = 0
    for start in range(first, last, unit):
        size = unit
        lo, hi = max(start, address), min(start + unit, address + len(data))
        if not memory.contains(start, unit):
            start, size = lo, hi - lo
        old = memory.read(start, size)
        rule = memory.alt.program_rule
        new = bytearray(b"\xff" * size if rule == "halfword-erased" else old)
        new[lo - start : hi - start] = data[lo - address : hi - address]
        written += 1
        refused = False
        if rule == "halfword-erased":
            refused = any(
                old[i : i + 2] != b"\xff\xff" and new[i : i + 2] != b"\0\0"
                for i in range(0, size - 1, 2)
            )
        elif rule == "clear-bits":
            refused = any(o & n != n for o, n in zip(old, new, strict=True))
        if refused:
            return OpResult(Status.ERR_PROG, written * unit_s, written - 1, address=start)
        memory.load(start, bytes(new))
    return OpResult(Status.OK, written * unit_s, written)


def _alt(rule: ProgramRule, unit: int, groups: tuple[SectorGroup, ...]) -> AltProfile:
    sizes = {g.size for g in groups}
    timing = FlashTiming(unit, 52.5, MappingProxyType(dict.fromkeys(sizes, 30.0)), 30.0)
    return AltProfile(
        layout="@test", descriptor_length=0, memory_kind="internal", timing=timing,
        sectors=groups, program_rule=rule,
    )  # fmt: skip


# Memories of every rule; the odd ones have edges that are not unit-aligned and a read-only
# sector, so trimmed edge units and refused spans are exercised.
ALTS = {
    "f1 half-words": _alt(
        "halfword-erased",
        2,
        (SectorGroup(0x1000, 2, 64, _RO), SectorGroup(0x1080, 6, 64, _RW)),
    ),
    "f1 odd edges": _alt("halfword-erased", 2, (SectorGroup(0x2001, 3, 37, _RW),)),
    "half-word rule, 4-byte units": _alt("halfword-erased", 4, (SectorGroup(0x3002, 4, 30, _RW),)),
    "spi pages": _alt("clear-bits", 16, (SectorGroup(0x0, 8, 64, _RW),)),
    "nor odd edges": _alt("clear-bits", 4, (SectorGroup(0x4003, 5, 21, _RW),)),
    "option bytes": _alt("overwrite", 4, (SectorGroup(0x5000, 1, 16, _RW),)),
}


@st.composite
def sessions(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, bytes]]]:
    name = draw(st.sampled_from(sorted(ALTS)))
    alt = ALTS[name]
    lo = alt.sectors[0].address
    hi = alt.sectors[-1].end
    address = st.integers(lo - 3, hi + 2)
    small_bytes = st.one_of(
        st.binary(min_size=0, max_size=80),
        st.builds(lambda n, b: bytes([b]) * n, st.integers(1, 80), st.sampled_from([0, 0xFF])),
    )
    op = st.one_of(
        st.tuples(st.just("program"), address, small_bytes),
        st.tuples(st.just("load"), address, small_bytes),
        st.tuples(st.just("erase"), address, st.just(b"")),
    )
    return name, draw(st.lists(op, min_size=1, max_size=12))


@given(sessions())
def test_block_program_matches_unit_by_unit_reference(
    session: tuple[str, list[tuple[str, int, bytes]]],
) -> None:
    name, ops = session
    fast, slow = Memory(ALTS[name]), Memory(ALTS[name])
    start, end = fast.sectors[0].address, fast.sectors[-1].end
    for kind, address, data in ops:
        if kind == "program":
            assert fast.program(address, data) == reference_program(slow, address, data)
        elif kind == "load" and fast.contains(address, len(data)):
            fast.load(address, data)
            slow.load(address, data)
        elif kind == "erase":
            assert fast.erase(address) == slow.erase(address)
        assert fast.read(start, end - start) == slow.read(start, end - start)


def test_failing_halfword_in_the_middle_of_a_block_stops_there() -> None:
    memory = Memory(ALTS["f1 half-words"])
    memory.load(0x1080 + 10, b"\x12\x34")  # half-word 5 of the block is programmed
    result = memory.program(0x1080, bytes(range(1, 21)))
    assert (result.status, result.units, result.address) == (Status.ERR_PROG, 5, 0x1080 + 10)
    assert result.duration_s == pytest.approx(6 * 52.5e-6)
    assert memory.read(0x1080, 12) == bytes(range(1, 11)) + b"\x12\x34"
    assert memory.read(0x1080 + 12, 8) == bytes([ERASED]) * 8  # nothing after the failure


def test_zero_halfwords_over_programmed_ones_and_clear_bits_blocks() -> None:
    f1 = Memory(ALTS["f1 half-words"])
    f1.load(0x1080, b"\x12\x34" * 32)
    assert f1.program(0x1080, bytes(64)).ok  # §5.4: 0x0000 may always be written
    nor = Memory(ALTS["nor odd edges"])
    nor.load(0x4004, b"\xf0" * 40)
    assert nor.program(0x4004, b"\x30" * 40).ok  # only clears bits
    refused = nor.program(0x4004, b"\x30" * 20 + b"\x31" + b"\x30" * 19)
    assert (refused.status, refused.address, refused.units) == (Status.ERR_PROG, 0x4004 + 20, 5)
