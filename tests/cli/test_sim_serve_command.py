"""``dfuse sim serve``: says what to run next, serves until SIGTERM or Ctrl-C, saves the board,
warns about a non-loopback address and turns bad set-ups into one line and an exit code."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

from pydfuse.cli.main import main
from pydfuse.sim.board import VirtualBoard
from support.rawdfu import abort, erase, to_idle, write
from support.usbip import attach, devlist

PROFILE = "stm3210e-eval"


def _dfuse(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pydfuse", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _json_line(stream: IO[str]) -> dict[str, Any]:
    line = stream.readline()
    assert line, "the server printed nothing"
    record: dict[str, Any] = json.loads(line)
    return record


@contextmanager
def _server(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    process = _dfuse(*args, "sim", "serve", "--port", "0", "--json")
    try:
        assert process.stdout is not None
        serving = _json_line(process.stdout)
        assert serving["event"] == "serving", serving
        yield process, serving
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_until_a_signal_then_save_what_the_client_wrote(
    tmp_path: Path, signum: signal.Signals
) -> None:
    state = tmp_path / "board.json"
    with _server("--sim", PROFILE, "--sim-state", str(state)) as (process, serving):
        port = serving["port"]
        assert serving["attach"] == ["usbip", "--tcp-port", str(port), "attach", "-r",
                                     "127.0.0.1", "-b", "1-1"]  # fmt: skip
        assert serving["sim"]["running"] == "bootloader"
        assert devlist(port)[0]["pid"] == 0xDF11
        dev = attach(port)
        dev.ctrl_transfer(0x01, 0x0B, 1, 0, None)  # alt 1: SPI flash
        board_clock = VirtualBoard(PROFILE)  # the rawdfu helpers only sleep on a clock
        to_idle(dev)
        erase(dev, board_clock, 0x00020000)
        write(dev, board_clock, 0x00020000, b"served" * 100)
        abort(dev)
        dev.close()
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["event"] == "stopped" and events[-1]["sim"]["running"] == "bootloader"
    assert {"imported", "devlist"} <= {e["event"] for e in events}
    saved = VirtualBoard.load(state)
    assert saved.memory(1).read(0x00020000, 600) == b"served" * 100


def test_text_output_names_the_linux_and_windows_commands() -> None:
    process = _dfuse("--sim", PROFILE, "sim", "serve", "--port", "0")
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(6)]
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    text = "".join(lines) + out
    assert process.returncode == 0, err
    port = int(lines[0].split("127.0.0.1:")[1].split(",")[0])
    assert f"usbip --tcp-port {port} attach -r 127.0.0.1 -b 1-1" in text
    assert f"usbip.exe --tcp-port {port} attach -r 127.0.0.1 -b 1-1" in text
    assert "untested" in text and "Ctrl-C" in text and "SIGHUP power-cycles" in text
    assert "stopped (board running bootloader)" in text


def test_a_non_loopback_address_is_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails after the warning, so
    # nothing listens beyond loopback even for a moment.
    code = main(["--sim", PROFILE, "sim", "serve", "--host", "192.0.2.1", "--port", "0"])
    err = capsys.readouterr().err
    assert "warning: listening on 192.0.2.1" in err and "no authentication" in err
    assert code == 1 and "error: cannot listen on 192.0.2.1:0: not an address of this" in err
    assert "Traceback" not in err


def test_a_busy_port_is_one_line_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--sim", PROFILE, "sim", "serve", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: the port is in use" in err
    assert "hint: another USB/IP server" in err


def test_serve_needs_a_virtual_board(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "serve"])
    assert code == 2
    assert "give --sim PROFILE" in capsys.readouterr().err


def test_vv_narrates_every_urb_on_stderr() -> None:
    with _server("-vv", "--sim", PROFILE) as (process, serving):
        dev = attach(serving["port"])
        dev.ctrl_transfer(0x80, 0x06, 0x0100, 0, 18)
        dev.close()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert "usbip: #1 ep0 IN  80 06 0100 0000 18" in err
    assert "usbip: #1 -> status 0, 18 bytes" in err


def test_sighup_power_cycles_the_board(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    with _server("--sim", PROFILE, "--sim-state", str(state)) as (process, serving):
        assert process.stdout is not None
        process.send_signal(signal.SIGHUP)
        assert _json_line(process.stdout)["event"] == "power-cycle"
        offered = _json_line(process.stdout)
        assert offered["event"] == "offered" and offered["running"] == "bootloader"
        assert devlist(serving["port"])[0]["pid"] == 0xDF11
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
