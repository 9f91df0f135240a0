"""Device selection options and the environment (USB or virtual board) for device commands
(layer: cli).

``-d VID:PID``, ``-S SERIAL``, ``-p PATH``, ``-a ALT`` as dfu-util spells them; the global
``--sim PROFILE`` / ``--sim-state FILE`` choose the virtual board instead of USB hardware.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pydfuse import ops
from pydfuse.cli.context import Terminated, record_wait, settings
from pydfuse.cli.params import VID_PID, VidPid
from pydfuse.cli.render import hex32
from pydfuse.errors import DfuseError
from pydfuse.formats import check_writable
from pydfuse.ops.env import board_files

if TYPE_CHECKING:
    from pydfuse.sim.profiles import BoardProfile

F = TypeVar("F", bound=Callable[..., Any])


DEVICE_OPTION = click.option(
    "-d",
    "--device",
    "device",
    type=VID_PID,
    help="Only devices with this VID:PID (hex, either mode); dfu-util's "
    "RT_VID:RT_PID,DFU_VID:DFU_PID and ,DFU_VID:DFU_PID (DFU mode only) work too.",
)
WAIT_OPTION = click.option(
    "-w",
    "--wait-for-device",
    is_flag=True,
    expose_value=False,
    callback=record_wait,
    help="Wait for the device to appear on the bus (dfu-util -w; Ctrl-C to stop).",
)


NO_PROFILE_OPTION = click.option(
    "--no-profile",
    is_flag=True,
    help="Check only with what the device reports, even on a --sim board (as on a board "
    "pydfuse has no profile for).",
)


def device_options(func: F) -> F:
    """Add the dfu-util style device selection options to a command."""
    options = [
        DEVICE_OPTION,
        click.option("-S", "--serial", help="Only the device with this serial number."),
        click.option("-p", "--path", help='Only the device at this bus path ("1-1.2").'),
        click.option(
            "-a",
            "--alt",
            help="Alternate setting: a number, or (a prefix of) its name, e.g. 'SPI Flash'.",
        ),
        WAIT_OPTION,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def selector(
    device: VidPid | None, serial: str | None, path: str | None, alt: str | None
) -> ops.DeviceSelector:
    """The ops selector for the parsed options (a numeric ``alt`` becomes an int; ``-w``
    waits for ever)."""
    alt_value: int | str | None = alt
    if alt is not None and alt.strip().isdigit():
        alt_value = int(alt)
    dfu = device.dfu if device is not None else None
    return ops.DeviceSelector(
        vid=device.vid if device else None,
        pid=device.pid if device else None,
        serial=serial,
        path=path,
        alt=alt_value,
        dfu_ids=dfu is not None,
        dfu_vid=dfu[0] if dfu is not None else None,
        dfu_pid=dfu[1] if dfu is not None else None,
        runtime=device.runtime if device is not None else True,
        wait_s=math.inf if settings().wait_for_device else None,
    )


def matches(info: ops.DeviceInfo, sel: ops.DeviceSelector) -> bool:
    """Whether a listed device fits every given field of ``sel`` (the alternate is not used)."""
    return sel.matches(info)


def lookup_profile(name: str, *, option: str) -> BoardProfile:
    """The board profile ``name``; an unknown name is a usage error on ``option``."""
    from pydfuse.sim.profiles import PROFILES, get_profile  # the simulator only when asked for

    try:
        return get_profile(name)
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise click.BadParameter(
            f"unknown board profile {name!r}; known: {known}", param_hint=option
        ) from None


def sim_profile() -> BoardProfile | None:
    """The ``--sim`` profile, or None on real hardware; an unknown name is a usage error."""
    name = settings().sim_profile
    return None if name is None else lookup_profile(name, option="--sim")


@contextmanager
def environment(
    *,
    profile_facts: bool = True,
    profile: BoardProfile | None = None,
    one: ops.DeviceSelector | None = None,
) -> Iterator[ops.Environment]:
    """USB hardware, or the ``--sim`` board (saved back to ``--sim-state`` afterwards), narrated
    with ``-v``/``-vv`` and recorded with ``--trace FILE`` (:mod:`pydfuse.cli.observe`).

    The environment carries board facts for the checks: those of ``profile`` (``--profile``)
    when given, else the ``--sim`` board's unless ``profile_facts`` is false.

    A single-device command passes its selector as ``one``: of several virtual boards, the
    environment is then the one board its -S/-p names (that board's clock for modeled times,
    that board in the summary and the trace header), not the first; a selector naming no
    serial or path (-d VID:PID) keeps the first matching board, as on USB."""
    from pydfuse.cli.observe import check_trace_path, observed

    check_trace_path()
    with (
        _terminate_cleanly(),
        _bare_environment(profile_facts) as bare,
        observed(bare if one is None else bare.narrowed(one.serial, one.path)) as seen,
    ):
        yield seen if profile is None else replace(seen, facts=ops.facts_of_profile(profile))


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While a device command runs, SIGTERM raises :class:`~pydfuse.cli.context.Terminated`
    instead of killing the process: the ``with`` blocks unwind, the ``--sim-state`` board is
    saved (its journal would make the file true anyway) and its lock let go, and ``main``
    exits with 143 and one line. A second SIGTERM during that clean-up is ignored (SIGKILL
    still works). Only the main thread can handle signals; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler not set from Python; leave ours off then
            signal.signal(signal.SIGTERM, previous)


@contextmanager
def _bare_environment(profile_facts: bool) -> Iterator[ops.Environment]:
    profile = sim_profile()
    if profile is None:
        yield ops.usb_environment()
        return
    found = settings()
    state, boards = found.sim_state, found.sim_boards
    if state is not None and boards == 1 and state.is_dir():
        boards = _boards_kept_in(state)  # every board a --sim-boards N command left there
    if state is not None:
        _check_state_path(state, boards)
    with ops.sim_environment(
        profile.name,
        state,
        realtime=found.sim_realtime,
        time_scale=found.sim_time_scale,
        boards=boards,
        profile_facts=profile_facts,
        on_wait=_waiting,
    ) as env:
        for board in env.boards:
            loaded = board.profile.name
            if loaded != profile.name:
                raise DfuseError(
                    f"{state} holds a {loaded!r} board, not {profile.name!r}",
                    hint=f"use --sim {loaded}, or another --sim-state file",
                )
        yield env


def _boards_kept_in(state: Path) -> int:
    """How many boards the state directory holds (board-01.json, board-02.json, ...; at least
    one), so that a later command without --sim-boards sees them all, not the first alone."""
    count = 1
    while board_files(state, count + 1)[-1].exists():
        count += 1
    return count


def _waiting() -> None:
    """Another command has the --sim-state file: say why nothing happens yet."""
    if not settings().quiet:
        click.echo("waiting for the virtual board (in use by another command)", err=True)


def _check_state_path(state: Path, boards: int) -> None:
    """Refuse, before a board is touched, a state that could not be saved afterwards:
    otherwise the command would run and its effect on the board be lost."""
    if boards == 1 and not state.is_dir():
        check_writable(state, what="keep the virtual board in")
    elif state.exists() and not state.is_dir():
        raise click.BadParameter(
            f"{state} is a file; with --sim-boards {boards} it must be a directory (one file "
            "per board is kept in it)",
            param_hint="--sim-state",
        )


RESET_OPTION = click.option(
    "-R",
    "--reset",
    "reset",
    is_flag=True,
    help="USB reset when done (dfu-util -R: DFU_DETACH, then a bus reset).",
)


def reset_after(env: ops.Environment, sel: ops.DeviceSelector) -> tuple[dict[str, Any], str]:
    """dfu-util's ``-R`` after an operation: the --json member and the line to print."""
    after = ops.usb_reset(env, sel)
    if after is None:
        return {"mode": None}, "USB reset: the device left the bus"
    text = f"USB reset: {after.id_text} is now in {after.mode} mode"
    if after.mode == "dfu" and after.dfuse:
        text += " (it started no application on the bus reset; :leave or dfuse leave does)"
    elif after.mode == "dfu":  # plain DFU: leave is this same bus reset (§1.6)
        text += " (it started no application on the bus reset)"
    return {"mode": after.mode, "id": after.id_text}, text


