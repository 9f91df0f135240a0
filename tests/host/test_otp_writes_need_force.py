"""One-time-programmable memory is written only when asked for in so many words: a flash into
the F4 ROM's ``@OTP Memory`` alternate (RM0090 §3.8: never erased; LOCKBi = 0x00 locks block i
for good) is refused without ``force`` saying what could never be changed again, warns with
it, and is refused even forced where the chip cannot take the bytes (ops -> host -> pyusb ->
simulator)."""

from __future__ import annotations

import pytest

from pydfuse.errors import PlanError
from pydfuse.formats import Image
from pydfuse.ops import DeviceSelector, ImageSource, check_firmware, flash
from support.boards import Rig, make_rig

ANY = DeviceSelector()
OTP = 0x1FFF7800
LOCKS = 0x1FFF7A00
SERIAL = b"SN-0042-ABCDEF-" + b"\xff" * 17  # block 0 of the OTP data


def _otp(*pieces: tuple[int, bytes]) -> ImageSource:
    return ImageSource(Image.from_segments(list(pieces)), alt=2)


def _otp_bytes(rig: Rig) -> bytes:
    return rig.board.memory(2).read(OTP, 528)


def test_otp_data_and_lock_bytes_are_refused_without_force_and_nothing_is_sent() -> None:
    rig = make_rig("stm32f4-rom")
    with pytest.raises(PlanError) as info:
        flash(rig.env, ANY, _otp((OTP, SERIAL), (LOCKS, b"\x00")))
    error = info.value
    assert error.code == "protection.otp"
    assert "can never be erased or changed back" in str(error)
    assert "0x1fff7800-0x1fff780e" in str(error)
    assert "LOCKS OTP block(s) 0 for ever" in str(error)
    assert "--force" in (error.hint or "") and "force=True" in (error.hint or "")
    assert rig.backend.downloads_at(OTP, LOCKS + 16) == []
    assert _otp_bytes(rig) == b"\xff" * 528


def test_forced_otp_write_says_what_became_permanent() -> None:
    rig = make_rig("stm32f4-rom")
    result = flash(rig.env, ANY, _otp((OTP, SERIAL), (LOCKS, b"\x00")), force=True)
    permanent = [w for w in result.warnings if w.startswith("PERMANENT")]
    assert len(permanent) == 1
    assert "programs 16 one-time-programmable byte(s)" in permanent[0]
    assert "LOCKS OTP block(s) 0" in permanent[0]
    assert _otp_bytes(rig)[:15] == SERIAL[:15] and _otp_bytes(rig)[512] == 0x00


def test_bytes_the_chip_already_holds_need_no_force_and_are_not_sent() -> None:
    rig = make_rig("stm32f4-rom")
    flash(rig.env, ANY, _otp((OTP, SERIAL), (LOCKS, b"\x00")), force=True)
    backup = _otp_bytes(rig)  # what `dfuse upload -a 2` gives: flashing it back changes nothing
    sent = len(rig.backend.downloads_at(OTP, LOCKS + 16))
    result = flash(rig.env, ANY, _otp((OTP, backup)))
    assert not any("PERMANENT" in w for w in result.warnings)
    assert (
        "OTP Memory already holds every byte of the file: nothing written there" in result.warnings
    )
    assert len(rig.backend.downloads_at(OTP, LOCKS + 16)) == sent  # a locked block takes no write
    assert _otp_bytes(rig) == backup
    checked = check_firmware(rig.env, ANY, _otp((OTP, backup)))  # check says the same
    assert checked.ok and checked.targets[0].plan is not None
    assert checked.targets[0].plan.writes == ()
    assert "OTP Memory already holds every byte of the file: nothing written there" in (
        checked.warnings
    )
    more = bytearray(backup)
    more[40:44] = b"\x00\x01\x02\x03"  # block 1, beside the locked block 0: only these go
    flash(rig.env, ANY, _otp((OTP, bytes(more))), force=True)
    assert rig.backend.downloads_at(OTP, LOCKS + 16)[sent:] == [b"\x00\x01\x02\x03"]
    assert _otp_bytes(rig) == bytes(more)


def test_what_the_chip_cannot_take_is_refused_even_forced() -> None:
    rig = make_rig("stm32f4-rom")
    flash(rig.env, ANY, _otp((OTP, SERIAL), (LOCKS, b"\x00"), (OTP + 32, b"\x00")), force=True)
    written = len(rig.backend.downloads_at(OTP, LOCKS + 16))
    with pytest.raises(PlanError, match="OTP block 0 is locked for good") as info:
        flash(rig.env, ANY, _otp((OTP + 20, b"\x00")), force=True)
    assert info.value.code == "protection.otp"
    with pytest.raises(PlanError, match="back at 1"):  # block 1 holds 0x00 at its first byte
        flash(rig.env, ANY, _otp((OTP + 32, b"\x0f")), force=True)
    assert len(rig.backend.downloads_at(OTP, LOCKS + 16)) == written


def test_check_on_the_device_reports_the_otp_write_with_flash_s_code() -> None:
    rig = make_rig("stm32f4-rom")
    result = check_firmware(rig.env, ANY, _otp((LOCKS + 3, b"\x00")))
    assert not result.ok
    found = [f for f in result.report.findings if f.code == "protection.otp"]
    assert len(found) == 1 and "LOCKS OTP block(s) 3" in found[0].message
