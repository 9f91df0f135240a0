"""``-v``/``-vv`` narration and ``--trace FILE`` for device commands (layer: cli).

``-v`` shows on stderr what the host does beyond plain requests: the device and alternate in
use, each DfuSe command with the state it ended in and how long the device was busy, data runs,
retries after a stall or a timeout, recoveries to dfuIDLE and the errors the device reports
(the ``pydfuse.host`` and ``pydfuse.ops`` loggers at INFO). ``-vv`` adds every control transfer,
decoded, and every poll wait. ``--trace FILE`` writes every bus event as JSON Lines (a header
line, one record per event, an ``end`` record); ``FILE.gz`` is compressed. With ``--all`` each
board gets a file of its own, named as ``upload --all`` names its files (``t.jsonl`` ->
``t-SERIAL.jsonl``, or ``{serial}`` in FILE replaced), each one a whole trace ``dfuse replay``
takes.
"""

from __future__ import annotations

import datetime
import gzip
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import click

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
        if found.trace is not None and not _per_board():  # --all: board_traces() instead
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


PER_BOARD = "pydfuse.trace_per_board"  # click meta key: --all asked for one trace per board


def trace_per_board() -> None:
    """Ask for one ``--trace`` file per board (``--all``) instead of one for the command."""
    click.get_current_context().meta[PER_BOARD] = True


def _per_board() -> bool:
    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool(ctx.meta.get(PER_BOARD))


def board_trace_path(path: Path, tag: str) -> Path:
    """``path`` for the board ``tag`` names, as ``upload --all`` names its files: ``{serial}``
    in the name replaced by it, else ``-TAG`` before the suffix (``t.jsonl`` ->
    ``t-TAG.jsonl``, ``t.jsonl.gz`` -> ``t-TAG.jsonl.gz``, ``t`` -> ``t-TAG``); characters
    that do not belong in a file name become ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", tag)
    if "{serial}" in path.name:
        return path.with_name(path.name.replace("{serial}", safe))
    stem, suffix = path.name, ""
    if stem.endswith(".gz"):
        stem, suffix = stem[:-3], ".gz"
    dot = stem.rfind(".")
    if dot > 0:
        stem, suffix = stem[:dot], stem[dot:] + suffix
    return path.with_name(f"{stem}-{safe}{suffix}")


def board_traces() -> ops.BoardEnvironment | None:
    """With ``--trace FILE`` and ``--all``: how each board's worker gets its environment,
    traced into a file of its own (:func:`board_trace_path`: by its serial, ``SERIAL-pathPATH``
    for a second board with the same serial, ``pathPATH`` for one without); None otherwise.
    Each file is named on stderr as it is opened."""
    found = settings()
    if found.trace is None or not _per_board():
        return None
    base, keep_data, quiet = found.trace, found.trace_data, found.quiet
    taken: dict[str, str] = {}  # file name -> bus path
    lock = threading.Lock()

    @contextmanager
    def traced_board(env: ops.Environment, device: ops.DeviceInfo) -> Iterator[ops.Environment]:
        with lock:
            name = device.serial or f"path{device.path}"
            if taken.get(name, device.path) != device.path:
                name = f"{name}-path{device.path}"
            taken[name] = device.path
            found.traced = True
        path = board_trace_path(base, name)
        header = {**_header(env), "board": {"serial": device.serial, "path": device.path}}
        trace = TraceFile(path, header)
        if not quiet:
            click.echo(f"trace of {name}: {path}", err=True)
        try:
            yield ops.traced(env, [trace.write], keep_data=keep_data)
        except BaseException as error:
            trace.close(error)
            raise
        trace.close(None)

    return traced_board


def check_trace_path() -> None:
    """Refuse, before any device is touched, a ``--trace`` file that cannot be written."""
    path = settings().trace
    if path is not None:
        check_writable(path, what="write the trace to")
