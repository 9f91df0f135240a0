"""Commands sharing one --sim-state file run one after the other (issue #9): the file is locked
for the whole command, a waiting command says so, and nothing either of them did is lost.

The commands run in forked processes (what two shells do, without the start-up cost of a new
interpreter), each with its own file descriptors, so the OS file lock is really contended."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from pydfuse.cli.main import main
from pydfuse.formats import Image, load_image, save_image
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.boardfile import lock_path

PROFILE = "stm3210e-eval"
APP = 0x08010000  # inside the application area, but no vector table is expected there
FORK = multiprocessing.get_context("fork")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses fork")


def _run(argv: list[str], log: str) -> None:
    """Child: one dfuse command, its output in ``log``; exits with the command's code."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    os._exit(main(argv))


def _start(argv: list[str], log: Path) -> multiprocessing.process.BaseProcess:
    process = FORK.Process(target=_run, args=(argv, str(log)))
    process.start()
    return process


def _finish(*processes: multiprocessing.process.BaseProcess) -> list[int | None]:
    for process in processes:
        process.join(60)
    return [p.exitcode for p in processes]


def _image(round_: int, address: int = APP, size: int = 4096) -> Image:
    data = bytes((i * 7 + round_ * 13 + 1) & 0xFF for i in range(size))
    return Image.from_segments([(address, data)])


def test_parallel_flash_and_upload_lose_nothing(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    sim = ["--sim", PROFILE, "--sim-state", str(state), "-q"]
    previous: bytes | None = None
    for round_ in range(20):
        image = _image(round_)
        source = tmp_path / f"app{round_}.bin"
        source.write_bytes(image.segments[0].data)
        back = tmp_path / f"back{round_}.bin"
        flash = _start([*sim, "flash", f"{source}@0x{APP:08x}"], tmp_path / "flash.log")
        upload = _start(
            [*sim, "upload", str(back), "-a", "0", "--address", f"0x{APP:08x}", "--length", "4096"],
            tmp_path / "upload.log",
        )
        assert _finish(flash, upload) == [0, 0], (tmp_path / "flash.log").read_text() + (
            tmp_path / "upload.log"
        ).read_text()
        held = VirtualBoard.load(state).memory(0).read(APP, 4096)
        assert held == image.segments[0].data, f"round {round_}: the flash was lost"
        # The upload ran wholly before or wholly after the flash: never a mixture.
        assert back.read_bytes() in (image.segments[0].data, previous or b"\xff" * 4096)
        previous = image.segments[0].data


def test_parallel_flashes_of_two_memories_both_land(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    sim = ["--sim", PROFILE, "--sim-state", str(state), "-q"]
    internal, spi = _image(1), _image(2, address=0x00010000)
    save_image(internal, tmp_path / "app.hex")
    save_image(spi, tmp_path / "spi.hex")
    for round_ in range(3):
        first = _start([*sim, "flash", str(tmp_path / "app.hex")], tmp_path / f"a{round_}.log")
        second = _start([*sim, "flash", str(tmp_path / "spi.hex")], tmp_path / f"b{round_}.log")
        assert _finish(first, second) == [0, 0]
        board = VirtualBoard.load(state)
        assert board.memory(0).read(APP, 4096) == internal.segments[0].data
        assert board.memory(1).read(0x00010000, 4096) == spi.segments[0].data
    assert load_image(tmp_path / "app.hex") == internal


def test_a_waiting_command_says_so(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    sim = ["--sim", PROFILE, "--sim-state", str(state)]
    assert main([*sim, "-q", "list"]) == 0
    log = tmp_path / "list.log"
    with FileLock(str(lock_path(state))):  # another command has the board
        waiting = _start([*sim, "sim", "status"], log)
        waiting.join(1.5)
        assert waiting.exitcode is None  # still waiting
        assert "waiting for the virtual board (in use by another command)" in log.read_text()
    assert _finish(waiting) == [0]
    assert "running bootloader" in log.read_text()
