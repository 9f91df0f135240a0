"""``check`` and ``map`` take a raw binary as ``FILE@ADDR``, as ``flash`` and ``pack`` do: the
very argument a user is about to flash was "no such file" for the command that checks it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app


@pytest.mark.parametrize("command", ["check", "map"])
def test_file_at_address_is_understood(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    app = tmp_path / "app.bin"
    app.write_bytes(build_demo_app().segments[0].data)
    given = f"{app}@0x08003000"
    assert main([command, given, "--profile", "stm3210e-eval", "--json"]) == ExitCode.OK
    out = json.loads(capsys.readouterr().out)
    assert out["file"] == str(app)
    wrong = f"{tmp_path / 'wrong.bin'}@0x08004000"
    (tmp_path / "wrong.bin").write_bytes(app.read_bytes())
    if command == "check":  # linked for 0x08003000, loaded at 0x08004000
        assert main([command, wrong, "--profile", "stm3210e-eval"]) == ExitCode.UNSAFE
    twice = [command, given, "--address", "0x08004000", "--profile", "stm3210e-eval"]
    assert main(twice) == ExitCode.USAGE
    assert "give the address once" in capsys.readouterr().err
