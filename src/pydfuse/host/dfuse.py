"""ST DfuSe on top of DFU 1.1: commands, addressed download/upload, leave (layer: host).

Imports ``pydfuse.host.dfu``, ``pydfuse.spec`` and ``pydfuse.errors``. Section numbers refer to
dfuse-spec.md. :class:`DfuseClient` does exactly what it is asked: planning (which sectors, which
runs) belongs to ``pydfuse.plan``; the order of calls to ``ops``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydfuse.errors import ProtocolError, TransportError
from pydfuse.host.dfu import DfuClient, StatusRecord
from pydfuse.spec import DFUSE_DATA_BLOCK_OFFSET, DfuseCommand, State, Status

log = logging.getLogger("pydfuse.host")


def resets_after_write(memory_name: str) -> bool:
    """Whether writing this memory resets the device (ST option bytes, §2.6, §7.14)."""
    return memory_name.strip().lower().startswith("option bytes")


# wBlockNum is 16 bits and data blocks start at 2 (§2.3): at most this many blocks per pointer.
MAX_BLOCKS_PER_POINTER = 0x10000 - DFUSE_DATA_BLOCK_OFFSET

# The largest flash program unit of the STM32 families (the H7's 256-bit flash word; F1: a
# half-word, L4/G4: a double word): a run starting on this grid has every block on it.
UNIT_ALIGN = 32

BlockCallback = Callable[[int, int], None]
"""Called after each block with (address, byte count)."""


def _addr(address: int) -> bytes:
    if not 0 <= address <= 0xFFFFFFFF:
        raise ValueError(f"address 0x{address:x} does not fit in 32 bits")
    return address.to_bytes(4, "little")


class DfuseClient:
    """DfuSe commands (§2.2) and addressed transfers (§2.3, §2.4) over a :class:`DfuClient`."""

    def __init__(self, dfu: DfuClient) -> None:
        self.dfu = dfu
        self.pointer: int | None = None  # last Set Address Pointer we sent (None = unknown)

    @property
    def transfer_size(self) -> int:
        return self.dfu.transfer_size

    # -- commands --------------------------------------------------------------------------------
    def command(self, payload: bytes, *, phase: str, address: int | None = None) -> StatusRecord:
        """DNLOAD wBlockNum 0 + GETSTATUS (runs it: dfuDNBUSY) + wait + GETSTATUS (§2.1)."""
        with self.dfu.explained(phase=phase, address=address):
            self.dfu.download(0, payload)
        record = self.finish(phase=phase, address=address)
        at = f" 0x{address:08x}" if address is not None else ""
        waited = f", after {self.dfu.waited_s * 1000:.0f} ms busy" if self.dfu.waited_s else ""
        log.info("%s%s: %s%s", phase, at, record.state_name(), waited)
        return record

    def finish(self, *, phase: str, address: int | None) -> StatusRecord:
        """Complete a DNLOAD: GETSTATUS, sleep bwPollTimeout while busy, expect dfuDNLOAD-IDLE."""
        record = self.dfu.wait_ready(self.dfu.get_status(), phase=phase, address=address)
        self.dfu.check(record, phase=phase, address=address)
        if record.state != State.DFU_DNLOAD_IDLE:
            self.dfu.recover()
            raise ProtocolError(
                f"device answered {record.state_name()} after {phase}"
                + (f" at 0x{address:08x}" if address is not None else "")
                + ", expected dfuDNLOAD-IDLE"
            )
        return record

    def set_address(self, address: int) -> None:
        """Set Address Pointer (0x21) for later writes, reads and leave."""
        self.command(
            bytes([DfuseCommand.SET_ADDRESS_POINTER]) + _addr(address),
            phase="set address",
            address=address,
        )
        self.pointer = address

    def erase_page(self, address: int) -> None:
        """Erase the page/sector containing ``address`` (0x41 + address)."""
        self.command(bytes([DfuseCommand.ERASE]) + _addr(address), phase="erase", address=address)

    def mass_erase(self) -> None:
        """Erase all user flash (0x41 alone). F405 ROMs report 100 ms but need ~32 s (§2.8): the
        device then NAKs GETSTATUS, which the client's long status timeout and retries absorb."""
        self.command(bytes([DfuseCommand.ERASE]), phase="mass erase")

    def read_unprotect(self) -> None:
        """Read Unprotect (0x92): mass-erases and resets the device, so only the first GETSTATUS
        is read and the device is not expected to answer again (§2.2, §7.14, "will-reset")."""
        self.dfu.download(0, bytes([DfuseCommand.READ_UNPROTECT]))
        self._last_before_reset(phase="read unprotect", address=None)

    def get_commands(self) -> bytes:
        """Supported command opcodes (UPLOAD wBlockNum 0, §2.4); needs dfuIDLE."""
        data = self.dfu.upload(0, 16)
        self.dfu.abort()
        return data

    # -- data ------------------------------------------------------------------------------------
    def write(
        self,
        address: int,
        data: bytes,
        progress: BlockCallback | None = None,
        *,
        will_reset: bool = False,
    ) -> None:
        """Program ``data`` at ``address`` (already erased): ONE Set Address per run, then
        wBlockNum 2, 3, ... with full wTransferSize blocks (§2.3, incrementing style).

        A run that starts inside a program unit (off the :data:`UNIT_ALIGN` grid) and is
        longer than what is left to the next wTransferSize grid line gets a short first block
        up to it (with its own Set Address): every later block then starts on the grid, never
        inside a program unit that the block before it already programmed (an STM32F1
        half-word: programming it twice is PGERR, §5.4).

        ``will_reset``: the device resets after the last block (option bytes, §2.6, §7.14), so
        that block's first GETSTATUS is the last request and a vanished device is success.
        """
        size = self.transfer_size
        span = size * MAX_BLOCKS_PER_POINTER
        head = -address % size
        starts = [0] if address % UNIT_ALIGN == 0 or head >= len(data) else [0, head]
        starts += range(starts[-1] + span, len(data), span)
        for start, chunk_end in zip(starts, [*starts[1:], len(data)], strict=True):
            self.set_address(address + start)
            blocks = -(-(chunk_end - start) // size)
            log.info(
                "program %d B at 0x%08x in %d block(s)", chunk_end - start, address + start, blocks
            )
            for n, offset in enumerate(range(start, chunk_end, size)):
                block = data[offset : min(offset + size, chunk_end)]
                with self.dfu.explained(phase="program", address=address + offset):
                    self.dfu.download(DFUSE_DATA_BLOCK_OFFSET + n, block)
                if will_reset and offset + len(block) == len(data):
                    self._last_before_reset(phase="program", address=address + offset)
                else:
                    self.finish(phase="program", address=address + offset)
                if progress is not None:
                    progress(address + offset, len(block))

    def _last_before_reset(self, *, phase: str, address: int | None) -> None:
        """One GETSTATUS that starts the work; then the device resets ("will-reset", §2.2)."""
        try:
            record = self.dfu.get_status()
        except TransportError:
            return  # it reset before answering
        if record.status != Status.OK or record.state == State.DFU_ERROR:
            raise self.dfu.fail(record, phase=phase, address=address)

    def read(
        self,
        address: int,
        length: int,
        progress: BlockCallback | None = None,
        *,
        phase: str = "upload",
    ) -> bytes:
        """Read ``length`` bytes at ``address`` in full wTransferSize UPLOAD blocks (§2.4)."""
        size = self.transfer_size
        span = size * MAX_BLOCKS_PER_POINTER
        out = bytearray()
        for start in range(0, length, span):
            self.set_address(address + start)
            self.dfu.abort()  # Set Address leaves dfuDNLOAD-IDLE; UPLOAD needs dfuIDLE (§2.4)
            chunk_end = min(start + span, length)
            log.info("%s %d B at 0x%08x", phase, chunk_end - start, address + start)
            for n, offset in enumerate(range(start, chunk_end, size)):
                want = min(size, chunk_end - offset)
                with self.dfu.explained(phase=phase, address=address + offset):
                    block = self.dfu.upload(DFUSE_DATA_BLOCK_OFFSET + n, want)
                out += block
                if progress is not None:
                    progress(address + offset, len(block))
                if len(block) < want:
                    self.dfu.abort()
                    raise ProtocolError(
                        f"device returned {len(block)} of {want} bytes at 0x{address + offset:08x}",
                        hint="the range is probably beyond the end of the memory; shorten it",
                    )
            self.dfu.abort()  # back to dfuIDLE from dfuUPLOAD-IDLE
        return bytes(out)

    def leave(self, address: int | None = None) -> bool:
        """Jump to the application: [Set Address] + zero-length DNLOAD + GETSTATUS expecting
        dfuMANIFEST (§2.5). A device that vanishes on the way has left: that is success.

        Returns True when the device confirmed dfuMANIFEST or disappeared.
        """
        if address is not None:
            self.set_address(address)
        try:
            self.dfu.download(0, b"")
            record = self.dfu.get_status()
        except TransportError as exc:
            log.info("leave: the device left the bus (%s): it is starting its application", exc)
            return True  # GD32 leaves on the DNLOAD itself; others drop off the bus (§2.5, §7.15)
        log.info("leave: device answered %s", record.state_name())
        if record.state == State.DFU_MANIFEST and record.status == Status.OK:
            return True
        if record.state == State.DFU_MANIFEST_WAIT_RESET:
            log.info("leave: resetting the bus so that the device starts its application")
            self.dfu.device.reset()
            return True
        self.dfu.check(record, phase="leave", address=address)
        self.dfu.recover()
        raise ProtocolError(
            f"device answered {record.state_name()} to leave, expected dfuMANIFEST",
            hint="the device did not start the application; reset it by hand",
        )
