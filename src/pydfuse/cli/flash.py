"""Command: flash — write a .dfu, HEX/S19/ELF or .bin to the device (layer: cli; imports
pydfuse.ops, pydfuse.formats, pydfuse.errors, the sim profiles, the other cli modules, click).

Accepts dfu-util's spelling too (``-D FILE -s ADDR:leave``). A single image given without -a
goes to the alternate whose memory holds its first byte (``pydfuse.ops`` decides), as
``dfuse check`` assumes, so the two commands agree about a NOR image at 0x64000000.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.dfuutil import DfuseAddress, parse_dfuse_address, stdin_firmware
from pydfuse.cli.fleet import (
    boards_view,
    finish,
    flash_details,
    many_device_options,
    many_selectors,
    one_selector,
)
from pydfuse.cli.observe import board_traces
from pydfuse.cli.params import ADDRESS, VidPid, file_and_address
from pydfuse.cli.progress import device_progress, rate_text, time_text
from pydfuse.cli.render import console, emit_json, human_size
from pydfuse.cli.session import (
    NO_PROFILE_OPTION,
    RESET_OPTION,
    board_line,
    environment,
    lookup_profile,
    reset_after,
    sim_dict,
)

if TYPE_CHECKING:
    from pydfuse.sim.profiles import BoardProfile

JSON = json_option


def _flash_modifiers(text: str, source: Path) -> DfuseAddress:
    """dfu-util's ``-s ADDRESS[:MODIFIER...]`` as flash takes it: an address only for a raw
    image (dfu-util refuses one with a .dfu, whose targets carry theirs), no LENGTH (flash
    writes the whole image; a length is for upload). Nothing given is silently ignored."""
    parsed = parse_dfuse_address(text)
    if parsed.address is not None and source.suffix.lower() == ".dfu":
        raise click.BadParameter(
            f"{text!r}: a .dfu file carries its own addresses, so -s takes no address with it "
            "(dfu-util refuses it too); give only modifiers, e.g. -s :leave",
            param_hint="-s",
        )
    if parsed.length is not None:
        raise click.BadParameter(
            f"{text!r}: flash writes the whole image, a LENGTH is for upload (dfuse upload -s "
            "ADDR:LENGTH); leave it out",
            param_hint="-s",
        )
    return parsed


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
@many_device_options
@click.option(
    "--verify/--no-verify", default=True, show_default=True, help="Read back and compare."
)
@click.option(
    "--leave",
    is_flag=True,
    help="Start the application when done (plain DFU: a USB bus reset, as dfu-util -R).",
)
@click.option(
    "--leave-address",
    type=ADDRESS,
    help="Jump here when leaving (implies --leave; default: the image's vector table; DfuSe only).",
)
@click.option(
    "--mass-erase",
    is_flag=True,
    help="Mass erase instead of erasing touched sectors (DfuSe only: refused on a plain DFU "
    "device, whose download replaces the whole firmware).",
)
@click.option("--force", is_flag=True, help="Write even where the pre-flight check refuses (loud).")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@RESET_OPTION
@click.option(
    "--full",
    is_flag=True,
    help="Erase and write every touched sector (default: read them back first and skip the "
    "ones already holding exactly the new bytes).",
)
@click.option(
    "--profile",
    "profile_name",
    metavar="BOARD",
    help="Board profile: its exact SRAM and application address sharpen the check.",
)
@NO_PROFILE_OPTION
@JSON
def flash_command(
    file: Path | None,
    download: Path | None,
    dfuse_address: str | None,
    address: int | None,
    device: VidPid | None,
    serials: tuple[str, ...],
    paths: tuple[str, ...],
    alt: str | None,
    all_boards: bool,
    verify: bool,
    leave: bool,
    leave_address: int | None,
    mass_erase: bool,
    force: bool,
    dry_run: bool,
    reset: bool,
    full: bool,
    profile_name: str | None,
    no_profile: bool,
    as_json: bool,
) -> int | None:
    """Write FILE to the device: a .dfu (every target to its alternate, in one session),
    a HEX/S19/ELF image, or a .bin with --address (or as FILE@ADDR). With --all, to every
    matching device at once.

    The image is checked against the device's memory layout first (read-only bootloader
    sectors, unmapped addresses, wrong vector table); then the touched sectors are read back,
    and those that differ from the new contents are erased once, programmed in full
    transfer-size blocks, read back and compared (--full: every touched sector).
    """
    source = file or download
    if source is not None and str(source) == "-":  # dfu-util's -D -: the firmware on stdin
        source = click.get_current_context().with_resource(stdin_firmware())
    if source is None:
        raise click.UsageError("give the file to write: dfuse flash FILE (or -D FILE)")
    if file is not None and download is not None:
        raise click.UsageError("give the file once: FILE or -D FILE")
    source, address = file_and_address(source, address)  # pack's FILE@ADDR spelling too
    will_reset = False
    if dfuse_address is not None:
        modifiers = _flash_modifiers(dfuse_address, source)
        s_address = modifiers.address
        if "unprotect" in modifiers:
            sel = one_selector(device, serials, paths, alt)
            _unprotect_instead(source, sel, as_json=as_json)
            return None
        if s_address is not None and address is not None and s_address != address:
            raise click.UsageError(
                f"two load addresses: 0x{address:08x} (FILE@ADDR or --address) and "
                f"0x{s_address:08x} (-s); give the address once"
            )
        address = address if address is not None else s_address
        leave = leave or "leave" in modifiers
        mass_erase = mass_erase or "mass-erase" in modifiers
        force = force or "force" in modifiers
        will_reset = "will-reset" in modifiers
    leave = leave or leave_address is not None  # a jump address says what to do after writing
    if no_profile and profile_name:
        raise click.UsageError("give --profile BOARD or --no-profile, not both")
    # --profile's board facts go with the environment; else the --sim board's (unless
    # --no-profile), else none: the checks infer them from the device (pydfuse.checks.board)
    profile = lookup_profile(profile_name, option="--profile") if profile_name else None
    options: dict[str, Any] = {
        "address": address,
        "verify": verify,
        "leave": leave,
        "leave_address": leave_address,
        "mass_erase": mass_erase,
        "force": force,
        "dry_run": dry_run,
        "delta": not full,
        "will_reset": will_reset,
    }
    if all_boards and reset:
        raise click.UsageError("-R works on one device; leave --all out, or use :leave")
    if all_boards:
        return _flash_all(
            source,
            device,
            serials,
            paths,
            alt,
            options,
            as_json=as_json,
            facts=not no_profile,
            profile=profile,
        )
    one = one_selector(device, serials, paths, alt)
    with (
        environment(profile_facts=not no_profile, profile=profile, one=one) as env,
        device_progress(env, as_json=as_json) as view,
    ):
        said: list[str] = []  # warnings printed as they came (before the first byte was sent)
        result = ops.flash(env, one, source, progress=view, warn=_printer(said), **options)
        reset_record, reset_text = (
            reset_after(env, one) if reset and not result.left and not dry_run else (None, None)
        )
        line = board_line(env, after_leave=result.left)
        sim = sim_dict(env)
    if as_json:
        emit_json({**result.to_dict(), **view.watch.to_dict(), "reset": reset_record, "sim": sim})
        return None
    _render_flash(result, line, modeled=view.modeled, said=said)
    if reset_text and not settings().quiet:
        console().print(reset_text)
    return None


def _unprotect_instead(source: Path, sel: ops.DeviceSelector, *, as_json: bool) -> None:
    """dfu-util's ``-s :unprotect:force``: Read Unprotect, which mass-erases and resets the
    chip, and nothing else (the file is not written: there is no device to write it to)."""
    from pydfuse.cli.optionbytes import announce_unprotect, render_unprotect  # #12's wording

    announce_unprotect(as_json=as_json)
    with environment(one=sel) as env:
        # :force is the confirmation; dfu-util sends it whatever the state
        result = ops.unprotect(env, sel, force=True, always=True)
    note = f"{source} was not written: run the command again without :unprotect"
    if as_json:
        emit_json({"unprotected": True, "written": False, "note": note, **result.to_dict()})
        return
    render_unprotect(result)
    console(err=True).print(f"note: {note}")


def _flash_all(
    source: Path,
    device: VidPid | None,
    serials: tuple[str, ...],
    paths: tuple[str, ...],
    alt: str | None,
    options: dict[str, Any],
    *,
    as_json: bool,
    facts: bool,
    profile: BoardProfile | None,
) -> int:
    """``flash --all``: every matching device at once, one summary row (or record) each."""
    with (
        environment(profile_facts=facts, profile=profile) as env,
        boards_view(env, as_json=as_json) as view,
    ):
        selectors = many_selectors(device, serials, paths, alt)
        board_env = board_traces()  # --trace FILE: a file per board
        outcomes = ops.flash_many(
            env, selectors, source, progress=view, warn=view.warn, board_env=board_env, **options
        )
    return finish(outcomes, verb="flash", as_json=as_json, describe=flash_details)


def _printer(said: list[str]) -> Callable[[str], None]:
    """Print a warning on stderr at once (above any progress bar; with --json too, where stdout
    is the JSON) and remember it in ``said``, so the summary does not print it again."""

    def warn(text: str) -> None:
        said.append(text)
        _print_warning(text)

    return warn


def _print_warning(text: str) -> None:
    console(err=True).print(Text.assemble(("warning:", "yellow"), f" {text}"))


def _render_flash(
    result: ops.FlashResult, board_text: str | None, *, modeled: bool, said: list[str]
) -> None:
    out = console()
    for warning in result.warnings:
        if warning in said:
            said.remove(warning)  # printed before the first byte was sent
        else:
            _print_warning(warning)
    if result.dry_run:
        out.print(f"dry run on {result.device}: nothing written", markup=False)
        steps = list(result.steps)
        if steps and steps[0].startswith("would send DFU_DETACH"):
            out.print(f"  {steps.pop(0)}", markup=False)
        for plan in result.plans:
            for line in plan.describe():
                out.print(f"  {line}", markup=False)
        for step in steps:
            out.print(f"  {step}", markup=False)
        return
    if settings().quiet:
        return
    for t in result.targets:
        skipped = f", {len(t.skipped_sectors)} unchanged skipped" if t.skipped_sectors else ""
        out.print(
            f"alt {t.alt} {t.name}: {human_size(t.bytes_written)} in {len(t.runs)} run(s), "
            f"{len(t.erased_sectors)} sector(s) erased{skipped}"
            + (", verified" if t.verified else "")
        )
    took = time_text(result.elapsed_s, modeled=modeled)
    done = (
        f"wrote {human_size(result.bytes_written)} to {result.device} in {took} "
        f"({rate_text(result.bytes_written, result.elapsed_s)})"
    )
    if result.bytes_written == 0 and any(t.skipped_sectors for t in result.targets):
        done = (
            f"nothing to write: {result.device} already holds every byte (read back and "
            f"compared in {took})"
        )
    out.print(
        done
        + ("; verified" if result.verified else "")
        + ("; left DFU mode" if result.left else "")
    )
    if board_text:
        out.print(board_text)
