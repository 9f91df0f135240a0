"""The ``dfuse`` group, its command registry and the single error boundary (layer: cli).

Exit codes are stable (README, "Exit codes"): every :class:`~pydfuse.errors.DfuseError` becomes one
line on stderr (and, with ``--json``, one JSON object on stdout) and a non-zero code; anything
else is a bug and shows a traceback.

Start-up time matters (``dfuse --help`` and ``dfuse info`` are run from scripts in loops): this
module imports click, the standard library and the small modules ``cli.context``, ``cli.group``
and ``errors`` only. Each command's module is imported when that command runs.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

import click

from pydfuse import __version__
from pydfuse.cli.context import OutputClosed, Settings, Terminated, record_wait
from pydfuse.cli.group import Entry, LazyGroup
from pydfuse.errors import (
    DeviceNotFoundError,
    DfuseError,
    FormatError,
    PlanError,
    ProtocolError,
    TransportError,
    VerifyError,
)

# -- Adding a command ---------------------------------------------------------------------------
# 1. Write it as a click command (or group) in a module of pydfuse.cli; import what it needs
#    (rich, ops, formats, sim) at that module's top: the module is imported only when it runs.
# 2. Add one Entry below: name, "module:attribute", the --help section, a one-line summary and
#    an example. The order of the rows is the order of `dfuse --help`.
# 3. Do not add -q/-v/--json yourself: every command and subcommand accepts them in any
#    position. Read them with pydfuse.cli.context.settings(); a command printing JSON takes
#    `@json_option` (pydfuse.cli.context) and gets `as_json`. Raise pydfuse errors (or click's
#    usage errors): this module prints them, as JSON too with --json, and picks the exit code.
FILES, CHECK, DEVICE, HELP, SIM = "Files", "Before flashing", "Devices", "When it fails", "Sim"
PAGE = "In the browser"
COMMANDS = (
    Entry("pack", "pydfuse.cli.files:pack", FILES, "Build a .dfu from HEX/S19/ELF/BIN files",
          'dfuse pack fw.dfu -t 0:"Internal Flash"=app.hex'),
    Entry("info", "pydfuse.cli.files:info", FILES, "Describe a .dfu, HEX, S19, ELF or .bin file",
          "dfuse info fw.dfu"),
    Entry("unpack", "pydfuse.cli.files:unpack", FILES, "Extract the images of a .dfu",
          "dfuse unpack fw.dfu -o out/"),
    Entry("suffix", "pydfuse.cli.files:suffix", FILES, "Add, check or remove a DFU suffix",
          "dfuse suffix check fw.bin"),
    Entry("check", "pydfuse.cli.preflight:check", CHECK, "Is this file safe for this board?",
          "dfuse check fw.dfu --profile stm3210e-eval"),
    Entry("map", "pydfuse.cli.mapcmd:map_command", CHECK, "Draw where a file lands in memory",
          "dfuse map app.hex --profile stm3210e-eval"),
    Entry("linker", "pydfuse.cli.linker:linker_command", CHECK,
          "Linker MEMORY block and VTOR setting for a board",
          "dfuse linker --profile stm3210e-eval --patch app.ld"),
    Entry("profiles", "pydfuse.cli.device:profiles_command", CHECK, "List the board profiles",
          "dfuse profiles"),
    Entry("list", "pydfuse.cli.device:list_command", DEVICE, "List DFU devices and memories",
          "dfuse list"),
    Entry("flash", "pydfuse.cli.flash:flash_command", DEVICE, "Write, verify and (--leave) start",
          "dfuse flash fw.dfu --leave"),
    Entry("upload", "pydfuse.cli.upload:upload_command", DEVICE, "Read device memory to a file",
          "dfuse upload backup.dfu"),
    Entry("erase", "pydfuse.cli.device:erase_command", DEVICE, "Erase sectors or mass erase",
          'dfuse erase -a "SPI Flash" --address 0 --length 128K'),
    Entry("leave", "pydfuse.cli.device:leave_command", DEVICE, "Leave DFU mode, start the app",
          "dfuse leave"),
    Entry("detach", "pydfuse.cli.device:detach_command", DEVICE, "Switch a running app to DFU",
          "dfuse detach"),
    Entry("option-bytes", "pydfuse.cli.optionbytes:option_bytes_group", DEVICE,
          "Show or change option bytes (RDP, WRP, BOR)", "dfuse option-bytes set wrp=0-1"),
    Entry("ob", "pydfuse.cli.optionbytes:option_bytes_group", DEVICE,
          "Short for option-bytes", "dfuse ob"),
    Entry("unprotect", "pydfuse.cli.optionbytes:unprotect_command", DEVICE,
          "Remove read protection (mass-erases)", "dfuse unprotect --force"),
    Entry("doctor", "pydfuse.cli.doctor:doctor_command", HELP,
          "Why can't I reach my board?", "dfuse doctor"),
    Entry("udev-rules", "pydfuse.cli.doctor:udev_rules_command", HELP,
          "Linux: use DFU devices without root", "sudo dfuse udev-rules --install"),
    Entry("replay", "pydfuse.cli.replay:replay_command", HELP,
          "Replay a --trace on a virtual board", "dfuse replay trace.jsonl --sim stm3210e-eval"),
    Entry("sim", "pydfuse.cli.simboard:sim_group", SIM,
          "Pins, reset, faults of --sim boards; serve one over USB/IP",
          "dfuse --sim stm3210e-eval --sim-state b.json sim status"),
    Entry("gui", "pydfuse.cli.gui:gui_command", PAGE,
          "Local web page: build .dfu files, upgrade devices", "dfuse --sim stm3210e-eval gui"),
)  # fmt: skip


_MAX_WIDTH = 100  # of --help text


class ExitCode(IntEnum):
    """Process exit codes of ``dfuse``; documented in the README and kept stable."""

    OK = 0
    ERROR = 1  # any other pydfuse error (bad input file, I/O)
    USAGE = 2  # bad command line (click's own code)
    UNSAFE = 3  # pre-flight check found problems; nothing was written
    NO_DEVICE = 4  # no device, or several, match the selection
    DEVICE = 5  # USB transport or DFU protocol/status error
    VERIFY = 6  # read-back does not match the image
    INTERRUPTED = 130
    TERMINATED = 143  # SIGTERM (128 + 15): the virtual board is saved first


def exit_code_for(error: DfuseError) -> ExitCode:
    """The exit code for one pydfuse error."""
    if isinstance(error, PlanError):
        return ExitCode.UNSAFE
    if isinstance(error, DeviceNotFoundError):
        return ExitCode.NO_DEVICE
    if isinstance(error, (TransportError, ProtocolError)):
        return ExitCode.DEVICE
    if isinstance(error, VerifyError):
        return ExitCode.VERIFY
    if isinstance(error, FormatError):
        return ExitCode.ERROR
    return ExitCode.ERROR


class _VersionAsked(Exception):
    """``-V``/``--version``: answered by :func:`_run`, which knows whether ``--json`` is
    anywhere on the line (it may come after ``-V``, which click handles first)."""


def _ask_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        raise _VersionAsked


@click.group(
    cls=LazyGroup,
    entries=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": _MAX_WIDTH},
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_ask_version,
    help="Show the version and exit.",
)
@click.option(
    "--sim",
    "sim_profile",
    metavar="PROFILE",
    help="Use a virtual board instead of USB hardware (dfuse profiles lists them).",
)
@click.option(
    "--sim-state",
    type=click.Path(),
    metavar="FILE",
    help="Load the virtual board from FILE if it exists and save it back after the command.",
)
@click.option(
    "--sim-realtime",
    is_flag=True,
    help="Let the virtual board take its modeled time for real (default: a virtual clock).",
)
@click.option(
    "--trace",
    type=click.Path(),
    metavar="FILE",
    help="Record every USB control transfer of a device command as JSON Lines (FILE.gz: "
    "compressed); firmware data is hashed unless --trace-data.",
)
@click.option("--trace-data", is_flag=True, help="Keep the firmware bytes in the --trace file.")
@click.option(
    "--sim-boards",
    type=click.IntRange(1, 127),
    default=1,
    metavar="N",
    help="N virtual boards on one bus, with their own serials and paths; --sim-state is then "
    "a directory with one file per board.",
)
@click.option(
    "--sim-time-scale",
    type=click.FloatRange(0.001, 10_000, min_open=False),
    default=1.0,
    metavar="X",
    help="With --sim-realtime: modeled time passes X times faster than the wall clock.",
)
@click.option(
    "-w",
    "--wait-for-device",
    is_flag=True,
    expose_value=False,
    callback=record_wait,
    help="Device commands wait for their device to appear (dfu-util -w; Ctrl-C to stop).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    sim_profile: str | None,
    sim_state: str | None,
    sim_realtime: bool,
    trace: str | None,
    trace_data: bool,
    sim_boards: int,
    sim_time_scale: float,
) -> None:
    """pydfuse: STM32 / USB DFU firmware updates — files, pre-flight checks, programming.

    Add --sim PROFILE to any device command to run it on the built-in virtual STM32
    bootloader. -q, -v and --json work in any position; with --json, errors are JSON too.
    """
    if (sim_state is not None or sim_realtime or sim_boards != 1) and sim_profile is None:
        raise click.UsageError("--sim-state, --sim-realtime and --sim-boards need --sim PROFILE")
    if sim_time_scale != 1.0 and not sim_realtime:
        raise click.UsageError("--sim-time-scale needs --sim-realtime (the virtual clock has none)")
    if sim_time_scale != sim_time_scale:  # nan (math is not worth importing for it)
        raise click.BadParameter("nan is not a time scale", param_hint="--sim-time-scale")
    if trace_data and trace is None:
        raise click.UsageError("--trace-data needs --trace FILE")
    from pathlib import Path  # here, not at the top: `dfuse --help` needs no pathlib

    found = ctx.ensure_object(Settings)
    found.sim_profile, found.sim_realtime = sim_profile, sim_realtime
    found.sim_state = None if sim_state is None else Path(sim_state)
    found.sim_boards, found.sim_time_scale = sim_boards, sim_time_scale
    found.trace, found.trace_data = (None if trace is None else Path(trace)), trace_data
    found.command = ctx.invoked_subcommand


def error_record(error: BaseException, code: int) -> dict[str, Any]:
    """The ``--json`` form of an error: ``error``, ``hint``, ``exit_code``, ``type`` and the
    fields the error carries (``path``, ``offset``, ``line``, ``address``, ``status``, ...)."""
    if isinstance(error, click.ClickException):
        message, hint = error.format_message(), None
        ctx = getattr(error, "ctx", None)
        if ctx is not None:
            hint = f"{ctx.command_path} --help shows the options"
    else:
        message, hint = str(error) or "interrupted", getattr(error, "hint", None)
    record: dict[str, Any] = {
        "error": message,
        "hint": hint,
        "exit_code": code,
        "type": type(error).__name__,
    }
    for name in ("path", "offset", "line", "address", "expected", "actual", "phase", "code"):
        value = getattr(error, name, None)
        if value is not None:
            record[name] = value
    for name in ("status", "state"):
        value = getattr(error, name, None)
        if value is not None:
            record[name] = getattr(value, "name", value)
    warned = getattr(error, "warnings", None)  # said before it failed: what --force overrode
    if warned:
        record["warnings"] = list(warned)
    return record


class _Boundary:
    """Turns what ends a run into an exit code, one line on stderr and (``--json``) a JSON
    error object on stdout, so a script never parses an empty file."""

    def __init__(self, argv: Sequence[str] | None, found: Settings) -> None:
        words = list(sys.argv[1:] if argv is None else argv)
        self.settings = found
        # --json before any parsing succeeded (an unknown option): scan the words themselves.
        self.json_word = "--json" in (words[: words.index("--")] if "--" in words else words)

    @property
    def as_json(self) -> bool:
        return self.settings.json or self.json_word

    def fail(self, error: BaseException, code: int, *, lines: Sequence[str]) -> int:
        for line in lines:
            click.echo(line, err=True)
        if self.as_json:
            from pydfuse.cli.render import emit_json

            emit_json(error_record(error, code))
        return code


# Write failures of stdout itself (``dfuse list > /dev/full``): one line, not a traceback.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG})


def _tolerant_streams() -> None:
    """A terminal or pipe whose encoding cannot show a character (``×``, ``█``) gets ``?``
    instead of a UnicodeEncodeError traceback (PYTHONIOENCODING=ascii, old consoles)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(ValueError, io.UnsupportedOperation):
                stream.reconfigure(errors="replace")


