"""File formats: DfuSe .dfu files, DFU suffixes, HEX/S-record/ELF/BIN images (layer: formats).

May import ``pydfuse.spec`` and ``pydfuse.errors`` only (plus bincopy and pyelftools in the
loaders).
"""

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
]
