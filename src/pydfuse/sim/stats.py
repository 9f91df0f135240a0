"""Cumulative modeled costs of a virtual board (layer: sim; imports nothing from pydfuse).

Benchmarks compare a host's total (virtual) time with the physical minimum the board had to
spend: bus time (§6.5) plus erase and program time (§6).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

__all__ = ["BUS_BYTES_PER_S", "SimStats", "control_transfer_bus_s"]

# §6.5: full speed is 12 Mbit/s = 1.5 MB/s on the wire; a control transfer costs ~45 bytes of
# protocol overhead (SETUP, DATA, handshakes, status stage) with one data packet and ~13 bytes
# more for each further data packet. Modeled as throughput, not as whole 1 ms frames.
BUS_BYTES_PER_S = 12_000_000 / 8
CONTROL_OVERHEAD_BYTES = 45
EXTRA_PACKET_OVERHEAD_BYTES = 13


@functools.lru_cache(maxsize=256)  # a handful of sizes recur for every block
def control_transfer_bus_s(payload: int, max_packet_size0: int = 64) -> float:
    """Seconds a control transfer with ``payload`` data bytes occupies a full-speed bus."""
    packets = max(1, -(-payload // max_packet_size0))
    wire = CONTROL_OVERHEAD_BYTES + payload + EXTRA_PACKET_OVERHEAD_BYTES * (packets - 1)
    return wire / BUS_BYTES_PER_S


@dataclass(slots=True)
class SimStats:
    """Counters; mutable on purpose (the board adds to them), read by tests and benchmarks."""

    bus_s: float = 0.0
    erase_s: float = 0.0
    program_s: float = 0.0
    busy_s: float = 0.0  # every modeled device-side operation: erase + program + the rest
    held_s: float = 0.0  # time requests were held (NAKed) because the host polled early
    transfers: int = 0
    stalls: int = 0
    erases: int = 0
    program_units: int = 0
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    enumerations: int = 0

    @property
    def device_s(self) -> float:
        """The physical minimum: bus time plus everything the device had to do."""
        return self.bus_s + self.busy_s

    def reset(self) -> None:
        """Zero every counter in place (the device model keeps a reference to this object)."""
        for f in fields(self):
            setattr(self, f.name, type(getattr(self, f.name))())
