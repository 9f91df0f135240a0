"""The test firmware under tests/firmware: paths, images and symbols of the committed ELFs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from pydfuse.formats import Image, load_image
from pydfuse.formats.symbols import Symbols, read_symbols

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
APP = 0x08003000


def elf_path(name: str) -> Path:
    """``tests/firmware/elf/<name>.elf`` (e.g. ``app-vtor``)."""
    return FIRMWARE / "elf" / f"{name}.elf"


def elf_image(name: str) -> Image:
    return load_image(elf_path(name))


def elf_symbols(name: str) -> Symbols:
    return read_symbols(elf_path(name))


def function_range(name: str, function: str) -> tuple[int, int]:
    """[start, end) of ``function`` in the ELF ``name``."""
    found = elf_symbols(name).address_of(function)
    assert found is not None, f"{function} not in {name}.elf"
    return found


def build_script() -> ModuleType:
    """tests/firmware/build.py as a module (its hashing and variant list)."""
    spec = importlib.util.spec_from_file_location("firmware_build", FIRMWARE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
