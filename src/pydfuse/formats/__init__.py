"""File formats: DfuSe .dfu files, DFU suffixes, HEX/S-record/ELF/BIN images (layer: formats).

May import ``pydfuse.spec`` and ``pydfuse.errors`` only (plus bincopy and pyelftools in the
loaders).

Every name is imported from its module on first use (PEP 562): a command that needs one
format (``dfuse suffix check``) does not pay for the others at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydfuse.formats.atomic import atomic_write, check_writable
    from pydfuse.formats.describe import describe_dfu, describe_image, describe_suffix
    from pydfuse.formats.dfu import (
        BCD_DFU_1_1,
        BCD_DFUSE,
        DEFAULT_TARGET_NAME,
        DfuseElement,
        DfuseFile,
        DfuseTarget,
        DfuSuffix,
        ImageSizeConvention,
        PlainDfuFile,
        SuffixInfo,
        append_suffix,
        dfu_crc,
        has_suffix,
        inspect_suffix,
        parse_dfu,
        read_dfu,
        split_suffix,
    )
    from pydfuse.formats.image import Image, Segment
    from pydfuse.formats.loaders import (
        ImageFormat,
        SaveFormat,
        detect_format,
        image_chunks,
        image_from_bytes,
        image_to_bytes,
        load_image,
        save_image,
    )
    from pydfuse.formats.pack import PackInput, build_dfuse, pack_images
    from pydfuse.formats.suffix import strip_suffix

_WHERE = {  # name -> the module defining it
    "atomic_write": "atomic",
    "check_writable": "atomic",
    "describe_dfu": "describe",
    "describe_image": "describe",
    "describe_suffix": "describe",
    "BCD_DFU_1_1": "suffix",
    "BCD_DFUSE": "suffix",
    "DEFAULT_TARGET_NAME": "dfuse",
    "DfuseElement": "dfu",
    "DfuseFile": "dfuse",
    "DfuseTarget": "dfuse",
    "DfuSuffix": "suffix",
    "ImageSizeConvention": "dfuse",
    "PlainDfuFile": "plain",
    "SuffixInfo": "suffix",
    "append_suffix": "suffix",
    "dfu_crc": "suffix",
    "has_suffix": "suffix",
    "inspect_suffix": "suffix",
    "parse_dfu": "dfu",
    "read_dfu": "dfu",
    "split_suffix": "suffix",
    "strip_suffix": "suffix",
    "Image": "image",
    "Segment": "image",
    "ImageFormat": "loaders",
    "SaveFormat": "loaders",
    "detect_format": "loaders",
    "image_chunks": "loaders",
    "image_from_bytes": "loaders",
    "image_to_bytes": "loaders",
    "load_image": "loaders",
    "save_image": "loaders",
    "PackInput": "pack",
    "build_dfuse": "pack",
    "pack_images": "pack",
}

__all__ = [
    "BCD_DFUSE",
    "BCD_DFU_1_1",
    "DEFAULT_TARGET_NAME",
    "DfuSuffix",
    "DfuseElement",
    "DfuseFile",
    "DfuseTarget",
    "Image",
    "ImageFormat",
    "ImageSizeConvention",
    "PackInput",
    "PlainDfuFile",
    "SaveFormat",
    "Segment",
    "SuffixInfo",
    "append_suffix",
    "atomic_write",
    "build_dfuse",
    "check_writable",
    "describe_dfu",
    "describe_image",
    "describe_suffix",
    "detect_format",
    "dfu_crc",
    "has_suffix",
    "image_chunks",
    "image_from_bytes",
    "image_to_bytes",
    "inspect_suffix",
    "load_image",
    "pack_images",
    "parse_dfu",
    "read_dfu",
    "save_image",
    "split_suffix",
    "strip_suffix",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pydfuse.formats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pydfuse.formats.{module}"), name)
    globals()[name] = value  # the next use is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
