"""Benchmark: CPU per 1 KiB block, the simulator's and the host's separately (issue #11).

A 500 KiB application is flashed (``delta=False``, no verify: 500 DNLOAD blocks, each with its
GETSTATUS pair) and read back (500 UPLOAD blocks) on a virtual STM3210E-EVAL (wTransferSize
1024). The simulator's share is the CPU time spent inside its pyusb backend (every control
transfer, the board model included); the host's share is the rest (pydfuse's host and ops
layers and pyusb). Each figure is the best of five runs (the least disturbed by other work on
the machine); CPU time, not wall time, so a busy machine slows it less.

Targets: simulator <= 50 µs and host <= 300 µs per 1 KiB block, for writing and for reading.
Run: ``.venv/bin/python bench/cpu.py`` (or ``make bench``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from common.datasheet import verdict
from common.meters import SimCpu
from pydfuse import ops
from pydfuse.demoapp import build_demo_app

PROFILE = "stm3210e-eval"
BLOCKS = 500
SIM_TARGET_US = 50.0
HOST_TARGET_US = 300.0
RUNS = 5


def measure(work: Callable[[ops.SimEnvironment], object]) -> tuple[float, float]:
    """(simulator, host) CPU seconds of ``work`` on a board that already holds the app."""
    with ops.sim_environment(PROFILE) as env, SimCpu() as sim:
        start = time.thread_time()
        work(env)
        total = time.thread_time() - start
    return sim.seconds, total - sim.seconds


def best(work: Callable[[ops.SimEnvironment], object]) -> tuple[float, float]:
    runs = [measure(work) for _ in range(RUNS)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> int:
    app = build_demo_app(size=BLOCKS * 1024)
    print(f"bench/cpu.py: {BLOCKS} blocks of 1 KiB on the virtual {PROFILE}, best of {RUNS}")

    def write(env: ops.SimEnvironment) -> object:
        return ops.flash(env, ops.DeviceSelector(), app, delta=False, verify=False)

    def read(env: ops.SimEnvironment) -> object:
        env.board.memory(0).load(app.start, app.segments[0].data)
        return ops.upload(env, ops.DeviceSelector(), alt=0, address=app.start, length=app.size)

    ok = True
    for label, work in (("write (DNLOAD + GETSTATUS pair)", write), ("read (UPLOAD)", read)):
        sim_s, host_s = best(work)
        sim_us, host_us = sim_s / BLOCKS * 1e6, host_s / BLOCKS * 1e6
        good = sim_us <= SIM_TARGET_US and host_us <= HOST_TARGET_US
        ok = ok and good
        print(
            f"  {label:<32} simulator {sim_us:6.1f} µs (target <= {SIM_TARGET_US:g}), host "
            f"{host_us:6.1f} µs (target <= {HOST_TARGET_US:g}) per block: {verdict(good)}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
