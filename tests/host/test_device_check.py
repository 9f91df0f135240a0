"""ops.check_firmware: every pre-flight finding on the device's own layouts, nothing written."""

from __future__ import annotations

import pytest

from pydfuse.demoapp import build_demo_app
from pydfuse.errors import DeviceNotFoundError
from pydfuse.formats import DfuseFile, DfuseTarget
from pydfuse.ops import DeviceSelector, check_firmware, flash
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import Request
from support.boards import APP_ADDRESS, Rig, app_image, blob, make_rig

ANY = DeviceSelector()
SRAM = (0x20000000, 0x20010000)


def _dfu(*targets: DfuseTarget) -> DfuseFile:
    return DfuseFile(tuple(targets))


def test_a_good_three_memory_file_is_ok_with_a_plan_per_target(rig: Rig) -> None:
    dfu = _dfu(
        DfuseTarget.from_image(0, app_image(4096), "Internal Flash"),
        DfuseTarget.from_image(1, blob(0x0, 70_000), "SPI Flash"),
        DfuseTarget.from_image(2, blob(0x64000000, 1000), "NOR Flash"),
    )
    result = check_firmware(rig.env, ANY, dfu, sram=SRAM, app_address=APP_ADDRESS)
    assert result.ok and result.report.count("error") == 0
    assert [t.info.alt for t in result.targets] == [0, 1, 2]
    plans = [t.plan for t in result.targets]
    assert all(p is not None for p in plans)
    assert plans[1] is not None and len(plans[1].erases) == 2  # 70 000 bytes: two 64 KiB sectors
    assert result.to_dict()["targets"][1]["plan"]["memory"].startswith("SPI Flash")


def test_every_error_is_reported_not_just_the_first_and_nothing_is_written(rig: Rig) -> None:
    wrong_link = build_demo_app(link_address=0x08000000, load_address=APP_ADDRESS, size=4096)
    dfu = _dfu(
        DfuseTarget.from_image(0, wrong_link, "Internal Flash"),
        DfuseTarget.from_image(1, blob(0x64000000, 256), "SPI Flash"),  # a NOR address
    )
    before = rig.board.memory(0).read(APP_ADDRESS, 4096)
    result = check_firmware(rig.env, ANY, dfu, sram=SRAM, app_address=APP_ADDRESS)
    assert not result.ok
    codes = {f.code for f in result.report.findings if f.severity == "error"}
    assert "target.wrong-memory" in codes
    assert any(code.startswith("vector.") for code in codes)
    vector = next(f for f in result.report.findings if f.code.startswith("vector."))
    assert vector.address is not None and APP_ADDRESS <= vector.address < APP_ADDRESS + 4096
    assert all(t.plan is None for t in result.targets)
    assert rig.board.memory(0).read(APP_ADDRESS, 4096) == before
    assert rig.backend.commands(0x41) == []  # no erase command was sent
    assert not any(s.is_dnload and s.value >= 2 for s in rig.backend.log)  # no data block


def test_check_and_flash_agree_on_the_bootloader_overlap(rig: Rig) -> None:
    over_loader = app_image(2048, address=0x08002800)
    result = check_firmware(rig.env, ANY, over_loader, sram=SRAM, app_address=APP_ADDRESS)
    assert not result.ok
    error = next(f for f in result.report.findings if f.severity == "error")
    with pytest.raises(ValueError) as refused:
        flash(rig.env, ANY, over_loader, sram=SRAM, app_address=APP_ADDRESS)
    assert str(refused.value) == error.message


def test_a_running_application_is_not_detached_by_a_check() -> None:
    board = VirtualBoard("stm3210e-eval")
    rig = make_rig(board)
    flash(rig.env, ANY, app_image(4096), leave=True)
    assert board.running == "application"
    rig.backend.log.clear()
    with pytest.raises(DeviceNotFoundError, match="running its application"):
        check_firmware(rig.env, ANY, app_image(4096))
    assert board.running == "application"
    assert rig.backend.count(Request.DETACH) == 0
