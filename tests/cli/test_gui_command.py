"""``dfuse gui``: starts the server with the global --sim options, prints its address, refuses
a non-loopback bind, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pydfuse.cli.main import main


def test_help_names_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gui", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--port", "--host", "--allow-remote", "--no-browser", "--json"):
        assert option in out


def test_a_non_loopback_host_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gui", "--host", "0.0.0.0", "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to listen on 0.0.0.0")
    assert "hint:" in err and "--allow-remote" in err and "Traceback" not in err


def test_an_unknown_sim_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sim", "nonsense", "gui", "--no-browser"]) == 2
    assert "unknown board profile" in capsys.readouterr().err


def test_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    command = [sys.executable, "-m", "pydfuse", "--sim", "stm3210e-eval", "--sim-state",
               str(state), "gui", "--no-browser", "--json"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["host"] == "127.0.0.1" and first["url"].endswith("/")
        with urllib.request.urlopen(first["url"] + "api/devices", timeout=10) as answer:
            devices = json.loads(answer.read())["devices"]
        assert devices[0]["id"] == "0483:df11"
        bare = first["url"].rsplit("/", 2)[0] + "/api/devices"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare, timeout=10)
        assert refused.value.code == 403
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert state.exists()  # the virtual board was saved when the server stopped
