"""``leave`` on a board already running its application does nothing and says so (a
DFU_DETACH, DFU mode and a leave would restart it unasked); ``leave --address`` names code to
start, which needs DFU mode: the board is detached first, and the output says so. A plain DFU
device has no addresses to jump to: ``leave --address`` is refused there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image

PROFILE = "stm3210e-eval"


@pytest.fixture
def running(tmp_path: Path) -> list[str]:
    """A board whose application runs (flashed and left)."""
    sim = ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]
    app = tmp_path / "app.hex"
    save_image(build_demo_app(), app)
    assert main([*sim, "-q", "flash", str(app), "--leave"]) == 0
    return sim


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _class_requests(trace: Path) -> list[str]:
    """The DFU class requests (DETACH, DNLOAD, GETSTATUS, ...) a --trace recorded."""
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return [
        r["request"]
        for r in records
        if r.get("op") == "control" and r["setup"]["bmRequestType"] & 0x60 == 0x20
    ]


def test_leave_on_a_running_application_sends_nothing_and_says_so(
    running: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "leave.jsonl"
    capsys.readouterr()
    assert main(["--trace", str(trace), *running, "leave"]) == 0
    out = capsys.readouterr().out
    assert "already running its application: nothing sent" in out
    assert "left DFU mode" not in out
    assert _class_requests(trace) == []
    code, status = _json(capsys, *running, "sim", "status")
    assert code == 0 and status["running"] == "application"


def test_leave_json_says_the_application_already_ran(
    running: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = _json(capsys, *running, "leave")
    assert code == 0
    assert result["already_running"] is True and result["detached"] is False
    assert result["left"] is True


def test_leave_with_an_address_detaches_first_and_says_so(
    running: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "leave.jsonl"
    capsys.readouterr()
    assert main(["--trace", str(trace), *running, "leave", "--address", "0x08003000"]) == 0
    out = capsys.readouterr().out
    assert "sent DFU_DETACH" in out and "left DFU mode" in out
    assert any("DETACH" in request for request in _class_requests(trace))
    code, result = _json(capsys, *running, "leave", "--address", "0x08003000")
    assert code == 0 and result["detached"] is True and result["left"] is True


def test_plain_dfu_leave_refuses_an_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "plain.json")]
    code, error = _json(capsys, *sim, "leave", "--address", "0x08000000")
    assert code == ExitCode.ERROR and "no addresses to jump to" in error["error"]
