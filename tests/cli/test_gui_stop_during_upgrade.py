"""Ctrl-C while the page upgrades a board: the upgrade finishes first (as the README promises),
the board is saved with everything written, and stopping prints no traceback — also while the
page follows the upgrade's progress stream."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from pydfuse.formats import load_image
from pydfuse.sim.board import VirtualBoard
from support.firmware import elf_path

APP = elf_path("app-64k")  # 63 KiB: erase and program take about 2.8 s of modeled time


def _post(url: str, data: bytes, content_type: str = "application/json") -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(url, data=data, headers={"content-type": content_type})
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict = json.loads(answer.read())  # type: ignore[type-arg]
        return found


@pytest.mark.parametrize("following", [False, True], ids=["no-page", "page-following"])
def test_ctrl_c_lets_the_running_upgrade_finish(tmp_path: Path, following: bool) -> None:
    state = tmp_path / "board.json"
    command = [sys.executable, "-m", "pydfuse", "--sim", "stm3210e-eval", "--sim-state",
               str(state), "--sim-realtime", "gui", "--no-browser", "--json"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["url"]
        file_id = _post(
            f"{url}api/files?name=app-64k.elf", APP.read_bytes(), "application/octet-stream"
        )["id"]
        job = _post(
            f"{url}api/device/upgrade",
            json.dumps({"device": {"path": "1-1"}, "file": file_id}).encode(),
        )["job"]
        if following:  # the page's EventSource, open until the server goes away
            threading.Thread(
                target=lambda: urllib.request.urlopen(
                    f"{url}api/jobs/{job}/events", timeout=30
                ).read(),
                daemon=True,
            ).start()
        time.sleep(1.0)  # well inside the erase/program phases
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        err = process.stderr.read().decode() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in err and "ERROR" not in err, err
    board = VirtualBoard.load(state)
    image = load_image(APP)
    for segment in image:
        assert board.memory(0).read(segment.address, len(segment.data)) == segment.data
