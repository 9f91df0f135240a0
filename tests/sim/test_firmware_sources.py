"""The committed test firmware belongs to its sources (tests/firmware/MANIFEST.json).

Editing a C file or a linker script without rebuilding (python3 tests/firmware/build.py, or
make firmware) fails here. Where the same gcc-arm-none-eabi is installed, a rebuild must give
the committed ELFs byte for byte (the build is deterministic: no debug paths, no build ID).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from support.firmware import FIRMWARE, build_script

MANIFEST = json.loads((FIRMWARE / "MANIFEST.json").read_text(encoding="utf-8"))


def test_recorded_source_hash_matches_the_sources() -> None:
    assert build_script().sources_sha256() == MANIFEST["sources_sha256"], (
        "tests/firmware sources changed since the ELFs were built: run "
        "python3 tests/firmware/build.py and commit the ELFs and MANIFEST.json"
    )


def test_every_variant_has_its_committed_elf_with_the_recorded_hash() -> None:
    build = build_script()
    assert set(MANIFEST["firmware"]) == set(build.VARIANTS)
    for name, entry in MANIFEST["firmware"].items():
        data = (FIRMWARE / entry["elf"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name}.elf was changed"


def test_a_rebuild_reproduces_the_committed_elfs(tmp_path: Path) -> None:
    build = build_script()
    version = build.toolchain_version()
    if version is None:
        pytest.skip("gcc-arm-none-eabi is not installed (make firmware-tools installs it)")
    if version != MANIFEST["toolchain"]:
        pytest.skip(f"the ELFs were built with {MANIFEST['toolchain']!r}, this is {version!r}")
    for name, path in build.build_all(tmp_path).items():
        committed = FIRMWARE / MANIFEST["firmware"][name]["elf"]
        assert path.read_bytes() == committed.read_bytes(), f"{name}.elf differs from a rebuild"
