"""``--trace FILE`` with ``--all``: each board's work goes to a file of its own (``FILE`` with
``-SERIAL`` before the suffix, as ``upload --all`` names its files), holding only that board,
its header naming the board, and each file replays on a virtual board with no difference."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image

PROFILE = "stm3210e-eval"


@pytest.fixture
def station(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-boards", "3", "--sim-state", str(tmp_path / "st")]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=4 * 2048), path)
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def _serials(station: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """serial -> bus path of the station's boards."""
    capsys.readouterr()
    assert main([*station, "list", "--json"]) == 0
    return {d["serial"]: d["path"] for d in json.loads(capsys.readouterr().out)["devices"]}


def _check_board_file(path: Path, serial: str, bus_path: str) -> list[dict[str, Any]]:
    records = _read(path)
    header, end = records[0], records[-1]
    assert header["trace"] == "pydfuse" and header["board"] == {
        "serial": serial,
        "path": bus_path,
    }
    opened = {r["path"] for r in records if r.get("op") == "open"}
    assert opened == {bus_path}  # only this board, never another's transfers
    assert end["op"] == "end"
    return records


def test_flash_all_traces_each_board_into_its_own_file_that_replays(
    station: list[str], app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = _serials(station, capsys)
    trace = tmp_path / "t.jsonl"
    assert main(["--trace", str(trace), "--trace-data", *station, "flash", str(app), "--all"]) == 0
    err = capsys.readouterr().err
    assert not trace.exists()
    for serial, bus_path in boards.items():
        path = tmp_path / f"t-{serial}.jsonl"
        assert f"trace of {serial}: {path}" in err
        records = _check_board_file(path, serial, bus_path)
        assert records[-1]["result"] == "ok"
        assert any(str(r.get("request", "")).startswith("DFU_DNLOAD") for r in records)
        capsys.readouterr()
        assert main(["replay", str(path), "--sim", PROFILE]) == 0, capsys.readouterr()


def test_upload_and_leave_all_trace_per_board_too_and_gz_stays_gz(
    station: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = _serials(station, capsys)
    for command in (["upload", str(tmp_path / "b.dfu"), "-a", "0"], ["leave"]):
        trace = tmp_path / f"{command[0]}.jsonl.gz"
        assert main(["--trace", str(trace), *station, *command, "--all"]) == 0, command
        for serial, bus_path in boards.items():
            path = tmp_path / f"{command[0]}-{serial}.jsonl.gz"
            assert _check_board_file(path, serial, bus_path)[-1]["result"] == "ok"


def test_a_failing_board_ends_its_own_trace_with_the_error(
    station: list[str], app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = _serials(station, capsys)
    board2 = tmp_path / "st" / "board-02.json"
    failing = json.loads(board2.read_text())["serial"]
    fault = ["--sim", PROFILE, "--sim-state", str(board2), "sim", "fault", "program", "errPROG"]
    assert main(fault) == 0
    trace = tmp_path / "{serial}.trace.jsonl"  # {serial} in FILE names where it goes
    assert main(["--trace", str(trace), *station, "flash", str(app), "--all"]) == ExitCode.DEVICE
    for serial, bus_path in boards.items():
        end = _check_board_file(tmp_path / f"{serial}.trace.jsonl", serial, bus_path)[-1]
        assert end["result"] == ("error" if serial == failing else "ok")
