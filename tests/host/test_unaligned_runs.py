"""Runs that start at an odd address flash on half-word flash (STM32F1, §5.4): no block starts
inside a half-word that the block before it already programmed (programming it twice is
PGERR), neither the vector-table block written last nor the blocks of a long run."""

from __future__ import annotations

import pytest

from pydfuse.formats import Image
from pydfuse.ops import DeviceSelector, flash
from support.boards import APP_ADDRESS, Rig, app_image, blob

ANY = DeviceSelector()
BLOCK = 1024  # the STM3210E-EVAL's wTransferSize


@pytest.mark.parametrize("delta", [True, False], ids=["delta", "full"])
def test_an_image_starting_at_an_odd_address_flashes_and_verifies(rig: Rig, delta: bool) -> None:
    image = blob(APP_ADDRESS + 0x1001, 2 * BLOCK + 1)
    result = flash(rig.env, ANY, image, delta=delta)
    assert result.verified is True
    assert rig.board.memory(0).read(image.start, image.size) == image.read(image.start, image.size)


def test_a_second_run_at_an_odd_address_longer_than_a_block_flashes(rig: Rig) -> None:
    app = app_image(0x800)
    data = blob(APP_ADDRESS + 0x1803, 3 * BLOCK + 5, seed=3)
    image = Image.from_segments([*app.segments, *data.segments])
    result = flash(rig.env, ANY, image)
    assert result.verified is True
    assert rig.board.memory(0).read(data.start, data.size) == data.read(data.start, data.size)
    # Every data block after a run's first starts on the wTransferSize grid.
    starts = rig.backend.set_addresses()
    assert APP_ADDRESS + 0x1803 in starts and APP_ADDRESS + 0x1C00 in starts
