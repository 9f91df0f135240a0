"""Progress of device commands, times and rates (layer: cli).

Turns the small frozen :class:`pydfuse.ops.ProgressEvent` values into, on a terminal, one rich
progress bar per phase (erase, program, verify, upload); and when stderr is not a terminal (a CI
log, a pipe) or with ``--json``, into plain lines on stderr, one every 10 % or every 2 s,
whichever is rarer, and one when a phase ends. ``-q`` silences both. Sizes are KiB and rates
KiB/s everywhere; on the virtual board every time is the board's modeled time and says so.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TextIO

from pydfuse import ops
from pydfuse.cli.context import settings
from pydfuse.cli.render import human_size
from pydfuse.host.clock import Clock, SystemClock
from pydfuse.ops import ProgressEvent

_LABELS = {
    "compare": "Comparing",
    "erase": "Erasing",
    "program": "Programming",
    "verify": "Verifying",
    "upload": "Reading",
}
PHASE_LABELS = _LABELS  # for views of their own (cli.fleet: one row per board)
LINE_EVERY_PERCENT = 10
LINE_EVERY_S = 2.0


def rate_text(n_bytes: int, seconds: float) -> str:
    """``61.3 KiB/s`` (the one unit for rates; sizes are KiB, MiB via :func:`human_size`)."""
    return f"{n_bytes / seconds / 1024:.1f} KiB/s" if seconds > 0 else "-- KiB/s"


def time_text(seconds: float, *, modeled: bool) -> str:
    """``6.01 s``, or ``6.01 s modeled`` for a time on the virtual board's clock."""
    return f"{seconds:.2f} s" + (" modeled" if modeled else "")


@dataclass(slots=True)
class Stopwatch:
    """The environment's clock (modeled on the virtual board) and the wall clock, together."""

    clock: Clock
    modeled: bool
    _start: float = field(init=False, default=0.0)
    _wall: float = field(init=False, default=0.0)
    _stopped: tuple[float, float] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._start, self._wall = self.clock.monotonic(), time.perf_counter()

    def stop(self) -> None:
        """Freeze both times (what comes after, printing the result, does not count)."""
        if self._stopped is None:
            self._stopped = (self.elapsed(), self.wall())

    def elapsed(self) -> float:
        if self._stopped is not None:
            return self._stopped[0]
        return self.clock.monotonic() - self._start

    def wall(self) -> float:
        if self._stopped is not None:
            return self._stopped[1]
        return time.perf_counter() - self._wall

    def to_dict(self) -> dict[str, Any]:
        """``modeled_s`` (None on hardware) and ``wall_s`` for --json."""
        return {
            "modeled_s": round(self.elapsed(), 6) if self.modeled else None,
            "wall_s": round(self.wall(), 6),
        }


@dataclass(slots=True)
class _Phase:
    label: str
    started: float
    last_percent: int = 0
    last_at: float = 0.0
    last_done: int = 0
    done: bool = False