def _silence_stdout() -> None:
    """After a broken pipe or a full disk, point stdout at /dev/null so the interpreter's
    final flush does not fail again (the Python docs' advice for SIGPIPE)."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _help_width() -> int | None:
    """The width click's help would take from ``shutil.get_terminal_size`` (COLUMNS, else the
    terminal's, else 80; at most ``max_content_width``), found without importing shutil, which
    costs ``dfuse --help`` more start-up time than it is worth. None when click's test runner
    forces a width."""
    from click import formatting

    if formatting.FORCED_WIDTH is not None:
        return None
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else 0
    if not width:
        try:
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            width = 80
    return max(min(width, _MAX_WIDTH) - 2, 50)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dfuse``; returns the exit code instead of exiting (console-script entry point)."""
    _tolerant_streams()
    try:
        return _run(argv)
    except (OutputClosed, BrokenPipeError):  # the reader went away (``| head -1``): no error
        _silence_stdout()
        return int(ExitCode.OK)
    except OSError as error:
        if isinstance(error, DfuseError) or error.errno not in _OUTPUT_ERRNOS:
            raise
        _silence_stdout()
        click.echo(f"error: cannot write the output: {error.strerror or error}", err=True)
        return int(ExitCode.ERROR)


def _run(argv: Sequence[str] | None) -> int:
    found = Settings()
    boundary = _Boundary(argv, found)
    args = list(argv) if argv is not None else None
    try:
        result = cli.main(
            args=args,
            standalone_mode=False,
            obj=found,
            prog_name="dfuse",
            terminal_width=_help_width(),
        )
    except _VersionAsked:
        if boundary.as_json:
            from pydfuse.cli.render import emit_json

            emit_json({"version": __version__})
        else:
            click.echo(f"dfuse, version {__version__}")
        return int(ExitCode.OK)
    except DfuseError as error:
        lines = [f"error: {error}"] + ([f"hint: {error.hint}"] if error.hint else [])
        return boundary.fail(error, int(exit_code_for(error)), lines=lines)
    except click.exceptions.Abort as error:
        cause = error.__cause__ or error.__context__  # click turns Ctrl-C into Abort
        if isinstance(cause, KeyboardInterrupt) and cause.args:
            return _interrupted(boundary, cause)
        return boundary.fail(error, int(ExitCode.INTERRUPTED), lines=["aborted"])
    except click.ClickException as error:
        if boundary.as_json:
            return boundary.fail(error, error.exit_code, lines=[f"error: {error.format_message()}"])
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except Terminated as error:
        lines = [f"error: {error}", f"hint: {error.hint}"]
        return boundary.fail(error, int(ExitCode.TERMINATED), lines=lines)
    except KeyboardInterrupt as error:
        if error.args:
            return _interrupted(boundary, error)
        return boundary.fail(error, int(ExitCode.INTERRUPTED), lines=["interrupted"])
    if found.trace is not None and not found.traced:
        name = found.command or "the command"
        click.echo(f"note: --trace: {name} talked to no device, so nothing was recorded", err=True)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def _interrupted(boundary: _Boundary, error: KeyboardInterrupt) -> int:
    """Ctrl-C that ops described (``pydfuse.ops.progress.Interrupted``): where it stopped and
    what that left on the device, with its hint."""
    hint = getattr(error, "hint", None)
    lines = [f"error: {error}"] + ([f"hint: {hint}"] if hint else [])
    return boundary.fail(error, int(ExitCode.INTERRUPTED), lines=lines)


if __name__ == "__main__":
    sys.exit(main())
