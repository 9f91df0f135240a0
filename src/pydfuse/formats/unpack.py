"""``unpack``: a DfuSe file's targets as HEX/S-record/BIN files with unique names, and a
manifest that ``pack`` reads back so the targets keep their names and alternates (layer:
formats; imports pydfuse.errors and the sibling formats modules).

Names are ``alt<ALT>-<NAME>.hex`` (``-<ADDRESS>.bin`` per element with ``bin``); two targets
or elements that would share a name (targets ``a-1`` and ``a`` for one alternate, two elements
at one address, names that differ only in case) get ``-2``, ``-3``... so no file overwrites
another. The manifest (``<stem>.manifest.json``) lists every target in file order with its
alternate, name and files; :func:`read_manifest` turns it back into a :class:`DfuseFile`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydfuse.errors import FormatError
from pydfuse.formats.atomic import Chunks
from pydfuse.formats.dfuse import (
    NAME_FIELD_LENGTH,
    DfuseFile,
    DfuseTarget,
    ImageSizeConvention,
    read_file_bytes,
)
from pydfuse.formats.image import Image, Segment
from pydfuse.formats.loaders import image_chunks, load_image
from pydfuse.formats.plain import PlainDfuFile

__all__ = [
    "MANIFEST_FORMAT",
    "UnpackedFile",
    "as_bytes",
    "describe",
    "manifest_name",
    "read_manifest",
    "unpack_files",
]

MANIFEST_FORMAT = "pydfuse-unpack/1"
UnpackFormat = Literal["hex", "srec", "bin"]
_EXTENSIONS = {"hex": ".hex", "srec": ".s19", "bin": ".bin"}


@dataclass(frozen=True, slots=True)
class UnpackedFile:
    """One output of ``unpack``: its (unique) name, contents, and what it holds."""

    name: str
    contents: Chunks
    alt: int | None  # None: a plain DFU file's payload
    target: str | None
    address: int | None = None  # the element address of a .bin


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:60] or "target"


class _Names:
    """Unique file names, also where the file system ignores case."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, stem: str, extension: str) -> str:
        name, number = f"{stem}{extension}", 1
        while name.lower() in self.used:
            number += 1
            name = f"{stem}-{number}{extension}"
        self.used.add(name.lower())
        return name


def _overlapping(elements: tuple[Segment, ...]) -> bool:
    spans = sorted((e.address, e.end) for e in elements if e.data)
    return any(b[0] < a[1] for a, b in pairwise(spans))


def unpack_files(
    dfu: DfuseFile | PlainDfuFile, stem: str, fmt: UnpackFormat
) -> tuple[list[UnpackedFile], dict[str, Any] | None, list[str]]:
    """Every file ``unpack`` writes, the manifest (None for a plain DFU file) and notes."""
    names = _Names()
    if isinstance(dfu, PlainDfuFile):
        payload = UnpackedFile(
            names.take(f"{_safe_name(stem)}-payload", ".bin"), dfu.payload, None, None
        )
        return [payload], None, []
    if not dfu.targets:
        raise FormatError(
            "the .dfu file has no targets: there is nothing in it to unpack",
            hint="`dfuse info FILE` shows what it holds",
        )
    files: list[UnpackedFile] = []
    notes: list[str] = []
    entries: list[dict[str, Any]] = []
    for target in dfu.targets:
        base = f"alt{target.alt}-{_safe_name(target.name)}"
        per_element = fmt == "bin" or _overlapping(target.elements)
        if per_element and fmt != "bin":
            notes.append(
                f"target {target.alt} ({target.name}) has elements that overlap: one .bin per "
                "element, so no byte is lost"
            )
        made: list[UnpackedFile] = []
        if per_element:
            for element in target.elements:
                name = names.take(f"{base}-0x{element.address:08x}", ".bin")
                made.append(
                    UnpackedFile(name, element.data, target.alt, target.name, element.address)
                )
        elif target.elements:
            name = names.take(base, _EXTENSIONS[fmt])
            chunks = image_chunks(target.image, "hex" if fmt == "hex" else "srec")
            made.append(UnpackedFile(name, chunks, target.alt, target.name))
        files += made
        entry: dict[str, Any] = {
            "alt": target.alt,
            "name": target.name,
            "named": target.named,
            "files": [
                {"file": f.name, **({"address": f.address} if f.address is not None else {})}
                for f in made
            ],
        }
        entries.append({**entry, **_exact(target, per_element)})
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "vid": dfu.vid,
        "pid": dfu.pid,
        "bcd_device": dfu.bcd_device,
        "targets": entries,
    }
    if dfu.image_size_convention != "len-16":  # what dfuse-pack and others write (§4.2)
        manifest["image_size"] = {"convention": dfu.image_size_convention}
        if dfu.image_size_convention == "raw":
            manifest["image_size"]["value"] = dfu.image_size_raw
    return files, manifest, notes


def _exact(target: DfuseTarget, per_element: bool) -> dict[str, Any]:
    """What a target's files cannot say, so that pack rebuilds it byte for byte: its elements
    (address and size, in file order: a HEX or S-record file merges touching runs and sorts
    them), a name field with bytes after the NUL (ST's tools write them) and a raw
    bTargetNamed other than 0 or 1."""
    out: dict[str, Any] = {}
    if not per_element and target.elements:
        out["elements"] = [[e.address, len(e.data)] for e in target.elements]
    if target.name_bytes is not None:
        out["name_field"] = target.name_bytes.hex()
    if target.named_value is not None:
        out["named_value"] = target.named_value
    return out


