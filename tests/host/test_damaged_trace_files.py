"""A damaged, foreign or cut-off ``--trace`` file never crashes ``dfuse replay``: a field of the
wrong kind is a one-line error naming the line, a gzip bomb or a huge file is refused without
being read whole, and a trace whose recording was cut off (the command killed, a CI timeout)
replays as far as it goes and says so."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.errors import FormatError
from pydfuse.formats import save_image
from pydfuse.host.replay import read_trace

PROFILE = "stm3210e-eval"


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A real trace of a small flash on the virtual board, one JSON text per line."""
    where = tmp_path_factory.mktemp("trace")
    app, trace = where / "app.hex", where / "t.jsonl"
    save_image(build_demo_app(size=2048), app)
    sim = ["--sim", PROFILE, "--sim-state", str(where / "board.json")]
    assert main([*sim, "--trace", str(trace), "-q", "flash", str(app)]) == 0
    return trace.read_text().splitlines()


def _write(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end)
    return path


def _edited(lines: list[str], index: int, change: dict[str, Any]) -> list[str]:
    record = json.loads(lines[index])
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **value}
        else:
            record[key] = value
    return [*lines[:index], json.dumps(record), *lines[index + 1 :]]


def _control(lines: list[str], request: str) -> int:
    return next(i for i, line in enumerate(lines) if f'"request":"{request}' in line)


@pytest.mark.parametrize(
    ("request_name", "change", "says"),
    [
        ("DFU_GETSTATUS", {"in": {"hex": "zz"}}, "in.hex"),
        ("DFU_GETSTATUS", {"in": {"hex": "0001"}}, "in.hex"),  # 2 bytes, length 6
        ("DFU_GETSTATUS", {"in": 5}, "in"),
        ("DFU_GETSTATUS", {"length": -3}, "length"),
        ("DFU_GETSTATUS", {"length": 10**9}, "length"),
        ("DFU_GETSTATUS", {"length": "6"}, "length"),
        ("DFU_GETSTATUS", {"setup": {"wValue": 70000}}, "setup"),
        ("DFU_GETSTATUS", {"setup": {"bRequest": -1}}, "setup"),
        ("DFU_GETSTATUS", {"t": "soon"}, "t"),
        ("DFU_GETSTATUS", {"t": -1}, "t"),
        ("DFU_GETSTATUS", {"t": float("nan")}, "t"),
        ("DFU_GETSTATUS", {"t": 1e300}, "t"),
        ("DFU_GETSTATUS", {"timeout_ms": -5}, "timeout_ms"),
        ("DFU_GETSTATUS", {"result": 7}, "result"),
        ("DFU_DNLOAD block", {"out": {"length": 5000}}, "out.length"),
    ],
)
def test_a_field_of_the_wrong_kind_names_its_line(
    lines: list[str], tmp_path: Path, request_name: str, change: dict[str, Any], says: str
) -> None:
    index = _control(lines, request_name)
    path = _write(tmp_path / "t.jsonl", _edited(lines, index, change))
    with pytest.raises(FormatError) as caught:
        read_trace(path)
    assert caught.value.line == index + 1
    assert says in str(caught.value)


def test_an_open_or_reset_event_without_its_fields(lines: list[str], tmp_path: Path) -> None:
    opened = next(i for i, line in enumerate(lines) if '"op":"open"' in line)
    for change in ({"vid": "0483"}, {"pid": 1 << 20}, {"result": None}):
        path = _write(tmp_path / "t.jsonl", _edited(lines, opened, change))
        with pytest.raises(FormatError, match="open event"):
            read_trace(path)
    reset = json.dumps({"n": 99, "t": 1.0, "op": "reset", "handle": 1})
    path = _write(tmp_path / "r.jsonl", [*lines[:-1], reset, lines[-1]])
    with pytest.raises(FormatError, match="reset event lacks result"):
        read_trace(path)


def test_a_trace_of_a_newer_format_is_refused(lines: list[str], tmp_path: Path) -> None:
    header = {**json.loads(lines[0]), "format": 99}
    path = _write(tmp_path / "t.jsonl", [json.dumps(header), *lines[1:]])
    with pytest.raises(FormatError, match="format 99"):
        read_trace(path)


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "\n")
    with pytest.raises(FormatError, match="not a JSON line"):
        read_trace(path)


def test_a_gzip_bomb_is_refused_without_unpacking_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as out:
        chunk = (b" " * 1023 + b"\n") * 1024
        for _ in range(600):  # 600 MiB of blank lines in about 600 KiB
            out.write(chunk)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(FormatError, match="larger than"):
        read_trace(path)


def test_a_line_longer_than_any_traced_transfer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text('{"trace":"pydfuse","format":1,"pad":"' + "x" * (2 << 20) + '"}\n')
    with pytest.raises(FormatError, match="line 1"):
        read_trace(path)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_replay_of_a_damaged_trace_is_one_line(
    lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _control(lines, "DFU_GETSTATUS")
    path = _write(tmp_path / "t.jsonl", _edited(lines, index, {"in": {"hex": "zz"}}))
    code, out, err = _cli(capsys, "replay", str(path))
    assert code == ExitCode.ERROR and out == ""
    assert err.startswith(f"error: {path}, line {index + 1}: ") and err.count("\n") == 1


def test_a_trace_cut_off_by_a_kill_replays_as_far_as_it_goes(
    lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The recording flushes every line; a killed command leaves no end record, and the last
    # line may be cut in the middle (plain) or the gzip stream may lack its trailer.
    kept = lines[:40]
    plain = _write(tmp_path / "cut.jsonl", [*kept, lines[40][:25]], end="")
    packed = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(("\n".join(kept) + "\n").encode(), mtime=0)
    packed.write_bytes(whole[:-8])  # no CRC/size trailer: what a killed writer leaves
    for path in (plain, packed):
        code, out, err = _cli(capsys, "replay", str(path))
        assert code == 0, err
        assert "replayed 39 events" in out
        assert "the trace ends without its end record" in err
