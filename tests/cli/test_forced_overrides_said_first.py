"""What ``--force`` overrode is said before the first byte is sent, and again in the error when
the flash then fails (text, ``--json``, ``--all``): a forced mass erase that wiped the
bootloader must never hide behind a later target error. The Python API's side:
tests/host/test_flash_warns_before_sending.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main

PROFILE = "stm3210e-eval"
# dfu-util's spelling of a forced mass erase and a write over the read-only bootloader
FORCED = ["-a", "0", "-s", "0x08000000:mass-erase:force"]


@pytest.fixture
def app_bin(tmp_path: Path) -> Path:
    path = tmp_path / "app.bin"
    path.write_bytes(bytes((i * 7 + 3) & 0xFF for i in range(20000)))
    return path


def _forced(lines: list[str]) -> list[str]:
    return [line for line in lines if "FORCED:" in line]


def test_forced_mass_erase_is_said_before_the_erase_and_the_failure(
    tmp_path: Path, app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", PROFILE, "--sim-state", str(tmp_path / "b.json")]
    capsys.readouterr()
    code = main([*sim, *FORCED, "-D", str(app_bin)])
    err = capsys.readouterr().err.splitlines()
    assert code == ExitCode.DEVICE  # the ROM refuses a write after the erase
    said = [i for i, line in enumerate(err) if line.startswith("warning: FORCED:")]
    erasing = next(i for i, line in enumerate(err) if line.startswith("erasing"))
    failed = next(i for i, line in enumerate(err) if line.startswith("error:"))
    assert said and max(said) < erasing < failed
    assert any("mass erase of Internal Flash" in err[i] for i in said)
    assert any("read-only sectors" in err[i] for i in said)


def test_json_error_of_a_forced_flash_carries_what_was_forced(
    tmp_path: Path, app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", PROFILE, "--sim-state", str(tmp_path / "b.json")]
    capsys.readouterr()
    code = main([*sim, *FORCED, "-D", str(app_bin), "--json"])
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert code == ExitCode.DEVICE and record["type"] == "DfuStatusError"
    assert any("mass erase of Internal Flash" in w for w in _forced(record["warnings"]))
    # and on stderr before anything was sent, as in text mode
    lines = err.splitlines()
    first_progress = next(i for i, line in enumerate(lines) if line.startswith("erasing"))
    assert _forced(lines[:first_progress])


def test_successful_forced_run_prints_each_warning_once(
    tmp_path: Path, app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", PROFILE, "--sim-state", str(tmp_path / "b.json")]
    capsys.readouterr()
    assert main([*sim, *FORCED, "-D", str(app_bin), "--dry-run"]) == 0
    err = capsys.readouterr().err.splitlines()
    forced = _forced(err)
    assert forced and len(forced) == len(set(forced))


def test_flash_all_says_each_boards_forced_overrides_and_keeps_them_in_its_record(
    tmp_path: Path, app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", PROFILE, "--sim-boards", "2", "--sim-state", str(tmp_path / "boards")]
    capsys.readouterr()
    code = main([*sim, "flash", *FORCED, "-D", str(app_bin), "--all", "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == ExitCode.DEVICE and not doc["ok"]
    serials = [board["serial"] for board in doc["boards"]]
    for board in doc["boards"]:
        assert board["error"] and any("mass erase" in w for w in _forced(board["warnings"]))
    for serial in serials:  # before that board's first progress line
        lines = err.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith(f"{serial}: erasing"))
        assert any(line.startswith(f"warning: {serial}: FORCED:") for line in lines[:first])


def test_a_forced_write_over_the_bootloader_is_said_once(
    tmp_path: Path, app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", PROFILE, "--sim-state", str(tmp_path / "b.json")]
    capsys.readouterr()
    main([*sim, "-a", "0", "-s", "0x08000000:force", "-D", str(app_bin), "--dry-run"])
    forced = _forced(capsys.readouterr().err.splitlines())
    read_only = [line for line in forced if "lies in read-only sectors" in line]
    assert len(read_only) == 1, forced  # the check's finding, not again as the planner's
