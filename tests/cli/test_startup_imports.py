"""Commands import what they need when they need it: ``dfuse --help``, ``info`` and ``suffix
check`` never load rich, bincopy, pyelftools, pyusb, the host/ops layers or the simulator (they
cost about 150 ms of start-up; ``bench/startup.py`` measures the time itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pydfuse.formats import DfuSuffix, PlainDfuFile

HEAVY = ("rich", "bincopy", "elftools", "usb", "pydfuse.sim", "pydfuse.ops", "pydfuse.host")

_PROBE = """
import json, sys
from pydfuse.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps([code, sorted(m for m in sys.modules if m.split(".")[0] in {0!r}
                               or m.startswith(("pydfuse.sim", "pydfuse.ops", "pydfuse.host")))]),
      file=sys.stderr)
"""


def _loaded(*args: str) -> tuple[int, list[str]]:
    top = {name for name in HEAVY if "." not in name}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(top), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return code, modules


@pytest.fixture
def small_dfu(tmp_path: Path) -> str:
    path = tmp_path / "small.dfu"
    PlainDfuFile(bytes(range(200)), DfuSuffix(0xFFFF, 0xDF11, 0x0483, 0x0100)).write(path)
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["info", "{dfu}"],
        ["info", "{dfu}", "--json"],
        ["suffix", "check", "{dfu}"],
        ["--json", "info", "{missing}"],
        ["info", "tests/data/formats_ours_multi.dfu"],
    ],
)
def test_light_commands_do_not_import_heavy_modules(
    args: list[str], small_dfu: str, tmp_path: Path
) -> None:
    words = [a.format(dfu=small_dfu, missing=tmp_path / "missing.dfu") for a in args]
    code, modules = _loaded(*words)
    assert code in (0, 1)
    assert modules == []


def test_a_hex_file_still_loads_its_reader_on_demand() -> None:
    code, modules = _loaded("info", "tests/data/formats_app.hex")
    assert code == 0
    assert "bincopy" not in modules  # Intel HEX takes the fast path first
    code, modules = _loaded("info", "tests/data/formats_app.s19")
    assert code == 0 and "bincopy" in modules


def test_device_commands_on_usb_do_not_load_the_simulator() -> None:
    code, modules = _loaded("--json", "list", "--help")
    assert code == 0
    assert not any(m.startswith("pydfuse.sim") for m in modules)


_LIGHT_PROBE = """
import json, sys
from pydfuse.cli.main import main
main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _LIGHT_PROBE, *args], capture_output=True, text=True, check=False
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_and_suffix_check_skip_what_they_do_not_use(small_dfu: str) -> None:
    # Each of these costs a few ms of a start-up budget of 80 (bench/startup.py).
    helped = _modules("--help")
    assert not helped & {"shutil", "pathlib", "dataclasses", "pydfuse.formats.dfuse"}
    checked = _modules("suffix", "check", small_dfu)
    loaders = {"pydfuse.formats.loaders", "pydfuse.formats.ihex", "pydfuse.formats.pack"}
    assert "pydfuse.formats.suffix" in checked and not checked & loaders
    assert "pydfuse.formats.dfuse" not in checked  # the .dfu reader: not for a suffix
    assert "pydfuse.cli.dfuutil" not in checked  # only lines without a command name need it
    described = _modules("info", small_dfu)
    assert "pydfuse.formats.dfuse" in described and not described & loaders
