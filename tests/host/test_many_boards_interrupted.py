"""Ctrl-C during a many-board run: when the interrupt reaches the caller, no worker is still
talking to its board, so the caller can save every board as it stands (a worker writing on
after the save used to append a journal record to the saved state file)."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from pydfuse import ops
from pydfuse.ops import DeviceSelector
from pydfuse.ops.records import DeviceInfo, ProgressEvent
from support.boards import app_image

IMAGE = app_image(100 * 1024)


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("dfuse-") and t.is_alive()]


def test_an_interrupt_stops_every_worker_before_it_reaches_the_caller() -> None:
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread().ident == main
    with ops.sim_environment("stm3210e-eval", boards=3) as env:
        first = env.boards[0].serial
        pressed = threading.Event()

        def progress(device: DeviceInfo, event: ProgressEvent) -> None:
            if device.serial == first and event.phase == "program" and not pressed.is_set():
                pressed.set()
                signal.pthread_kill(main, signal.SIGINT)  # Ctrl-C, delivered to the caller
            time.sleep(0.002)  # the other boards are still busy when it arrives

        before = [board.stats.transfers for board in env.boards]
        with pytest.raises(KeyboardInterrupt):
            ops.flash_many(env, [DeviceSelector()], IMAGE, progress=progress, delta=False)
        assert _workers() == []
        after = [board.stats.transfers for board in env.boards]
        time.sleep(0.05)
        assert [board.stats.transfers for board in env.boards] == after  # nobody writes on
        assert after != before and any(board.running == "bootloader" for board in env.boards)
