"""Commands: list, erase, leave, detach, profiles (layer: cli; flash, upload and unprotect live
in :mod:`pydfuse.cli.flash`, :mod:`pydfuse.cli.upload` and :mod:`pydfuse.cli.optionbytes`).

Thin click wrappers over :mod:`pydfuse.ops`: parse options, open the environment (USB or the
``--sim`` board), call one verb, render its record (rich text, or ``--json``). Errors are raised
as pydfuse errors and turned into one line and an exit code by :func:`pydfuse.cli.main.main`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.fleet import finish, many_device_options, many_selectors, one_selector
from pydfuse.cli.observe import board_traces
from pydfuse.cli.params import ADDRESS, SIZE, VidPid
from pydfuse.cli.progress import device_progress, time_text
from pydfuse.cli.render import console, emit_json, hex32, human_size
from pydfuse.cli.session import (
    board_line,
    device_options,
    environment,
    matches,
    selector,
    sim_dict,
)
from pydfuse.ops.protection import probe_devices
from pydfuse.spec import Attributes

JSON = json_option


def _info(text: str, *, as_json: bool) -> None:
    if not as_json and not settings().quiet:
        console().print(text)


# -- list ------------------------------------------------------------------------------------
def _alt_table(device: ops.DeviceInfo) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("alt", "memory", "address", "sectors", "rights"):
        table.add_column(column)
    for alt in device.alternates:
        if alt.memory_map is None:
            label = alt.name or alt.layout or "(DFU run-time interface)"
            unreadable = "(layout not readable, see below)" if alt.layout_error else ""
            table.add_row(str(alt.alt), label, "", unreadable, "")
            continue
        first = True
        for region in alt.memory_map.regions:
            address = region.address
            for group in region.groups():
                size = human_size(group.size)
                letter = group.to_string()[-1]
                rights = _rights_text(letter)
                table.add_row(
                    str(alt.alt) if first else "",
                    alt.name if first else "",
                    hex32(address),
                    f"{group.count} × {size}",
                    rights,
                )
                first = False
                address += group.count * group.size
    return table


_ATTRIBUTE_WORDS = {
    Attributes.CAN_DNLOAD: "download",
    Attributes.CAN_UPLOAD: "upload",
    Attributes.MANIFESTATION_TOLERANT: "manifestation-tolerant",
    Attributes.WILL_DETACH: "will-detach",
}


def _rights_text(letter: str) -> str:
    bits = (ord(letter.lower()) - ord("a") + 1) & 7 if letter.isalpha() else 0
    words = [w for bit, w in ((1, "read"), (2, "erase"), (4, "write")) if bits & bit]
    return "/".join(words) if bits != 1 else "read-only"


@click.command("list")
@device_options
@JSON
def list_command(
    device: VidPid | None, serial: str | None, path: str | None, alt: str | None, as_json: bool
) -> None:
    """List DFU devices (run-time and DFU mode) with their memories.

    Shows VID:PID, serial, bus path, DFU version, transfer size, attributes, and every
    alternate setting (or only those -a names) with its memory layout as a sector table.
    """
    sel = selector(device, serial, path, None)
    with environment() as env:
        found = [d for d in ops.list_devices(env) if matches(d, sel)]
        if not found and sel.wait_s is not None:  # -w: until one appears (Ctrl-C stops)
            ops.notice.info("waiting for a DFU device (%s) to appear...", sel.ids_text())
        while not found and sel.wait_s is not None:
            env.clock.sleep(ops.WAIT_POLL_S)
            found = [d for d in ops.list_devices(env) if matches(d, sel)]
        found = probe_devices(env, found)  # each ROM's read protection (#12)
    before = len(found)
    if alt is not None:
        found = [d for d in (_only_alt(d, alt) for d in found) if d.alternates]
    if as_json:
        emit_json({"devices": [d.to_dict() for d in found]})
        return
    out = console()
    if not found:
        none = f"no alternate setting matches -a {alt!r}" if before else "no DFU devices found"
        out.print(none)
        return
    for d in found:
        attrs = ", ".join(_ATTRIBUTE_WORDS[a] for a in Attributes if a in d.attributes) or "none"
        line = Text()
        line.append(d.id_text, style="bold")
        line.append(
            f" {d.product or ''}  serial {d.serial or '-'}  "
            f"path {d.path}  {d.mode} mode  DFU {d.dfu_version}"
            f"{' (DfuSe)' if d.dfuse else ''}  transfer {d.transfer_size} B  {attrs}"
        )
        out.print(line)
        if d.problem is not None:  # nothing but the descriptors could be read
            out.print(Text.assemble("  ", ("cannot open it:", "bold red"), f" {d.problem}"))
            out.print("  `dfuse doctor` says what stands in the way and what to change")
            continue
        if any(a.memory_map is not None for a in d.alternates):
            out.print(_alt_table(d))
        else:  # run-time interface or plain DFU: no memory layout, so no sector table
            for a in d.alternates:
                out.print(f"  alt {a.alt}: {a.name or a.layout or 'DFU run-time interface'}")
        _print_layout_problems(out, d)
        if d.protection is not None:
            bad = d.protection.readable is False
            line = Text("  read protection: ")
            line.append(d.protection.describe(), style="bold red" if bad else "")
            out.print(line)


def _print_layout_problems(out: Console, device: ops.DeviceInfo) -> None:
    """Why a memory has no sector table, and what its layout string's parse left out."""
    for a in device.alternates:
        if a.layout_error is not None:
            line = Text(f"  alt {a.alt}: ")
            line.append("memory layout not readable, this memory cannot be used: ", "yellow")
            line.append(a.layout_error)
            out.print(line)
        for note in a.layout_notes:
            out.print(Text.assemble(f"  alt {a.alt}: ", ("layout note:", "yellow"), f" {note}"))


