"""Replaying a USB trace's host requests against a backend (layer: host).

Imports ``pydfuse.host.trace``/``clock``, ``pydfuse.errors``, ``pydfuse.formats`` (reading a
file) and the standard library. Reads a
``--trace`` file (:func:`read_trace`), then sends each of its requests to a pyusb backend (a
virtual board's) at the same moments on the backend's clock, and compares every answer with the
traced one: the result (ok, stall, timeout, ...), the data returned, and for GETSTATUS the
status, state and poll timeout. :func:`replay` stops at the first difference.

Firmware payloads a trace keeps only as a hash (the default) are sent as 0xFF filler of the
traced length; the device then holds other bytes than the traced one did, so later firmware
reads are compared by length only (``ReplayResult.data_compared`` says so).
"""

from __future__ import annotations

import array
import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydfuse.errors import FormatError
from pydfuse.formats.dfuse import read_file_bytes
from pydfuse.host.clock import Clock
from pydfuse.host.trace import describe, device_path, dfu_answer, digest, error_kind

_OPS = ("open", "control", "reset", "end")


@dataclass(frozen=True, slots=True)
class Difference:
    """The first traced event the replayed device answered otherwise."""

    n: int
    t: float
    request: str
    traced: str
    replayed: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "t": self.t,
            "request": self.request,
            "traced": self.traced,
            "replayed": self.replayed,
        }


@dataclass(slots=True)
class ReplayResult:
    """How far the replay went and what differed first (None: every answer was the same)."""

    events: int = 0
    difference: Difference | None = None
    data_compared: bool = True
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "same": self.difference is None,
            "difference": None if self.difference is None else self.difference.to_dict(),
            "data_compared": self.data_compared,
            "notes": list(self.notes),
        }


