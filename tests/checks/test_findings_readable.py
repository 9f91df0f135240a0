"""Regressions for the pre-flight checks as a user reads them.

A file that is no application at all (a data blob at the application address) used to get a
line per vector entry — up to 14 "vector.outside"/"vector.thumb" lines burying the one that
matters. When word 0 is no stack pointer either, the entries are summed up in one finding.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args, "--profile", "stm3210e-eval"])
    return code, capsys.readouterr().out.splitlines()


def test_data_blob_at_the_app_address_gets_one_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = tmp_path / "data.bin"
    blob.write_bytes(random.Random(7).randbytes(4096))
    code, lines = _check(capsys, str(blob), "--address", "0x08003000")
    assert code == 3
    codes = [line.split()[1] for line in lines if line.startswith("  ")]
    assert codes == ["vector.stack:", "vector.not-a-table:"]
    summary = lines[2]
    assert "vector entries look wrong as well (" in summary
    assert summary.endswith(
        "the data at 0x08003000 is most likely not a vector table — is the load address right?"
    )


def test_real_application_keeps_its_detailed_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # linked for 0x08000000, loaded at 0x08003000: a valid stack pointer, so the one
    # relocation finding stays (no summary)
    app = tmp_path / "app.hex"
    save_image(build_demo_app(link_address=0x08000000, load_address=0x08003000), app)
    code, lines = _check(capsys, str(app))
    assert code == 3
    assert [line.split()[1] for line in lines if line.startswith("  ")] == [
        "vector.linked-elsewhere:"
    ]


def test_one_wrong_entry_is_not_summed_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # only the Reset entry is wrong (twice: Thumb bit and destination): no "1 vector entries"
    blob = tmp_path / "zeros.bin"
    blob.write_bytes(bytes(16) + b"\xff" * 4080)
    code, lines = _check(capsys, str(blob), "--address", "0x08003000")
    assert code == 3
    codes = [line.split()[1] for line in lines if line.startswith("  ")]
    assert codes == ["vector.stack:", "vector.thumb:", "vector.outside:"]
