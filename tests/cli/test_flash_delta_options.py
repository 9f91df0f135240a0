"""``dfuse flash`` skips unchanged sectors by default, says so, shows it in ``--dry-run``, and
``--full`` rewrites everything (issue #11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import Image, save_image

PAGES = 6


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", "stm3210e-eval", "--sim-state", str(tmp_path / "board.json")]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=PAGES * 2048), path)
    return path


def _flash_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_identical_reflash_writes_nothing_and_says_so(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", str(app)]) == 0
    capsys.readouterr()
    assert main([*sim, "flash", str(app)]) == 0
    out = capsys.readouterr().out
    assert f"{PAGES} unchanged skipped" in out and "nothing to write" in out
    doc = _flash_json([*sim, "flash", str(app)], capsys)
    (target,) = doc["targets"]
    assert target["erased_sectors"] == [] and len(target["skipped_sectors"]) == PAGES
    assert target["bytes_compared"] == PAGES * 2048 and doc["verified"] is True


def test_full_rewrites_every_touched_sector(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", str(app)]) == 0
    doc = _flash_json([*sim, "flash", "--full", str(app)], capsys)
    (target,) = doc["targets"]
    assert len(target["erased_sectors"]) == PAGES and target["skipped_sectors"] == []
    assert target["bytes_compared"] == 0


def test_dry_run_lists_skipped_and_rewritten_sectors_with_the_reason(
    sim: list[str], app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", str(app)]) == 0
    image = build_demo_app(size=PAGES * 2048)
    data = bytearray(image.segments[0].data)
    data[3 * 2048 + 5] ^= 0xFF
    changed = tmp_path / "changed.hex"
    save_image(Image.from_segments([(image.start, bytes(data))]), changed)
    capsys.readouterr()
    assert main([*sim, "flash", "--dry-run", str(changed)]) == 0
    out = capsys.readouterr().out
    assert "skip 0x08003800..0x080047ff (2 sectors, 4 KiB): already holds exactly" in out
    assert "rewrite 0x08004800..0x08004fff (1 sector, 2 KiB): holds other bytes" in out
    assert "rewrite 0x08003000..0x080037ff (1 sector, 2 KiB): holds the vector table" in out
    doc = _flash_json([*sim, "flash", str(changed)], capsys)
    assert doc["targets"][0]["erased_sectors"] == [0x08003000, 0x08004800]


def test_a_misread_sector_is_rewritten_with_a_warning(
    sim: list[str], app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", str(app)]) == 0
    assert main([*sim, "sim", "fault", "misread", "0x08004010"]) == 0
    capsys.readouterr()
    assert main([*sim, "flash", str(app)]) == 0
    captured = capsys.readouterr()
    assert "sector 0x08004000 read back differently twice" in captured.err
    assert "2 sector(s) erased, 4 unchanged skipped, verified" in captured.out
