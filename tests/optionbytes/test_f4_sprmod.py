"""SPRMOD, bit 15 of the F2/F4 nWRP half-word: on an F401/F411/F412/F446/F42x/F43x it selects
what the nWRPi bits mean, write protection (0, the default) or PCROP (1: the bits, active high,
make their sectors execute-only, RM0090 Rev 21 Table 17 and §3.7.5); on an F405/407/415/417 the
bit is not used and reads 1 (Table 16). So a block whose bit 15 reads 1 cannot say which: a
``wrp=`` request is refused there unless the mode is named, and no request ever flips the bit."""

from __future__ import annotations

import pytest

from pydfuse.errors import OptionBytesError
from pydfuse.layout import parse_layout
from pydfuse.optionbytes import (
    FAMILIES,
    apply_assignments,
    decode,
    parse_assignments,
    protected,
    wrp_mode,
)

F4 = FAMILIES["stm32f2-f4"]
F405_FACTORY = bytes.fromhex("ffaa0055ffaa0055ffff0000ffff0000")  # bits 15:12 "0xF: not used"
F411_READ_BACK = bytes.fromhex("efaa1055efaa1055ff7f0080ff7f0080")  # SPRMOD 0, a real F411
F411_PCROP_0_1 = bytes.fromhex("efaa1055efaa105503f0fc0f03f0fc0f")  # SPRMOD 1, PCROP on sectors 0-1
F411_FLASH = parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg")


def _request(raw: bytes, *texts: str, mode: str | None = None) -> bytes:
    decoded = decode(F4, raw)
    return apply_assignments(decoded, parse_assignments(texts), F411_FLASH, wrp_mode=mode)


def test_sprmod_is_decoded_and_names_the_mode_only_when_it_reads_0() -> None:
    assert decode(F4, F411_READ_BACK).value("sprmod") == 0
    assert wrp_mode(decode(F4, F411_READ_BACK)) == "write-protection"
    assert decode(F4, F405_FACTORY).value("sprmod") == 1
    assert wrp_mode(decode(F4, F405_FACTORY)) is None  # F405 (unused) or PCROP mode
    assert wrp_mode(decode(F4, F405_FACTORY), "write-protection") == "write-protection"
    assert wrp_mode(decode(F4, F411_PCROP_0_1), "pcrop") == "pcrop"
    with pytest.raises(OptionBytesError, match="SPRMOD reads 0"):
        wrp_mode(decode(F4, F411_READ_BACK), "pcrop")


def test_pcrop_mode_reads_the_nwrp_bits_active_high() -> None:
    decoded = decode(F4, F411_PCROP_0_1)
    assert protected(decoded, F411_FLASH, "pcrop").units == (0, 1)
    assert protected(decoded, F411_FLASH, "write-protection").units == tuple(range(2, 12))


def test_a_wrp_request_in_write_protection_mode_never_flips_sprmod() -> None:
    after = decode(F4, _request(F411_READ_BACK, "wrp=0-1"))
    assert after.value("sprmod") == 0 and after.value("nwrp") == 0xFFC
    assert protected(after, F411_FLASH, "write-protection").units == (0, 1)
    again = decode(F4, _request(after.raw, "bor=1", "wrp=none"))
    assert again.value("sprmod") == 0 and again.value("nwrp") == 0xFFF


@pytest.mark.parametrize("texts", [["wrp=none"], ["wrp=0-1"], ["nwrp=0xFFF"]])
def test_a_wrp_request_is_refused_when_sprmod_reads_1_and_the_mode_is_not_named(
    texts: list[str],
) -> None:
    with pytest.raises(OptionBytesError) as info:
        _request(F411_PCROP_0_1, *texts)
    message = str(info.value)
    assert "SPRMOD" in message and "reads 1" in message
    assert "F405/407/415/417" in message and "PCROP" in message
    assert "--wrp-mode write-protection" in (info.value.hint or "")


def test_naming_the_f405_reading_allows_write_protection() -> None:
    after = decode(F4, _request(F405_FACTORY, "wrp=0-1", mode="write-protection"))
    assert after.value("nwrp") == 0xFFC and after.value("sprmod") == 1  # the bit kept as read


def test_pcrop_sectors_are_never_changed() -> None:
    with pytest.raises(OptionBytesError, match="PCROP mode"):
        _request(F411_PCROP_0_1, "wrp=none", mode="pcrop")


@pytest.mark.parametrize("value", ["0", "1", "pcrop", "write-protection"])
def test_sprmod_itself_is_never_set(value: str) -> None:
    with pytest.raises(OptionBytesError, match="does not switch SPRMOD"):
        _request(F411_READ_BACK, f"sprmod={value}")


def test_other_fields_change_whatever_the_mode() -> None:
    after = decode(F4, _request(F411_PCROP_0_1, "bor=1"))
    assert after.value("bor_lev") == 0b10
    assert after.registers[1].value == 0xF003  # the nWRP half-word exactly as read
