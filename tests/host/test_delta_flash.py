"""Delta flashing (issue #11): only the sectors that differ are erased and written, verify still
covers the whole image, and every safety fallback takes the full path and says so."""

from __future__ import annotations

import pytest

from pydfuse.errors import DeviceDisconnectedError
from pydfuse.formats import DfuseFile, DfuseTarget, Image
from pydfuse.ops import DeviceSelector, FlashResult, ImageSource, flash
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import Attributes, Status
from support.boards import APP_ADDRESS, Rig, app_image, blob, make_rig

ANY = DeviceSelector()
PAGE = 0x800
SPI = 0x00000000


def _reflash(
    rig: Rig, image: Image | ImageSource, *, delta: bool = True, dry_run: bool = False
) -> FlashResult:
    rig.board.stats.reset()
    rig.backend.log.clear()
    return flash(rig.env, ANY, image, delta=delta, dry_run=dry_run)


def _with(data: bytes) -> Image:
    return Image.from_segments([(APP_ADDRESS, data)])


def _changed(image_bytes: bytes, offset: int) -> bytes:
    data = bytearray(image_bytes)
    data[offset] ^= 0x5A
    return bytes(data)


def test_identical_reflash_erases_and_programs_nothing_and_still_verifies(rig: Rig) -> None:
    image = app_image(20 * PAGE)
    flash(rig.env, ANY, image)
    result = _reflash(rig, image)
    assert rig.board.stats.erases == 0 and rig.board.stats.program_units == 0
    assert rig.backend.page_erases() == []
    (target,) = result.targets
    assert target.verified is True and target.bytes_written == 0
    assert target.skipped_sectors == tuple(APP_ADDRESS + PAGE * i for i in range(20))
    assert target.bytes_compared == 20 * PAGE
    assert rig.board.memory(0).read(APP_ADDRESS, 20 * PAGE) == image.read(APP_ADDRESS, 20 * PAGE)


def test_one_changed_page_rewrites_that_page_and_the_vector_table_page(rig: Rig) -> None:
    image = app_image(20 * PAGE)
    flash(rig.env, ANY, image)
    data = _changed(image.segments[0].data, 10 * PAGE + 100)
    result = _reflash(rig, _with(data))
    changed = APP_ADDRESS + 10 * PAGE
    # The vector table's page is rewritten too: erased first, its first block written last.
    assert rig.backend.page_erases() == [APP_ADDRESS, changed]
    # Read back all 20 pages, read the near miss once more; program; verify what was written.
    compare = [APP_ADDRESS, changed]
    program = [APP_ADDRESS + 0x400, changed, APP_ADDRESS]
    verify = [APP_ADDRESS]  # the whole image, once the memory was changed
    assert rig.backend.set_addresses() == compare + program + verify
    (target,) = result.targets
    assert target.bytes_written == 2 * PAGE and len(target.skipped_sectors) == 18
    assert rig.board.memory(0).read(APP_ADDRESS, 20 * PAGE) == data


def test_a_change_in_the_vector_table_page_touches_that_page_only(rig: Rig) -> None:
    image = app_image(20 * PAGE)
    flash(rig.env, ANY, image)
    data = _changed(image.segments[0].data, 0x500)
    _reflash(rig, _with(data))
    assert rig.backend.page_erases() == [APP_ADDRESS]
    assert rig.board.stats.program_units == PAGE // 2


def test_one_corrupted_byte_in_an_otherwise_identical_sector_gets_it_rewritten(rig: Rig) -> None:
    image = app_image(8 * PAGE)
    flash(rig.env, ANY, image)
    bad = APP_ADDRESS + 5 * PAGE + 33
    rig.board.memory(0).load(bad, bytes([image.read(bad, 1)[0] ^ 0x01]))
    result = _reflash(rig, image)
    assert rig.backend.page_erases() == [APP_ADDRESS, APP_ADDRESS + 5 * PAGE]
    assert rig.board.memory(0).read(APP_ADDRESS, 8 * PAGE) == image.read(APP_ADDRESS, 8 * PAGE)
    assert result.warnings == ()  # an ordinary change: read twice, both reads agree


def test_erased_ranges_count_a_sector_with_stale_bytes_outside_the_image_is_rewritten(
    rig: Rig,
) -> None:
    image = app_image(PAGE + 100)  # the second page is mostly outside the image: 0xFF there
    flash(rig.env, ANY, image)
    rig.board.memory(0).load(APP_ADDRESS + PAGE + 1000, b"old!")  # stale bytes past the image
    _reflash(rig, image)
    assert rig.backend.page_erases() == [APP_ADDRESS, APP_ADDRESS + PAGE]
    assert rig.board.memory(0).read(APP_ADDRESS + PAGE + 1000, 4) == b"\xff" * 4


