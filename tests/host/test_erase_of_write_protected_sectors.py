"""``erase`` never erases option bytes on their own, and never reports erasing write-protected
sectors: the ROM ignores such erases without an error (AN3156 §5.3 note) and refuses a mass
erase while any sector is protected (RM0090 §3.7.4), so the host refuses first, naming the
sectors and the way out."""

from __future__ import annotations

import pytest

from pydfuse.errors import PlanError
from pydfuse.ops import DeviceSelector, erase, set_option_bytes
from support.boards import make_rig, rom_with_erasable_options

ANY = DeviceSelector()
F405 = "write-protection"  # SPRMOD reads 1: unused on the F405/407 (RM0090 Table 16)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"address": 0x08000000}, "sector 0 (0x08000000-0x08003fff)"),
        ({"address": 0x08000000, "length": 0x8000}, "sector 1 (0x08004000-0x08007fff)"),
        ({}, "sector 1"),  # every erasable sector
        ({"mass": True}, "sector 0"),
    ],
)
def test_erase_refuses_write_protected_sectors_before_erasing_anything(
    kwargs: dict[str, object], named: str
) -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08000000, b"keep")
    set_option_bytes(rig.env, ANY, ["wrp=0-1"], wrp_mode=F405)
    erases = len(rig.backend.page_erases())
    with pytest.raises(PlanError) as info:
        erase(rig.env, ANY, alt=0, **kwargs)  # type: ignore[arg-type]
    assert named in str(info.value)
    assert "nothing was erased" in str(info.value)
    assert (info.value.hint or "").startswith("lift the protection first: dfuse option-bytes set")
    assert "--wrp-mode write-protection" in (info.value.hint or "")  # SPRMOD reads 1 here
    assert len(rig.backend.page_erases()) == erases and rig.backend.commands(0x41, 1) == []
    assert rig.board.memory(0).read(0x08000000, 4) == b"keep"


def test_erase_of_unprotected_sectors_still_works_beside_protected_ones() -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08008000, b"gone")
    set_option_bytes(rig.env, ANY, ["wrp=0-1"], wrp_mode=F405)
    result = erase(rig.env, ANY, alt=0, address=0x08008000)
    assert result.erased_sectors == (0x08008000,)
    assert rig.board.memory(0).read(0x08008000, 4) == b"\xff" * 4


@pytest.mark.parametrize("kwargs", [{"address": 0x1FFFF800}, {}, {"mass": True}])
def test_option_bytes_are_never_erased_on_their_own(kwargs: dict[str, object]) -> None:
    # an erased RDP byte is read protection (RM0091 §3.3.1: level 1 "is the default protection
    # level when RDP option byte is erased"; F1: anything but 0xA5)
    rig = make_rig(rom_with_erasable_options())
    with pytest.raises(PlanError, match="read protection") as info:
        erase(rig.env, ANY, alt=1, **kwargs)  # type: ignore[arg-type]
    assert "dfuse option-bytes set" in (info.value.hint or "")
    assert rig.backend.commands(0x41) == []
    rig.board.reset()
    assert rig.board.rdp_level == 0
