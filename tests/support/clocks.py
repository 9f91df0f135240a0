"""A clock that only moves when told, for views and waits that take the time from a Clock."""

from __future__ import annotations


class StepClock:
    """``monotonic`` returns ``now``; ``sleep`` adds to it (nothing really waits)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
