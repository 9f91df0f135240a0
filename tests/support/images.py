"""Images of the classic mistakes, built in code (shared by the preflight tests)."""

from __future__ import annotations

import struct

from pydfuse.formats.image import Image
from pydfuse.layout import parse_layout

E_EVAL_FLASH = parse_layout("@Internal Flash  /0x08000000/06*002Ka,250*002Kg")
E_EVAL_SPI = parse_layout("@SPI Flash : M25P64/0x00000000/128*64Kg")
E_EVAL_NOR = parse_layout("@NOR Flash : M29W128F/0x64000000/0256*64Kg")
E_EVAL_MEMORIES = {0: E_EVAL_FLASH, 1: E_EVAL_SPI, 2: E_EVAL_NOR}
E_EVAL_SRAM = (0x20000000, 0x20010000)


def vector_table(link: int, *, sp: int = 0x20010000, reset_offset: int = 0x1C5) -> bytes:
    """A Cortex-M system vector table for code linked at ``link`` (§5.1)."""
    words = [0] * 16
    words[0] = sp
    words[1] = link + reset_offset  # odd: Thumb
    words[2] = link + 0x1C9  # NMI
    words[3] = link + 0x1CB  # HardFault
    words[11] = link + 0x1CD  # SVCall
    words[14] = link + 0x1CF  # PendSV
    words[15] = link + 0x1D1  # SysTick
    return struct.pack("<16I", *words)


def app_image(
    load: int, *, link: int | None = None, size: int = 0x800, sp: int = 0x20010000
) -> Image:
    """An application of ``size`` bytes linked for ``link`` (default: ``load``), at ``load``."""
    table = vector_table(load if link is None else link, sp=sp)
    body = bytes((i * 7) & 0xFF for i in range(size - len(table)))
    return Image.from_segments([(load, table + body)])
