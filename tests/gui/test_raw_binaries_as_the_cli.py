"""The page loads a raw .bin exactly as `dfuse flash` does (ops' loader, not a second one): a
DFU suffix at its end is stripped and said, never written into flash as firmware, and a plain
DFU 1.1 device takes a .bin without a load address."""

from __future__ import annotations

from pathlib import Path

from pydfuse.formats import DfuSuffix, append_suffix
from support.firmware import elf_image
from support.gui import events, request, running_server, sim_board, upload

SIM = {"path": "1-1", "serial": None}
APP = 0x08003000


def _app_bin(tmp_path: Path, *, suffix: bool) -> tuple[Path, bytes]:
    image = elf_image("app-vtor")
    data = image.read(image.start, image.end - image.start)
    path = tmp_path / "app.bin"
    path.write_bytes(append_suffix(data, DfuSuffix()) if suffix else data)
    return path, data


def test_a_dfu_suffix_on_a_bin_is_stripped_and_said_not_flashed(tmp_path: Path) -> None:
    path, data = _app_bin(tmp_path, suffix=True)
    with running_server() as server:
        file_id = upload(server, path)["id"]
        job = request(
            server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id, "address": APP}
        ).json()["job"]
        done = events(server, job)[-1]
        assert done["type"] == "done", done
        result = done["result"]
        assert result["bytes_written"] == len(data)
        assert any("DFU suffix" in w and "stripped" in w for w in result["warnings"])
        flash = sim_board(server).memory(0)
        assert flash.read(APP, len(data)) == data
        assert flash.read(APP + len(data), 16) == b"\xff" * 16  # the suffix was not written


def test_a_plain_dfu_device_takes_a_bin_without_an_address(tmp_path: Path) -> None:
    path, data = _app_bin(tmp_path, suffix=False)
    with running_server(sim_profile="plain-dfu") as server:
        file_id = upload(server, path)["id"]
        checked = request(server, "POST", "api/device/check", {"device": SIM, "file": file_id})
        assert checked.status == 200 and checked.json()["ok"], checked.json()
        job = request(
            server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id}
        ).json()["job"]
        done = events(server, job)[-1]
        assert done["type"] == "done", done
        assert done["result"]["bytes_written"] == len(data)


def test_a_dfuse_device_still_wants_an_address_for_a_bin(tmp_path: Path) -> None:
    path, _ = _app_bin(tmp_path, suffix=False)
    with running_server() as server:
        file_id = upload(server, path)["id"]
        answer = request(server, "POST", "api/device/check", {"device": SIM, "file": file_id})
        assert answer.status == 422
        assert "needs a load address" in answer.json()["error"]
