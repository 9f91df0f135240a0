"""Regressions for the device commands on the virtual board (through real pyusb).

Found by using ``dfuse`` as a user: ``upload`` into a missing directory read the whole memory
first and failed afterwards; ``--length 0`` wrote an empty file (upload) or blamed the address
(erase: "0x00000000 is not in SPI Flash (0x00000000..)"); ``upload x.dfu -a 1`` silently read
every alternate; a mass erase said "erased mass erase"; progress rates used the wall clock while
the virtual board runs on virtual time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main
from pydfuse.cli.progress import ProgressView
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import DfuseFile, PlainDfuFile, read_dfu, save_image
from pydfuse.ops import ProgressEvent
from pydfuse.sim.board import VirtualBoard
from support.clocks import StepClock

PROFILE = "stm3210e-eval"


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_upload_into_missing_directory_is_refused_before_reading(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "back.bin"
    code, _, err = _run(capsys, *sim, "upload", str(out), "-a", "1")
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: cannot write {out}: directory {out.parent} does not exist"
    )
    # refused before the board was opened: the state file was never created
    assert not (tmp_path / "board.json").exists()


def test_upload_into_a_directory_is_exit_1(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.bin"
    target.mkdir()
    code, _, err = _run(capsys, *sim, "upload", str(target), "-a", "0", "--length", "16")
    assert code == 1
    assert err.splitlines()[0] == f"error: cannot write {target}: it is a directory"


@pytest.mark.parametrize("command", ["upload", "erase"])
def test_zero_length_is_a_usage_error(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = [str(tmp_path / "x.bin")] if command == "upload" else []
    code, _, err = _run(capsys, *sim, command, *args, "-a", "1", "--address", "0", "--length", "0")
    assert code == 2
    assert "Invalid value for --length: must be at least 1 byte" in err
    assert not (tmp_path / "x.bin").exists()


def test_upload_dfu_of_one_alternate_range(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spi.dfu"
    code, stdout, _ = _run(
        capsys, *sim, "upload", str(out), "-a", "SPI", "--address", "4K", "--length", "1K", "--json"
    )
    assert code == 0
    expected = [{"alt": 1, "name": "SPI Flash : M25P64", "bytes": 1024}]
    assert json.loads(stdout)["targets"] == expected
    dfu = DfuseFile.read(out)
    assert [(t.alt, t.image.start, t.image.size) for t in dfu.targets] == [(1, 0x1000, 1024)]
    assert (dfu.suffix.vid, dfu.suffix.pid) == (0x0483, 0xDF11)


def test_upload_dfu_of_every_alternate_refuses_a_range(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, *sim, "upload", str(tmp_path / "all.dfu"), "--length", "16")
    assert code == 2
    assert "a .dfu of every alternate reads each one whole; add -a ALT" in err


def test_mass_erase_message(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # The layout marks the bootloader pages read-only: a mass erase needs --force, as in flash.
    code, _, err = _run(capsys, *sim, "erase", "--mass")
    assert code == 3
    assert "would also wipe 0x08000000..0x08002fff" in err
    code, out, err = _run(capsys, *sim, "erase", "--mass", "--force")
    assert code == 0
    assert out.startswith("mass-erased all of alt 0 Internal Flash (512 KiB) in ")
    assert "warning: FORCED" in err


def test_erase_of_a_read_only_sector_leaves_the_bootloader(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    board = VirtualBoard(PROFILE)
    board.memories[0].load(0x08000000, bytes(range(256)) * 48)  # a stand-in bootloader
    board.save(tmp_path / "board.json")
    before = board.memories[0].read(0x08000000, 0x3000)
    code, _, err = _run(capsys, *sim, "erase", "-a", "0", "--address", "0x08000000")
    assert code == 3
    assert "error: sector 0x08000000 of Internal Flash is not erasable" in err
    after = VirtualBoard.load(tmp_path / "board.json").memories[0].read(0x08000000, 0x3000)
    assert after == before


def test_progress_rates_use_the_environment_clock() -> None:
    clock = StepClock(100.0)
    with ProgressView(enabled=True, clock=clock) as view:
        for done in range(0, 8193, 1024):
            view(ProgressEvent("program", done, 8192))
            clock.sleep(2.0)  # virtual time: 1024 bytes every 2 s
        assert view._progress is not None
        task = view._progress.tasks[0]
        assert task.speed == pytest.approx(512.0)


def test_upload_dfu_from_a_plain_device_is_a_plain_dfu_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "p.json")]
    blob = tmp_path / "fw.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    assert main([*sim, "flash", str(blob), "--address", "0"]) == 0
    out = tmp_path / "back.dfu"
    capsys.readouterr()
    code, stdout, _ = _run(capsys, *sim, "upload", str(out), "--json")
    assert code == 0 and json.loads(stdout)["kind"] == "plain"
    parsed = read_dfu(out)
    assert isinstance(parsed, PlainDfuFile)
    assert (parsed.suffix.vid, parsed.suffix.pid, parsed.suffix.bcd_dfu) == (0x1209, 0x0001, 0x100)
    assert parsed.payload[:1024] == blob.read_bytes()
    # and the device takes it back as it is
    assert main([*sim, "flash", str(out)]) == 0


def test_plain_board_line_names_no_bootloader_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "p.json")]
    blob = tmp_path / "fw.bin"
    blob.write_bytes(b"\x01" * 64)
    code, out, _ = _run(capsys, *sim, "flash", str(blob), "--address", "0")
    assert code == 0
    last = out.splitlines()[-1]
    assert last.startswith("virtual board plain-dfu (") and last.endswith("): running bootloader")


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "301"])
def test_detach_wait_must_be_a_sane_number_of_seconds(
    sim: list[str], capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _, err = _run(capsys, *sim, "detach", f"--wait={value}")
    assert code == 2
    assert "Invalid value for '--wait'" in err


def test_list_alt_shows_only_that_alternate(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, *sim, "list", "-a", "spi", "--json")
    assert code == 0
    alternates = json.loads(out)["devices"][0]["alternates"]
    assert [a["name"] for a in alternates] == ["SPI Flash : M25P64"]
    code, out, _ = _run(capsys, *sim, "list", "-a", "nothing-like-it")
    assert code == 0 and out == "no alternate setting matches -a 'nothing-like-it'\n"


def test_runtime_device_lists_without_an_empty_sector_table(
    sim: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    assert main([*sim, "flash", str(app), "--leave"]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, *sim, "list")
    assert code == 0
    assert "runtime mode" in out.splitlines()[0]
    assert out.splitlines()[1:] == ["  alt 0: DFU run-time interface"]


def test_target_names_with_brackets_print_as_they_are(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # rich markup used to take "[/x]" in a DfuSe target name as a closing tag: MarkupError
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    dfu = tmp_path / "fw.dfu"
    assert main(["pack", str(dfu), "-t", "0:[/x] [bold]=app.hex".replace("app.hex", str(app))]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "check", str(dfu), "--profile", PROFILE)
    assert code == 0
    assert out.splitlines()[0].startswith("target 0 ([/x] [bold]) -> Internal Flash: ")
    code, out, _ = _run(capsys, "info", str(dfu))
    assert code == 0 and "[/x] [bold]" in out
    code, out, _ = _run(capsys, *sim, "flash", str(dfu))
    assert code == 0 and out.startswith("alt 0 Internal Flash: ")


def test_flash_with_unknown_profile_is_a_usage_error(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    code, _, err = _run(capsys, *sim, "flash", str(app), "--profile", "no-such-board")
    assert code == 2
    assert "Invalid value for --profile: unknown board profile 'no-such-board'; known: " in err
    assert "Traceback" not in err


def test_leave_address_implies_leave(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    code, out, _ = _run(capsys, *sim, "flash", str(app), "--leave-address", "0x08003000")
    assert code == 0
    assert "; left DFU mode" in out
    assert VirtualBoard.load(tmp_path / "board.json").running == "application"


def test_single_image_without_alt_goes_where_check_puts_it(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # check said "OK" for a NOR image at 0x64000000 while flash refused it for alt 0
    nor = tmp_path / "nor.bin"
    nor.write_bytes(bytes(range(256)) * 16)
    check = ["check", str(nor), "--address", "0x64000000", "--profile", PROFILE]
    assert main(check) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, *sim, "flash", str(nor), "--address", "0x64000000")
    assert code == 0, err
    assert out.startswith("alt 2 NOR Flash : M29W128F: 4 KiB in 1 run(s)")
    board = VirtualBoard.load(tmp_path / "board.json")
    assert board.memories[2].read(0x64000000, 4096) == nor.read_bytes()


def test_leave_with_nothing_to_start_says_so(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # "left DFU mode" alone read as success while the blank board came straight back
    code, out, _ = _run(capsys, *sim, "leave")
    assert code == 0
    assert out.splitlines()[-1].endswith(
        "running bootloader (no application was started: it is still, or again, in DFU mode)"
    )


def test_flash_accepts_packs_file_at_address_spelling(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # "data.bin@0x64000000" works for pack -t; flash said "no such file"
    blob = tmp_path / "nor.bin"
    blob.write_bytes(b"\xa5" * 2048)
    code, out, err = _run(capsys, *sim, "flash", f"{blob}@0x64000000")
    assert code == 0, err
    assert out.startswith("alt 2 NOR Flash : M29W128F: 2 KiB in 1 run(s)")
    code, _, err = _run(capsys, *sim, "flash", f"{blob}@0x64000000", "--address", "0")
    assert code == 2 and "give the address once: FILE@ADDR or --address" in err


def test_unprotect_on_a_bootloader_without_it_says_so_and_erases_nothing(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=2048), app)
    assert main([*sim, "flash", str(app)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, *sim, "unprotect", "--force")
    assert code == 5
    assert "MASS-ERASE" in err.splitlines()[0]  # said before anything is sent (#12)
    assert err.splitlines()[-1] == (
        "hint: this bootloader does not implement Read Unprotect (DfuSe 0x92); nothing was "
        "erased — ST's system-memory (ROM) bootloaders have it"
    )
    board = VirtualBoard.load(tmp_path / "board.json")
    assert board.memories[0].read(0x08003000, 8) != b"\xff" * 8


@pytest.mark.parametrize("name", ["back.mot", "back.s28", "back.ihx"])
def test_upload_writes_every_extension_info_reads(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / name
    code, _, err = _run(capsys, *sim, "upload", str(out), "-a", "1", "--length", "64")
    assert code == 0, err
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == 64


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["upload", "x.bin", "-a", "0", "--length", "-5"], "--length"),
        (["upload", "x.bin", "-a", "0", "-Z", "lots"], "-Z"),
        (["erase", "-a", "1", "--address", "0", "--length", "-5"], "--length"),
        (["gui", "--no-browser", "--host", "192.0.2.1", "--max-upload", "-5"], "--max-upload"),
    ],
)
def test_a_bad_size_is_called_a_size_not_an_address(
    sim: list[str], capsys: pytest.CaptureFixture[str], args: list[str], option: str
) -> None:
    code, _, err = _run(capsys, *sim, *args)
    assert code == 2
    assert "is not a size; use a number of bytes (65536), hex (0x10000)" in err
    assert option in err and "address" not in err


def test_gui_refuses_a_zero_upload_limit(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # --host 192.0.2.1 is refused after parsing: a regression fails instead of serving forever
    gui = ["gui", "--no-browser", "--host", "192.0.2.1"]
    code, _, err = _run(capsys, *sim, *gui, "--max-upload", "0")
    assert code == 2 and "the size must be at least 1" in err
