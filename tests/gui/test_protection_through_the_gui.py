"""The GUI's Device panel protects as ``dfuse flash`` does: a file whose option bytes would set
RDP level 2 is reported by check and refused by upgrade, and the virtual chip stays unlocked."""

from __future__ import annotations

from pathlib import Path

from pydfuse.formats import Image, save_image
from support.gui import events, request, running_server, sim_board
from support.gui import upload as upload_file

SIM = {"path": "1-1", "serial": None}


def test_a_level_2_option_file_is_reported_by_check_and_refused_by_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "options.hex"
    level2 = bytes.fromhex("ffcc0033ffcc0033ffff0000ffff0000")
    save_image(Image.from_segments([(0x1FFFC000, level2)]), path)
    with running_server(sim_profile="stm32f4-rom") as server:
        file_id = upload_file(server, path)["id"]
        check = request(server, "POST", "api/device/check", {"device": SIM, "file": file_id})
        body = check.json()
        assert check.status == 200 and not body["ok"] and body["alt"] == 1
        codes = [f["code"] for t in body["targets"] for f in t["findings"]]
        assert "protection.option-bytes" in codes
        started = request(server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id})
        failed = events(server, started.json()["job"])[-1]
        assert failed["type"] == "failed" and failed["kind"] == "PlanError"
        assert "level 2" in failed["error"]
        board = sim_board(server)
        assert board.rdp_level == 0
        assert board.memory(1).read(0x1FFFC000, 16) != level2
