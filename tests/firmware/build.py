#!/usr/bin/env python3
"""Rebuild pydfuse's test firmware with Debian's gcc-arm-none-eabi and record what was built.

Usage: ``python3 tests/firmware/build.py`` (or ``make firmware``). Writes ``elf/*.elf`` and
``MANIFEST.json``: the toolchain's version, the SHA-256 of the sources (src/, ld/ and this
script, which holds the flags) and of every ELF. The ELFs are committed, so the test suite needs
no toolchain; tests/sim/test_firmware_sources.py checks that the committed ELFs belong to these
sources and, where the same compiler is installed, that a rebuild reproduces them byte for byte.

Standard library only, so it runs with any Python 3.10+.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CC = "arm-none-eabi-gcc"
FLAGS = (
    "-mcpu=cortex-m3",
    "-mthumb",
    "-Os",
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffreestanding",
    "-nostdlib",
    "-ffunction-sections",
    "-fdata-sections",
    "-Wl,--gc-sections",
    "-Wl,--build-id=none",
)
SOURCES = ("src/startup.c", "src/system.c", "src/clock.c", "src/main.c", "src/checks.c")
BEHIND_LOADER = "ld/STM32F103ZETX_DFU.ld"  # FLASH ORIGIN 0x08003000 (behind a 12 KB loader)
STANDALONE = "ld/STM32F103ZETX_FLASH.ld"  # FLASH ORIGIN 0x08000000 (CubeMX's default)
VECTOR_TABLE_SET = ("USER_VECT_TAB_ADDRESS", "VECT_TAB_OFFSET=0x3000u")

# name -> (linker script, -D defines, what it is for)
VARIANTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "app-vtor": (BEHIND_LOADER, VECTOR_TABLE_SET, "correct: VTOR = 0x08003000 in SystemInit"),
    "app-hal-default": (BEHIND_LOADER, (), "Cube's default: USER_VECT_TAB_ADDRESS not set"),
    "app-linked-0x08000000": (STANDALONE, (), "linked for 0x08000000, not for the loader"),
    "app-ram-fault": (
        BEHIND_LOADER,
        (*VECTOR_TABLE_SET, "RAM_SELFTEST_KB=96u"),
        "a RAM test past the 64 KB of SRAM: bus fault in ram_selftest()",
    ),
    "app-stack-overflow": (
        BEHIND_LOADER,
        (*VECTOR_TABLE_SET, "STACK_HUNGRY"),
        "a recursion that runs the stack out of SRAM",
    ),
    "app-erases-loader": (
        BEHIND_LOADER,
        (*VECTOR_TABLE_SET, "SETTINGS_PAGE=0x08000000u"),
        "erases a 'settings' page that is the bootloader's first page",
    ),
    "app-error-trap": (
        BEHIND_LOADER,
        (*VECTOR_TABLE_SET, "ERROR_TRAP"),
        "finds its settings page erased and ends in Error_Handler() with interrupts off",
    ),
    "app-64k": (
        BEHIND_LOADER,
        (*VECTOR_TABLE_SET, "BIG_TABLE"),
        "a 64 KB application that checksums a 62 KB table (benchmark)",
    ),
}


def source_files() -> list[Path]:
    """Every file the ELFs are built from, in a stable order."""
    files = sorted((HERE / "src").glob("*")) + sorted((HERE / "ld").glob("*.ld"))
    return [*files, HERE / "build.py"]


def sources_sha256() -> str:
    """One hash over the relative paths and contents of :func:`source_files`."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.relative_to(HERE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def toolchain_version(cc: str = CC) -> str | None:
    """The first line of ``cc --version``, or None when the compiler is not installed."""
    if shutil.which(cc) is None:
        return None
    out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0].strip()


def build_variant(name: str, out_dir: Path, cc: str = CC) -> Path:
    """Compile and link one variant into ``out_dir/<name>.elf`` (run from this folder, so the
    file names inside the ELF do not depend on where the checkout lives)."""
    script, defines, _ = VARIANTS[name]
    target = out_dir / f"{name}.elf"
    command = [cc, *FLAGS, "-T", script, *(f"-D{d}" for d in defines), *SOURCES, "-o", str(target)]
    subprocess.run(command, cwd=HERE, check=True)
    return target


def build_all(out_dir: Path, cc: str = CC) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return {name: build_variant(name, out_dir, cc) for name in VARIANTS}


def manifest(elves: dict[str, Path], version: str) -> dict[str, object]:
    return {
        "toolchain": version,
        "sources_sha256": sources_sha256(),
        "firmware": {
            name: {
                "elf": f"elf/{name}.elf",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "linker_script": VARIANTS[name][0],
                "defines": list(VARIANTS[name][1]),
                "purpose": VARIANTS[name][2],
            }
            for name, path in elves.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in a temporary folder "
        "and compare with the committed ELFs instead of replacing them",
    )
    args = parser.parse_args(argv)
    version = toolchain_version()
    if version is None:
        print(f"{CC} not found: apt-get install gcc-arm-none-eabi", file=sys.stderr)
        return 1
    if args.check:
        with tempfile.TemporaryDirectory(prefix="pydfuse-fw-") as tmp:
            elves = build_all(Path(tmp))
            differ = [
                n
                for n, p in elves.items()
                if p.read_bytes() != (HERE / "elf" / f"{n}.elf").read_bytes()
            ]
        for name in differ:
            print(f"{name}.elf differs from a rebuild", file=sys.stderr)
        return 1 if differ else 0
    elves = build_all(HERE / "elf")
    text = json.dumps(manifest(elves, version), indent=2, sort_keys=True) + "\n"
    (HERE / "MANIFEST.json").write_text(text, encoding="utf-8")
    for name, path in elves.items():
        print(f"{path.relative_to(HERE)}  {path.stat().st_size} bytes  {VARIANTS[name][2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
