"""``make demo``: the whole update chain on the virtual STM3210E-EVAL (layer: above cli).

Builds a small application linked for 0x08003000 (behind the 12 KB bootloader) plus an SPI-flash
and a NOR-flash image, packs them into one .dfu, checks it, shows the pre-flight check catching an
image linked for the wrong address, flashes the .dfu in one update on the virtual board, verifies,
leaves DFU mode, and shows the board running the application from 0x08003000. Then it goes back
into DFU mode, reads every memory back into a second .dfu to compare, and leaves again. Every
step is a real ``dfuse`` command line, printed before it runs.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from pydfuse.cli.main import main as dfuse
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import DfuseFile, save_image

PROFILE = "stm3210e-eval"


def _run(args: list[str], *, expect: int = 0) -> None:
    print(f"\n$ dfuse {shlex.join(args)}", flush=True)
    code = dfuse(args)
    sys.stdout.flush()
    if code != expect:
        raise SystemExit(f"demo: expected exit code {expect}, got {code}")
    if expect:
        print(f"(exit code {code}, as expected: nothing was written)")


def _make_inputs(out: Path) -> dict[str, Path]:
    files = {
        "app": out / "app.hex",
        "spi": out / "spi-assets.bin",
        "nor": out / "nor-data.bin",
        "bad": out / "app-linked-for-0x08000000.hex",
    }
    save_image(build_demo_app(link_address=0x08003000, size=24 * 1024), files["app"])
    save_image(build_data_blob(0x00000000, 160 * 1024, seed=7), files["spi"])
    save_image(build_data_blob(0x64000000, 96 * 1024, seed=11), files["nor"])
    wrong = build_demo_app(link_address=0x08000000, load_address=0x08003000, size=24 * 1024)
    save_image(wrong, files["bad"])
    return files


def run(out: Path) -> None:
    """Run the demo, writing its files into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    state = out / "board.json"
    state.unlink(missing_ok=True)
    files = _make_inputs(out)
    firmware = out / "firmware.dfu"
    sim = ["--sim", PROFILE, "--sim-state", str(state)]
    print("pydfuse demo: one .dfu with three memories, flashed in one update on a virtual")
    print(f"{PROFILE} (STM32F103ZE, 12 KiB DFU bootloader, application at 0x08003000).")
    print(f"Inputs in {out}/: app.hex (linked for 0x08003000), SPI and NOR data images.")
    _run(
        [
            "pack", str(firmware),
            "-t", f"0:Internal Flash={files['app']}",
            "-t", f"1:SPI Flash={files['spi']}@0x00000000",
            "-t", f"2:NOR Flash={files['nor']}@0x64000000",
        ]
    )  # fmt: skip
    _run(["info", str(firmware)])
    _run(["check", str(firmware), "--profile", PROFILE])
    print("\nThe classic mistake: an application linked for 0x08000000 loaded at 0x08003000.")
    _run(["check", str(files["bad"]), "--profile", PROFILE], expect=3)
    _run([*sim, "list"])
    _run([*sim, "flash", str(firmware), "--leave"])
    _run([*sim, "list"])
    print("\nBack into the bootloader (DFU_DETACH) and read every memory back:")
    _run([*sim, "detach"])
    readback = out / "readback.dfu"
    _run([*sim, "upload", str(readback)])
    _compare(firmware, readback)
    print("\nAnd start the application again:")
    _run([*sim, "leave", "--address", "0x08003000"])
    print("\ndemo finished: the virtual board runs the new application from 0x08003000.")


def _compare(written: Path, read: Path) -> None:
    want = {t.alt: t.image for t in DfuseFile.read(written).targets}
    got = {t.alt: t.image for t in DfuseFile.read(read).targets}
    for alt, image in want.items():
        for segment in image:
            if got[alt].read(segment.address, len(segment)) != segment.data:
                raise SystemExit(f"demo: alt {alt} read back differs from what was written")
    print(f"\nread back {sum(i.size for i in want.values())} bytes: identical to {written.name}")


USAGE = "usage: python -m pydfuse.demo [OUTPUT_DIR]   (default: demo-out)"


def main(argv: list[str]) -> int:
    """``python -m pydfuse.demo [OUTPUT_DIR]``; ``-h``/``--help`` prints the usage, any other
    option is refused (it is not taken for a directory name)."""
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        print("Runs the whole update chain (pack, check, flash, verify, leave, read back) on the")
        print("virtual STM3210E-EVAL and leaves its files in OUTPUT_DIR.")
        return 0
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(USAGE, file=sys.stderr)
        return 2
    run(Path(argv[0]) if argv else Path("demo-out"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
