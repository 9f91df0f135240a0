"""End to end: ``dfuse sim`` acts on the virtual board (pins, reset, armed faults), and every
DFU error status the board is told to report reaches the user by name, with exit code 5, while
the device stays usable for the retry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.cli.render import human_size
from pydfuse.formats import load_image
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import Status

PROFILE = "stm3210e-eval"


def _status(sim: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main([*sim, "sim", "status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_status_of_a_fresh_board(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    info = _status(sim, capsys)
    assert info["running"] == "bootloader" and info["dfu_pin_held"] is False
    assert [m["bytes_not_erased"] for m in info["memories"]] == [0, 0, 0]
    assert info["faults"] == []


def test_status_counts_programmed_bytes_not_whole_sectors(
    sim: list[str], app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A 6 KiB app in 2 KiB pages: once "6 KiB programmed" (3 whole sectors) whatever it held.
    image = load_image(Path(app))
    data = image.read(image.start, image.end - image.start)
    not_ff = len(data) - data.count(0xFF)
    assert 0 < not_ff < len(data)  # the demo app has 0xFF bytes of its own: the count shows
    assert main([*sim, "flash", app]) == 0
    alt0 = _status(sim, capsys)["memories"][0]
    assert alt0["bytes_not_erased"] == not_ff
    assert (alt0["sectors_in_use"], alt0["sector_bytes_in_use"]) == (3, 6 * 1024)
    assert main([*sim, "sim", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].endswith(f": {human_size(not_ff)} programmed (not 0xFF) in 3 sectors of 6 KiB")
    assert lines[3].endswith(": erased")


def test_dfu_pin_keeps_a_valid_app_in_the_bootloader(
    sim: list[str], app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", app]) == 0
    assert main([*sim, "sim", "pin", "hold"]) == 0
    assert main([*sim, "sim", "reset"]) == 0
    assert _status(sim, capsys)["running"] == "bootloader"
    assert main([*sim, "sim", "pin", "release"]) == 0
    assert "DFU-enable pin released" in capsys.readouterr().out
    assert main([*sim, "sim", "reset", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["running"] == "application" and info["vector_table"] == 0x08003000


ERRORS = [s for s in Status if s is not Status.OK]


@pytest.mark.parametrize("status", ERRORS, ids=[s.name for s in ERRORS])
def test_each_dfu_error_status_is_reported_by_name_and_cleared(
    status: Status, sim: list[str], app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "program", status.name, "--address", "0x08003800"]) == 0
    assert _status(sim, capsys)["faults"] == [
        f"next program at 0x08003800 fails with {status.name}"
    ]
    assert main([*sim, "flash", app]) == ExitCode.DEVICE
    err = capsys.readouterr().err
    assert f"device reported {status.name}" in err and "at 0x08003800" in err
    assert "during program" in err
    # The fault fired once; the device was cleared back to dfuIDLE, so the retry succeeds.
    assert main([*sim, "flash", app, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True


@pytest.mark.parametrize(
    ("operation", "command"),
    [
        ("erase", ["erase", "--all"]),
        ("upload", ["upload", "out.bin", "--address", "0x08003000", "--length", "64"]),
        ("command", ["upload", "out.bin", "--address", "0x08003000", "--length", "64"]),
    ],
)
def test_faults_of_other_operations(
    operation: str,
    command: list[str],
    sim: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*sim, "sim", "fault", operation, "errTARGET"]) == 0
    assert main([*sim, *command]) == ExitCode.DEVICE
    assert "device reported ERR_TARGET" in capsys.readouterr().err
    assert main([*sim, *command]) == 0


def test_cable_pulled_mid_flash(
    sim: list[str], app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "unplug", "40"]) == 0
    assert main([*sim, "flash", app]) == ExitCode.DEVICE
    err = capsys.readouterr().err
    assert "the device disconnected during" in err and "only partly written" in err
    assert "hint: reconnect the board" in err
    # Plugged back in (the state file re-powers it): the vector table is written last, so the
    # half-written application is not started and the board waits in DFU mode for the retry.
    assert _status(sim, capsys)["running"] == "bootloader"
    assert main([*sim, "flash", app]) == 0
    assert VirtualBoard.load(tmp_path / "board.json").memory(0).read(0x08003000, 4) != b"\xff" * 4


def test_stalled_and_timed_out_requests_are_retried(
    sim: list[str], app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "stall"]) == 0
    assert main([*sim, "sim", "fault", "timeout"]) == 0
    assert len(_status(sim, capsys)["faults"]) == 2
    assert main([*sim, "flash", app]) == 0
    assert _status(sim, capsys)["faults"] == []


def test_sim_commands_need_sim_and_state(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "status"]) == ExitCode.USAGE
    assert "give --sim PROFILE" in capsys.readouterr().err
    assert main(["--sim", PROFILE, "sim", "pin", "hold"]) == ExitCode.USAGE
    assert "give --sim-state FILE" in capsys.readouterr().err
    assert main(["--sim", PROFILE, "sim", "fault", "program", "bogus"]) == ExitCode.USAGE
    assert "not a DFU error status" in capsys.readouterr().err


def test_fault_clear_and_power_cycle(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*sim, "sim", "fault", "erase", "0x04"]) == 0
    assert _status(sim, capsys)["faults"] == ["next erase fails with ERR_ERASE"]
    assert main([*sim, "sim", "fault", "clear"]) == 0
    assert _status(sim, capsys)["faults"] == []
    assert main([*sim, "sim", "fault", "stall"]) == 0
    assert main([*sim, "sim", "reset", "--power-cycle"]) == 0
    assert _status(sim, capsys)["faults"] == []


def test_cable_pulled_mid_upload_says_nothing_changed(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "unplug", "20"]) == 0
    out = tmp_path / "spi.bin"
    assert main([*sim, "upload", str(out), "-a", "1"]) == ExitCode.DEVICE
    err = capsys.readouterr().err
    assert "the device disconnected during upload" in err
    assert "nothing on the device was changed" in err and "partly written" not in err
    assert not out.exists()  # no half-written output file


def test_sim_changes_print_the_board_as_json(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "pin", "hold", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dfu_pin_held"] is True
    assert main([*sim, "sim", "fault", "unplug", "7", "--json"]) == 0
    faults = json.loads(capsys.readouterr().out)["faults"]
    assert faults == ["unplug after 7 more control transfer(s)"]
    assert main([*sim, "sim", "reset"]) == 0
    assert capsys.readouterr().out == "running bootloader\n"


def test_sim_changes_say_what_they_did(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*sim, "sim", "pin", "hold"]) == 0
    assert "DFU-enable pin held" in capsys.readouterr().out
    assert main([*sim, "sim", "fault", "stall"]) == 0
    assert capsys.readouterr().out == "armed faults: next control transfer: stall\n"
    assert main([*sim, "sim", "fault", "clear"]) == 0
    assert capsys.readouterr().out == "armed faults: none\n"
    assert main([*sim, "-q", "sim", "pin", "release"]) == 0
    assert capsys.readouterr().out == ""


def test_realtime_mode_takes_the_modeled_time_for_real(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    args = ["--sim", PROFILE, "--sim-realtime", "erase", "--address", "0x08003000", "--json"]
    started = time.monotonic()
    assert main(args) == 0
    elapsed = time.monotonic() - started
    modeled = json.loads(capsys.readouterr().out)["elapsed_s"]
    # One 2 KiB page erase is modeled at 30 ms; on the wall clock it took at least that long.
    assert modeled >= 0.030 and elapsed >= 0.030
    assert main(["--sim-realtime", "list"]) == ExitCode.USAGE
