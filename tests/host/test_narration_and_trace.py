"""What the host tells its loggers (``dfuse -v``/``-vv``) and what the tracing backend records,
against the virtual board's real pyusb backend: a stalled or timed-out status poll is retried
and said so, and every control transfer of the run is in the trace, decoded."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pydfuse import ops
from pydfuse.host.trace import describe, request_name
from pydfuse.ops import DeviceSelector, erase
from pydfuse.spec import Request, State
from support.boards import APP_ADDRESS, Rig

ANY = DeviceSelector()


class _FaultAfterBusy:
    """Passes everything to the board's backend; when the board first answers dfuDNBUSY,
    arms the board's own one-shot fault, so the next status poll fails as a real ROM's does."""

    def __init__(self, inner: Any, rig: Rig, fault: str) -> None:
        self._inner, self._rig, self._fault, self.fired = inner, rig, fault, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def ctrl_transfer(self, handle: Any, rt: int, req: int, value: int, index: int, data: Any,
                      timeout: Any) -> Any:  # fmt: skip
        result = self._inner.ctrl_transfer(handle, rt, req, value, index, data, timeout)
        busy = rt == 0xA1 and req == Request.GETSTATUS and data[4] == State.DFU_DNBUSY
        if busy and not self.fired:
            self.fired = True
            faults = self._rig.board.faults
            faults.stall_next() if self._fault == "stall" else faults.timeout_next()
        return result


@pytest.mark.parametrize(("fault", "words"), [("stall", "stalled"), ("timeout", "timed out")])
def test_a_failed_status_poll_is_retried_and_said(
    rig: Rig, fault: str, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = _FaultAfterBusy(rig.backend, rig, fault)
    env = ops.Environment(backend=backend, clock=rig.board.clock)
    with caplog.at_level(logging.INFO, logger="pydfuse"):
        result = erase(env, ANY, address=APP_ADDRESS, length=1)
    assert backend.fired and result.erased_sectors == (APP_ADDRESS,)
    messages = [r.getMessage() for r in caplog.records]
    assert f"GETSTATUS {words} during erase; asking again (retry 1 of 3)" in messages
    assert any(m.startswith(f"erase 0x{APP_ADDRESS:08x}: DFU_DNLOAD_IDLE") for m in messages)


def test_recovery_to_idle_is_said(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pydfuse"):
        erase(rig.env, ANY, address=APP_ADDRESS, length=1)
    # The ST demo starts in dfuERROR (errFIRMWARE, no application): CLRSTATUS brings it back.
    assert "device in DFU_ERROR: sending CLRSTATUS to reach dfuIDLE" in caplog.messages


def test_the_trace_holds_every_transfer_the_board_saw(rig: Rig) -> None:
    records: list[dict[str, Any]] = []
    env = ops.traced(rig.env, [records.append])
    erase(env, ANY, address=APP_ADDRESS, length=1)
    controls = [r for r in records if r["op"] == "control"]
    # SET_INTERFACE goes through its own backend call (the recorder below logs ctrl_transfer).
    assert [r["request"] for r in controls if r["setup"]["bRequest"] == 0x0B] == ["SET_INTERFACE 0"]
    controls = [r for r in controls if r["setup"]["bRequest"] != 0x0B]
    assert len(controls) == len(rig.backend.log)  # the recording backend below saw the same
    for record, seen in zip(controls, rig.backend.log, strict=True):
        setup = record["setup"]
        assert (setup["bmRequestType"], setup["bRequest"]) == (seen.request_type, seen.request)
        assert (setup["wValue"], setup["wIndex"]) == (seen.value, seen.index)
    assert [r["n"] for r in records] == list(range(1, len(records) + 1))
    lines = [describe(r) for r in records]
    assert f"DfuSe ERASE 0x{APP_ADDRESS:08x}" in lines
    assert any(line.startswith("DFU_GETSTATUS -> OK DFU_DNBUSY poll ") for line in lines)


def test_request_names() -> None:
    assert request_name(0xA1, 3, 0, None) == "DFU_GETSTATUS"
    assert request_name(0x21, 1, 2, b"\x00" * 64) == "DFU_DNLOAD block 2"
    assert request_name(0x21, 1, 0, b"\x41") == "DfuSe MASS_ERASE"
    assert request_name(0x21, 1, 0, b"\x21\x00\x30\x00\x08") == "DfuSe SET_ADDRESS 0x08003000"
    assert request_name(0x21, 1, 0, b"") == "DFU_DNLOAD zero-length (leave)"
    assert request_name(0x80, 6, 0x0304, None) == "GET_DESCRIPTOR string 4"
    assert request_name(0x01, 0x0B, 2, b"") == "SET_INTERFACE 2"
