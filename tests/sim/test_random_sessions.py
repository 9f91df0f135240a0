"""Property tests through pyusb: what the host writes into erased flash reads back, and the
flash rules never set a bit without an erase. Bounded by the default hypothesis profile."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.clock import RealTimeClock
from pydfuse.sim.profiles import get_profile
from pydfuse.spec import State, Status
from support.rawdfu import abort, dnload, find, finish, getstatus, read, set_address, to_idle, write

BASE = 0x08010000  # application area of stm3210e-eval, erased at power-on


@given(
    offset=st.integers(0, 4096).map(lambda n: n * 2),
    data=st.binary(min_size=1, max_size=1024),
)
def test_write_into_erased_flash_reads_back(offset: int, data: bytes) -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    st_ = write(dev, board, BASE + offset, data)
    assert (st_.state, st_.status) == (State.DFU_DNLOAD_IDLE, Status.OK)
    padded = data + (b"\xff" if len(data) % 2 else b"")
    assert board.memory(0).read(BASE + offset, len(padded)) == padded
    assert read(dev, board, BASE + offset, len(data)) == data


@given(old=st.binary(min_size=16, max_size=16), new=st.binary(min_size=16, max_size=16))
def test_nor_never_sets_bits_without_erase(old: bytes, new: bytes) -> None:
    board = VirtualBoard("stm3210e-eval")
    board.memory(2).load(0x64000000, old)
    dev = find(board)
    to_idle(dev)
    dev.set_interface_altsetting(0, 2)
    status = write(dev, board, 0x64000000, new).status
    after = board.memory(2).read(0x64000000, 16)
    assert all(a & ~o == 0 for a, o in zip(after, old, strict=True))  # no 0 -> 1
    if all(o & n == n for o, n in zip(old, new, strict=True)):
        assert status == Status.OK and after == new
    else:
        assert status == Status.ERR_PROG


@given(blocks=st.lists(st.binary(min_size=1, max_size=1024), min_size=1, max_size=4))
def test_incrementing_blocks_land_at_pointer_plus_n_transfer_sizes(blocks: list[bytes]) -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    set_address(dev, board, BASE)
    for n, block in enumerate(blocks):
        dnload(dev, 2 + n, block)
        assert finish(dev, board).status == Status.OK
    for n, block in enumerate(blocks):
        assert board.memory(0).read(BASE + n * 1024, len(block)) == block


def test_readonly_enforcement_can_be_switched_off_like_the_demo() -> None:
    """§2.9 / §7.10: the real demo does not protect its own pages; enforce_readonly=False."""
    board = VirtualBoard(dataclasses.replace(get_profile("stm3210e-eval"), enforce_readonly=False))
    dev = find(board)
    to_idle(dev)
    assert write(dev, board, 0x08000000, b"oops").status == Status.OK
    assert board.memory(0).read(0x08000000, 4) == b"oops"


def test_realtime_mode_uses_the_wall_clock() -> None:
    board = VirtualBoard("plain-dfu", realtime=True)
    assert isinstance(board.clock, RealTimeClock)
    dev = find(board)
    assert getstatus(dev).state == State.DFU_IDLE  # no device work: nothing to wait for
    abort(dev)


@pytest.mark.parametrize("name", ["stm3210e-eval", "stm3210b-eval", "stm32f4-rom", "plain-dfu"])
def test_every_profile_enumerates_and_answers_getstatus(name: str) -> None:
    board = VirtualBoard(name)
    dev = find(board)
    assert getstatus(dev).state in (State.DFU_IDLE, State.DFU_ERROR)
    assert board.running == "bootloader"
