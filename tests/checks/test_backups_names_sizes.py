"""``check`` agrees with ``flash`` about full backups, names a target packed for the wrong
memory, and measures an image against the part of the memory it can be written to."""

from __future__ import annotations

from pydfuse.checks import TargetImage, preflight
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import Image
from support.images import E_EVAL_MEMORIES, E_EVAL_SRAM

BOOTLOADER = build_demo_app(link_address=0x08000000, size=0x3000)


def _full_backup(app: Image | None) -> Image:
    """What `dfuse upload` reads from the E-EVAL's internal flash: every byte."""
    flash = bytearray(b"\xff" * 512 * 1024)
    for image in (BOOTLOADER, app) if app is not None else (BOOTLOADER,):
        for segment in image:
            offset = segment.address - 0x08000000
            flash[offset : offset + len(segment.data)] = segment.data
    return Image.from_segments([(0x08000000, bytes(flash))])


def _check(*targets: TargetImage, **kw):  # type: ignore[no-untyped-def]
    return preflight(list(targets), E_EVAL_MEMORIES, sram=E_EVAL_SRAM, **kw)


def test_full_backup_with_only_a_profile_names_the_bootloader_bytes_as_a_note() -> None:
    for app in (build_demo_app(), None):  # a board with an application, and one without
        report = _check(TargetImage(0, "Internal Flash", _full_backup(app)), app_address=0x08003000)
        assert report.ok, report.findings
        infos = [f for f in report.findings if f.severity == "info"]
        assert infos[0].code == "placement.read-only-backup"
        assert infos[0].message.startswith(
            "0x08000000..0x08002fff lies in read-only sectors of Internal Flash (the "
            "bootloader): this is a full backup, and flash leaves these bytes out when the "
            "device already holds them"
        )
        assert "link it for" not in " ".join(f.message for f in report.findings)
        assert report.targets[0].application
    empty = _check(TargetImage(0, "Internal Flash", _full_backup(None)))
    assert [f.code for f in empty.findings] == ["placement.read-only-backup", "vector.erased"]
    assert "this backup holds no application at 0x08003000" in empty.findings[1].message


def test_an_image_overlapping_the_bootloader_is_still_an_error() -> None:
    app = build_demo_app(link_address=0x08000000, size=16 * 1024)
    report = _check(TargetImage(0, "app", app))
    assert not report.ok
    assert report.findings[0].code == "placement.read-only"
    assert report.findings[0].message.endswith("link it for 0x08003000")


def test_left_out_bytes_from_a_device_comparison_are_notes() -> None:
    rest = build_demo_app()
    report = _check(
        TargetImage(0, "Internal Flash", rest, left_out=((0x08000000, 0x08003000),)),
        device_compared=True,
    )
    assert report.ok
    assert [(f.severity, f.code) for f in report.findings] == [("info", "placement.left-out")]
    assert report.findings[0].message == (
        "left out 0x08000000..0x08002fff of Internal Flash: read-only sectors that already "
        "hold exactly these bytes (e.g. the bootloader in a full backup)"
    )
    # compared with the device, read-only bytes it does not hold stay an error
    differing = _check(TargetImage(0, "Internal Flash", _full_backup(rest)), device_compared=True)
    assert not differing.ok and differing.findings[0].code == "placement.read-only"


def test_size_is_measured_against_the_writable_part() -> None:
    too_big = build_demo_app(size=510 * 1024)
    report = _check(TargetImage(0, "app", too_big))
    assert report.findings[0].message == (
        "this image holds 510 KiB: 10 KiB too large for the 500 KiB writable behind the "
        "bootloader (from 0x08003000)"
    )
    fits = _check(TargetImage(0, "app", build_demo_app(size=500 * 1024)))
    assert fits.ok


def test_target_named_for_another_memory_is_a_warning() -> None:
    nor_data = build_data_blob(0x00000000, 4096)
    report = _check(TargetImage(1, "NOR Flash", nor_data, target_name="NOR Flash"))
    assert report.ok
    assert [(f.severity, f.code) for f in report.findings] == [("warning", "target.name-mismatch")]
    assert report.findings[0].message == (
        "target 1 is named 'NOR Flash' but alternate 1 of this device is SPI Flash : M25P64; "
        "NOR Flash : M29W128F is alternate 2 — was it packed for the wrong one?"
    )
    unknown = _check(TargetImage(1, "x", nor_data, target_name="Option Bytes"))
    assert [f.code for f in unknown.findings] == ["target.name-mismatch"]
    for fine in ("SPI Flash", "spi flash : W25Q64", "ST...", "", "resources", "SPI"):
        same = _check(TargetImage(1, "x", nor_data, target_name=fine))
        assert same.findings == (), fine
