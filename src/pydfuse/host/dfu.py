"""DFU 1.1 requests, status polling and recovery to dfuIDLE: :class:`DfuClient` (layer: host).

Imports ``pydfuse.host.usb``/``clock``, ``pydfuse.spec`` and ``pydfuse.errors``. Section numbers
refer to dfuse-spec.md. All waiting goes through the injected clock. What the client does beyond
plain requests — retries, recoveries, errors — is told to the ``pydfuse.host`` logger (INFO;
every poll wait at DEBUG), which ``dfuse -v``/``-vv`` shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from pydfuse.errors import (
    DfuStatusError,
    ProtocolError,
    StallError,
    TransportError,
    TransportTimeoutError,
)
from pydfuse.host.clock import Clock
from pydfuse.host.usb import DEFAULT_TIMEOUT_MS, UsbDevice
from pydfuse.spec import GET_STATUS_LENGTH, Request, State, Status

log = logging.getLogger("pydfuse.host")

# States the device leaves by itself after bwPollTimeout (§1.6); the host just waits.
_WAIT_STATES = frozenset({State.DFU_DNBUSY, State.DFU_DNLOAD_SYNC, State.DFU_MANIFEST})
# States ABORT returns to dfuIDLE (§1.6, §2.9).
_ABORT_STATES = frozenset(
    {State.DFU_DNLOAD_SYNC, State.DFU_DNLOAD_IDLE, State.DFU_MANIFEST_SYNC, State.DFU_UPLOAD_IDLE}
)


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A decoded DFU_GETSTATUS reply (§1.5). Unknown numbers stay plain ints (§7.7)."""

    status: Status | int
    poll_timeout_ms: int
    state: State | int
    istring: int = 0

    @classmethod
    def from_bytes(cls, data: bytes) -> StatusRecord:
        """Decode the 6-byte reply; raises :class:`ProtocolError` on a short one."""
        if len(data) < GET_STATUS_LENGTH:
            raise ProtocolError(
                f"GETSTATUS returned {len(data)} bytes, expected {GET_STATUS_LENGTH}",
                hint="the device does not speak DFU correctly; replug it and try again",
            )
        status = Status(data[0]) if data[0] in Status._value2member_map_ else data[0]
        state = State(data[4]) if data[4] in State._value2member_map_ else data[4]
        return cls(status, int.from_bytes(data[1:4], "little"), state, data[5])

    @property
    def ok(self) -> bool:
        return self.status == Status.OK and self.state != State.DFU_ERROR

    def state_name(self) -> str:
        return self.state.name if isinstance(self.state, State) else f"0x{int(self.state):02x}"


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How patiently to wait for a busy device (§2.8, §7.3)."""

    max_poll_ms: int = 60_000  # caps absurd 24-bit values; a slower device NAKs the next poll
    zero_poll_ms: int = 1  # first wait when a busy device says "0 ms", doubled each time
    max_zero_polls: int = 100  # dfu-util gives up after 100 zero-timeout answers ("stuck")
    max_retries: int = 3  # STALLed or timed-out GETSTATUS while busy (STM32L4 ROM, F405 erase)
    status_timeout_ms: int = 20_000  # a device may NAK GETSTATUS until its work is done (§2.6)
    request_timeout_ms: int = DEFAULT_TIMEOUT_MS


class DfuClient:
    """DFU 1.1 class requests on one interface of one device.

    Every wait sleeps exactly the bwPollTimeout the device asked for (capped), then sends one
    GETSTATUS: no busy loops and no extra round trips (§1.5, §2.1).
    """

    def __init__(
        self,
        device: UsbDevice,
        interface: int,
        clock: Clock,
        *,
        transfer_size: int,
        policy: PollPolicy | None = None,
    ) -> None:
        if transfer_size <= 0:
            raise ProtocolError(
                "the device reports wTransferSize 0",
                hint="the device's DFU descriptor is broken; a transfer size must be given",
            )
        self.device = device
        self.interface = interface
        self.clock = clock
        self.transfer_size = transfer_size
        self.policy = policy or PollPolicy()
        self.waited_s = 0.0  # time spent in poll waits by the last wait_ready()

    # -- the seven requests (§1.2) -------------------------------------------------------------
    def detach(self, timeout_ms: int) -> None:
        self._out(Request.DETACH, timeout_ms, b"", "DFU_DETACH")

    def download(self, block: int, data: bytes) -> None:
        self._out(Request.DNLOAD, block & 0xFFFF, data, f"DFU_DNLOAD block {block}")

    def upload(self, block: int, length: int) -> bytes:
        return self.device.control_in(
            Request.UPLOAD,
            block & 0xFFFF,
            self.interface,
            length,
            what=f"DFU_UPLOAD block {block}",
            timeout_ms=self.policy.request_timeout_ms,
        )

    def get_status(self) -> StatusRecord:
        data = self.device.control_in(
            Request.GETSTATUS,
            0,
            self.interface,
            GET_STATUS_LENGTH,
            what="DFU_GETSTATUS",
            timeout_ms=self.policy.status_timeout_ms,
        )
        return StatusRecord.from_bytes(data)

    def clear_status(self) -> None:
        self._out(Request.CLRSTATUS, 0, b"", "DFU_CLRSTATUS")

    def get_state(self) -> State | int:
        data = self.device.control_in(
            Request.GETSTATE,
            0,
            self.interface,
            1,
            what="DFU_GETSTATE",
            timeout_ms=self.policy.request_timeout_ms,
        )
        if not data:
            raise ProtocolError("GETSTATE returned no data")
        return State(data[0]) if data[0] in State._value2member_map_ else data[0]

    def abort(self) -> None:
        self._out(Request.ABORT, 0, b"", "DFU_ABORT")

    def _out(self, request: Request, value: int, data: bytes, what: str) -> None:
        self.device.control_out(
            request,
            value,
            self.interface,
            data,
            what=what,
            timeout_ms=self.policy.request_timeout_ms,
        )

    # -- waiting ---------------------------------------------------------------------------------
    def sleep_poll(self, record: StatusRecord) -> None:
        """Wait the poll timeout ``record`` asked for, capped (§7.3 bogus values)."""
        wait_ms = min(record.poll_timeout_ms, self.policy.max_poll_ms)
        log.debug("waiting %d ms in %s (bwPollTimeout)", wait_ms, record.state_name())
        self.clock.sleep(wait_ms / 1000.0)
        self.waited_s += wait_ms / 1000.0

    def wait_ready(self, first: StatusRecord, *, phase: str, address: int | None) -> StatusRecord:
        """From a GETSTATUS answer, wait until the device leaves dfuDNBUSY/DNLOAD-SYNC/MANIFEST.

        Sleeps each reported bwPollTimeout once and asks again. A "0 ms" busy answer is waited
        out with a doubling back-off and given up after ``max_zero_polls`` (§7.3, BMP); a STALL or
        timeout of the poll itself is retried ``max_retries`` times (STM32L4 ROM, F405 erase).
        """
        record, zeros, retries, backoff = first, 0, 0, self.policy.zero_poll_ms
        self.waited_s = 0.0
        while record.status == Status.OK and record.state in _WAIT_STATES:
            if record.poll_timeout_ms == 0:
                zeros += 1
                if zeros > self.policy.max_zero_polls:
                    raise ProtocolError(
                        f"device stuck in {record.state_name()} during {phase}"
                        + (f" at 0x{address:08x}" if address is not None else ""),
                        hint="power-cycle the board and try again",
                    )
                log.debug("busy with a 0 ms poll timeout: waiting %d ms", backoff)
                self.clock.sleep(backoff / 1000.0)
                self.waited_s += backoff / 1000.0
                backoff = min(backoff * 2, 100)
            else:
                zeros = 0
                self.sleep_poll(record)
            try:
                record = self.get_status()
            except (StallError, TransportTimeoutError) as exc:
                retries += 1
                what = "stalled" if isinstance(exc, StallError) else "timed out"
                if retries > self.policy.max_retries:
                    log.info("GETSTATUS %s during %s again: giving up", what, phase)
                    raise
                log.info(
                    "GETSTATUS %s during %s; asking again (retry %d of %d)",
                    what,
                    phase,
                    retries,
                    self.policy.max_retries,
                )
        return record

    # -- errors and recovery ---------------------------------------------------------------------
    def fail(self, record: StatusRecord, *, phase: str, address: int | None) -> DfuStatusError:
        """Clear the device back to dfuIDLE (best effort), then build the error to raise."""
        log.info(
            "device reports %s in %s during %s; clearing it back to dfuIDLE",
            record.status.name if isinstance(record.status, Status) else record.status,
            record.state_name(),
            phase,
        )
        with suppress(TransportError, ProtocolError):  # the original failure matters more
            self.recover()
        return DfuStatusError(record.status, record.state, phase=phase, address=address)

    @contextmanager
    def explained(self, *, phase: str, address: int | None) -> Iterator[None]:
        """Turn a STALLed request into the DfuStatusError the device reports for it.

        ST ROMs stall a refused UPLOAD/DNLOAD and put the reason (errTARGET, errVENDOR ...) in
        the status (§2.6); that reason is worth more than "pipe error". The device is cleared
        back to dfuIDLE as for any other reported error.
        """
        try:
            yield
        except StallError as exc:
            log.info("the device stalled a request during %s; asking it why (GETSTATUS)", phase)
            try:
                record = self.get_status()
            except TransportError:
                raise exc from None
            if record.ok:
                raise
            raise self.fail(record, phase=phase, address=address) from exc

    def check(self, record: StatusRecord, *, phase: str, address: int | None) -> StatusRecord:
        """Raise :class:`DfuStatusError` (after clearing the device) unless ``record`` is OK."""
        if not record.ok:
            raise self.fail(record, phase=phase, address=address)
        return record

    def recover(self, *, attempts: int = 8) -> StatusRecord:
        """Bring the device to dfuIDLE from any DFU-mode state and return the last status.

        dfuERROR only leaves with CLRSTATUS (ABORT is ignored there by ST, §7.9); CLRSTATUS in any
        other state makes ST devices report errUNKNOWN (§7.8), so it is sent only in dfuERROR or
        when the state byte is garbage (§7.7). Idle-like states take ABORT; busy ones are waited.
        """
        for _ in range(attempts):
            try:
                record = self.get_status()
            except StallError:
                # A stalled GETSTATUS (ST demo after a bad UPLOAD, §7.7): clear and ask again.
                log.info("GETSTATUS stalled; sending CLRSTATUS and asking again")
                with suppress(StallError):
                    self.clear_status()
                continue
            state = record.state
            if state == State.DFU_IDLE:
                return record
            if state in (State.APP_IDLE, State.APP_DETACH):
                raise ProtocolError(
                    "the device is in run-time mode, not DFU mode",
                    hint="detach it first (dfuse detach) or start it in DFU mode (BOOT0 / button)",
                )
            if state == State.DFU_MANIFEST_WAIT_RESET:
                raise ProtocolError(
                    "the device is waiting for a USB reset after manifestation",
                    hint="replug or reset the board, then try again",
                )
            if state in _WAIT_STATES:
                self.sleep_poll(record)
                continue
            # A device may stall ABORT where DFU 1.1 forbids it (dfuMANIFEST-SYNC, §1.6); it is
            # then in dfuERROR, which the next round clears.
            request = "ABORT" if state in _ABORT_STATES else "CLRSTATUS"
            log.info("device in %s: sending %s to reach dfuIDLE", record.state_name(), request)
            with suppress(StallError):
                if state in _ABORT_STATES:
                    self.abort()
                else:  # dfuERROR, or a corrupt state byte (§7.7)
                    self.clear_status()
        raise ProtocolError(
            "could not bring the device back to dfuIDLE",
            hint="power-cycle the board and try again",
        )
