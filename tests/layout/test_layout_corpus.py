"""The corpus of real layout strings (tests/data/layout_strings.json, each with its source):
what dfu-util 0.11's rules make of every string is written down in the corpus, the executable
statement of those rules (support.dfu_util_rules) agrees, and pydfuse's parser gives exactly
those sectors, with nothing noted as skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.layout import parse_layout
from support import dfu_util_rules

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "layout_strings.json").read_text())
ENTRIES: list[dict[str, Any]] = CORPUS["strings"]
TYPES = "_abcdefg"


def _expected(entry: dict[str, Any]) -> list[tuple[int, int, int]]:
    out = []
    for start, count, size, letter in entry["dfu_util_segments"]:
        address = int(start, 16)
        out += [(address + i * size, size, TYPES.index(letter)) for i in range(count)]
    return sorted(out)


def test_the_corpus_is_large_and_sourced() -> None:
    assert len(ENTRIES) >= 50
    assert len({e["string"] for e in ENTRIES}) == len(ENTRIES)
    assert all(e["source"] and e["device"] for e in ENTRIES)
    assert sum(e["kind"] == "rom" for e in ENTRIES) >= 15


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["string"])
def test_dfu_util_rules_give_the_recorded_segments(entry: dict[str, Any]) -> None:
    segments = dfu_util_rules.segments(entry["string"])
    assert segments is not None
    recorded = [
        (int(start, 16), count, size, letter)
        for start, count, size, letter in entry["dfu_util_segments"]
    ]
    assert [(s.start, len(s.sectors), s.pagesize, TYPES[s.memtype]) for s in segments] == recorded


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["string"])
def test_pydfuse_reads_the_same_sectors(entry: dict[str, Any]) -> None:
    memory = parse_layout(entry["string"])
    sectors = [(s.address, s.size, int(s.rights)) for s in memory.sectors]
    assert sectors == _expected(entry)
    assert memory.notes == ()
    assert parse_layout(memory.to_string()) == memory
