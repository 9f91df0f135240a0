"""End to end: the ``dfuse`` device commands on the virtual board, through real pyusb.

Each test runs the command line in-process (``pydfuse.cli.main.main``) with ``--sim`` and a
``--sim-state`` file, so consecutive commands work on the same virtual board, as a user's would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import DfuseFile, DfuSuffix, PlainDfuFile, load_image, save_image
from pydfuse.sim.board import VirtualBoard

PROFILE = "stm3210e-eval"


@pytest.fixture
def sim(tmp_path: Path) -> list[str]:
    return ["--sim", PROFILE, "--sim-state", str(tmp_path / "board.json")]


def _board(tmp_path: Path) -> VirtualBoard:
    return VirtualBoard.load(tmp_path / "board.json")


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)


def test_list_json_describes_the_three_memories(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "list", "--json"]) == 0
    devices = _json(capsys)["devices"]
    assert len(devices) == 1
    dev = devices[0]
    assert dev["id"] == "0483:df11" and dev["mode"] == "dfu" and dev["transfer_size"] == 1024
    names = [a["name"] for a in dev["alternates"]]
    assert names == ["Internal Flash", "SPI Flash : M25P64", "NOR Flash : M29W128F"]
    internal = dev["alternates"][0]["regions"][0]
    assert internal["address"] == 0x08000000  # JSON addresses are integers
    assert [(g["count"], g["size"], g["type"]) for g in internal["groups"]] == [
        (6, 2048, "a"),
        (250, 2048, "g"),
    ]


def test_list_text_shows_sector_table(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*sim, "list"]) == 0
    out = capsys.readouterr().out
    assert "0483:df11" in out and "dfu mode" in out
    assert "6 × 2 KiB" in out and "read-only" in out and "250 × 2 KiB" in out


def _multi_dfu(tmp_path: Path) -> Path:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=6 * 1024), app)
    spi = tmp_path / "spi.bin"
    save_image(build_data_blob(0, 3000, seed=3), spi)
    nor = tmp_path / "nor.bin"
    save_image(build_data_blob(0x64000000, 5000, seed=5), nor)
    out = tmp_path / "fw.dfu"
    args = ["pack", str(out), "-t", f"0:Internal Flash={app}", "-t", f"1:SPI Flash={spi}@0"]
    assert main([*args, "-t", f"2:NOR Flash={nor}@0x64000000"]) == 0
    return out


def test_flash_multi_target_dfu_then_upload_each_memory(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    firmware = _multi_dfu(tmp_path)
    capsys.readouterr()
    assert main([*sim, "flash", str(firmware), "--json"]) == 0
    result = _json(capsys)
    assert [t["alt"] for t in result["targets"]] == [0, 1, 2]
    assert result["verified"] is True and result["left"] is False
    assert result["sim"]["running"] == "bootloader"
    board = _board(tmp_path)
    for target in DfuseFile.read(firmware).targets:
        for seg in target.image:
            assert board.memory(target.alt).read(seg.address, len(seg)) == seg.data
    # Read the SPI part back with the upload command, by alternate name.
    back = tmp_path / "spi-back.bin"
    assert main([*sim, "upload", str(back), "-a", "SPI", "--address", "0", "--length", "3000"]) == 0
    assert back.read_bytes() == build_data_blob(0, 3000, seed=3).segments[0].data


def test_flash_refuses_image_linked_for_wrong_address(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.hex"
    save_image(build_demo_app(link_address=0x08000000, load_address=0x08003000), bad)
    assert main([*sim, "flash", str(bad)]) == ExitCode.UNSAFE
    err = capsys.readouterr().err
    assert "linked for 0x08000000 but is being loaded at 0x08003000" in err
    assert err.startswith("error: ")
    board = _board(tmp_path)
    assert board.memory(0).read(0x08003000, 16) == b"\xff" * 16  # nothing was written


def test_flash_into_bootloader_sectors_is_refused(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "boot.bin"
    image.write_bytes(b"\x00" * 64)
    assert main([*sim, "flash", str(image), "--address", "0x08000000"]) == ExitCode.UNSAFE
    assert "read-only" in capsys.readouterr().err


def test_dfu_util_style_download_and_leave(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.bin"
    save_image(build_demo_app(), app)
    assert main([*sim, "flash", "-D", str(app), "-s", "0x08003000:leave"]) == 0
    out = capsys.readouterr().out
    assert "left DFU mode" in out
    assert "running application from 0x08003000" in out
    board = _board(tmp_path)
    assert board.running == "application" and board.vector_table == 0x08003000


def test_mass_erase_modifier_needs_force(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.bin"
    save_image(build_demo_app(), app)
    code = main([*sim, "flash", "-D", str(app), "-s", "0x08003000:mass-erase"])
    assert code == ExitCode.USAGE
    assert "add :force" in capsys.readouterr().err


def test_erase_commands(tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(size=8 * 1024), app)
    assert main([*sim, "flash", str(app)]) == 0
    capsys.readouterr()
    assert main([*sim, "erase", "--address", "0x08003800", "--json"]) == 0
    result = _json(capsys)
    assert result["erased_sectors"] == [0x08003800]
    board = _board(tmp_path)
    assert board.memory(0).read(0x08003800, 0x800) == b"\xff" * 0x800
    assert board.memory(0).read(0x08003000, 4) != b"\xff" * 4  # the neighbour is untouched
    assert main([*sim, "erase"]) == ExitCode.USAGE
    assert "exactly one of" in capsys.readouterr().err


def test_unprotect_needs_force(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*sim, "unprotect"]) == ExitCode.ERROR
    assert "add --force" in capsys.readouterr().err


def test_leave_and_detach_round_trip(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(), app)
    assert main([*sim, "flash", str(app)]) == 0
    assert main([*sim, "leave", "--address", "0x08003000"]) == 0
    assert _board(tmp_path).running == "application"
    capsys.readouterr()
    assert main([*sim, "detach", "--json"]) == 0
    assert _json(capsys)["mode"] == "dfu"
    assert _board(tmp_path).running == "bootloader"


def test_selection_errors(sim: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*sim, "list", "--json", "-S", "NOPE"]) == 0
    assert _json(capsys)["devices"] == []
    assert main([*sim, "upload", "x.bin", "-S", "NOPE"]) == ExitCode.NO_DEVICE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) <= 2
    assert main(["--sim", "no-such-board", "list"]) == ExitCode.USAGE
    assert "known:" in capsys.readouterr().err


def test_sim_state_of_another_board_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = str(tmp_path / "b.json")
    assert main(["--sim", PROFILE, "--sim-state", state, "list", "--json"]) == 0
    capsys.readouterr()
    assert main(["--sim", "stm32f4-rom", "--sim-state", state, "list"]) == ExitCode.ERROR
    assert "holds a 'stm3210e-eval' board" in capsys.readouterr().err


def test_upload_whole_board_to_dfu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = ["--sim", "stm3210b-eval", "--sim-state", str(tmp_path / "b.json")]
    out = tmp_path / "all.dfu"
    assert main([*sim, "upload", str(out), "--json"]) == 0
    summary = _json(capsys)
    assert [t["alt"] for t in summary["targets"]] == [0, 1]
    dfu = DfuseFile.read(out)
    assert dfu.targets[0].image.start == 0x08000000
    assert dfu.targets[0].image.size == 128 * 1024


def test_plain_dfu_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "p.json")]
    payload = bytes(range(256)) * 9
    firmware = tmp_path / "fw.dfu"
    PlainDfuFile(payload, DfuSuffix(0xFFFF, 0xFFFF, 0xFFFF, 0x0100)).write(firmware)
    assert main([*sim, "flash", str(firmware), "--json"]) == 0
    assert _json(capsys)["bytes_written"] == len(payload)
    back = tmp_path / "back.bin"
    assert main([*sim, "upload", str(back)]) == 0
    assert back.read_bytes()[: len(payload)] == payload


def test_dry_run_writes_nothing(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(), app)
    assert main([*sim, "flash", str(app), "--dry-run"]) == 0
    assert "nothing written" in capsys.readouterr().out
    assert _board(tmp_path).memory(0).read(0x08003000, 8) == b"\xff" * 8
    assert load_image(app).start == 0x08003000


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pydfuse.demo import run

    run(tmp_path / "demo")
    out = capsys.readouterr().out
    assert "identical to firmware.dfu" in out
    assert out.rstrip().endswith("runs the new application from 0x08003000.")
    assert VirtualBoard.load(tmp_path / "demo" / "board.json").running == "application"


def test_plain_dfu_device_warns_that_hex_addresses_are_not_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", "plain-dfu", "--sim-state", str(tmp_path / "p.json")]
    app = tmp_path / "app.hex"
    save_image(build_demo_app(link_address=0x08000000, stack_top=0x20005000, size=1024), app)
    assert main([*sim, "flash", str(app)]) == 0
    assert "address 0x08000000 is not sent" in capsys.readouterr().err
    assert main([*sim, "erase", "--all"]) == ExitCode.ERROR
    assert "no addresses, erase or unprotect" in capsys.readouterr().err


def test_leave_to_an_address_outside_every_memory_is_refused(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "leave", "--address", "0x30000000"]) == ExitCode.UNSAFE
    assert "0x30000000 is in none of the device's memories" in capsys.readouterr().err
    assert main([*sim, "leave", "--address", "0x30000000", "--force", "--json"]) == 0


def test_detach_without_a_running_application_explains(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "detach", "-S", "NOPE"]) == ExitCode.NO_DEVICE
    assert "DFU run-time interface" in capsys.readouterr().err


def test_flash_while_the_application_runs_detaches_it_first(
    tmp_path: Path, sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.hex"
    save_image(build_demo_app(), app)
    assert main([*sim, "flash", str(app), "--leave"]) == 0
    assert _board(tmp_path).running == "application"
    capsys.readouterr()
    assert main([*sim, "flash", str(app), "--leave"]) == 0  # as dfu-util: DETACH, then flash
    assert "sent DFU_DETACH" in capsys.readouterr().err
    assert _board(tmp_path).running == "application"


@pytest.mark.parametrize("profile", ["stm3210e-eval-quirks", "stm32f4-rom-quirks"])
def test_the_quirk_profiles_flash_from_the_cli(
    profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["--sim", profile, "--sim-state", str(tmp_path / "q.json")]
    base = 0x08003000 if profile.startswith("stm3210e") else 0x08000000
    app = tmp_path / "app.hex"
    save_image(build_demo_app(link_address=base, stack_top=0x20010000, size=4096), app)
    assert main([*sim, "flash", str(app), "--leave", "--json"]) == 0
    result = _json(capsys)
    assert result["verified"] is True and result["left"] is True
    assert result["sim"]["running"] == "application"


def test_demo_help_is_not_taken_for_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydfuse.demo import main as demo

    monkeypatch.chdir(tmp_path)
    assert demo(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: python -m pydfuse.demo")
    assert demo(["--frobnicate"]) == 2 and demo(["a", "b"]) == 2
    assert list(tmp_path.iterdir()) == []  # no "--help" directory, no demo-out
