"""Build a DfuSe file from firmware images: the library side of ``dfuse pack`` (layer: formats).

Imports pydfuse.errors and the sibling formats modules only. Inputs for the same alternate
setting are merged into one target whose elements are the merged, address-sorted runs — the
order that keeps page-wise erasing hosts from wiping data they just wrote (§4.9).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pydfuse.errors import FormatError
from pydfuse.formats.dfuse import DEFAULT_TARGET_NAME, DfuseFile, DfuseTarget
from pydfuse.formats.image import Image
from pydfuse.formats.loaders import load_image

__all__ = ["PackInput", "build_dfuse", "pack_images"]


@dataclass(frozen=True, slots=True)
class PackInput:
    """One input file for alternate setting ``alt``; ``address`` only for raw binaries.

    ``name`` None means "no opinion" (another input for the same alt, or the default "ST...",
    names the target).
    """

    alt: int
    path: str | os.PathLike[str]
    name: str | None = None
    address: int | None = None


def pack_images(
    images: Iterable[tuple[int, str | None, Image]],
    *,
    vid: int = 0x0483,
    pid: int = 0xDF11,
    bcd_device: int = 0xFFFF,
    sources: Iterable[str] | None = None,
) -> DfuseFile:
    """A DfuSe file with one target per alternate setting (ascending), from
    ``(alt, name, image)`` triples; triples for the same alt are merged.

    Raises :class:`FormatError` on overlapping data within an alt or on conflicting names.
    """
    merged: dict[int, tuple[str | None, Image, tuple[str, ...]]] = {}
    labels = iter(sources) if sources is not None else iter(())
    for alt, name, image in images:
        label = next(labels, f"input {len(merged.get(alt, (0, 0, ()))[2]) + 1} for alt {alt}")
        if alt not in merged:
            merged[alt] = (name, image, (label,))
            continue
        old_name, old_image, old_labels = merged[alt]
        if name is not None and old_name is not None and name != old_name:
            raise FormatError(
                f"alt {alt} is named both {old_name!r} and {name!r}",
                hint="give the name once, or the same name on every -t for that alt",
            )
        try:
            combined = old_image.merged_with(image)
        except FormatError as error:
            raise FormatError(
                f"{label} overlaps {' or '.join(old_labels)} in alt {alt}: {error}",
                hint="each address may appear in only one input file",
            ) from None
        merged[alt] = (old_name if old_name is not None else name, combined, (*old_labels, label))
    targets = tuple(
        DfuseTarget.from_image(alt, image, name if name is not None else DEFAULT_TARGET_NAME)
        for alt, (name, image, _) in sorted(merged.items())
    )
    return DfuseFile(targets, vid=vid, pid=pid, bcd_device=bcd_device)


def build_dfuse(
    inputs: Iterable[PackInput],
    *,
    vid: int = 0x0483,
    pid: int = 0xDF11,
    bcd_device: int = 0xFFFF,
) -> DfuseFile:
    """Load every input (HEX/S-record/ELF/BIN@ADDR) and pack them (see :func:`pack_images`);
    the loaders' notes (identical overlapping bytes merged) are the file's ``warnings``."""
    items = list(inputs)
    notes: list[str] = []
    images = [(i.alt, i.name, load_image(i.path, address=i.address, notes=notes)) for i in items]
    for (alt, _, image), item in zip(images, items, strict=True):
        if not image:
            raise FormatError(f"no data for alt {alt}", path=str(item.path))
    packed = pack_images(
        images, vid=vid, pid=pid, bcd_device=bcd_device, sources=[str(i.path) for i in items]
    )
    return replace(packed, warnings=(*packed.warnings, *notes))
