"""Where devices come from: real USB (libusb) or a virtual board (layer: ops).

Imports ``pydfuse.host``, ``pydfuse.checks`` (board facts) and, lazily inside
:func:`sim_environment`, ``pydfuse.sim``. Backends
and clocks are passed in explicitly, never probed (design.md, principle 5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydfuse.checks import BoardFacts, RamRange
from pydfuse.errors import FormatError
from pydfuse.host.clock import Clock, SystemClock
from pydfuse.host.trace import Sink, TracingBackend
from pydfuse.host.usb import libusb_backend


@dataclass(frozen=True, slots=True)
class Environment:
    """A pyusb backend (None = libusb through libusb_package's bundled library), a clock, and
    what is known about the board beyond its layout strings (``facts``: SRAM, application
    address; None on real hardware, where the checks infer them).

    Usable in a ``with`` statement (``with ops.usb_environment() as env:``), like
    :func:`sim_environment`.
    """

    backend: Any = None
    clock: Clock = field(default_factory=SystemClock)
    facts: BoardFacts | None = None

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def board_facts(
        self, sram: RamRange | tuple[RamRange, ...] | None, app_address: int | None
    ) -> tuple[RamRange | tuple[RamRange, ...] | None, int | None]:
        """``sram`` and ``app_address`` as given, else from :attr:`facts`."""
        if self.facts is None:
            return sram, app_address
        return (
            sram if sram is not None else (self.facts.ram or None),
            app_address if app_address is not None else self.facts.app_address,
        )

    def resolved_backend(self) -> Any:
        """The backend to hand to pyusb; loads libusb on first use when none was given."""
        return self.backend if self.backend is not None else libusb_backend()

    def for_device(self, serial: str | None, path: str | None) -> Environment:
        """The environment one worker uses for the device with ``serial`` at ``path`` (the
        same one on USB hardware; on virtual boards, that board's own clock)."""
        return self

    def narrowed(self, serial: str | None, path: str | None) -> Environment:
        """The environment of a single-device command selecting ``serial`` and/or ``path``:
        on virtual boards, :meth:`for_device` of the one board both name (its clock, a bus of
        it alone); otherwise (USB hardware, no such board, neither given) this one."""
        return self

    @property
    def modeled(self) -> bool:
        """Whether the clock tells a virtual board's modeled time (not the wall clock)."""
        return False


@dataclass(frozen=True, slots=True)
class SimEnvironment(Environment):
    """An environment on virtual boards on one bus; ``board`` is the one whose clock this
    environment uses (a ``pydfuse.sim.board.VirtualBoard``), ``boards`` all of them."""

    board: Any = None
    boards: tuple[Any, ...] = ()

    @property
    def modeled(self) -> bool:
        return True

    def _ports(self) -> dict[str, Any]:
        """Each board by its bus path (1-1, 1-2, ...)."""
        return {f"1-{port}": board for port, board in enumerate(self.boards, start=1)}

    def for_device(self, serial: str | None, path: str | None) -> SimEnvironment:
        board = self._ports().get(path or "") or next(
            (b for b in self.boards if serial is not None and b.serial == serial), self.board
        )
        backend = self.backend.only(board) if hasattr(self.backend, "only") else self.backend
        return SimEnvironment(backend, board.clock, self.facts, board, self.boards)

    def narrowed(self, serial: str | None, path: str | None) -> SimEnvironment:
        if len(self.boards) < 2 or (serial is None and path is None):
            return self
        chosen = [
            port
            for port, board in self._ports().items()
            if path in (None, port) and serial in (None, board.serial)
        ]
        return self.for_device(serial, chosen[0]) if len(chosen) == 1 else self


def traced(env: Environment, sinks: list[Sink], *, keep_data: bool = False) -> Environment:
    """``env`` with every bus event (device opened, control transfer, bus reset) handed to
    ``sinks`` as a record (:mod:`pydfuse.host.trace`); firmware data hashed unless
    ``keep_data``. A SimEnvironment stays one (same board)."""
    backend = TracingBackend(env.resolved_backend(), env.clock, sinks, keep_data=keep_data)
    return replace(env, backend=backend)


def board_summary(board: Any) -> dict[str, Any]:
    """Which virtual board this is and what it runs (``--json`` output, the GUI); ``run`` is
    what the running application did on the board's Cortex-M core (None in DFU mode)."""
    run = None
    if board.running == "application" and getattr(board, "app_run", None) is not None:
        from pydfuse.ops.run import report_run

        run = report_run(board.app_run, board.profile).to_dict()
    return {
        "profile": board.profile.name,
        "serial": board.serial,
        "running": board.running,
        "vector_table": board.vector_table,
        "virtual_time_s": round(board.clock.monotonic(), 6),
        "run": run,
    }


def facts_of_profile(profile: Any) -> BoardFacts:
    """The :class:`BoardFacts` of a ``pydfuse.sim.profiles.BoardProfile``: its SRAM (and CCM
    RAM where the part has it), the bootloader's fixed application address and the layout
    strings of its alternates."""
    ram: list[RamRange] = [(profile.sram_start, profile.sram_end)]
    ccm = getattr(profile, "ccm", None)
    if ccm is not None:
        ram.append((ccm[0], ccm[1]))
    layouts = tuple(alt.layout for alt in profile.alternates)
    return BoardFacts(tuple(ram), profile.app_address, profile.name, layouts)


def usb_environment() -> Environment:
    """Real hardware: libusb and the system clock."""
    return Environment(backend=libusb_backend(), clock=SystemClock())


def board_files(state_path: Path, count: int) -> list[Path]:
    """Where each of ``count`` boards is kept in the state directory ``state_path``."""
    return [state_path / f"board-{number:02d}.json" for number in range(1, count + 1)]


@contextmanager
def sim_environment(
    profile: str,
    state_path: Path | None = None,
    *,
    realtime: bool = False,
    time_scale: float = 1.0,
    boards: int = 1,
    profile_facts: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[SimEnvironment]:
    """Virtual boards of ``profile`` behind the simulator's pyusb backend, on ports 1-1, 1-2,
    ... of one bus, each on its own virtual clock (``realtime``: the wall clock, so every
    modeled erase and write really takes its time, ``time_scale`` times faster).

    One board is kept in the file ``state_path``; several (``boards`` > 1, or ``state_path``
    an existing directory) in ``board-01.json``, ``board-02.json``, ... in the directory
    ``state_path``, each with its own serial. A board is loaded from its file if that exists
    and saved back on exit, also after a failure, so the files always tell the truth. Each
    file is locked while the environment is open (another command using it waits; ``on_wait``
    is called when it has to) and journals every memory change as it happens, so a command
    killed mid-flash leaves a file showing what the board holds (:mod:`pydfuse.sim.boardfile`).

    The environment carries the profile's board facts (SRAM, application address) for the
    checks; ``profile_facts=False`` leaves them out, so the checks know only what the device
    reports, as on a board pydfuse has no profile for.
    """
    from pydfuse.sim.backend import get_backend

    if boards < 1:
        raise ValueError(f"the number of virtual boards must be at least 1, not {boards}")
    as_dir = state_path is not None and (boards > 1 or Path(state_path).is_dir())
    if as_dir:
        assert state_path is not None
        Path(state_path).mkdir(parents=True, exist_ok=True)
        files: list[Path | None] = list(board_files(Path(state_path), boards))
    else:
        files = [state_path] + [None] * (boards - 1)
    with ExitStack() as stack:
        made = [
            _board(stack, profile, file, number, realtime, time_scale, on_wait)
            for number, file in enumerate(files, start=1)
        ]
        facts = facts_of_profile(made[0].profile) if profile_facts else None
        yield SimEnvironment(get_backend(*made), made[0].clock, facts, made[0], tuple(made))


def _board(
    stack: ExitStack,
    profile: str,
    file: Path | None,
    number: int,
    realtime: bool,
    time_scale: float,
    on_wait: Callable[[], None] | None,
) -> Any:
    """Board ``number``: loaded from ``file`` (kept open in ``stack``), else a fresh one."""
    from pydfuse.sim.board import VirtualBoard, board_serial
    from pydfuse.sim.boardfile import open_board
    from pydfuse.sim.clock import RealTimeClock
    from pydfuse.sim.profiles import get_profile

    def fresh() -> Any:
        serial = board_serial(get_profile(profile), number) if file is not None else None
        return VirtualBoard(profile, serial=serial, realtime=realtime, time_scale=time_scale)

    if file is None:
        return fresh()
    clock = RealTimeClock(time_scale) if realtime else None
    stack.push(_unsaved_board_error)  # runs after open_board's own exit: its save
    try:
        return stack.enter_context(open_board(Path(file), fresh, clock=clock, on_wait=on_wait))
    except ValueError as error:
        # The sim reports a damaged or foreign file as ValueError (layer rule: sim never
        # imports pydfuse.errors); the user sees one line naming the file, not a traceback.
        detail = str(error).removeprefix(f"{file}: ")
        raise FormatError(
            detail,
            path=str(file),
            hint="delete the file to start from a fresh board, or give another --sim-state",
        ) from error
    except OSError as error:  # the file is fine as far as we know: never advise deleting it
        raise FormatError(
            f"cannot open the virtual board: {error.strerror or error}"
            + (f" ({error.filename})" if error.filename else ""),
            path=str(file),
            hint="check that you may read and write the file, its directory and the "
            f".{Path(file).name}.lock / .journal files beside it; nothing was changed",
        ) from error


def _unsaved_board_error(
    kind: type[BaseException] | None, error: BaseException | None, trace: Any
) -> bool:
    """Exit callback: the board could not be saved at the end (sim.boardfile.BoardNotSaved),
    one error naming the file instead of an OSError traceback."""
    from pydfuse.sim.boardfile import BoardNotSaved

    if isinstance(error, BoardNotSaved):
        raise FormatError(
            error.strerror or str(error),
            path=str(error.filename),
            hint="free some space or fix the permissions, then run any command on the file",
        ) from error
    return False
