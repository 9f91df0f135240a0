"""The file commands through the real entry point: pack, unpack, info, suffix."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import bincopy
import pytest

from pydfuse.cli.main import main
from pydfuse.formats import DfuseFile, Image, PlainDfuFile, dfu_crc, load_image, read_dfu


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory with an app.hex (two runs) and 32-byte a.bin / b.bin."""
    monkeypatch.chdir(tmp_path)
    binfile = bincopy.BinFile()
    binfile.add_binary(bytes(range(256)) * 2, address=0x08003000)
    binfile.add_binary(b"\x00\x50\x00\x20", address=0x08010000)
    (tmp_path / "app.hex").write_text(binfile.as_ihex())
    (tmp_path / "a.bin").write_bytes(bytes(range(32)))
    (tmp_path / "b.bin").write_bytes(bytes(range(32, 64)))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_pack_merges_alts_and_reads_back(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "pack", "out.dfu",
        "-t", "0:Internal Flash=app.hex",
        "-t", "1:SPI Flash=a.bin@0x0",
        "-t", "1=b.bin@4K",
        "--pid", "0xdf11", "--bcd-device", "0x0102",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        "wrote out.dfu: 2 target(s), 4 element(s), 580 B of data, 1.2 KiB file"
    )
    dfu = DfuseFile.read(workdir / "out.dfu")
    assert [(t.alt, t.name, len(t.elements)) for t in dfu.targets] == [
        (0, "Internal Flash", 2),
        (1, "SPI Flash", 2),
    ]
    assert dfu.bcd_device == 0x0102
    assert dfu.image(0) == load_image(workdir / "app.hex")
    assert dfu.image(1) == Image.from_segments(
        [(0, bytes(range(32))), (0x1000, bytes(range(32, 64)))]
    )


def test_pack_json_and_quiet(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pack", "o.dfu", "-t", "0=a.bin@0x08000000", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["output"] == "o.dfu"
    assert summary["targets"] == [
        {
            "alt": 0,
            "name": "ST...",
            "named": True,
            "size": 32,
            "elements": [{"address": 0x08000000, "end": 0x08000020, "size": 32}],
        }
    ]
    assert run(capsys, "--quiet", "pack", "q.dfu", "-t", "0=a.bin@0") == (0, "", "")
    assert (workdir / "q.dfu").exists()


def test_pack_missing_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pack", "out.dfu", "-t", "0=nope.hex")
    assert (code, out, err) == (1, "", "error: nope.hex: no such file\n")
    assert not (workdir / "out.dfu").exists()


def test_pack_overlap_leaves_nothing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "out.dfu").write_bytes(b"previous")
    code, out, err = run(capsys, "pack", "out.dfu", "-t", "0=a.bin@0x0", "-t", "0=b.bin@0x10")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "error: b.bin overlaps a.bin in alt 0: overlapping data at 0x00000010 (the previous "
        "run ends at 0x00000020)"
    )
    assert (workdir / "out.dfu").read_bytes() == b"previous"
    assert sorted(p.name for p in workdir.iterdir()) == ["a.bin", "app.hex", "b.bin", "out.dfu"]


def test_pack_bin_without_address(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "pack", "out.dfu", "-t", "0=a.bin")
    assert code == 1
    assert err.splitlines()[0] == "error: a.bin: a raw binary file needs a load address"
    assert not (workdir / "out.dfu").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "app.hex",
            "'app.hex' is not ALT:NAME=FILE[@ADDR] or ALT=FILE[@ADDR] "
            '(example: 0:"Internal Flash"=app.hex)',
        ),
        ("300=app.hex", "'300=app.hex': alternate setting 300 is above 255"),
        ("0=a.bin@0x1FFFFFFFF", "'0x1FFFFFFFF' is too large (must be below 0x100000000)"),
    ],
)
def test_pack_bad_target_syntax(
    workdir: Path, capsys: pytest.CaptureFixture[str], spec: str, message: str
) -> None:
    code, _, err = run(capsys, "pack", "out.dfu", "-t", spec)
    assert code == 2
    assert f"Error: Invalid value for '-t' / '--target': {message}" in err.splitlines()
    assert not (workdir / "out.dfu").exists()


def make_dfu(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "pack", "x.dfu", "-t", "0:Flash=app.hex", "-t", "2=a.bin@0")[0] == 0
    return workdir / "x.dfu"


def test_info_truncated_and_bad_crc(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dfu(workdir, capsys).read_bytes()
    (workdir / "t.dfu").write_bytes(data[:300])
    code, out, err = run(capsys, "info", "t.dfu")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "error: t.dfu, offset 284 (0x11c): no DFU suffix (the file does not end with the 'UFD' "
        "signature)"
    )
    bad = bytearray(data)
    bad[400] ^= 0xFF
    (workdir / "c.dfu").write_bytes(bad)
    crc = dfu_crc(bad[:-4])
    code, out, err = run(capsys, "info", "c.dfu")
    assert code == 1
    stored = struct.unpack("<I", data[-4:])[0]
    assert err.splitlines()[0] == (
        f"error: c.dfu, offset {len(data) - 4} (0x{len(data) - 4:x}): DFU suffix CRC mismatch: "
        f"file says 0x{stored:08x}, contents give 0x{crc:08x}"
    )
    code, _, err = run(capsys, "info", "missing.dfu")
    assert (code, err) == (1, "error: missing.dfu: no such file\n")


