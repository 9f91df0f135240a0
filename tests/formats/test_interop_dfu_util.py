"""Interoperability with Debian's dfu-util tools (dfu-suffix, dfuse-pack) and golden files.

The tool tests skip with a reason when the tools are missing (``make interop-tools``).
dfuse-pack writes DFUImageSize including the suffix (§4.2, §4.9), bcdDevice 0 and "ST...".
"""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import bincopy
import pytest

from pydfuse.errors import ChecksumError
from pydfuse.formats import (
    DfuseFile,
    DfuseTarget,
    DfuSuffix,
    Image,
    PackInput,
    PlainDfuFile,
    Segment,
    build_dfuse,
    load_image,
    read_dfu,
)

DATA = Path(__file__).resolve().parent.parent / "data"
DFU_SUFFIX = shutil.which("dfu-suffix")
DFUSE_PACK = shutil.which("dfuse-pack")
needs_dfu_suffix = pytest.mark.skipif(
    DFU_SUFFIX is None, reason="dfu-suffix (Debian package dfu-util) is not installed"
)
needs_dfuse_pack = pytest.mark.skipif(
    DFUSE_PACK is None, reason="dfuse-pack (Debian package dfu-util) is not installed"
)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def our_files(tmp_path: Path) -> list[Path]:
    rng = random.Random(7)
    models = [
        DfuseFile((DfuseTarget(0, "ST...", (Segment(0x08003000, b"\x00\x50\x00\x20"),)),)),
        DfuseFile(
            (
                DfuseTarget(0, "Internal Flash", (Segment(0x08000000, rng.randbytes(3000)),)),
                DfuseTarget(1, "SPI Flash", (Segment(0, rng.randbytes(77)),)),
            ),
            pid=0,
            bcd_device=0x0200,
        ),
        DfuseFile.read(DATA / "formats_st_quirks.dfu"),
    ]
    paths = []
    for index, model in enumerate(models):
        paths.append(tmp_path / f"ours{index}.dfu")
        model.write(paths[-1])
    paths.append(tmp_path / "plain.bin")
    PlainDfuFile(rng.randbytes(1000), DfuSuffix(0x0100, 0x1234, 0x5678, 0x0100)).write(paths[-1])
    return paths


@needs_dfu_suffix
def test_dfu_suffix_accepts_what_we_write(tmp_path: Path) -> None:
    for path in our_files(tmp_path):
        result = run(DFU_SUFFIX or "", "-c", path)
        assert result.returncode == 0, result.stderr
        parsed = read_dfu(path)
        crc = int.from_bytes(path.read_bytes()[-4:], "little")
        assert f"CRC:\t\t0x{crc:08X}" in result.stdout
        assert f"Vendor ID:\t0x{parsed.suffix.vid:04X}" in result.stdout


@needs_dfu_suffix
def test_dfu_suffix_add_matches_ours(tmp_path: Path) -> None:
    payload = random.Random(3).randbytes(517)
    theirs = tmp_path / "theirs.bin"
    theirs.write_bytes(payload)
    result = run(DFU_SUFFIX or "", "-a", theirs, "-v", "0x0483", "-p", "0xdf11", "-d", "0x2201")
    assert result.returncode == 0, result.stderr
    ours = PlainDfuFile(payload, DfuSuffix(0x2201, 0xDF11, 0x0483, 0x0100)).to_bytes()
    assert theirs.read_bytes() == ours


