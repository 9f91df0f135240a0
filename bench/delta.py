"""Benchmark: delta flashing against a full flash (issue #11).

On a virtual STM3210E-EVAL (virtual clock: the modeled times are exact), in one run:

1. a full flash of a 500 KiB application (``delta=False``, verify on) onto a fresh board;
2. the same application again (delta on, the default): it reads the 250 pages back, finds them
   all identical, erases and programs nothing — target <= 3 % of the full flash;
3. the application with one 2 KiB page changed: that page and the vector table's page are
   rewritten (the vector-table-last rule), and verify reads the whole image back (a skipped
   page's compare read came before the erases) — target <= 5 % of the full flash.

Every read-back block costs its full-speed USB time on the virtual board, so the trade is real.
Run: ``.venv/bin/python bench/delta.py`` (or ``make bench``).
"""

from __future__ import annotations

import sys

from common.datasheet import verdict
from pydfuse import ops
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import Image

PROFILE = "stm3210e-eval"
PAGE = 2048
IDENTICAL_TARGET = 0.03
ONE_PAGE_TARGET = 0.05


def _timed(env: ops.SimEnvironment, image: Image, *, delta: bool) -> tuple[float, str]:
    board = env.board
    board.stats.reset()
    start = env.clock.monotonic()
    result = ops.flash(env, ops.DeviceSelector(), image, delta=delta)
    modeled = env.clock.monotonic() - start
    (target,) = result.targets
    what = (
        f"{board.stats.erases} page erases, {board.stats.program_units} half-words programmed, "
        f"{len(target.skipped_sectors)} pages skipped, {target.bytes_compared // 1024} KiB "
        f"compared, verified {result.verified}"
    )
    return modeled, what


def main() -> int:
    app = build_demo_app(size=250 * PAGE)
    data = bytearray(app.segments[0].data)
    middle = 125 * PAGE + 100
    data[middle] ^= 0xFF
    changed = Image.from_segments([(app.start, bytes(data))])
    print(f"bench/delta.py: 500 KiB application on the virtual {PROFILE}")
    with ops.sim_environment(PROFILE) as env:
        full, full_what = _timed(env, app, delta=False)
        print(f"  full flash (--full):        {full:8.3f} s modeled  ({full_what})")
        same, same_what = _timed(env, app, delta=True)
        print(f"  identical re-flash:         {same:8.3f} s modeled  ({same_what})")
        page, page_what = _timed(env, changed, delta=True)
        print(f"  one 2 KiB page changed:     {page:8.3f} s modeled  ({page_what})")
    ok_same = same / full <= IDENTICAL_TARGET
    ok_page = page / full <= ONE_PAGE_TARGET
    print(
        f"  identical re-flash: {same / full:.2%} of a full flash "
        f"({verdict(ok_same)} the target <= {IDENTICAL_TARGET:.0%})"
    )
    print(
        f"  one changed page:   {page / full:.2%} of a full flash "
        f"({verdict(ok_page)} the target <= {ONE_PAGE_TARGET:.0%})"
    )
    return 0 if ok_same and ok_page else 1


if __name__ == "__main__":
    sys.exit(main())
