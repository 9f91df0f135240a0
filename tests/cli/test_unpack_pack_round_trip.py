"""``dfuse unpack`` then ``dfuse pack --manifest`` gives back the very same file, byte for
byte, in every output format: element boundaries and order (HEX and S-record files merge
touching runs and sort them), target name fields with bytes after the NUL (ST's DFU File
Manager writes them), raw bTargetNamed values and the DFUImageSize convention are kept in the
manifest. A file with no targets is refused by unpack (as by check, map and flash) instead of
writing a manifest that pack then refuses. A manifest whose files no longer match its element
list (a HEX edited by hand) still packs, with a note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.formats import DfuseFile, DfuseTarget, Segment, read_dfu

Capsys = pytest.CaptureFixture[str]
CODE = bytes((i * 7 + 3) & 0xFF for i in range(0x900))
GARBAGE_NAME = b"ST...\x00:*\x02\xc4\x00*\x02".ljust(255, b"\x00")  # as in ST's Cube L4 files

FILES = {
    "touching": DfuseFile(
        (
            DfuseTarget(
                0,
                "Internal Flash",
                (Segment(0x08003000, CODE[:0x40]), Segment(0x08003040, CODE[0x40:])),
            ),
        )
    ),
    "reversed": DfuseFile(
        (
            DfuseTarget(
                0,
                "Internal Flash",
                (Segment(0x08003200, CODE[0x200:]), Segment(0x08003000, CODE[:0x200])),
            ),
        )
    ),
    "st-name-field": DfuseFile(
        (DfuseTarget(0, "ST...", (Segment(0x0800C000, CODE),), name_bytes=GARBAGE_NAME),)
    ),
    "named-2": DfuseFile((DfuseTarget(0, "x", (Segment(0x08003000, CODE),), named_value=2),)),
    "dfuse-pack-size": DfuseFile(
        (DfuseTarget(0, "Internal Flash", (Segment(0x08003000, CODE),)),),
        image_size_convention="len",
    ),
    "two-targets-one-alt": DfuseFile(
        (
            DfuseTarget(0, "a", (Segment(0x08004000, CODE),)),
            DfuseTarget(0, "a", (Segment(0x08003000, CODE[:0x100]),)),
            DfuseTarget(1, "SPI Flash", (Segment(0, CODE), Segment(0x900, CODE))),
        )
    ),
}


@pytest.mark.parametrize("fmt", ["hex", "srec", "bin"])
@pytest.mark.parametrize("name", sorted(FILES))
def test_unpack_then_pack_gives_the_same_bytes(
    tmp_path: Path, capsys: Capsys, name: str, fmt: str
) -> None:
    original = tmp_path / f"{name}.dfu"
    FILES[name].write(original)
    out = tmp_path / "out"
    assert main(["unpack", str(original), "-o", str(out), "--format", fmt, "-q"]) == ExitCode.OK
    again = tmp_path / "again.dfu"
    assert main(["pack", str(again), "--manifest", str(out / f"{name}.manifest.json"), "-q"]) == 0
    assert again.read_bytes() == original.read_bytes()
    assert capsys.readouterr().err == ""


def test_a_file_without_targets_is_refused_and_nothing_written(
    tmp_path: Path, capsys: Capsys
) -> None:
    empty = tmp_path / "empty.dfu"
    DfuseFile(()).write(empty)
    assert main(["unpack", str(empty), "-o", str(tmp_path / "out")]) == ExitCode.ERROR
    assert "no targets" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_hex_edited_after_unpack_still_packs_with_a_note(tmp_path: Path, capsys: Capsys) -> None:
    original = tmp_path / "touching.dfu"
    FILES["touching"].write(original)
    out = tmp_path / "out"
    assert main(["unpack", str(original), "-o", str(out), "-q"]) == ExitCode.OK
    manifest = json.loads((out / "touching.manifest.json").read_text())
    hex_file = out / manifest["targets"][0]["files"][0]["file"]
    hex_file.write_text(":0100000000FF\n" + hex_file.read_text())  # one byte added at 0
    again = tmp_path / "again.dfu"
    assert main(["pack", str(again), "--manifest", str(out / "touching.manifest.json")]) == 0
    assert "no longer match" in capsys.readouterr().err
    packed = read_dfu(again)
    assert isinstance(packed, DfuseFile)
    assert packed.targets[0].image.read(0x08003000, len(CODE)) == CODE
    assert packed.targets[0].image.read(0, 1) == b"\x00"
