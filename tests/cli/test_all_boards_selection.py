"""``--all`` with boards named by -S/-p and boards sharing a serial (issue #11): a named board
that is not connected fails in the summary and the exit code; boards that share a serial never
write one upload file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import load_image, save_image


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "stm3210e-eval", "--sim-boards", "3", "--sim-state", str(tmp_path / "b")]


def _serials(sim: list[str]) -> list[str]:
    assert main([*sim, "list", "-q"]) == 0  # creates the boards
    return [json.loads(p.read_text())["serial"] for p in sorted(Path(sim[-1]).glob("*.json"))]


@pytest.mark.parametrize("verb", ["flash", "upload", "leave"])
def test_a_named_board_that_is_not_connected_fails_the_command(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    first = _serials(sim)[0]
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    args = {"flash": [str(app)], "upload": [str(tmp_path / "up.bin")], "leave": ["--force"]}
    capsys.readouterr()
    code = main([*sim, verb, *args[verb], "--all", "-S", first, "-S", "0000DEADBEEF"])
    out, err = capsys.readouterr()
    assert code == ExitCode.NO_DEVICE
    assert "error: 1 of 2 boards failed: 0000DEADBEEF" in err
    row = next(line for line in out.splitlines() if line.startswith("0000DEADBEEF"))
    assert "FAILED" in row and "not connected" in row
    assert next(line for line in out.splitlines() if line.startswith(first)).count(" ok ") == 1


def test_a_named_path_that_is_empty_is_a_failed_record_in_json(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    capsys.readouterr()
    code = main([*sim, "flash", str(app), "--all", "-p", "1-2", "-p", "1-7", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == ExitCode.NO_DEVICE and doc["ok"] is False and doc["succeeded"] == 1
    assert doc["failed"] == ["path 1-7"]
    (missing,) = [b for b in doc["boards"] if not b["ok"]]
    assert missing["path"] == "1-7" and missing["result"] is None and missing["hint"]


def test_boards_sharing_a_serial_upload_into_files_of_their_own(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serials = _serials(sim)
    # Two boards of a kind whose loader reports one fixed serial (many non-ST loaders do).
    for number, fill in ((1, b"\x11"), (2, b"\x22")):
        state = Path(sim[-1]) / f"board-{number:02d}.json"
        doc = json.loads(state.read_text())
        doc["serial"] = "SAME"
        state.write_text(json.dumps(doc))
        image = tmp_path / f"fill{number}.bin"
        image.write_bytes(fill * 2048)
        one = ["--sim", "stm3210e-eval", "--sim-state", str(state)]
        assert main([*one, "flash", str(image), "-s", "0x08004000", "--full"]) == 0
    capsys.readouterr()
    out = tmp_path / "up.bin"
    code = main([*sim, "upload", str(out), "--all", "-a", "0", "--address", "0x08004000",
                 "--length", "2048"])  # fmt: skip
    assert code == 0
    files = sorted(p.name for p in tmp_path.glob("up-*.bin"))
    assert files == sorted(["up-SAME-path1-1.bin", "up-SAME-path1-2.bin", f"up-{serials[2]}.bin"])
    # Each board has its own progress lines: the one that reports second gets its bus path.
    err = capsys.readouterr().err
    assert "SAME: reading 100%" in err
    assert "SAME@1-1: reading 100%" in err or "SAME@1-2: reading 100%" in err
    assert (
        load_image(tmp_path / "up-SAME-path1-1.bin", address=0).segments[0].data == b"\x11" * 2048
    )
    assert (
        load_image(tmp_path / "up-SAME-path1-2.bin", address=0).segments[0].data == b"\x22" * 2048
    )
