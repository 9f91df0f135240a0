"""The served board in a real Linux USB stack: a QEMU guest (Debian kernel, vhci-hcd) attaches
``dfuse sim serve`` over USB/IP and runs dfu-util and the project's own CLI against it.

One guest boot runs the whole session (``guest/session.sh``); each test checks one part of its
record. Skips only where the machine cannot build or boot the guest (not Linux x86-64, not root,
no apt-get); ``make interop`` runs only these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pydfuse
from pydfuse.sim.board import VirtualBoard
from support.guest import GUEST_SOURCES, boot, guest_dir, missing_tools, unavailable_reason
from support.images import app_image

pytestmark = [pytest.mark.interop, pytest.mark.timeout(1500)]

PROFILE = "stm3210e-eval"
APP = 0x08003000
SPI = 0x00010000
NOR = 0x64020000
_REASON = unavailable_reason()


@dataclass
class Session:
    """What one guest boot did: step exit codes, outputs, and the host server's events."""

    out: Path
    steps: dict[str, int]
    server_events: list[dict[str, Any]]
    images: dict[int, bytes]
    state: Path
    console: str

    def output(self, step: str) -> str:
        return (self.out / f"{step}.txt").read_text(errors="replace")

    def errors(self, step: str) -> str:
        return (self.out / f"{step}.err").read_text(errors="replace")

    def ok(self, step: str) -> None:
        assert step in self.steps, f"step {step} did not run; console:\n{self.console[-3000:]}"
        said = self.output(step)[-2000:] + self.errors(step)[-2000:]
        assert self.steps[step] == 0, f"{step} failed:\n{said}"


def _dfuse(*args: str) -> list[str]:
    return [sys.executable, "-m", "pydfuse", *args]


def _images(share: Path) -> dict[int, bytes]:
    (segment,) = app_image(APP, size=0x1000).segments
    images = {
        0: bytes(segment.data),
        1: bytes((i * 13 + 5) & 0xFF for i in range(0x3000)),
        2: bytes((i * 31 + 1) & 0xFF for i in range(0x2800)),
    }
    targets: list[str] = []
    for alt, name, address in ((0, "app.bin", APP), (1, "spi.bin", SPI), (2, "nor.bin", NOR)):
        (share / name).write_bytes(images[alt])
        targets += ["-t", f"{alt}={share / name}@{address:#x}"]
    subprocess.run(_dfuse("pack", str(share / "board.dfu"), *targets), check=True)
    subprocess.run(_dfuse("pack", str(share / "app.dfu"), *targets[:2]), check=True)
    return images


