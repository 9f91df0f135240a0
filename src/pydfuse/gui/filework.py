"""The File panel's work (DFU File Manager): read uploaded images, pack targets into a .dfu,
draw them on a board's memories with the pre-flight findings, open a .dfu and extract its
targets (layer: gui).

Every step is a :mod:`pydfuse.formats` or :mod:`pydfuse.checks` call, the same ones ``dfuse
pack``, ``info``, ``unpack`` and ``check --profile`` make. Imports ``pydfuse.formats``,
``pydfuse.layout``, ``pydfuse.checks``, ``pydfuse.errors``, ``pydfuse.ops`` (a profile's board
facts) and the board profiles of ``pydfuse.sim`` (data only), plus the sibling gui modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from pydfuse.checks import TargetImage, preflight, short_name
from pydfuse.errors import DfuseError, FormatError
from pydfuse.formats import (
    DfuseFile,
    Image,
    PlainDfuFile,
    describe_dfu,
    describe_image,
    detect_format,
    image_from_bytes,
    image_to_bytes,
    pack_images,
    parse_dfu,
)
from pydfuse.gui.maps import elements_view, legend, memory_views
from pydfuse.gui.store import FileStore, StoredFile
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.layout.placement import format_size
from pydfuse.ops import facts_of_profile
from pydfuse.sim.profiles import PROFILES, get_profile


@dataclass(frozen=True, slots=True)
class FileRef:
    """One input of a target: a stored file, and the load address of a raw binary."""

    file_id: str
    address: int | None = None


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One target as the page describes it: alternate, name ("" = default), inputs."""

    alt: int
    name: str
    files: tuple[FileRef, ...]


@dataclass(frozen=True, slots=True)
class PackSpec:
    """A whole .dfu as the page describes it, plus the board to draw it on (None: no board)."""

    targets: tuple[TargetSpec, ...]
    vid: int = 0x0483
    pid: int = 0xDF11
    bcd_device: int = 0xFFFF
    board: str | None = None


def file_kind(stored: StoredFile) -> str | None:
    """``ihex``, ``srec``, ``elf``, ``bin`` or ``dfu`` (by name, else by content)."""
    return detect_format(PurePath(stored.name).name or "file", stored.data)


def _is_dfu(stored: StoredFile) -> bool:
    return file_kind(stored) == "dfu" or stored.data.startswith(b"DfuSe")


def describe_upload(stored: StoredFile) -> dict[str, Any]:
    """What the page shows of a file right after the upload. Raises FormatError for a file
    that cannot be read (a raw binary is fine: it only needs an address later)."""
    out: dict[str, Any] = {"id": stored.id, "name": stored.name, "size": stored.size}
    if _is_dfu(stored):
        return {**out, **describe_dfu_file(stored)}
    kind = file_kind(stored) or "bin"
    out["kind"] = kind
    if kind == "bin":
        out["needs_address"] = True
        return out
    image = image_from_bytes(stored.data, kind, path=stored.name)  # type: ignore[arg-type]
    return {**out, "image": describe_image(image)}


def describe_dfu_file(stored: StoredFile) -> dict[str, Any]:
    """A .dfu: its suffix, targets, elements (as ``dfuse info``) and each target's drawing."""
    dfu = parse_dfu(stored.data, path=stored.name)
    out = describe_dfu(dfu, len(stored.data), int.from_bytes(stored.data[-4:], "little"))
    if isinstance(dfu, DfuseFile):
        out["views"] = [elements_view(t.alt, t.name, t.elements) for t in dfu.targets if t.elements]
    return out


def _image_of(store: FileStore, ref: FileRef, notes: list[str]) -> tuple[str, Image]:
    stored = store.get(ref.file_id)
    if _is_dfu(stored):
        raise FormatError(
            "a .dfu cannot be an input of a target",
            path=stored.name,
            hint="open it with 'Open .dfu' to edit its targets, or extract them first",
        )
    kind = file_kind(stored) or "bin"
    image = image_from_bytes(
        stored.data,
        kind,  # type: ignore[arg-type]
        address=ref.address if kind == "bin" else None,
        path=stored.name,
        notes=notes,
    )
    return stored.name, image


def build(store: FileStore, spec: PackSpec) -> DfuseFile:
    """The .dfu of ``spec`` (:func:`pydfuse.formats.pack_images`: one target per alternate,
    inputs for one alternate merged, overlaps refused)."""
    if not spec.targets or not any(t.files for t in spec.targets):
        raise FormatError("add at least one file to a target first")
    triples, sources = [], []
    notes: list[str] = []
    for target in spec.targets:
        if not target.files:
            raise FormatError(f"target {target.alt} ({target.name or 'unnamed'}) has no file")
        for ref in target.files:
            name, image = _image_of(store, ref, notes)
            triples.append((target.alt, target.name.strip() or None, image))
            sources.append(name)
    packed = pack_images(
        triples, vid=spec.vid, pid=spec.pid, bcd_device=spec.bcd_device, sources=sources
    )
    return replace(packed, warnings=(*packed.warnings, *notes))  # as dfuse pack says them