class ProgressLines:
    """Plain progress lines on ``stream`` (stderr): for logs that are not a terminal."""

    def __init__(self, clock: Clock | None, *, modeled: bool, stream: TextIO | None = None):
        self.clock = clock
        self.modeled = modeled
        self.stream = stream if stream is not None else sys.stderr
        self._phases: dict[str, _Phase] = {}

    def _now(self) -> float:
        return self.clock.monotonic() if self.clock is not None else time.monotonic()

    def __call__(self, event: ProgressEvent) -> None:
        now = self._now()
        phase = self._phases.get(event.phase)
        if phase is None or (phase.done and event.done_bytes < phase.last_done):
            # new, or running again (a full backup reads one memory after the other)
            label = _LABELS.get(event.phase, event.phase).lower()
            phase = self._phases[event.phase] = _Phase(label, now, last_at=now)
        if phase.done:
            return
        phase.last_done = event.done_bytes
        if event.total_bytes <= 0:
            self._unknown_total(phase, event, now)
            return
        total = max(event.total_bytes, 1)
        percent = min(100, event.done_bytes * 100 // total)
        took = now - phase.started
        if event.done_bytes >= event.total_bytes:
            phase.done = True
            self._write(
                f"{phase.label} 100% {human_size(event.total_bytes)} in "
                f"{time_text(took, modeled=self.modeled)} ({rate_text(event.total_bytes, took)})"
            )
            return
        if percent - phase.last_percent >= LINE_EVERY_PERCENT and now - phase.last_at >= (
            LINE_EVERY_S
        ):
            phase.last_percent, phase.last_at = percent, now
            self._write(
                f"{phase.label} {percent:3d}% {human_size(event.done_bytes)} of "
                f"{human_size(event.total_bytes)}, {rate_text(event.done_bytes, took)}, "
                f"{time_text(took, modeled=self.modeled)}"
            )

    def _unknown_total(self, phase: _Phase, event: ProgressEvent, now: float) -> None:
        """A read whose size only the device knows (plain DFU sends until a short block): a
        line every 2 s; ops sends the total with the last event, which gets the end line."""
        took = now - phase.started
        if event.done_bytes > 0 and now - phase.last_at >= LINE_EVERY_S:
            phase.last_at = now
            self._write(
                f"{phase.label} {human_size(event.done_bytes)} so far, "
                f"{rate_text(event.done_bytes, took)}, {time_text(took, modeled=self.modeled)}"
            )

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


class ProgressView:
    """A callable receiving progress events: rich bars on a terminal, plain lines otherwise
    (``plain``), nothing when not ``enabled``. Rates are taken on ``clock``."""

    def __init__(
        self,
        *,
        enabled: bool,
        clock: Clock | None = None,
        plain: bool = False,
        modeled: bool = False,
    ) -> None:
        self.enabled = enabled
        self.clock = clock
        self.plain = plain
        self.modeled = modeled
        self._progress: Any = None
        self._lines: ProgressLines | None = None
        self._tasks: dict[str, Any] = {}
        self.watch = Stopwatch(clock or SystemClock(), modeled)

    def __enter__(self) -> ProgressView:
        self.watch = Stopwatch(self.watch.clock, self.modeled)
        if self.enabled and self.plain:
            self._lines = ProgressLines(self.clock, modeled=self.modeled)
        elif self.enabled:
            self._progress = _bars(self.clock, modeled=self.modeled)
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.watch.stop()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._lines = None

    def __call__(self, event: ProgressEvent) -> None:
        if self._lines is not None:
            self._lines(event)
        if self._progress is None:
            return
        total = event.total_bytes if event.total_bytes > 0 else None  # None: size unknown yet
        task = self._tasks.get(event.phase)
        if task is None:
            label = _LABELS.get(event.phase, event.phase)
            task = self._progress.add_task(label, total=total)
            self._tasks[event.phase] = task
        self._progress.update(task, completed=event.done_bytes, total=total)


def _bars(clock: Clock | None, *, modeled: bool) -> Any:
    """A rich Progress on stderr: bytes in KiB, rate in KiB/s, both on ``clock``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class KibPerSecond(ProgressColumn):
        """rich's own speed column says kB/s (decimal) beside KiB: one unit instead."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-- KiB/s" if speed is None else f"{speed / 1024:.1f} KiB/s")

    columns: list[Any] = [
        TextColumn("{task.description:<12}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        KibPerSecond(),
        TimeRemainingColumn(),
    ]
    if modeled:
        columns.append(TextColumn("modeled"))
    return Progress(
        *columns,
        console=Console(file=sys.stderr),
        transient=False,
        # Speed and time left on the environment's clock: the virtual board runs on virtual
        # time, and wall-clock rates of a simulation would be fiction.
        get_time=clock.monotonic if clock is not None else None,
    )


@contextmanager
def progress_view(
    *, quiet: bool, as_json: bool, clock: Clock | None = None, modeled: bool = False
) -> Iterator[ProgressView]:
    """Bars on an interactive stderr; plain lines on stderr when it is not a terminal or with
    ``as_json`` (stdout stays pure JSON); nothing with ``quiet``. Rates on ``clock``."""
    plain = as_json or not sys.stderr.isatty()
    with ProgressView(enabled=not quiet, clock=clock, plain=plain, modeled=modeled) as view:
        yield view


def is_modeled(env: ops.Environment) -> bool:
    """Whether ``env``'s clock is a virtual board's modeled time (``--sim``)."""
    return isinstance(env, ops.SimEnvironment)


def device_progress(env: ops.Environment, *, as_json: bool) -> ContextManager[ProgressView]:
    """:func:`progress_view` for a device command on ``env``: ``-q`` from the global options,
    rates on the environment's clock, labelled modeled on the virtual board. The view's
    ``watch`` holds the modeled and wall time of the work done inside it."""
    return progress_view(
        quiet=settings().quiet, as_json=as_json, clock=env.clock, modeled=is_modeled(env)
    )
