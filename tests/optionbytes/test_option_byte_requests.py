"""FIELD=VALUE requests: the words the manuals use, write protection in units, the diff, and
one-line refusals for anything else."""

from __future__ import annotations

import pytest

from pydfuse.errors import OptionBytesError
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.optionbytes import (
    FAMILIES,
    Decoded,
    Family,
    apply_assignments,
    decode,
    diff,
    encode,
    parse_assignments,
    permanent_pcrop,
    protected,
    units_text,
)

F4 = FAMILIES["stm32f2-f4"]
F4_FACTORY = bytes.fromhex("ffaa0055ffaa0055ffff0000ffff0000")
F4_FLASH = parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
F411_FLASH = parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg")
F0 = FAMILIES["stm32f0"]
F0_FACTORY = bytes.fromhex("aa55ff00ff00ff00ff00ff00ff00ff00")
F0_FLASH = parse_layout("@Internal Flash  /0x08000000/064*0002Kg")
G4 = FAMILIES["stm32g4"]
G4_FLASH = parse_layout("@Internal Flash  /0x08000000/64*02Kg")


def _set(family: Family, raw: bytes, *texts: str, flash: MemoryMap | None = None) -> Decoded:
    # F405 blocks read SPRMOD 1 (unused there): their write protection is named as such
    mode = "write-protection" if family is F4 else None
    return decode(
        family,
        apply_assignments(decode(family, raw), parse_assignments(texts), flash, wrp_mode=mode),
    )


@pytest.mark.parametrize(("text", "rdp", "level"), [("0", 0xAA, 0), ("1", 0xBB, 1), ("2", 0xCC, 2)])
def test_rdp_levels(text: str, rdp: int, level: int) -> None:
    after = _set(F4, F4_FACTORY, f"rdp={text}")
    assert (after.rdp, after.rdp_level) == (rdp, level)
    assert not after.problems()


def test_named_values_and_aliases() -> None:
    after = _set(F4, F4_FACTORY, "bor=1", "wdg_sw=hardware", "nRST_STOP=reset")
    assert after.value("bor_lev") == 0b10  # "1" is BOR level 1, not the raw value 1
    assert after.value("wdg_sw") == 0 and after.value("nrst_stop") == 0
    assert after.value("nrst_stdby") == 1 and after.rdp == 0xAA


def test_f4_write_protection_by_sector_and_diff() -> None:
    before = decode(F4, F4_FACTORY)
    raw = apply_assignments(before, [("wrp", "0-1")], F4_FLASH, wrp_mode="write-protection")
    after = decode(F4, raw)
    prot = protected(after, F4_FLASH)
    assert prot.units == (0, 1) and prot.ranges == ((0x08000000, 0x08008000),)
    changes = {c.name: (c.before, c.after) for c in diff(before, raw, F4_FLASH)}
    assert changes == {"nwrp": ("0xFFF", "0xFFC"), "wrp": ("none", "0-1")}


def test_wrp_all_on_a_smaller_f4_keeps_the_bits_of_missing_sectors() -> None:
    after = _set(F4, F4_FACTORY, "wrp=all", flash=F411_FLASH)
    assert after.value("nwrp") == 0xF00  # sectors 0-7 protected, bits 8-11 untouched
    with pytest.raises(OptionBytesError, match="sector 8 does not exist"):
        _set(F4, F4_FACTORY, "wrp=8", flash=F411_FLASH)


def test_f0_write_protection_in_4k_blocks() -> None:
    after = _set(F0, F0_FACTORY, "wrp=0,31", flash=F0_FLASH)
    assert (after.value("wrp0"), after.value("wrp3")) == (0xFE, 0x7F)
    assert protected(after, F0_FLASH).ranges == (
        (0x08000000, 0x08001000),
        (0x0801F000, 0x08020000),
    )
    assert not after.problems()  # complements written with the values


