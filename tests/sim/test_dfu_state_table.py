"""Every DFU state x every request, compared with an independent transcription of §1.6
(support.dfu11).

This is the one place that calls the model's class handler directly (to put it in each state);
everything else goes through pyusb.
"""

from __future__ import annotations

import pytest

from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.bootloader import DfuFunction
from pydfuse.sim.usbdev import NoResponse, Setup, Stall
from pydfuse.spec import Request, State, Status
from support.dfu11 import EXPECTED

OUT, IN = 0x21, 0xA1


def _setup(event: str, transfer_size: int) -> tuple[Setup, bytes]:
    if event == "DNLOAD":
        return Setup(OUT, Request.DNLOAD, 0, 0, 16), bytes(16)
    if event == "DNLOAD0":
        return Setup(OUT, Request.DNLOAD, 1, 0, 0), b""
    if event == "UPLOAD":  # a full block, so UPLOAD-IDLE stays in UPLOAD-IDLE
        return Setup(IN, Request.UPLOAD, 0, 0, transfer_size), b""
    request = Request[event]
    direction = IN if request in (Request.GETSTATUS, Request.GETSTATE) else OUT
    length = {Request.GETSTATUS: 6, Request.GETSTATE: 1}.get(request, 0)
    return Setup(direction, request, 0, 0, length), b""


def _function(state: State, profile: str) -> DfuFunction:
    board = VirtualBoard(profile)
    fn = board.dfu
    assert fn is not None
    fn.state, fn.status = state, Status.OK
    return fn


def _outcome(fn: DfuFunction, setup: Setup, data: bytes) -> str:
    try:
        reply = fn.class_request(setup, data)
    except Stall:
        if fn.state == State.DFU_ERROR and fn.status == Status.ERR_STALLEDPKT:
            return "stall>ERR"
        if fn.state == State.APP_IDLE:
            return "stall>appIDLE"
        return "stall"
    except NoResponse:
        return "none"
    if setup.bRequest == Request.GETSTATUS:
        assert State(reply[4]) == fn.state  # bState = the state entered after the reply
    if setup.bRequest == Request.GETSTATE:
        assert reply == bytes((fn.state,))
    return fn.state.name


CASES = [(state, event) for state, row in EXPECTED.items() for event in row]


@pytest.mark.parametrize(("state", "event"), CASES, ids=[f"{s.name}-{e}" for s, e in CASES])
def test_plain_dfu_matches_section_1_6(state: State, event: str) -> None:
    fn = _function(state, "plain-dfu")
    expected = EXPECTED[state][event]
    if state == State.APP_DETACH and expected.startswith("stall"):
        expected = "stall>appIDLE"
    setup, data = _setup(event, fn.profile.transfer_size)
    got = _outcome(fn, setup, data)
    # appIDLE stalls keep appIDLE, which _outcome also reports as "stall>appIDLE"
    if state == State.APP_IDLE and expected == "stall":
        assert got in ("stall", "stall>appIDLE")
    else:
        assert got == expected


@pytest.mark.parametrize(("state", "event"), CASES, ids=[f"{s.name}-{e}" for s, e in CASES])
def test_dfuse_differs_only_in_leave_from_idle(state: State, event: str) -> None:
    """§2.5: a zero-length DNLOAD in dfuIDLE means 'leave' on DfuSe devices."""
    fn = _function(state, "stm3210e-eval")
    setup, data = _setup(event, fn.profile.transfer_size)
    if event == "DNLOAD":  # DfuSe: a 16-byte block 0 is not a command; use Set Address
        data = b"\x21\x00\x30\x00\x08"
        setup = Setup(OUT, Request.DNLOAD, 0, 0, len(data))
    if event == "UPLOAD":  # DfuSe: wValue 0 is Get Commands (short); read memory instead
        setup = Setup(IN, Request.UPLOAD, 2, 0, fn.profile.transfer_size)
    got = _outcome(fn, setup, data)
    expected = EXPECTED[state][event]
    if (state, event) == (State.DFU_IDLE, "DNLOAD0"):
        expected = "DFU_MANIFEST_SYNC"
    if state in (State.APP_IDLE,) and expected == "stall":
        assert got in ("stall", "stall>appIDLE")
    else:
        assert got == expected


def test_getstatus_in_dnload_sync_with_pending_block_answers_dnbusy() -> None:
    fn = _function(State.DFU_IDLE, "plain-dfu")
    fn.class_request(Setup(OUT, Request.DNLOAD, 0, 0, 16), bytes(16))
    reply = fn.class_request(Setup(IN, Request.GETSTATUS, 0, 0, 6), b"")
    assert State(reply[4]) == State.DFU_DNBUSY
    assert reply[1] | reply[2] << 8 | reply[3] << 16 > 0  # a 1 KB page erase + program


def test_short_upload_in_upload_idle_returns_to_idle() -> None:
    fn = _function(State.DFU_UPLOAD_IDLE, "plain-dfu")
    last_block = 64 * 1024 // fn.profile.transfer_size - 1
    fn.class_request(Setup(IN, Request.UPLOAD, last_block, 0, fn.profile.transfer_size), b"")
    assert fn.state == State.DFU_UPLOAD_IDLE  # a full block: stay
    reply = fn.class_request(Setup(IN, Request.UPLOAD, last_block + 1, 0, 64), b"")
    assert reply == b"" and fn.state == State.DFU_IDLE
