"""DFU 1.1's state table (§1.6 of dfuse-spec.md) written down independently of the simulator,
for the tests that compare the simulator with it (tests/sim/test_dfu_state_table.py cell by
cell, support.simfuzz after every random request).

Each cell: "stall", "stall>ERR" (stall, dfuERROR/errSTALLEDPKT), "stall>appIDLE", "none" (no
response) or the name of the state after a successful request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pydfuse.spec import State, Status

if TYPE_CHECKING:
    from pydfuse.sim.board import VirtualBoard

S = State
EVENTS = ("DETACH", "DNLOAD", "DNLOAD0", "UPLOAD", "GETSTATUS", "CLRSTATUS", "GETSTATE", "ABORT")
EXPECTED: dict[State, dict[str, str]] = {
    S.APP_IDLE: dict(
        DETACH="APP_DETACH", DNLOAD="stall", DNLOAD0="stall", UPLOAD="stall",
        GETSTATUS="APP_IDLE", CLRSTATUS="stall", GETSTATE="APP_IDLE", ABORT="stall",
    ),
    S.APP_DETACH: dict(
        DETACH="stall>appIDLE", DNLOAD="stall>appIDLE", DNLOAD0="stall>appIDLE",
        UPLOAD="stall>appIDLE", GETSTATUS="APP_DETACH", CLRSTATUS="stall>appIDLE",
        GETSTATE="APP_DETACH", ABORT="stall>appIDLE",
    ),
    S.DFU_IDLE: dict(
        DETACH="stall>ERR", DNLOAD="DFU_DNLOAD_SYNC", DNLOAD0="stall>ERR",
        UPLOAD="DFU_UPLOAD_IDLE", GETSTATUS="DFU_IDLE", CLRSTATUS="stall>ERR",
        GETSTATE="DFU_IDLE", ABORT="DFU_IDLE",
    ),
    S.DFU_DNLOAD_SYNC: dict(
        DETACH="stall>ERR", DNLOAD="stall>ERR", DNLOAD0="stall>ERR", UPLOAD="stall>ERR",
        GETSTATUS="DFU_DNLOAD_IDLE", CLRSTATUS="stall>ERR", GETSTATE="DFU_DNLOAD_SYNC",
        ABORT="stall>ERR",
    ),
    S.DFU_DNBUSY: {k: "stall>ERR" for k in EVENTS},
    S.DFU_DNLOAD_IDLE: dict(
        DETACH="stall>ERR", DNLOAD="DFU_DNLOAD_SYNC", DNLOAD0="DFU_MANIFEST_SYNC",
        UPLOAD="stall>ERR", GETSTATUS="DFU_DNLOAD_IDLE", CLRSTATUS="stall>ERR",
        GETSTATE="DFU_DNLOAD_IDLE", ABORT="DFU_IDLE",
    ),
    S.DFU_MANIFEST_SYNC: dict(
        DETACH="stall>ERR", DNLOAD="stall>ERR", DNLOAD0="stall>ERR", UPLOAD="stall>ERR",
        GETSTATUS="DFU_MANIFEST", CLRSTATUS="stall>ERR", GETSTATE="DFU_MANIFEST_SYNC",
        ABORT="stall>ERR",
    ),
    S.DFU_MANIFEST: {k: "stall>ERR" for k in EVENTS},
    S.DFU_MANIFEST_WAIT_RESET: {k: "none" for k in EVENTS},
    S.DFU_UPLOAD_IDLE: dict(
        DETACH="stall>ERR", DNLOAD="stall>ERR", DNLOAD0="stall>ERR",
        UPLOAD="DFU_UPLOAD_IDLE", GETSTATUS="DFU_UPLOAD_IDLE", CLRSTATUS="stall>ERR",
        GETSTATE="DFU_UPLOAD_IDLE", ABORT="DFU_IDLE",
    ),
    S.DFU_ERROR: dict(
        DETACH="stall", DNLOAD="stall", DNLOAD0="stall", UPLOAD="stall",
        GETSTATUS="DFU_ERROR", CLRSTATUS="DFU_IDLE", GETSTATE="DFU_ERROR", ABORT="stall",
    ),
}  # fmt: skip
# DFU 1.1 table 3.1: the fixed data length of a request (None: up to wTransferSize), and
# whether it goes device-to-host.
SHAPES: dict[str, tuple[bool, int | None]] = {
    "DETACH": (False, 0),
    "DNLOAD": (False, None),
    "UPLOAD": (True, None),
    "GETSTATUS": (True, 6),
    "CLRSTATUS": (False, 0),
    "GETSTATE": (True, 1),
    "ABORT": (False, 0),
}
REQUESTS = ("DETACH", "DNLOAD", "UPLOAD", "GETSTATUS", "CLRSTATUS", "GETSTATE", "ABORT")


@dataclass(frozen=True)
class Expectation:
    """What §1.6 allows a class request to do in ``before``: how the transfer ends ("ok",
    "stall", "timeout"), the states it may leave, and the status a stall>ERR sets."""

    before: State
    event: str
    outcomes: frozenset[str]
    states: frozenset[State]
    status: Status | None = None
    short_ends_upload: bool = False  # UPLOAD in UPLOAD-IDLE: a short block returns to dfuIDLE
    length: int = 0  # the request's wLength
    generation: int = 0  # the board's enumeration and DFU function when the request was sent
    function: object = None


def expect(
    board: VirtualBoard, bm: int, request: int, index: int, length: int
) -> Expectation | None:
    """The expectation for one class request about to be sent to ``board`` through pyusb, or
    None where §1.6 alone does not decide (the ST demo's own table, armed faults, a request
    held while the device is busy, one pyusb refuses before it reaches the device)."""
    found = _expect(board, bm, request, index, length)
    if found is None:
        return None
    return replace(found, length=length, generation=board.generation, function=board.dfu)


def _expect(
    board: VirtualBoard, bm: int, request: int, index: int, length: int
) -> Expectation | None:
    dfu = board.dfu
    if bm & 0x60 != 0x20 or dfu is None or board.profile.st_demo_requests:
        return None
    if board.faults.armed() or not board.usb_connected or board.usb is None:
        return None
    if dfu.busy_until is not None and board.clock.monotonic() < dfu.busy_until:
        return None
    if bm & 0x1F == 1 and index & 0xFF:
        return None  # pyusb claims interface N first, and there is only interface 0
    dfu.settle()  # what the board does first anyway: work or a detach timer that ran out
    state = dfu.state
    if state not in EXPECTED:
        return None  # invariant 2 (support.simfuzz.check_state) reports that
    if board.usb.configuration == 0:  # USB 2.0 §9.1: an unconfigured device stalls it
        return Expectation(state, "unconfigured", frozenset({"stall"}), frozenset({state}))
    name = REQUESTS[request] if request < len(REQUESTS) else None
    if name is None or not _well_formed(name, bm, index, length):
        return _malformed(state)
    event = "DNLOAD0" if name == "DNLOAD" and length == 0 else name
    cell = EXPECTED[state][event]
    if (state, event) == (S.DFU_IDLE, "DNLOAD0") and board.profile.dfuse:
        cell = "DFU_MANIFEST_SYNC"  # §2.5: DfuSe leave
    return _cell(board, state, event, cell, length)


def _well_formed(name: str, bm: int, index: int, length: int) -> bool:
    device_to_host, fixed = SHAPES[name]
    return (
        bool(bm & 0x80) == device_to_host
        and bm & 0x1F == 1
        and index & 0xFF == 0
        and fixed in (None, length)
    )


def _malformed(state: State) -> Expectation:
    """A request DFU 1.1 does not define this way: §1.6's stall for an unexpected request."""
    if state == S.DFU_MANIFEST_WAIT_RESET:
        return Expectation(state, "malformed", frozenset({"timeout"}), frozenset({state}))
    if state in (S.APP_IDLE, S.APP_DETACH):
        return Expectation(state, "malformed", frozenset({"stall"}), frozenset({S.APP_IDLE}))
    return _stall_error(state, "malformed")


