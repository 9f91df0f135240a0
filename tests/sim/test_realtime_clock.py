"""The real-time clock of --sim-realtime: modeled time passes on the wall clock, compressed by
the time scale, and no wait ends before its modeled time is up (issue #11)."""

from __future__ import annotations

import time

import pytest

from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.clock import RealTimeClock


def test_a_scaled_clock_waits_a_fraction_of_the_modeled_time() -> None:
    clock = RealTimeClock(100)
    start, wall = clock.monotonic(), time.monotonic()
    clock.sleep(2.0)  # two modeled seconds: 20 ms of wall time
    assert clock.monotonic() - start >= 2.0
    assert 0.018 <= time.monotonic() - wall < 1.5


def test_short_waits_are_batched_but_never_run_behind() -> None:
    clock = RealTimeClock(1.0)
    start = clock.monotonic()
    for _ in range(100):
        before = clock.monotonic()
        clock.sleep(20e-6)  # a control transfer's bus time
        assert clock.monotonic() >= before + 20e-6
    assert clock.monotonic() - start >= 100 * 20e-6
    clock.advance_to(clock.monotonic() + 0.005)
    assert clock.monotonic() >= start + 0.005


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan")])
def test_a_time_scale_must_be_a_positive_number(scale: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RealTimeClock(scale)


def test_a_realtime_board_runs_on_its_scaled_clock() -> None:
    board = VirtualBoard("stm3210e-eval", realtime=True, time_scale=50)
    assert isinstance(board.clock, RealTimeClock) and board.clock.scale == 50