def test_g4_write_protection_as_two_page_ranges() -> None:
    raw = decode(G4, bytes(48))  # any block: only the WRP registers are rewritten
    after = decode(G4, apply_assignments(raw, [("wrp", "0-3,10-11")], G4_FLASH))
    assert protected(after, G4_FLASH).units == (0, 1, 2, 3, 10, 11)
    assert (after.value("wrp1a_strt"), after.value("wrp1a_end")) == (0, 3)
    none = decode(G4, apply_assignments(after, [("wrp", "none")], G4_FLASH))
    assert protected(none, G4_FLASH).units == ()
    with pytest.raises(OptionBytesError, match="at most 2 page ranges"):
        apply_assignments(after, [("wrp", "0,2,4")], G4_FLASH)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["rdp"], "is not FIELD=VALUE"),
        (["rdp=1", "RDP=0"], "given twice"),
        (["colour=red"], "has no option field 'colour'"),
        (["bor=low"], "bor_lev takes one of: 3, 2, 1, off"),
        (["wdg_sw=maybe"], "expected hardware, software, 0, 1"),
        (["wrp=3-1"], "runs backwards"),
        (["wrp=first"], "is not a list of units"),
        (["data0=0x100"], "does not fit in 8 bits"),
    ],
)
def test_bad_requests_are_refused_in_one_line(texts: list[str], message: str) -> None:
    family, raw, flash = (
        (F0, F0_FACTORY, F0_FLASH) if "data0" in texts[0] else (F4, F4_FACTORY, F4_FLASH)
    )
    mode = "write-protection" if family is F4 else None
    with pytest.raises(OptionBytesError, match=message):
        apply_assignments(decode(family, raw), parse_assignments(texts), flash, wrp_mode=mode)


def test_f1_refuses_level_2() -> None:
    f1 = FAMILIES["stm32f1-cl"]
    raw = bytes.fromhex("a55aff00ff00ff00ff00ff00ff00ff00")
    with pytest.raises(OptionBytesError, match="no read-protection level 2"):
        apply_assignments(decode(f1, raw), [("rdp", "2")], None)


def test_units_text() -> None:
    assert units_text([0, 1, 2, 3, 7, 9, 10]) == "0-3,7,9-10"
    assert units_text([]) == "none"


@pytest.mark.parametrize(
    "pair",
    ["7f00", "ffff"],  # USER with a bad complement (loads 0xFF); USER erased (loads 0xFF)
)
def test_f0_request_writes_every_byte_as_the_chip_will_store_it(pair: str) -> None:
    # RM0091 §3.2.2: the chip writes each complement from the value byte itself, so a byte
    # left as read would change its value (0x7F) or its complement (0xFF/0x00) once written.
    raw = bytes.fromhex("aa55" + pair + "ff00ff00ff00ff00ff00ff00")
    before = decode(F0, raw)
    new = apply_assignments(before, parse_assignments(["data0=0x12"]), None)
    assert new.hex() == "aa55ff0012edff00ff00ff00ff00ff00"
    assert [c.name for c in diff(before, new, None)] == ["data0"]


def _g4_factory() -> bytes:
    values = {"OPTR": 0xFFEFF8AA, "PCROP1SR": 0xFFFFFFFF, "PCROP1ER": 0x00FF0000}
    values |= {"WRP1AR": 0xFF00FFFF, "WRP1BR": 0xFF00FFFF, "SEC1R": 0xFF00FE00}
    return encode(G4, b"\xff" * 48, values)  # RM0440: ST production values


@pytest.mark.parametrize(
    ("texts", "permanent"),
    [
        (["pcrop1_strt=0", "pcrop1_end=0x3ff"], True),  # pcrop_rdp=keep: kept through RDP 1->0
        (["pcrop1_strt=0", "pcrop1_end=0x3ff", "pcrop_rdp=erase"], False),
        (["pcrop1_strt=0x10", "pcrop1_end=0x0f"], False),  # start after end: no area
        (["bor=4"], False),
    ],
)
def test_a_g4_pcrop_area_that_can_never_be_removed_is_named(
    texts: list[str], permanent: bool
) -> None:
    before = decode(G4, _g4_factory())
    after = apply_assignments(before, parse_assignments(texts), G4_FLASH)
    reason = permanent_pcrop(before, after)
    assert (reason is not None) == permanent
    if reason is not None:
        assert "can never be removed" in reason and "0x0-0x3FF" in reason