def _stall_error(state: State, event: str) -> Expectation:
    return Expectation(
        state, event, frozenset({"stall"}), frozenset({S.DFU_ERROR}), Status.ERR_STALLEDPKT
    )


def _cell(board: VirtualBoard, state: State, event: str, cell: str, length: int) -> Expectation:
    ok, stall = frozenset({"ok"}), frozenset({"stall"})
    profile = board.profile
    if cell == "stall":
        assert board.dfu is not None
        return Expectation(state, event, stall, frozenset({state}), board.dfu.status)
    if cell == "stall>ERR":
        return _stall_error(state, event)
    if cell == "stall>appIDLE":
        return Expectation(state, event, stall, frozenset({S.APP_IDLE}))
    if cell == "none":
        return Expectation(state, event, frozenset({"timeout"}), frozenset({state}))
    if event == "DNLOAD" and length > profile.transfer_size:
        return _stall_error(state, event)  # §7.11: never more than wTransferSize
    if event == "UPLOAD":
        if length > profile.transfer_size:
            return _stall_error(state, event)
        # A failed read (address, protection, block 1) is dfuERROR with its own status.
        return Expectation(
            state,
            event,
            ok | stall,
            frozenset({S.DFU_UPLOAD_IDLE, S.DFU_IDLE, S.DFU_ERROR}),
            short_ends_upload=state == S.DFU_UPLOAD_IDLE,
        )
    if event == "GETSTATUS" and state == S.DFU_DNLOAD_SYNC:
        # The block or command starts (DNBUSY), was instant (DNLOAD-IDLE) or was refused
        # (dfuERROR with its status): the reply says which.
        after = {S.DFU_DNBUSY, S.DFU_DNLOAD_IDLE, S.DFU_ERROR}
        return Expectation(state, event, ok, frozenset(after))
    if event == "GETSTATUS" and state == S.DFU_MANIFEST_SYNC:
        return Expectation(state, event, ok, frozenset({S.DFU_MANIFEST, S.DFU_IDLE}))
    status = Status.OK if event == "CLRSTATUS" else None
    return Expectation(state, event, ok, frozenset({S[cell]}), status)


