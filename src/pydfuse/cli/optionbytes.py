"""Commands: option-bytes (alias ob) and its ``set`` subcommand, and unprotect (layer: cli;
imports pydfuse.ops, pydfuse.optionbytes, the other cli modules, click and rich).

``dfuse option-bytes`` shows every field of an ST ROM's option bytes, named, with its meaning
and factory value; ``dfuse option-bytes set FIELD=VALUE ...`` shows the before/after diff,
writes, waits for the reset and reads back. Safety rules (README "Option bytes and read
protection"): RDP level 2 only with --permanently-lock-this-chip on a recognised family; an
unknown family is shown raw and never changed without --family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.params import VID_PID, VidPid
from pydfuse.cli.render import console, emit_json, hex32
from pydfuse.cli.session import environment, selector
from pydfuse.ops.optionbytes import UNPROTECT_WARNING
from pydfuse.optionbytes import (
    FAMILIES,
    WRP_MODES,
    FieldChange,
    OptionRequestError,
    Protected,
    units_text,
)

F = TypeVar("F", bound=Callable[..., Any])

FAMILY_HELP = (
    "The chip's option-byte layout when it is not recognised from the device: "
    + ", ".join(FAMILIES)
    + "."
)


WRP_MODE_HELP = (
    "STM32F2/F4 whose nWRP bit 15 (SPRMOD) reads 1: what the nWRP bits mean on this chip - "
    "write-protection (an F405/407/415/417, where the bit is unused) or pcrop (an F401/F411/"
    "F412/F446/F42x/F43x in PCROP mode). pydfuse cannot tell them apart over DFU."
)


def _selection(func: F) -> F:
    """-d/-S/-p as for every device command (the option-byte alternate is found by name)."""
    for option in reversed(
        [
            click.option("-d", "--device", type=VID_PID, help="Only devices with this VID:PID."),
            click.option("-S", "--serial", help="Only the device with this serial number."),
            click.option("-p", "--path", help='Only the device at this bus path ("1-1.2").'),
            click.option("--family", metavar="NAME", help=FAMILY_HELP),
            click.option("--wrp-mode", type=click.Choice(WRP_MODES), help=WRP_MODE_HELP),
        ]
    ):
        func = option(func)
    return func


def _merged(ctx: click.Context, **mine: Any) -> dict[str, Any]:
    """Options given to ``set`` itself, else to the ``option-bytes`` group before it."""
    parent = ctx.parent.params if ctx.parent is not None else {}
    return {key: value if value is not None else parent.get(key) for key, value in mine.items()}


# -- show ------------------------------------------------------------------------------------
def _show(report: ops.OptionBytesReport) -> None:
    out = console()
    block, family = report.block, report.block.family
    raw = " ".join(block.raw[i : i + 4].hex() for i in range(0, len(block.raw), 4))
    title = family.title if family is not None else "option bytes"
    out.print(Text.assemble((title, "bold"), f" at {hex32(block.address)} (alt {block.alt.alt})"))
    out.print(f"  device: {report.device}")
    out.print(f"  raw:    {raw}")
    if family is None or block.decoded is None:
        maybe = f" (it could be {' or '.join(block.candidates)})" if block.candidates else ""
        out.print(
            Text(
                f"  layout not recognised{maybe}: shown raw only; name it with --family "
                f"({', '.join(FAMILIES)}) to decode and change it",
                style="yellow",
            )
        )
        return
    level = report.rdp_level
    style = "green" if level == 0 else "bold red"
    out.print(Text.assemble("  read protection: ", (f"level {level}", style)))
    _show_write_protection(report)
    out.print(_field_table(report))
    for problem in report.problems():
        out.print(Text(f"  warning: {problem}", style="yellow"))
    for note in family.notes:
        out.print(f"  note: {note}")
    out.print(
        f"  source: {family.source}" + ("" if block.detected else " (family named by --family)")
    )


def _units(wrp: Protected) -> str:
    if not wrp.units:
        return "none"
    where = ", ".join(f"{hex32(lo)}-{hex32(hi - 1)}" for lo, hi in wrp.ranges)
    return f"{wrp.unit}s {units_text(wrp.units)}" + (f" ({where})" if where else "")


def _show_write_protection(report: ops.OptionBytesReport) -> None:
    """The protected units, read as the nWRP mode says (F2/F4 SPRMOD), or both readings."""
    out = console()
    mode, wrp, readings = report.block.wrp_mode, report.write_protection, report.wrp_readings
    if readings:
        out.print(
            Text(
                "  write protection: not known - SPRMOD (nWRP bit 15) reads 1: unused on an "
                "F405/407/415/417, PCROP mode on an F401/F411/F412/F446/F42x/F43x; say which "
                "with --wrp-mode",
                style="yellow",
            )
        )
        out.print(f"    F405/407/415/417 reading: write-protected {_units(readings[WRP_MODES[0]])}")
        out.print(f"    PCROP-mode reading: execute-only (PCROP) {_units(readings[WRP_MODES[1]])}")
    elif wrp is not None and mode == "pcrop":
        out.print(f"  PCROP (execute-only, write-protected too): {_units(wrp)}")
    elif wrp is not None:
        out.print(f"  write protection: {_units(wrp)}")


def _field_table(report: ops.OptionBytesReport) -> Table:
    verbose = settings().verbose > 0
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("field", "value", "factory", "meaning", *(["source"] if verbose else [])):
        table.add_column(column)
    for fv in report.fields:
        factory = fv.default_text or fv.field.default_note or "not documented"
        value = Text(fv.text, style="yellow" if fv.is_default is False else "")
        row: list[str | Text] = [fv.field.name, value, factory, fv.field.meaning]
        if verbose:
            row.append(fv.field.source)
        table.add_row(*row)
    return table


@click.group(
    "option-bytes",
    invoke_without_command=True,
    epilog="Short form: dfuse ob. Examples: dfuse ob; dfuse ob set rdp=1; dfuse ob set wrp=0-1",
)
@_selection
@json_option
@click.pass_context
def option_bytes_group(
    ctx: click.Context,
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    family: str | None,
    wrp_mode: str | None,
    as_json: bool,
) -> None:
    """Show the option bytes of an ST ROM bootloader: every field named, with its meaning and
    factory value (read protection, write protection, brown-out level, watchdog, resets).

    `set FIELD=VALUE ...` changes them. Fields with values different from the factory ones
    are highlighted; -v adds the reference-manual section of each field.
    """
    if ctx.invoked_subcommand is not None:
        return
    sel = selector(device, serial, path, None)
    with environment(one=sel) as env:
        report = ops.option_bytes(env, sel, family=family, wrp_mode=wrp_mode)
    if as_json:
        emit_json(report.to_dict())
        return
    _show(report)


# -- set -------------------------------------------------------------------------------------
def _diff_table(changes: tuple[FieldChange, ...]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("field", "before", "after", "meaning"):
        table.add_column(column)
    for c in changes:
        table.add_row(c.name, c.before, Text(c.after, style="bold"), c.meaning)
    return table


@option_bytes_group.command("set")
@click.argument("assignments", nargs=-1, metavar="FIELD=VALUE...")
@_selection
@click.option("--dry-run", is_flag=True, help="Show the before/after diff; write nothing.")
@click.option(
    "--permanently-lock-this-chip",
    "permanently_lock",
    is_flag=True,
    help="Allow what can NEVER be undone: rdp=2 (no debug port, no DFU bootloader, ever), a "
    "G4 PCROP area with pcrop_rdp=keep (execute-only for good).",
)
@json_option
@click.pass_context
def set_command(
    ctx: click.Context,
    assignments: tuple[str, ...],
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    family: str | None,
    wrp_mode: str | None,
    dry_run: bool,
    permanently_lock: bool,
    as_json: bool,
) -> None:
    """Change option-byte fields: rdp=0|1|2, wrp=0-3,7|none|all (sectors, 4 KB blocks or
    pages), bor=off|1|2|3, wdg_sw=software|hardware, ... (`dfuse ob` lists the fields).

    Only the named fields change; complement bytes are kept consistent. The before/after diff
    is shown, the block written; the chip applies it and resets, and pydfuse waits for it to
    come back and reads the option bytes again to verify. rdp=1 makes the ROM refuse every
    read; `dfuse unprotect --force` undoes it by mass-erasing the flash.
    """
    if not assignments:
        raise click.UsageError("give at least one FIELD=VALUE, e.g. rdp=1 or wrp=0-3")
    opts = _merged(ctx, device=device, serial=serial, path=path, family=family, wrp_mode=wrp_mode)
    quiet = as_json or settings().quiet

    def show_plan(change: ops.OptionBytesChange) -> None:
        if not quiet:
            console().print(f"{change.device} ({change.family}): writing")
            console().print(_diff_table(change.changes))

    sel = selector(opts["device"], opts["serial"], opts["path"], None)
    with environment(one=sel) as env:
        try:
            change = ops.set_option_bytes(
                env,
                sel,
                assignments,
                family=opts["family"],
                wrp_mode=opts["wrp_mode"],
                permanently_lock=permanently_lock,
                dry_run=dry_run,
                before_write=show_plan,
            )
        except OptionRequestError as error:  # a misspelt field or value: usage, nothing sent
            hint = f" ({error.hint})" if error.hint else ""
            raise click.UsageError(f"{error}{hint}", ctx=ctx) from None
    if as_json:
        emit_json(change.to_dict())
        return
    _render_change(change)


def _render_change(change: ops.OptionBytesChange) -> None:
    out = console()
    if not change.changes:
        out.print("the option bytes already hold these values: nothing written")
        return
    if change.dry_run:
        out.print(f"dry run on {change.device} ({change.family}): nothing written")
        out.print(_diff_table(change.changes))
        return
    if settings().quiet:
        return
    if change.verified is None:
        out.print("written; not read back")
    elif change.notes:  # confirmed another way (RDP level 1: the refusal itself)
        out.print("written; the device reset and came back; verified")
    else:
        out.print("written; the device reset and came back; read back and verified")
    for note in change.notes:
        out.print(f"note: {note}")


# -- unprotect -------------------------------------------------------------------------------


@click.command("unprotect")
@click.option("-d", "--device", type=VID_PID, help="Only devices with this VID:PID.")
@click.option("-S", "--serial", help="Only the device with this serial number.")
@click.option("-p", "--path", help='Only the device at this bus path ("1-1.2").')
@click.option(
    "--force",
    is_flag=True,
    help="Required to send it: Read Unprotect mass-erases the flash (without it an unprotected "
    "chip is only reported as such).",
)
@json_option
def unprotect_command(
    device: VidPid | None, serial: str | None, path: str | None, force: bool, as_json: bool
) -> None:
    """Remove read protection (RDP level 1 -> 0) with the ROM's Read Unprotect (DfuSe 0x92).

    This MASS-ERASES the flash and resets the chip; afterwards pydfuse finds the device again
    and reads its option bytes to confirm level 0. A chip that is not read-protected is left
    alone (nothing to do, exit 0, with or without --force). Level 2 cannot be removed by anyone.
    """
    sel = selector(device, serial, path, None)
    with environment(one=sel) as env:
        # without --force it only looks: an unprotected chip needs nothing, others are refused;
        # the mass-erase warning is printed only when the command is really about to be sent
        result = ops.unprotect(
            env, sel, force=force, before_send=lambda: announce_unprotect(as_json=as_json)
        )
    if as_json:
        emit_json(result.to_dict())
        return
    render_unprotect(result)


def announce_unprotect(*, as_json: bool) -> None:
    """Say what Read Unprotect does before it is sent (stderr; not with --json or -q)."""
    if not as_json and not settings().quiet:
        console(err=True).print(Text(f"{UNPROTECT_WARNING}.", style="yellow"))


def render_unprotect(result: ops.UnprotectResult) -> None:
    """What Read Unprotect did, as ``dfuse unprotect`` and dfu-util's ``:unprotect:force``
    say it: sent or not, mass-erased or not, and the RDP level read back."""
    if settings().quiet:
        return
    out = console()
    if not result.sent:
        out.print(
            f"{result.device} is not read-protected (RDP level 0): nothing to do; nothing "
            "was sent, the flash is untouched"
        )
    elif result.was_protected is None:
        out.print("Read Unprotect sent; this device has no option bytes to confirm the result")
    elif not result.was_protected:  # AN3156 Table 4: the ROM clears its RAM only
        out.print(
            "the chip was not read-protected: Read Unprotect sent, the ROM cleared its RAM only "
            f"and reset; the flash is untouched, RDP is level {result.level_after}"
        )
    else:
        out.print(
            "read protection removed: the chip mass-erased its flash and reset; RDP is level "
            f"{result.level_after} (confirmed by reading its option bytes)"
        )
