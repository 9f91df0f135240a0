"""Time as an injected seam: the ``Clock`` protocol and the real ``SystemClock`` (layer: host).

Imports nothing from pydfuse. Every wait in the host layer goes through a ``Clock`` so that the
simulator's virtual clock can stand in for real time and tests never really sleep (design.md,
principle 5).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time and can wait."""

    def monotonic(self) -> float:
        """Seconds since an arbitrary, fixed origin; never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (0 or more)."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
