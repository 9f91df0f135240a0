"""A flash killed with SIGKILL or SIGTERM leaves a --sim-state file that shows what the board
holds (issue #9): the sectors erased and the blocks written so far, never the old firmware
intact once erasing has begun.

The flash runs in a real ``python -m pydfuse`` process on the wall clock (``--sim-realtime``),
is killed after a chosen progress line, and the board is read back from the file. The same
flash done in this process, with every memory change recorded, gives the sequence of states the
board goes through; the file must show one of them, at least as far as the progress seen."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pydfuse import ops
from pydfuse.formats import save_image
from pydfuse.ops.env import facts_of_profile
from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import get_profile
from support.boards import app_image

PROFILE = "stm3210e-eval"
APP = 0x08003000
SIZE = 64 * 1024  # about 1 s of erasing and 1.7 s of programming on the wall clock
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _states(base: Path, new_image: Path) -> tuple[list[bytes], int]:
    """Every state alt 0 passes through while ``new_image`` is flashed on the board in ``base``
    (from the state before the first change to the last), and how many of the changes are
    erases that come before any write."""
    board = VirtualBoard.load(base, profile=None)
    flash = board.memory(0)
    events: list[tuple[str, int, bytes | int]] = []
    flash.on_change = lambda kind, address, what: events.append((kind, address, what))
    env = ops.SimEnvironment(
        backend=get_backend(board),
        clock=board.clock,
        facts=facts_of_profile(get_profile(PROFILE)),
        board=board,
        boards=(board,),
    )
    ops.flash(env, ops.DeviceSelector(), new_image)
    flash.on_change = None
    start, end = flash.sectors[0].address, flash.sectors[-1].end
    memory = bytearray(VirtualBoard.load(base).memory(0).read(start, end - start))
    states = [bytes(memory)]
    for kind, address, what in events:
        offset = address - start
        if kind == "E":
            assert isinstance(what, int)
            memory[offset : offset + what] = b"\xff" * what
        else:
            assert isinstance(what, bytes)
            memory[offset : offset + len(what)] = what
        states.append(bytes(memory))
    erases = next((i for i, e in enumerate(events) if e[0] != "E"), len(events))
    return states, erases


@pytest.mark.parametrize(
    ("sig", "line", "delay", "at_least"),
    [
        (signal.SIGKILL, "comparing", 0.3, "nothing"),  # while erasing
        (signal.SIGKILL, "erasing", 0.2, "erased"),  # early in programming
        (signal.SIGKILL, "erasing", 0.9, "erased"),  # half way through programming
        (signal.SIGTERM, "erasing", 0.5, "erased"),
    ],
)
def test_a_killed_flash_leaves_a_truthful_file(
    tmp_path: Path, sig: signal.Signals, line: str, delay: float, at_least: str
) -> None:
    state = tmp_path / "board.json"
    old, new = tmp_path / "old.hex", tmp_path / "new.hex"
    save_image(app_image(SIZE, seed=1), old)
    save_image(app_image(SIZE, seed=2), new)
    sim = ["--sim", PROFILE, "--sim-state", str(state)]
    command = [sys.executable, "-m", "pydfuse", *sim]
    subprocess.run([*command, "-q", "flash", str(old)], check=True, timeout=60)
    base = tmp_path / "base.json"
    shutil.copy(state, base)
    states, erases = _states(base, new)

    process = subprocess.Popen(
        [*command, "--sim-realtime", "flash", str(new)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = ""
    while not seen.startswith(line):
        seen = process.stderr.readline()
        assert seen, f"the flash ended before printing a {line!r} line"
    time.sleep(delay)
    process.send_signal(sig)
    # SIGTERM is caught and ends the command cleanly (exit 143, the board saved as it is);
    # SIGKILL cannot be, and the journal makes the file true
    killed = 143 if sig == signal.SIGTERM else -sig
    assert process.wait(30) == killed, "the flash finished before it could be killed"

    held = VirtualBoard.load(state).memory(0)
    now = held.read(held.sectors[0].address, held.sectors[-1].end - held.sectors[0].address)
    assert now in states, "the file shows a board the flash never produced"
    reached = states.index(now)
    if at_least == "erased":  # the progress line said every sector was erased
        assert reached >= erases, "the file claims sectors the flash had erased"
        assert now != states[0], "the file claims the old firmware intact"
    # The vector table is written last: the half-written application is not started.
    assert VirtualBoard.load(state).running == "bootloader"
