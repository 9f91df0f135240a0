"""``-q``, ``-v`` and ``--json`` work in any position, for every command and subcommand, and
with ``--json`` every error is a JSON object on stdout (``error``, ``hint``, ``exit_code``)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click
import pytest

from pydfuse import __version__
from pydfuse.cli.main import COMMANDS, ExitCode, cli, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image

PROFILE = "stm3210e-eval"


def _command_paths() -> list[list[str]]:
    """Every command line prefix that names a command (``["sim", "fault", "program"]``...)."""
    paths: list[list[str]] = []
    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(cli, [])
    return paths


PATHS = _command_paths()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) for p in PATHS])
def test_every_command_takes_the_global_options_before_and_after_its_name(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ["-q", "--json", *path, "--help"],
        ["-v", *path, "-vv", "--json", "--help"],
        [*path, "--quiet", "--help"],
        [*path, "--verbose", "--help"],
    ):
        code, out, _ = _run(capsys, *args)
        assert code == 0, args
        assert "--json" in out and "-q, --quiet" in out and "-v, --verbose" in out


def test_sim_subcommands_were_walked() -> None:
    assert ["sim", "fault", "program"] in PATHS and ["suffix", "check"] in PATHS


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


def test_json_before_or_after_the_command_prints_the_same(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for args in (["--json", *sim, "list"], [*sim, "list", "--json"], [*sim, "--json", "list"]):
        code, out, _ = _run(capsys, *args)
        assert code == 0
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0]["devices"][0]["id"] == "0483:df11"


def test_json_of_a_subcommand_given_before_the_group(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["--json", *sim, "sim", "status"], [*sim, "sim", "--json", "status"]):
        code, out, _ = _run(capsys, *args)
        assert code == 0
        assert json.loads(out)["running"] == "bootloader"


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_in_either_position_silences_flash(
    where: str, sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=4096), app)
    args = ["-q", *sim, "flash", str(app)] if where == "before" else [*sim, "flash", str(app), "-q"]
    code, out, err = _run(capsys, *args)
    assert code == 0
    assert out == "" and err == ""
    code, out, _ = _run(capsys, *sim, "flash", "--full", str(app))  # --full: the same app again
    assert code == 0 and "wrote 4 KiB" in out  # not quiet without -q


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    code, out, err = _run(capsys, *args)
    return code, json.loads(out), err


@pytest.mark.parametrize("words", [["--json", "-V"], ["-V", "--json"], ["--version", "--json"]])
def test_json_version_is_a_json_document(
    capsys: pytest.CaptureFixture[str], words: list[str]
) -> None:
    # -V is handled before the other options: --json after it once still printed plain text
    assert main(words) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"version": __version__} and captured.err == ""


def test_json_error_for_a_missing_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.dfu")
    for args in (["--json", "info", missing], ["info", missing, "--json"]):
        code, record, err = _error(capsys, *args)
        assert code == ExitCode.ERROR == record["exit_code"]
        assert record["error"] == f"{missing}: no such file"
        assert record["path"] == missing and record["type"] == "FormatError"
        assert "hint" in record
        assert err.startswith("error: ")  # the human line stays on stderr


def test_json_error_for_usage_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    # An unknown option fails before any option is parsed: --json after it still counts.
    code, record, _ = _error(capsys, "info", "--bogus", "x.dfu", "--json")
    assert code == ExitCode.USAGE == record["exit_code"]
    assert "--bogus" in str(record["error"])
    assert record["hint"] == "dfuse info --help shows the options"
    code, record, _ = _error(capsys, "--json", "flash", "--address", "nowhere", "x.bin")
    assert code == 2 and "'nowhere' is not an address" in str(record["error"])
    code, record, _ = _error(capsys, "--json", "no-such-command")
    assert code == 2 and "no-such-command" in str(record["error"])


def test_json_errors_of_device_commands_carry_their_exit_codes(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record, _ = _error(capsys, "--json", *sim, "list", "-d", "1234:5678")
    assert code == 0  # an empty list is not an error
    code, record, _ = _error(capsys, "--json", *sim, "leave", "-d", "1234:5678")
    assert code == ExitCode.NO_DEVICE == record["exit_code"]
    assert record["type"] == "DeviceNotFoundError" and record["error"]
    assert main([*sim, "sim", "fault", "erase", "errTARGET"]) == 0
    capsys.readouterr()
    code, record, _ = _error(capsys, *sim, "erase", "--all", "-a", "1", "--json")
    assert code == ExitCode.DEVICE == record["exit_code"]
    assert record["status"] == "ERR_TARGET" and record["type"] == "DfuStatusError"


def test_json_error_when_the_check_refuses_to_flash(
    sim: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "boot.hex"
    save_image(build_demo_app(link_address=0x08000000, size=4096), wrong)
    code, record, _ = _error(capsys, *sim, "flash", str(wrong), "--json")
    assert code == ExitCode.UNSAFE == record["exit_code"]
    assert record["type"] == "PlanError" and record["hint"]


def test_without_json_errors_leave_stdout_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "info", str(tmp_path / "nope.dfu"))
    assert code == 1 and out == "" and err.startswith("error: ")


def test_help_lists_commands_by_task_with_examples_that_parse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    sections = ["Files:", "Before flashing:", "Devices:"]
    positions = [out.index(s) for s in sections]
    assert positions == sorted(positions)
    for entry in COMMANDS:
        assert f"e.g. {entry.example}" in out
        words = shlex.split(entry.example)
        words = words[1:] if words[0] == "sudo" else words
        assert words[0] == "dfuse"
        # --help parses every word first: an option the command lacks would be exit 2.
        assert main([*words[1:], "--help"]) == 0, entry.example
    capsys.readouterr()


def test_quiet_and_verbose_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "-q", "profiles", "-v")
    assert code == ExitCode.USAGE
    assert "-q" in err and "-v" in err
