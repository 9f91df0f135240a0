"""Many boards at once: every matching device, one worker thread each, failures isolated
(layer: ops).

Imports ``pydfuse.errors`` and the sibling ops modules. A production station (a hub full of
boards) selects its devices as dfu-util does — ``-d VID:PID`` for a kind, or several serials /
bus paths — and runs one verb on all of them in parallel: :func:`flash_many`,
:func:`upload_many`, :func:`leave_many`, or any callable with :func:`each_device`. Each board
gets its own worker (a thread: the host mostly waits for the devices, §2.8), its own
environment (``Environment.for_device``: on virtual boards, that board's clock and a bus view
showing that board alone) and its own outcome: a board that fails (unplugged, verify error)
never stops the others, and the outcomes say which did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from pydfuse.errors import DeviceNotFoundError, DfuseError
from pydfuse.formats import Image
from pydfuse.ops.env import Environment
from pydfuse.ops.firmware import FirmwareSource
from pydfuse.ops.flash import flash
from pydfuse.ops.records import (
    DeviceInfo,
    DeviceSelector,
    FlashResult,
    LeaveResult,
    ProgressEvent,
)
from pydfuse.ops.session import list_devices
from pydfuse.ops.transfer import leave_device, upload
from pydfuse.spec import Attributes

T = TypeVar("T")
BoardProgress = Callable[[DeviceInfo, ProgressEvent], None]
"""Progress of one board: called from that board's worker thread."""
BoardWarn = Callable[[DeviceInfo, str], None]
"""A warning of one board, as soon as it is known: called from that board's worker thread."""
BoardEnvironment = Callable[[Environment, DeviceInfo], AbstractContextManager[Environment]]
"""The environment a board's worker uses, made from the board's own (``for_device``), e.g.
traced into a file of that board's own (``dfuse --trace FILE ... --all``). Entered in the
worker; an error that ends the board's work passes through it."""


@dataclass(frozen=True, slots=True)
class BoardOutcome(Generic[T]):
    """What one board's worker achieved: its ``result``, or the ``error`` that stopped it."""

    device: DeviceInfo
    result: T | None = None
    error: DfuseError | None = None
    elapsed_s: float = 0.0  # on the board's environment clock
    modeled: bool = False  # the clock is a virtual board's (modeled time)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str:
        """How the board is named in summaries: its serial, else its bus path."""
        return self.device.serial or f"path {self.device.path}"

    def to_dict(self) -> dict[str, Any]:
        """One JSON record for the board (the result's own record under ``result``)."""
        result = self.result
        as_dict = getattr(result, "to_dict", None)
        return {
            "serial": self.device.serial,
            "path": self.device.path,
            "id": self.device.id_text,
            "ok": self.ok,
            "elapsed_s": round(self.elapsed_s, 6),
            "modeled": self.modeled,
            "result": as_dict() if callable(as_dict) else result,
            "error": None if self.error is None else str(self.error),
            "hint": None if self.error is None else self.error.hint,
            # what was warned before the failure (everything --force overrode, say)
            "warnings": [] if self.error is None else list(self.error.warnings),
        }


def selectors_for(
    vid: int | None,
    pid: int | None,
    serials: Sequence[str] = (),
    paths: Sequence[str] = (),
    alt: int | str | None = None,
) -> list[DeviceSelector]:
    """One selector per serial and per path (each with the VID:PID), or one for the VID:PID."""
    chosen = [DeviceSelector(vid, pid, serial=s, alt=alt) for s in serials]
    chosen += [DeviceSelector(vid, pid, path=p, alt=alt) for p in paths]
    return chosen or [DeviceSelector(vid, pid, alt=alt)]


def select_devices(
    env: Environment, selectors: Sequence[DeviceSelector], *, dfu_mode_only: bool = False
) -> list[DeviceInfo]:
    """Every device matching any of ``selectors`` (a board once, by bus path); a device
    running its application counts unless ``dfu_mode_only``. DeviceNotFoundError if none."""
    return _select(list_devices(env), selectors, dfu_mode_only=dfu_mode_only)


