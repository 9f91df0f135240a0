"""A flash that writes option bytes reads them back after the chip's reset, as `ob set` does:
a write the chip did not take is an error, not "the device reset itself" and success."""

from __future__ import annotations

import pytest

from pydfuse.errors import VerifyError
from pydfuse.formats import Image
from pydfuse.ops import DeviceSelector, ImageSource, flash
from pydfuse.spec import Status
from support.boards import make_rig

ANY = DeviceSelector()
F4_OPTIONS = 0x1FFFC000
BOR_LEVEL_1 = "f7aa0855f7aa0855ffff0000ffff0000"  # BOR level 1 (USER 0xF7), no protection


def _options(block: str) -> ImageSource:
    return ImageSource(Image.from_segments([(F4_OPTIONS, bytes.fromhex(block))]), alt="option")


def test_option_bytes_written_by_flash_are_read_back_after_the_reset() -> None:
    rig = make_rig("stm32f4-rom")
    result = flash(rig.env, ANY, _options(BOR_LEVEL_1))
    assert rig.board.memory(1).read(F4_OPTIONS, 16).hex() == BOR_LEVEL_1
    assert any("they were read back and match" in w for w in result.warnings)
    assert not any("not read back" in w for w in result.warnings)


def test_an_option_write_the_chip_did_not_take_fails_the_flash() -> None:
    rig = make_rig("stm32f4-rom")
    before = rig.board.memory(1).read(F4_OPTIONS, 16)
    rig.board.faults.fail_next("program", Status.ERR_PROG, F4_OPTIONS)
    with pytest.raises(VerifyError, match="verify failed at 0x1fffc000"):
        flash(rig.env, ANY, _options(BOR_LEVEL_1))
    assert rig.board.memory(1).read(F4_OPTIONS, 16) == before
