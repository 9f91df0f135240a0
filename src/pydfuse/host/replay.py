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
import itertools
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydfuse.errors import FormatError
from pydfuse.formats.atomic import open_input
from pydfuse.host.clock import Clock
from pydfuse.host.trace import (
    TRACE_FORMAT,
    describe,
    device_path,
    dfu_answer,
    digest,
    error_kind,
)

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


MAX_TRACE_BYTES = 512 << 20  # a 24 MiB full flash with --trace-data stays well below
MAX_LINE_BYTES = 1 << 20  # the longest transfer (64 KiB) is 128 KiB of hex


def read_trace(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the event records of a ``--trace`` file (``.gz`` too), every field
    checked (:class:`FormatError` naming the line). A trace whose recording was cut off
    (no end record, the last line cut short, a gzip stream without its trailer) is read as
    far as it goes; the replay says so."""
    records: list[dict[str, Any]] = []
    for number, line, complete in _trace_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if not complete:
                break  # the line a killed recording was writing: the trace ends before it
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


def _trace_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(number, line, ended with a newline) of a trace file, gzip or not, never holding more
    than one line; refuses a file larger than :data:`MAX_TRACE_BYTES` once unpacked."""
    with open_input(path) as raw:
        packed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=raw) if packed else raw
        total = 0
        for number in itertools.count(1):
            try:
                line = stream.readline(MAX_LINE_BYTES + 1)
            except EOFError:
                return  # a gzip stream without its trailer: what a killed recording leaves
            except (OSError, zlib.error) as error:
                raise FormatError(f"damaged gzip data ({error})", path=str(path)) from None
            if not line:
                return
            total += len(line)
            if total > MAX_TRACE_BYTES:
                raise FormatError(
                    f"larger than {MAX_TRACE_BYTES >> 20} MiB unpacked: not a trace of one "
                    "device command",
                    path=str(path),
                )
            if len(line) > MAX_LINE_BYTES:
                raise FormatError(
                    f"a line longer than {MAX_LINE_BYTES >> 20} MiB: not a trace line",
                    path=str(path),
                    line=number,
                )
            yield number, line, line.endswith(b"\n")


def _checked(record: dict[str, Any], number: int, path: Path) -> dict[str, Any]:
    """``record`` if every field the replay reads has the kind the recorder writes."""
    problem = _header_problem(record) if "trace" in record else _event_problem(record)
    if problem:
        raise FormatError(problem, path=str(path), line=number)
    return record


def _header_problem(record: dict[str, Any]) -> str | None:
    version = record.get("format", TRACE_FORMAT)
    if version != TRACE_FORMAT:
        return f"trace format {version!r}: this pydfuse reads format {TRACE_FORMAT}"
    return None


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _event_problem(record: dict[str, Any]) -> str | None:
    op = record.get("op")
    if op not in _OPS:
        return f"unknown event {op!r}"
    if op == "end":
        return None
    needed = {"open": ("vid", "pid", "result"), "control": ("setup", "length", "result")}
    missing = [key for key in (*needed.get(op, ()), "t", "result") if key not in record]
    if missing:
        return f"{op} event lacks {', '.join(dict.fromkeys(missing))}"
    t = record["t"]
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= 1e9:
        return f"{op} event: t must be the seconds since the trace began, not {t!r}"
    if not isinstance(record["result"], str):
        return f"{op} event: result must be a word (ok, stall, ...), not {record['result']!r}"
    if op == "open" and not all(_is_int(record[k], 0, 0xFFFF) for k in ("vid", "pid")):
        return "open event: vid and pid must be numbers 0..65535"
    return _control_problem(record) if op == "control" else None


def _control_problem(record: dict[str, Any]) -> str | None:
    setup = record["setup"]
    ranges = {"bmRequestType": 0xFF, "bRequest": 0xFF, "wValue": 0xFFFF, "wIndex": 0xFFFF}
    if not isinstance(setup, dict) or not all(
        _is_int(setup.get(k), 0, high) for k, high in ranges.items()
    ):
        return "control event: setup needs bmRequestType, bRequest (0..255), wValue, wIndex"
    if not _is_int(record["length"], 0, 0xFFFF):
        return "control event: length must be 0..65535 (a USB wLength)"
    timeout = record.get("timeout_ms")
    if timeout is not None and not _is_int(timeout, 0, 1 << 31):
        return f"control event: timeout_ms must be a number of milliseconds, not {timeout!r}"
    for key in ("in", "out"):
        if key in record and (problem := _data_problem(key, record[key])):
            return f"control event: {problem}"
    sent, got = record.get("out"), record.get("in")
    if sent is not None and sent["length"] != record["length"]:
        return "control event: out.length must be the transfer's length"
    if got is not None and got["length"] > record["length"]:
        return "control event: in.length is more than the transfer's length"
    return None


def _data_problem(key: str, data: Any) -> str | None:
    if not isinstance(data, dict) or not _is_int(data.get("length"), 0, 0xFFFF):
        return f"{key}.length must be 0..65535"
    if "hex" in data:
        text = data["hex"]
        try:
            size = len(bytes.fromhex(text)) if isinstance(text, str) else -1
        except ValueError:
            size = -1
        if size != data["length"]:
            return f"{key}.hex must be {data['length']} bytes of hex digits"
    elif not isinstance(data.get("sha256"), str):
        return f"{key} needs hex or sha256"
    return None


class _Replayer:
    def __init__(self, backend: Any, clock: Clock) -> None:
        self.backend = backend
        self.clock = clock
        self.handles: dict[Any, Any] = {}
        self.serial_index: dict[Any, int] = {}  # trace handle -> its iSerialNumber
        self.result = ReplayResult()

    def run(self, records: Iterable[dict[str, Any]]) -> ReplayResult:
        start = self.clock.monotonic()
        ended = False
        for record in records:
            op = record["op"]
            if op == "end":
                ended = True
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
                return self.result
        if not ended:
            self.result.notes.append(
                f"the trace ends without its end record after {self.result.events} events: "
                "the recording was cut off (the command killed?); replayed as far as it goes"
            )
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
