"""Opt-in fault injection for the virtual board (layer: sim; imports pydfuse.spec).

Nothing here fires unless a test asks for it. Faults are one-shot: each armed fault is consumed
by the first matching event, and only by firing (a power cycle, the user's explicit "forget
everything", is the one other way out). They let host tests see every DFU status by name, a
device that vanishes mid-download, a stalled request and a timed-out one, without mocking the
host's own classes.

Host conditions are the exception: they model the computer the board is plugged into, not the
board (no permission to open it, another program or a kernel driver holding it, no libusb, no
WinUSB driver), and they last until cleared, as such a setup problem does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydfuse.spec import Status

__all__ = ["HOST_CONDITIONS", "FaultOp", "Faults", "HostCondition", "TransferFault"]

FaultOp = Literal["program", "erase", "upload", "command"]
HostCondition = Literal["access", "busy", "kernel-driver", "no-backend", "no-winusb"]
HOST_CONDITIONS: dict[str, str] = {
    "access": "opening the device is refused (libusb ACCESS, EACCES: no permission)",
    "busy": "claiming the interface fails (libusb BUSY: another program holds it)",
    "kernel-driver": "a kernel driver holds the interface (libusb BUSY, driver active)",
    "no-backend": "libusb cannot be loaded (pyusb NoBackendError)",
    "no-winusb": "opening fails as on Windows without WinUSB (libusb NOT_SUPPORTED)",
}
TransferFault = Literal["stall", "timeout"]
_OPS = ("program", "erase", "upload", "command")


@dataclass(frozen=True, slots=True)
class _Failure:
    op: str
    status: Status
    address: int | None


class Faults:
    """Armed faults of one board. All methods are cheap; ``clear()`` disarms everything."""

    def __init__(self) -> None:
        self._failures: list[_Failure] = []
        self._disconnect_in: int | None = None
        self._next_transfer: list[TransferFault] = []
        self._garbled: list[int] = []  # addresses the next UPLOAD covering them misreads
        self.host: str | None = None  # a HostCondition: lasts until cleared

    def fail_next(self, op: FaultOp, status: Status, address: int | None = None) -> None:
        """The next ``op`` (at ``address``, or anywhere if None) fails with ``status``.

        ``program`` = a DfuSe data block or plain-DFU block, ``erase`` = page or mass erase,
        ``upload`` = an UPLOAD of memory, ``command`` = any other DfuSe command (Set Address...).
        """
        if op not in _OPS:
            raise ValueError(f"unknown fault operation {op!r}; use one of {', '.join(_OPS)}")
        if Status(status) == Status.OK:
            raise ValueError("a fault needs an error status, not OK")
        self._failures.append(_Failure(op, Status(status), address))

    def disconnect_after(self, transfers: int) -> None:
        """Unplug the board after ``transfers`` (>= 1) more control transfers have completed.

        0 would mean "now", which no transfer can trigger (an armed fault must never sit there
        unfired): pull the cable at once with ``VirtualBoard.unplug`` instead.
        """
        if transfers < 1:
            raise ValueError(
                "transfers must be >= 1 (for 0, pull the cable now: VirtualBoard.unplug)"
            )
        self._disconnect_in = transfers

    def garble_next_read(self, address: int) -> None:
        """The next UPLOAD covering ``address`` returns that byte inverted (a read glitch);
        the memory itself is unchanged."""
        if not 0 <= address <= 0xFFFFFFFF:
            raise ValueError(f"address 0x{address:x} does not fit in 32 bits")
        self._garbled.append(address)

    def stall_next(self) -> None:
        """The next control transfer is stalled (EPIPE) before the device sees it."""
        self._next_transfer.append("stall")

    def timeout_next(self) -> None:
        """The next control transfer times out (ETIMEDOUT) before the device sees it."""
        self._next_transfer.append("timeout")

    def set_host(self, condition: str | None) -> None:
        """Make the host fail as libusb does under ``condition`` (None: a healthy host)."""
        if condition is not None and condition not in HOST_CONDITIONS:
            raise ValueError(
                f"unknown host condition {condition!r}; use one of {', '.join(HOST_CONDITIONS)}"
            )
        self.host = condition

    def clear(self) -> None:
        """Disarm every fault (the host condition too)."""
        self.host = None
        self._failures.clear()
        self._disconnect_in = None
        self._next_transfer.clear()
        self._garbled.clear()

    def armed(self) -> list[str]:
        """One line per armed fault, for ``dfuse sim status``."""
        lines = []
        for f in self._failures:
            where = f" at 0x{f.address:08x}" if f.address is not None else ""
            lines.append(f"next {f.op}{where} fails with {f.status.name}")
        if self._disconnect_in is not None:
            lines.append(f"unplug after {self._disconnect_in} more control transfer(s)")
        lines += [f"next control transfer: {kind}" for kind in self._next_transfer]
        lines += [f"next read of 0x{a:08x} returns a wrong byte" for a in self._garbled]
        if self.host is not None:
            lines.append(f"host: {HOST_CONDITIONS[self.host]}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, so armed faults survive in a ``--sim-state`` file."""
        return {
            "fail": [
                {"op": f.op, "status": f.status.name, "address": f.address} for f in self._failures
            ],
            "disconnect_after": self._disconnect_in,
            "next_transfer": list(self._next_transfer),
            "garbled_reads": list(self._garbled),
            "host": self.host,
        }

    def load_dict(self, doc: dict[str, Any]) -> None:
        """Re-arm the faults of :meth:`to_dict`; ValueError/KeyError on a damaged entry."""
        self.clear()
        for entry in doc.get("fail", []):
            address = entry.get("address")
            self.fail_next(
                entry["op"], Status[entry["status"]], None if address is None else int(address)
            )
        if doc.get("disconnect_after") is not None:
            self.disconnect_after(int(doc["disconnect_after"]))
        for kind in doc.get("next_transfer", []):
            if kind not in ("stall", "timeout"):
                raise ValueError(f"unknown transfer fault {kind!r}")
            self._next_transfer.append(kind)
        for address in doc.get("garbled_reads", []):
            self.garble_next_read(int(address))
        self.set_host(doc.get("host"))

    # -- used by the simulator -------------------------------------------------------------
    def take_failure(self, op: str, address: int | None, length: int = 1) -> Status | None:
        """Consume and return the status of the first armed failure matching ``op``."""
        for i, failure in enumerate(self._failures):
            if failure.op != op:
                continue
            if failure.address is not None and (
                address is None or not address <= failure.address < address + max(length, 1)
            ):
                continue
            del self._failures[i]
            return failure.status
        return None

    def garble(self, address: int, data: bytes) -> bytes:
        """``data`` read at ``address``, with the first armed read glitch inside it applied."""
        for i, wrong in enumerate(self._garbled):
            if address <= wrong < address + len(data):
                del self._garbled[i]
                out = bytearray(data)
                out[wrong - address] ^= 0xFF
                return bytes(out)
        return data

    def before_transfer(self) -> TransferFault | None:
        """Called at the start of every control transfer: stall or time out this one?"""
        if self._next_transfer:
            return self._next_transfer.pop(0)
        return None

    def after_transfer(self) -> bool:
        """Called after every completed control transfer; True = unplug the board now."""
        if self._disconnect_in is not None and self._disconnect_in > 0:
            self._disconnect_in -= 1
            if self._disconnect_in == 0:
                self._disconnect_in = None
                return True
        return False
