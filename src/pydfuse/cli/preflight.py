"""Command: check, and the board/target loading it shares with ``map`` (layer: cli).

Thin click wrappers: load the file (a DfuSe .dfu with its targets, or one HEX/S19/ELF/BIN
image) and check it against a board profile with :func:`pydfuse.checks.preflight`, or against
the connected device with :func:`pydfuse.ops.check_firmware` (the check ``flash`` makes), and
render the result with rich (or as JSON). Only this layer imports ``pydfuse.sim`` (for the
board profiles). ``map`` lives in :mod:`pydfuse.cli.mapcmd`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from pydfuse import ops
from pydfuse.checks import CheckReport, RamRange, TargetImage, preflight
from pydfuse.checks.backup import leave_out_backup
from pydfuse.cli.context import settings
from pydfuse.cli.params import ADDRESS, file_and_address
from pydfuse.cli.render import console, emit_json, hex32, human_size
from pydfuse.cli.runview import render_run
from pydfuse.cli.session import NO_PROFILE_OPTION, environment, lookup_profile, matches
from pydfuse.errors import DeviceNotFoundError, FormatError
from pydfuse.formats import (
    DfuseFile,
    Image,
    PlainDfuFile,
    detect_format,
    read_dfu,
)
from pydfuse.formats import load_image as load_single_image
from pydfuse.formats.dfuse import read_file_bytes
from pydfuse.formats.symbols import Symbols, read_symbols
from pydfuse.layout import MemoryMap, MemoryRegion, Sector, parse_layout
from pydfuse.ops.hazards import profile_findings
from pydfuse.ops.run import run_image, symbols_check
from pydfuse.plan import Plan, PlanTiming, make_plan
from pydfuse.sim.profiles import PROFILES, AltProfile, BoardProfile

UNSAFE_EXIT = 3  # ExitCode.UNSAFE of pydfuse.cli.main (imported lazily there: no import cycle)


@dataclass(frozen=True, slots=True)
class Board:
    """What the checks need to know about a device: its memories by alternate, SRAM, app."""

    name: str
    memories: dict[int, MemoryMap]
    sram: tuple[RamRange, ...] | None  # every RAM a stack may be in (SRAM, CCM); None unknown
    app_address: int | None
    transfer_size: int
    timings: dict[int, PlanTiming] = field(default_factory=dict)
    product: str | None = None  # USB product string and factory option bytes (#12's rules)
    option_bytes: bytes | None = None


def _memory_of(alt: AltProfile) -> MemoryMap:
    """The alternate's layout string, or (plain DFU devices report a bare name, §4.8) a map
    built from the profile's sector groups."""
    try:
        return parse_layout(alt.layout)
    except FormatError:
        regions = []
        for group in alt.sectors:
            sectors = tuple(
                Sector(group.address + i * group.size, group.size, group.rights)
                for i in range(group.count)
            )
            regions.append(MemoryRegion(group.address, sectors))
        return MemoryMap(alt.layout, tuple(regions))


def plan_timing(alt: AltProfile) -> PlanTiming:
    """The flash timings of one alternate of a profile, for :func:`pydfuse.plan.make_plan`."""
    return PlanTiming(
        erase_ms_by_sector_size=dict(alt.timing.erase_sector_ms),
        program_unit_bytes=alt.timing.program_unit_bytes,
        program_unit_us=alt.timing.program_unit_us,
        mass_erase_ms=alt.timing.mass_erase_ms,
    )


def board_from_profile(profile: BoardProfile) -> Board:
    """The :class:`Board` of a virtual board profile."""
    return Board(
        name=profile.name,
        memories={i: _memory_of(alt) for i, alt in enumerate(profile.alternates)},
        sram=ops.facts_of_profile(profile).ram,  # the CCM too, as flash on that board
        app_address=profile.app_address,
        transfer_size=profile.transfer_size,
        timings={i: plan_timing(alt) for i, alt in enumerate(profile.alternates)},
        product=profile.product,
        option_bytes=profile.option_bytes.factory if profile.option_bytes is not None else None,
    )


def resolve_board(profile_name: str | None, device: ops.DeviceSelector | None = None) -> Board:
    """The board to check against: --profile, else the --sim profile, else the one connected
    DFU device (its own memory layouts; SRAM unknown, so the stack pointer check is skipped)."""
    name = profile_name or settings().sim_profile
    if name is None:
        return board_from_device(device or ops.DeviceSelector())
    return board_from_profile(lookup_profile(name, option="--profile" if profile_name else "--sim"))


def board_from_device(selector: ops.DeviceSelector) -> Board:
    """A :class:`Board` from the memory layouts a connected DFU-mode device reports."""
    with environment() as env:
        devices = [d for d in ops.list_devices(env) if d.mode == "dfu" and matches(d, selector)]
    if len(devices) != 1:
        known = ", ".join(sorted(PROFILES))
        found = (
            "no DFU-mode device is connected"
            if not devices
            else (f"{len(devices)} DFU-mode devices match")
        )
        raise DeviceNotFoundError(
            f"which board? {found}",
            hint=f"give --profile BOARD (known: {known}), or select one device with -S SERIAL",
        )
    info = devices[0]
    memories = {a.alt: a.memory_map for a in info.alternates if a.memory_map is not None}
    return Board(
        name=f"{info.id_text} serial {info.serial or '-'}",
        memories=memories,
        sram=None,
        app_address=None,
        transfer_size=info.transfer_size,
    )