def check_transition(board: VirtualBoard, expectation: Expectation, answer: object) -> str | None:
    """What is wrong with how the request ended (``answer``: what pyusb returned, or "stall",
    "timeout", "error") and the state it left; None when nothing is, or when the device left
    or re-enumerated meanwhile (leave, detach, reset: §1.6 ends there)."""
    dfu = board.dfu
    moved = board.generation != expectation.generation or dfu is not expectation.function
    if moved or dfu is None or not board.usb_connected:
        return None
    outcome = answer if isinstance(answer, str) else "ok"
    reply = 0 if isinstance(answer, (str, int)) else len(answer)  # type: ignore[arg-type]
    length = expectation.length
    state = State(dfu.state)
    where = f"{expectation.event} in {expectation.before.name}"
    if outcome not in expectation.outcomes:
        return f"{where} ended as {outcome}; §1.6: {'/'.join(sorted(expectation.outcomes))}"
    allowed = expectation.states
    if expectation.short_ends_upload and outcome == "ok":
        allowed = frozenset({S.DFU_UPLOAD_IDLE if reply == length else S.DFU_IDLE})
    if state not in allowed:
        names = ", ".join(sorted(s.name for s in allowed))
        return f"{where} ({outcome}) left {state.name}; §1.6: {names}"
    if expectation.status is not None and dfu.status != expectation.status:
        return f"{where} left status {Status(dfu.status).name}, not {expectation.status.name}"
    return None
