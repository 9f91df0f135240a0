"""Options shared by every command, and the one ``--json`` option (layer: cli).

The global options ``-q``, ``-v`` and ``--json`` are accepted in any position (``dfuse -q
flash``, ``dfuse flash -q``); whichever command or group parses them records them on the one
:class:`Settings` object of the invocation, so ``settings()`` sees them wherever they were
written. Imports click and the standard library only (it is on the path of every command).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from pathlib import Path

F = TypeVar("F", bound=Callable[..., Any])


class OutputClosed(Exception):
    """The reader of stdout went away (``dfuse list | head -1``); ``main`` ends quietly.

    Not an OSError on purpose: click turns an EPIPE OSError into ``sys.exit(1)`` and rich into
    ``SystemExit(1)``, but a reader that has seen enough is no failure of this command.
    """


class Terminated(BaseException):
    """SIGTERM during a device command (a CI timeout, ``kill``), raised by the handler that
    :func:`pydfuse.cli.session.environment` installs, so the ``with`` blocks unwind and the
    ``--sim-state`` board is saved; ``main`` turns it into exit code 143 (128 + SIGTERM).
    A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it."""

    hint = "the command was stopped part-way; run it again to finish the job"

    def __str__(self) -> str:
        return "terminated (SIGTERM)"


class Settings:
    """The invocation's global options. Mutable on purpose: ``-q``/``-v``/``--json`` written
    after a subcommand are recorded by that subcommand on the same object.

    A plain class, not a dataclass: this module is on every command's start-up path, and
    building a dataclass (and importing the module) costs more than ``dfuse --help`` may."""

    __slots__ = (
        "command",
        "json",
        "quiet",
        "sim_boards",
        "sim_profile",
        "sim_realtime",
        "sim_state",
        "sim_time_scale",
        "trace",
        "trace_data",
        "traced",
        "verbose",
        "wait_for_device",
    )

    def __init__(
        self,
        *,
        sim_profile: str | None = None,
        sim_state: Path | None = None,
        sim_realtime: bool = False,
        sim_boards: int = 1,
        sim_time_scale: float = 1.0,
        quiet: bool = False,
        verbose: int = 0,
        json: bool = False,
        trace: Path | None = None,
        trace_data: bool = False,
        wait_for_device: bool = False,
    ) -> None:
        self.sim_profile, self.sim_state, self.sim_realtime = sim_profile, sim_state, sim_realtime
        self.sim_boards, self.sim_time_scale = sim_boards, sim_time_scale
        self.quiet, self.verbose, self.json = quiet, verbose, json
        self.trace, self.trace_data, self.wait_for_device = trace, trace_data, wait_for_device
        self.traced = False  # a --trace file was opened (a device command ran)
        self.command: str | None = None  # the command's name (for messages)


def settings() -> Settings:
    """The current invocation's global options (defaults outside a click context)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Settings) if ctx is not None else None
    return obj if obj is not None else Settings()


def _settings_of(ctx: click.Context) -> Settings:
    obj = ctx.find_object(Settings)
    return obj if obj is not None else ctx.ensure_object(Settings)


def _record_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """``--json`` here or anywhere earlier on the line: True for the command's ``as_json``."""
    found = _settings_of(ctx)
    found.json = found.json or bool(value)
    return found.json


def _record_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        found = _settings_of(ctx)
        found.quiet = True
        _refuse_quiet_and_verbose(found)


def _record_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        found = _settings_of(ctx)
        found.verbose = max(found.verbose, int(value))
        _refuse_quiet_and_verbose(found)


def _refuse_quiet_and_verbose(found: Settings) -> None:
    if found.quiet and found.verbose:
        raise click.UsageError("-q (say less) and -v (say more) contradict each other; pick one")


def record_wait(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``-w``: device commands wait for their device to appear (dfu-util's ``--wait``)."""
    if value:
        _settings_of(ctx).wait_for_device = True


JSON_HELP = "Print JSON on stdout for scripts (errors too)."


def json_option(func: F) -> F:
    """``--json`` for a command that prints JSON: its ``as_json`` parameter is True when
    ``--json`` was given here or before the command name (``dfuse --json list``)."""
    return click.option(
        "--json", "as_json", is_flag=True, is_eager=True, callback=_record_json, help=JSON_HELP
    )(func)


def global_params() -> list[click.Option]:
    """Fresh ``-q``, ``-v`` and ``--json`` options for one command or group (not exposed as
    parameters: read them with :func:`settings`)."""
    return [
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            is_eager=True,
            expose_value=False,
            callback=_record_quiet,
            help="Only errors and warnings: no progress or informational output.",
        ),
        click.Option(
            ["-v", "--verbose"],
            count=True,
            is_eager=True,
            expose_value=False,
            callback=_record_verbose,
            help="Say what the host does on stderr (-vv: every request).",
        ),
        click.Option(
            ["--json"],
            is_flag=True,
            is_eager=True,
            expose_value=False,
            callback=_record_json,
            help=JSON_HELP,
        ),
    ]


def adopt_global_params(command: click.Command) -> None:
    """Give ``command`` (and, for a group, every subcommand) the global options it lacks; a
    ``--json`` it declares itself is made to honour ``--json`` given anywhere on the line."""
    if getattr(command, "_dfuse_globals", False):
        return
    names = {opt for p in command.params for opt in p.opts}
    for param in command.params:
        if "--json" in param.opts and param.callback is not _record_json:
            param.callback = _chain_json(param.callback)
            param.is_eager = True
    for option in global_params():
        if not names.intersection(option.opts):
            command.params.append(option)
    command._dfuse_globals = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            adopt_global_params(sub)


def _chain_json(
    original: Callable[[click.Context, click.Parameter, Any], Any] | None,
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if original is not None:
            value = original(ctx, param, value)
        return _record_json(ctx, param, bool(value))

    return callback
