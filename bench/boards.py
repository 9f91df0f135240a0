"""Benchmark: 16 virtual boards flashed together in real time (issue #11).

The boards run on the wall clock (``--sim-realtime``), compressed by a time scale so the run
takes seconds, not minutes: every modeled erase, program and bus transfer really takes its
(scaled) time, so the host must keep up with all boards at once. One fresh board is flashed
with ``ops.flash_many`` (the code behind ``flash --all``), then sixteen, with the same 500 KiB
application (the default path: delta on, verify on).

Targets: sixteen boards take <= 1.3 x the wall time of one; the host's CPU per 2 KiB block of
data moved stays below 0.5 ms. At scale X a board's 22 s of modeled work take 22/X s of wall
time, and all 16 boards' CPU must fit into that time on ONE core (the host and the simulator
share one Python interpreter): CPU per board x 16 <= 22/X s. The scale is chosen so that holds
with room to spare on a quiet machine (see the printout for the bound at other scales).
Run: ``.venv/bin/python bench/boards.py [SCALE]`` (or ``make bench``).
"""

from __future__ import annotations

import sys
import time

from common.datasheet import verdict
from common.meters import SimCpu
from pydfuse import ops
from pydfuse.demoapp import build_demo_app

PROFILE = "stm3210e-eval"
BOARDS = 16
SCALE = 10.0
WALL_TARGET = 1.3
HOST_CPU_TARGET_MS = 0.5


def flash_boards(count: int, scale: float) -> tuple[float, float, float, int, float]:
    """(wall s, process CPU s, simulator CPU s, bytes moved, modeled s of one board)."""
    app = build_demo_app(size=250 * 2048)
    with (
        ops.sim_environment(PROFILE, realtime=True, time_scale=scale, boards=count) as env,
        SimCpu() as sim,
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes = ops.flash_many(env, [ops.DeviceSelector()], app)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        failed = [o.name for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"boards failed: {failed}")
        moved = sum(b.stats.bytes_downloaded + b.stats.bytes_uploaded for b in env.boards)
        modeled = max(o.elapsed_s for o in outcomes)
    return wall, cpu, sim.seconds, moved, modeled


def main() -> int:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else SCALE
    print(
        f"bench/boards.py: 500 KiB application, --sim-realtime at {scale:g}x, "
        f"1 board then {BOARDS} at once"
    )
    with ops.sim_environment(PROFILE) as env:  # the pure model: the virtual clock
        ops.flash(env, ops.DeviceSelector(), build_demo_app(size=250 * 2048))
        ideal = env.clock.monotonic()
    one_wall, one_cpu, _, _, modeled = flash_boards(1, scale)
    print(
        f"  1 board:   wall {one_wall:6.2f} s (modeled {modeled:.2f} s = {modeled / scale:.2f} s "
        f"at {scale:g}x), CPU {one_cpu:.2f} s"
    )
    wall, cpu, sim_cpu, moved, _ = flash_boards(BOARDS, scale)
    blocks = moved / 2048
    host_ms = (cpu - sim_cpu) / blocks * 1000
    print(
        f"  {BOARDS} boards: wall {wall:6.2f} s, CPU {cpu:.2f} s (simulator {sim_cpu:.2f} s, host "
        f"{cpu - sim_cpu:.2f} s) for {moved / 2**20:.1f} MiB moved"
    )
    print(
        f"  CPU bound: {BOARDS} boards need {cpu:.2f} s of one core; a board's modeled work "
        f"({ideal:.1f} s on the virtual clock) lasts {ideal / scale:.2f} s at {scale:g}x, so "
        f"{BOARDS} boards keep up up to about {ideal / cpu:.0f}x"
    )
    ok_wall = wall <= WALL_TARGET * one_wall
    ok_cpu = host_ms < HOST_CPU_TARGET_MS
    print(
        f"  wall {wall / one_wall:.2f} x one board ({verdict(ok_wall)} the target <= {WALL_TARGET})"
    )
    print(
        f"  host CPU {host_ms:.3f} ms per 2 KiB block ({verdict(ok_cpu)} the target "
        f"< {HOST_CPU_TARGET_MS})"
    )
    return 0 if ok_wall and ok_cpu else 1


if __name__ == "__main__":
    sys.exit(main())