def read_trace(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the event records of a ``--trace`` file (``.gz`` too)."""
    raw = read_file_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise FormatError(f"damaged gzip data ({error})", path=str(path)) from None
    lines = raw.decode("utf-8", errors="replace").splitlines()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise FormatError("not a JSON line", path=str(path), line=number) from None
        if not isinstance(record, dict):
            raise FormatError("a trace line must be a JSON object", path=str(path), line=number)
        if not records and record.get("trace") != "pydfuse":
            raise FormatError(
                "not a pydfuse trace (no header line)",
                path=str(path),
                hint="record one with: dfuse --trace FILE <device command>",
            )
        records.append(_checked(record, number, path))
    if not records:
        raise FormatError("the trace is empty", path=str(path))
    return records[0], records[1:]


def _checked(record: dict[str, Any], number: int, path: Path) -> dict[str, Any]:
    if "trace" in record:
        return record
    op = record.get("op")
    if op not in _OPS:
        raise FormatError(f"unknown event {op!r}", path=str(path), line=number)
    needed = {"open": ("vid", "pid", "result"), "control": ("setup", "length", "result")}
    missing = [key for key in needed.get(op, ()) if key not in record]
    if op != "end" and "t" not in record:
        missing.append("t")
    if op == "control":
        setup = record.get("setup")
        keys = ("bmRequestType", "bRequest", "wValue", "wIndex")
        if not isinstance(setup, dict) or any(not isinstance(setup.get(k), int) for k in keys):
            missing.append("setup fields")
    if missing:
        raise FormatError(f"{op} event lacks {', '.join(missing)}", path=str(path), line=number)
    return record


class _Replayer:
    def __init__(self, backend: Any, clock: Clock) -> None:
        self.backend = backend
        self.clock = clock
        self.handles: dict[Any, Any] = {}
        self.serial_index: dict[Any, int] = {}  # trace handle -> its iSerialNumber
        self.result = ReplayResult()

    def run(self, records: Iterable[dict[str, Any]]) -> ReplayResult:
        start = self.clock.monotonic()
        for record in records:
            op = record["op"]
            if op == "end":
                break
            wait = start + float(record["t"]) - self.clock.monotonic()
            if wait > 0:
                self.clock.sleep(wait)  # the traced host waited here (poll timeouts, retries)
            self.result.events += 1
            traced, replayed = getattr(self, f"_{op}")(record)
            if traced != replayed:
                name = record.get("request") or describe({**record, "result": "ok"})
                self.result.difference = Difference(
                    int(record.get("n", self.result.events)),
                    float(record["t"]),
                    str(name),
                    traced,
                    replayed,
                )
                break
        return self.result

    def _open(self, record: dict[str, Any]) -> tuple[str, str]:
        wanted = (int(record["vid"]), int(record["pid"]))
        candidates = [
            dev
            for dev in self.backend.enumerate_devices()
            if _ids(self.backend.get_device_descriptor(dev)) == wanted
        ]
        same_path = [
            dev
            for dev in candidates
            if device_path(self.backend.get_device_descriptor(dev)) == record.get("path")
        ]
        chosen = (same_path or candidates)[:1]
        if not chosen:
            return record["result"], "not_found"
        try:
            handle = self.backend.open_device(chosen[0])
        except Exception as exc:
            return record["result"], error_kind(exc)
        self.handles[record.get("handle")] = handle
        self.serial_index[record.get("handle")] = int(record.get("iSerialNumber") or 0)
        return record["result"], "ok"

    def _reset(self, record: dict[str, Any]) -> tuple[str, str]:
        handle = self.handles.get(record.get("handle"))
        if handle is None:
            return record["result"], "no_device"
        try:
            self.backend.reset_device(handle)
        except Exception as exc:
            return record["result"], error_kind(exc)
        return record["result"], "ok"

    def _control(self, record: dict[str, Any]) -> tuple[str, str]:
        handle = self.handles.get(record.get("handle"))
        setup = record["setup"]
        rt, req = setup["bmRequestType"], setup["bRequest"]
        value, index = setup["wValue"], setup["wIndex"]
        if handle is None:
            return self._outcome(record), "no open device for this request (no_device)"
        try:
            answer = self._send(handle, record, rt, req, value, index)
        except Exception as exc:
            return self._outcome(record), error_kind(exc)
        serial = self.serial_index.get(record.get("handle"))
        if (rt, req, value) == (0x80, 0x06, 0x0300 | (serial or 0x100)) and answer is not None:
            # A serial number tells boards apart, not how they behave: not compared.
            if not any("serial number" in note for note in self.result.notes):
                self.result.notes.append("the serial number string is not compared")
            return "ok", "ok"
        return self._outcome(record), self._answer_text(record, rt, req, answer)

    def _send(
        self, handle: Any, record: dict[str, Any], rt: int, req: int, value: int, index: int
    ) -> bytes | None:
        if (rt, req) == (0x00, 0x09):
            self.backend.set_configuration(handle, value)
            return None
        if (rt, req) == (0x01, 0x0B):
            self.backend.set_interface_altsetting(handle, index, value)
            return None
        timeout = int(record.get("timeout_ms") or 5000)
        if rt & 0x80:
            buffer = array.array("B", bytes(int(record["length"])))
            count = self.backend.ctrl_transfer(handle, rt, req, value, index, buffer, timeout)
            return bytes(memoryview(buffer)[: int(count)])
        self.backend.ctrl_transfer(
            handle, rt, req, value, index, array.array("B", self._out_data(record)), timeout
        )
        return None

    def _out_data(self, record: dict[str, Any]) -> bytes:
        sent = record.get("out") or {"length": 0, "hex": ""}
        if "hex" in sent:
            return bytes.fromhex(sent["hex"])
        if self.result.data_compared:
            self.result.data_compared = False
            self.result.notes.append(
                f"event {record.get('n')}: firmware data was hashed in the trace; 0xFF filler "
                "sent instead, so later firmware reads are compared by length only "
                "(record with --trace-data to compare contents)"
            )
        return b"\xff" * int(sent["length"])

    def _outcome(self, record: dict[str, Any]) -> str:
        """The traced answer in words: ``stall``, ``OK DFU_DNBUSY poll 20 ms``, ``18 B 12..``."""
        if record["result"] != "ok":
            return str(record["result"])
        got = record.get("in")
        if got is None:
            return "ok"
        if "sha256" in got:
            sha = f" sha256 {got['sha256']}" if self.result.data_compared else ""
            return f"{got['length']} B{sha}"
        data = bytes.fromhex(got.get("hex", ""))
        setup = record["setup"]
        decoded = dfu_answer(setup["bmRequestType"], setup["bRequest"], data)
        return _dfu_text(decoded) if decoded is not None else f"{len(data)} B {data.hex()}"

    def _answer_text(self, record: dict[str, Any], rt: int, req: int, answer: bytes | None) -> str:
        """The replayed answer, in the words :func:`_outcome` uses for the traced one."""
        if answer is None:
            return "ok"
        traced_in = record.get("in") or {}
        if "sha256" in traced_in and self.result.data_compared:
            return f"{len(answer)} B sha256 {digest(answer)}"
        if "sha256" in traced_in:
            return f"{len(answer)} B"
        decoded = dfu_answer(rt, req, answer)
        if decoded is not None:
            return _dfu_text(decoded)
        return f"{len(answer)} B {answer.hex()}"


def _dfu_text(decoded: dict[str, Any]) -> str:
    if "status" in decoded:
        return f"{decoded['status']} {decoded['state']} poll {decoded['poll_ms']} ms"
    return str(decoded["state"])


def _ids(desc: Any) -> tuple[int, int]:
    return int(desc.idVendor), int(desc.idProduct)


def replay(backend: Any, clock: Clock, records: Iterable[dict[str, Any]]) -> ReplayResult:
    """Send the traced requests to ``backend`` at their traced times on ``clock``; stop at the
    first answer that differs from the trace."""
    return _Replayer(backend, clock).run(records)
