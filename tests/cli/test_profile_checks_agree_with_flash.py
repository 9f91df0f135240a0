"""The checks against a board profile agree with ``flash`` on that board.

A stack in the STM32F405/407's CCM RAM is legitimate (the issue says so): ``flash`` on the F4
board takes it, and so must everything that checks against the board's profile — ``dfuse check
--profile``, ``check`` on the ``--sim`` board, and the GUI's File-panel preview and Device
panel. They used the profile's SRAM alone and called such an image unsafe. The preview also
left out the warning for a target named after another memory than its alternate's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import save_image
from support.gui import events, request, running_server
from support.gui import upload as upload_file

CCM_TOP = 0x10010000  # the 64 KB CCM data RAM of the F405/407


def _ccm_app(tmp_path: Path) -> Path:
    path = tmp_path / "ccm.hex"
    save_image(build_demo_app(link_address=0x08000000, stack_top=CCM_TOP), path)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["check", "{app}", "--profile", "stm32f4-rom"],
        ["--sim", "stm32f4-rom", "check", "{app}"],
        ["--sim", "stm32f4-rom", "flash", "{app}", "--dry-run"],
        ["--sim", "stm32f4-rom", "flash", "{app}", "--dry-run", "--profile", "stm32f4-rom"],
    ],
    ids=["check-profile", "check-sim", "flash-sim", "flash-profile"],
)
def test_a_stack_in_ccm_passes_every_profile_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    app = str(_ccm_app(tmp_path))
    assert main([a.format(app=app) for a in args]) == ExitCode.OK, capsys.readouterr().err
    capsys.readouterr()


def test_a_stack_in_ccm_is_still_refused_where_the_part_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = str(_ccm_app(tmp_path))
    assert main(["check", app, "--profile", "stm32f072-rom", "--json"]) == ExitCode.UNSAFE
    report = json.loads(capsys.readouterr().out)
    assert "vector.stack" in [f["code"] for t in report["targets"] for f in t["findings"]]


def test_the_gui_takes_a_stack_in_ccm_on_the_f4_board(tmp_path: Path) -> None:
    app = _ccm_app(tmp_path)
    with running_server(sim_profile="stm32f4-rom") as server:
        file_id = upload_file(server, app)["id"]
        spec = {
            "targets": [{"alt": 0, "name": "Internal Flash", "files": [{"id": file_id}]}],
            "board": "stm32f4-rom",
        }
        preview = request(server, "POST", "api/pack/preview", spec).json()
        assert preview["check"]["ok"], preview["check"]
        device = {"path": "1-1", "serial": None}
        check = request(server, "POST", "api/device/check", {"device": device, "file": file_id})
        assert check.json()["ok"], check.json()
        started = request(server, "POST", "api/device/upgrade", {"device": device, "file": file_id})
        assert events(server, started.json()["job"])[-1]["type"] == "done"


def test_the_gui_preview_names_a_target_packed_for_another_memory(tmp_path: Path) -> None:
    # `dfuse check --profile` warns when a target's own name says another memory than its
    # alternate's; the File panel's preview (the same check, on the same profile) said nothing
    nor = tmp_path / "nor.bin"
    nor.write_bytes(bytes(range(256)) * 16)
    with running_server() as server:
        file_id = upload_file(server, nor)["id"]
        spec = {
            "targets": [{"alt": 1, "name": "NOR Flash", "files": [{"id": file_id, "address": 0}]}],
            "board": "stm3210e-eval",
        }
        preview = request(server, "POST", "api/pack/preview", spec).json()
        codes = [f["code"] for t in preview["check"]["targets"] for f in t["findings"]]
        assert "target.name-mismatch" in codes, preview["check"]