def manifest_name(stem: str) -> str:
    """The manifest's file name for a source file's stem."""
    return f"{_safe_name(stem)}.manifest.json"


def _field(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise FormatError(f"manifest {where}: '{key}' is missing or not a {kind.__name__}")
    return value


def _target(entry: Any, index: int, folder: Path, notes: list[str]) -> DfuseTarget:
    where = f"target {index}"
    if not isinstance(entry, dict):
        raise FormatError(f"manifest {where} is not an object")
    files = _field(entry, "files", list, where)
    elements: list[Segment] = []
    for item in files:
        if not isinstance(item, dict):
            raise FormatError(f"manifest {where}: a file entry is not an object")
        path = folder / _field(item, "file", str, where)
        address = item.get("address")
        if address is not None and (not isinstance(address, int) or isinstance(address, bool)):
            raise FormatError(f"manifest {where}: 'address' of {path.name} is not an integer")
        if address is not None:  # one element, kept as it was (duplicates and all)
            elements.append(Segment(address, read_file_bytes(path)))
        else:
            elements.extend(load_image(path).segments)
    name = _field(entry, "name", str, where)
    listed = entry.get("elements")
    if listed is not None:
        elements = _as_listed(elements, listed, where, notes)
    field = entry.get("name_field")
    name_bytes = _name_field(field, name, where) if field is not None else None
    named_value = entry.get("named_value")
    if named_value is not None and (
        not isinstance(named_value, int)
        or isinstance(named_value, bool)
        or not 0 <= named_value <= 0xFF
    ):
        raise FormatError(f"manifest {where}: 'named_value' is not a byte")
    return DfuseTarget(
        alt=_field(entry, "alt", int, where),
        name=name,
        elements=tuple(elements),
        named=bool(entry.get("named", True)),
        name_bytes=name_bytes,
        named_value=named_value,
    )


def _as_listed(loaded: list[Segment], listed: Any, where: str, notes: list[str]) -> list[Segment]:
    """The target's data cut into the elements the manifest lists (address, size; file
    order); when the files no longer hold exactly that data (edited since unpack), their own
    runs, with a note."""
    if not isinstance(listed, list) or not all(
        isinstance(e, list)
        and len(e) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in e)
        for e in listed
    ):
        raise FormatError(f"manifest {where}: 'elements' is not a list of [address, size]")
    image = Image.from_segments(loaded)
    spans = [(address, size) for address, size in listed]
    if sum(size for _, size in spans) == image.size and all(
        size and image.covers(address, address + size) for address, size in spans
    ):
        return [Segment(address, image.read(address, size)) for address, size in spans]
    notes.append(
        f"{where}: its files no longer match the elements the manifest lists (edited since "
        "unpack?): its elements follow the files' runs"
    )
    return list(image.segments)


def _name_field(value: Any, name: str, where: str) -> bytes:
    """The raw 255-byte name field, which must still spell ``name``."""
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None or len(raw) != NAME_FIELD_LENGTH or raw.split(b"\0", 1)[0] != name.encode():
        raise FormatError(
            f"manifest {where}: 'name_field' is not the {NAME_FIELD_LENGTH}-byte field of {name!r}"
        )
    return raw


def read_manifest(path: str | Path) -> DfuseFile:
    """The :class:`DfuseFile` a manifest written by ``unpack`` describes: its targets in order,
    with their alternates, names and elements, and its suffix IDs. File names are relative to
    the manifest's folder. Raises :class:`FormatError` for anything else."""
    manifest_path = Path(path)
    try:
        data = json.loads(read_file_bytes(manifest_path))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatError(f"not a JSON manifest: {error}", path=str(manifest_path)) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise FormatError(
            f"not a manifest written by dfuse unpack (format {MANIFEST_FORMAT!r})",
            path=str(manifest_path),
        )
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets:
        raise FormatError("the manifest lists no targets", path=str(manifest_path))
    folder = manifest_path.parent
    notes: list[str] = []
    try:
        built = tuple(_target(entry, i, folder, notes) for i, entry in enumerate(targets))
        convention, raw_size = _image_size(data.get("image_size"))
        return DfuseFile(
            built,
            vid=_field(data, "vid", int, "suffix"),
            pid=_field(data, "pid", int, "suffix"),
            bcd_device=_field(data, "bcd_device", int, "suffix"),
            image_size_convention=convention,
            image_size_raw=raw_size,
            warnings=tuple(notes),
        )
    except FormatError as error:
        if error.path is not None:
            raise
        raise FormatError(str(error), path=str(manifest_path), hint=error.hint) from None


def _image_size(value: Any) -> tuple[ImageSizeConvention, int]:
    """The DFUImageSize convention (and raw value) a manifest records; ST's by default."""
    if value is None:
        return "len-16", 0
    convention = value.get("convention") if isinstance(value, dict) else None
    raw = value.get("value", 0) if isinstance(value, dict) else None
    if (
        convention not in ("len-16", "len", "raw")
        or not isinstance(raw, int)
        or isinstance(raw, bool)
        or not 0 <= raw <= 0xFFFFFFFF
    ):
        raise FormatError("manifest: 'image_size' is not a DFUImageSize convention")
    return convention, raw


def describe(files: list[UnpackedFile]) -> list[dict[str, Any]]:
    """JSON-ready rows of the files (without their contents)."""
    return [{"file": f.name, "alt": f.alt, "target": f.target, "address": f.address} for f in files]


def as_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest file's contents."""
    return (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
