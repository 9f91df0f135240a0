"""Commands: list, flash, erase, leave, detach, unprotect, profiles (layer: cli; upload lives in
:mod:`pydfuse.cli.upload`).

Thin click wrappers over :mod:`pydfuse.ops`: parse options, open the environment (USB or the
``--sim`` board), call one verb, render its record (rich text, or ``--json``). Errors are raised
as pydfuse errors and turned into one line and an exit code by :func:`pydfuse.cli.main.main`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from pydfuse import ops
from pydfuse.cli.context import settings
from pydfuse.cli.params import ADDRESS, VidPid, parse_address
from pydfuse.cli.progress import progress_view
from pydfuse.cli.render import console, emit_json, hex32, human_size
from pydfuse.cli.session import (
    board_facts,
    device_options,
    environment,
    matches,
    selector,
    sim_profile,
)
from pydfuse.cli.upload import upload_command
from pydfuse.errors import DfuseError
from pydfuse.sim.profiles import PROFILES, BoardProfile, get_profile
from pydfuse.spec import Attributes

JSON = click.option("--json", "as_json", is_flag=True, help="Print a JSON summary for scripts.")


def _info(text: str, *, as_json: bool) -> None:
    if not as_json and not settings().quiet:
        console().print(text)


def _board_line(env: ops.Environment) -> str | None:
    """What the virtual board runs now, for the summaries of --sim commands."""
    board = getattr(env, "board", None)
    if board is None:
        return None
    # Only an application has a vector table worth naming: "bootloader from 0x08000000" would
    # be wrong for a plain DFU device, whose bootloader has no address at all.
    app = board.running == "application" and board.vector_table is not None
    where = f" from {hex32(board.vector_table)}" if app else ""
    return f"virtual board {board.profile.name} ({board.serial}): running {board.running}{where}"


def _sim_dict(env: ops.Environment) -> dict[str, Any] | None:
    board = getattr(env, "board", None)
    if board is None:
        return None
    return {
        "profile": board.profile.name,
        "serial": board.serial,
        "running": board.running,
        "vector_table": hex32(board.vector_table) if board.vector_table is not None else None,
        "virtual_time_s": round(board.clock.monotonic(), 6),
    }


# -- list ------------------------------------------------------------------------------------
def _alt_table(device: ops.DeviceInfo) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("alt", "memory", "address", "sectors", "rights"):
        table.add_column(column)
    for alt in device.alternates:
        if alt.memory_map is None:
            label = alt.name or alt.layout or "(DFU run-time interface)"
            table.add_row(str(alt.alt), label, "", "", "")
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
        if any(a.memory_map is not None for a in d.alternates):
            out.print(_alt_table(d))
        else:  # run-time interface or plain DFU: no memory layout, so no sector table
            for a in d.alternates:
                out.print(f"  alt {a.alt}: {a.name or a.layout or 'DFU run-time interface'}")


def _only_alt(info: ops.DeviceInfo, alt: str) -> ops.DeviceInfo:
    """``info`` with only the alternates ``-a`` names: its number, else its name (case
    insensitive), else the names starting with it, else the names containing it."""
    key = alt.strip().lower()
    alts = info.alternates
    chosen = (
        [a for a in alts if a.alt == int(key)]
        if key.isdigit()
        else [a for a in alts if a.name.lower() == key]
        or [a for a in alts if a.name.lower().startswith(key)]
        or [a for a in alts if key in a.name.lower()]
    )
    return replace(info, alternates=tuple(chosen))


# -- flash -----------------------------------------------------------------------------------
def _dfu_util_address(text: str) -> tuple[int | None, set[str]]:
    """dfu-util's ``-s ADDRESS[:MODIFIER...]`` (modifiers: leave, mass-erase, force,
    will-reset, or a length, which flash ignores)."""
    head, *mods = text.split(":")
    address = parse_address(head) if head.strip() else None
    known = {"leave", "mass-erase", "force", "will-reset"}
    modifiers: set[str] = set()
    for mod in (m.strip().lower() for m in mods):
        if mod in known:
            modifiers.add(mod)
        elif mod:
            try:
                parse_address(mod)  # an upload length: allowed, meaningless for flash
            except click.BadParameter:
                raise click.BadParameter(
                    f"unknown modifier {mod!r} in {text!r}; use leave, mass-erase, force",
                    param_hint="-s",
                ) from None
    if "mass-erase" in modifiers and "force" not in modifiers:
        raise click.BadParameter(
            "mass-erase erases the whole memory; add :force to confirm, as with dfu-util",
            param_hint="-s",
        )
    return address, modifiers


@click.command("flash")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option(
    "-D",
    "--download",
    "download",
    type=click.Path(path_type=Path),
    help="The file to write (dfu-util style; same as FILE).",
)
@click.option(
    "-s",
    "dfuse_address",
    metavar="ADDR[:MODIFIERS]",
    help="dfu-util style address and modifiers: 0x08003000:leave, 0x08000000:mass-erase:force.",
)
@click.option("--address", type=ADDRESS, help="Where a .bin goes (HEX/S19/ELF/.dfu carry theirs).")
@device_options
@click.option(
    "--verify/--no-verify", default=True, show_default=True, help="Read back and compare."
)
@click.option("--leave", is_flag=True, help="Start the application when done.")
@click.option(
    "--leave-address",
    type=ADDRESS,
    help="Jump here when leaving (implies --leave; default: the image's vector table).",
)
@click.option("--mass-erase", is_flag=True, help="Mass erase instead of erasing touched sectors.")
@click.option("--force", is_flag=True, help="Write even where the pre-flight check refuses (loud).")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option(
    "--profile",
    "profile_name",
    metavar="BOARD",
    help="Board profile for the vector-table check on real hardware (SRAM, app address).",
)
@JSON
def flash_command(
    file: Path | None,
    download: Path | None,
    dfuse_address: str | None,
    address: int | None,
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    alt: str | None,
    verify: bool,
    leave: bool,
    leave_address: int | None,
    mass_erase: bool,
    force: bool,
    dry_run: bool,
    profile_name: str | None,
    as_json: bool,
) -> None:
    """Write FILE to the device: a .dfu (every target to its alternate, in one session),
    a HEX/S19/ELF image, or a .bin with --address.

    The image is checked against the device's memory layout first (read-only bootloader
    sectors, unmapped addresses, wrong vector table); then exactly the touched sectors are
    erased once, the data is programmed in full transfer-size blocks, read back and compared.
    """
    source = file or download
    if source is None:
        raise click.UsageError("give the file to write: dfuse flash FILE (or -D FILE)")
    if file is not None and download is not None:
        raise click.UsageError("give the file once: FILE or -D FILE")
    if dfuse_address is not None:
        s_address, modifiers = _dfu_util_address(dfuse_address)
        address = address if address is not None else s_address
        leave = leave or "leave" in modifiers
        mass_erase = mass_erase or "mass-erase" in modifiers
        force = force or "force" in modifiers
    if address is not None and source.suffix.lower() == ".dfu":
        address = None if dfuse_address is not None else address  # dfu-util ignores -s for .dfu
    leave = leave or leave_address is not None  # a jump address says what to do after writing
    profile = _check_profile(profile_name) if profile_name else sim_profile()
    with (
        environment() as env,
        progress_view(quiet=settings().quiet, as_json=as_json, clock=env.clock) as view,
    ):
        result = ops.flash(
            env,
            selector(device, serial, path, alt),
            source,
            address=address,
            verify=verify,
            leave=leave,
            leave_address=leave_address,
            mass_erase=mass_erase,
            force=force,
            dry_run=dry_run,
            progress=view,
            **board_facts(profile),
        )
        board_line = _board_line(env)
        sim = _sim_dict(env)
    if as_json:
        emit_json({**result.to_dict(), "sim": sim})
        return
    _render_flash(result, board_line)


def _check_profile(name: str) -> BoardProfile:
    try:
        return get_profile(name)
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise click.BadParameter(
            f"unknown board profile {name!r}; known: {known}", param_hint="--profile"
        ) from None


def _render_flash(result: ops.FlashResult, board_line: str | None) -> None:
    out = console()
    for warning in result.warnings:
        console(err=True).print(Text.assemble(("warning:", "yellow"), f" {warning}"))
    if result.dry_run:
        out.print(f"dry run on {result.device}: nothing written")
        for plan in result.plans:
            for line in plan.describe():
                out.print(f"  {line}")
        return
    if settings().quiet:
        return
    for t in result.targets:
        out.print(
            f"alt {t.alt} {t.name}: {human_size(t.bytes_written)} in {len(t.runs)} run(s), "
            f"{len(t.erased_sectors)} sector(s) erased" + (", verified" if t.verified else "")
        )
    speed = result.bytes_written / result.elapsed_s / 1024 if result.elapsed_s > 0 else 0.0
    out.print(
        f"wrote {human_size(result.bytes_written)} to {result.device} in "
        f"{result.elapsed_s:.2f} s ({speed:.1f} KiB/s)"
        + ("; verified" if result.verified else "")
        + ("; left DFU mode" if result.left else "")
    )
    if board_line:
        out.print(board_line)


# -- erase, leave, detach, unprotect ------------------------------------------------------------
@click.command("erase")
@device_options
@click.option("--address", type=ADDRESS, help="Erase the sectors from this address.")
@click.option(
    "--length",
    type=ADDRESS,
    metavar="BYTES",
    help="...covering this many bytes, e.g. 128K (default: one sector).",
)
@click.option("--all", "erase_all", is_flag=True, help="Erase every erasable sector of the alt.")
@click.option("--mass", is_flag=True, help="DfuSe mass erase (the whole internal flash).")
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
    as_json: bool,
) -> None:
    """Erase sectors: a range (--address [--length]), every erasable sector (--all), or --mass.

    Read-only sectors (the bootloader's) are never erased.
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
    with (
        environment() as env,
        progress_view(quiet=settings().quiet, as_json=as_json, clock=env.clock) as view,
    ):
        result = ops.erase(
            env,
            selector(device, serial, path, alt),
            address=address,
            length=length,
            mass=mass,
            progress=view,
        )
    if as_json:
        emit_json(result.to_dict())
        return
    what = "all of" if result.mass else f"{len(result.erased_sectors)} sector(s) of"
    how = "mass-erased" if result.mass else "erased"
    _info(
        f"{how} {what} alt {result.alt} {result.name} ({human_size(result.erased_bytes)}) "
        f"in {result.elapsed_s:.2f} s",
        as_json=as_json,
    )


@click.command("leave")
@device_options
@click.option("--address", type=ADDRESS, help="Start the code whose vector table is here.")
@JSON
def leave_command(
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    alt: str | None,
    address: int | None,
    as_json: bool,
) -> None:
    """Leave DFU mode and start the application (a device that then drops off USB is success)."""
    with environment() as env:
        left = ops.leave(env, selector(device, serial, path, alt), address)
        board_line, sim = _board_line(env), _sim_dict(env)
    if as_json:
        emit_json({"left": left, "sim": sim})
        return
    _info("left DFU mode" if left else "the device did not confirm leaving DFU mode", as_json=False)
    if board_line:
        _info(board_line, as_json=False)


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
    with environment() as env:
        info = ops.detach(env, selector(device, serial, path, alt), wait_s=wait_s)
    if as_json:
        emit_json(info.to_dict())
        return
    _info(
        f"{info.id_text} serial {info.serial or '-'} is in DFU mode at {info.path}", as_json=False
    )


@click.command("unprotect")
@device_options
@click.option("--force", is_flag=True, help="Required: read unprotect mass-erases the flash.")
@JSON
def unprotect_command(
    device: VidPid | None,
    serial: str | None,
    path: str | None,
    alt: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Remove read-out protection (DfuSe 0x92). This MASS-ERASES the flash and resets the chip."""
    if not force:
        raise DfuseError(
            "read unprotect erases the whole flash; nothing was sent",
            hint="add --force to confirm",
        )
    with environment() as env:
        ops.unprotect(env, selector(device, serial, path, alt))
    if as_json:
        emit_json({"unprotected": True})
        return
    _info("read protection removed; the device mass-erased its flash and reset", as_json=False)


@click.command("profiles")
@JSON
def profiles_command(as_json: bool) -> None:
    """List the board profiles usable with --sim and --profile."""
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


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    for command in (
        list_command,
        flash_command,
        upload_command,
        erase_command,
        leave_command,
        detach_command,
        unprotect_command,
        profiles_command,
    ):
        group.add_command(command)
