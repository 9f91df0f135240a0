"""The ``dfuse`` group's machinery: commands imported only when they run, global options in
every position, and a ``--help`` that lists commands by task with an example each (layer: cli).

Imports click, the standard library and :mod:`pydfuse.cli.context` only: it is on the start-up
path of every command, and ``dfuse --help`` must not pay for rich, the simulator or the loaders.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import NamedTuple

import click

from pydfuse.cli.context import adopt_global_params


class Entry(NamedTuple):
    """One command of the registry: where it lives and how ``dfuse --help`` presents it."""

    name: str
    target: str  # "pydfuse.cli.module:attribute", imported when the command runs
    section: str
    summary: str
    example: str


class LazyGroup(click.Group):
    """A click group whose commands come from :class:`Entry` rows, imported on first use.

    Every command (and subcommand) it hands out accepts ``-q``, ``-v`` and ``--json``
    (:func:`pydfuse.cli.context.adopt_global_params`). Commands added with ``add_command``
    still work; ``--help`` lists them under "Other commands".
    """

    def __init__(self, *args: object, entries: Sequence[Entry] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.entries = {entry.name: entry for entry in entries}
        adopt_global_params(self)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """A dfu-util command line (``dfuse -a 0 -D fw.bin``) gets the command it means."""
        takes_value = {
            name: not (p.is_flag or p.count)
            for p in self.get_params(ctx)
            if isinstance(p, click.Option)
            for name in (*p.opts, *p.secondary_opts)
        }
        start = 0  # past the group's own options: the command's name, or dfu-util's words
        while start < len(args):
            name = args[start].split("=", 1)[0]
            if name not in takes_value:
                break
            start += 2 if takes_value[name] and "=" not in args[start] else 1
        if start < len(args) and args[start] not in self.list_commands(ctx):
            from pydfuse.cli.dfuutil import dfu_util_words  # only for lines without a command

            words = dfu_util_words(args, start)
            args = words if words is not None else args
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        extra = sorted(name for name in self.commands if name not in self.entries)
        return [*self.entries, *extra]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.entries:
            module_name, _, attribute = self.entries[cmd_name].target.partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command), self.entries[cmd_name].target
            self.commands[cmd_name] = command
        if command is not None:
            adopt_global_params(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands by task, in the order a newcomer needs them, each with an example."""
        sections: dict[str, list[tuple[str, str]]] = {}
        width = max((len(name) for name in self.list_commands(ctx)), default=0)
        for entry in self.entries.values():
            rows = sections.setdefault(entry.section, [])
            rows.append((entry.name.ljust(width), entry.summary))
            rows.append(("", f"e.g. {entry.example}"))
        for name in self.list_commands(ctx):
            if name not in self.entries and not self.commands[name].hidden:
                summary = self.commands[name].get_short_help_str(limit=70)
                sections.setdefault("Other commands", []).append((name.ljust(width), summary))
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows, col_spacing=3)