def test_info_text_and_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_dfu(workdir, capsys)
    code, out, _ = run(capsys, "info", "x.dfu")
    assert code == 0
    assert "suffix: VID 0x0483  PID 0xdf11  bcdDevice 0xffff  bcdDFU 0x011a" in out
    assert "0x08003000" in out and "0x080031ff" in out and "Flash" in out
    code, out, _ = run(capsys, "info", "x.dfu", "--json")
    info = json.loads(out)
    assert info["kind"] == "dfuse" and info["image_size_convention"] == "len-16"
    assert [t["alt"] for t in info["targets"]] == [0, 2]
    assert info["suffix"]["crc_ok"] is True
    code, out, _ = run(capsys, "info", "app.hex", "--json")
    assert json.loads(out)["segments"][0] == {"address": 0x08003000, "end": 0x08003200, "size": 512}
    code, out, _ = run(capsys, "info", "a.bin", "--address", "16K", "--json")
    assert (json.loads(out)["start"], json.loads(out)["size"]) == (0x4000, 32)


def test_suffix_add_check_remove(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = (workdir / "a.bin").read_bytes()
    assert run(capsys, "suffix", "add", "a.bin", "--vid", "0x1234", "--pid", "0x5678")[0] == 0
    plain = PlainDfuFile.read(workdir / "a.bin")
    assert (plain.payload, plain.suffix.vid, plain.suffix.pid) == (original, 0x1234, 0x5678)
    code, out, _ = run(capsys, "suffix", "check", "a.bin")
    assert code == 0 and "VID 0x1234, PID 0x5678" in out and "(ok)" in out
    code, out, _ = run(capsys, "info", "a.bin", "--json")
    assert json.loads(out)["kind"] == "plain-dfu"
    code, _, err = run(capsys, "suffix", "add", "a.bin")
    assert (code, err.splitlines()[0]) == (1, "error: a.bin: the file already has a DFU suffix")
    assert run(capsys, "suffix", "remove", "a.bin")[0] == 0
    assert (workdir / "a.bin").read_bytes() == original
    code, _, err = run(capsys, "suffix", "check", "a.bin")
    assert code == 1 and "no DFU suffix" in err.splitlines()[0]


def test_suffix_check_bad_crc_and_dfuse_default(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(make_dfu(workdir, capsys).read_bytes())
    (workdir / "nosuffix.dfu").write_bytes(data[:-16])
    assert (
        run(capsys, "suffix", "add", "nosuffix.dfu", "--vid", "0x0483", "--pid", "0xdf11")[0] == 0
    )
    assert (workdir / "nosuffix.dfu").read_bytes() == data  # bcdDFU 0x011A chosen for DfuSe
    data[-1] ^= 1
    (workdir / "x.dfu").write_bytes(data)
    code, out, err = run(capsys, "suffix", "check", "x.dfu")
    assert code == 1 and "(BAD)" in out and "DFU suffix CRC mismatch" in err


def test_unpack_hex_and_bin(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_dfu(workdir, capsys)
    code, out, _ = run(capsys, "unpack", "x.dfu", "-o", "out")
    assert code == 0
    assert sorted(p.name for p in (workdir / "out").iterdir()) == [
        "alt0-Flash.hex",
        "alt2-ST.hex",
        "x.manifest.json",
    ]
    assert load_image(workdir / "out" / "alt0-Flash.hex") == load_image(workdir / "app.hex")
    code, out, _ = run(capsys, "unpack", "x.dfu", "-o", "bins", "--format", "bin", "--json")
    files = json.loads(out)["files"]
    assert [(Path(f["path"]).name, f["alt"], f["target"], f["address"]) for f in files] == [
        ("alt0-Flash-0x08003000.bin", 0, "Flash", 0x08003000),
        ("alt0-Flash-0x08010000.bin", 0, "Flash", 0x08010000),
        ("alt2-ST-0x00000000.bin", 2, "ST...", 0),
    ]
    assert Path(files[1]["path"]).read_bytes() == b"\x00\x50\x00\x20"
    code, _, err = run(capsys, "unpack", "app.hex", "-o", "z")
    assert code == 1 and not (workdir / "z").exists()
    assert err.splitlines()[0] == (
        "error: app.hex: not a DFU file: it neither starts with 'DfuSe' nor ends with a DFU suffix"
    )
    assert isinstance(read_dfu(workdir / "x.dfu"), DfuseFile)


def test_unpack_plain_dfu(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    PlainDfuFile(b"firmware").write(workdir / "fw.dfu")
    code, out, _ = run(capsys, "unpack", "fw.dfu", "-o", "p")
    assert code == 0 and out == "wrote p/fw-payload.bin (8 B, payload)\n"
    assert (workdir / "p" / "fw-payload.bin").read_bytes() == b"firmware"
