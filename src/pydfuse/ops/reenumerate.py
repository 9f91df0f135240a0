"""Finding a device again after it left the bus: DETACH, an option-byte write, Read Unprotect
(layer: ops; imports ``pydfuse.host`` and the sibling ``env``).

All waiting goes through the environment's clock, so on the virtual board it costs no real time.
"""

from __future__ import annotations

from collections.abc import Callable

from pydfuse.host.discovery import FoundDevice, scan
from pydfuse.ops.env import Environment

POLL_INTERVAL_S = 0.1


def devices(env: Environment, mode: str | None = None) -> list[FoundDevice]:
    """Every DFU interface on the bus now (only ``mode`` "dfu"/"runtime" when given)."""
    out = []
    for found, dev in scan(env.resolved_backend()):
        dev.close()
        if mode is None or found.mode == mode:
            out.append(found)
    return out


def successor(
    before: list[FoundDevice], after: list[FoundDevice], gone: FoundDevice
) -> FoundDevice | None:
    """The device that ``gone`` became: same serial, same path, or the one new device."""
    for key in ("serial", "path"):
        value = getattr(gone, key)
        if value is not None:
            hits = [f for f in after if getattr(f, key) == value]
            if len(hits) == 1:
                return hits[0]
    known = {(f.path, f.serial) for f in before}
    new = [f for f in after if (f.path, f.serial) not in known]
    return new[0] if len(new) == 1 else None


def wait_for(
    env: Environment, wait_s: float, find: Callable[[], FoundDevice | None]
) -> FoundDevice | None:
    """Poll ``find`` every 0.1 s of the environment's clock until it returns a device or
    ``wait_s`` has passed (then None)."""
    deadline = env.clock.monotonic() + wait_s
    while True:
        found = find()
        if found is not None:
            return found
        if env.clock.monotonic() >= deadline:
            return None
        env.clock.sleep(POLL_INTERVAL_S)
