"""Benchmark: a full 500 KB application on the virtual STM3210E-EVAL (issue: ratio <= 1.05).

Prints the modeled time of ``pydfuse.ops.flash`` (virtual clock, so the numbers are exact and
repeatable) next to the device's physical limit: the erase and program times the flash really
needs plus the USB full-speed bus time of the data itself, as accounted by the simulator. The
ratio says how much time the host protocol adds on top of what the hardware must spend.

Run: ``.venv/bin/python bench/flash.py`` (or ``make bench``).
"""

from __future__ import annotations

import time

from pydfuse import ops
from pydfuse.demoapp import build_demo_app
from pydfuse.sim.stats import control_transfer_bus_s

PROFILE = "stm3210e-eval"
APP_ADDRESS = 0x08003000
APP_BYTES = 250 * 2048  # every application page of the 512 KB part: 500 KiB
TARGET_RATIO = 1.05


def _data_bus_s(n_bytes: int, block: int) -> float:
    """Bus time of the data transfers alone (no commands, no status polls)."""
    full, rest = divmod(n_bytes, block)
    return full * control_transfer_bus_s(block) + (control_transfer_bus_s(rest) if rest else 0.0)


def run(*, verify: bool) -> tuple[float, float, ops.FlashResult]:
    image = build_demo_app(link_address=APP_ADDRESS, size=APP_BYTES)
    with ops.sim_environment(PROFILE) as env:
        board = env.board
        start = env.clock.monotonic()
        wall = time.perf_counter()
        result = ops.flash(env, ops.DeviceSelector(), image, verify=verify)
        wall = time.perf_counter() - wall
        modeled = env.clock.monotonic() - start
        stats = board.stats
        transfer = board.profile.transfer_size
        limit = stats.erase_s + stats.program_s + _data_bus_s(image.size, transfer)
        if verify:
            limit += _data_bus_s(image.size, transfer)  # the read-back must cross the bus too
        print(
            f"  {'flash + verify' if verify else 'flash'}: {image.size} bytes, "
            f"{stats.erases} sector erases, {stats.transfers} control transfers, "
            f"host CPU {wall:.2f} s"
        )
        print(
            f"    modeled {modeled:8.3f} s   physical limit {limit:8.3f} s "
            f"(erase {stats.erase_s:.3f} + program {stats.program_s:.3f} + data on the bus "
            f"{limit - stats.erase_s - stats.program_s:.3f})"
        )
        print(
            f"    ratio {modeled / limit:.4f}   effective {image.size / modeled / 1024:.1f} KiB/s"
            f"   requests held because the host polled early: {stats.held_s:.3f} s"
        )
        return modeled, limit, result


def main() -> int:
    print(f"bench/flash.py: {APP_BYTES // 1024} KiB application on the virtual {PROFILE}")
    modeled, limit, _ = run(verify=False)
    run(verify=True)
    ratio = modeled / limit
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"  flash ratio {ratio:.4f} {verdict} the target of <= {TARGET_RATIO}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
