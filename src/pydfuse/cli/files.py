"""Commands: pack, unpack, info, suffix (layer: cli; imports pydfuse.formats, pydfuse.errors,
the other cli modules, click and rich).

Thin click wrappers over :mod:`pydfuse.formats`: parse options, call the library, render the
result with rich or as JSON. Failures are pydfuse errors, printed as one line by ``main``;
every output file is written atomically, after all inputs have been checked.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from pydfuse.cli.context import settings
from pydfuse.cli.params import ADDRESS, ID16, TARGET_SPEC, TargetSpec, file_and_address
from pydfuse.cli.render import echo, emit_json, hex32, human_size, plain_table
from pydfuse.errors import FormatError
from pydfuse.formats.atomic import Chunks, atomic_write, check_writable, read_file_bytes, write_all
from pydfuse.formats.describe import describe_dfu, describe_image, describe_suffix
from pydfuse.formats.suffix import (
    BCD_DFU_1_1,
    BCD_DFUSE,
    DfuSuffix,
    SuffixInfo,
    append_suffix,
    inspect_suffix,
    split_suffix,
)

# The .dfu reader, the image loaders (bincopy, pyelftools behind them) and the packer are
# imported where they are used: `dfuse suffix check` runs in loops in scripts and needs none.
DFUSE_SIGNATURE = b"DfuSe"  # pydfuse.formats.dfuse's, without importing it


def _show(text: str) -> None:
    if not settings().quiet:
        echo(text)


# ---------------------------------------------------------------------------------------- pack


@click.command()
@click.argument("output", type=click.Path(path_type=Path))
@click.option(
    "-t",
    "--target",
    "targets",
    type=TARGET_SPEC,
    multiple=True,
    help='ALT[:NAME]=FILE[@ADDR], e.g. 0:"Internal Flash"=app.hex or 1=data.bin@0x0. Repeat '
    "for more files; files for the same ALT are merged into one target.",
)
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Build from the manifest `dfuse unpack` wrote (its targets, names and suffix IDs).",
)
@click.option("--vid", type=ID16, default=None, help="Suffix idVendor (default 0x0483).")
@click.option("--pid", type=ID16, default=None, help="Suffix idProduct (default 0xDF11).")
@click.option(
    "--bcd-device", type=ID16, default=None, help="Suffix bcdDevice (default 0xFFFF: any)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def pack(
    output: Path,
    targets: tuple[TargetSpec, ...],
    manifest: Path | None,
    vid: int | None,
    pid: int | None,
    bcd_device: int | None,
    as_json: bool,
) -> None:
    """Build the DfuSe file OUTPUT from HEX, S-record, ELF and BIN (FILE@ADDR) files, or from
    the manifest of an unpacked .dfu (--manifest: same targets, names and suffix IDs)."""
    if bool(targets) == (manifest is not None):
        raise click.UsageError("give the inputs with -t ALT=FILE, or --manifest FILE (not both)")
    check_writable(output)
    inputs = [t.source.path for t in targets] + ([manifest] if manifest is not None else [])
    for given in inputs:
        if output.exists() and given.exists() and output.samefile(given):
            raise FormatError(
                "the output is also an input: writing it would replace that input file",
                path=str(output),
                hint="name the output something else, e.g. fw.dfu",
            )
    if manifest is not None:
        from pydfuse.formats.unpack import read_manifest

        read = read_manifest(manifest)
        dfu = replace(
            read,
            vid=read.vid if vid is None else vid,
            pid=read.pid if pid is None else pid,
            bcd_device=read.bcd_device if bcd_device is None else bcd_device,
        )
    else:
        from pydfuse.formats.pack import PackInput, build_dfuse

        packed = [PackInput(t.alt, t.source.path, t.name, t.source.address) for t in targets]
        dfu = build_dfuse(
            packed,
            vid=0x0483 if vid is None else vid,
            pid=0xDF11 if pid is None else pid,
            bcd_device=0xFFFF if bcd_device is None else bcd_device,
        )
    data = dfu.to_bytes()
    atomic_write(output, data)
    summary = describe_dfu(dfu, len(data), int.from_bytes(data[-4:], "little"))
    if as_json:
        emit_json({"output": str(output), **summary})
        return
    for note in dfu.warnings:
        click.echo(f"note: {note}", err=True)
    _show(
        f"wrote {output}: {len(dfu.targets)} target(s), "
        f"{sum(len(t.elements) for t in dfu.targets)} element(s), "
        f"{human_size(sum(t.size for t in dfu.targets))} of data, {human_size(len(data))} file"
    )
    for target in dfu.targets:
        for element in target.elements:
            _show(
                f"  alt {target.alt} {target.name!r}: {hex32(element.address)}.."
                f"{hex32(element.end - 1)} {human_size(len(element.data))}"
            )


# -------------------------------------------------------------------------------------- unpack


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for the extracted files (created if missing).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["hex", "srec", "bin"]),
    default="hex",
    show_default=True,
    help="hex/srec: one file per target; bin: one file per element.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
def unpack(source: Path, output_dir: Path, fmt: str, as_json: bool) -> None:
    """Extract the images of the DfuSe file SOURCE (alt0-NAME.hex, ...) and a manifest
    (SOURCE.manifest.json) from which `dfuse pack --manifest` rebuilds it, names included.

    Every file is written or none: names are unique, SOURCE is never overwritten, and a failure
    leaves no new or replaced file behind.
    """
    from pydfuse.formats.dfu import parse_dfu
    from pydfuse.formats.unpack import as_bytes, describe, manifest_name, unpack_files

    dfu = parse_dfu(read_file_bytes(source), path=str(source))
    files, manifest, notes = unpack_files(dfu, source.stem, fmt)  # type: ignore[arg-type]
    outputs: list[tuple[Path, Chunks]] = [(output_dir / f.name, f.contents) for f in files]
    if manifest is not None:
        outputs.append((output_dir / manifest_name(source.stem), as_bytes(manifest)))
    for path, _ in outputs:
        if path.exists() and path.samefile(source):
            raise FormatError(
                f"unpacking would overwrite its own input {path}: nothing was written",
                path=str(source),
                hint="unpack into another directory (-o DIR)",
            )
    created = _make_dir(output_dir)
    try:
        replaced = write_all(outputs)
    except BaseException:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    rows = [
        {
            **row,
            "path": str(output_dir / row["file"]),
            "size": (output_dir / row["file"]).stat().st_size,
            "replaced": old,
        }
        for row, old in zip(describe(files), replaced, strict=False)
    ]
    manifest_path = str(outputs[-1][0]) if manifest is not None else None
    if as_json:
        emit_json({"source": str(source), "files": rows, "manifest": manifest_path, "notes": notes})
        return
    for note in notes:
        click.echo(f"note: {note}", err=True)
    for row in rows:
        what = f"alt {row['alt']} {row['target']!r}" if row["alt"] is not None else "payload"
        again = ", replaced the old file" if row["replaced"] else ""
        _show(f"wrote {row['path']} ({human_size(row['size'])}, {what}{again})")
    if manifest_path is not None:
        _show(f"wrote {manifest_path} (to pack: dfuse pack OUT.dfu --manifest {manifest_path})")


def _make_dir(folder: Path) -> list[Path]:
    """Create ``folder`` (and missing parents); the folders created, deepest first."""
    if folder.exists() and not folder.is_dir():
        raise FormatError(
            f"cannot write into {folder}: it is a file, not a directory",
            hint="give -o a directory (it is created if missing)",
        )
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise FormatError(f"cannot create {folder}: {error.strerror or error}") from None
    return missing


# ---------------------------------------------------------------------------------------- info


def _describe(path: Path, address: int | None) -> dict[str, Any]:
    data = read_file_bytes(path)
    name = str(path)
    if path.suffix.lower() == ".dfu" or data.startswith(DFUSE_SIGNATURE):
        return _describe_dfu(data, name, address)  # without the image loaders: starts faster
    from pydfuse.formats.loaders import detect_format, image_from_bytes

    fmt = detect_format(path, data)
    if fmt in ("bin", None) and inspect_suffix(data, path=name) is not None:
        return _describe_dfu(data, name, address)  # a plain DFU file
    image = image_from_bytes(data, fmt, address=address, path=name)
    return {"path": name, "kind": fmt or "bin", "file_size": len(data), **describe_image(image)}


def _describe_dfu(data: bytes, name: str, address: int | None) -> dict[str, Any]:
    from pydfuse.formats.dfu import parse_dfu
    from pydfuse.formats.dfuse import DfuseFile
    from pydfuse.formats.plain import PlainDfuFile

    dfu = parse_dfu(data, path=name)  # strict: signature, sizes, suffix and CRC
    if isinstance(dfu, DfuseFile) and address is not None:
        raise click.UsageError("--address is for raw images; a DfuSe file has its own")
    out = {"path": name, **describe_dfu(dfu, len(data), dfu_crc_of(data))}
    if isinstance(dfu, PlainDfuFile) and address is not None:
        from pydfuse.formats.loaders import image_from_bytes

        out["image"] = describe_image(image_from_bytes(dfu.payload, "bin", address=address))
    return out


def dfu_crc_of(data: bytes) -> int:
    """The stored dwCRC (the last four bytes; already verified by the reader)."""
    return int.from_bytes(data[-4:], "little")


def _elements_table(targets: list[dict[str, Any]]) -> list[str]:
    rows = []
    for t in targets:
        name = t["name"] if t["named"] else f"({t['name']}, unnamed)"
        for n, e in enumerate(t["elements"]):
            size = human_size(e["size"])
            rows.append(
                (str(t["alt"]), name, str(n), hex32(e["address"]), hex32(e["end"] - 1), size)
            )
        if not t["elements"]:
            rows.append((str(t["alt"]), name, "-", "", "", "0 B"))
    return plain_table(("alt", "target", "#", "start", "end", "size"), rows, right={0, 2, 5})


def _segments_table(segments: list[dict[str, int]]) -> list[str]:
    rows = [(hex32(e["address"]), hex32(e["end"] - 1), human_size(e["size"])) for e in segments]
    return plain_table(("start", "end", "size"), rows, right={2})


def _render_info(info: dict[str, Any]) -> None:
    """Plain lines (no rich: ``info`` is run in loops by scripts and must start fast)."""
    lines = [f"{info['path']}: {info['kind']}, {human_size(info['file_size'])}"]
    if "suffix" in info:
        s = info["suffix"]
        lines.append(
            f"suffix: VID 0x{s['vid']:04x}  PID 0x{s['pid']:04x}  bcdDevice 0x{s['bcd_device']:04x}"
            f"  bcdDFU 0x{s['bcd_dfu']:04x}  CRC 0x{s['crc']:08x} (ok)"
        )
    if "image_size_convention" in info:
        lines.append(f"DFUImageSize convention: {info['image_size_convention']}")
    if "payload_size" in info:
        lines.append(f"payload: {human_size(info['payload_size'])}")
    if "targets" in info:
        lines += _elements_table(info["targets"])
    segments = info.get("segments") or info.get("image", {}).get("segments")
    if segments:
        lines += _segments_table(segments)
    lines += [f"warning: {warning}" for warning in info.get("warnings", [])]
    for line in lines:
        echo(line)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--address", type=ADDRESS, help="Load address of a raw .bin (or FILE@ADDR).")
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(file: Path, address: int | None, as_json: bool) -> None:
    """Describe a .dfu (targets, elements, suffix, CRC), HEX/S-record/ELF or .bin file (a .bin
    with --address or as FILE@ADDR)."""
    description = _describe(*file_and_address(file, address))
    if as_json:
        emit_json(description)
    else:
        _render_info(description)


# -------------------------------------------------------------------------------------- suffix


@click.group()
def suffix() -> None:
    """Add, check or remove the 16-byte DFU suffix of a file (like dfu-suffix)."""


@suffix.command("add")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--vid", type=ID16, default=0xFFFF, help="idVendor (default 0xFFFF: any).")
@click.option("--pid", type=ID16, default=0xFFFF, help="idProduct (default 0xFFFF: any).")
@click.option("--bcd-device", type=ID16, default=0xFFFF, help="bcdDevice (default 0xFFFF: any).")
@click.option(
    "--bcd-dfu",
    type=ID16,
    default=None,
    help="0x0100 for plain DFU (default), 0x011A for DfuSe (default for DfuSe files).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new suffix as JSON.")
def suffix_add(
    file: Path, vid: int, pid: int, bcd_device: int, bcd_dfu: int | None, as_json: bool
) -> None:
    """Append a DFU suffix to FILE (refused if it already has one)."""
    data = read_file_bytes(file)
    if inspect_suffix(data, path=str(file)) is not None:
        raise FormatError(
            "the file already has a DFU suffix",
            path=str(file),
            hint="remove it first: dfuse suffix remove FILE",
        )
    if bcd_dfu is None:
        bcd_dfu = BCD_DFUSE if data.startswith(DFUSE_SIGNATURE) else BCD_DFU_1_1
    new_suffix = DfuSuffix(bcd_device, pid, vid, bcd_dfu)
    atomic_write(file, append_suffix(data, new_suffix))
    if as_json:
        emit_json({"path": str(file), "added": True, **describe_suffix(new_suffix)})
        return
    _show(f"added DFU suffix to {file}: {_suffix_text(describe_suffix(new_suffix))}")


def _suffix_text(s: dict[str, Any]) -> str:
    return (
        f"VID 0x{s['vid']:04x}, PID 0x{s['pid']:04x}, bcdDevice 0x{s['bcd_device']:04x}, "
        f"bcdDFU 0x{s['bcd_dfu']:04x}"
    )


def _read_with_suffix(file: Path) -> tuple[bytes, SuffixInfo]:
    """FILE's bytes and its suffix; the "no DFU suffix" FormatError when it has none."""
    data = read_file_bytes(file)
    found = inspect_suffix(data, path=str(file))
    if found is None:
        split_suffix(data, path=str(file))  # raises the "no DFU suffix" error
        raise AssertionError("split_suffix accepted a file without a suffix")
    return data, found


@suffix.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the suffix as JSON.")
def suffix_check(file: Path, as_json: bool) -> None:
    """Show FILE's DFU suffix; exit 1 if it is missing or its CRC is wrong."""
    data, found = _read_with_suffix(file)
    fields = describe_suffix(found.suffix, found)
    if as_json:
        emit_json({"path": str(file), **fields})
    else:
        crc = f"CRC 0x{found.crc_stored:08x} " + ("(ok)" if found.crc_ok else "(BAD)")
        length = f", bLength {found.length}" if found.extra else ""
        _show(f"{file}: {_suffix_text(fields)}{length}, {crc}")
    split_suffix(data, path=str(file))  # raises ChecksumError on a bad CRC


@suffix.command("remove")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the removed suffix as JSON.")
def suffix_remove(file: Path, as_json: bool) -> None:
    """Strip the DFU suffix from FILE (a bad CRC is reported but does not stop removal)."""
    data, found = _read_with_suffix(file)
    atomic_write(file, data[: len(data) - found.length])
    if as_json:
        emit_json({"path": str(file), "removed": True, **describe_suffix(found.suffix, found)})
        return
    note = "" if found.crc_ok else " (its CRC was wrong)"
    _show(f"removed DFU suffix from {file}{note}")
