"""Progress events and "where were we" for error messages (layer: ops).

Imports ``pydfuse.errors`` and the sibling ``records``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydfuse.errors import DeviceDisconnectedError, DfuseError
from pydfuse.ops.records import Phase, ProgressEvent

Progress = Callable[[ProgressEvent], None]


@dataclass(slots=True)
class Tracker:
    """Where a running operation is, for progress events and for error messages."""

    progress: Progress | None
    phase: Phase = "erase"
    done: int = 0
    total: int = 0
    address: int | None = None

    def start(self, phase: Phase, total: int, *, open_ended: bool = False) -> None:
        """Begin ``phase``; a first event (0 of ``total``) marks when it started, so views can
        time it and show it while its first step (a long mass erase) is still running.
        ``open_ended``: the size is known only at the end (total 0 until :meth:`finish`)."""
        self.phase, self.done, self.total, self.address = phase, 0, total, None
        if self.progress is not None and (total > 0 or open_ended):
            self.progress(ProgressEvent(phase, 0, total, None))

    def step(self, address: int, n_bytes: int) -> None:
        self.done += n_bytes
        self.address = address
        if self.progress is not None:
            self.progress(ProgressEvent(self.phase, self.done, self.total, address))

    def finish(self) -> None:
        """End a phase whose size was not known when it started (a plain DFU upload runs until
        the device sends a short block): one last event with the total that it turned out."""
        if self.total <= 0:
            self.total = self.done
            if self.progress is not None and self.done > 0:
                self.progress(ProgressEvent(self.phase, self.done, self.done, self.address))

    def where(self) -> str:
        at = f" at 0x{self.address:08x}" if self.address is not None else ""
        return f"{self.phase}{at} ({self.done} of {self.total} bytes done)"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a device operation, saying where it stopped and what that left on the
    device (still a KeyboardInterrupt: whoever stops on one, stops on this)."""

    def __init__(self, message: str, *, phase: Phase, address: int | None) -> None:
        super().__init__(message)
        self.phase, self.address = phase, address
        self.hint = "run the same command again to finish the job"
        self.warnings: tuple[str, ...] = ()  # as DfuseError.warnings


@contextmanager
def carrying(warnings: list[str]) -> Iterator[None]:
    """A DfuseError or Ctrl-C raised inside leaves with ``warnings`` (as they stand then) in
    its ``warnings``: a flash that fails still says what --force had overridden."""
    try:
        yield
    except (DfuseError, Interrupted) as error:
        error.warnings = tuple(warnings)
        raise


@contextmanager
def disconnect_context(tracker: Tracker) -> Iterator[None]:
    """Say where we were when the device dropped off the bus, or Ctrl-C stopped us."""
    try:
        yield
    except DeviceDisconnectedError as exc:
        raise DeviceDisconnectedError(
            f"the device disconnected during {tracker.where()}; {_CONSEQUENCE[tracker.phase]}",
            hint="reconnect the board in DFU mode and run the same command again",
        ) from exc
    except KeyboardInterrupt as exc:
        if isinstance(exc, Interrupted):
            raise
        raise Interrupted(
            f"interrupted during {tracker.where()}; {_CONSEQUENCE[tracker.phase]}",
            phase=tracker.phase,
            address=tracker.address,
        ) from None


# What a lost device means for its memory, by the phase it was lost in.
_CONSEQUENCE: dict[Phase, str] = {
    "compare": "nothing on the device was changed yet",
    "erase": "its memory is only partly erased",
    "program": "its memory is only partly written",
    "verify": "everything was written, but not all of it was read back",
    "upload": "nothing on the device was changed, but the read is incomplete",
}
