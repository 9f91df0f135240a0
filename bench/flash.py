"""Benchmark: a full flash (delta off) against the physical limit, per memory (issue #11).

Flashes a 500 KiB application into the internal flash of a fresh virtual STM3210E-EVAL, and
1 MiB into its SPI and its NOR flash, each with ``delta=False`` and verify, and prints the
modeled time (virtual clock: exact and repeatable) next to two physical limits:

* the model's own: the erase and program time the simulator charged plus the data's bus time —
  this ratio measures the host protocol's overhead against the model;
* the datasheets': the same job computed from the datasheet figures in ``common/datasheet.py``
  alone — this ratio also catches a model that is wrong about the chip.

Target (as before): the application's full flash within 1.05 x the datasheet limit. The SPI and
NOR rows are information. Run: ``.venv/bin/python bench/flash.py`` (or ``make bench``).
"""

from __future__ import annotations

import sys
import time

from common.datasheet import M25P64, M29W128F, STM32F103XE, Part, control_transfer_s, flash_limit
from common.datasheet import verdict as verdict_of
from pydfuse import ops
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import Image
from pydfuse.sim.profiles import get_profile

PROFILE = "stm3210e-eval"
TARGET_RATIO = 1.05
JOBS: list[tuple[str, int, Part, Image]] = [
    ("internal flash, 500 KiB app", 0, STM32F103XE, build_demo_app(size=250 * 2048)),
    ("SPI flash, 1 MiB", 1, M25P64, build_data_blob(0x00000000, 1 << 20)),
    ("NOR flash, 1 MiB", 2, M29W128F, build_data_blob(0x64000000, 1 << 20, seed=3)),
]


def _model_bus_s(n_bytes: int, block: int) -> float:
    full, rest = divmod(n_bytes, block)
    return full * control_transfer_s(block) + (control_transfer_s(rest) if rest else 0.0)


def run(name: str, alt: int, part: Part, image: Image) -> float:
    """Flash one job; print its row; return its ratio to the datasheet limit."""
    with ops.sim_environment(PROFILE) as env:
        start, wall = env.clock.monotonic(), time.perf_counter()
        ops.flash(env, ops.DeviceSelector(alt=alt), image, delta=False)
        modeled = env.clock.monotonic() - start
        wall = time.perf_counter() - wall
        stats, size = env.board.stats, env.board.profile.transfer_size
    model_limit = stats.erase_s + stats.program_s + 2 * _model_bus_s(image.size, size)
    sheet = flash_limit(part, image.size, transfer_size=size, verify=True)
    ratio = modeled / sheet.total_s
    print(f"  {name}: modeled {modeled:.3f} s (host CPU {wall:.2f} s)")
    print(
        f"    limit from the model's counters {model_limit:.3f} s -> ratio "
        f"{modeled / model_limit:.4f}"
    )
    print(
        f"    limit from the datasheets {sheet.total_s:.3f} s (erase {sheet.erase_s:.3f} + "
        f"program {sheet.program_s:.3f} + bus {sheet.bus_s:.3f}) -> ratio {ratio:.4f}"
    )
    return ratio


def compare_figures() -> None:
    """Where the board model and the datasheets agree, and where not."""
    alts = get_profile(PROFILE).alternates
    print("  model vs datasheet (typical figures):")
    for alt, part in zip(alts, (STM32F103XE, M25P64, M29W128F), strict=True):
        t = alt.timing
        unit = t.program_unit_us / 1e6
        erase = t.erase_sector_ms.get(part.erase_sector_bytes, float("nan")) / 1000
        same = abs(unit - part.program_unit_s) < 1e-9 and abs(erase - part.erase_sector_s) < 1e-9
        print(
            f"    {part.name}: program {unit * 1e6:g} µs per {t.program_unit_bytes} B (datasheet "
            f"{part.program_unit_s * 1e6:g} µs), erase {erase:g} s per "
            f"{part.erase_sector_bytes // 1024} KiB (datasheet {part.erase_sector_s:g} s) -> "
            f"{'agree' if same else 'DIFFER'} [{part.source}]"
        )
    print(
        "    NOR word program: the model used the M29W128G's 16 µs until issue #11; the "
        "M29W128F datasheet (the part in ST's layout string) says 10 µs typ: 10 µs is right."
    )


def main() -> int:
    print(f"bench/flash.py: full flash (delta off, verify on) on the virtual {PROFILE}")
    compare_figures()
    ratios = [run(name, alt, part, image) for name, alt, part, image in JOBS]
    app = ratios[0]
    # STM32F1 page erase has no typical value (20..40 ms): the limit with either bound.
    app_image = JOBS[0][3]
    for erase_ms in (20, 40):
        bound = Part("bound", 2, 52.5e-6, 2048, erase_ms / 1000, "")
        limit = flash_limit(bound, app_image.size, transfer_size=1024, verify=True).total_s
        print(f"  (application limit with a {erase_ms} ms page erase: {limit:.3f} s)")
    ok = app <= TARGET_RATIO
    print(
        f"  full flash of the application: {app:.4f} x the datasheet limit "
        f"({verdict_of(ok)} the target <= {TARGET_RATIO})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
