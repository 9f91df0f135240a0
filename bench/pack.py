"""Benchmark: ``dfuse pack`` and ``dfuse info`` on a 16 MB Intel HEX image (not part of the tests).

Builds a 16 MiB random image at 0x08000000 as Intel HEX with 32-byte records in a temporary
directory, then times

* the library (``build_dfuse`` + ``write``) in this process,
* the command line (``python -m pydfuse pack``/``info``) as a child process,
* Debian's ``dfuse-pack -i`` on the same file when it is installed and usable,

and prints MB/s, the speed-up over dfuse-pack (target: >= 5x) and peak memory relative to the
image size. Run: ``.venv/bin/python bench/pack.py [SIZE_MIB]``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydfuse.formats import DfuseFile, PackInput, build_dfuse

BASE_ADDRESS = 0x08000000
RECORD_BYTES = 32


def make_ihex(data: bytes, base: int) -> bytes:
    """Intel HEX text for ``data`` at ``base``: 32-byte data records, 04 records per 64 KiB."""
    lines = []
    high = None
    for offset in range(0, len(data), RECORD_BYTES):
        address = base + offset
        if address >> 16 != high:
            high = address >> 16
            record = bytes([2, 0, 0, 4, high >> 8, high & 0xFF])
            lines.append(":" + (record + bytes([-sum(record) & 0xFF])).hex().upper())
        chunk = data[offset : offset + RECORD_BYTES]
        record = bytes([len(chunk), (address >> 8) & 0xFF, address & 0xFF, 0]) + chunk
        lines.append(":" + (record + bytes([-sum(record) & 0xFF])).hex().upper())
    lines.append(":00000001FF")
    return ("\n".join(lines) + "\n").encode("ascii")


def timed(label: str, func: object, size: int) -> float:
    assert callable(func)
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:8.3f} s  {size / seconds / 1e6:8.1f} MB/s")
    return seconds


# The CLI runs in a child that reports its own peak RSS. ru_maxrss cannot be used for that:
# Linux carries the parent's high-water mark across fork+exec. VmHWM belongs to the new image.
CHILD = """
import sys
from pydfuse.cli.main import main
code = main(sys.argv[1:])
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print("peak-kib", line.split()[1], file=sys.stderr)
sys.exit(code)
"""
last_child_peak_mib = 0.0


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def run_cli(args: list[str], cwd: Path) -> None:
    """``dfuse ARGS`` in a child process; remembers its peak RSS."""
    global last_child_peak_mib
    result = run([sys.executable, "-c", CHILD, *args], cwd)
    if result.returncode != 0:
        raise SystemExit(f"dfuse {' '.join(args)} failed: {result.stderr.strip()}")
    peaks = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("peak")]
    last_child_peak_mib = int(peaks[0]) / 1024 if peaks else float("nan")


def bench_dfuse_pack(work: Path, hex_path: Path, ours_s: float, size: int) -> None:
    tool = shutil.which("dfuse-pack")
    if tool is None:
        print("dfuse-pack: not installed (Debian package dfu-util); no comparison")
        return
    start = time.perf_counter()
    result = run([tool, "-i", hex_path.name, "-D", "0x0483:0xdf11", "theirs.dfu"], work)
    seconds = time.perf_counter() - start
    if result.returncode != 0 or "could not be found" in result.stdout:
        reason = (result.stdout + result.stderr).strip().splitlines()[-1:]
        print(f"dfuse-pack -i: unusable here ({' '.join(reason)})")
        bench_dfuse_pack_bin(tool, work, ours_s, size)
        return
    print(
        f"{'dfuse-pack -i (Debian dfu-util)':<44} {seconds:8.3f} s  "
        f"{size / seconds / 1e6:8.1f} MB/s"
    )
    verdict = "meets" if seconds / ours_s >= 5 else "MISSES"
    print(
        f"speed-up of dfuse pack (CLI) over dfuse-pack: {seconds / ours_s:.1f}x "
        f"({verdict} the 5x target)"
    )
    theirs = DfuseFile.read(work / "theirs.dfu")
    ours = DfuseFile.read(work / "cli.dfu")
    print(f"same image as dfuse-pack: {theirs.image(0) == ours.image(0)}")


def bench_dfuse_pack_bin(tool: str, work: Path, ours_s: float, size: int) -> None:
    """Fallback comparison: dfuse-pack -b on the same bytes as a raw .bin. That skips HEX
    parsing entirely, so it is a lower bound for what dfuse-pack -i would take."""
    (work / "big.bin").write_bytes(DfuseFile.read(work / "cli.dfu").image(0).segments[0].data)
    start = time.perf_counter()
    result = run([tool, "-b", f"0x{BASE_ADDRESS:08x}:big.bin", "theirs-bin.dfu"], work)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        print(f"dfuse-pack -b failed too: {result.stdout.strip()} {result.stderr.strip()}")
        return
    print(
        f"{'dfuse-pack -b on the raw .bin (floor)':<44} {seconds:8.3f} s  "
        f"{size / seconds / 1e6:8.1f} MB/s"
    )
    print(
        f"dfuse pack from HEX vs dfuse-pack from BIN: {seconds / ours_s:.1f}x "
        "(dfuse-pack -i must also parse the HEX, so the real ratio is higher)"
    )


def bench_bincopy(hex_path: Path, ours_s: float, size: int) -> None:
    """How long bincopy alone takes to read the same HEX (what the fast path replaces)."""
    import bincopy

    binfile = bincopy.BinFile()
    text = hex_path.read_text()
    seconds = timed("bincopy.add_ihex alone (reference)", lambda: binfile.add_ihex(text), size)
    print(f"fast path gain over bincopy: {seconds / ours_s:.1f}x (whole dfuse pack vs parse only)")


def main() -> int:
    size = int(float(sys.argv[1]) * (1 << 20)) if len(sys.argv) > 1 else 16 << 20
    with tempfile.TemporaryDirectory(prefix="pydfuse-bench-") as tmp:
        work = Path(tmp)
        data = os.urandom(size)
        hex_path = work / "big.hex"
        hex_path.write_bytes(make_ihex(data, BASE_ADDRESS))
        hex_mb = hex_path.stat().st_size / 1e6
        print(
            f"image: {size / (1 << 20):.1f} MiB at 0x{BASE_ADDRESS:08x}; "
            f"HEX file {hex_mb:.1f} MB, {RECORD_BYTES}-byte records"
        )

        def api_pack() -> None:
            build_dfuse([PackInput(0, hex_path, "Internal Flash")]).write(work / "api.dfu")

        timed("library: build_dfuse + write", api_pack, size)
        assert DfuseFile.read(work / "api.dfu").image(0).segments[0].data == data
        timed("library: DfuseFile.read", lambda: DfuseFile.read(work / "api.dfu"), size)

        run_cli(["--version"], work)
        baseline = last_child_peak_mib
        cli_s = timed(
            "cli: dfuse pack (child process)",
            lambda: run_cli(["-q", "pack", "cli.dfu", "-t", "0=big.hex"], work),
            size,
        )
        pack_peak = last_child_peak_mib
        info_s = timed(
            "cli: dfuse info (child process)", lambda: run_cli(["info", "cli.dfu"], work), size
        )
        info_peak = last_child_peak_mib
        verdict = "well under" if info_s < 0.5 else "NOT well under"
        print(f"dfuse info: {info_s:.3f} s including interpreter start ({verdict} 1 s)")
        used = pack_peak - baseline
        print(
            f"peak RSS: dfuse pack {pack_peak:.0f} MiB, dfuse info {info_peak:.0f} MiB, "
            f"bare interpreter+imports {baseline:.0f} MiB"
        )
        print(
            f"dfuse pack above baseline: {used:.0f} MiB = {used * (1 << 20) / size:.1f}x the "
            f"image size (the HEX text alone is {hex_mb * 1e6 / size:.1f}x)"
        )
        bench_bincopy(hex_path, cli_s, size)
        bench_dfuse_pack(work, hex_path, cli_s, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
