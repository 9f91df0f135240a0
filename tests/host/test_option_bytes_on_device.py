"""Option bytes and protection through the real host path (ops -> host -> pyusb -> simulator):
read and decode the factory values, RDP 1 set/verified/refusing uploads, Read Unprotect back to
level 0, write protection blocking a flash before anything is written, RDP 2 refused."""

from __future__ import annotations

import json

import pytest

from pydfuse.errors import (
    DfuseError,
    DfuStatusError,
    OptionBytesError,
    PlanError,
    ReadProtectedError,
)
from pydfuse.formats import Image
from pydfuse.ops import (
    DeviceSelector,
    ImageSource,
    flash,
    list_devices,
    option_bytes,
    set_option_bytes,
    unprotect,
    upload,
)
from support.boards import Rig, app_image, blob, make_rig

ANY = DeviceSelector()


def _option_writes(rig: Rig) -> list[bytes]:
    """Data blocks downloaded while the DfuSe pointer was in the option-byte area."""
    return rig.backend.downloads_at(0x1FFF7800, 0x1FFFFFFF + 1)


@pytest.mark.parametrize(
    ("profile", "family", "raw"),
    [
        ("stm32f4-rom", "stm32f2-f4", "ffaa0055ffaa0055ffff0000ffff0000"),
        ("stm32f072-rom", "stm32f0", "aa55ff00ff00ff00ff00ff00ff00ff00"),
    ],
)
def test_factory_option_bytes_decode_to_their_defaults(profile: str, family: str, raw: str) -> None:
    rig = make_rig(profile)
    report = option_bytes(rig.env, ANY)
    assert report.block.raw.hex() == raw
    assert report.block.family is not None and report.block.family.name == family
    assert report.block.detected and report.rdp_level == 0
    # sprmod: factory 0 where the bit exists, 1 ("not used") on the F405/407: not one value
    assert all(fv.is_default or fv.field.name == "sprmod" for fv in report.fields)
    readings = report.wrp_readings or {"write-protection": report.write_protection}
    assert readings["write-protection"] is not None
    assert readings["write-protection"].units == ()
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["rdp_level"] == 0 and doc["family"]["name"] == family
    assert {f["name"] for f in doc["fields"]} >= {"rdp", "wdg_sw"}


def test_rdp_1_is_set_verified_refuses_uploads_and_unprotect_erases_back_to_level_0() -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08000000, b"firmware")
    change = set_option_bytes(rig.env, ANY, ["rdp=1"])
    assert change.written and change.verified is True
    assert [(c.name, c.before, c.after) for c in change.changes] == [("rdp", "0xAA", "0xBB")]
    assert "refuses every read" in change.notes[0]
    assert rig.board.rdp_level == 1

    with pytest.raises(ReadProtectedError) as info:
        upload(rig.env, ANY, alt=0, address=0x08000000, length=16)
    assert "unprotect --force" in (info.value.hint or "")
    (device,) = list_devices(rig.env, probe=True)
    assert device.protection is not None and device.protection.readable is False
    assert "MASS-ERASING" in device.protection.describe()
    with pytest.raises(ReadProtectedError):  # refused before any erase or write
        flash(rig.env, ANY, app_image(2048, address=0x08000000))
    assert rig.backend.page_erases() == []

    result = unprotect(rig.env, ANY, force=True)
    assert result.was_protected and result.sent and result.confirmed
    assert result.level_after == 0
    assert rig.board.memory(0).read(0x08000000, 8) == b"\xff" * 8
    assert upload(rig.env, ANY, alt=0, address=0x08000000, length=8).image.size == 8


def test_unprotect_leaves_an_unprotected_chip_alone() -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08000000, b"keep")
    result = unprotect(rig.env, ANY, force=True)
    assert (result.was_protected, result.sent, result.level_after) == (False, False, 0)
    assert rig.board.memory(0).read(0x08000000, 4) == b"keep"
    assert rig.backend.commands(0x92) == []


