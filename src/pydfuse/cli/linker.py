"""Command: ``dfuse linker`` — make a project DFU-loadable for a board (layer: cli).

Prints the GNU ld MEMORY block for an application behind the board's bootloader and, for HAL,
the StdPeriph library, libopencm3, Zephyr and plain CMSIS, how to point the vector table at
the application. ``--patch FILE.ld`` moves the FLASH region of an existing script (nothing else
changes) and shows the diff; only ``--write`` writes it, keeping the original as ``FILE.ld.bak``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from pydfuse.cli.context import json_option, settings
from pydfuse.cli.render import console, emit_json, hex32, human_size
from pydfuse.cli.session import lookup_profile
from pydfuse.errors import DfuseError, FormatError
from pydfuse.formats import atomic_write
from pydfuse.layout.linker import LinkPlan, ScriptPatch, patch_linker_script
from pydfuse.ops.run import link_plan

__all__ = ["linker_command"]


def _plan(profile: str | None) -> LinkPlan:
    name = profile or settings().sim_profile
    if name is None:
        raise click.UsageError("which board? give --profile BOARD (dfuse profiles lists them)")
    return link_plan(lookup_profile(name, option="--profile" if profile else "--sim"))


def _read_script(path: Path) -> str:
    """The script's text exactly as stored (CRLF line endings stay CRLF)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("not a text file: a linker script is text", path=str(path)) from None
    except OSError as error:
        raise DfuseError(f"cannot read {path}: {error.strerror or error}") from None


def _backup_path(path: Path) -> Path:
    """``FILE.bak``, or ``FILE.bak.1``, ``.2`` ... so an earlier backup is never overwritten."""
    candidate = path.with_name(path.name + ".bak")
    number = 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak.{number}")
    return candidate


def _diff(path: Path, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=str(path),
        tofile=f"{path} (patched)",
    )
    return "".join(lines)


@click.command("linker")
@click.option("--profile", metavar="BOARD", help="The board (default: the --sim board).")
@click.option(
    "--patch",
    "script",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE.ld",
    help="Move the FLASH region of this linker script behind the bootloader; shows the diff.",
)
@click.option("--write", is_flag=True, help="With --patch: write the script (FILE.ld.bak kept).")
@json_option
def linker_command(profile: str | None, script: Path | None, write: bool, as_json: bool) -> None:
    """Make a project DFU-loadable: linker MEMORY block and vector-table setting for a board.

    The application goes behind the board's bootloader (FLASH ORIGIN), and its interrupts must
    use its own vector table (VTOR): both steps, for HAL, StdPeriph, libopencm3 and Zephyr.
    """
    if write and script is None:
        raise click.UsageError("--write goes with --patch FILE.ld")
    outcome = _Outcome(_plan(profile))
    if script is not None:
        before = _read_script(script)
        outcome = _Outcome(outcome.plan, script, before, patch_linker_script(before, outcome.plan))
        if write and outcome.patch is not None and outcome.patch.changes:
            backup = _backup_path(script)
            atomic_write(backup, before.encode("utf-8"))
            atomic_write(script, outcome.patch.text.encode("utf-8"))
            outcome = replace(outcome, backup=backup)
    if as_json:
        emit_json(_as_dict(outcome))
        return
    _render(outcome)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The board's plan and, with --patch, the script before, its patch and the backup."""

    plan: LinkPlan
    script: Path | None = None
    before: str = ""
    patch: ScriptPatch | None = None
    backup: Path | None = None


def _as_dict(outcome: _Outcome) -> dict[str, Any]:
    plan, script, patch = outcome.plan, outcome.script, outcome.patch
    doc: dict[str, Any] = {
        "profile": plan.board,
        "flash": {"origin": plan.app_address, "length": plan.flash_end - plan.app_address},
        "ram": {"origin": plan.ram_start, "length": plan.ram_end - plan.ram_start},
        "bootloader": None if plan.bootloader is None else list(plan.bootloader),
        "memory_block": plan.memory_block(),
        "vector_table": {
            "why": plan.why(),
            "settings": [{"for": who, "set": what} for who, what in plan.vector_table_recipe()],
        },
    }
    if script is not None and patch is not None:
        doc["patch"] = {
            "file": str(script),
            "changes": list(patch.changes),
            "notes": list(patch.notes),
            "diff": _diff(script, outcome.before, patch.text),
            "written": outcome.backup is not None,
            "backup": None if outcome.backup is None else str(outcome.backup),
        }
    return doc


def _render(outcome: _Outcome) -> None:
    plan, script, patch = outcome.plan, outcome.script, outcome.patch
    out = console()
    if script is None or not settings().quiet:
        where = f"application at {hex32(plan.app_address)}"
        if plan.bootloader is not None:
            lo, hi = plan.bootloader
            where += f" behind the bootloader ({hex32(lo)}..{hex32(hi - 1)})"
        flash = human_size(plan.flash_end - plan.app_address)
        ram = human_size(plan.ram_end - plan.ram_start)
        out.print(f"{plan.board}: {where}, {flash} of flash, {ram} of SRAM")
        out.print()
        out.print("/* linker script (GNU ld) */", markup=False, highlight=False)
        out.print(plan.memory_block(), markup=False, highlight=False)
        out.print(f"Vector table: {plan.why()}.", markup=False, highlight=False)
        for who, what in plan.vector_table_recipe():
            out.print(Text(f"  {who}: ", style="bold").append(what, style=""))
    if script is None or patch is None:
        return
    out.print()
    if not patch.changes:
        out.print(f"{script}: its FLASH region is already at {hex32(plan.app_address)}")
    else:
        out.print(_diff(script, outcome.before, patch.text), markup=False, highlight=False, end="")
    for note in patch.notes:
        out.print(Text(f"note: {note}", style="yellow"))
    if outcome.backup is not None:
        out.print(f"wrote {script} (the original is {outcome.backup})")
    elif patch.changes:
        out.print(Text("not written: add --write to change the file", style="dim"))