def board_memories(name: str) -> dict[int, MemoryMap]:
    """The memories a board profile's bootloader reports (its layout strings)."""
    memories = {}
    for alt, alt_profile in enumerate(get_profile(name).alternates):
        try:
            memories[alt] = parse_layout(alt_profile.layout)
        except FormatError:
            continue  # a plain DFU device reports a name, not a layout (§4.8)
    return memories


def boards() -> list[dict[str, Any]]:
    """The board profiles the File panel can draw on, with the names of their memories
    (``Internal Flash`` for ``@Internal Flash  /0x08000000/...``) as target names to offer."""
    out = []
    for profile in PROFILES.values():
        memories = board_memories(profile.name)
        alternates = [{"alt": alt, "name": short_name(m)} for alt, m in sorted(memories.items())]
        out.append(
            {"name": profile.name, "description": profile.description, "alternates": alternates}
        )
    return out


def preview(store: FileStore, spec: PackSpec) -> dict[str, Any]:
    """The .dfu ``spec`` would make: its description, each target's drawing, and — on a
    board — every memory with the targets in it and the pre-flight findings (as ``dfuse check
    --profile BOARD``)."""
    dfu = build(store, spec)
    data = dfu.to_bytes()
    out: dict[str, Any] = {
        **describe_dfu(dfu, len(data), int.from_bytes(data[-4:], "little")),
        "views": [elements_view(t.alt, t.name, t.elements) for t in dfu.targets],
        "legend": legend(),
    }
    if spec.board is None:
        return out
    try:
        profile = get_profile(spec.board)
    except KeyError:
        raise DfuseError(f"unknown board profile {spec.board!r}") from None
    memories = board_memories(profile.name)
    targets = [
        TargetImage(t.alt, t.name, t.image, t.elements, target_name=t.name) for t in dfu.targets
    ]
    facts = facts_of_profile(profile)  # SRAM and CCM, as dfuse check --profile
    report = preflight(targets, memories, sram=facts.ram, app_address=facts.app_address)
    findings: dict[int, list[Any]] = {}
    for target, result in zip(targets, report.targets, strict=True):
        findings.setdefault(target.alt, []).extend(result.findings)
    images = {t.alt: t.image for t in dfu.targets}
    out["board"] = profile.name
    out["maps"] = memory_views(memories, images, findings)
    out["check"] = report.to_dict()
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "target"


def extract(
    stored: StoredFile, index: int, fmt: str, element: int | None, *, max_bytes: int
) -> tuple[str, bytes]:
    """Target ``index`` of a stored .dfu as HEX/S-record (the whole target) or as a raw
    binary (one element, or the whole target with its gaps filled with 0xFF — refused when
    that file would pass ``max_bytes``: elements far apart would make gigabytes of 0xFF)."""
    dfu = parse_dfu(stored.data, path=stored.name)
    stem = _safe(PurePath(stored.name).stem)
    if isinstance(dfu, PlainDfuFile):
        return f"{stem}-payload.bin", dfu.payload
    if not 0 <= index < len(dfu.targets):
        raise DfuseError(f"{stored.name} has no target number {index}")
    target = dfu.targets[index]
    base = f"{stem}-alt{target.alt}-{_safe(target.name)}"
    if fmt == "bin":
        if element is None:
            image = target.image
            span = image.end - image.start if image else 0
            if span > max_bytes:
                raise DfuseError(
                    f"target {index} spans {format_size(span)} from 0x{image.start:08x}: as one "
                    f".bin with its gaps filled that is more than this server hands out "
                    f"({format_size(max_bytes)})",
                    hint="extract its elements one by one, or the target as .hex/.s19",
                )
            return f"{base}.bin", image_to_bytes(image, "bin", fill=0xFF)
        if not 0 <= element < len(target.elements):
            raise DfuseError(f"target {index} has no element number {element}")
        item = target.elements[element]
        return f"{base}-0x{item.address:08x}.bin", item.data
    if fmt == "hex":
        return f"{base}.hex", image_to_bytes(target.image, "hex")
    return f"{base}.s19", image_to_bytes(target.image, "srec")


def open_for_editing(store: FileStore, stored: StoredFile) -> dict[str, Any]:
    """A .dfu turned back into editable targets: each target's image becomes one stored HEX
    file (element boundaries are kept as the HEX file's runs)."""
    dfu = parse_dfu(stored.data, path=stored.name)
    if not isinstance(dfu, DfuseFile):
        raise DfuseError(f"{stored.name} is a plain DFU file: it has no targets to edit")
    stem = _safe(PurePath(stored.name).stem)
    targets = []
    for target in dfu.targets:
        if not target.elements:
            continue
        name = f"{stem}-alt{target.alt}.hex"
        added = store.add(name, image_to_bytes(target.image, "hex"), origin="extracted")
        targets.append(
            {
                "alt": target.alt,
                "name": target.name if target.named else "",
                "files": [{**describe_upload(added)}],
            }
        )
    return {
        "targets": targets,
        "vid": dfu.vid,
        "pid": dfu.pid,
        "bcd_device": dfu.bcd_device,
    }
