"""atomic_write: all or nothing, keeps the mode of the file it replaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pydfuse.errors import DfuseError
from pydfuse.formats import atomic_write


def test_writes_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    atomic_write(path, b"one")
    assert path.read_bytes() == b"one"
    os.chmod(path, 0o600)
    atomic_write(path, memoryview(b"two"))
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DfuseError, match=r"cannot write .*nodir/x\.dfu: No such file"):
        atomic_write(tmp_path / "nodir" / "x.dfu", b"x")


def test_failure_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keep.dfu"
    path.write_bytes(b"old")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(DfuseError, match="No space left on device"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.dfu"]


def test_interrupt_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.dfu", b"data")
    assert list(tmp_path.iterdir()) == []
