"""``-v``/``-vv`` narration and ``--trace FILE`` for device commands (layer: cli).

``-v`` shows on stderr what the host does beyond plain requests: the device and alternate in
use, each DfuSe command with the state it ended in and how long the device was busy, data runs,
retries after a stall or a timeout, recoveries to dfuIDLE and the errors the device reports
(the ``pydfuse.host`` and ``pydfuse.ops`` loggers at INFO). ``-vv`` adds every control transfer,
decoded, and every poll wait. ``--trace FILE`` writes every bus event as JSON Lines (a header
line, one record per event, an ``end`` record); ``FILE.gz`` is compressed.
"""

from __future__ import annotations

import datetime
import gzip
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from pydfuse import __version__, ops
from pydfuse.cli.context import settings
from pydfuse.formats import check_writable
from pydfuse.host.trace import TRACE_FORMAT, Sink, describe

_usb_log = logging.getLogger("pydfuse.usb")


class _Narrator(logging.Handler):
    """One plain line per log record on stderr: ``host: GETSTATUS stalled ...``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.name.rsplit('.', 1)[-1]}: {record.getMessage()}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            self.handleError(record)


@contextmanager
def narration(verbose: int, *, quiet: bool = False) -> Iterator[None]:
    """Show pydfuse's INFO (``verbose`` 1) or DEBUG (2 and more) log lines on stderr; without
    ``-v`` only the ``pydfuse.notice`` lines (waiting for a device), none with ``quiet``."""
    if quiet:
        yield
        return
    root = logging.getLogger("pydfuse" if verbose > 0 else "pydfuse.notice")
    handler = _Narrator()
    level = logging.DEBUG if verbose >= 2 else logging.INFO
    old_level, old_propagate = root.level, root.propagate
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False  # our lines only once, whatever the application's logging does
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        root.propagate = old_propagate


def _narrate_transfer(record: dict[str, Any]) -> None:
    _usb_log.debug("%9.4f s  %s", record["t"], describe(record))


class TraceFile:
    """A ``--trace`` file: JSON Lines, flushed line by line (a crash keeps what happened)."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        # Closed in close(): the file lives as long as the device command, not one block.
        self._file: IO[str] = (
            gzip.open(path, "wt", encoding="utf-8")  # noqa: SIM115
            if path.suffix == ".gz"
            else open(path, "w", encoding="utf-8")  # noqa: SIM115
        )
        self.write(header)

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self, error: BaseException | None) -> None:
        end: dict[str, Any] = {"op": "end", "result": "ok" if error is None else "error"}
        if error is not None:
            end |= {"error": str(error) or type(error).__name__, "type": type(error).__name__}
        self.write(end)
        self._file.close()


def _header(env: ops.Environment) -> dict[str, Any]:
    board = getattr(env, "board", None)
    return {
        "trace": "pydfuse",
        "format": TRACE_FORMAT,
        "pydfuse": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "sim": None if board is None else board.profile.name,
        "clock": "modeled" if board is not None else "wall",
        "data": "raw" if settings().trace_data else "sha256",
    }


@contextmanager
def observed(env: ops.Environment) -> Iterator[ops.Environment]:
    """``env`` as the global options ask: narrated (``-v``/``-vv``) and traced (``--trace``)."""
    found = settings()
    sinks: list[Sink] = []
    with ExitStack() as stack:
        stack.enter_context(narration(found.verbose, quiet=found.quiet))
        if found.verbose >= 2:
            sinks.append(_narrate_transfer)
        trace: TraceFile | None = None
        if found.trace is not None:
            trace = TraceFile(found.trace, _header(env))
            found.traced = True
            sinks.append(trace.write)
        if not sinks:
            yield env
            return
        try:
            yield ops.traced(env, sinks, keep_data=found.trace_data)
        except BaseException as error:
            if trace is not None:
                trace.close(error)
            raise
        if trace is not None:
            trace.close(None)


def check_trace_path() -> None:
    """Refuse, before any device is touched, a ``--trace`` file that cannot be written."""
    path = settings().trace
    if path is not None:
        check_writable(path, what="write the trace to")
