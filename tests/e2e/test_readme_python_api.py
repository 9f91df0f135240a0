"""The README's Python API example runs exactly as written, and its ``usb_environment()``
alternative works in the same ``with`` statement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pydfuse import ops
from pydfuse.demoapp import build_demo_app
from pydfuse.errors import DeviceNotFoundError
from pydfuse.formats import pack_images

README = Path(__file__).resolve().parents[2] / "README.md"


def _api_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README's Python API section has no python block"
    return match.group(1)


def test_readme_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    pack_images([(0, "Internal Flash", build_demo_app())]).write(tmp_path / "fw.dfu")
    exec(compile(_api_example(), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "'left': True" in out and "'verified': True" in out


def test_usb_environment_works_in_the_same_with_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _api_example()
    assert 'ops.sim_environment("stm3210e-eval")' in code and "ops.usb_environment()" in code
    usb = code.replace('ops.sim_environment("stm3210e-eval")', "ops.usb_environment()")
    with ops.usb_environment() as env:
        if ops.list_devices(env):
            pytest.skip("a real DFU device is connected: this test does not flash it")
    monkeypatch.chdir(tmp_path)
    pack_images([(0, "Internal Flash", build_demo_app())]).write(tmp_path / "fw.dfu")
    # no board on this machine's USB: the with statement works, and flash says so
    with pytest.raises(DeviceNotFoundError):
        exec(compile(usb, "README.md", "exec"), {})