def board_line(env: ops.Environment, *, after_leave: bool = False) -> str | None:
    """What the virtual board runs now, for the summaries of --sim commands; ``after_leave``
    says so when a leave ended back in the bootloader (no valid application to start, §2.5)."""
    board = getattr(env, "board", None)
    if board is None:
        return None
    # Only an application has a vector table worth naming: "bootloader from 0x08000000" would
    # be wrong for a plain DFU device, whose bootloader has no address at all.
    app = board.running == "application" and board.vector_table is not None
    where = f" from {hex32(board.vector_table)}" if app else ""
    note = ""
    if after_leave and board.running == "bootloader":
        note = " (no application was started: it is still, or again, in DFU mode)"
    if app:
        from pydfuse.cli.runview import board_run_note

        note = board_run_note(board)
    return (
        f"virtual board {board.profile.name} ({board.serial}): running {board.running}{where}"
        + note
    )


def single_board(env: ops.Environment, command: str) -> Any:
    """The one virtual board ``command`` acts on; a usage error when the environment holds
    several (--sim-boards N, or --sim-state naming a directory of boards), instead of acting
    on the first one without a word."""
    boards = getattr(env, "boards", ())
    if len(boards) > 1:
        raise click.UsageError(
            f"{command} acts on one virtual board, and there are {len(boards)}: give "
            "--sim-state DIR/board-NN.json for one of them (and leave out --sim-boards)"
        )
    return env.board  # type: ignore[attr-defined]


def board_summary(board: Any) -> dict[str, Any]:
    """Which virtual board this is and what it runs, for --json output."""
    return ops.board_summary(board)


def sim_dict(env: ops.Environment) -> dict[str, Any] | None:
    """The virtual board's state for the ``sim`` member of --json output (None on USB)."""
    board = getattr(env, "board", None)
    return None if board is None else board_summary(board)
