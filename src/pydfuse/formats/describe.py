"""Plain-data summaries of DFU files and images, for ``info``/``pack --json`` and for tests
(layer: formats; imports the sibling formats modules only).

Every function returns JSON-ready dicts (addresses as ints); the CLI formats them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydfuse.formats.suffix import DfuSuffix, SuffixInfo

if TYPE_CHECKING:  # describe_suffix (dfuse suffix check) needs none of them
    from pydfuse.formats.dfuse import DfuseFile
    from pydfuse.formats.image import Image, Segment
    from pydfuse.formats.plain import PlainDfuFile

__all__ = ["describe_dfu", "describe_image", "describe_suffix"]


def _segment(segment: Segment) -> dict[str, int]:
    return {"address": segment.address, "end": segment.end, "size": len(segment.data)}


def describe_suffix(suffix: DfuSuffix, info: SuffixInfo | None = None) -> dict[str, Any]:
    """The suffix fields, plus the stored/computed CRC when ``info`` is given."""
    out: dict[str, Any] = {
        "bcd_device": suffix.bcd_device,
        "pid": suffix.pid,
        "vid": suffix.vid,
        "bcd_dfu": suffix.bcd_dfu,
    }
    if info is not None:
        out.update(
            crc=info.crc_stored,
            crc_computed=info.crc_computed,
            crc_ok=info.crc_ok,
            length=info.length,
        )
    return out


def describe_image(image: Image) -> dict[str, Any]:
    """Runs, total size and address range of an image."""
    return {
        "start": image.start,
        "end": image.end,
        "size": image.size,
        "segments": [_segment(s) for s in image],
    }


def describe_dfu(dfu: DfuseFile | PlainDfuFile, file_size: int, crc: int) -> dict[str, Any]:
    """A DfuSe or plain DFU file: suffix, CRC (already verified), targets/elements, warnings."""
    from pydfuse.formats.plain import PlainDfuFile

    out: dict[str, Any] = {
        "kind": "plain-dfu" if isinstance(dfu, PlainDfuFile) else "dfuse",
        "file_size": file_size,
        "suffix": {**describe_suffix(dfu.suffix), "crc": crc, "crc_ok": True},
    }
    if isinstance(dfu, PlainDfuFile):
        out["payload_size"] = len(dfu.payload)
    else:
        out["image_size_convention"] = dfu.image_size_convention
        out["targets"] = [
            {
                "alt": t.alt,
                "name": t.name,
                "named": t.named,
                "size": t.size,
                "elements": [_segment(e) for e in t.elements],
            }
            for t in dfu.targets
        ]
    out["warnings"] = list(dfu.warnings)
    return out
