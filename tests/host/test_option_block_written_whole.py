"""A file holding part of the option bytes is completed from what the chip holds and written
whole, in one write from the block's start, never after an erase: the ROM erases the whole
block before writing it (AN3156 §5.1), and an erased RDP byte is read protection (RM0091
§3.3.1; F1: anything but 0xA5). A failure at any point of such a flash — the read, the write,
the cable pulled after any transfer — leaves the old block or the new one, never an erased
RDP byte (ops -> host -> pyusb -> simulator, on an F105/107-style erasable 'g' option
alternate)."""

from __future__ import annotations

from contextlib import suppress

import pytest

from pydfuse.errors import DfuseError
from pydfuse.formats import Image
from pydfuse.ops import (
    DeviceSelector,
    ImageSource,
    check_firmware,
    flash,
    option_bytes,
    set_option_bytes,
)
from pydfuse.spec import Status
from support.boards import Rig, make_rig, rom_with_erasable_options

ANY = DeviceSelector()
F0_OPTIONS = 0x1FFFF800
DATA0 = (F0_OPTIONS + 4, bytes.fromhex("42bd"))  # the DATA0 pair alone: 2 of the 16 bytes
F4_OPTIONS = 0x1FFFC000


def _file(*pieces: tuple[int, bytes], alt: int = 1) -> ImageSource:
    return ImageSource(Image.from_segments(list(pieces)), alt=alt)


def _block(rig: Rig, address: int = F0_OPTIONS) -> bytes:
    return rig.board.memory(1).read(address, 16)


def _rig() -> tuple[Rig, bytes]:
    rig = make_rig(rom_with_erasable_options())
    set_option_bytes(rig.env, ANY, ["wrp0=0xfe"])  # something of the chip's own to keep
    return rig, _block(rig)


def test_a_partial_option_file_is_completed_from_the_chip_and_written_whole() -> None:
    rig, before = _rig()
    sent = len(rig.backend.log)
    result = flash(rig.env, ANY, _file(DATA0))
    assert any(
        "holds 2 of the 16 option bytes; the other 14 are written as the chip" in w
        for w in result.warnings
    )
    expected = before[:4] + DATA0[1] + before[6:]
    assert _block(rig) == expected and rig.board.rdp_level == 0
    log = rig.backend.log[sent:]
    assert [s.data for s in log if s.command() == 0x41] == []  # no erase of any kind
    assert rig.backend.downloads_at(F0_OPTIONS, F0_OPTIONS + 16)[-1] == expected
    assert option_bytes(rig.env, ANY).block.raw == expected


def test_check_shows_the_whole_block_flash_will_write() -> None:
    rig, before = _rig()
    result = check_firmware(rig.env, ANY, _file(DATA0))
    assert result.ok
    plan = result.targets[0].plan
    assert plan is not None and [(w.address, w.data) for w in plan.writes] == [
        (F0_OPTIONS, before[:4] + DATA0[1] + before[6:])
    ]
    assert any("holds 2 of the 16 option bytes" in f.message for f in result.report.findings)


def test_a_cable_pulled_after_any_transfer_never_leaves_erased_option_bytes() -> None:
    for after in range(1, 200):  # until the flash ends before the cable is pulled
        rig, before = _rig()
        rig.board.faults.disconnect_after(after)
        with suppress(DfuseError):
            flash(rig.env, ANY, _file(DATA0))
        pulled = rig.board.running == "off"
        rig.board.power_cycle()
        assert _block(rig) in (before, before[:4] + DATA0[1] + before[6:]), after
        assert rig.board.rdp_level == 0, after
        if not pulled:
            assert _block(rig) != before and after > 5  # the whole flash ran to its end
            return
    raise AssertionError("the flash never ended")


@pytest.mark.parametrize(
    ("op", "status"),
    [("upload", Status.ERR_TARGET), ("program", Status.ERR_PROG), ("command", Status.ERR_TARGET)],
)
def test_a_failed_step_never_leaves_erased_option_bytes(op: str, status: Status) -> None:
    rig, before = _rig()
    rig.board.faults.fail_next(op, status)  # type: ignore[arg-type]
    # a failed option write goes unseen: the host stops at the GETSTATUS before the reset
    with suppress(DfuseError):
        flash(rig.env, ANY, _file(DATA0))
    assert rig.board.faults.take_failure(op, F0_OPTIONS, 16) is None  # the fault fired
    rig.board.power_cycle()
    assert _block(rig) == before and rig.board.rdp_level == 0


def test_an_f4_row_alone_keeps_the_chip_s_write_protection() -> None:
    rig = make_rig("stm32f4-rom")
    set_option_bytes(rig.env, ANY, ["wrp=0-1"], wrp_mode="write-protection")
    before = _block(rig, F4_OPTIONS)
    row = bytes.fromhex("f3aa0c55f3aa0c55")  # USER with BOR level 3, RDP 0xAA, both copies
    result = flash(rig.env, ANY, _file((F4_OPTIONS, row)))
    assert any("holds 8 of the 16 option bytes" in w for w in result.warnings)
    assert _block(rig, F4_OPTIONS) == row + before[8:]
    assert option_bytes(rig.env, ANY, wrp_mode="write-protection").write_protection.units == (0, 1)  # type: ignore[union-attr]
