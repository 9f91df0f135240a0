"""dfu-util 0.11's options, with dfu-util's meaning, against the virtual board: ``-l``, ``-V``,
``-D``/``-U`` without a command name, ``-R``, ``-w``, ``-U`` with ``-s ADDR:LENGTH``, ``-Z``,
``-d ,VID:PID`` and ``-d RT:DFU``, and the ``-s`` modifiers."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pydfuse import __version__
from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image

PROFILE = "stm3210e-eval"
APP = 0x08003000


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


@pytest.fixture
def app_bin(tmp_path: Path) -> Path:
    path = tmp_path / "app.bin"
    save_image(build_demo_app(link_address=APP, size=4096), path)
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def _status(sim: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    code, status = _json(capsys, *sim, "sim", "status")
    assert code == 0
    return status


def test_dash_l_lists_like_list(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _json(capsys, *sim, "-l") == _json(capsys, *sim, "list")
    code, listed = _json(capsys, *sim, "-l", "-d", "0483:df11")
    assert code == 0 and [d["id"] for d in listed["devices"]] == ["0483:df11"]


def test_alternate_by_its_whole_string_as_dfu_util_names_it(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    whole = "@SPI Flash : M25P64/0x00000000/128*64Kg"  # dfu-util -a compares the whole string
    for command in (["list"], ["-l"]):
        code, listed = _json(capsys, *sim, *command, "-a", whole)
        assert code == 0 and [a["alt"] for a in listed["devices"][0]["alternates"]] == [1]


def test_dash_capital_v_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-V"]) == 0
    assert capsys.readouterr().out.strip() == f"dfuse, version {__version__}"


def test_download_leave_without_a_command_name(
    sim: list[str], app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*sim, "-a", "0", "-s", f"0x{APP:08x}:leave", "-D", str(app_bin)]
    assert main(args) == 0  # dfu-util's line, word for word
    status = _status(sim, capsys)
    assert status["running"] == "application" and status["vector_table"] == APP


def test_upload_with_address_and_length(
    sim: list[str], app_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-q", "-a", "0", "-s", f"0x{APP:08x}", "-D", str(app_bin)]) == 0
    back = tmp_path / "back.bin"
    assert main([*sim, "-a", "0", "-s", f"0x{APP + 0x100:08x}:0x200", "-U", str(back)]) == 0
    assert back.read_bytes() == app_bin.read_bytes()[0x100:0x300]
    assert main([*sim, "upload", str(back), "-s", f"0x{APP:x}:mass-erase:force"]) == 2


def test_z_is_the_expected_size_not_a_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # dfu-util 0.11: -Z only scales the progress bar, "the actual upload size is determined by
    # the device", and a different amount is warned about. It never cuts a backup short.
    plain = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "plain.json")]
    whole, short = tmp_path / "whole.bin", tmp_path / "short.bin"
    assert main([*plain, "-U", str(whole), "-Z", "65536"]) == 0
    assert len(whole.read_bytes()) == 64 * 1024
    assert "warning" not in capsys.readouterr().err
    code, record = _json(capsys, *plain, "-U", str(short), "-Z", "1000")
    assert code == 0 and short.read_bytes() == whole.read_bytes()
    assert record["warnings"] == [
        "read 65536 bytes, not the 1000 that -Z expected (the device decides how much it sends)"
    ]
    assert main([*plain, "upload", str(short), "-Z", "1000", "--all"]) == 2  # no per-board -Z


def test_upload_then_leave(
    sim: list[str], app_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-q", "-a", "0", "-s", f"0x{APP:08x}", "-D", str(app_bin)]) == 0
    code, record = _json(
        capsys, *sim, "-a", "0", "-s", f"0x{APP:x}:64:leave", "-U", str(tmp_path / "x.bin")
    )
    assert code == 0 and record["left"] is True and record["bytes"] == 64
    assert _status(sim, capsys)["running"] == "application"


def test_reset_after_the_operation(
    sim: list[str], app_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.jsonl"
    args = [*sim, "--trace", str(trace), "flash", str(app_bin), "--address", hex(APP), "-R"]
    code, record = _json(capsys, *args)
    assert code == 0
    assert record["reset"] == {"mode": "dfu", "id": "0483:df11"}  # the ST demo stays in DFU mode
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    requests = [e.get("request") or e.get("op") for e in events]
    assert requests.index("DFU_DETACH") < requests.index("reset")  # as dfu-util: detach, reset
    assert main([*sim, "upload", str(tmp_path / "u.bin"), "-a", "0", "--length", "16", "-R"]) == 0
    assert "USB reset: 0483:df11 is now in dfu mode" in capsys.readouterr().out


def test_wait_for_a_device_that_is_there(
    sim: list[str], app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-w", "-a", "0", "-s", hex(APP), "-D", str(app_bin)]) == 0
    assert main([*sim, "-w", "list"]) == 0
    assert main([*sim, "flash", "-w", str(app_bin), "--address", hex(APP)]) == 0
    assert "waiting" not in capsys.readouterr().err  # nothing to wait for, nothing said


def test_dfu_mode_ids_ignore_a_running_application(
    sim: list[str], app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-q", "flash", str(app_bin), "--address", hex(APP), "--leave"]) == 0
    assert _status(sim, capsys)["running"] == "application"  # run-time mode: 0483:df12
    code, listed = _json(capsys, *sim, "list", "-d", ",0483:df11")
    assert code == 0 and listed["devices"] == []
    code, listed = _json(capsys, *sim, "list", "-d", "0483:df12")
    assert [d["mode"] for d in listed["devices"]] == ["runtime"]
    code, record = _json(capsys, *sim, "leave", "-d", ",0483:df11")
    assert code == ExitCode.NO_DEVICE and "-d ,0483:df11" in record["error"]
    # RT,DFU: the run-time device is found, detached, and its DFU-mode self used.
    out = Path(sim[-1]).with_name("rt.bin")
    ids = ["-d", "0483:df12,:df11"]  # the DFU-mode VID is the run-time one
    code, _ = _json(capsys, *sim, "upload", str(out), *ids, "-s", f"{hex(APP)}:16")
    assert code == 0 and out.read_bytes() == app_bin.read_bytes()[:16]
    assert _status(sim, capsys)["running"] == "bootloader"


def test_s_modifiers_mass_erase_and_force(
    sim: list[str], app_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    far = tmp_path / "far.bin"
    far.write_bytes(b"\x5a" * 2048)
    assert main([*sim, "-q", "flash", str(far), "--address", "0x08070000"]) == 0
    assert main([*sim, "-a", "0", "-s", f"{hex(APP)}:mass-erase", "-D", str(app_bin)]) == 2
    assert "add :force" in capsys.readouterr().err
    # mass-erase needs force (dfu-util's rule); here it also lets the erase wipe the loader
    assert (
        main([*sim, "-q", "-a", "0", "-s", f"{hex(APP)}:mass-erase:force", "-D", str(app_bin)]) == 0
    )
    back = tmp_path / "back.bin"
    assert (
        main(
            [
                *sim,
                "-q",
                "upload",
                str(back),
                "-a",
                "0",
                "--address",
                "0x08070000",
                "--length",
                "2K",
            ]
        )
        == 0
    )
    assert back.read_bytes() == b"\xff" * 2048  # the far page went with the mass erase
    assert main([*sim, "-a", "0", "-s", f"{hex(APP)}:frobnicate", "-D", str(app_bin)]) == 2


def test_s_unprotect_force_unprotects_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "f4.json")]
    data = tmp_path / "d.bin"
    data.write_bytes(b"\x11" * 1024)
    assert main([*sim, "-a", "0", "-s", "0x08000000:unprotect", "-D", str(data)]) == 2
    trace = tmp_path / "t.jsonl"
    line = [*sim, "--trace", str(trace), "-a", "0", "-s", ":unprotect:force", "-D", str(data)]
    code, record = _json(capsys, *line)
    assert code == 0 and record["unprotected"] is True and record["written"] is False
    requests = [json.loads(x).get("request", "") for x in trace.read_text().splitlines()]
    assert "DfuSe READ_UNPROTECT" in requests  # what dfu-util sends for :unprotect
    assert not [r for r in requests if r.startswith("DFU_DNLOAD block")]  # the file: not sent


def test_s_will_reset_on_option_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "f4.json")]
    ob = tmp_path / "ob.bin"
    ob.write_bytes(bytes.fromhex("ffaa0055ffaa0055ffff0000ffff0000"))  # the factory values
    code, record = _json(capsys, *sim, "-a", "1", "-s", "0x1FFFC000:will-reset", "-D", str(ob))
    assert code == 0 and record["bytes_written"] == 16


def test_dash_e_detaches_a_running_application(
    sim: list[str], app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "-q", "flash", str(app_bin), "--address", hex(APP), "--leave"]) == 0
    assert main([*sim, "-e", "-d", "0483:df12"]) == 0
    assert _status(sim, capsys)["running"] == "bootloader"
    assert main([*sim, "-e", "-U", "x.bin"]) == 2  # one action at a time, as dfu-util


def test_s_force_writes_where_the_check_refuses(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "linked-for-0x08000000.bin"  # the classic mistake, behind the loader
    save_image(build_demo_app(link_address=0x08000000, size=2048), wrong)
    assert main([*sim, "-a", "0", "-s", hex(APP), "-D", str(wrong)]) == ExitCode.UNSAFE
    capsys.readouterr()
    code, record = _json(capsys, *sim, "-a", "0", "-s", f"{hex(APP)}:force", "-D", str(wrong))
    assert code == 0 and record["bytes_written"] == 2048  # :force is --force, loudly


def test_s_modifiers_without_a_file_are_dfuse_commands(
    sim: list[str], app_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # dfu-util 0.11 runs -s without -D/-U as "DfuSe command mode": leave, mass-erase or
    # unprotect alone (PlatformIO and the STM32duino tools start the application so).
    assert main([*sim, "-q", "-a", "0", "-s", hex(APP), "-D", str(app_bin)]) == 0
    assert main([*sim, "-a", "0", "-s", f"{hex(APP)}:leave"]) == 0
    status = _status(sim, capsys)
    assert status["running"] == "application" and status["vector_table"] == APP
    assert main([*sim, "-q", "detach"]) == 0
    spi = tmp_path / "spi.bin"
    spi.write_bytes(b"\xa5" * 4096)
    assert main([*sim, "-q", "flash", "-a", "1", str(spi), "--address", "0"]) == 0
    assert main([*sim, "-a", "1", "-s", "0:mass-erase"]) == 2  # needs :force, as in dfu-util
    assert main([*sim, "-q", "-a", "1", "-s", "0:mass-erase:force"]) == 0
    back = tmp_path / "back.bin"
    assert main([*sim, "-q", "upload", str(back), "-a", "1", "--length", "4K"]) == 0
    assert back.read_bytes() == b"\xff" * 4096
    capsys.readouterr()
    assert main([*sim, "-a", "0", "-s", hex(APP)]) == ExitCode.USAGE  # nothing to do: say so
    assert "-D FILE" in capsys.readouterr().err
    assert main([*sim, "-d", "0483:df11"]) == ExitCode.USAGE  # dfu-util: "specify -D or -U"
    assert "a dfu-util line needs an action" in capsys.readouterr().err
    assert main([*sim, "-a", "1", "-s", "0:mass-erase:force:leave"]) == ExitCode.USAGE
    # an address in the NOR flash must not mass-erase the internal flash (alt 0) instead
    assert main([*sim, "-s", "0x64000000:mass-erase:force"]) == ExitCode.USAGE
    assert "-a ALT" in capsys.readouterr().err


def test_s_unprotect_without_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f4 = ["--sim", "stm32f4-rom", "--sim-state", str(tmp_path / "f4.json")]
    code, record = _json(capsys, *f4, "-a", "0", "-s", ":unprotect:force")
    assert code == 0 and record["was_protected"] is False


def test_long_and_glued_dfu_util_spellings(
    sim: list[str], app_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_line = ["--alt", "0", "--dfuse-address", f"{hex(APP)}:leave", "--download", str(app_bin)]
    assert main([*sim, "-q", "--wait", *long_line]) == 0
    assert _status(sim, capsys)["running"] == "application"
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    assert main([*sim, "-q", "-a0", f"-s{hex(APP)}:0x100", f"-U{one}"]) == 0
    glued = ["--alt=0", f"--dfuse-address={hex(APP)}:0x100", f"--upload={two}", "--wait"]
    assert main([*sim, "-q", *glued]) == 0
    assert one.read_bytes() == two.read_bytes() == app_bin.read_bytes()[:0x100]
    assert main([*sim, "-q", f"-D{app_bin}", "-a", "0", "-s", hex(APP)]) == 0


def test_dash_d_dash_reads_the_firmware_from_stdin(
    sim: list[str], app_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dfu-util 0.11: "When FILE is -, the firmware is read from stdin" (curl ... | dfu-util -D -)
    def stdin(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    def written() -> bytes:
        back = tmp_path / "back.bin"
        args = ["upload", str(back), "-a", "0", "--address", hex(APP), "--length", "4K"]
        assert main([*sim, "-q", *args]) == 0
        return back.read_bytes()

    stdin(app_bin.read_bytes())
    assert main([*sim, "-q", "-a", "0", "-s", hex(APP), "-D", "-"]) == 0
    assert written() == app_bin.read_bytes()
    app_hex = tmp_path / "app.hex"
    save_image(build_demo_app(link_address=APP, size=4096, version="2.0.0"), app_hex)
    stdin(app_hex.read_bytes())  # a HEX carries its address: no -s needed
    assert main([*sim, "-q", "flash", "-"]) == 0
    assert written() != app_bin.read_bytes()
    stdin(b"")
    assert main([*sim, "flash", "-"]) == ExitCode.ERROR  # nothing on stdin: one line


def test_upload_over_an_existing_file_says_so(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # dfu-util opens -U's file with O_EXCL and refuses; pydfuse writes it, but never silently.
    back = tmp_path / "back.bin"
    code, record = _json(capsys, *sim, "-a", "0", "-s", f"{hex(APP)}:64", "-U", str(back))
    assert code == 0 and record["replaced"] is False
    code, record = _json(capsys, *sim, "-a", "0", "-s", f"{hex(APP)}:64", "-U", str(back))
    assert code == 0 and record["replaced"] is True
    assert main([*sim, "-a", "0", "-s", f"{hex(APP)}:64", "-U", str(back)]) == 0
    assert "replacing the old file" in capsys.readouterr().out


def test_leave_of_a_plain_dfu_device_that_stays_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A plain DFU 1.1 "leave" is a bus reset; whether an application starts is the device's
    # choice (§1.6). This one stays in DFU mode: "left DFU mode" would be a false report.
    plain = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "plain.json")]
    code, record = _json(capsys, *plain, "leave")
    assert code == 0 and record["left"] is False
    assert main([*plain, "leave"]) == 0
    out = capsys.readouterr().out
    assert "left DFU mode" not in out and "did not confirm leaving DFU mode" in out
    assert main([*plain, "-U", str(tmp_path / "fw.bin"), "-R"]) == 0
    out = capsys.readouterr().out  # no ":leave" advice: on plain DFU leave is the same reset
    assert "USB reset: 1209:0001 is now in dfu mode" in out and ":leave" not in out
