"""The ``dfuse`` group and the single error boundary of the command line (layer: cli).

Exit codes are stable (README, "Exit codes"): every :class:`~pydfuse.errors.DfuseError` becomes one
line on stderr and a non-zero code; anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path

import click

from pydfuse import __version__
from pydfuse.cli import device, files, preflight, simboard
from pydfuse.cli.context import Settings
from pydfuse.cli.render import OutputClosed
from pydfuse.errors import (
    DeviceNotFoundError,
    DfuseError,
    FormatError,
    PlanError,
    ProtocolError,
    TransportError,
    VerifyError,
)
from pydfuse.sim.profiles import PROFILES


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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dfuse")
@click.option(
    "--sim",
    "sim_profile",
    metavar="PROFILE",
    help=f"Use a virtual board instead of USB hardware: {', '.join(PROFILES)} "
    "(dfuse profiles tells them apart).",
)
@click.option(
    "--sim-state",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Load the virtual board from FILE if it exists and save it back after the command.",
)
@click.option(
    "--sim-realtime",
    is_flag=True,
    help="Let the virtual board take its modeled time for real (default: a virtual clock).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or informational output.")
@click.pass_context
def cli(
    ctx: click.Context,
    sim_profile: str | None,
    sim_state: Path | None,
    sim_realtime: bool,
    quiet: bool,
) -> None:
    """pydfuse: STM32 / USB DFU firmware updates — files, pre-flight checks, programming.

    Build a .dfu from HEX/S19/ELF/BIN files (pack), check it against a board (check, map), and
    program it over USB (list, flash, upload, erase, leave). Add --sim PROFILE to any device
    command to run it on the built-in virtual STM32 bootloader.
    """
    if (sim_state is not None or sim_realtime) and sim_profile is None:
        raise click.UsageError("--sim-state and --sim-realtime need --sim PROFILE")
    ctx.obj = Settings(
        sim_profile=sim_profile, sim_state=sim_state, sim_realtime=sim_realtime, quiet=quiet
    )


files.register(cli)
preflight.register(cli)
device.register(cli)
simboard.register(cli)


def _fail(error: DfuseError) -> int:
    click.echo(f"error: {error}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)
    return int(exit_code_for(error))


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
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except DfuseError as error:
        return _fail(error)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
