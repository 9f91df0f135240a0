"""Applications of real size linked for a higher address than they are loaded at (every
handler still inside the image) are refused by ``dfuse flash`` without a profile, by ``dfuse
check``, and by ``ops.flash`` — and nothing is written. Before, the issue's own pair (linked for
0x0800C000, loaded at 0x08008000) went through once the application was larger than 16 KiB,
and a 63 KiB application linked for the ST demo loader was written and started at 0x08000000
on an F4 ROM board."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse import ops
from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.errors import PlanError
from pydfuse.formats import DfuseFile, DfuseTarget, save_image
from pydfuse.sim.board import VirtualBoard
from support.firmware import elf_image

SIZE = 64 * 1024
PAIRS = [
    ("stm3210e-eval", 0x0800C000, 0x08008000),
    ("stm3210e-eval", 0x08004000, 0x08003000),
    ("stm32f4-rom", 0x08003000, 0x08000000),
    ("stm32f4-rom", 0x08008000, 0x08004000),
]


def _files(tmp_path: Path, link: int, load: int) -> list[str]:
    image = build_demo_app(link_address=link, load_address=load, size=SIZE)
    save_image(image, tmp_path / "app.hex")
    (tmp_path / "app.bin").write_bytes(image.segments[0].data)
    DfuseFile((DfuseTarget.from_image(0, image, "Internal Flash"),)).write(tmp_path / "app.dfu")
    return [
        str(tmp_path / "app.hex"),
        f"{tmp_path / 'app.bin'}@0x{load:08x}",
        str(tmp_path / "app.dfu"),
    ]


@pytest.mark.parametrize(("profile", "link", "load"), PAIRS)
def test_flash_and_check_refuse_it_without_a_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, link: int, load: int
) -> None:
    state = tmp_path / "board.json"
    sim = ["--sim", profile, "--sim-state", str(state)]
    for given in _files(tmp_path, link, load):
        assert main([*sim, "flash", given, "--no-profile", "--leave"]) == ExitCode.UNSAFE
        err = capsys.readouterr().err
        assert f"linked for 0x{link:08x} but is being loaded at 0x{load:08x}" in err
        assert "nothing was written" in err
    board = VirtualBoard.load(state)
    assert board.memory(0).read(load, 16) == b"\xff" * 16 and board.running == "bootloader"
    assert main(["check", str(tmp_path / "app.hex"), "--profile", profile]) == ExitCode.UNSAFE
    assert "vector.linked-elsewhere" in capsys.readouterr().out


def test_ops_flash_refuses_the_demo_loaders_application_on_a_rom_board() -> None:
    linked = elf_image("app-64k")  # tests/firmware: linked for 0x08003000, 63 KiB
    placed = ops.ImageSource(
        type(linked).from_segments(
            [(0x08000000, linked.read(linked.start, linked.end - linked.start))]
        )
    )
    with ops.sim_environment("stm32f4-rom", profile_facts=False) as env:
        with pytest.raises(
            PlanError, match="linked for 0x08003000 but is being loaded at 0x08000000"
        ):
            ops.flash(env, ops.DeviceSelector(), placed, leave=True)
        assert env.board.memory(0).read(0x08000000, 16) == b"\xff" * 16
        assert env.board.running == "bootloader"