def _select(
    listed: Sequence[DeviceInfo], selectors: Sequence[DeviceSelector], *, dfu_mode_only: bool
) -> list[DeviceInfo]:
    found: dict[str, DeviceInfo] = {}
    for device in listed:
        if dfu_mode_only and device.mode != "dfu":
            continue
        if any(s.matches(device) for s in selectors) and device.path not in found:
            found[device.path] = device
    if not found:
        raise DeviceNotFoundError(
            f"no DFU device{' in DFU mode' if dfu_mode_only else ''} matches "
            f"{_describe(selectors)}",
            hint="`dfuse list` shows the devices on the bus; check the cables and the hub",
        )
    return list(found.values())


def _absent(selector: DeviceSelector) -> DeviceInfo:
    """A stand-in for a board that was named (serial or path) but is not on the bus."""
    return DeviceInfo(
        vid=selector.vid or 0,
        pid=selector.pid or 0,
        serial=selector.serial,
        path=selector.path or "",
        mode="absent",
        dfu_version="",
        dfuse=False,
        transfer_size=0,
        attributes=Attributes(0),
        detach_timeout_ms=0,
        manufacturer=None,
        product=None,
        bcd_device=0,
        alternates=(),
    )


def on_boards(
    env: Environment,
    selectors: Sequence[DeviceSelector],
    work: Callable[[Environment, DeviceSelector, DeviceInfo], T],
    *,
    alt: int | str | None = None,
    board_env: BoardEnvironment | None = None,
) -> list[BoardOutcome[T]]:
    """``work`` on every device matching ``selectors`` at once (:func:`each_device`), and a
    failed outcome (DeviceNotFoundError) for every board named by serial or bus path that is
    not on the bus: a station that names its boards learns that one is missing, instead of
    a summary of the others saying all is well. DeviceNotFoundError if nothing matches."""
    listed = list_devices(env)
    devices = _select(listed, selectors, dfu_mode_only=False)
    outcomes = each_device(env, devices, work, alt=alt, board_env=board_env)
    for sel in selectors:
        if (sel.serial is None and sel.path is None) or any(sel.matches(d) for d in listed):
            continue
        error = DeviceNotFoundError(
            f"no DFU device matches {_describe([sel])}: it is not connected",
            hint="check its cable and the hub; `dfuse list` shows the devices on the bus",
        )
        outcomes.append(BoardOutcome(_absent(sel), error=error))
    return outcomes


def _describe(selectors: Sequence[DeviceSelector]) -> str:
    parts = []
    for sel in selectors:
        words = []
        if sel.vid is not None or sel.pid is not None:
            vid = "*" if sel.vid is None else f"{sel.vid:04x}"
            pid = "*" if sel.pid is None else f"{sel.pid:04x}"
            words.append(f"{vid}:{pid}")
        if sel.serial is not None:
            words.append(f"serial {sel.serial}")
        if sel.path is not None:
            words.append(f"path {sel.path}")
        parts.append(" ".join(words) or "any device")
    return ", ".join(parts)


