"""``--all`` and ``--sim-boards`` (issue #11): one summary row and JSON record per board, the
exit code says whether every board succeeded, per-board files, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import load_image, save_image


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "stm3210e-eval", "--sim-boards", "4", "--sim-state", str(tmp_path / "b")]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=4 * 2048), path)
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_flash_all_writes_every_board_with_a_row_each(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*sim, "flash", str(app), "--all", "--leave"]) == 0
    out, err = capsys.readouterr()
    # Not a terminal: each board's progress as plain lines prefixed with its serial.
    done = [line.split(":")[0] for line in err.splitlines() if ": programming 100%" in line]
    assert len(set(done)) == 4
    rows = [line for line in out.splitlines() if line.startswith("5D5F")]
    assert len(rows) == 4 and all(" ok " in r and "verified, left DFU mode" in r for r in rows)
    assert "all 4 boards: flash ok" in out
    code, doc = _json(capsys, *sim, "list")
    assert code == 0 and [d["mode"] for d in doc["devices"]] == ["runtime"] * 4
    assert len({d["serial"] for d in doc["devices"]}) == 4


def test_one_failing_board_gives_a_failing_exit_code_and_is_named(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "list", "-q"]) == 0  # creates the four boards
    board3 = json.loads((Path(sim[-1]) / "board-03.json").read_text())["serial"]
    # Arm a fault on board 3 only (its state file), then flash all four.
    assert main(["--sim", "stm3210e-eval", "--sim-state", str(Path(sim[-1]) / "board-03.json"),
                 "sim", "fault", "program", "errPROG"]) == 0  # fmt: skip
    code, doc = _json(capsys, *sim, "flash", str(app), "--all")
    assert code == ExitCode.DEVICE
    assert doc["ok"] is False and doc["failed"] == [board3] and doc["succeeded"] == 3
    by_serial = {b["serial"]: b for b in doc["boards"]}
    assert by_serial[board3]["ok"] is False and "ERR_PROG" in by_serial[board3]["error"]
    assert all(b["result"]["verified"] for s, b in by_serial.items() if s != board3)
    capsys.readouterr()
    assert main([*sim, "flash", str(app), "--all"]) == 0  # the retry fixes board 3
    assert "all 4 boards: flash ok" in capsys.readouterr().out


def test_all_without_a_matching_device_is_a_clean_error(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*sim, "flash", str(app), "--all", "-d", "1234:5678"]) == ExitCode.NO_DEVICE
    err = capsys.readouterr().err
    assert "error: no DFU device matches 1234:5678" in err and "Traceback" not in err
    assert main([*sim, "flash", str(app), "--all"]) == 0
    code, doc = _json(capsys, *sim, "leave", "--all")
    assert code == 0 and len(doc["boards"]) == 4 and doc["ok"] is True
    code, doc = _json(capsys, *sim, "leave", "--all")  # every board runs its application now
    assert code == 0 and len(doc["boards"]) == 4
    assert all(board["result"]["already_running"] for board in doc["boards"])


def test_several_serials_need_all(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main([*sim, "flash", str(app), "-S", "A", "-S", "B"]) == ExitCode.USAGE
    assert "add --all to use several devices" in capsys.readouterr().err


def test_upload_all_reads_each_board_into_its_own_file(
    sim: list[str], app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", str(app), "--all"]) == 0
    out = tmp_path / "read-{serial}.hex"
    code, doc = _json(
        capsys, *sim, "upload", str(out), "--all", "-a", "0",
        "--address", "0x08003000", "--length", "8K",
    )  # fmt: skip
    assert code == 0 and doc["succeeded"] == 4
    files = sorted(tmp_path.glob("read-*.hex"))
    assert len(files) == 4
    expected = load_image(app)
    for file in files:
        assert load_image(file).read(0x08003000, 8192) == expected.read(0x08003000, 8192)
    assert {b["result"]["file"] for b in doc["boards"]} == {str(f) for f in files}


def test_sim_boards_state_must_be_a_directory(
    tmp_path: Path, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "one.json"
    state.write_text("{}")
    capsys.readouterr()
    code = main(["--sim", "stm3210e-eval", "--sim-boards", "2", "--sim-state", str(state), "list"])
    assert code == ExitCode.USAGE and "must be a directory" in capsys.readouterr().err
    assert main(["--sim-boards", "2", "list"]) == ExitCode.USAGE  # needs --sim
    code = main(["--sim", "stm3210e-eval", "--sim-time-scale", "50", "list"])
    assert code == ExitCode.USAGE  # a time scale needs --sim-realtime


def test_dry_run_on_all_boards_says_what_each_would_do(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", str(app), "--all", "-p", "1-2"]) == 0
    capsys.readouterr()
    assert main([*sim, "flash", str(app), "--all", "--dry-run"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "dry run:" in line]
    assert len(rows) == 4
    assert sum("would write 0 B, erase 0 sector(s), skip 4 unchanged" in r for r in rows) == 1
