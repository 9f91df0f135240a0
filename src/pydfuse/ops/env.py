"""Where devices come from: real USB (libusb) or a virtual board (layer: ops).

Imports ``pydfuse.host`` and, lazily inside :func:`sim_environment`, ``pydfuse.sim``. Backends
and clocks are passed in explicitly, never probed (design.md, principle 5).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydfuse.errors import FormatError
from pydfuse.host.clock import Clock, SystemClock
from pydfuse.host.trace import Sink, TracingBackend
from pydfuse.host.usb import libusb_backend


@dataclass(frozen=True, slots=True)
class Environment:
    """A pyusb backend (None = libusb through libusb_package's bundled library) and a clock."""

    backend: Any = None
    clock: Clock = field(default_factory=SystemClock)

    def resolved_backend(self) -> Any:
        """The backend to hand to pyusb; loads libusb on first use when none was given."""
        return self.backend if self.backend is not None else libusb_backend()


@dataclass(frozen=True, slots=True)
class SimEnvironment(Environment):
    """An environment on a virtual board; ``board`` is the ``pydfuse.sim.board.VirtualBoard``."""

    board: Any = None


def traced(env: Environment, sinks: list[Sink], *, keep_data: bool = False) -> Environment:
    """``env`` with every bus event (device opened, control transfer, bus reset) handed to
    ``sinks`` as a record (:mod:`pydfuse.host.trace`); firmware data hashed unless
    ``keep_data``. A SimEnvironment stays one (same board)."""
    backend = TracingBackend(env.resolved_backend(), env.clock, sinks, keep_data=keep_data)
    return replace(env, backend=backend)


def usb_environment() -> Environment:
    """Real hardware: libusb and the system clock."""
    return Environment(backend=libusb_backend(), clock=SystemClock())


@contextmanager
def sim_environment(
    profile: str, state_path: Path | None = None, *, realtime: bool = False
) -> Iterator[SimEnvironment]:
    """A virtual board of ``profile`` (loaded from ``state_path`` if that file exists) behind the
    simulator's pyusb backend, on the board's virtual clock (``realtime``: the wall clock, so
    every modeled erase and write really takes its time — for demos and UI work).

    The board is saved back to ``state_path`` on exit, also after a failure, so the state file
    always tells the truth about the virtual device.
    """
    from pydfuse.sim.backend import get_backend
    from pydfuse.sim.board import VirtualBoard
    from pydfuse.sim.clock import RealTimeClock

    if state_path is not None and Path(state_path).exists():
        try:
            board = VirtualBoard.load(state_path, clock=RealTimeClock() if realtime else None)
        except (ValueError, OSError) as error:
            # The sim reports a damaged or foreign file as ValueError (layer rule: sim never
            # imports pydfuse.errors); the user sees one line naming the file, not a traceback.
            detail = str(error).removeprefix(f"{state_path}: ")
            raise FormatError(
                detail,
                path=str(state_path),
                hint="delete the file to start from a fresh board, or give another --sim-state",
            ) from error
    else:
        board = VirtualBoard(profile, realtime=realtime)
    try:
        yield SimEnvironment(backend=get_backend(board), clock=board.clock, board=board)
    finally:
        if state_path is not None:
            board.save(state_path)
