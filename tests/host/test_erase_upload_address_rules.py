"""``erase`` and ``upload`` take the memory that holds the address, as ``flash`` places an
image, and refuse a range that runs past the memory instead of shortening it."""

from __future__ import annotations

import pytest

from pydfuse import ops
from pydfuse.errors import PlanError
from support.boards import Rig, blob

ANY = ops.DeviceSelector()
NOR = 0x64000000


def test_erase_and_upload_pick_the_memory_holding_the_address(rig: Rig) -> None:
    data = blob(NOR, 4096)
    ops.flash(rig.env, ANY, data)
    back = ops.upload(rig.env, ANY, address=NOR, length=4096)
    assert (back.alt, back.image.read(NOR, 4096)) == (2, data.read(NOR, 4096))
    erased = ops.erase(rig.env, ANY, address=NOR)
    assert (erased.alt, erased.erased_sectors) == (2, (NOR,))
    assert rig.board.memory(2).read(NOR, 16) == b"\xff" * 16


def test_the_named_alternate_wins_and_the_hint_names_the_right_one(rig: Rig) -> None:
    for verb in (ops.erase, ops.upload):
        with pytest.raises(PlanError) as wrong:
            verb(rig.env, ANY, alt=0, address=NOR)
        assert str(wrong.value) == "0x64000000 is not in Internal Flash (0x08000000..0x0807ffff)"
        assert wrong.value.hint == "0x64000000 is in NOR Flash : M29W128F: use -a 2"
    assert rig.backend.page_erases() == []


def test_erase_past_the_end_is_refused_not_shortened(rig: Rig) -> None:
    with pytest.raises(PlanError) as past:
        ops.erase(rig.env, ANY, address=0x0807F000, length=8192)
    assert str(past.value) == (
        "0x0807f000..0x08080fff runs past Internal Flash (0x08000000..0x0807ffff): nothing was "
        "erased"
    )
    assert past.value.hint is not None and "--length 0x1000" in past.value.hint
    assert rig.backend.page_erases() == []
    # the same range upload refuses too
    with pytest.raises(PlanError, match="is not all readable memory"):
        ops.upload(rig.env, ANY, address=0x0807F000, length=8192)
    # up to the very end is fine
    assert ops.erase(rig.env, ANY, address=0x0807F000, length=4096).erased_sectors == (
        0x0807F000,
        0x0807F800,
    )
