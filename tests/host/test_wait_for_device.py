"""dfu-util's ``-w``: a device command waits, on the environment's clock, for its device to
appear — here a virtual board whose cable a hand plugs in 3 s after the command started."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from pydfuse import ops
from pydfuse.errors import DeviceNotFoundError
from pydfuse.ops import DeviceSelector
from support.boards import Rig


class _HandPlugsIn:
    """The board's own clock; when time passes ``at``, the board is powered up (plugged in)."""

    def __init__(self, rig: Rig, at: float) -> None:
        self._clock, self._rig, self._at = rig.board.clock, rig, at

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def sleep(self, seconds: float) -> None:
        before = self._clock.monotonic()
        self._clock.sleep(seconds)
        if before < self._at <= self._clock.monotonic():
            self._rig.board.power_cycle()


def _unplugged(rig: Rig, at: float) -> ops.Environment:
    rig.board.unplug()
    return ops.Environment(backend=rig.backend, clock=_HandPlugsIn(rig, at))


def test_waits_until_the_board_is_plugged_in(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    env = _unplugged(rig, at=3.0)
    start = env.clock.monotonic()
    with caplog.at_level(logging.INFO, logger="pydfuse.notice"):
        result = ops.upload(env, DeviceSelector(wait_s=math.inf), alt=0, length=16)
    assert len(result.image.read(result.image.start, 16)) == 16
    assert env.clock.monotonic() - start >= 3.0
    assert [r.getMessage() for r in caplog.records] == [
        "waiting for a DFU device (any) to appear..."
    ]


def test_without_wait_a_missing_board_is_an_error_at_once(rig: Rig) -> None:
    env = _unplugged(rig, at=3.0)
    with pytest.raises(DeviceNotFoundError, match="no DFU device found"):
        ops.upload(env, DeviceSelector(), alt=0, length=16)
    assert env.clock.monotonic() < 1.0


def test_a_bounded_wait_gives_up(rig: Rig) -> None:
    env = _unplugged(rig, at=30.0)
    with pytest.raises(DeviceNotFoundError, match="within 2 s of waiting"):
        ops.detach(env, DeviceSelector(wait_s=2.0))


def test_wait_honours_dfu_mode_ids(rig: Rig) -> None:
    env: Any = _unplugged(rig, at=1.0)
    sel = DeviceSelector(dfu_ids=True, runtime=False, dfu_vid=0x0483, dfu_pid=0xDF11, wait_s=5)
    info = ops.detach(env, sel)  # already in DFU mode once plugged in: returned as it is
    assert info.mode == "dfu" and info.id_text == "0483:df11"
