"""Delta flashing verifies the whole image once it has changed a memory, and never leaves a
board worse than a full flash: a skipped sector's compare read comes before the erases, so only
a read after them shows what those erases really reached."""

from __future__ import annotations

from dataclasses import replace

from pydfuse.formats import Image
from pydfuse.ops import DeviceSelector, ImageSource, flash
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import STM3210E_EVAL, SectorGroup
from pydfuse.spec import DfuseCommand, Request
from support.boards import APP_ADDRESS, Rig, app_image, blob, make_rig

ANY = DeviceSelector()
PAGE = 0x800
NOR = 0x64000000


def _uploads_after_last_write(rig: Rig) -> list[int]:
    """Addresses of the UPLOAD streams (Set Address, then UPLOADs before the next DNLOAD)
    sent after the last DNLOAD data block."""
    log = rig.backend.log
    last = max(i for i, s in enumerate(log) if s.is_dnload and s.value >= 2)
    starts: list[int] = []
    pointer = None
    for s in log[last:]:
        if s.command() == DfuseCommand.SET_ADDRESS_POINTER and s.data is not None:
            pointer = int.from_bytes(s.data[1:5], "little")
        elif s.request == Request.UPLOAD and s.request_type == 0xA1 and pointer is not None:
            starts.append(pointer)
            pointer = None
    return starts


def test_verify_reads_back_the_skipped_sectors_too_once_the_memory_was_changed(
    rig: Rig,
) -> None:
    image = app_image(12 * PAGE)
    flash(rig.env, ANY, image)
    data = bytearray(image.segments[0].data)
    data[7 * PAGE + 9] ^= 0x20
    rig.backend.log.clear()
    result = flash(rig.env, ANY, Image.from_segments([(APP_ADDRESS, bytes(data))]))
    (target,) = result.targets
    assert len(target.skipped_sectors) == 10  # still a delta flash: two pages rewritten
    # ... but verify reads the whole image back, in one run, after the last write.
    assert _uploads_after_last_write(rig) == [APP_ADDRESS]
    assert rig.board.memory(0).read(APP_ADDRESS, 12 * PAGE) == bytes(data)


def test_an_identical_reflash_is_verified_by_its_compare_read_alone(rig: Rig) -> None:
    image = app_image(6 * PAGE)
    flash(rig.env, ANY, image)
    rig.backend.log.clear()
    flash(rig.env, ANY, image)
    set_addresses = rig.backend.set_addresses()
    assert set_addresses == [APP_ADDRESS]  # one compare read, nothing written, nothing re-read


def _m29w128g_board() -> VirtualBoard:
    """An STM3210E-EVAL whose NOR chip erases 128 KiB blocks (M29W128G) while the loader's
    layout string still says 64 KiB (M29W128F): a layout that understates the erase block
    (dfuse-spec §7 item 5: layout strings lie)."""
    nor = STM3210E_EVAL.alternates[2]
    blocks = (SectorGroup(NOR, 128, 0x20000, nor.sectors[0].rights),)
    alternates = (*STM3210E_EVAL.alternates[:2], replace(nor, sectors=blocks))
    return VirtualBoard(replace(STM3210E_EVAL, name="m29w128g", alternates=alternates))


def test_a_skipped_sector_wiped_by_a_wider_erase_is_caught_and_the_memory_flashed_in_full() -> None:
    rig = make_rig(_m29w128g_board())
    old = blob(NOR, 2 * 0x10000, seed=3)
    flash(rig.env, ANY, ImageSource(old, alt=2))
    data = bytearray(old.segments[0].data)
    data[0x18000] ^= 0xFF  # only the second 64 KiB "sector" changes
    result = flash(rig.env, ANY, ImageSource(Image.from_segments([(NOR, bytes(data))]), alt=2))
    # The erase of the second "sector" wiped the whole 128 KiB block, the first one included:
    # a delta flash that trusted its compare read would leave 64 KiB of 0xFF and say verified.
    assert rig.board.memory(2).read(NOR, len(data)) == bytes(data)
    assert result.verified is True
    assert any("in full" in w and f"0x{NOR:08x}" in w for w in result.warnings)


def test_will_reset_with_nothing_left_to_write_says_neither_reset_nor_unverified(
    rig: Rig,
) -> None:
    image = blob(APP_ADDRESS + 4 * PAGE, 2 * PAGE)
    flash(rig.env, ANY, image)
    result = flash(rig.env, ANY, image, will_reset=True)  # dfu-util's :will-reset
    # Every sector already held its bytes: nothing was sent, so nothing reset the device, and
    # the compare read was the verification.
    assert result.targets[0].bytes_written == 0
    assert result.verified is True and result.warnings == ()
    assert rig.board.running == "bootloader" and rig.board.usb_connected
