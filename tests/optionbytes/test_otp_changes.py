"""What a write into one-time-programmable memory changes for good (RM0090 §3.8: OTP bits only
go from 1 to 0; LOCKBi = 0x00 locks data block i; lock bytes hold only 0x00 or 0xFF)."""

from __future__ import annotations

from pydfuse.formats import Image
from pydfuse.layout import parse_layout
from pydfuse.optionbytes.otp import is_otp, otp_write

F4_OTP = parse_layout("@OTP Memory /0x1FFF7800/01*512 e,01*016 e")


def _image(*pieces: tuple[int, bytes]) -> Image:
    return Image.from_segments(list(pieces))


def test_only_the_bytes_a_new_chip_would_change_are_permanent() -> None:
    write = otp_write(F4_OTP, _image((0x1FFF7800, b"\xff\xff\x12\x34"), (0x1FFF7A05, b"\x00")))
    assert write.programmed == ((0x1FFF7802, 0x1FFF7804), (0x1FFF7A05, 0x1FFF7A06))
    assert write.locked == (5,) and write.impossible == () and write.odd_locks == ()
    assert "programs 3 one-time-programmable byte(s)" in write.describe()
    assert is_otp(F4_OTP) and not is_otp(parse_layout("@Option Bytes  /0x1FFFC000/01*016 e"))


def test_a_lock_byte_other_than_0x00_or_0xff_is_named() -> None:
    write = otp_write(F4_OTP, _image((0x1FFF7A01, b"\x5a")))
    assert write.locked == (1,) and write.odd_locks == (0x1FFF7A01,)
    assert "other than 0x00 or 0xFF" in write.describe()


def test_against_what_the_chip_holds() -> None:
    now = bytearray(b"\xff" * 528)
    now[0:2] = b"\x00\x0f"  # block 0 started
    now[512 + 2] = 0x00  # block 2 locked
    same = otp_write(F4_OTP, _image((0x1FFF7800, b"\x00\x0f")), bytes(now))
    assert not same.permanent and same.impossible == ()
    more = otp_write(F4_OTP, _image((0x1FFF7801, b"\x07")), bytes(now))
    assert more.programmed == ((0x1FFF7801, 0x1FFF7802),)
    back = otp_write(F4_OTP, _image((0x1FFF7801, b"\x1f")), bytes(now))
    assert "back at 1" in back.impossible[0]
    locked = otp_write(F4_OTP, _image((0x1FFF7840, b"\x00" * 3)), bytes(now))
    assert locked.impossible == (
        "OTP block 2 is locked for good and holds other bytes than the file (3 differ)",
    )


def test_an_otp_memory_of_unknown_layout_is_permanent_byte_for_byte() -> None:
    other = parse_layout("@OTP Memory /0x1FFF7000/01*1Ke")  # an L4's: no lock block we know
    write = otp_write(other, _image((0x1FFF7000, b"\x00" * 8)))
    assert write.programmed == ((0x1FFF7000, 0x1FFF7008),) and write.locked == ()
