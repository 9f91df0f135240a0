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
    """Wall-clock time (real-time mode): modeled time passes on the wall clock.

    ``scale`` compresses modeled time: with 50, a modeled second passes in 20 ms of wall time,
    so a benchmark can run many boards in real time without waiting minutes.

    Waits are exact in modeled time but batched on the wall clock: :meth:`sleep` moves this
    clock's time on at once (``monotonic`` never runs behind what was slept) and really sleeps
    only when the clock is ahead of the wall clock by ``batch_s`` or more. A full-speed
    control transfer costs tens of microseconds, less than one ``time.sleep`` call itself
    (timer slack); sleeping each one would make the board several times slower than modeled.
    """

    __slots__ = ("_ahead", "batch_s", "scale")

    def __init__(self, scale: float = 1.0, *, batch_s: float = 0.002) -> None:
        if not scale > 0 or scale == float("inf"):
            raise ValueError(f"the time scale must be a positive number, not {scale}")
        self.scale = float(scale)
        self.batch_s = batch_s
        self._ahead = 0.0  # modeled time already slept but not yet passed on the wall clock

    def _wall(self) -> float:
        return time.monotonic() * self.scale

    def monotonic(self) -> float:
        return max(self._ahead, self._wall())

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds} s)")
        self._ahead = self.monotonic() + seconds
        self._catch_up()

    def advance_to(self, t: float) -> None:
        """Sleep until :meth:`monotonic` reaches ``t`` (no-op if already past)."""
        if t > self.monotonic():
            self._ahead = t
            self._catch_up()

    def _catch_up(self) -> None:
        lead = (self._ahead - self._wall()) / self.scale  # wall seconds the clock is ahead
        if lead >= self.batch_s:
            time.sleep(lead)

    def __repr__(self) -> str:
        return "RealTimeClock()" if self.scale == 1 else f"RealTimeClock(scale={self.scale:g})"
