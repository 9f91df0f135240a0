"""flash() against the virtual STM3210E-EVAL through real pyusb."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.errors import DeviceDisconnectedError, PlanError, VerifyError
from pydfuse.formats import DfuseFile, DfuseTarget
from pydfuse.ops import DeviceSelector, ImageSource, ProgressEvent, flash, upload
from pydfuse.spec import DfuseCommand
from support.boards import APP_ADDRESS, Rig, app_image, blob

ANY = DeviceSelector()
SPI = 0x00000000
NOR = 0x64000000


def test_flash_single_image_lands_in_internal_flash(rig: Rig) -> None:
    image = app_image(10_000)
    result = flash(rig.env, ANY, image)
    assert rig.board.memory(0).read(APP_ADDRESS, 10_000) == image.segments[0].data
    assert result.verified is True and not result.dry_run and not result.left
    (target,) = result.targets
    assert target.alt == 0 and target.bytes_written == 10_000
    # 10 000 bytes from 0x08003000 touch 5 pages of 2 KB, each erased exactly once.
    assert target.erased_sectors == tuple(APP_ADDRESS + 0x800 * i for i in range(5))
    assert result.to_dict()["bytes_written"] == 10_000


def test_each_sector_erased_once_and_one_set_address_per_run(rig: Rig) -> None:
    # Two runs sharing page 0x08003800: the page must be erased once, before both writes.
    image = app_image(0x900).merged_with(blob(APP_ADDRESS + 0xA00, 0x500))
    flash(rig.env, ANY, image, delta=False)  # the full path: no read-back before the erases
    erases = rig.backend.page_erases()
    assert erases == [APP_ADDRESS, APP_ADDRESS + 0x800]
    programs = [s for s in rig.backend.log if s.is_dnload and s.value >= 2]
    set_addresses = rig.backend.set_addresses()
    # One Set Address per written run (the vector-table block of alt 0 is a run of its own,
    # written last), one per verified run: nothing per block.
    written = [APP_ADDRESS + 0x400, APP_ADDRESS + 0xA00, APP_ADDRESS]
    assert set_addresses == [*written, APP_ADDRESS, APP_ADDRESS + 0xA00]
    # wBlockNum counts 2, 3, ... within a run; every block but a run's last is full size.
    assert [s.value for s in programs] == [2, 3, 2, 3, 2]
    assert [len(s.data or b"") for s in programs] == [1024, 256, 1024, 256, 1024]
    content = rig.board.memory(0).read(APP_ADDRESS, 0xF00)
    assert content == image.read(APP_ADDRESS, 0xF00)


def test_multi_target_dfu_in_one_session(rig: Rig, tmp_path: Path) -> None:
    internal, spi, nor = app_image(4096), blob(SPI + 0x10000, 3000), blob(NOR, 2500, seed=5)
    path = tmp_path / "multi.dfu"
    DfuseFile(
        targets=(
            DfuseTarget.from_image(0, internal, "ST..."),
            DfuseTarget.from_image(1, spi, "SPI"),
            DfuseTarget.from_image(2, nor, "NOR"),
        )
    ).write(path)
    result = flash(rig.env, ANY, path)
    assert [t.alt for t in result.targets] == [0, 1, 2]
    assert rig.board.memory(0).read(APP_ADDRESS, 4096) == internal.segments[0].data
    assert rig.board.memory(1).read(SPI + 0x10000, 3000) == spi.segments[0].data
    assert rig.board.memory(2).read(NOR, 2500) == nor.segments[0].data
    assert result.verified is True
    assert rig.board.stats.enumerations == 1  # one session: the device was never re-opened


def test_image_for_a_named_alternate(rig: Rig) -> None:
    data = blob(SPI, 1500)
    flash(rig.env, ANY, ImageSource(data, alt="spi"))
    assert rig.board.memory(1).read(SPI, 1500) == data.segments[0].data


def test_progress_events_cover_every_phase(rig: Rig) -> None:
    events: list[ProgressEvent] = []
    flash(rig.env, ANY, app_image(3000), progress=events.append)
    phases = [e.phase for e in events]
    assert phases.index("erase") < phases.index("program") < phases.index("verify")
    last = {e.phase: e for e in events}
    assert all(e.done_bytes == e.total_bytes for e in last.values())
    assert last["program"].total_bytes == 3000
    first: dict[str, ProgressEvent] = {}
    for event in events:
        first.setdefault(event.phase, event)
    # Each phase opens with 0 of its total: views time it from its real start.
    assert all(e.done_bytes == 0 and e.total_bytes > 0 for e in first.values())


def test_dry_run_writes_nothing(rig: Rig) -> None:
    before = rig.board.memory(0).read(APP_ADDRESS, 2048)
    result = flash(rig.env, ANY, app_image(2048), dry_run=True)
    assert result.dry_run and result.plans and result.plans[0].erases
    assert rig.board.memory(0).read(APP_ADDRESS, 2048) == before
    # The sectors were read back to plan the delta: a Set Address for that, nothing else.
    downloads = [s for s in rig.backend.log if s.is_dnload]
    assert [s.command() for s in downloads] == [DfuseCommand.SET_ADDRESS_POINTER]
    assert rig.board.stats.erases == 0 and rig.board.stats.program_units == 0


def test_refuses_the_bootloader_area_without_force(rig: Rig) -> None:
    with pytest.raises(PlanError):
        flash(rig.env, ANY, app_image(1024, address=0x08000000))
    # Nothing erased or written. (The bootloader's bytes were read and compared first: equal
    # bytes would have been left out, as when a full backup is flashed back.)
    assert rig.backend.page_erases() == []
    assert [s for s in rig.backend.log if s.is_dnload and s.value >= 2] == []
    assert rig.backend.set_addresses() == [0x08000000]


def test_a_full_backup_flashes_back(rig: Rig) -> None:
    bootloader = bytes((i * 7) & 0xFF for i in range(0x3000))
    rig.board.memory(0).load(0x08000000, bootloader)
    app = app_image(6000)
    flash(rig.env, ANY, app)
    backup = upload(rig.env, ANY, alt=0).image  # 512 KiB: bootloader + app + erased flash
    assert backup.size == 512 * 1024
    flash(rig.env, ANY, app_image(9000, seed=5))  # another application meanwhile
    rig.backend.log.clear()
    result = flash(rig.env, ANY, backup)
    assert any("left out 0x08000000..0x08002fff" in w for w in result.warnings)
    assert rig.board.memory(0).read(0x08000000, 0x3000) == bootloader
    assert rig.board.memory(0).read(APP_ADDRESS, 9000) == app.read(APP_ADDRESS, 9000)
    # Only the blocks that are not all 0xFF after the erase are sent: 6000 bytes = 6 blocks.
    assert len([s for s in rig.backend.log if s.is_dnload and s.value >= 2]) == 6
    assert result.verified is True


def test_verify_reports_the_first_differing_address(rig: Rig) -> None:
    image = app_image(4096)
    corrupted = APP_ADDRESS + 3000

    def corrupt(event: ProgressEvent) -> None:
        # A back-door write between programming and verification (a flaky flash cell).
        if event.phase == "program" and event.done_bytes == event.total_bytes:
            rig.board.memory(0).load(corrupted, b"\x00")

    with pytest.raises(VerifyError) as info:
        flash(rig.env, ANY, image, progress=corrupt)
    assert info.value.address == corrupted
    assert info.value.expected == image.segments[0].data[3000]
    assert info.value.actual == 0


def test_flash_then_leave_runs_the_application(rig: Rig) -> None:
    result = flash(rig.env, ANY, app_image(4096), leave=True)
    assert result.left is True
    assert rig.board.running == "application"


def test_leave_after_an_external_memory_update_sends_no_foreign_pointer(rig: Rig) -> None:
    # An update of the SPI flash alone must not point the jump at the SPI address 0x00000000:
    # without an alt-0 image, leave uses the device's own default pointer (§2.5).
    flash(rig.env, ANY, app_image(4096))
    rig.backend.log.clear()
    result = flash(rig.env, ANY, ImageSource(blob(SPI, 3000), alt=1), leave=True)
    assert result.left is True
    # One for the delta read-back, one for the data run, one for its verify; none before the
    # leave.
    assert rig.backend.set_addresses() == [SPI, SPI, SPI]
    assert rig.board.running == "application" and rig.board.vector_table == APP_ADDRESS


def test_leave_after_a_dfu_with_an_app_jumps_to_the_app(rig: Rig) -> None:
    dfu = DfuseFile(
        (
            DfuseTarget.from_image(0, app_image(4096), "Internal Flash"),
            DfuseTarget.from_image(1, blob(SPI, 1000), "SPI Flash"),
        )
    )
    flash(rig.env, ANY, dfu, leave=True)
    assert rig.backend.set_addresses()[-1] == APP_ADDRESS
    assert rig.board.running == "application"


def test_vector_table_is_written_last_so_a_cut_update_stays_in_dfu(rig: Rig) -> None:
    # Pull the cable half-way through programming: the first block (the vector table) has not
    # been written yet, so after a reset the bootloader finds no valid application (§5.2).
    image = app_image(20_000)
    rig.board.faults.disconnect_after(80)  # past the 10 erases, inside the programming
    with pytest.raises(DeviceDisconnectedError, match="during program"):
        flash(rig.env, ANY, image)
    rig.board.power_cycle()
    assert rig.board.memory(0).read(APP_ADDRESS + 0x400, 16) == image.read(APP_ADDRESS + 0x400, 16)
    assert rig.board.memory(0).read(APP_ADDRESS, 8) == b"\xff" * 8
    assert rig.board.running == "bootloader"
