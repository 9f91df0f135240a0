"""Profiles and clocks: the data others import must match the spec digest."""

from __future__ import annotations

import pytest

from pydfuse.sim.clock import VirtualClock
from pydfuse.sim.profiles import PROFILES, get_profile


def test_known_profiles_present() -> None:
    assert {"stm3210e-eval", "stm3210b-eval", "stm32f4-rom", "plain-dfu"} <= set(PROFILES)


def test_get_profile_unknown_lists_names() -> None:
    with pytest.raises(KeyError, match="stm3210e-eval"):
        get_profile("nope")


def test_e_eval_strings_byte_exact() -> None:
    """§3.4: text, descriptor lengths and trailing NUL counts."""
    p = get_profile("stm3210e-eval")
    expected = [
        ("@Internal Flash  /0x08000000/06*002Ka,250*002Kg", 98, 1),
        ("@SPI Flash : M25P64/0x00000000/128*64Kg", 98, 9),
        ("@NOR Flash : M29W128F/0x64000000/0256*64Kg", 106, 10),
    ]
    got = [
        (a.layout, a.descriptor_length, (a.descriptor_length - 2) // 2 - len(a.layout))
        for a in p.alternates
    ]
    assert got == expected


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_geometry_fits_descriptor(name: str) -> None:
    p = get_profile(name)
    for alt in p.alternates:
        assert alt.descriptor_length >= 2 + 2 * len(alt.layout)
        for group in alt.sectors if alt.erasable else ():
            # every sector size used has an erase time (F4 sectors differ, §5.5)
            assert group.size in alt.timing.erase_sector_ms


def test_virtual_clock_advances_only_on_demand() -> None:
    clock = VirtualClock()
    assert clock.monotonic() == 0.0
    clock.sleep(0.25)
    assert clock.monotonic() == 0.25
    clock.advance_to(0.1)  # never backwards
    assert clock.monotonic() == 0.25
    clock.advance_to(2.0)
    assert clock.monotonic() == 2.0
    with pytest.raises(ValueError):
        clock.sleep(-1)