@needs_dfuse_pack
def test_dfuse_pack_bin_multi_alt(tmp_path: Path) -> None:
    rng = random.Random(11)
    blobs = {name: rng.randbytes(size) for name, size in (("a", 999), ("b", 64), ("c", 10))}
    for name, blob in blobs.items():
        (tmp_path / f"{name}.bin").write_bytes(blob)
    out = tmp_path / "theirs.dfu"
    result = run(
        DFUSE_PACK or "",
        "-b", "0x08000000@0:a.bin",
        "-b", "0x0@1:b.bin",
        "-b", "0x2000@1:c.bin",
        "-D", "0x0483:0xdf11",
        out,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = DfuseFile.read(out)
    assert parsed.image_size_convention == "len"  # dfuse-pack counts the suffix (§4.2)
    assert [t.alt for t in parsed.targets] == [0, 1]
    assert parsed.image(0) == Image.from_segments([(0x08000000, blobs["a"])])
    assert parsed.image(1) == Image.from_segments([(0, blobs["b"]), (0x2000, blobs["c"])])
    assert parsed.to_bytes() == out.read_bytes()
    ours = build_dfuse(
        [
            PackInput(0, tmp_path / "a.bin", address=0x08000000),
            PackInput(1, tmp_path / "b.bin", address=0),
            PackInput(1, tmp_path / "c.bin", address=0x2000),
        ],
        bcd_device=0,
    )
    # Same content; only DFUImageSize (bytes 6..9) and hence the CRC differ.
    assert replace(parsed, image_size_convention="len-16") == ours


@needs_dfuse_pack
def test_dfuse_pack_ihex(tmp_path: Path) -> None:
    binfile = bincopy.BinFile()
    binfile.add_binary(random.Random(5).randbytes(2000), address=0x08000000)
    binfile.add_binary(b"\x01\x02\x03", address=0x08004000)
    hex_path = tmp_path / "x.hex"
    hex_path.write_text(binfile.as_ihex())
    out = tmp_path / "theirs.dfu"
    result = run(DFUSE_PACK or "", "-i", hex_path, "-D", "0x0483:0xdf11", out)
    if "IntelHex python module could not be found" in result.stdout:
        pytest.skip("dfuse-pack -i needs the python3 intelhex module (Debian python3-intelhex)")
    assert result.returncode == 0, result.stdout + result.stderr
    assert DfuseFile.read(out).image(0) == load_image(hex_path)


@needs_dfuse_pack
def test_dfuse_pack_dumps_what_we_write(tmp_path: Path) -> None:
    for path in our_files(tmp_path)[:3]:
        result = run(DFUSE_PACK or "", "-d", path.name, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        parsed = DfuseFile.read(path)
        for t, target in enumerate(parsed.targets):
            for e, element in enumerate(target.elements):
                dumped = tmp_path / f"{path.name}.target{t}.image{e}.bin"
                assert dumped.read_bytes() == element.data


def test_golden_dfuse_pack_files() -> None:
    multi = DfuseFile.read(DATA / "formats_dfusepack_multi.dfu")
    assert multi.image_size_convention == "len"
    assert (multi.vid, multi.pid, multi.bcd_device) == (0x0483, 0xDF11, 0)
    assert multi.image(0) == load_image(DATA / "formats_boot.bin", address=0x08000000)
    spi = load_image(DATA / "formats_spi.bin", address=0)
    boot_at_4k = load_image(DATA / "formats_boot.bin", address=0x1000)
    assert multi.image(1) == spi.merged_with(boot_at_4k)
    s19 = DfuseFile.read(DATA / "formats_dfusepack_s19.dfu")
    assert s19.targets[0].name == "demo-app"  # dfuse-pack names the target after the S0 text
    assert s19.image(0) == load_image(DATA / "formats_app.s19")
    for name in ("formats_dfusepack_multi.dfu", "formats_dfusepack_s19.dfu"):
        assert DfuseFile.read(DATA / name).to_bytes() == (DATA / name).read_bytes()


def test_golden_files_of_ours() -> None:
    ours = build_dfuse(
        [
            PackInput(0, DATA / "formats_app.hex", "Internal Flash"),
            PackInput(1, DATA / "formats_spi.bin", "SPI Flash", 0),
            PackInput(1, DATA / "formats_boot.bin", None, 0x1000),
        ]
    )
    assert ours.to_bytes() == (DATA / "formats_ours_multi.dfu").read_bytes()
    quirks = (DATA / "formats_st_quirks.dfu").read_bytes()
    parsed = DfuseFile.read(DATA / "formats_st_quirks.dfu")
    assert parsed.pid == 0 and len(parsed.targets[0].elements) == 9
    assert parsed.to_bytes() == quirks
    plain = PlainDfuFile.read(DATA / "formats_ours_plain.bin")
    assert plain.to_bytes() == (DATA / "formats_dfusuffix_plain.bin").read_bytes()
    assert plain.payload == (DATA / "formats_boot.bin").read_bytes()


@needs_dfu_suffix
def test_dfu_suffix_and_we_agree_on_a_bad_crc(tmp_path: Path) -> None:
    path = our_files(tmp_path)[1]
    data = bytearray(path.read_bytes())
    data[300] ^= 0x40
    path.write_bytes(data)
    result = run(DFU_SUFFIX or "", "-c", path)
    assert result.returncode != 0
    assert "DFU suffix CRC does not match" in result.stderr
    with pytest.raises(ChecksumError):
        read_dfu(path)