def _env(port: int, images: dict[int, bytes]) -> str:
    settings = {
        "PORT": port,
        "RANGE0": f"{APP:#x}:{len(images[0])}",
        "RANGE1": f"{SPI:#x}:{len(images[1])}",
        "RANGE2": f"{NOR:#x}:{len(images[2])}",
        "LEAVE": f"{APP:#x}:leave",
        "SPI_ADDRESS": f"{SPI:#x}",
        "SPI_LENGTH": len(images[1]),
        "GUEST_SERVE": 1,
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    if _REASON is not None:
        pytest.skip(_REASON)
    missing = missing_tools()
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make interop-deps` (apt-get, as root)")
    guest = guest_dir()
    share = tmp_path_factory.mktemp("guest-share")
    images = _images(share)
    state = share / "board.json"
    server = subprocess.Popen(
        _dfuse(
            "--sim", PROFILE, "--sim-state", str(state), "sim", "serve", "--port", "0", "--json"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        serving = json.loads(server.stdout.readline())
        (share / "env.sh").write_text(_env(serving["port"], images))
        shutil.copy(GUEST_SOURCES / "session.sh", share / "run.sh")
        console = share / "console.log"
        src = Path(pydfuse.__file__).resolve().parents[1]
        site = Path(sysconfig.get_paths()["purelib"])
        boot(guest, {"host": share, "src": src, "site": site}, log=console, timeout_s=600)
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    steps_file = share / "out" / "steps"
    steps = {}
    if steps_file.exists():
        for line in steps_file.read_text().splitlines():
            name, code, _time = line.split()
            steps[name] = int(code)
    events = [serving, *(json.loads(line) for line in out.splitlines() if line.strip())]
    text = console.read_text(errors="replace") if console.exists() else ""
    yield Session(share / "out", steps, events, images, state, text)


def test_dfu_util_lists_the_three_alternates(session: Session) -> None:
    session.ok("attach")
    session.ok("list")
    found = [line for line in session.output("list").splitlines() if "Found DFU" in line]
    names = {line.split("alt=")[1].split(",")[0]: line.split('name="')[1] for line in found}
    assert sorted(names) == ["0", "1", "2"]
    assert names["0"].startswith("@Internal Flash  /0x08000000/06*002Ka,250*002Kg")
    assert names["1"].startswith("@SPI Flash : M25P64/0x00000000/128*64Kg")
    assert names["2"].startswith("@NOR Flash : M29W128F/0x64000000/0256*64Kg")
    assert all("[0483:df11]" in line for line in found)


def test_dfu_util_writes_the_dfu_file_alternate_by_alternate_and_reads_it_back(
    session: Session,
) -> None:
    for alt in (0, 1, 2):
        session.ok(f"download-{alt}")
        assert f"Image for alternate setting {alt}" in session.output(f"download-{alt}")
        session.ok(f"upload-{alt}")
        assert (session.out / f"upload-{alt}.bin").read_bytes() == session.images[alt]


def test_leave_shows_the_application_and_detach_brings_dfu_mode_back(session: Session) -> None:
    session.ok("leave")
    session.ok("attach-runtime")
    assert "Found Runtime: [0483:df12]" in session.output("attach-runtime")
    session.ok("detach")
    session.ok("attach-dfu-again")
    assert "Found DFU: [0483:df11]" in session.output("attach-dfu-again")
    kinds = [event["event"] for event in session.server_events]
    offered = [e.get("running") for e in session.server_events if e["event"] == "offered"]
    assert offered[:2] == ["application", "bootloader"], offered
    assert kinds.count("imported") >= 3


def test_the_projects_cli_flashes_and_verifies_over_libusb(session: Session) -> None:
    session.ok("dfuse-list")
    (device,) = json.loads(session.output("dfuse-list"))["devices"]
    assert (device["vid"], device["pid"]) == (0x0483, 0xDF11)
    session.ok("dfuse-flash")
    flashed = json.loads(session.output("dfuse-flash"))
    targets = [(t["alt"], t["bytes_written"], t["verified"]) for t in flashed["targets"]]
    assert targets == [(alt, len(session.images[alt]), True) for alt in (0, 1, 2)]
    session.ok("dfuse-upload")
    assert (session.out / "dfuse-upload-1.bin").read_bytes() == session.images[1]


def test_the_board_state_is_saved_when_the_server_stops(session: Session) -> None:
    assert session.server_events[-1]["event"] == "stopped"
    board = VirtualBoard.load(session.state)
    assert board.memory(2).read(NOR, len(session.images[2])) == session.images[2]


def test_serve_attach_reattaches_the_board_after_a_leave(session: Session) -> None:
    session.ok("guest-serve-attached")
    session.ok("guest-serve-flash")
    session.ok("guest-serve-reattached")
    assert session.steps.get("guest-serve-stopped") == 0
    events = [
        json.loads(line)
        for line in (session.out / "guest-serve.jsonl").read_text().splitlines()
        if line.strip()
    ]
    attached = [e for e in events if e["event"] == "attach" and "attached" in e["message"]]
    assert len(attached) >= 2, events  # at start, and again in run-time mode
    assert any(e["event"] == "offered" and e["running"] == "application" for e in events)
    assert events[-1]["event"] == "stopped", events
