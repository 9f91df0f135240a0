"""The physical limit of a flash job, from datasheet figures alone (issue #11).

Nothing here reads the simulator's counters or its profiles: the figures are typed in from the
documents below, so a wrong number in the model shows up as a ratio away from 1 instead of
cancelling out. Each figure names its source; "[unconfirmed]" marks the ones no document for that
exact part gave us (the nearest documented sibling is used).

* STM32F103xC/D/E datasheet (ST DS5792), "Flash memory characteristics": tprog (16-bit) min 40 /
  typ 52.5 / max 70 µs; tERASE (2 KiB page) 20 ms min / 40 ms max, no typical value — the
  midpoint 30 ms is used, and the limits with 20 and 40 ms are printed too. (Same values as the
  STM32F103x8/xB datasheet's Table 28 quoted in dfuse-spec §6.1.)
* M25P64 datasheet (Numonyx, Rev 12, March 2010): page program (up to 256 bytes) 1.4 ms typ;
  sector erase (64 KiB) 1 s typ [unconfirmed: dfuse-spec §6.3].
* M29W128FH/FL datasheet (ST, Rev 6, November 2006): programming time 10 µs per byte/word typ.
  Block erase (64 KiB) 0.8 s typ from the sibling M29W400D datasheet, Table 4 [unconfirmed for
  the M29W128F].
* USB 2.0 specification §5.5.4, Table 5-9 (full-speed control transaction limits): 45 bytes of
  protocol overhead (SYNC, PIDs, address/endpoint, CRCs, setup data, inter-packet delays) for a
  control transfer with one data packet, at 12 Mbit/s; each further 64-byte data packet adds its
  own SYNC, PID, CRC16, EOP and handshake, about 13 bytes (dfuse-spec §6.5).
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_SPEED_BYTES_PER_S = 12_000_000 / 8
CONTROL_OVERHEAD_BYTES = 45
PER_EXTRA_PACKET_BYTES = 13
EP0_PACKET = 64


def control_transfer_s(payload: int) -> float:
    """Full-speed bus time of one control transfer carrying ``payload`` data bytes."""
    packets = max(1, -(-payload // EP0_PACKET))
    wire = CONTROL_OVERHEAD_BYTES + payload + PER_EXTRA_PACKET_BYTES * (packets - 1)
    return wire / FULL_SPEED_BYTES_PER_S


@dataclass(frozen=True)
class Part:
    """Typical program and erase figures of one memory part."""

    name: str
    program_unit_bytes: int
    program_unit_s: float
    erase_sector_bytes: int
    erase_sector_s: float
    source: str


STM32F103XE = Part(
    "STM32F103xE internal flash", 2, 52.5e-6, 2048, 30e-3, "DS5792 Flash memory characteristics"
)
M25P64 = Part("M25P64 SPI flash", 256, 1.4e-3, 65536, 1.0, "M25P64 Rev 12 (erase: §6.3)")
M29W128F = Part(
    "M29W128F NOR flash", 2, 10e-6, 65536, 0.8, "M29W128FH/FL Rev 6 (erase: M29W400D Table 4)"
)


@dataclass(frozen=True)
class Limit:
    """The least time a job can take: erases, programming, and the data on the bus."""

    erase_s: float
    program_s: float
    bus_s: float

    @property
    def total_s(self) -> float:
        return self.erase_s + self.program_s + self.bus_s


def flash_limit(
    part: Part, n_bytes: int, *, transfer_size: int, verify: bool, sectors: int | None = None
) -> Limit:
    """The limit for writing ``n_bytes`` (sector-aligned) in ``transfer_size`` blocks: every
    touched sector erased once, every program unit written once, every block sent once (and
    read back once with ``verify``). Commands and status polls are protocol overhead, not part
    of the limit."""
    if sectors is None:
        sectors = -(-n_bytes // part.erase_sector_bytes)
    units = -(-n_bytes // part.program_unit_bytes)
    full, rest = divmod(n_bytes, transfer_size)
    bus = full * control_transfer_s(transfer_size) + (control_transfer_s(rest) if rest else 0.0)
    return Limit(
        sectors * part.erase_sector_s, units * part.program_unit_s, bus * (2 if verify else 1)
    )


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"
