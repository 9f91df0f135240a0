"""Terminal output shared by the commands: consoles, JSON, hex formatting (layer: cli).

rich is imported only inside ``pydfuse.cli``. Library code returns data; this turns it into text.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


class OutputClosed(Exception):
    """The reader of stdout went away (``dfuse list | head -1``); ``main`` ends quietly.

    Not an OSError on purpose: click turns an EPIPE OSError into ``sys.exit(1)`` and rich into
    ``SystemExit(1)``, but a reader that has seen enough is no failure of this command.
    """


class _Console(Console):
    """rich's Console, except that a closed pipe raises :class:`OutputClosed`."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise OutputClosed


def console(*, err: bool = False) -> Console:
    """A rich console on stdout (or stderr); plain text when not a terminal.

    Markup is off: the text printed carries names from devices (product strings, alternate
    names) and files (DfuSe target names, paths), and a ``[/x]`` in one of them must print as
    it is, not style the line or raise MarkupError. Style with :class:`rich.text.Text`.
    """
    return _Console(
        file=sys.stderr if err else sys.stdout, highlight=False, soft_wrap=True, markup=False
    )


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (the ``--json`` form of every command)."""
    try:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()  # a full disk or closed pipe shows up here, inside main
    except BrokenPipeError:
        raise OutputClosed from None


def hex32(value: int) -> str:
    """``0x08003000`` style."""
    return f"0x{value:08x}"


def human_size(n_bytes: int) -> str:
    """``512 B``, ``2 KiB``, ``1.5 MiB``."""
    if n_bytes < 1024:
        return f"{n_bytes} B"
    for unit, scale in (("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3)):
        if n_bytes < scale * 1024 or unit == "GiB":
            value = n_bytes / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
