"""Long device commands print plain progress lines when stderr is not a terminal (a CI log),
every 10 % or every 2 s of device time, whichever is rarer, and one at the end of each phase;
on the virtual board every time says it is modeled, and ``--json`` carries modeled and wall
time. Sizes are KiB and rates KiB/s."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.cli.progress import ProgressLines
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from pydfuse.ops import ProgressEvent
from support.clocks import StepClock

PROFILE = "stm3210e-eval"
LINE = re.compile(
    r"^(comparing|erasing|programming|verifying|reading) +(\d+)% [\d.]+ (B|KiB|MiB)"
    r"( of [\d.]+ (KiB|MiB), [\d.]+ KiB/s, [\d.]+ s modeled| in [\d.]+ s modeled \([\d.]+ KiB/s\))$"
)


def _lines(step_s: float, steps: int = 100) -> list[str]:
    clock, out = StepClock(), io.StringIO()
    view = ProgressLines(clock, modeled=False, stream=out)
    for n in range(steps + 1):
        view(ProgressEvent("program", n * 1024, steps * 1024))
        clock.sleep(step_s)
    return out.getvalue().splitlines()


def test_slow_phases_get_a_line_every_10_percent() -> None:
    lines = _lines(step_s=1.0)  # 1 % a second: 10 % takes 10 s, rarer than every 2 s
    percents = [int(line.split()[1].rstrip("%")) for line in lines]
    assert percents == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_fast_phases_get_a_line_every_2_seconds() -> None:
    lines = _lines(step_s=0.0625)  # 1 % in 62.5 ms: 2 s is rarer than 10 %
    percents = [int(line.split()[1].rstrip("%")) for line in lines]
    assert percents == [32, 64, 96, 100]
    assert lines[0] == "programming  32% 32 KiB of 100 KiB, 16.0 KiB/s, 2.00 s"
    assert lines[-1] == "programming 100% 100 KiB in 6.25 s (16.0 KiB/s)"


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


@pytest.fixture
def big_app(tmp_path: Path) -> str:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=160 * 1024), path)
    return str(path)


def _progress(err: str) -> list[str]:
    return [line for line in err.splitlines() if "%" in line]


def test_every_long_command_prints_progress_lines_through_a_pipe(
    sim: list[str], big_app: str, tmp_path: Path
) -> None:
    def run(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "pydfuse", *sim, *args],
            capture_output=True,  # pipes: neither stdout nor stderr is a terminal
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        lines = _progress(done.stderr)
        for line in lines:
            assert LINE.match(line), line
        return lines

    flash = run("flash", big_app)
    assert [line.split()[0] for line in flash if "100%" in line] == [
        "comparing",  # delta flashing reads the touched sectors back first
        "erasing",
        "programming",
        "verifying",
    ]
    assert len([line for line in flash if line.startswith("programming")]) >= 3
    assert run("upload", str(tmp_path / "back.bin"), "-a", "0")[-1].startswith("reading 100%")
    assert run("upload", str(tmp_path / "all.dfu"))[-1].startswith("reading 100%")
    erase = run("erase", "-a", "1", "--address", "0", "--length", "512K")
    assert erase[-1].startswith("erasing 100% 512 KiB in 8.00 s modeled")
    assert len(erase) >= 4


def test_quiet_silences_progress_and_json_keeps_stdout_clean(
    sim: list[str], big_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", *sim, "flash", big_app]) == 0
    assert capsys.readouterr().err == ""
    assert main([*sim, "flash", big_app, "--json", "--full"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert _progress(captured.err)  # progress still reaches a CI log, on stderr
    assert record["modeled_s"] > 5.0  # 80 pages erased and written on the virtual clock
    assert 0 < record["wall_s"] < record["modeled_s"]
    assert record["elapsed_s"] == pytest.approx(record["modeled_s"], abs=0.1)


def test_summaries_say_modeled_on_the_virtual_board(
    sim: list[str], big_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "flash", big_app]) == 0
    out = capsys.readouterr().out
    assert re.search(r"wrote 160 KiB to .* in [\d.]+ s modeled \([\d.]+ KiB/s\); verified", out)
    assert main([*sim, "erase", "-a", "0", "--address", "0x08003000"]) == 0
    assert re.search(
        r"erased 1 sector\(s\) of alt 0 .* in [\d.]+ s modeled", capsys.readouterr().out
    )


def test_a_phase_that_runs_again_gets_its_lines_again() -> None:
    # A full backup reads one memory after the other, each a phase "upload" of its own size.
    clock, out = StepClock(), io.StringIO()
    view = ProgressLines(clock, modeled=False, stream=out)
    for total in (8 * 1024, 64 * 1024):
        view(ProgressEvent("upload", 0, total))
        for done in range(1024, total + 1, 1024):
            clock.sleep(0.5)
            view(ProgressEvent("upload", done, total))
    ends = [line for line in out.getvalue().splitlines() if "100%" in line]
    assert ends == [
        "reading 100% 8 KiB in 4.00 s (2.0 KiB/s)",
        "reading 100% 64 KiB in 32.00 s (2.0 KiB/s)",
    ]


def test_a_read_of_unknown_size_gets_a_line_every_2_seconds_and_one_at_the_end() -> None:
    # A plain DFU device sends until a short block: the total is known only at the end.
    clock, out = StepClock(), io.StringIO()
    view = ProgressLines(clock, modeled=True, stream=out)
    view(ProgressEvent("upload", 0, 0))  # ops' start of an open-ended phase
    for n in range(1, 101):
        clock.sleep(0.0625)
        view(ProgressEvent("upload", n * 1024, 0))
    view(ProgressEvent("upload", 100 * 1024, 100 * 1024))  # ops says how much it was
    assert out.getvalue().splitlines() == [
        "reading 32 KiB so far, 16.0 KiB/s, 2.00 s modeled",
        "reading 64 KiB so far, 16.0 KiB/s, 4.00 s modeled",
        "reading 96 KiB so far, 16.0 KiB/s, 6.00 s modeled",
        "reading 100% 100 KiB in 6.25 s modeled (16.0 KiB/s)",
    ]


def test_a_full_backup_shows_one_phase_over_every_memory(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 512 KiB internal + 8 MiB SPI + 16 MiB NOR: the lines count against the whole read (they
    # once showed the first memory only, then each memory's own total, the end of each
    # looking like the end of the read).
    assert main([*sim, "upload", str(tmp_path / "all.dfu")]) == 0
    lines = _progress(capsys.readouterr().err)
    assert [line.split(" in ")[0] for line in lines if "100%" in line] == ["reading 100% 24.5 MiB"]
    assert len(lines) >= 5 and all("of 24.5 MiB" in line for line in lines[:-1]), lines
    percents = [int(line.split()[1].rstrip("%")) for line in lines]
    assert percents == sorted(percents)


def test_a_full_backup_on_a_terminal_fills_one_bar_to_the_whole_size(tmp_path: Path) -> None:
    # Rich bars need a terminal: stderr is a pseudo-terminal here, as in an interactive shell.
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "pydfuse", "--sim", PROFILE, "--sim-state"]
    done = subprocess.Popen(
        [*command, str(tmp_path / "board.json"), "upload", str(tmp_path / "all.dfu")],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the pseudo-terminal closes with the process (EIO on Linux)
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.wait(timeout=60) == 0
    assert done.stdout is not None and b"read 24.5 MiB" in done.stdout.read()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())
    amounts = re.findall(r"([\d.]+)/([\d.]+) (KiB|MiB)", text)
    assert amounts, text
    assert {(total, unit) for _, total, unit in amounts} == {("24.5", "MiB")}
    assert amounts[-1] == ("24.5", "24.5", "MiB")


def test_a_plain_dfu_upload_of_unknown_size_ends_with_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "plain.json")]
    assert main([*board, "upload", str(tmp_path / "fw.bin")]) == 0
    lines = _progress(capsys.readouterr().err)
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert lines[0].startswith("reading 100% 64 KiB in ")
