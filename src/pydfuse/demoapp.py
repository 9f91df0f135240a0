"""A tiny but valid Cortex-M3 application image for demos and tests (layer: formats level).

It is what an STM32F103 firmware linked with FLASH ORIGIN = ``load_address`` looks like to a
bootloader: a vector table (initial MSP at the top of SRAM, every handler a Thumb address inside
the image) followed by a little code and a version string. The code does what a correct
application behind a bootloader does: it points SCB->VTOR at its own table, starts a 1 ms
SysTick with its interrupt, and sleeps in a WFI main loop (its SysTick handler just returns).
Imports only pydfuse.formats.
"""

from __future__ import annotations

import struct

from pydfuse.formats.image import Image, Segment

# §5.1: high-density STM32F1 tables hold 16 system + 60 device vectors = 0x130 bytes.
VECTOR_COUNT = 76
SYSTICK_VECTOR = 15
THUMB_LOOP = b"\xfe\xe7"  # "b ." — branch to itself (Thumb T2 encoding 0xE7FE)
# The reset handler (Thumb, hand-assembled; ARMv7-M A7.7): offsets from its start.
_RESET_CODE = (
    0x4805,  # 0x00 ldr  r0, =SCB_VTOR          (literal at 0x18)
    0x4906,  # 0x02 ldr  r1, =link address      (literal at 0x1C)
    0x6001,  # 0x04 str  r1, [r0]               VTOR = the application's own table
    0x4806,  # 0x06 ldr  r0, =SYST_CSR          (literal at 0x20)
    0x4906,  # 0x08 ldr  r1, =7999              (literal at 0x24)
    0x6041,  # 0x0A str  r1, [r0, #4]           SYST_RVR: 1 ms at 8 MHz
    0x2107,  # 0x0C movs r1, #7
    0x6001,  # 0x0E str  r1, [r0]               SYST_CSR: enable, interrupt, core clock
    0xBF30,  # 0x10 wfi                          the main loop: sleep ...
    0xE7FD,  # 0x12 b    0x10                    ... and sleep again
    0xE7FE,  # 0x14 b    .                       the default handler
    0x4770,  # 0x16 bx   lr                      the SysTick handler
)
_DEFAULT_HANDLER = 0x14
_SYSTICK_HANDLER = 0x16


def build_demo_app(
    *,
    link_address: int = 0x08003000,
    load_address: int | None = None,
    stack_top: int = 0x20010000,
    size: int = 8 * 1024,
    version: str = "1.0.0",
) -> Image:
    """An application linked for ``link_address`` and placed at ``load_address``.

    ``load_address`` defaults to ``link_address``. Giving a different one reproduces the classic
    mistake of an image linked for 0x08000000 loaded behind a bootloader: the vectors then point
    at the link address, not at where the code really is.
    """
    load = link_address if load_address is None else load_address
    table_bytes = VECTOR_COUNT * 4
    reset_handler = link_address + table_bytes
    default_handler = reset_handler + _DEFAULT_HANDLER
    vectors = [stack_top, reset_handler | 1] + [default_handler | 1] * (VECTOR_COUNT - 2)
    vectors[SYSTICK_VECTOR] = (reset_handler + _SYSTICK_HANDLER) | 1
    # Reserved vectors (§5.1: 0x1C-0x28, 0x34) are zero in real tables.
    for index in (7, 8, 9, 10, 13):
        vectors[index] = 0
    code = struct.pack(f"<{len(_RESET_CODE)}H", *_RESET_CODE)
    literals = struct.pack("<4I", 0xE000ED08, link_address, 0xE000E010, 7999)
    body = struct.pack(f"<{VECTOR_COUNT}I", *vectors) + code + literals
    banner = f"pydfuse demo application v{version}\0".encode()
    body += banner
    if len(body) > size:
        raise ValueError(f"size {size} is too small for the vector table and code")
    # Fill the rest with a recognisable pattern, as a real image would hold code and constants.
    filler = bytes((i * 7 + 3) & 0xFF for i in range(size - len(body)))
    return Image.from_segments([Segment(load, body + filler)])


def build_data_blob(address: int, size: int, seed: int = 1) -> Image:
    """A deterministic data image (fonts, pictures, a file system) for an external memory."""
    state = seed & 0xFFFFFFFF or 1
    out = bytearray(size)
    for i in range(size):
        # xorshift32: cheap, deterministic, and not compressible into runs of 0xFF.
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        out[i] = state & 0xFF
    return Image.from_segments([Segment(address, bytes(out))])
