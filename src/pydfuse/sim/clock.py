"""Clocks for the virtual board (layer: sim; imports nothing from pydfuse).

The simulator runs on virtual time (design principle 5): every modeled cost (USB bus time, flash
erase/program, held requests) advances a :class:`VirtualClock`, and a host that is given the
board's clock and sleeps ``bwPollTimeout`` advances the same clock, so tests never really sleep.
:class:`RealTimeClock` has the same methods and uses the wall clock, for demos that want to feel
the device's real pace.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "RealTimeClock", "VirtualClock"]


class Clock(Protocol):
    """What the simulator (and the host) need from a clock: seconds, monotonic."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def advance_to(self, t: float) -> None: ...


class VirtualClock:
    """Simulated time in seconds; only moves when someone sleeps or advances it."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def monotonic(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds} s)")
        self._now += seconds

    def advance_to(self, t: float) -> None:
        """Move to time ``t``; a time in the past is ignored (time never runs backwards)."""
        if t > self._now:
            self._now = float(t)

    def __repr__(self) -> str:
        return f"VirtualClock(t={self._now:.6f})"


class RealTimeClock:
    """Wall-clock time: ``time.monotonic`` and ``time.sleep`` (real-time mode)."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds} s)")
        time.sleep(seconds)

    def advance_to(self, t: float) -> None:
        """Sleep until ``time.monotonic()`` reaches ``t`` (no-op if already past)."""
        delay = t - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def __repr__(self) -> str:
        return "RealTimeClock()"
