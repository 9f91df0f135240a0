"""Regressions: what ``dfuse`` does when its own output cannot be written as asked.

Found by piping and redirecting: ``dfuse list | head -1`` exited 1 (rich's own broken-pipe
handling) while ``--json`` exited 0; ``> /dev/full`` and a stdout whose encoding lacks ``×``
(PYTHONIOENCODING=ascii) ended in tracebacks.
"""

from __future__ import annotations

import errno
import io
import sys

import pytest

from pydfuse.cli.main import main


class _Failing(io.RawIOBase):
    """A byte sink whose writes fail with ``error`` (a closed pipe, a full disk)."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise self.error


def _stdout(monkeypatch: pytest.MonkeyPatch, raw: io.RawIOBase, encoding: str = "utf-8") -> None:
    stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding)
    monkeypatch.setattr(sys, "stdout", stream)


@pytest.mark.parametrize("args", [["profiles"], ["profiles", "--json"]])
def test_closed_pipe_is_a_quiet_success(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    _stdout(monkeypatch, _Failing(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert main(args) == 0


@pytest.mark.parametrize("args", [["profiles"], ["profiles", "--json"]])
def test_full_disk_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    _stdout(monkeypatch, _Failing(OSError(errno.ENOSPC, "No space left on device")))
    assert main(args) == 1
    assert capsys.readouterr().err == "error: cannot write the output: No space left on device\n"


def test_ascii_stdout_gets_question_marks_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    sink = io.BytesIO()

    class _Keep(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            chunk = bytes(data)  # type: ignore[call-overload]
            sink.write(chunk)
            return len(chunk)

    _stdout(monkeypatch, _Keep(), encoding="ascii")
    assert main(["--sim", "stm3210e-eval", "list"]) == 0
    sys.stdout.flush()
    text = sink.getvalue().decode("ascii")
    assert "250 ? 2 KiB" in text and "read/erase/write" in text
