"""A family is recognised from what the device reports only when exactly one table fits for
sure; a block another chip shares is shown raw (a wrong table puts RDP and WRP in the wrong
place), and can still be decoded when the user names the family."""

from __future__ import annotations

import pytest

from pydfuse.errors import OptionBytesError
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.optionbytes import candidates, choose_family

ROM = "STM32  BOOTLOADER"
F4_FLASH = parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
F0_FLASH = parse_layout("@Internal Flash  /0x08000000/064*0002Kg")
L4_FLASH = parse_layout("@Internal Flash  /0x08000000/512*02Kg")


@pytest.mark.parametrize(
    ("option", "flash", "product", "family"),
    [
        ("@Option Bytes  /0x1FFFC000/01*016 e", F4_FLASH, ROM, "stm32f2-f4"),
        ("@Option Bytes  /0x1FFFF800/01*016 e", F0_FLASH, ROM, "stm32f0"),
        ("@Option Bytes  /0x1FFFF800/01*016 e", None, "STM32 0x418 DFU Bootloader", "stm32f1-cl"),
        ("@Option Bytes  /0x1FFF7800/01*048 e", L4_FLASH, ROM, "stm32g4"),
    ],
)
def test_one_fitting_table_is_recognised(
    option: str, flash: MemoryMap | None, product: str, family: str
) -> None:
    assert [f.name for f in candidates(parse_layout(option), flash, product)] == [family]
    chosen = choose_family(parse_layout(option), flash, product)
    assert chosen is not None and chosen.name == family


def test_an_stm32l4_option_block_is_not_taken_for_a_g4() -> None:
    # an L4 ROM (public dfu-util log): 40 bytes at 0x1FFF7800, OPTR..WRP1BR, other OPTR bits
    option = parse_layout("@Option Bytes  /0x1FFF7800/01*040 e")
    assert candidates(option, L4_FLASH, ROM) == []
    assert choose_family(option, L4_FLASH, ROM) is None
    named = choose_family(option, L4_FLASH, ROM, "stm32g4")  # the user knows it is a G4
    assert named is not None and named.name == "stm32g4"


def test_dual_bank_blocks_are_not_in_the_tables() -> None:
    g474 = parse_layout("@Option Bytes   /0x1FFF7800/01*048 e/0x1FFFF800/01*048 e")
    assert choose_family(g474, None, ROM) is None
    with pytest.raises(OptionBytesError):
        choose_family(parse_layout("@Option Bytes  /0x1FFFC000/01*016 e"), None, ROM, "stm32f0")
