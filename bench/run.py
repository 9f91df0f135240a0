"""Benchmark: running a 64 KiB application to its main loop (issue #13: under 2 s wall time).

The application is tests/firmware/elf/app-64k.elf (64 KB of flash: start-up, clock set-up, a
CRC-32 over a 62 KB table — about 3 million instructions — then WFI). Timed three ways, RUNS
times each, min and median printed:
- the core alone: ``run_firmware`` on the stm3210e-eval memory map;
- ``dfuse check app-64k.elf --profile stm3210e-eval --run`` as a whole process (start-up,
  loading the ELF, the pre-flight checks, the run, the report);
- the virtual board: flash with --leave through pyusb, the application then runs on the board.
Exit 1 when the median of the whole ``check --run`` process exceeds the 2 s target.

Run: ``.venv/bin/python bench/run.py`` (or ``make bench``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from pydfuse import ops
from pydfuse.formats import load_image
from pydfuse.sim.cortexm import machine_for_profile, run_firmware
from pydfuse.sim.profiles import get_profile

RUNS = 5
TARGET_S = 2.0
ELF = Path(__file__).resolve().parent.parent / "tests" / "firmware" / "elf" / "app-64k.elf"


def _times(action: object) -> list[float]:
    out = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def _core() -> None:
    image = load_image(ELF)
    spec = machine_for_profile(
        get_profile("stm3210e-eval"), {0: [(s.address, s.data) for s in image]}
    )
    result = run_firmware(spec, 0x08003000)
    assert result.stop == "wfi", result


def _check_process() -> None:
    argv = [sys.executable, "-m", "pydfuse", "-q", "check", str(ELF), "--profile"]
    argv += ["stm3210e-eval", "--run"]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def _board() -> None:
    with ops.sim_environment("stm3210e-eval") as env:
        ops.flash(env, ops.DeviceSelector(), str(ELF), leave=True)
        run = env.board.app_run
        assert run is not None and run.stop == "wfi", run


def main() -> int:
    size = ELF.stat().st_size
    image = load_image(ELF)
    print(f"{ELF.name}: {image.size / 1024:.1f} KiB of flash ({size} bytes of ELF)")
    rows = [
        ("core: run_firmware to WFI", _times(_core)),
        ("dfuse check --run (whole process)", _times(_check_process)),
        ("virtual board: flash --leave + run", _times(_board)),
    ]
    for label, times in rows:
        print(f"{label:<38} min {min(times):6.3f} s   median {statistics.median(times):6.3f} s")
    check = statistics.median(rows[1][1])
    verdict = "ok" if check < TARGET_S else "TOO SLOW"
    print(f"target: check --run under {TARGET_S:.1f} s: {verdict}")
    return 0 if check < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
