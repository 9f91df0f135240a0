"""CPU meters for the benchmarks: how much of a run's CPU time the simulator took."""

from __future__ import annotations

import threading
import time
from typing import Any

from pydfuse.sim.backend import SimBackend


class SimCpu:
    """CPU time of every thread inside the simulator's pyusb backend (every control transfer,
    the board model included), so the host's share is the total minus this. Use as a context
    manager: it wraps ``SimBackend.ctrl_transfer`` while active."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._original = SimBackend.ctrl_transfer

    def __enter__(self) -> SimCpu:
        original, meter = self._original, self

        def ctrl_transfer(backend: SimBackend, *args: Any) -> Any:
            start = time.thread_time()
            try:
                return original(backend, *args)
            finally:
                spent = time.thread_time() - start
                with meter._lock:
                    meter.seconds += spent

        SimBackend.ctrl_transfer = ctrl_transfer  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        SimBackend.ctrl_transfer = self._original  # type: ignore[method-assign]
