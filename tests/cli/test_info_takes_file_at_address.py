"""``info`` takes a raw binary as ``FILE@ADDR``, as ``check``, ``map``, ``pack`` and ``flash`` do:
its own "needs a load address" hint names that spelling, and it answered "no such file"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app


@pytest.fixture
def app_bin(tmp_path: Path) -> Path:
    path = tmp_path / "app.bin"
    path.write_bytes(build_demo_app().segments[0].data)
    return path


def test_info_reads_file_at_address(app_bin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", f"{app_bin}@0x08003000", "--json"]) == ExitCode.OK
    described = json.loads(capsys.readouterr().out)
    assert described["kind"] == "bin"
    assert described["path"] == str(app_bin)
    assert described["segments"][0]["address"] == 0x08003000


def test_two_different_addresses_are_a_usage_error(
    app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["info", f"{app_bin}@0x08003000", "--address", "0x08004000"])
    assert code == ExitCode.USAGE
    assert "give the address once" in capsys.readouterr().err


def test_a_file_named_with_an_at_sign_is_still_that_file(
    tmp_path: Path, app_bin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app@0x10.bin"
    path.write_bytes(app_bin.read_bytes())
    assert main(["info", str(path), "--address", "0x08003000", "--json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["segments"][0]["address"] == 0x08003000