def _only_alt(info: ops.DeviceInfo, alt: str) -> ops.DeviceInfo:
    """``info`` with only the alternates ``-a`` names: its number, else its name or whole
    string (case insensitive, as dfu-util matches it), else the names starting with it, else
    the names containing it."""
    key = alt.strip().lower()
    alts = info.alternates
    chosen = (
        [a for a in alts if a.alt == int(key)]
        if key.isdigit()
        else [a for a in alts if key in (a.name.lower(), a.layout.lower())]
        or [a for a in alts if a.name.lower().startswith(key)]
        or [a for a in alts if key in a.name.lower()]
    )
    return replace(info, alternates=tuple(chosen))


# -- erase, leave, detach --------------------------------------------------------------------
@click.command("erase")
@device_options
@click.option("--address", type=ADDRESS, help="Erase the sectors from this address.")
@click.option(
    "--length",
    type=SIZE,
    metavar="BYTES",
    help="...covering this many bytes, e.g. 128K (default: one sector).",
)
@click.option("--all", "erase_all", is_flag=True, help="Erase every erasable sector of the alt.")
@click.option("--mass", is_flag=True, help="DfuSe mass erase (the whole internal flash).")
@click.option(
    "--force", is_flag=True, help="Mass erase even where the layout marks sectors not erasable."
)
@JSON
def erase_command(
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    alt: str | None,
    address: int | None,
    length: int | None,
    erase_all: bool,
    mass: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Erase sectors: a range (--address [--length]), every erasable sector (--all), or --mass.

    Read-only sectors (the bootloader's) are never erased one by one; a mass erase that would
    wipe them is refused unless --force.
    """
    chosen = sum((address is not None, erase_all, mass))
    if chosen != 1:
        raise click.UsageError("choose exactly one of --address, --all, --mass")
    if length is not None and address is None:
        raise click.UsageError("--length needs --address")
    if length == 0:
        raise click.BadParameter("must be at least 1 byte", param_hint="--length")
    if address is not None and length is None:
        length = 1  # the sector holding the address
    sel = selector(device, serial, path, alt)
    with (
        environment(one=sel) as env,
        device_progress(env, as_json=as_json) as view,
    ):
        result = ops.erase(
            env,
            sel,
            address=address,
            length=length,
            mass=mass,
            force=force,
            progress=view,
        )
    if as_json:
        emit_json({**result.to_dict(), **view.watch.to_dict()})
        return
    for warning in result.warnings:
        console(err=True).print(f"warning: {warning}")
    what = "all of" if result.mass else f"{len(result.erased_sectors)} sector(s) of"
    how = "mass-erased" if result.mass else "erased"
    _info(
        f"{how} {what} alt {result.alt} {result.name} ({human_size(result.erased_bytes)}) "
        f"in {time_text(result.elapsed_s, modeled=view.modeled)}",
        as_json=as_json,
    )


@click.command("leave")
@many_device_options
@click.option("--address", type=ADDRESS, help="Start the code whose vector table is here.")
@click.option("--force", is_flag=True, help="Jump even to an address outside every memory.")
@JSON
def leave_command(
    device: VidPid | None,
    serials: tuple[str, ...],
    paths: tuple[str, ...],
    alt: str | None,
    all_boards: bool,
    address: int | None,
    force: bool,
    as_json: bool,
) -> int | None:
    """Leave DFU mode and start the application (a device that then drops off USB is success).
    A device already running its application is left alone (nothing is sent) unless --address
    names code to start, which switches it into DFU mode first. With --all, every matching
    device, each as it would be alone."""
    if all_boards:
        with environment() as env:
            selectors = many_selectors(device, serials, paths, alt)
            outcomes = ops.leave_many(
                env, selectors, address, force=force, board_env=board_traces()
            )
            lines = {  # what each board runs now, where the leave changed it
                o.device.path: board_line(env.for_device(o.device.serial, o.device.path))
                for o in outcomes
                if o.result is not None and not o.result.already_running
            }

        def describe(outcome: ops.BoardOutcome[ops.LeaveResult]) -> str:
            assert outcome.result is not None
            line = lines.get(outcome.device.path)
            text = _leave_text(outcome.result, named=False)
            return text + (f"; {line.split(': ', 1)[1]}" if line else "")

        return finish(outcomes, verb="leave", as_json=as_json, describe=describe)
    sel = one_selector(device, serials, paths, alt)
    with environment(one=sel) as env:
        result = ops.leave_device(env, sel, address, force=force)
        line = board_line(env, after_leave=result.left and not result.already_running)
        sim = sim_dict(env)
    if as_json:
        emit_json({**result.to_dict(), "sim": sim})
        return None
    _info(_leave_text(result), as_json=False)
    if line:
        _info(line, as_json=False)
    return None


def _leave_text(result: ops.LeaveResult, *, named: bool = True) -> str:
    if result.already_running:
        who = f"{result.device} is" if named else "is"
        return (
            f"{who} already running its application: nothing sent (leave --address ADDR "
            "switches it into DFU mode to start other code)"
        )
    text = "left DFU mode" if result.left else "the device did not confirm leaving DFU mode"
    if result.detached:
        text = f"it was running its application: sent DFU_DETACH to jump from DFU mode; {text}"
    return text


def _not_nan(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if math.isnan(value):  # FloatRange lets NaN through: every comparison with it is False
        raise click.BadParameter("nan is not a number of seconds")
    return value


@click.command("detach")
@device_options
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(0.0, 300.0),
    callback=_not_nan,
    default=5.0,
    show_default=True,
    help="Seconds (0-300) to wait for the device to come back in DFU mode.",
)
@JSON
def detach_command(
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    alt: str | None,
    wait_s: float,
    as_json: bool,
) -> None:
    """Switch a run-time device into DFU mode (DFU_DETACH, then a bus reset) and wait for it."""
    sel = selector(device, serial, path, alt)
    with environment(one=sel) as env:
        info = ops.detach(env, sel, wait_s=wait_s)
    if as_json:
        emit_json(info.to_dict())
        return
    _info(
        f"{info.id_text} serial {info.serial or '-'} is in DFU mode at {info.path}", as_json=False
    )


@click.command("profiles")
@JSON
def profiles_command(as_json: bool) -> None:
    """List the board profiles usable with --sim and --profile."""
    from pydfuse.sim.profiles import PROFILES  # the simulator only for the commands using it

    rows = [
        {
            "name": p.name,
            "description": p.description,
            "id": f"{p.vid:04x}:{p.pid:04x}",
            "alternates": [a.layout for a in p.alternates],
        }
        for p in PROFILES.values()
    ]
    if as_json:
        emit_json({"profiles": rows})
        return
    out = console()
    for row in rows:
        out.print(Text.assemble((str(row["name"]), "bold"), f"  {row['id']}  {row['description']}"))
        for layout in row["alternates"]:
            out.print(f"    {layout}")
