"""Benchmark: how fast ``dfuse`` starts (issue #10: <= 80 ms for ``--help``, ``info`` and
``suffix check``), against ``python -c pass`` as the floor.

Each command runs as a whole process, in turn with the others (so a busy machine slows them
all alike), RUNS times after a warm-up; the median and minimum wall times are printed, the
median CPU time (user + system: what a loaded machine does not inflate by making the process
wait for a core), and the median of each run's difference to the floor run beside it. It also
lists what each command imports that it should not (rich, bincopy, pyelftools, the simulator,
pyusb): exit 1 then, as that is a regression whatever the machine; times are printed, not
judged (shared machines).

Run: ``.venv/bin/python bench/startup.py`` (or ``make bench``).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 21
TARGET_S = 0.080
HEAVY = ("rich", "bincopy", "elftools", "pydfuse.sim", "usb", "pydfuse.ops", "pydfuse.host")


def _small_dfu(folder: Path) -> Path:
    """A small plain .dfu (payload + suffix) written by ``dfuse suffix add``."""
    path = folder / "small.dfu"
    path.write_bytes(bytes(range(256)) * 4)
    subprocess.run([sys.executable, "-m", "pydfuse", "-q", "suffix", "add", str(path)], check=True)
    return path


def _time(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _heavy_imports(args: list[str]) -> list[str]:
    """Top-level packages among HEAVY that ``dfuse ARGS`` imports."""
    code = (
        "import sys; from pydfuse.cli.main import main; main(sys.argv[1:]); "
        f"found = {{m for m in sys.modules if m.startswith({HEAVY!r})}}; "
        "print(sorted({'.'.join(m.split('.')[:2]) for m in found}), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    return [line for line in done.stderr.strip().splitlines()[-1:] if line != "[]"]


def main() -> int:
    dfuse = str(Path(sys.executable).with_name("dfuse"))
    with tempfile.TemporaryDirectory(prefix="dfuse-bench-") as tmp:
        small = _small_dfu(Path(tmp))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "dfuse --help": [dfuse, "--help"],
            "dfuse info small.dfu": [dfuse, "info", str(small)],
            "dfuse suffix check small.dfu": [dfuse, "suffix", "check", str(small)],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(RUNS + 1):
            for name, argv in commands.items():
                took, used = _time(argv)
                if round_:  # the first round warms the caches
                    samples[name].append(took)
                    cpu[name].append(used)
        floor = samples["python -c pass"]
        print(f"{'command':<30} {'median':>9} {'min':>9} {'cpu':>9} {'over floor':>11}  target")
        failed = False
        for name, times in samples.items():
            over = statistics.median(t - f for t, f in zip(times, floor, strict=True))
            median = statistics.median(times)
            verdict = "" if name.startswith("python") else f"<= {TARGET_S * 1000:.0f} ms"
            if verdict and median > TARGET_S:
                verdict += " MISSED (a busy machine? compare 'over floor')"
            print(
                f"{name:<30} {median * 1000:7.1f}ms {min(times) * 1000:7.1f}ms "
                f"{statistics.median(cpu[name]) * 1000:7.1f}ms {over * 1000:9.1f}ms  {verdict}"
            )
        for name, argv in list(commands.items())[1:]:
            for line in _heavy_imports(argv[1:]):
                print(f"note: {name} imports {line}")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
