"""Regressions for the file commands: exit codes of bad paths, --json everywhere.

Found by using ``dfuse`` as a user would: ``check``/``map`` turned a missing file or a directory
into a usage error (exit 2) while ``info`` said exit 1 (the README: bad or missing input file =
1); ``map``, ``suffix add`` and ``suffix remove`` had no --json; an output path in a missing
directory was only found after the work was done.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), path)
    return path


@pytest.mark.parametrize("command", ["info", "check", "map", "unpack"])
def test_missing_input_file_is_exit_1_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    missing = tmp_path / "nope.dfu"
    extra = ["--profile", "stm3210e-eval"] if command in ("check", "map") else []
    code, _, err = _run(capsys, command, str(missing), *extra)
    assert code == 1
    assert err.splitlines()[0] == f"error: {missing}: no such file"


@pytest.mark.parametrize("command", ["info", "check", "map", "suffix check"])
def test_directory_as_input_file_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    extra = ["--profile", "stm3210e-eval"] if command in ("check", "map") else []
    code, _, err = _run(capsys, *command.split(), str(tmp_path), *extra)
    assert code == 1
    assert err.splitlines()[0] == f"error: {tmp_path}: is a directory, expected a file"


def test_pack_into_a_directory_is_exit_1_and_reads_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    code, _, err = _run(capsys, "pack", str(tmp_path), "-t", f"0={app}")
    assert code == 1
    assert err.splitlines()[0] == f"error: cannot write {tmp_path}: it is a directory"


def test_pack_into_missing_directory_is_refused_before_reading_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "fw.dfu"
    # the input does not exist either: the output path is refused first, before any work
    code, _, err = _run(capsys, "pack", str(out), "-t", f"0={tmp_path / 'none.hex'}")
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: cannot write {out}: directory {out.parent} does not exist"
    )


def test_map_json_lists_memories_and_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    svg = tmp_path / "map.svg"
    code, out, _ = _run(
        capsys, "map", str(app), "--profile", "stm3210e-eval", "--json", "--svg", str(svg)
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["svg"] == str(svg) and "<svg " in svg.read_text()
    internal = doc["memories"][0]
    assert internal["alt"] == 0 and internal["start"] == 0x08000000
    kinds = [(r["start"], r["kind"]) for r in internal["runs"]]
    assert kinds[:2] == [(0x08000000, "protected"), (0x08003000, "written")]
    assert doc["missing_alternates"] == []


def test_map_svg_into_missing_directory_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    svg = tmp_path / "no" / "map.svg"
    code, out, err = _run(capsys, "map", str(app), "--profile", "stm3210e-eval", "--svg", str(svg))
    assert code == 1 and out == ""
    assert f"cannot write {svg}: directory" in err


def test_suffix_add_and_remove_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blob = tmp_path / "fw.bin"
    blob.write_bytes(b"\x01\x02\x03\x04")
    code, out, _ = _run(capsys, "suffix", "add", str(blob), "--vid", "0x1209", "--json")
    assert code == 0
    added = json.loads(out)
    assert added["added"] is True and added["vid"] == 0x1209 and added["bcd_dfu"] == 0x0100
    assert len(blob.read_bytes()) == 4 + 16
    code, out, _ = _run(capsys, "suffix", "remove", str(blob), "--json")
    assert code == 0
    removed = json.loads(out)
    assert removed["removed"] is True and removed["vid"] == 0x1209 and removed["crc_ok"] is True
    assert blob.read_bytes() == b"\x01\x02\x03\x04"


@pytest.mark.parametrize("command", ["info", "unpack"])
def test_empty_dfu_says_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    empty = tmp_path / "fw.dfu"
    empty.write_bytes(b"")
    code, _, err = _run(capsys, command, str(empty))
    assert code == 1
    assert err.splitlines() == [f"error: {empty}: the file is empty, not a DFU file"]


def test_empty_input_image_says_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("e.hex", "e.dfu", "e.bin@0"):
        (tmp_path / name.split("@")[0]).write_bytes(b"")
        code, _, err = _run(capsys, "pack", str(tmp_path / "o.dfu"), "-t", f"0={tmp_path / name}")
        assert code == 1
        assert err.splitlines()[0] == f"error: {tmp_path / name.split('@')[0]}: the file is empty"
    assert not (tmp_path / "o.dfu").exists()


def test_hex_named_dfu_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    wrong = tmp_path / "app.dfu"
    wrong.write_bytes(app.read_bytes())
    code, _, err = _run(capsys, "info", str(wrong))
    assert code == 1
    assert err.splitlines()[1] == (
        "hint: it looks like an Intel HEX file: give it the matching extension, or pack it "
        "with dfuse pack"
    )


def test_dfu_named_hex_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    dfu = tmp_path / "fw.dfu"
    assert main(["pack", str(dfu), "-t", f"0={app}"]) == 0
    wrong = tmp_path / "fw.hex"
    wrong.write_bytes(dfu.read_bytes())
    capsys.readouterr()
    code, _, err = _run(capsys, "check", str(wrong), "--profile", "stm3210e-eval")
    assert code == 1
    assert "not a text Intel HEX file (non-ASCII byte)" in err.splitlines()[0]
    assert err.splitlines()[1] == "hint: it starts with 'DfuSe': it is a .dfu file; rename it .dfu"


def test_unpack_into_a_file_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    dfu = tmp_path / "fw.dfu"
    assert main(["pack", str(dfu), "-t", f"0={app}"]) == 0
    capsys.readouterr()
    before = app.read_bytes()
    code, _, err = _run(capsys, "unpack", str(dfu), "-o", str(app))
    assert code == 1
    assert err.splitlines()[0] == f"error: cannot write into {app}: it is a file, not a directory"
    assert app.read_bytes() == before


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ('0:"Internal Flash"=APP', "Internal Flash"),  # quotes that reached us literally
        ("0:'Internal Flash'=APP", "Internal Flash"),
        ("0:=APP", ""),  # an explicitly empty name stays empty
        ('0:"=APP', '"'),  # a lone quote is a name
    ],
)
def test_pack_target_names_without_literal_quotes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path, spec: str, name: str
) -> None:
    out = tmp_path / "fw.dfu"
    assert main(["pack", str(out), "-t", spec.replace("APP", str(app))]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    assert [t["name"] for t in json.loads(capsys.readouterr().out)["targets"]] == [name]


def test_info_address_with_a_dfuse_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    # it was silently ignored (check already refused it the same way)
    dfu = tmp_path / "fw.dfu"
    assert main(["pack", str(dfu), "-t", f"0={app}"]) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, "info", str(dfu), "--address", "0x0")
    assert code == 2 and out == ""
    assert "--address is for raw images; a DfuSe file has its own" in err


def test_pack_refuses_to_overwrite_its_own_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    # "dfuse pack app.hex -t 0=app.hex" replaced the user's HEX with a .dfu
    before = app.read_bytes()
    code, _, err = _run(capsys, "pack", str(app), "-t", f"0={app}")
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {app}: the output is also an input: writing it would replace that input file"
    )
    assert app.read_bytes() == before
