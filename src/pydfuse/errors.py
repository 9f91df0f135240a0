"""The whole exception tree of pydfuse, and nothing else (layer: spec level; imports spec only).

Every exception raised on purpose derives from :class:`DfuseError`. Each also derives from the
builtin that fits, so callers that already catch ``ValueError``/``OSError`` keep working. Messages
say what went wrong and, where there is one, what to do about it. The CLI prints ``str(error)``
as one line and exits 1.
"""

from __future__ import annotations

from pydfuse.spec import STATUS_DESCRIPTIONS, State, Status


class DfuseError(Exception):
    """Base of everything pydfuse raises on purpose."""

    hint: str | None = None
    # What the operation had warned before it failed (ops.flash: everything --force overrode,
    # which may already have changed the device); the CLI's --json error carries it.
    warnings: tuple[str, ...] = ()

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class FormatError(DfuseError, ValueError):
    """A file is malformed. ``path`` and ``offset`` (byte) or ``line`` locate the problem."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        offset: int | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.offset = offset
        self.line = line
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"offset {offset} (0x{offset:x})")
        full = f"{': '.join([', '.join(where), message]) if where else message}"
        super().__init__(full, hint=hint)


class ChecksumError(FormatError):
    """A record checksum or the DFU suffix CRC does not match."""


class PlanError(DfuseError, ValueError):
    """The image cannot be placed safely: outside writable sectors, overlap, bad vector table.
    ``code`` names the rule, as ``dfuse check`` names its finding (``protection.otp``)."""

    def __init__(
        self,
        message: str,
        *,
        address: int | None = None,
        hint: str | None = None,
        code: str | None = None,
    ):
        self.address = address
        self.code = code
        super().__init__(message, hint=hint)


class OptionBytesError(PlanError):
    """An option-byte change is malformed or refused as unsafe; nothing was written."""


class DeviceNotFoundError(DfuseError, LookupError):
    """No device, or more than one device, matches the selection."""


class TransportError(DfuseError, OSError):
    """USB failure. ``__cause__`` is the underlying ``usb.core.USBError``."""


class StallError(TransportError):
    """The device stalled a request (libusb EPIPE)."""


class TransportTimeoutError(TransportError, TimeoutError):
    """A USB transfer timed out (libusb ETIMEDOUT)."""


class DeviceDisconnectedError(TransportError):
    """The device left the bus (libusb ENODEV). Expected, and not a failure, right after leave."""


class ProtocolError(DfuseError):
    """The device broke the DFU rules (unexpected state, malformed reply)."""


class DfuStatusError(ProtocolError):
    """The device reported ``bStatus != OK``; carries status, state, address and phase."""

    def __init__(
        self,
        status: Status | int,
        state: State | int,
        *,
        phase: str,
        address: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = Status(status) if status in Status._value2member_map_ else status
        self.state = State(state) if state in State._value2member_map_ else state
        self.phase = phase
        self.address = address
        if isinstance(self.status, Status):
            name = f"{self.status.name} ({STATUS_DESCRIPTIONS[self.status]})"
        else:
            name = f"status 0x{int(status):02x}"
        where = f" at 0x{address:08x}" if address is not None else ""
        state_name = self.state.name if isinstance(self.state, State) else str(int(state))
        super().__init__(
            f"device reported {name} during {phase}{where} (state {state_name})", hint=hint
        )


class ReadProtectedError(DfuStatusError):
    """The ROM refused a read, write or erase with errVENDOR: flash read protection (RDP level 1)
    is active (AN3156 §4.1, §5.1, §5.3)."""

    def __init__(
        self,
        status: Status | int,
        state: State | int,
        *,
        phase: str,
        address: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(status, state, phase=phase, address=address, hint=hint)
        where = f" at 0x{address:08x}" if address is not None else ""
        self.args = (
            f"the device is read-protected (RDP level 1): its ROM refused the {phase}{where} "
            "(errVENDOR)",
        )


class VerifyError(DfuseError):
    """Read-back does not match what was written."""

    def __init__(self, address: int, expected: int, actual: int, *, hint: str | None = None):
        self.address = address
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"verify failed at 0x{address:08x}: expected 0x{expected:02x}, read 0x{actual:02x}",
            hint=hint,
        )
