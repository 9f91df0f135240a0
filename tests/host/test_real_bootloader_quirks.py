"""The programmer against the bootloaders as they really behave, not as the honest defaults do:
the F4 ROM's logged poll timeouts (mass erase reports 100 ms but takes seconds, §2.8, §7.3) and
the ST USB-FS demo's fixed 50 ms, its request quirks and its unprotected loader area (§2.9)."""

from __future__ import annotations

from pydfuse.ops import DeviceSelector, flash
from pydfuse.sim import profiles
from pydfuse.sim.board import VirtualBoard
from support.boards import APP_ADDRESS, app_image, make_rig

ANY = DeviceSelector()


def test_f4_rom_mass_erase_that_outlasts_its_poll_timeout() -> None:
    f4 = profiles.get_profile("stm32f4-rom-quirks")
    assert f4.reported_poll_timeouts_ms == profiles.F4_ROM_REPORTED_POLL_MS
    rig = make_rig(VirtualBoard(f4))
    image = app_image(40_000, address=0x08000000)
    result = flash(rig.env, ANY, image, mass_erase=True)
    assert result.verified is True and result.mass_erased is True
    assert rig.board.memory(0).read(0x08000000, 40_000) == image.read(0x08000000, 40_000)
    # The device reported 100 ms; the host was held (NAK) until the real erase ended.
    assert rig.board.stats.held_s > 1.0
    assert result.elapsed_s >= rig.board.stats.erase_s


def test_the_faithful_st_demo_is_flashed_and_left() -> None:
    demo = profiles.get_profile("stm3210e-eval-quirks")
    assert demo.fixed_poll_timeout_ms == 50 and demo.st_demo_requests
    assert not demo.enforce_readonly
    rig = make_rig(VirtualBoard(demo))
    image = app_image(40_000)
    result = flash(rig.env, ANY, image, leave=True)
    assert result.verified is True and result.left is True
    assert rig.board.running == "application" and rig.board.vector_table == APP_ADDRESS
