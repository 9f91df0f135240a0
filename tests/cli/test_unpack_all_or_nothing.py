"""``dfuse unpack`` never loses data: unique names, never its own input, all files or none, a
JSON row per file with its target, and a manifest from which ``pack --manifest`` rebuilds the
file with its target names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.formats import DfuseFile, DfuseTarget, Image, Segment, read_dfu

Capsys = pytest.CaptureFixture[str]


def _tricky(path: Path) -> DfuseFile:
    """Targets whose natural names collide: 'a-1' and two 'a' for alt 0, 'A' for alt 0 (case
    only), and in alt 1 two elements at one address."""
    dfu = DfuseFile(
        (
            DfuseTarget(0, "a-1", (Segment(0x08003000, b"\x01" * 64),)),
            DfuseTarget(0, "a", (Segment(0x08004000, b"\x02" * 64),)),
            DfuseTarget(0, "a", (Segment(0x08005000, b"\x03" * 64),)),
            DfuseTarget(0, "A", (Segment(0x08006000, b"\x04" * 64),)),
            DfuseTarget(
                1, "SPI Flash", (Segment(0x1000, b"\x05" * 32), Segment(0x1000, b"\x06" * 32))
            ),
        ),
        vid=0x1234,
        pid=0x5678,
        bcd_device=0x0200,
    )
    dfu.write(path)
    return dfu


def _unpack(capsys: Capsys, *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["unpack", *args, "--json"]) == ExitCode.OK
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["hex", "srec", "bin"])
def test_names_are_unique_and_pack_rebuilds_the_targets(
    tmp_path: Path, capsys: Capsys, fmt: str
) -> None:
    original = _tricky(tmp_path / "fw.dfu")
    out = tmp_path / "out"
    result = _unpack(capsys, str(tmp_path / "fw.dfu"), "-o", str(out), "--format", fmt)
    names = [Path(row["path"]).name for row in result["files"]]
    assert len({n.lower() for n in names}) == len(names)  # no two files share a name
    assert {(row["alt"], row["target"]) for row in result["files"]} == {
        (0, "a-1"),
        (0, "a"),
        (0, "A"),
        (1, "SPI Flash"),
    }
    if fmt != "bin":  # the overlapping elements of alt 1 went out one .bin each, said so
        assert any("overlap" in note for note in result["notes"])
    rebuilt_path = tmp_path / "again.dfu"
    assert main(["pack", str(rebuilt_path), "--manifest", result["manifest"], "-q"]) == 0
    rebuilt = read_dfu(rebuilt_path)
    assert isinstance(rebuilt, DfuseFile)
    assert [(t.alt, t.name, t.elements) for t in rebuilt.targets] == [
        (t.alt, t.name, t.elements) for t in original.targets
    ]
    assert (rebuilt.vid, rebuilt.pid, rebuilt.bcd_device) == (0x1234, 0x5678, 0x0200)


def test_unpack_never_overwrites_its_own_input(tmp_path: Path, capsys: Capsys) -> None:
    # a DfuSe file that happens to be named like one of the outputs
    source = tmp_path / "alt0-Flash.hex"
    DfuseFile((DfuseTarget.from_image(0, Image.from_segments([(0, b"x")]), "Flash"),)).write(source)
    before = source.read_bytes()
    assert main(["unpack", str(source), "-o", str(tmp_path)]) == ExitCode.ERROR
    assert "would overwrite its own input" in capsys.readouterr().err
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alt0-Flash.hex"]


def test_a_failure_leaves_no_new_or_replaced_file(tmp_path: Path, capsys: Capsys) -> None:
    _tricky(tmp_path / "fw.dfu")
    out = tmp_path / "out"
    out.mkdir()
    (out / "alt0-a.hex").write_text("my old file\n")
    (out / "alt1-SPI_Flash-0x00001000.bin").mkdir()  # one output cannot be written
    before = sorted(p.name for p in out.iterdir())
    assert main(["unpack", str(tmp_path / "fw.dfu"), "-o", str(out)]) == ExitCode.ERROR
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "alt0-a.hex").read_text() == "my old file\n"


def test_a_failure_removes_the_folder_it_made(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tricky(tmp_path / "fw.dfu")
    real_replace = os.replace
    calls: list[int] = []

    def fail_third(src: str | Path, dst: str | Path) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_third)
    new = tmp_path / "new" / "deeper"
    assert main(["unpack", str(tmp_path / "fw.dfu"), "-o", str(new)]) == ExitCode.ERROR
    assert "No space left on device" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fw.dfu"]
