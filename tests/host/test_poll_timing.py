"""Flash time on the virtual clock against the simulator's physical minimum (issue: <= 1.05)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pydfuse.ops import DeviceSelector, flash
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import F4_ROM_REPORTED_POLL_MS, get_profile
from support.boards import APP_ADDRESS, app_image, make_rig

ANY = DeviceSelector()


@pytest.mark.parametrize(
    ("profile", "address", "size"),
    [
        ("stm3210e-eval", APP_ADDRESS, 500 * 1024),  # the whole user flash: 250 pages of 2 KB
        ("stm3210b-eval", APP_ADDRESS, 60 * 1024),
        ("stm32f4-rom", 0x08000000, 300 * 1024),
    ],
)
def test_flash_time_is_within_5_percent_of_the_physical_minimum(
    profile: str, address: int, size: int
) -> None:
    rig = make_rig(profile)
    start = rig.env.clock.monotonic()
    result = flash(rig.env, ANY, app_image(size, address=address))
    total = rig.env.clock.monotonic() - start
    stats = rig.board.stats
    assert result.bytes_written == size
    assert stats.held_s == 0.0  # never polled early: the device never had to NAK us
    assert total <= 1.05 * stats.device_s
    assert result.elapsed_s <= total


def test_a_pessimistic_poll_timeout_is_honoured_not_shortened() -> None:
    # ST demo: 50 ms reported for every block (§2.8) while the flash needs less. The host must
    # wait what the device says (DFU 1.1 §1.5), so the run is slower than the physical minimum
    # by exactly the difference, and the device is never polled early.
    profile = replace(get_profile("stm3210e-eval"), fixed_poll_timeout_ms=50)
    rig = make_rig(VirtualBoard(profile))
    flash(rig.env, ANY, app_image(8 * 1024), verify=False)
    assert rig.board.stats.held_s == 0.0
    assert rig.env.clock.monotonic() > 1.3 * rig.board.stats.device_s


def test_an_optimistic_poll_timeout_is_survived() -> None:
    # STM32F4 ROM: reports 100 ms for a 128 KB sector erase that takes ~1 s (§2.8); the device
    # NAKs the next GETSTATUS until it is done (§2.6) and the flash still succeeds.
    profile = replace(get_profile("stm32f4-rom"), reported_poll_timeouts_ms=F4_ROM_REPORTED_POLL_MS)
    rig = make_rig(VirtualBoard(profile))
    image = app_image(200 * 1024, address=0x08000000)
    result = flash(rig.env, ANY, image)
    assert result.verified is True
    assert rig.board.memory(0).read(0x08000000, 200 * 1024) == image.segments[0].data


def test_zero_poll_timeouts_are_backed_off_not_spun() -> None:
    # mboot / BMP style (§2.8): "0 ms" while busy. The host backs off (1, 2, 4 ... ms) and the
    # device NAKs a poll that comes too early, so the flash completes with few requests.
    profile = replace(get_profile("stm3210e-eval"), fixed_poll_timeout_ms=0)
    rig = make_rig(VirtualBoard(profile))
    image = app_image(16 * 1024)
    flash(rig.env, ANY, image)
    assert rig.board.memory(0).read(APP_ADDRESS, 16 * 1024) == image.segments[0].data
    statuses = sum(1 for s in rig.backend.log if s.request_type == 0xA1 and s.request == 3)
    dnloads = sum(1 for s in rig.backend.log if s.is_dnload)
    assert statuses <= 2 * dnloads + 4  # busy + idle per request, plus recovery


def test_absurd_poll_timeouts_are_capped() -> None:
    # §7.4: some devices report bogus bwPollTimeout values; 0xFFFFFF ms would be 4.6 hours.
    profile = replace(get_profile("stm3210e-eval"), fixed_poll_timeout_ms=0xFFFFFF)
    rig = make_rig(VirtualBoard(profile))
    flash(rig.env, ANY, app_image(2048), verify=False)
    waits = sum(1 for s in rig.backend.log if s.is_dnload)  # one capped wait per DNLOAD
    assert rig.env.clock.monotonic() <= waits * 61.0
