"""Which option-byte family a DfuSe device has, from what it reports about itself (layer:
optionbytes; imports its siblings, ``pydfuse.layout`` and ``pydfuse.errors``).

A family is *known* only when exactly one table fits the option-byte alternate (address and
size), the internal flash (sector count) and the product string; otherwise the option bytes are
shown raw and ``set`` needs ``--family``. A wrong guess would put the RDP byte or the
write-protection bits in the wrong place, so ambiguity is never resolved silently.
"""

from __future__ import annotations

from pydfuse.errors import OptionBytesError
from pydfuse.layout import MemoryMap
from pydfuse.optionbytes.families import FAMILIES, get_family
from pydfuse.optionbytes.model import Family

__all__ = ["candidates", "choose_family"]


def _fits(family: Family, option: MemoryMap, flash: MemoryMap | None, product: str) -> bool:
    if len(option.regions) != 1:
        return False  # dual-bank blocks (G474, F42x) are not in the tables
    region = option.regions[0]
    sizes = family.sizes if family.detect_sizes is None else family.detect_sizes
    if region.address != family.option_address or region.size not in sizes:
        return False
    text = product.lower()
    if family.detect_products and not any(p.lower() in text for p in family.detect_products):
        return False
    if any(p.lower() in text for p in family.reject_products):
        return False
    limit = family.max_flash_sectors
    return not (limit is not None and flash is not None and len(flash.sectors) > limit)


def candidates(option: MemoryMap, flash: MemoryMap | None, product: str | None) -> list[Family]:
    """Every family whose table fits what the device reports."""
    return [f for f in FAMILIES.values() if _fits(f, option, flash, product or "")]


def choose_family(
    option: MemoryMap, flash: MemoryMap | None, product: str | None, name: str | None = None
) -> Family | None:
    """The device's family: ``name`` when given (checked against the alternate), else the one
    family that fits, else None (unknown)."""
    if name is None:
        found = candidates(option, flash, product)
        return found[0] if len(found) == 1 else None
    try:
        family = get_family(name)
    except KeyError as error:
        raise OptionBytesError(str(error.args[0])) from None
    region = option.regions[0]
    if region.address != family.option_address or region.size not in family.sizes:
        sizes = "/".join(str(s) for s in family.sizes)
        raise OptionBytesError(
            f"{family.title} keeps {sizes} option bytes at 0x{family.option_address:08X}; this "
            f"device's option bytes are {region.size} bytes at 0x{region.address:08X}",
            hint="that family does not fit this device; leave --family out to see the raw bytes",
        )
    return family
