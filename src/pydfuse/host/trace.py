"""A USB trace: every control transfer the host makes, as JSON-ready records (layer: host).

Imports ``pydfuse.spec`` and the standard library only. :class:`TracingBackend` wraps any pyusb
backend (libusb or the simulator's) and hands one record per event to its sinks: the device
being opened, each control transfer (SET_CONFIGURATION and SET_INTERFACE included, as they are
on the wire), and bus resets. A record says when (seconds on the environment's clock since the
trace began), the setup packet, the data (DNLOAD/UPLOAD payloads longer than
:data:`RAW_LIMIT` bytes — firmware — as their length and a SHA-256 unless ``keep_data``), the
result or the libusb error, and for GETSTATUS/GETSTATE the device's status, state and poll
timeout. :func:`describe` turns a record into one line for ``-vv``.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable
from typing import Any

from pydfuse.host.clock import Clock
from pydfuse.spec import DESC_CONFIGURATION, DESC_DEVICE, DESC_STRING, Request, State, Status

TRACE_FORMAT = 1
RAW_LIMIT = 5  # DfuSe commands are 1-5 bytes; longer DNLOAD/UPLOAD payloads are firmware
Sink = Callable[[dict[str, Any]], None]

_STANDARD = {0x00: "GET_STATUS", 0x01: "CLEAR_FEATURE", 0x03: "SET_FEATURE", 0x05: "SET_ADDRESS"}
_STANDARD |= {0x06: "GET_DESCRIPTOR", 0x08: "GET_CONFIGURATION", 0x09: "SET_CONFIGURATION"}
_STANDARD |= {0x0A: "GET_INTERFACE", 0x0B: "SET_INTERFACE"}
_DESCRIPTORS = {DESC_DEVICE: "device", DESC_CONFIGURATION: "configuration", DESC_STRING: "string"}
_DESCRIPTORS |= {0x21: "DFU functional"}
_ERRORS = {errno.EPIPE: "stall", errno.ETIMEDOUT: "timeout", errno.ENODEV: "no_device"}
_ERRORS |= {errno.ENOENT: "not_found", errno.EACCES: "access", errno.EBUSY: "busy"}
_LIBUSB = {-9: "stall", -7: "timeout", -4: "no_device", -5: "not_found", -3: "access", -6: "busy"}
_LIBUSB[-12] = "not_supported"  # Windows without a WinUSB driver


def request_name(request_type: int, request: int, value: int, data: bytes | None) -> str:
    """``DFU_GETSTATUS``, ``DFU_DNLOAD block 2``, ``DfuSe SET_ADDRESS 0x08003000``, ..."""
    if request_type & 0x60 == 0x20:  # class request: DFU (§1.2)
        try:
            name = f"DFU_{Request(request).name}"
        except ValueError:
            return f"class request 0x{request:02x}"
        if request == Request.DNLOAD and value == 0 and data is not None:
            return _dfuse_command(data) or name
        if request in (Request.DNLOAD, Request.UPLOAD):
            return f"{name} block {value}"
        return name
    name = _STANDARD.get(request, f"request 0x{request:02x}")
    if request == 0x06:
        kind = _DESCRIPTORS.get(value >> 8, f"type 0x{value >> 8:02x}")
        return f"{name} {kind} {value & 0xFF}" if value >> 8 == DESC_STRING else f"{name} {kind}"
    if request in (0x09, 0x0B):
        return f"{name} {value}"
    return name


def _dfuse_command(data: bytes) -> str | None:
    """The DfuSe command in a wBlockNum-0 DNLOAD (§2.2); a zero-length one is leave (§2.5)."""
    if not data:
        return "DFU_DNLOAD zero-length (leave)"
    where = f" 0x{int.from_bytes(data[1:5], 'little'):08x}" if len(data) == 5 else ""
    return {
        0x21: f"DfuSe SET_ADDRESS{where}",
        0x41: f"DfuSe ERASE{where}" if where else "DfuSe MASS_ERASE",
        0x92: "DfuSe READ_UNPROTECT",
        0x00: "DfuSe GET_COMMANDS",
    }.get(data[0])


def error_kind(exc: BaseException) -> str:
    """``stall``, ``timeout``, ``no_device``, ``not_found``, ``access``, ``busy``,
    ``not_supported`` or ``error``."""
    num = getattr(exc, "errno", None)
    code = getattr(exc, "backend_error_code", None)
    return _ERRORS.get(num or 0) or _LIBUSB.get(code or 0) or "error"


def payload(data: bytes, *, request_type: int, request: int, keep_data: bool) -> dict[str, Any]:
    """``{"length", "hex"}``, or for firmware ``{"length", "sha256"}`` (first 16 hex digits)."""
    firmware = request_type & 0x60 == 0x20 and request in (Request.DNLOAD, Request.UPLOAD)
    if keep_data or not firmware or len(data) <= RAW_LIMIT:
        return {"length": len(data), "hex": data.hex()}
    return {"length": len(data), "sha256": digest(data)}


def digest(data: bytes) -> str:
    """The short SHA-256 a trace keeps of firmware data."""
    return hashlib.sha256(data).hexdigest()[:16]


def dfu_answer(request_type: int, request: int, data: bytes) -> dict[str, Any] | None:
    """The decoded GETSTATUS (status, state, poll timeout) or GETSTATE reply (§1.5)."""
    if request_type != 0xA1:
        return None
    if request == Request.GETSTATUS and len(data) >= 6:
        return {
            "status": _name(Status, data[0]),
            "state": _name(State, data[4]),
            "poll_ms": int.from_bytes(data[1:4], "little"),
        }
    if request == Request.GETSTATE and data:
        return {"state": _name(State, data[0])}
    return None


def _name(enum: type[Status] | type[State], value: int) -> str | int:
    return enum(value).name if value in enum._value2member_map_ else value


class TracingBackend:
    """A pyusb backend that passes everything to ``inner`` and reports each bus event.

    Not a test double: the wrapped backend does all the work; this only watches the
    boundary, exactly where libusb sits, so a trace shows what the device really saw.
    """

    def __init__(
        self, inner: Any, clock: Clock, sinks: list[Sink], *, keep_data: bool = False
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._start = clock.monotonic()
        self._sinks = sinks
        self._handles: dict[int, int] = {}
        self._count = 0
        self._pending: dict[str, Any] = {}
        self._timeout: int | None = None  # of the control transfer being recorded
        self.keep_data = keep_data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _emit(self, record: dict[str, Any]) -> None:
        self._count += 1
        stamped = {"n": self._count, "t": round(self._clock.monotonic() - self._start, 6)}
        stamped.update(record)
        for sink in self._sinks:
            sink(stamped)

    def _handle(self, dev_handle: Any) -> int:
        return self._handles.get(id(dev_handle), 0)

    def open_device(self, dev: Any) -> Any:
        desc = self._inner.get_device_descriptor(dev)
        record: dict[str, Any] = {
            "op": "open",
            "vid": int(desc.idVendor),
            "pid": int(desc.idProduct),
            "path": device_path(desc),
            "iSerialNumber": int(getattr(desc, "iSerialNumber", 0) or 0),
        }
        try:
            handle = self._inner.open_device(dev)
        except Exception as exc:
            self._emit({**record, "handle": None, "result": error_kind(exc)})
            raise
        self._handles[id(handle)] = number = len(self._handles) + 1
        self._emit({**record, "handle": number, "result": "ok"})
        return handle

    def ctrl_transfer(
        self,
        dev_handle: Any,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: Any,
        timeout: int,
    ) -> Any:
        is_in = bool(bmRequestType & 0x80)
        length = int(len(data) * data.itemsize)
        self._timeout = int(timeout) if timeout is not None else None
        sent = b"" if is_in else bytes(data.tobytes())
        try:
            result = self._inner.ctrl_transfer(
                dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout
            )
        except Exception as exc:
            self._control(dev_handle, (bmRequestType, bRequest, wValue, wIndex, length), sent)
            self._last_error(exc)
            raise
        answer = bytes(memoryview(data).cast("B")[: int(result)]) if is_in else None
        record = self._control(
            dev_handle, (bmRequestType, bRequest, wValue, wIndex, length), sent, answer
        )
        self._emit(record)
        return result

    def _control(
        self,
        dev_handle: Any,
        setup: tuple[int, int, int, int, int],
        sent: bytes,
        answer: bytes | None = None,
    ) -> dict[str, Any]:
        rt, req, value, index, length = setup
        record: dict[str, Any] = {
            "op": "control",
            "handle": self._handle(dev_handle),
            "request": request_name(rt, req, value, None if rt & 0x80 else sent),
            "setup": {"bmRequestType": rt, "bRequest": req, "wValue": value, "wIndex": index},
            "length": length,
            "timeout_ms": self._timeout,
        }
        if not rt & 0x80:
            record["out"] = payload(sent, request_type=rt, request=req, keep_data=self.keep_data)
        if answer is not None:
            record["in"] = payload(answer, request_type=rt, request=req, keep_data=self.keep_data)
            decoded = dfu_answer(rt, req, answer)
            if decoded is not None:
                record["dfu"] = decoded
        record["result"] = "ok"
        self._pending = record
        return record

    def _last_error(self, exc: BaseException) -> None:
        record = self._pending
        record["result"] = error_kind(exc)
        record["error"] = str(exc) or type(exc).__name__
        self._emit(record)

    def set_configuration(self, dev_handle: Any, config_value: int) -> None:
        self._standard(dev_handle, 0x00, 0x09, config_value, 0)
        self._run(self._inner.set_configuration, dev_handle, config_value)

    def set_interface_altsetting(self, dev_handle: Any, intf: int, altsetting: int) -> None:
        self._standard(dev_handle, 0x01, 0x0B, altsetting, intf)
        self._run(self._inner.set_interface_altsetting, dev_handle, intf, altsetting)

    def reset_device(self, dev_handle: Any) -> None:
        self._pending = {"op": "reset", "handle": self._handle(dev_handle), "result": "ok"}
        self._run(self._inner.reset_device, dev_handle)

    def _standard(self, dev_handle: Any, rt: int, req: int, value: int, index: int) -> None:
        self._timeout = None  # libusb's own
        self._control(dev_handle, (rt, req, value, index, 0), b"")

    def _run(self, call: Callable[..., Any], *args: Any) -> None:
        try:
            call(*args)
        except Exception as exc:
            self._last_error(exc)
            raise
        self._emit(self._pending)


def device_path(desc: Any) -> str:
    """ "bus-port.port" of a pyusb device descriptor (as dfu-util -p shows it)."""
    ports = getattr(desc, "port_numbers", None) or ()
    bus = getattr(desc, "bus", None)
    if ports:
        return f"{bus}-{'.'.join(str(p) for p in ports)}"
    return f"{bus}:{getattr(desc, 'address', None)}"


def describe(record: dict[str, Any]) -> str:
    """One line for ``-vv``: ``DFU_GETSTATUS -> OK dfuDNBUSY poll 20 ms`` and the like."""
    op = record.get("op")
    if op == "open":
        where = f"{record['vid']:04x}:{record['pid']:04x} at {record['path']}"
        return f"open {where}" + ("" if record["result"] == "ok" else f": {record['result']}")
    if op == "reset":
        return "USB bus reset" + ("" if record["result"] == "ok" else f": {record['result']}")
    text = str(record.get("request", "?"))
    sent = record.get("out")
    if sent and sent["length"] and not text.startswith("DfuSe"):
        text += f", {sent['length']} B"
    if record["result"] != "ok":
        return f"{text} -> {record['result'].upper()} ({record.get('error', '')})"
    answer = record.get("dfu")
    if answer is not None:
        poll = f" poll {answer['poll_ms']} ms" if "poll_ms" in answer else ""
        status = f"{answer['status']} " if "status" in answer else ""
        return f"{text} -> {status}{answer['state']}{poll}"
    got = record.get("in")
    return f"{text} -> {got['length']} B" if got is not None else text
