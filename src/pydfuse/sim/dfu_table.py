"""The DFU 1.1 state transition table as data (layer: sim; imports pydfuse.spec).

§1.6 of dfuse-spec.md, one cell per (state, event). The state machine in
:mod:`pydfuse.sim.bootloader` looks every request up here first, so the table, not scattered
``if`` statements, decides what is legal; the handlers only run for cells marked ``ACCEPT`` and
decide the next state there (e.g. DNBUSY vs DNLOAD-IDLE). Tests drive the model through every
cell and compare with an independent transcription of §1.6.

DfuSe differs in one cell (§2.5): a zero-length DNLOAD in dfuIDLE starts "leave" (dfu-util sends
ABORT, sees dfuIDLE, and then leaves), which DFU 1.1 stalls. :data:`DFUSE_TABLE` carries it.

:data:`ST_DEMO_TABLE` is the request handling of ST's USB-FS demo and Cube class (§2.9, §2.10,
§7.8, §7.9), opt-in through ``BoardProfile.st_demo_requests``: wrong-state DNLOAD/UPLOAD/DETACH
stall without entering dfuERROR, CLRSTATUS outside dfuERROR yields dfuERROR/errUNKNOWN, ABORT is
acknowledged and ignored where it cannot abort.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType

from pydfuse.spec import Request, State

__all__ = [
    "DFUSE_TABLE",
    "DFU_TABLE",
    "EVENTS",
    "Cell",
    "Event",
    "malformed_cell",
    "well_formed",
]


class Event(Enum):
    """A DFU class request as the table sees it (DNLOAD split by length, §1.6 columns)."""

    DETACH = "DETACH"
    DNLOAD = "DNLOAD len>0"
    DNLOAD_ZERO = "DNLOAD len=0"
    UPLOAD = "UPLOAD"
    GETSTATUS = "GETSTATUS"
    CLRSTATUS = "CLRSTATUS"
    GETSTATE = "GETSTATE"
    ABORT = "ABORT"


EVENTS: tuple[Event, ...] = tuple(Event)


class Cell(Enum):
    """What the table says about one request in one state."""

    ACCEPT = "accept"  # a handler runs and decides the next state
    STAY = "stay"  # answered, state unchanged (GETSTATUS / GETSTATE replies)
    STALL = "stall"  # stall, state and status unchanged
    STALL_ERROR = "stall->ERR"  # stall, go to dfuERROR with errSTALLEDPKT
    STALL_APP_IDLE = "stall->appIDLE"  # stall and return to appIDLE
    NO_RESPONSE = "no response"  # the device does not answer (host times out)
    IGNORE = "ignore"  # acknowledged, nothing changes (ST demo ABORT, §7.9)
    ERROR_UNKNOWN = "->ERR(errUNKNOWN)"  # acknowledged, dfuERROR/errUNKNOWN (ST demo, §7.8)


_A, _S, _X, _E, _I, _N = (
    Cell.ACCEPT,
    Cell.STAY,
    Cell.STALL,
    Cell.STALL_ERROR,
    Cell.STALL_APP_IDLE,
    Cell.NO_RESPONSE,
)

# Columns: DETACH, DNLOAD>0, DNLOAD=0, UPLOAD, GETSTATUS, CLRSTATUS, GETSTATE, ABORT (§1.6).
_ROWS: dict[State, tuple[Cell, ...]] = {
    State.APP_IDLE: (_A, _X, _X, _X, _S, _X, _S, _X),
    State.APP_DETACH: (_I, _I, _I, _I, _S, _I, _S, _I),
    State.DFU_IDLE: (_E, _A, _E, _A, _S, _E, _S, _S),
    State.DFU_DNLOAD_SYNC: (_E, _E, _E, _E, _A, _E, _S, _E),
    State.DFU_DNBUSY: (_E, _E, _E, _E, _E, _E, _E, _E),
    State.DFU_DNLOAD_IDLE: (_E, _A, _A, _E, _S, _E, _S, _A),
    State.DFU_MANIFEST_SYNC: (_E, _E, _E, _E, _A, _E, _S, _E),
    State.DFU_MANIFEST: (_E, _E, _E, _E, _E, _E, _E, _E),
    State.DFU_MANIFEST_WAIT_RESET: (_N, _N, _N, _N, _N, _N, _N, _N),
    State.DFU_UPLOAD_IDLE: (_E, _E, _E, _A, _S, _E, _S, _A),
    State.DFU_ERROR: (_X, _X, _X, _X, _S, _A, _S, _X),
}

DFU_TABLE: Mapping[tuple[State, Event], Cell] = MappingProxyType(
    {
        (state, event): cell
        for state, row in _ROWS.items()
        for event, cell in zip(EVENTS, row, strict=True)
    }
)
DFUSE_TABLE: Mapping[tuple[State, Event], Cell] = MappingProxyType(
    {**DFU_TABLE, (State.DFU_IDLE, Event.DNLOAD_ZERO): Cell.ACCEPT}
)


def _st_demo_cell(state: State, event: Event) -> Cell:
    """§2.9: what the USB-FS demo does with ``event`` in a DFU-mode ``state``."""
    if event is Event.DETACH:
        return Cell.STALL
    if event in (Event.DNLOAD, Event.DNLOAD_ZERO):
        return Cell.ACCEPT if state in (State.DFU_IDLE, State.DFU_DNLOAD_IDLE) else Cell.STALL
    if event is Event.UPLOAD:
        return Cell.ACCEPT if state in (State.DFU_IDLE, State.DFU_UPLOAD_IDLE) else Cell.STALL
    if event is Event.CLRSTATUS:
        return Cell.ACCEPT if state == State.DFU_ERROR else Cell.ERROR_UNKNOWN
    if event is Event.GETSTATE:
        return Cell.STAY
    if event is Event.ABORT:
        abortable = (
            State.DFU_IDLE,
            State.DFU_DNLOAD_SYNC,
            State.DFU_DNLOAD_IDLE,
            State.DFU_MANIFEST_SYNC,
            State.DFU_UPLOAD_IDLE,
        )
        return Cell.ACCEPT if state in abortable else Cell.IGNORE
    return DFUSE_TABLE[(state, event)]  # GETSTATUS as in DFU 1.1


_DFU_MODE = [s for s in State if s not in (State.APP_IDLE, State.APP_DETACH)]
ST_DEMO_TABLE: Mapping[tuple[State, Event], Cell] = MappingProxyType(
    {
        **DFUSE_TABLE,
        **{
            (state, event): _st_demo_cell(state, event)
            for state in _DFU_MODE
            if state != State.DFU_MANIFEST_WAIT_RESET
            for event in EVENTS
        },
    }
)


# DFU 1.1 table 3.1 (§1.2): every class request goes to the interface (recipient 1, wIndex =
# interface 0); its direction, and the data length where the spec fixes one.
_INTERFACE_RECIPIENT = 0x01
_SHAPES: Mapping[Request, tuple[bool, int | None]] = MappingProxyType(
    {
        Request.DETACH: (False, 0),
        Request.DNLOAD: (False, None),  # up to wTransferSize, checked by the handler
        Request.UPLOAD: (True, None),  # likewise
        Request.GETSTATUS: (True, 6),
        Request.CLRSTATUS: (False, 0),
        Request.GETSTATE: (True, 1),
        Request.ABORT: (False, 0),
    }
)


def well_formed(request: Request, bm_request_type: int, w_index: int, w_length: int) -> bool:
    """Whether a DFU class request has the direction, recipient, interface and wLength that
    DFU 1.1 gives it (table 3.1). The handler checks nothing else before the §1.6 table."""
    device_to_host, length = _SHAPES[request]
    return (
        bool(bm_request_type & 0x80) == device_to_host
        and bm_request_type & 0x1F == _INTERFACE_RECIPIENT
        and w_index & 0xFF == 0
        and (length is None or w_length == length)
    )


def malformed_cell(state: State, *, st_demo: bool) -> Cell:
    """What a request that is not a well-formed DFU request does in ``state``: §1.6's stall
    (→ dfuERROR/errSTALLEDPKT in DFU mode, → appIDLE from appDETACH, no answer while waiting
    for a reset). ST's demo (§2.9) refuses unsupported requests with a plain stall."""
    if state == State.DFU_MANIFEST_WAIT_RESET:
        return Cell.NO_RESPONSE
    if state == State.APP_IDLE:
        return Cell.STALL
    if state == State.APP_DETACH:
        return Cell.STALL_APP_IDLE
    return Cell.STALL if st_demo else Cell.STALL_ERROR
