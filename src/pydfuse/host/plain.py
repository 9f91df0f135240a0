"""Plain DFU 1.1 transfers (bcdDFU != 0x011A): sequential download, manifestation, upload
(layer: host).

Imports ``pydfuse.host.dfu``, ``pydfuse.spec`` and ``pydfuse.errors``. Follows §1.7 and §1.8 of
dfuse-spec.md.
"""

from __future__ import annotations

from collections.abc import Callable

from pydfuse.errors import ProtocolError, TransportError
from pydfuse.host.dfu import DfuClient
from pydfuse.spec import State, Status

BlockCallback = Callable[[int, int], None]
"""Called after each block with (offset, byte count)."""


def download(
    dfu: DfuClient,
    data: bytes,
    *,
    will_detach: bool,
    progress: BlockCallback | None = None,
) -> bool:
    """Send ``data`` as blocks 0, 1, 2, ... then the zero-length DNLOAD and manifest (§1.8).

    Returns True if the device is still usable in dfuIDLE afterwards (manifestation tolerant),
    False if it reset or left the bus to run the new firmware.
    """
    size = dfu.transfer_size
    block = 0
    for offset in range(0, len(data), size):
        chunk = data[offset : offset + size]
        dfu.download(block, chunk)
        record = dfu.wait_ready(dfu.get_status(), phase="download", address=offset)
        dfu.check(record, phase="download", address=offset)
        if record.state != State.DFU_DNLOAD_IDLE:
            dfu.recover()
            raise ProtocolError(
                f"device answered {record.state_name()} after block {block}, "
                "expected dfuDNLOAD-IDLE"
            )
        block += 1  # wraps at 65536 inside DfuClient.download (§1.2)
        if progress is not None:
            progress(offset, len(chunk))
    return manifest(dfu, block, will_detach=will_detach)


def manifest(dfu: DfuClient, block: int, *, will_detach: bool) -> bool:
    """Zero-length DNLOAD, then follow dfuMANIFEST-SYNC / MANIFEST / WAIT-RESET (§1.7)."""
    dfu.download(block, b"")
    for _ in range(1000):
        try:
            record = dfu.get_status()
        except TransportError:
            return False  # non-tolerant devices may stop answering: manifestation happened
        if record.status != Status.OK or record.state == State.DFU_ERROR:
            raise dfu.fail(record, phase="manifest", address=None)
        if record.state == State.DFU_IDLE:
            return True
        if record.state == State.DFU_MANIFEST_WAIT_RESET:
            if not will_detach:
                dfu.device.reset()
            return False
        if record.state not in (State.DFU_MANIFEST_SYNC, State.DFU_MANIFEST):
            raise ProtocolError(f"device answered {record.state_name()} during manifestation")
        dfu.sleep_poll(record)
    raise ProtocolError("device never finished manifestation", hint="power-cycle the board")


def upload(
    dfu: DfuClient, *, limit: int | None = None, progress: BlockCallback | None = None
) -> bytes:
    """UPLOAD blocks 0, 1, 2, ... until a short block or ``limit`` bytes (§1.8 step 4)."""
    size = dfu.transfer_size
    out = bytearray()
    block = 0
    while limit is None or len(out) < limit:
        want = size if limit is None else min(size, limit - len(out))
        chunk = dfu.upload(block, want)
        out += chunk
        if progress is not None:
            progress(len(out) - len(chunk), len(chunk))
        block += 1
        if len(chunk) < want:
            return bytes(out)  # a short block ends the upload; the device is back in dfuIDLE
    dfu.abort()  # stopped early: leave dfuUPLOAD-IDLE
    return bytes(out)