def test_a_sector_reading_back_differently_twice_takes_the_full_path_and_says_so(
    rig: Rig,
) -> None:
    image = app_image(6 * PAGE)
    flash(rig.env, ANY, image)
    rig.board.faults.garble_next_read(APP_ADDRESS + 3 * PAGE + 7)  # a read glitch, memory fine
    result = _reflash(rig, image)
    assert rig.backend.page_erases() == [APP_ADDRESS, APP_ADDRESS + 3 * PAGE]
    (warning,) = result.warnings
    assert f"0x{APP_ADDRESS + 3 * PAGE:08x}" in warning and "differently twice" in warning
    plan = result.plans[0]
    assert any("differently twice" in line for line in plan.describe())


def test_a_refused_read_back_falls_back_to_the_full_path(rig: Rig) -> None:
    image = app_image(4 * PAGE)
    flash(rig.env, ANY, image)
    rig.board.faults.fail_next("upload", Status.ERR_VENDOR, APP_ADDRESS)  # read protection
    result = _reflash(rig, image)
    assert rig.backend.page_erases() == [APP_ADDRESS + PAGE * i for i in range(4)]
    assert result.verified is True
    assert any("refused to read it back" in w for w in result.warnings)


def test_a_device_that_cannot_upload_is_flashed_in_full() -> None:
    board = VirtualBoard("stm3210e-eval")
    profile = board.profile
    no_upload = type(profile)(
        **{
            **{f: getattr(profile, f) for f in profile.__dataclass_fields__},
            "attributes": profile.attributes & ~Attributes.CAN_UPLOAD,
        }
    )
    rig = make_rig(VirtualBoard(no_upload))
    image = app_image(2 * PAGE)
    result = flash(rig.env, ANY, image, verify=False)
    assert rig.backend.page_erases() == [APP_ADDRESS, APP_ADDRESS + PAGE]
    assert any("cannot upload" in w for w in result.warnings)


def test_full_turns_delta_off(rig: Rig) -> None:
    image = app_image(4 * PAGE)
    flash(rig.env, ANY, image)
    result = _reflash(rig, image, delta=False)
    assert rig.backend.page_erases() == [APP_ADDRESS + PAGE * i for i in range(4)]
    assert result.targets[0].skipped_sectors == ()


def test_dry_run_shows_the_skipped_sectors_and_why(rig: Rig) -> None:
    image = app_image(6 * PAGE)
    flash(rig.env, ANY, image)
    data = _changed(image.segments[0].data, 4 * PAGE)
    result = _reflash(rig, _with(data), dry_run=True)
    lines = result.plans[0].describe()
    text = "\n".join(lines)
    assert "rewrite 0x08003000..0x080037ff (1 sector, 2 KiB): holds the vector table" in text
    assert "skip 0x08003800..0x08004fff (3 sectors, 6 KiB): already holds exactly" in text
    assert "rewrite 0x08005000..0x080057ff (1 sector, 2 KiB): holds other bytes" in text
    assert rig.board.stats.erases == 0 and rig.board.stats.program_units == 0


def test_an_external_memory_change_also_rewrites_the_vector_table_page(rig: Rig) -> None:
    # Anything written at all means the application may be inconsistent until the end: its
    # vector table stays erased meanwhile, whichever memory changed.
    app = app_image(4 * PAGE)
    flash(rig.env, ANY, app)
    flash(rig.env, ANY, ImageSource(blob(SPI, 3000), alt=1))
    rig.board.stats.reset()
    rig.backend.log.clear()
    dfu = DfuseFile(
        (
            DfuseTarget.from_image(0, app, "Internal Flash"),
            DfuseTarget.from_image(1, blob(SPI, 3000, seed=9), "SPI Flash"),
        )
    )
    result = flash(rig.env, ANY, dfu)
    assert rig.backend.page_erases() == [APP_ADDRESS, SPI]
    internal, spi = result.targets
    assert len(internal.skipped_sectors) == 3 and spi.skipped_sectors == ()
    # The SPI data goes before the application's first block, which is written last of all.
    assert rig.backend.set_addresses()[-4:-2] == [SPI, APP_ADDRESS]


def test_delta_flash_cut_off_mid_way_leaves_the_board_in_its_bootloader(rig: Rig) -> None:
    image = app_image(20 * PAGE)
    flash(rig.env, ANY, image, leave=True)
    assert rig.board.running == "application"
    data = bytearray(image.segments[0].data)
    for page in (6, 12, 18):
        data[page * PAGE + 50] ^= 0xFF
    rig.board.stats.reset()
    # Cut the cable while the changed pages are being programmed.
    rig.board.faults.disconnect_after(140)
    with pytest.raises(DeviceDisconnectedError, match="during program"):
        flash(rig.env, ANY, _with(bytes(data)))
    assert rig.board.stats.program_units > 0
    rig.board.power_cycle()
    assert rig.board.memory(0).read(APP_ADDRESS, 8) == b"\xff" * 8
    assert rig.board.running == "bootloader"