def test_write_protected_sectors_block_a_flash_before_anything_is_written() -> None:
    rig = make_rig("stm32f4-rom")
    change = set_option_bytes(rig.env, ANY, ["wrp=0-1"], wrp_mode="write-protection")
    assert change.verified is True
    assert ("wrp", "none", "0-1") in [(c.name, c.before, c.after) for c in change.changes]
    erases_before = len(rig.backend.page_erases())

    with pytest.raises(PlanError) as info:
        flash(rig.env, ANY, app_image(0x6000, address=0x08000000))  # sectors 0 and 1
    message = str(info.value)
    assert "sector 0 (0x08000000-0x08003fff)" in message
    assert "sector 1 (0x08004000-0x08007fff)" in message
    assert info.value.hint == (
        "lift the protection first: dfuse option-bytes set wrp=none --wrp-mode "
        "write-protection (SPRMOD reads 1: an F405/407/415/417, see `dfuse ob`)"
    )
    assert len(rig.backend.page_erases()) == erases_before

    assert flash(rig.env, ANY, blob(0x08008000, 4096)).verified  # sector 2 is free
    set_option_bytes(rig.env, ANY, ["wrp=none"], wrp_mode="write-protection")
    assert flash(rig.env, ANY, app_image(0x6000, address=0x08000000)).verified


def test_rdp_2_is_refused_without_the_long_flag_and_nothing_is_written() -> None:
    rig = make_rig("stm32f4-rom")
    with pytest.raises(OptionBytesError) as info:
        set_option_bytes(rig.env, ANY, ["rdp=2"])
    assert "can never be undone" in str(info.value)
    assert "--permanently-lock-this-chip" in (info.value.hint or "")
    with pytest.raises(OptionBytesError):
        set_option_bytes(rig.env, ANY, ["rdp=0xCC"])  # the raw byte is level 2 too
    assert _option_writes(rig) == []
    assert rig.board.rdp_level == 0


def test_rdp_2_with_the_long_flag_locks_the_virtual_chip() -> None:
    rig = make_rig("stm32f4-rom")
    change = set_option_bytes(rig.env, ANY, ["rdp=2"], permanently_lock=True)
    assert change.written and change.verified is None
    assert "no longer be entered" in change.notes[0]
    assert rig.board.rdp_level == 2 and rig.board.running == "off"


def test_dry_run_and_no_change_write_nothing() -> None:
    rig = make_rig("stm32f072-rom")
    change = set_option_bytes(rig.env, ANY, ["wrp=0-3"], dry_run=True)
    assert change.dry_run and not change.written
    assert [(c.name, c.after) for c in change.changes][-1] == ("wrp", "0-3")
    unchanged = set_option_bytes(rig.env, ANY, ["rdp=0"])
    assert not unchanged.written and not unchanged.changes
    assert _option_writes(rig) == []
    assert rig.board.memory(1).read(0x1FFFF800, 16).hex() == "aa55ff00ff00ff00ff00ff00ff00ff00"


def test_f0_write_protection_written_with_consistent_complements() -> None:
    rig = make_rig("stm32f072-rom")
    change = set_option_bytes(rig.env, ANY, ["wrp=0", "data0=0x42"])
    assert change.verified is True
    written = "aa55ff0042bdff00fe01ff00ff00ff00"  # DATA0 0x42, WRP0 0xFE, each + complement
    assert [w.hex() for w in _option_writes(rig)] == [written]
    assert rig.board.memory(1).read(0x1FFFF800, 16).hex() == written
    with pytest.raises(PlanError, match="4 KB block 0"):
        flash(rig.env, ANY, Image.from_segments([(0x08000800, b"\x00" * 16)]))


def test_a_family_that_does_not_fit_is_refused() -> None:
    rig = make_rig("stm32f4-rom")
    with pytest.raises(OptionBytesError, match=r"keeps 16 option bytes at 0x1FFFF800"):
        set_option_bytes(rig.env, ANY, ["rdp=1"], family="stm32f0")
    assert rig.board.rdp_level == 0


def _options(block: str, address: int = 0x1FFFC000) -> ImageSource:
    return ImageSource(Image.from_segments([(address, bytes.fromhex(block))]), alt="option")


