"""`check` and `flash` must agree: check_placement reports an error exactly when make_plan
refuses, with the same message; and the checks never raise on arbitrary bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.checks import BoardFacts, check_placement, check_vector_table, preflight
from pydfuse.checks.findings import TargetImage
from pydfuse.errors import PlanError
from pydfuse.formats.image import Image
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.plan import make_plan

MEMORIES = [
    parse_layout("@Internal Flash  /0x08000000/06*002Ka,250*002Kg"),
    parse_layout("@Internal Flash  /0x08000000/12*001Ka,116*001Kg"),
    parse_layout("@F/0x08000000/2*1Kc,2*1Kg/0x08010000/4*1Kg,1*16 e"),
]
PARTS = st.lists(
    st.tuples(st.integers(0x07FFF000, 0x08090000), st.binary(min_size=1, max_size=3000)),
    min_size=1,
    max_size=5,
)


def _image(parts: list[tuple[int, bytes]]) -> Image:
    kept: list[tuple[int, bytes]] = []
    for address, data in sorted(parts):
        if kept and address < kept[-1][0] + len(kept[-1][1]):
            continue
        kept.append((address, data))
    return Image.from_segments(kept)


@given(parts=PARTS)
@pytest.mark.parametrize("memory", MEMORIES, ids=["e-eval", "b-eval", "odd"])
def test_placement_errors_match_plan_refusals(
    memory: MemoryMap, parts: list[tuple[int, bytes]]
) -> None:
    image = _image(parts)
    errors = [f for f in check_placement(image, memory) if f.severity == "error"]
    try:
        make_plan(image, memory, transfer_size=1024)
    except PlanError as error:
        assert errors and str(error) == errors[0].message
        assert error.address == errors[0].address
    else:
        assert errors == []


@given(
    data=st.binary(min_size=0, max_size=128),
    load=st.sampled_from([0x08000000, 0x08003000]),
    sram=st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)),
)
def test_vector_checks_never_raise(data: bytes, load: int, sram: tuple[int, int]) -> None:
    image = Image.from_segments([(load, data)])
    for board in (BoardFacts(((min(sram), max(sram)),)), BoardFacts()):
        for memories in ((MEMORIES[0],), ()):
            findings = check_vector_table(image, load_address=load, board=board, memories=memories)
            assert all(f.severity in ("error", "warning", "info") for f in findings)
            if len(data) < 8:
                assert [f.code for f in findings] == ["vector.missing"]
    if data:  # the whole pre-flight never raises either, with or without board facts
        for ram in (sram, None):
            report = preflight(
                [TargetImage(0, "x", image)], {0: MEMORIES[0], 1: MEMORIES[2]}, sram=ram
            )
            assert report.targets[0].size == len(data)
