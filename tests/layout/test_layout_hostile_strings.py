"""Layout strings no real device sends, read as dfu-util 0.11 reads them or refused with a
FormatError: digits other than ASCII 0-9 are no numbers (C's ``%d`` reads ASCII digits only),
and a number too long for any address is one clean error, never a ValueError traceback."""

from __future__ import annotations

import pytest

from pydfuse.errors import FormatError
from pydfuse.layout import parse_layout
from support import dfu_util_rules

ARABIC_ONE, ARABIC_THREE = "\u0661", "\u0663"  # Unicode decimal digits (category Nd)


@pytest.mark.parametrize(
    "text",
    [
        f"@Flash/0x08000000/{ARABIC_ONE}*1Kg",
        f"@Flash/0x08000000/1*{ARABIC_ONE}Kg",
        f"@Flash/0x08000000/{ARABIC_ONE}Kg",  # a count-less group of our extension
    ],
)
def test_non_ascii_digits_are_not_numbers(text: str) -> None:
    assert not dfu_util_rules.sectors(text)
    with pytest.raises(FormatError, match="malformed memory layout"):
        parse_layout(text)


def test_parsing_stops_at_a_group_with_non_ascii_digits() -> None:
    text = f"@Flash/0x08000000/2*1Kg,{ARABIC_THREE}*1Kg"
    memory = parse_layout(text)
    assert [(s.address, s.size) for s in memory.sectors] == [(0x08000000, 1024), (0x08000400, 1024)]
    assert [(a, s) for a, s, _ in dfu_util_rules.sectors(text) or []] == [
        (0x08000000, 1024),
        (0x08000400, 1024),
    ]
    assert any("was ignored" in note for note in memory.notes)


@pytest.mark.parametrize(
    "text",
    [
        "@Flash/0x08000000/" + "1" * 5000 + "*1Kg",
        "@Flash/0x08000000/1*" + "1" * 5000 + "Kg",
        "@Flash/0x08000000/" + "1" * 5000 + "Kg",
        "@Flash/0x" + "1" * 5000 + "/1*1Kg",
    ],
)
def test_a_number_of_thousands_of_digits_is_a_short_format_error(text: str) -> None:
    with pytest.raises(FormatError, match="malformed memory layout") as info:
        parse_layout(text)
    assert len(str(info.value)) < 400  # one readable line, not the whole string


def test_leading_zeros_are_read_as_dfu_util_reads_them() -> None:
    text = "@Flash/0x08000000/" + "0" * 5000 + "1*1Kg"
    assert [(s.address, s.size) for s in parse_layout(text).sectors] == [(0x08000000, 1024)]
