"""``--all``: flash, upload and leave on every matching device at once (layer: cli).

Imports pydfuse.ops, pydfuse.errors, the other cli modules, click and (on use) rich. The
devices are chosen as dfu-util chooses one: ``-d VID:PID`` for a kind, several ``-S SERIAL``
or ``-p PATH`` for a list (one of each without ``--all``). Each board runs in its own worker
(:mod:`pydfuse.ops.fleet`); on a terminal it has its own progress row (serial, phase, bytes,
KiB/s on that board's clock), in a log its own prefixed plain lines. At the end a table says
what each board did, ``--json`` gives one record per board, and the exit code is 0 only when
every board succeeded (else the code of the boards' failure, or 1 when they differ).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TextIO, TypeVar, cast

import click

from pydfuse import ops
from pydfuse.cli.context import settings
from pydfuse.cli.params import VidPid
from pydfuse.cli.progress import PHASE_LABELS, ProgressLines, is_modeled, rate_text, time_text
from pydfuse.cli.render import console, emit_json, human_size, plain_table
from pydfuse.cli.session import DEVICE_OPTION, WAIT_OPTION, selector
from pydfuse.ops.fleet import BoardOutcome

F = TypeVar("F", bound=Callable[..., Any])


def many_device_options(func: F) -> F:
    """dfu-util style selection where ``-S`` and ``-p`` may be repeated, plus ``--all``."""
    options = [
        DEVICE_OPTION,
        click.option(
            "-S",
            "--serial",
            "serials",
            multiple=True,
            help="Only the device with this serial number (repeat it with --all).",
        ),
        click.option(
            "-p",
            "--path",
            "paths",
            multiple=True,
            help='Only the device at this bus path ("1-1.2"; repeat it with --all).',
        ),
        click.option(
            "-a",
            "--alt",
            help="Alternate setting: a number, or (a prefix of) its name, e.g. 'SPI Flash'.",
        ),
        click.option(
            "--all",
            "all_boards",
            is_flag=True,
            callback=_trace_per_board,
            help="Every matching device at once (-d, or several -S / -p), one worker each.",
        ),
        WAIT_OPTION,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _trace_per_board(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """--trace FILE with --all: one file per board (:func:`pydfuse.cli.observe.board_traces`;
    the boards work at once, each on a bus handle of its own)."""
    if value and settings().trace is not None:
        from pydfuse.cli.observe import trace_per_board

        trace_per_board()
    return value


def one_selector(
    device: VidPid | None,
    serials: Sequence[str],
    paths: Sequence[str],
    alt: str | None,
) -> ops.DeviceSelector:
    """The selector of a single-device command; a repeated -S/-p there is a usage error."""
    for values, option in ((serials, "-S"), (paths, "-p")):
        if len(values) > 1:
            raise click.UsageError(
                f"{option} is given {len(values)} times: add --all to use several devices"
            )
    return selector(device, serials[0] if serials else None, paths[0] if paths else None, alt)


def many_selectors(
    device: VidPid | None, serials: Sequence[str], paths: Sequence[str], alt: str | None
) -> list[ops.DeviceSelector]:
    """One selector per -S and per -p (each with -d, dfu-util's two-mode form included), or
    one for -d alone."""
    base = selector(device, None, None, alt)
    chosen = [replace(base, serial=s) for s in serials] + [replace(base, path=p) for p in paths]
    return chosen or [base]


def board_name(device: ops.DeviceInfo) -> str:
    return device.serial or f"path {device.path}"


class _Prefixed:
    """A stream that writes every line as ``NAME: line`` (one lock for all boards)."""

    lock = threading.Lock()

    def __init__(self, name: str, stream: TextIO) -> None:
        self.name, self.stream = name, stream

    def write(self, text: str) -> int:
        with self.lock:
            for line in text.splitlines():
                self.stream.write(f"{self.name}: {line}\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


class BoardsView:
    """Progress of many boards: one rich row each on a terminal, prefixed plain lines in a log,
    nothing with -q. Rates are taken on each board's own clock (modeled on virtual boards)."""

    def __init__(self, env: ops.Environment, *, as_json: bool) -> None:
        self.env = env
        self.modeled = is_modeled(env)
        quiet = settings().quiet
        self.plain = not quiet and (as_json or not sys.stderr.isatty())
        self.bars = not quiet and not self.plain
        self._lines: dict[str, ProgressLines] = {}
        self._rows: dict[str, tuple[Any, float, str]] = {}  # name -> (task, phase start, phase)
        self._names: dict[str, str] = {}  # bus path -> name shown (serial; @path if shared)
        self._progress: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> BoardsView:
        if self.bars:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.fields[board]:<14}"),
                TextColumn("{task.fields[phase]:<12}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TextColumn("{task.fields[rate]}"),
                console=Console(file=sys.stderr),
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _name(self, device: ops.DeviceInfo) -> str:
        with self._lock:
            name = self._names.get(device.path)
            if name is None:
                name = board_name(device)
                if name in self._names.values():  # another board reports the same serial
                    name = f"{name}@{device.path}"
                self._names[device.path] = name
            return name

    def __call__(self, device: ops.DeviceInfo, event: ops.ProgressEvent) -> None:
        name = self._name(device)
        clock = self.env.for_device(device.serial, device.path).clock
        if self.plain:
            with self._lock:
                lines = self._lines.get(name)
                if lines is None:
                    lines = self._lines[name] = ProgressLines(
                        clock,
                        modeled=self.modeled,
                        stream=cast(TextIO, _Prefixed(name, sys.stderr)),
                    )
            lines(event)
        if self._progress is not None:
            self._row(name, clock.monotonic(), event)

    def warn(self, device: ops.DeviceInfo, text: str) -> None:
        """A board's warning at once, on stderr, named by its board (above the rows on a
        terminal; with --json and -q too: it may say what --force overrode)."""
        from rich.text import Text

        line = Text.assemble(("warning:", "yellow"), f" {self._name(device)}: {text}")
        with _Prefixed.lock:  # whole lines, between the other boards' progress lines
            if self._progress is not None:
                self._progress.console.print(line)
            else:
                console(err=True).print(line)

    def _row(self, name: str, now: float, event: ops.ProgressEvent) -> None:
        with self._lock:
            row = self._rows.get(name)
            if row is None:
                task = self._progress.add_task("", board=name, phase="", rate="", total=1)
                row = (task, now, "")
            task, started, phase = row
            if phase != event.phase:
                started, phase = now, event.phase
            self._rows[name] = (task, started, phase)
        rate = rate_text(event.done_bytes, now - started) + (" modeled" if self.modeled else "")
        self._progress.update(
            task,
            completed=event.done_bytes,
            total=max(event.total_bytes, 1),
            phase=PHASE_LABELS.get(event.phase, event.phase),
            rate=rate,
        )


@contextmanager
def boards_view(env: ops.Environment, *, as_json: bool) -> Iterator[BoardsView]:
    with BoardsView(env, as_json=as_json) as view:
        yield view


def finish(
    outcomes: Sequence[BoardOutcome[Any]],
    *,
    verb: str,
    as_json: bool,
    describe: Callable[[BoardOutcome[Any]], str],
) -> int:
    """Print the summary (table, or one JSON record per board) and return the exit code."""
    failed = [o for o in outcomes if not o.ok]
    if as_json:
        emit_json(
            {
                "boards": [o.to_dict() for o in outcomes],
                "ok": not failed,
                "succeeded": len(outcomes) - len(failed),
                "failed": [o.name for o in failed],
            }
        )
    else:
        _print_summary(outcomes, verb=verb, describe=describe)
    return exit_code(outcomes)


def _print_summary(
    outcomes: Sequence[BoardOutcome[Any]],
    *,
    verb: str,
    describe: Callable[[BoardOutcome[Any]], str],
) -> None:
    out, err = console(), console(err=True)
    failed = [o for o in outcomes if not o.ok]
    modeled = bool(outcomes) and outcomes[0].modeled
    if not settings().quiet or failed:
        rows = [
            (
                o.name,
                o.device.path,
                "ok" if o.ok else "FAILED",
                time_text(o.elapsed_s, modeled=modeled),
                describe(o) if o.ok else f"{o.error}",
            )
            for o in outcomes
        ]
        for line in plain_table(("board", "path", verb, "time", "details"), rows):
            out.print(line)
    if failed:
        names = ", ".join(o.name for o in failed)
        err.print(f"error: {len(failed)} of {len(outcomes)} boards failed: {names}")
    elif not settings().quiet:
        out.print(f"all {len(outcomes)} boards: {verb} ok")


def exit_code(outcomes: Sequence[BoardOutcome[Any]]) -> int:
    """0 when every board succeeded; else the failures' exit code, or 1 when they differ."""
    from pydfuse.cli.main import ExitCode, exit_code_for

    codes = {int(exit_code_for(o.error)) for o in outcomes if o.error is not None}
    if not codes:
        return int(ExitCode.OK)
    return codes.pop() if len(codes) == 1 else int(ExitCode.ERROR)


def flash_details(outcome: BoardOutcome[ops.FlashResult]) -> str:
    """One summary cell for a flashed board."""
    result = outcome.result
    assert result is not None
    skipped = sum(len(t.skipped_sectors) for t in result.targets)
    erased = sum(len(t.erased_sectors) for t in result.targets)
    if result.dry_run:
        return (
            f"dry run: would write {human_size(result.bytes_written)}, erase {erased} "
            f"sector(s)" + (f", skip {skipped} unchanged" if skipped else "")
        )
    text = f"wrote {human_size(result.bytes_written)}, {erased} sector(s) erased"
    text += f", {skipped} unchanged" if skipped else ""
    text += ", verified" if result.verified else ""
    return text + (", left DFU mode" if result.left else "")
