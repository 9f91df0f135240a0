"""SPRMOD on a (virtual) STM32F411 ROM: bit 15 of the nWRP half-word chooses what the nWRP bits
mean, write protection (0) or PCROP (1, RM0090 Rev 21 Table 17, §3.7.5). pydfuse decodes the
mode, changes write protection only where it knows the mode, never flips the bit, and refuses
a file that would (ops -> host -> pyusb -> simulator)."""

from __future__ import annotations

import pytest

from pydfuse.errors import OptionBytesError, PlanError
from pydfuse.formats import Image
from pydfuse.ops import DeviceSelector, ImageSource, flash, option_bytes, set_option_bytes
from support.boards import Rig, f411_rom, make_rig

ANY = DeviceSelector()
OPTIONS = 0x1FFFC000
PCROP_0_1 = "efaa1055efaa105503f0fc0f03f0fc0f"  # SPRMOD 1, nWRP bits 0-1 set: PCROP sectors 0-1


def _nwrp_word(rig: Rig) -> int:
    return int.from_bytes(rig.board.memory(1).read(OPTIONS + 8, 2), "little")


def _option_writes(rig: Rig) -> list[bytes]:
    return rig.backend.downloads_at(OPTIONS, OPTIONS + 16)


def test_an_f411_in_write_protection_mode_changes_wrp_and_keeps_sprmod_0() -> None:
    rig = make_rig(f411_rom())
    report = option_bytes(rig.env, ANY)
    assert report.block.wrp_mode == "write-protection" and not report.wrp_readings
    change = set_option_bytes(rig.env, ANY, ["wrp=0-1"])
    assert change.verified is True
    assert ("wrp", "none", "0-1") in [(c.name, c.before, c.after) for c in change.changes]
    assert _nwrp_word(rig) == 0x7FFC  # bit 15 still 0: never flipped
    after = option_bytes(rig.env, ANY)
    assert after.write_protection is not None and after.write_protection.units == (0, 1)


def test_an_f411_in_pcrop_mode_is_shown_both_ways_and_its_nwrp_bits_left_alone() -> None:
    rig = make_rig(f411_rom(PCROP_0_1))
    report = option_bytes(rig.env, ANY)
    assert report.block.wrp_mode is None and report.write_protection is None
    assert report.wrp_readings["pcrop"].units == (0, 1)
    assert report.to_dict()["wrp_readings"]["pcrop"]["units"] == [0, 1]
    with pytest.raises(OptionBytesError, match="SPRMOD"):
        set_option_bytes(rig.env, ANY, ["wrp=none"])  # would be PCROP on every sector
    with pytest.raises(OptionBytesError, match="PCROP mode"):
        set_option_bytes(rig.env, ANY, ["wrp=none"], wrp_mode="pcrop")
    with pytest.raises(OptionBytesError, match="does not switch SPRMOD"):
        set_option_bytes(rig.env, ANY, ["sprmod=0"], wrp_mode="pcrop")
    assert _option_writes(rig) == []
    change = set_option_bytes(rig.env, ANY, ["bor=1"])  # other fields: allowed, bits kept
    assert change.written and _nwrp_word(rig) == 0xF003


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ("efaa1055efaa1055ffff0000ffff0000", "switches SPRMOD from 0 to 1"),
        ("efaa1055efaa1055fcff0300fcff0300", "switches SPRMOD from 0 to 1"),
    ],
)
def test_a_file_switching_sprmod_on_is_refused_without_force(block: str, says: str) -> None:
    rig = make_rig(f411_rom())
    image = ImageSource(Image.from_segments([(OPTIONS, bytes.fromhex(block))]), alt="option")
    with pytest.raises(PlanError, match=says):
        flash(rig.env, ANY, image)
    assert _option_writes(rig) == [] and _nwrp_word(rig) == 0x7FFF
