"""Command: upload — read device memory into a .bin/.hex/.s19 file or a .dfu (layer: cli;
imports pydfuse.ops, pydfuse.formats, pydfuse.errors, the other cli modules and click).

The output path is checked before the device is read, so a typo does not cost a 16 MB read.
A .dfu holds every alternate, or with -a the one alternate (and --address/--length range) asked
for; its suffix carries the device's own VID:PID, and a plain DFU 1.1 device gets a plain file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.dfuutil import parse_dfuse_address
from pydfuse.cli.fleet import boards_view, finish, many_device_options, many_selectors, one_selector
from pydfuse.cli.observe import board_traces
from pydfuse.cli.params import ADDRESS, SIZE, VidPid
from pydfuse.cli.progress import device_progress, rate_text, time_text
from pydfuse.cli.render import console, emit_json, human_size
from pydfuse.cli.session import RESET_OPTION, environment, matches, reset_after
from pydfuse.errors import FormatError
from pydfuse.formats import Image, PlainDfuFile, check_writable, save_image

# The names save_image knows (Intel HEX and S-record spellings), plus .dfu; not ".s", which is
# more often an assembler source file than an S-record, and would be overwritten.
KINDS = (".bin", ".hex", ".ihex", ".ihx", ".s19", ".s28", ".s37", ".srec", ".mot", ".dfu")


def _alt_value(alt: str | None) -> int | str | None:
    return int(alt) if alt is not None and alt.strip().isdigit() else alt


def _device_info(env: ops.Environment, sel: ops.DeviceSelector) -> ops.DeviceInfo | None:
    found = [d for d in ops.list_devices(env) if d.mode == "dfu" and matches(d, sel)]
    return found[0] if len(found) == 1 else None


def _write_dfu(
    env: ops.Environment, sel: ops.DeviceSelector, out: Path, found: list[tuple[int, str, Image]]
) -> dict[str, Any]:
    """Pack what was read into ``out`` (:func:`pydfuse.ops.backup_file`)."""
    dfu = ops.backup_file(_device_info(env, sel), sel, found)
    dfu.write(out)
    rows = [{"alt": a, "name": n, "bytes": image.size} for a, n, image in found]
    kind = "plain" if isinstance(dfu, PlainDfuFile) else "dfuse"
    return {"file": str(out), "kind": kind, "targets": rows}


@click.command("upload")
@click.argument("out", required=False, type=click.Path(path_type=Path))
@click.option(
    "-U",
    "--upload",
    "upload_to",
    type=click.Path(path_type=Path),
    help="The file to write (dfu-util style; same as OUT).",
)
@many_device_options
@click.option("--address", type=ADDRESS, help="First address to read (default: the memory start).")
@click.option(
    "--length",
    type=SIZE,
    metavar="BYTES",
    help="Bytes to read, e.g. 64K (default: to the end of the memory).",
)
@click.option(
    "-s",
    "dfuse_address",
    metavar="ADDR[:LENGTH][:leave]",
    help="dfu-util style: where to read, how much, and leave DFU mode afterwards.",
)
@click.option(
    "-Z",
    "--upload-size",
    "upload_size",
    type=SIZE,
    metavar="BYTES",
    help="dfu-util style: the size you expect; it scales the progress, the device decides how "
    "much it sends, and a different amount is a warning (--length limits the read).",
)
@RESET_OPTION
@json_option
def upload_command(
    out: Path | None,
    upload_to: Path | None,
    device: VidPid | None,
    serials: tuple[str, ...],
    paths: tuple[str, ...],
    alt: str | None,
    all_boards: bool,
    address: int | None,
    length: int | None,
    dfuse_address: str | None,
    upload_size: int | None,
    reset: bool,
    as_json: bool,
) -> int | None:
    """Read device memory into OUT (.bin, .hex, .s19, or .dfu).

    Without --address/--length the whole readable memory of the alternate is read. A .dfu
    without -a holds every alternate whole; with -a, that alternate (or the range given).
    With --all every matching device is read at once, each into its own file: OUT with the
    board's serial put in place of {serial}, or added before the extension (back-SERIAL.dfu;
    boards sharing a serial get their bus path added too).
    dfu-util's -U OUT -s ADDR:LENGTH[:leave] [-Z SIZE] [-R] works too.
    """
    out = _one("the output file: dfuse upload OUT (or -U OUT)", out, upload_to)
    leave: int | bool | None = False
    if dfuse_address is not None:
        given = parse_dfuse_address(dfuse_address)
        extra = given.modifiers - {"leave"}
        if extra:
            raise click.BadParameter(
                f"upload takes :LENGTH and :leave, not :{', :'.join(sorted(extra))}",
                param_hint="-s",
            )
        address = _one_value("--address", address, given.address)
        length = _one_value("--length", length, given.length)
        if "leave" in given:
            leave = given.address if given.address is not None else True
    kind = out.suffix.lower()
    if kind not in KINDS:
        raise FormatError(
            f"cannot tell the output format from {out.name!r}",
            hint="name the output .bin, .hex, .s19 or .dfu",
        )
    if length == 0:
        raise click.BadParameter("must be at least 1 byte", param_hint="--length")
    every_alt = kind == ".dfu" and alt is None
    if every_alt and (address is not None or length is not None):
        raise click.UsageError(
            "a .dfu of every alternate reads each one whole; add -a ALT to read part of one"
        )
    if all_boards and (reset or leave is not False or upload_size is not None):
        raise click.UsageError("-R, -Z and :leave work on one device; leave --all out")
    if all_boards:
        return _upload_all(out, device, serials, paths, alt, address, length, as_json=as_json)
    check_writable(out)
    replaced = out.exists()  # said, not refused (dfu-util refuses; unpack says it too)
    sel = one_selector(device, serials, paths, None)
    with (
        environment(one=sel) as env,
        device_progress(env, as_json=as_json) as view,
    ):
        progress = view if upload_size is None else _scaled(view, upload_size)
        summary = _read_into(env, sel, out, alt, address, length, progress)
        after = _after(env, sel, leave=leave, reset=reset)
    total = _total(summary)
    warnings = []
    if upload_size is not None and total != upload_size:
        warnings.append(
            f"read {total} bytes, not the {upload_size} that -Z expected (the device decides "
            "how much it sends)"
        )
    if as_json:
        record = {**summary, **view.watch.to_dict(), **after[0], "replaced": replaced}
        emit_json({**record, "warnings": warnings})
        return None
    for warning in warnings:
        console(err=True).print(f"warning: {warning}", markup=False)
    if settings().quiet:
        return None
    for line in after[1]:
        console().print(line, markup=False)
    took = view.watch.elapsed()
    console().print(
        f"read {human_size(total)} into {out} in {time_text(took, modeled=view.modeled)} "
        f"({rate_text(total, took)})" + (", replacing the old file" if replaced else ""),
        markup=False,
    )
    return None


def _one(what: str, first: Path | None, second: Path | None) -> Path:
    if first is not None and second is not None:
        raise click.UsageError(f"give {what.split(':')[0]} once")
    chosen = first or second
    if chosen is None:
        raise click.UsageError(f"give {what}")
    return chosen


def _one_value(option: str, given: int | None, other: int | None) -> int | None:
    """``given`` or ``other``; both, and different, is a usage error (said twice)."""
    if given is not None and other is not None and given != other:
        raise click.UsageError(f"{option} says 0x{given:x} but -s/-Z says 0x{other:x}")
    return given if given is not None else other


def _scaled(view: ops.Progress, expected: int) -> ops.Progress:
    """dfu-util's ``-Z``: a read of unknown size (plain DFU) is shown against the expected
    size until it passes it; then as open-ended again (ops sends the true total at the end)."""

    def progress(event: ops.ProgressEvent) -> None:
        if event.total_bytes <= 0 and event.done_bytes < expected:
            event = ops.ProgressEvent(event.phase, event.done_bytes, expected, event.address)
        view(event)

    return progress


def _after(
    env: ops.Environment,
    sel: ops.DeviceSelector,
    *,
    leave: int | bool | None,
    reset: bool,
) -> tuple[dict[str, Any], list[str]]:
    """dfu-util's ``:leave`` (jumping to the ``-s`` address, as dfu-util does, when one was
    given) and ``-R`` after an upload: --json members and lines to print."""
    record: dict[str, Any] = {}
    lines: list[str] = []
    if leave is not False:
        record["left"] = ops.leave(env, sel, None if leave is True else leave)
        lines.append("left DFU mode" if record["left"] else "the device did not leave DFU mode")
    if reset and not record.get("left"):
        record["reset"], text = reset_after(env, sel)
        lines.append(text)
    return record, lines


def _total(summary: dict[str, Any]) -> int:
    return sum(int(r["bytes"]) for r in summary.get("targets", [summary]))


def _read_into(
    env: ops.Environment,
    sel: ops.DeviceSelector,
    out: Path,
    alt: str | None,
    address: int | None,
    length: int | None,
    progress: ops.Progress | None,
) -> dict[str, Any]:
    """Read what the options ask for from the selected device into ``out``; its summary."""
    kind = out.suffix.lower()
    if kind == ".dfu" and alt is None:
        return _write_dfu(env, sel, out, ops.upload_all(env, sel, progress=progress))
    result = ops.upload(
        env, sel, alt=_alt_value(alt), address=address, length=length, progress=progress
    )
    if kind == ".dfu":
        return _write_dfu(env, sel, out, [(result.alt, result.name, result.image)])
    save_image(result.image, out, fill=0xFF if kind == ".bin" else None)
    return {"file": str(out), **result.to_dict()}


def board_file(out: Path, device: ops.DeviceInfo, *, shared_serial: bool = False) -> Path:
    """Where ``upload --all`` puts what it read from ``device`` (see the command's help); the
    bus path is added when another device on the bus has the same serial (``shared_serial``),
    so two boards never write one file."""
    tag = device.serial or f"path{device.path}"
    if device.serial and shared_serial:
        tag += f"-path{device.path}"
    tag = _file_tag(tag)
    if "{serial}" in out.name:
        return out.with_name(out.name.replace("{serial}", tag))
    return out.with_name(f"{out.stem}-{tag}{out.suffix}")


def _file_tag(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _upload_all(
    out: Path,
    device: VidPid | None,
    serials: tuple[str, ...],
    paths: tuple[str, ...],
    alt: str | None,
    address: int | None,
    length: int | None,
    *,
    as_json: bool,
) -> int:
    """``upload --all``: every matching device read at once into its own file."""
    with environment() as env, boards_view(env, as_json=as_json) as view:
        tags = Counter(_file_tag(d.serial) for d in ops.list_devices(env) if d.serial)

        def work(
            board_env: ops.Environment, sel: ops.DeviceSelector, board: ops.DeviceInfo
        ) -> dict[str, Any]:
            shared = tags[_file_tag(board.serial or "")] > 1
            path = board_file(out, board, shared_serial=shared)
            check_writable(path)
            return _read_into(board_env, sel, path, alt, address, length, lambda e: view(board, e))

        selectors = many_selectors(device, serials, paths, None)
        outcomes = ops.on_boards(env, selectors, work, board_env=board_traces())

    def describe(outcome: ops.BoardOutcome[dict[str, Any]]) -> str:
        summary = outcome.result or {}
        return f"read {human_size(_total(summary))} into {summary.get('file')}"

    return finish(outcomes, verb="upload", as_json=as_json, describe=describe)