def _guess_alt(image: Image, memories: dict[int, MemoryMap]) -> int:
    """For a single image without --alt: the alternate whose memory holds its first byte."""
    for alt, memory in sorted(memories.items()):
        if memory.contains(image.start):
            return alt
    return 0


def load_targets(
    path: Path,
    *,
    address: int | None,
    alt: int | None,
    board: Board,
    notes: list[str] | None = None,
) -> list[TargetImage]:
    """The images of ``path``: every target of a DfuSe file, or one image for ``alt``; what
    loading said (a DFU suffix left out, identical bytes merged) is appended to ``notes``."""
    data = read_file_bytes(path)
    if detect_format(path, data) == "dfu" or path.suffix.lower() == ".dfu":
        parsed = read_dfu(path)
        if isinstance(parsed, DfuseFile):
            if address is not None:
                raise click.UsageError("--address is for raw images; a DfuSe file has its own")
            if not parsed.targets:
                raise FormatError(
                    "the .dfu file has no targets: there is nothing in it to check",
                    path=str(path),
                    hint="`dfuse info FILE` shows what it holds; rebuild it with dfuse pack",
                )
            targets = [
                TargetImage(t.alt, t.name, t.image, t.elements, target_name=t.name)
                for t in parsed.targets
                if alt is None or t.alt == alt
            ]
            if not targets:
                raise click.UsageError(f"{path.name} has no target for alt {alt}")
            return targets
        assert isinstance(parsed, PlainDfuFile)
        start = address if address is not None else board.app_address
        if start is None:
            raise click.UsageError("a plain DFU file has no addresses: give --address ADDR")
        image = Image.from_segments([(start, parsed.payload)])
    else:
        image = load_single_image(path, address=address, notes=notes)
    chosen = alt if alt is not None else _guess_alt(image, board.memories)
    return [TargetImage(chosen, path.name, image)]


# ------------------------------------------------------------------------------------- check

STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def plan_targets(
    board: Board, targets: Sequence[TargetImage], report: CheckReport
) -> list[Plan | None]:
    """The plan of each target that passed its checks (None for the others); a full backup's
    read-only bytes are left out, as flash leaves them out."""
    plans: list[Plan | None] = []
    for target, result in zip(targets, report.targets, strict=True):
        memory = board.memories.get(target.alt)
        image = leave_out_backup(target.image, memory)[0] if memory is not None else None
        if not result.ok or memory is None or not image:
            plans.append(None)
            continue
        plans.append(
            make_plan(
                image,
                memory,
                transfer_size=board.transfer_size,
                timing=board.timings.get(target.alt),
            )
        )
    return plans