def test_flash_of_option_bytes_follows_the_same_rules() -> None:
    rig = make_rig("stm32f4-rom")
    with pytest.raises(PlanError, match="level 2, which can never be undone"):
        flash(rig.env, ANY, _options("ffcc0033ffcc0033ffff0000ffff0000"))
    assert _option_writes(rig) == [] and rig.board.rdp_level == 0
    # a partial block is completed from the chip's own bytes and written whole (it was refused:
    # the ROM erases the whole block first, so the rest would have read 0xFF)
    partial = flash(rig.env, ANY, _options("ffaa0055ffaa0055"))
    assert any("holds 8 of the 16 option bytes" in w for w in partial.warnings)
    assert rig.board.memory(1).read(0x1FFFC000, 16).hex() == "ffaa0055ffaa0055ffff0000ffff0000"
    level1 = _options("ffbb0044ffbb0044ffff0000ffff0000")
    with pytest.raises(PlanError, match="turn read protection ON"):
        flash(rig.env, ANY, level1)  # what the user did not say: only with --force
    result = flash(rig.env, ANY, level1, force=True)
    assert any("turn read protection ON" in w for w in result.warnings)
    assert rig.board.rdp_level == 1


def test_flash_refuses_f0_option_bytes_with_a_bad_complement_unless_forced() -> None:
    rig = make_rig("stm32f072-rom")
    bad = "aa00ff00ff00ff00ff00ff00ff00ff00"  # RDP complement wrong: no chip holds that
    with pytest.raises(PlanError, match="RDP disagrees with its complement"):
        flash(rig.env, ANY, _options(bad, 0x1FFFF800))
    assert _option_writes(rig) == []
    result = flash(rig.env, ANY, _options(bad, 0x1FFFF800), force=True)
    assert any("written anyway, --force" in w for w in result.warnings)
    # RM0091 §3.2.2: the chip writes the complement itself, so the RDP byte 0xAA stays level 0
    assert rig.board.memory(1).read(0x1FFFF800, 2).hex() == "aa55"
    assert rig.board.rdp_level == 0


def test_rdp_1_with_other_fields_does_not_claim_they_were_verified() -> None:
    rig = make_rig("stm32f4-rom")
    change = set_option_bytes(rig.env, ANY, ["rdp=1", "bor=1"])
    assert change.written and rig.board.rdp_level == 1
    assert change.verified is None  # only the read protection is confirmed by the refusal
    assert any("bor_lev" in n and "cannot be read back" in n for n in change.notes)


def test_unprotect_on_a_bootloader_without_read_unprotect_says_so() -> None:
    rig = make_rig("stm3210e-eval")  # ST's USB-FS demo: no 0x92, it stalls the command
    with pytest.raises(DfuStatusError) as info:
        unprotect(rig.env, ANY, force=True, always=True)
    assert "does not implement Read Unprotect" in (info.value.hint or "")
    assert "nothing was erased" in (info.value.hint or "")


def test_unprotect_through_the_api_needs_force_as_the_command_does() -> None:
    rig = make_rig("stm32f4-rom")
    set_option_bytes(rig.env, ANY, ["rdp=1"])
    with pytest.raises(DfuseError, match="MASS-ERASE") as info:
        unprotect(rig.env, ANY)
    assert "force=True" in (info.value.hint or "")
    assert rig.backend.commands(0x92) == [] and rig.board.rdp_level == 1
    assert unprotect(rig.env, ANY, force=True).level_after == 0


def test_unprotect_without_force_on_an_unprotected_chip_has_nothing_to_do() -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08000000, b"keep")
    result = unprotect(rig.env, ANY)  # no force: it only looks
    assert (result.was_protected, result.sent, result.level_after) == (False, False, 0)
    assert result.confirmed
    assert rig.backend.commands(0x92) == []
    assert rig.board.memory(0).read(0x08000000, 4) == b"keep"


def test_unprotect_without_force_on_a_device_that_cannot_tell_still_refuses() -> None:
    rig = make_rig("stm3210e-eval")  # no option bytes: pydfuse cannot see its protection
    with pytest.raises(DfuseError, match="MASS-ERASE"):
        unprotect(rig.env, ANY)
    assert rig.backend.commands(0x92) == []
