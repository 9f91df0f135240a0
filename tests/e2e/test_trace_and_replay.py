"""``--trace FILE`` records every control transfer of a device command as JSON Lines, ``dfuse
replay`` feeds its host requests to a virtual board and names the first answer that differs,
and ``-v``/``-vv`` tell what the host does, injected stalls and timeouts included."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main

PROFILE = "stm3210e-eval"


def _read(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def _requests(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if str(r.get("request", "")).startswith(name)]


def test_trace_records_every_control_transfer_with_firmware_hashed(
    sim: list[str], app: str, tmp_path: Path
) -> None:
    trace = tmp_path / "t.jsonl"
    assert main([*sim, "--trace", str(trace), "-q", "flash", app, "--leave"]) == 0
    header, *records = _read(trace)
    assert header["trace"] == "pydfuse" and header["sim"] == PROFILE
    assert header["clock"] == "modeled" and header["data"] == "sha256"
    assert records[0]["op"] == "open" and records[0]["vid"] == 0x0483
    assert records[-1] == {"op": "end", "result": "ok"}
    blocks = _requests(records, "DFU_DNLOAD block")
    assert len(blocks) == 6  # 6 KiB in 1 KiB transfers
    assert all("hex" not in b["out"] and len(b["out"]["sha256"]) == 16 for b in blocks)
    assert all(b["out"]["length"] == 1024 for b in blocks)
    set_address = _requests(records, "DfuSe SET_ADDRESS 0x08003000")[0]
    assert set_address["out"]["hex"] == "2100300008"  # commands are kept whole
    statuses = _requests(records, "DFU_GETSTATUS")
    assert {"status", "state", "poll_ms"} <= set(statuses[0]["dfu"])
    times = [r["t"] for r in records if "t" in r]
    assert times == sorted(times) and times[-1] > 0.1  # modeled seconds since the start
    assert _requests(records, "DFU_DNLOAD zero-length (leave)")


def test_trace_data_keeps_firmware_bytes_and_gz_compresses(
    sim: list[str], app: str, tmp_path: Path
) -> None:
    trace = tmp_path / "t.jsonl.gz"
    assert main([*sim, "--trace", str(trace), "--trace-data", "-q", "flash", app]) == 0
    header, *records = _read(trace)
    assert header["data"] == "raw"
    block = _requests(records, "DFU_DNLOAD block 2")[0]
    assert len(bytes.fromhex(block["out"]["hex"])) == 1024


def test_a_trace_replays_on_the_virtual_board_without_difference(
    sim: list[str], app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = tmp_path / "fresh.json"
    assert main(["--sim", PROFILE, "--sim-state", str(fresh), "sim", "status"]) == 0
    shutil.copy(fresh, tmp_path / "board.json")
    trace = tmp_path / "t.jsonl"
    assert main([*sim, "--trace", str(trace), "-q", "flash", app, "--leave"]) == 0
    capsys.readouterr()
    assert main(["replay", str(trace), "--json"]) == 0  # the trace names its own board
    result = json.loads(capsys.readouterr().out)
    assert result["same"] is True and result["difference"] is None
    assert result["events"] == len(_read(trace)) - 2  # every event but header and end
    assert result["data_compared"] is False  # hashed blocks went out as filler
    # With the data kept, replayed reads are compared byte for byte too.
    raw = tmp_path / "raw.jsonl"
    state = ["--sim", PROFILE, "--sim-state", str(tmp_path / "raw-board.json")]
    assert main([*state, "--trace", str(raw), "--trace-data", "-q", "flash", app]) == 0
    capsys.readouterr()
    assert main(["replay", str(raw), "--sim", PROFILE, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data_compared"] is True


def test_an_edited_answer_is_the_first_difference(
    sim: list[str], app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.jsonl"
    assert main([*sim, "--trace", str(trace), "-q", "flash", app]) == 0
    header, *records = _read(trace)
    busy = [r for r in records if r.get("dfu", {}).get("state") == "DFU_DNBUSY"]
    edited = busy[3]  # as if the real device had asked for a longer wait
    status = bytes.fromhex(edited["in"]["hex"])
    edited["in"]["hex"] = (status[:1] + (250).to_bytes(3, "little") + status[4:]).hex()
    edited["dfu"]["poll_ms"] = 250
    trace.write_text("\n".join(json.dumps(r) for r in [header, *records]) + "\n")
    capsys.readouterr()
    assert main(["replay", str(trace)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"first difference at event {edited['n']} ")
    assert out[0].endswith("DFU_GETSTATUS")
    assert out[1] == "  traced:   OK DFU_DNBUSY poll 250 ms"
    assert out[2].startswith("  replayed: OK DFU_DNBUSY poll ") and "poll 250 ms" not in out[2]


def test_replay_of_a_device_that_started_elsewhere_names_the_open(
    sim: list[str], app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-q", "flash", app, "--leave"]) == 0  # the board now runs the app
    trace = tmp_path / "t.jsonl"
    assert main([*sim, "--trace", str(trace), "-q", "upload", str(tmp_path / "b.bin")]) == 0
    capsys.readouterr()
    assert main(["replay", str(trace), "--json"]) == 1  # on a fresh board in DFU mode
    diff = json.loads(capsys.readouterr().out)["difference"]
    assert diff["n"] == 1 and diff["request"].startswith("open 0483:df12")
    assert (diff["traced"], diff["replayed"]) == ("ok", "not_found")


def test_replay_refuses_what_is_not_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "x.jsonl"
    junk.write_text('{"hello": 1}\n')
    assert main(["replay", str(junk), "--sim", PROFILE]) == ExitCode.ERROR
    assert "not a pydfuse trace" in capsys.readouterr().err
    junk.write_text('{"trace": "pydfuse"}\n{"op": "control", "t": 0}\n')
    assert main(["replay", str(junk), "--sim", PROFILE]) == ExitCode.ERROR
    assert "line 2" in capsys.readouterr().err
    assert main(["--trace-data", "list"]) == ExitCode.USAGE


def test_verbose_tells_about_an_injected_timeout(
    sim: list[str], app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-q", "flash", app]) == 0
    assert main([*sim, "sim", "fault", "timeout"]) == 0  # hits the next request: string 0
    capsys.readouterr()
    assert main([*sim, "leave", "-v"]) == 0
    err = capsys.readouterr().err
    assert "host: the language list (string 0) could not be read; asking in US English" in err
    assert "ops: using 0483:df11" in err
    assert "host: leave: device answered DFU_MANIFEST" in err
    assert main([*sim, "-q", "detach"]) == 0
    assert main([*sim, "sim", "fault", "stall"]) == 0
    assert main([*sim, "-vv", "leave"]) == 0
    err = capsys.readouterr().err
    assert "GET_DESCRIPTOR string 0 -> STALL" in err  # -vv: the request itself


def test_very_verbose_shows_each_request_and_poll_wait(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-vv", "erase", "--address", "0x08003000"]) == 0
    err = capsys.readouterr().err
    assert "usb: " in err and "DfuSe ERASE 0x08003000" in err
    assert "DFU_GETSTATUS -> OK DFU_DNBUSY poll" in err
    assert "bwPollTimeout" in err  # each poll wait
    assert "host: erase 0x08003000: DFU_DNLOAD_IDLE, after" in err


def test_trace_of_a_command_that_talks_to_no_device_says_so(
    tmp_path: Path, app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.jsonl"
    assert main(["--trace", str(trace), "info", app]) == 0
    assert not trace.exists()
    assert "note: --trace: info talked to no device, so nothing was recorded" in (
        capsys.readouterr().err
    )