def render_report(
    out: Console,
    report: CheckReport,
    *,
    quiet: bool = False,
    plans: Sequence[Plan | None] = (),
) -> None:
    """Print a check report: a header per target, its findings, its plan, and the verdict."""
    for index, target in enumerate(report.targets):
        plan = plans[index] if index < len(plans) else None
        shown = [f for f in target.findings if not quiet or f.severity != "info"]
        if not quiet:
            role = ", application" if target.application else ""
            extent = (
                f"{hex32(target.start)}..{hex32(target.end - 1)} ({human_size(target.size)})"
                if target.size
                else "empty"
            )
            out.print(
                f"target {target.alt} ({target.name}) -> {target.memory or 'no such memory'}: "
                f"{extent}{role}"
            )
            if not shown:
                out.print(Text("  ok", style="green"))
            if plan is not None:
                out.print(Text(f"  plan: {plan.summary()}", style="dim"))
        for finding in shown:
            line = Text(f"  {finding.severity:<7} ", style=STYLES[finding.severity])
            line.append(f"{finding.code}: ", style="dim")
            line.append(finding.message)
            out.print(line)
    errors, warnings = report.count("error"), report.count("warning")
    if report.ok:
        verdict = f"OK: safe to flash ({warnings} warning{'s' if warnings != 1 else ''})"
        out.print(Text(verdict, style="bold green"))
    else:
        out.print(
            Text(
                f"UNSAFE: {errors} error{'s' if errors != 1 else ''}, {warnings} "
                f"warning{'s' if warnings != 1 else ''}; do not flash this file",
                style="bold red",
            )
        )


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--profile",
    metavar="BOARD",
    help="Board profile to check against (default: the --sim board, or the connected device).",
)
@NO_PROFILE_OPTION
@click.option("--address", type=ADDRESS, help="Load address of a raw .bin (or plain .dfu).")
@click.option("--alt", type=click.IntRange(0, 255), help="Alternate setting of a single image.")
@click.option("-S", "--serial", help="With no profile: the connected device with this serial.")
@click.option(
    "--run",
    "run_app",
    is_flag=True,
    help="Also run the application on the board's Cortex-M core (needs --profile or --sim): "
    "does it reach its main loop, set VTOR before enabling interrupts, fault?",
)
@click.option(
    "--budget",
    type=click.IntRange(1, 1_000_000_000),
    metavar="N",
    help="--run: stop after N instructions (default 5,000,000).",
)
@click.option(
    "--symbols",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="ELF",
    help="--run: name functions from this ELF (default: FILE, when it is an ELF).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(
    file: Path,
    profile: str | None,
    no_profile: bool,
    address: int | None,
    alt: int | None,
    serial: str | None,
    run_app: bool,
    budget: int | None,
    symbols: Path | None,
    as_json: bool,
) -> int:
    """Check FILE against a board before flashing: placement, bootloader overlap, vector table.

    The board is a --profile, the --sim board, or else the one DFU device connected: then the
    check is the one flash makes (its own layouts; read-only bytes it already holds are left
    out, as flash leaves them out). With --run the application is also started on the board's
    Cortex-M core (no board needed). Exit code 0 when it is safe to flash, 3 when a check found
    an error.
    """
    file, address = file_and_address(file, address)  # FILE@ADDR, as flash takes it
    if not run_app and (budget is not None or symbols is not None):
        raise click.UsageError("--budget and --symbols go with --run")
    if no_profile and profile:
        raise click.UsageError("give --profile BOARD or --no-profile, not both")
    run_profile = _run_profile(profile) if run_app else None
    notes: tuple[str, ...] = ()
    if no_profile or (profile is None and settings().sim_profile is None):
        result = _check_on_device(file, address, ops.DeviceSelector(serial=serial, alt=alt))
        report, plans, name, notes = (
            result.report,
            list(result.plans),
            result.device,
            result.warnings,
        )
        images = [(t.info.alt, t.image) for t in result.targets]
    else:
        board = resolve_board(profile)
        loaded: list[str] = []
        targets = load_targets(file, address=address, alt=alt, board=board, notes=loaded)
        notes = tuple(loaded)
        report = preflight(targets, board.memories, sram=board.sram, app_address=board.app_address)
        plans, name = plan_targets(board, targets, report), board.name
        # flash's protection rules (option bytes, OTP) against the profile's new chip
        found = profile_findings(
            board.memories,
            board.product,
            board.option_bytes,
            [(t.alt, t.image, plan) for t, plan in zip(targets, plans, strict=True)],
        )
        report = ops.with_findings(report, found)
        images = [(t.alt, t.image) for t in targets]
    run = None
    if run_profile is not None:
        run = run_image(run_profile, images, budget=budget, symbols=_symbols_for(file, symbols))
        if symbols is not None:
            run = symbols_check(run, symbols, _reader(images))
    if as_json:
        data = {"file": str(file), "profile": name, **report.to_dict()}
        for entry, plan in zip(data["targets"], plans, strict=True):
            entry["plan"] = plan.to_dict() if plan is not None else None
        if run is not None:
            data["run"] = run.to_dict()
            data["ok"] = report.ok and run.ok
        emit_json({**data, "notes": list(notes)})
    else:
        for note in notes:
            console(err=True).print(f"note: {note}", markup=False)
        render_report(console(), report, quiet=settings().quiet, plans=plans)
        if run is not None:
            render_run(console(), run, quiet=settings().quiet)
    return 0 if report.ok and (run is None or run.ok) else UNSAFE_EXIT


def _run_profile(name: str | None) -> BoardProfile:
    """The profile ``--run`` runs on: --profile, else the --sim board's."""
    chosen = name or settings().sim_profile
    if chosen is None:
        raise click.UsageError(
            "--run needs a board profile for its memory map: give --profile BOARD (or --sim)"
        )
    return lookup_profile(chosen, option="--profile" if name else "--sim")


def _reader(images: list[tuple[int, Image]]) -> Callable[[int, int], bytes | None]:
    """What the run saw at an address: the bytes of the image there, erased (0xFF) where it
    has none — None when no image comes near."""

    def read(address: int, length: int) -> bytes | None:
        for _, image in images:
            if image and image.start < address + length and address < image.end:
                return image.read(address, length)
        return None

    return read


def _symbols_for(file: Path, given: Path | None) -> Symbols | None:
    """Function names for the run: ``--symbols``, or FILE itself when it is an ELF."""
    if given is not None:
        return read_symbols(given)
    try:
        with file.open("rb") as handle:
            is_elf = handle.read(4) == b"\x7fELF"
    except OSError:
        return None
    return read_symbols(file) if is_elf else None


def _check_on_device(file: Path, address: int | None, sel: ops.DeviceSelector) -> ops.DeviceCheck:
    """``ops.check_firmware`` on the one connected DFU-mode device (the ``--sim`` board with
    ``--no-profile``), which knows only what the device reports."""
    with environment(profile_facts=False, one=sel) as env:
        try:
            return ops.check_firmware(env, sel, file, address=address)
        except DeviceNotFoundError as error:
            known = ", ".join(sorted(PROFILES))
            raise DeviceNotFoundError(
                f"which board? {error}",
                hint=f"give --profile BOARD (known: {known}), or connect the board in DFU mode "
                "(select one with -S SERIAL)",
            ) from None
