"""``dfuse doctor`` on the virtual board made to fail as libusb fails (EACCES, EBUSY with and
without a kernel driver, no backend, Windows without WinUSB) and on a board running its
application; device commands' errors from these causes point to the doctor; ``dfuse
udev-rules`` prints and installs the rules."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pydfuse import ops
from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.errors import DfuseError
from pydfuse.formats import save_image

PROFILE = "stm3210e-eval"


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


def _doctor(sim: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    capsys.readouterr()
    code = main([*sim, "doctor", "--json"])
    return code, json.loads(capsys.readouterr().out)


def _host(sim: list[str], condition: str) -> None:
    assert main([*sim, "-q", "sim", "fault", "host", condition]) == 0


def test_a_healthy_board_is_ready(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _doctor(sim, capsys)
    assert code == 0 and report["ok"] is True and report["libusb"] is True
    (device,) = report["devices"]
    assert (device["id"], device["mode"], device["problem"]) == ("0483:df11", "dfu", None)
    assert device["known_as"] == "STM32 system bootloader / ST DfuSe"
    assert [f["level"] for f in report["findings"]] == ["ok"]


CASES = {
    "access": ("no permission to open it", 'ATTR{idProduct}=="df11"', "no permission"),
    "busy": ("another program has claimed", "close dfu-util", "busy"),
    "kernel-driver": ("a kernel driver holds its DFU interface 0", "unbind", "busy"),
    "no-winusb": ("no WinUSB driver", "Zadig", "does not let libusb open"),
    "no-backend": ("libusb cannot be loaded", "libusb-package", "no libusb backend"),
}


@pytest.mark.parametrize("condition", list(CASES))
def test_each_host_failure_is_diagnosed_and_device_commands_point_to_doctor(
    condition: str, sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    what, fix, error = CASES[condition]
    _host(sim, condition)
    code, report = _doctor(sim, capsys)
    assert code == 1 and report["ok"] is False
    (finding,) = report["findings"]
    assert finding["level"] == "problem" and what in finding["what"]
    assert any(fix in line for line in finding["fix"])
    assert report["libusb"] is (condition != "no-backend")
    # A device command hitting the same wall says so and names the doctor.
    command = [*sim, "upload", str(tmp_path / "x.bin"), "-a", "0", "--length", "16", "--json"]
    code = main(command)
    record = json.loads(capsys.readouterr().out)
    assert code == ExitCode.DEVICE, record
    assert error in record["error"]
    assert "dfuse doctor" in record["hint"]


def test_a_board_running_its_application_is_told_how_to_enter_dfu(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=4096), app)
    assert main([*sim, "-q", "flash", str(app), "--leave"]) == 0
    code, report = _doctor(sim, capsys)
    assert code == 1  # nothing is ready in DFU mode yet
    (finding,) = report["findings"]
    assert finding["level"] == "note" and "runs its application" in finding["what"]
    assert any("dfuse detach" in f for f in finding["fix"])
    assert any("BOOT0" in f for f in finding["fix"])
    assert report["devices"][0]["mode"] == "runtime"
    # a command asking for the DFU-mode IDs only says why it finds nothing, and what to do
    code = main([*sim, "leave", "-d", ",0483:df11", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == ExitCode.NO_DEVICE
    assert "runs its application" in record["hint"] and "dfuse detach" in record["hint"]
    assert "dfuse doctor" in record["hint"]
    # so does one naming the DFU-mode IDs as -d VID:PID (the application runs as 0483:df12)
    code = main([*sim, "upload", "-d", "0483:df11", "-a", "0", str(tmp_path / "x.bin"), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == ExitCode.NO_DEVICE and "runs its application under other IDs" in record["hint"]
    assert "-d 0483:df12,0483:df11 names both" in record["hint"]


def test_the_doctor_in_text(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _host(sim, "access")
    capsys.readouterr()
    assert main([*sim, "doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("platform ") and out[0].endswith(", libusb found")
    assert out[1].startswith("PROBLEM: 0483:df11 ") and "no permission" in out[1]
    assert out[2].startswith("    - dfuse udev-rules --install")


def test_no_device_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--json"])  # real USB; whatever is plugged in here, not a DFU board
    report = json.loads(capsys.readouterr().out)
    if report["devices"]:
        pytest.skip("a DFU-looking device is plugged into this machine")
    assert code == 1
    assert "no device on the bus looks like DFU" in report["findings"][0]["what"]


def test_udev_rules_print_and_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["udev-rules"]) == 0
    text = capsys.readouterr().out
    for vid, pid in (("0483", "df11"), ("28e9", "0189"), ("2e3c", "df11")):
        assert f'ATTR{{idVendor}}=="{vid}", ATTR{{idProduct}}=="{pid}"' in text
    assert 'TAG+="uaccess"' in text
    target = tmp_path / "rules.d" / "60-pydfuse.rules"
    target.parent.mkdir()
    assert main(["udev-rules", "--install", "--path", str(target), "--no-reload"]) == 0
    assert target.read_text() == text
    monkeypatch.setenv("PATH", str(tmp_path))  # no udevadm here
    capsys.readouterr()
    assert main(["udev-rules", "--install", "--path", str(target), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)["done"]
    assert done[-1] == "udevadm not found: replug the board for the rule to apply"
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["udev-rules", "--install", "--path", str(blocked / "x.rules")]) == 1
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_udev_rules_install_never_leaves_a_half_written_file(tmp_path: Path) -> None:
    import resource

    target = tmp_path / "60-pydfuse.rules"
    target.write_text("# the rules that work today\n")

    def small_files() -> None:  # the disk fills up 200 bytes into the file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    args = ["udev-rules", "--install", "--path", str(target), "--no-reload"]
    done = subprocess.run(
        [sys.executable, "-m", "pydfuse", *args],
        preexec_fn=small_files,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == ExitCode.ERROR
    assert done.stderr.startswith(f"error: cannot write {target}: File too large")
    assert target.read_text() == "# the rules that work today\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


def test_udev_rules_install_creates_no_udev_where_there_is_none(tmp_path: Path) -> None:
    missing = tmp_path / "etc" / "udev" / "rules.d" / "60-pydfuse.rules"
    with pytest.raises(DfuseError, match=r"rules\.d does not exist"):
        ops.install_udev_rules(missing, reload=False)
    assert not (tmp_path / "etc").exists()
    for platform, says in (("darwin", "macOS needs no udev rule"), ("win32", "WinUSB")):
        with pytest.raises(DfuseError, match="udev rules are for Linux") as caught:
            ops.install_udev_rules(tmp_path / "x.rules", platform=platform)
        assert says in str(caught.value.hint)
        assert not (tmp_path / "x.rules").exists()


@pytest.mark.parametrize("condition", ["access", "no-winusb"])
def test_list_says_which_device_it_cannot_open(
    condition: str, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # dfu-util -l says "Cannot open DFU device ... (LIBUSB_ERROR_ACCESS)"; an unreadable
    # device must not pass for one running its application ("DFU run-time interface").
    _host(sim, condition)
    capsys.readouterr()
    assert main([*sim, "list"]) == 0
    out = capsys.readouterr().out
    assert "0483:df11" in out and "cannot open it:" in out and "dfuse doctor" in out
    assert "run-time interface" not in out
    assert main([*sim, "list", "--json"]) == 0
    (device,) = json.loads(capsys.readouterr().out)["devices"]
    assert device["problem"] and device["mode"] == "dfu"
    _host(sim, "none")
    assert main([*sim, "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["devices"][0]["problem"] is None
