"""Terminal output shared by the commands: consoles, JSON, hex formatting (layer: cli).

rich is imported only inside ``pydfuse.cli``, and only when a console is asked for: JSON output
and plain lines (:func:`echo`) start without it. Library code returns data; this turns it into
text.
"""

from __future__ import annotations

import sys
from collections.abc import Container, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydfuse.cli.context import OutputClosed

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "OutputClosed",
    "console",
    "echo",
    "emit_json",
    "hex32",
    "human_size",
    "plain_table",
]


def console(*, err: bool = False) -> Console:
    """A rich console on stdout (or stderr); plain text when not a terminal.

    Markup is off: the text printed carries names from devices (product strings, alternate
    names) and files (DfuSe target names, paths), and a ``[/x]`` in one of them must print as
    it is, not style the line or raise MarkupError. Style with :class:`rich.text.Text`.
    """
    from rich.console import Console

    class _Console(Console):
        """rich's Console, except that a closed pipe raises :class:`OutputClosed`."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise OutputClosed

    return _Console(
        file=sys.stderr if err else sys.stdout, highlight=False, soft_wrap=True, markup=False
    )


def echo(text: str, *, err: bool = False) -> None:
    """One plain line on stdout (or stderr), without loading rich: what a console would print
    for text without styles, for the commands that must start fast (``info``, ``suffix``)."""
    stream = sys.stderr if err else sys.stdout
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (the ``--json`` form of every command)."""
    try:
        import json  # on use: plain-text output starts without it

        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()  # a full disk or closed pipe shows up here, inside main
    except BrokenPipeError:
        raise OutputClosed from None


def plain_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Container[int] = ()
) -> list[str]:
    """Aligned text columns under a dashed rule: for logs and ``grep``, and without rich."""
    table = [tuple(headers), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(table[0]), line(["-" * w for w in widths]), *(line(row) for row in table[1:])]


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
