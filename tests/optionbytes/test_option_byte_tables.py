"""Every option-byte table round-trips (decode -> encode gives the same bytes), names its
sources, and agrees with the factory values and real read-backs we have."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.layout import parse_layout
from pydfuse.optionbytes import FAMILIES, Family, decode, encode, protected
from pydfuse.optionbytes.codec import with_fields

F4_FLASH = parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
F411_READ_BACK = bytes.fromhex("efaa1055efaa1055ff7f0080ff7f0080")  # see sim/optionspec.py


def _consistent(family: Family, values: dict[str, int], size: int) -> bytes:
    return encode(family, b"\xff" * size, values)


def _factory(family: Family, size: int) -> bytes:
    """A block holding every field's documented factory value (others all ones)."""
    values = {r.name: (1 << r.width) - 1 for r in family.registers_in(size)}
    for f in family.fields_in(size):
        if f.default is not None:
            reg = values[f.register]
            values[f.register] = (reg & ~(f.mask << f.lsb)) | (f.default << f.lsb)
    return _consistent(family, values, size)


CASES = [(f, size) for f in FAMILIES.values() for size in f.sizes]
IDS = [f"{f.name}-{size}" for f, size in CASES]


@pytest.mark.parametrize(("family", "size"), CASES, ids=IDS)
def test_factory_block_round_trips_and_reads_as_factory(family: Family, size: int) -> None:
    raw = _factory(family, size)
    decoded = decode(family, raw)
    assert encode(family, raw, decoded.register_values()) == raw
    assert all(fv.is_default in (True, None) for fv in decoded.fields)
    assert decoded.rdp_level == 0 and not decoded.problems()


@pytest.mark.parametrize(("family", "size"), CASES, ids=IDS)
@given(data=st.data())
def test_any_consistent_block_round_trips(family: Family, size: int, data: st.DataObject) -> None:
    values = {
        r.name: data.draw(st.integers(0, (1 << r.width) - 1), label=r.name)
        for r in family.registers_in(size)
    }
    raw = _consistent(family, values, size)
    decoded = decode(family, raw)
    assert decoded.register_values() == values
    assert encode(family, raw, decoded.register_values()) == raw
    assert with_fields(decoded, {}) == raw


@pytest.mark.parametrize(("family", "size"), CASES, ids=IDS)
@given(raw=st.binary(min_size=48, max_size=48))
def test_changing_one_field_leaves_every_other_byte_alone(
    family: Family, size: int, raw: bytes
) -> None:
    block = raw[:size]
    decoded = decode(family, block)
    rdp = family.field("rdp")
    out = with_fields(decoded, {"rdp": family.rdp_level0})
    reg = family.register(rdp.register)
    span = {"byte-pairs": 2, "halfword-rows": 8, "word-pairs": 8}[family.storage]
    outside = [i for i in range(size) if not reg.offset <= i < reg.offset + span]
    assert [out[i] for i in outside] == [block[i] for i in outside]
    after = decode(family, out)
    assert after.rdp == family.rdp_level0
    assert next(r for r in after.registers if r.register == reg).consistent


@pytest.mark.parametrize("family", FAMILIES.values(), ids=list(FAMILIES))
def test_fields_are_cited_fit_their_register_and_do_not_overlap(family: Family) -> None:
    used: dict[str, int] = {}
    for f in family.fields:
        assert f.source and f.meaning, f.name
        reg = family.register(f.register)
        assert f.lsb + f.width <= reg.width, f.name
        bits = f.mask << f.lsb
        assert not used.get(f.register, 0) & bits, f"{f.name} overlaps another field"
        used[f.register] = used.get(f.register, 0) | bits
        if f.default is not None:
            assert 0 <= f.default <= f.mask
    assert family.field("rdp").kind == "rdp"


def test_real_f411_read_back_decodes_to_factory_settings() -> None:
    decoded = decode(FAMILIES["stm32f2-f4"], F411_READ_BACK)
    assert not decoded.problems()
    assert decoded.rdp_level == 0
    assert {fv.field.name: fv.text for fv in decoded.fields} == {
        "bor_lev": "off",
        "wdg_sw": "software",
        "nrst_stop": "no-reset",
        "nrst_stdby": "no-reset",
        "rdp": "0xAA",
        "nwrp": "0xFFF",
        "sprmod": "0",  # write-protection mode, the default (RM0090 Table 17)
    }
    assert protected(decoded, F4_FLASH).units == ()


def test_f0_production_values_are_rm0091_table_12() -> None:
    f0 = FAMILIES["stm32f0"]
    assert _factory(f0, 16) == bytes.fromhex("aa55ff00ff00ff00ff00ff00ff00ff00")


def test_g4_production_values_are_rm0440() -> None:
    g4 = FAMILIES["stm32g4"]
    words = (0xFFEFF8AA, 0xFFFFFFFF, 0x00FF0000, 0xFF00FFFF, 0xFF00FFFF, 0xFF00FE00)
    raw = b"".join(struct.pack("<II", w, w ^ 0xFFFFFFFF) for w in words)
    decoded = decode(g4, raw)
    assert all(fv.is_default for fv in decoded.fields)
    assert protected(decoded, parse_layout("@Internal Flash  /0x08000000/64*02Kg")).units == ()


def test_f0_mismatched_complement_loads_as_0xff_and_is_reported() -> None:
    decoded = decode(FAMILIES["stm32f0"], bytes.fromhex("aa00ff00ff00ff00ff00ff00ff00ff00"))
    assert decoded.rdp == 0xFF and decoded.rdp_level == 1
    assert "does not match its complement" in decoded.problems()[0]


def test_f1_has_no_level_2_and_a5_is_unprotected() -> None:
    f1 = FAMILIES["stm32f1-cl"]
    assert f1.rdp_level(0xA5) == 0 and f1.rdp_level(0xAA) == 1 and f1.rdp_level(0xCC) == 1
