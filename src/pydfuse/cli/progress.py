"""Progress bars for device commands (layer: cli).

Turns the small frozen :class:`pydfuse.ops.ProgressEvent` values into one rich progress bar per
phase (erase, program, verify, upload) with bytes and KB/s. Quiet when stderr is not a terminal,
with ``--quiet`` or with ``--json``, so scripts and logs get no control characters.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pydfuse.host.clock import Clock
from pydfuse.ops import ProgressEvent

_LABELS = {
    "compare": "Comparing",
    "erase": "Erasing",
    "program": "Programming",
    "verify": "Verifying",
    "upload": "Reading",
}


class ProgressView:
    """A callable receiving progress events; draws bars on stderr while active."""

    def __init__(self, *, enabled: bool, clock: Clock | None = None) -> None:
        self.enabled = enabled
        self.clock = clock
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressView:
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=False,
                # Speed and time left on the environment's clock: the virtual board runs on
                # virtual time, and wall-clock rates of a simulation would be fiction.
                get_time=self.clock.monotonic if self.clock is not None else None,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: ProgressEvent) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(event.phase)
        if task is None:
            label = _LABELS.get(event.phase, event.phase)
            task = self._progress.add_task(label, total=max(event.total_bytes, 1))
            self._tasks[event.phase] = task
        self._progress.update(task, completed=event.done_bytes, total=max(event.total_bytes, 1))


@contextmanager
def progress_view(
    *, quiet: bool, as_json: bool, clock: Clock | None = None
) -> Iterator[ProgressView]:
    """Bars on an interactive stderr unless ``quiet`` or ``as_json``; rates on ``clock``."""
    enabled = not quiet and not as_json and sys.stderr.isatty()
    with ProgressView(enabled=enabled, clock=clock) as view:
        yield view
