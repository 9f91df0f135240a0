"""The host reads option bytes only as whole blocks, as the ROM requires (AN3156 §4.1: "for the
option bytes read size must be equal to the option byte block size"): a part of the block is
cut from a whole read, and a memory with two blocks (dual-bank G4/F42x) is read block by block
(ops -> host -> pyusb -> simulator, whose ROM refuses any other read)."""

from __future__ import annotations

from dataclasses import replace

from pydfuse.ops import DeviceSelector, option_bytes, upload
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import SectorGroup, get_profile
from pydfuse.spec import MemoryRights
from support.boards import make_rig

ANY = DeviceSelector()


def test_part_of_the_option_bytes_is_cut_from_a_whole_block_read() -> None:
    rig = make_rig("stm32f4-rom")
    result = upload(rig.env, ANY, alt=1, address=0x1FFFC008, length=4)
    assert result.image.start == 0x1FFFC008
    assert result.image.read(0x1FFFC008, 4) == rig.board.memory(1).read(0x1FFFC008, 4)
    assert rig.backend.uploads_at(0x1FFFC000, 0x1FFFC010) == [(0x1FFFC000, 16)]


def _two_option_blocks() -> VirtualBoard:
    """The F4 ROM with a G474-style option alternate of two 48-byte blocks (public dfu-util log:
    `@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e`); protection not modeled."""
    f4 = get_profile("stm32f4-rom")
    rw = MemoryRights.READABLE | MemoryRights.WRITABLE
    option = replace(
        f4.alternates[1],
        layout="@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e",
        descriptor_length=2 + 2 * 56,
        sectors=(SectorGroup(0x1FFF7800, 1, 48, rw), SectorGroup(0x1FFFF800, 1, 48, rw)),
    )
    board = VirtualBoard(replace(f4, alternates=(f4.alternates[0], option), option_bytes=None))
    board.memory(1).load(0x1FFF7800, bytes(range(48)))
    board.memory(1).load(0x1FFFF800, bytes(range(100, 148)))
    return board


def test_an_option_memory_of_two_blocks_is_read_block_by_block() -> None:
    rig = make_rig(_two_option_blocks())
    report = option_bytes(rig.env, ANY)
    assert report.block.family is None  # dual-bank blocks are shown raw
    assert report.block.raw == bytes(range(48)) + bytes(range(100, 148))
    assert rig.backend.uploads_at(0x1FFF7800, 0x20000000) == [(0x1FFF7800, 48), (0x1FFFF800, 48)]
    whole = upload(rig.env, ANY, alt=1)
    assert whole.image.read(0x1FFFF800, 48) == bytes(range(100, 148))
