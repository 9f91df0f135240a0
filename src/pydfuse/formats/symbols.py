"""Function names of an ELF file, to name the code addresses a run reports (layer: formats).

Imports pyelftools and ``pydfuse.errors``. Only function symbols (STT_FUNC) with a size count;
GCC's clone suffixes (``.constprop.0``, ``.isra.0``, ``.part.0``, ``.cold``) are dropped from
the names shown, so ``sum_depth.constprop.0`` reads ``sum_depth``. The Thumb bit of a
function's value is ignored (ARM ELF: bit 0 marks Thumb code, not the address).
"""

from __future__ import annotations

import bisect
import io
import re
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from pydfuse.errors import FormatError

__all__ = ["Symbols", "read_symbols"]

_CLONE = re.compile(r"(\.(constprop|isra|part|cold|lto_priv)(\.\d+)?)+$")


@dataclass(frozen=True, slots=True)
class Symbols:
    """Functions as sorted (start, end, name) triples."""

    functions: tuple[tuple[int, int, str], ...]

    def function_at(self, address: int) -> tuple[str, int] | None:
        """(name, offset into it) of the function holding ``address``, if any."""
        starts = [start for start, _, _ in self.functions]
        i = bisect.bisect_right(starts, address)
        # The nearest functions starting at or before ``address``; a few suffice (sizes of
        # functions sharing an address differ only for aliases and nested labels).
        for start, end, name in reversed(self.functions[max(i - 4, 0) : i]):
            if start <= address < end:
                return name, address - start
        return None

    def describe(self, address: int) -> str | None:
        """``main+0x1c`` (or ``main``) for ``address``, None outside every function."""
        found = self.function_at(address)
        if found is None:
            return None
        name, offset = found
        return f"{name}+0x{offset:x}" if offset else name

    def address_of(self, name: str) -> tuple[int, int] | None:
        """[start, end) of the function called ``name``."""
        for start, end, function in self.functions:
            if function == name:
                return start, end
        return None


def read_symbols(path: str | Path) -> Symbols:
    """The function symbols of the ELF file at ``path`` (empty for a stripped file)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise FormatError(
            f"cannot read {path}: {error.strerror or error}", path=str(path)
        ) from None
    if not data.startswith(b"\x7fELF"):
        raise FormatError(
            "not an ELF file: function names come from an ELF's symbol table",
            path=str(path),
            hint="give the .elf (or .axf/.out) the image was built from",
        )
    try:
        return _functions(ELFFile(io.BytesIO(data)))
    except (ELFError, ValueError, KeyError, IndexError, EOFError) as error:
        raise FormatError(f"not a valid ELF file: {error}", path=str(path)) from None


def _functions(elf: ELFFile) -> Symbols:
    found: dict[tuple[int, int], str] = {}
    for section in elf.iter_sections():
        if not isinstance(section, SymbolTableSection):
            continue
        for symbol in section.iter_symbols():
            if symbol["st_info"]["type"] != "STT_FUNC" or not symbol.name:
                continue
            start = int(symbol["st_value"]) & ~1
            size = int(symbol["st_size"])
            key = (start, start + max(size, 2))
            name = _CLONE.sub("", symbol.name)
            # Prefer the strong name at an address (Default_Handler over its weak aliases).
            if key not in found or symbol["st_info"]["bind"] == "STB_GLOBAL":
                found[key] = name
    return Symbols(tuple(sorted((lo, hi, name) for (lo, hi), name in found.items())))