def each_device(
    env: Environment,
    devices: Sequence[DeviceInfo],
    work: Callable[[Environment, DeviceSelector, DeviceInfo], T],
    *,
    alt: int | str | None = None,
    board_env: BoardEnvironment | None = None,
) -> list[BoardOutcome[T]]:
    """Run ``work(environment, selector, device)`` for every device, one thread each, and
    return the outcomes in the order of ``devices`` (``board_env``: how each worker's
    environment is made from the board's own, :data:`BoardEnvironment`).

    The selector names the board by serial and bus path (what stays the same when a running
    application is detached into DFU mode). A :class:`DfuseError` ends that board's outcome;
    any other exception is a bug and is raised again once every worker has finished.
    """
    outcomes: list[BoardOutcome[T] | None] = [None] * len(devices)
    bugs: list[BaseException] = []
    cancel = threading.Event()
    make_env = board_env

    def run(index: int, device: DeviceInfo) -> None:
        board_env = _cancellable(env.for_device(device.serial, device.path), cancel)
        selector = DeviceSelector(serial=device.serial, path=device.path, alt=alt)
        started = board_env.clock.monotonic()
        try:
            wrap = nullcontext(board_env) if make_env is None else make_env(board_env, device)
            with wrap as used:
                result = work(used, selector, device)
            outcome: BoardOutcome[T] = BoardOutcome(device, result=result)
        except DfuseError as error:
            outcome = BoardOutcome(device, error=error)
        except _Cancelled:
            return  # the main thread was interrupted: it raises KeyboardInterrupt itself
        except BaseException as bug:  # reported after the others have finished
            bugs.append(bug)
            outcome = BoardOutcome(device, error=DfuseError(f"internal error: {bug!r}"))
        elapsed = board_env.clock.monotonic() - started
        outcomes[index] = replace(outcome, elapsed_s=elapsed, modeled=board_env.modeled)

    threads = [
        threading.Thread(target=run, args=(i, d), name=f"dfuse-{d.serial or d.path}", daemon=True)
        for i, d in enumerate(devices)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        # Stop every worker at its next control transfer and wait for it: the caller then
        # closes (saves) each board while no worker changes it any more.
        cancel.set()
        for thread in threads:
            thread.join()
        raise
    if bugs:
        raise bugs[0]
    return [o for o in outcomes if o is not None]


class _Cancelled(BaseException):
    """Raised in a worker at its next control transfer once the main thread was interrupted
    (a BaseException, so that no retry or error handler of the host layer absorbs it)."""


class _CancellableBackend:
    """A pyusb backend passing everything to ``inner`` until ``cancel`` is set; from then on
    every control transfer raises :class:`_Cancelled` instead of reaching the device."""

    def __init__(self, inner: Any, cancel: threading.Event) -> None:
        self._inner = inner
        self._cancel = cancel

    def ctrl_transfer(self, *args: Any, **kwargs: Any) -> Any:
        if self._cancel.is_set():
            raise _Cancelled
        return self._inner.ctrl_transfer(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _cancellable(board_env: Environment, cancel: threading.Event) -> Environment:
    return replace(board_env, backend=_CancellableBackend(board_env.resolved_backend(), cancel))


def _per_board(
    progress: BoardProgress | None, device: DeviceInfo
) -> Callable[[ProgressEvent], None] | None:
    if progress is None:
        return None
    return lambda event: progress(device, event)


def flash_many(
    env: Environment,
    selectors: Sequence[DeviceSelector],
    firmware: FirmwareSource,
    *,
    progress: BoardProgress | None = None,
    warn: BoardWarn | None = None,
    board_env: BoardEnvironment | None = None,
    **options: Any,
) -> list[BoardOutcome[FlashResult]]:
    """:func:`pydfuse.ops.flash` on every device matching ``selectors`` at once (``options``
    as for ``flash``: verify, leave, delta, force, dry_run, ...). DeviceNotFoundError if no
    device matches; each board's failure is in its outcome, a board named by serial or path
    that is not connected included (:func:`on_boards`). ``warn`` gets each board's warnings
    as ``flash``'s ``warn`` does: before that board's first byte is sent."""
    alt = selectors[0].alt if selectors else None

    def work(board_env: Environment, sel: DeviceSelector, device: DeviceInfo) -> FlashResult:
        said = None if warn is None else (lambda text: warn(device, text))
        progress_of = _per_board(progress, device)
        return flash(board_env, sel, firmware, progress=progress_of, warn=said, **options)

    return on_boards(env, selectors, work, alt=alt, board_env=board_env)


def upload_many(
    env: Environment,
    selectors: Sequence[DeviceSelector],
    *,
    address: int | None = None,
    length: int | None = None,
    progress: BoardProgress | None = None,
    board_env: BoardEnvironment | None = None,
) -> list[BoardOutcome[Image]]:
    """:func:`pydfuse.ops.upload` of every matching device at once: one image per board."""
    alt = selectors[0].alt if selectors else None

    def work(board_env: Environment, sel: DeviceSelector, device: DeviceInfo) -> Image:
        return upload(
            board_env,
            sel,
            address=address,
            length=length,
            progress=_per_board(progress, device),
        ).image

    return on_boards(env, selectors, work, alt=alt, board_env=board_env)


def leave_many(
    env: Environment,
    selectors: Sequence[DeviceSelector],
    address: int | None = None,
    *,
    force: bool = False,
    board_env: BoardEnvironment | None = None,
) -> list[BoardOutcome[LeaveResult]]:
    """:func:`pydfuse.ops.leave_device` on every matching device at once: a board already
    running its application is left alone and says so (``already_running``), as one would be
    by ``dfuse leave``; ``address`` switches such a board into DFU mode first."""

    def work(board_env: Environment, sel: DeviceSelector, device: DeviceInfo) -> LeaveResult:
        return leave_device(board_env, sel, address, force=force)

    return on_boards(env, selectors, work, board_env=board_env)
