"""One worker thread for every device operation, and the events of long ones (layer: gui).

USB devices and the virtual board are used from one thread only, one operation at a time, so
two browser tabs cannot interleave requests to one bootloader. Short operations (list, check,
leave) are awaited by their request; long ones (upgrade, backup) become a :class:`Job` whose
events — coalesced progress, then one ``done`` or ``failed`` — the page reads as server-sent
events. Imports ``pydfuse.ops`` (progress events) and ``pydfuse.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydfuse.errors import DfuseError
from pydfuse.gui.hints import page_hint
from pydfuse.ops import ProgressEvent

T = TypeVar("T")
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress events a second reach the page
KEEP_JOBS = 20
STOP_POLL_S = 0.25  # how often an open event stream looks whether the server is stopping
STOPPING = (
    "the pydfuse server is stopping: it finishes this operation first, then exits; start it "
    "again to see the result on the device"
)


class Busy(DfuseError):
    """Another long device operation is still running."""


def error_dict(error: BaseException) -> dict[str, Any]:
    """What the page shows of an error: one line, an optional hint, its kind and address."""
    if isinstance(error, DfuseError):
        return {
            "error": str(error),
            "hint": page_hint(error.hint),  # the page's controls, not the CLI's options
            "kind": type(error).__name__,
            "address": getattr(error, "address", None),
        }
    return {"error": f"internal error: {type(error).__name__}: {error}", "kind": "internal"}


@dataclass
class Job:
    """A long device operation: its events so far, and whether it has finished."""

    id: str
    kind: str
    loop: asyncio.AbstractEventLoop
    events: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _last_progress: tuple[str, float] = ("", 0.0)

    def emit(self, event: dict[str, Any]) -> None:
        """Append an event (from any thread) and wake the readers."""
        self.events.append(event)
        if event["type"] in ("done", "failed"):
            self.finished = True
        # Once the server's loop has closed (Ctrl-C) nobody reads any more, and the operation
        # must go on to its end rather than fail half-way.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._changed.set)

    def progress(self, event: ProgressEvent) -> None:
        """An ops progress callback: coalesced to one event per PROGRESS_INTERVAL_S per phase,
        always keeping a phase's first and last event."""
        now = time.monotonic()
        phase, last = self._last_progress
        complete = event.done_bytes >= event.total_bytes
        if phase == event.phase and now - last < PROGRESS_INTERVAL_S and not complete:
            return
        self._last_progress = (event.phase, now)
        self.emit(
            {
                "type": "progress",
                "phase": event.phase,
                "done": event.done_bytes,
                "total": event.total_bytes,
                "address": event.address,
            }
        )

    async def stream(
        self, stopping: Callable[[], bool] = lambda: False
    ) -> AsyncIterator[dict[str, Any]]:
        """Every event from the first, as they come, until ``done`` or ``failed`` — or, when
        ``stopping()`` says the server is shutting down, a last ``stopping`` event (the
        operation itself goes on to its end; the server waits for it)."""
        sent = 0
        while True:
            self._changed.clear()
            while sent < len(self.events):
                sent += 1
                yield self.events[sent - 1]
            if self.finished:
                return
            if stopping():
                yield {"type": "stopping", "error": STOPPING}
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), STOP_POLL_S)


class DeviceWorker:
    """Runs device operations one at a time on a single thread."""

    def __init__(self, after: Callable[[], None] | None = None) -> None:
        """``after`` runs on the device thread when each operation ends (the hub lets go of
        the ``--sim-state`` file then, so a ``dfuse`` command can use it in between)."""
        self._after = after
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dfuse-gui-device")
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._long_running = threading.Lock()

    async def run(self, func: Callable[[], T]) -> T:
        """Run a short operation on the device thread and wait for its result."""

        def body() -> T:
            try:
                return func()
            finally:
                self._ended()

        return await asyncio.wrap_future(self._executor.submit(body))

    def _ended(self) -> None:
        if self._after is not None:
            self._after()

    def start(self, kind: str, func: Callable[[Job], dict[str, Any]]) -> Job:
        """Start a long operation; ``func`` gets its job (for progress) and returns the
        ``done`` event's data. Busy while another long operation runs."""
        if not self._long_running.acquire(blocking=False):
            raise Busy(
                "another device operation is still running",
                hint="wait for it to finish, then try again",
            )
        job = Job(f"j{next(self._ids)}", kind, asyncio.get_running_loop())
        self._jobs[job.id] = job
        for old in list(self._jobs)[:-KEEP_JOBS]:
            del self._jobs[old]

        def body() -> None:
            try:
                try:
                    last = {"type": "done", **func(job)}
                finally:
                    self._ended()  # the board saved and let go before the page hears "done"
            except Exception as error:  # every failure reaches the page; none kills the server
                last = {"type": "failed", **error_dict(error)}
            finally:
                # Free before the last event: a page that starts the next operation as soon
                # as it reads "done" must not be told that this one is still running.
                self._long_running.release()
            job.emit(last)

        self._executor.submit(body)
        return job

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def close(self) -> None:
        """Wait for the running operation (a flash is never cut short by the server)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
