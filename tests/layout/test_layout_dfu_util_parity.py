"""Our layout parser against an executable statement of dfu-util 0.11's rules
(``support.dfu_util_rules``): on any string, the same sectors, or a documented difference."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import FormatError
from pydfuse.layout import parse_layout
from support import dfu_util_rules

# What we refuse although dfu-util reads something (parse.py's docstring lists them).
REFUSALS = ("not a letter a..g", "beyond 32 bits", "32-bit address space", "regions overlap")

BLANK = st.sampled_from(["", "", "", " ", "  ", "\t"])
GROUP = st.builds(
    lambda blank1, count, star, blank2, size, mult, kind: (
        f"{blank1}{count}{star}{blank2}{size}{mult}{kind}"
    ),
    BLANK,
    st.integers(0, 300),
    st.sampled_from(["*", "*", "*", "*", ""]),
    BLANK,
    st.integers(0, 2100),
    st.sampled_from(["K", "K", "B", "M", " ", "", "k", "g", "e", "a", "x", ","]),
    st.sampled_from(["g", "a", "e", "G", "", "gg", "g ", "z", "h"]),
)
REGION = st.builds(
    lambda prefix, address, groups, sep: f"/{prefix}{address:x}/" + sep.join(groups),
    st.sampled_from(["0x", "0x", "0x", "0x ", "0X", "0x0x", "x"]),
    st.integers(0, 0x9FFFFFFF),
    st.lists(GROUP, min_size=0, max_size=5),
    st.sampled_from([",", ",", ",", ",,"]),
)
STRINGS = st.one_of(
    st.builds(
        lambda name, regions, tail: "@" + name + "".join(regions) + tail,
        st.sampled_from(["Internal Flash  ", "Device Feature", "X", ""]),
        st.lists(REGION, min_size=0, max_size=3),
        st.sampled_from(["", "", "/", " ", "\x00junk", ",", "/0x1"]),
    ),
    st.text(alphabet="@/0x12345689aKMB *,ge\u0663", max_size=40).map(lambda t: "@" + t),
)


def _sorted(sectors: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    return sorted(sectors)


@given(STRINGS)
def test_same_sectors_as_dfu_util(text: str) -> None:
    expected = dfu_util_rules.sectors(text)
    try:
        memory = parse_layout(text)
    except FormatError as error:
        message = str(error)
        assert not expected or any(words in message for words in REFUSALS), (
            f"{text!r}: we refuse ({message}) but dfu-util reads {len(expected)} sectors"
        )
        return
    assert expected is not None
    ours = [(s.address, s.size, int(s.rights)) for s in memory.sectors]
    if any("has no count" in note for note in memory.notes):
        # Our one extension: dfu-util stops at the first group without a count.
        assert set(expected) <= set(ours), text
    else:
        assert _sorted(ours) == _sorted(expected), text


def test_the_oracle_reads_the_two_strings_of_issue_9() -> None:
    at32 = dfu_util_rules.sectors("@Internal Flash  /0x08000000/ 128*1Kg")
    assert at32 == [(0x08000000 + i * 1024, 1024, 7) for i in range(128)]
    h7 = dfu_util_rules.sectors("@External Flash /0x90000000/111*8Kg,16*8Kg,1*8Kg,128*8Kg,0*8Ka")
    assert h7 == [(0x90000000 + i * 8192, 8192, 7) for i in range(256)]
