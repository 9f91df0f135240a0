"""A DFU suffix on a raw binary is never taken as firmware, on any path: ``flash`` stripped it
(and said so), but ``pack`` packed its 16 bytes into the .dfu as data, ``check`` and ``map``
checked and drew them, and the GUI packed them and wrote them to the board. Now every loader
strips it with a note (a bad CRC is refused, as ``flash`` refuses it); the notes of the
loaders (identical overlapping HEX bytes merged too) reach the user on every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.demoapp import build_demo_app
from pydfuse.errors import ChecksumError
from pydfuse.formats import DfuSuffix, PackInput, append_suffix, build_dfuse, load_image, read_dfu
from support.gui import events, request, running_server, sim_board
from support.gui import upload as upload_file

APP = 0x08003000


def _payload() -> bytes:
    return build_demo_app().segments[0].data


def _suffixed(tmp_path: Path, name: str = "app.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(append_suffix(_payload(), DfuSuffix(0xFFFF, 0xDF11, 0x0483)))
    return path


def test_the_loaders_strip_the_suffix_with_a_note(tmp_path: Path) -> None:
    path = _suffixed(tmp_path)
    notes: list[str] = []
    image = load_image(path, address=APP, notes=notes)
    assert image.segments[0].data == _payload()
    assert notes == [
        "app.bin ends with a 16-byte DFU suffix (VID 0x0483, PID 0xdf11): it was stripped, "
        f"only the {len(_payload())} bytes before it are firmware"
    ]
    packed = build_dfuse([PackInput(0, path, "Internal Flash", APP)])
    assert packed.targets[0].elements[0].data == _payload()
    assert packed.warnings == tuple(notes)
    broken = tmp_path / "broken.bin"
    broken.write_bytes(path.read_bytes()[:-1] + b"\x00")  # the CRC no longer matches
    with pytest.raises(ChecksumError):
        load_image(broken, address=APP)


def test_pack_check_and_map_leave_the_suffix_out_and_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _suffixed(tmp_path)
    out = tmp_path / "p.dfu"
    assert main(["pack", str(out), "-t", f'0:"Internal Flash"={path}@0x{APP:08x}']) == 0
    assert "DFU suffix" in capsys.readouterr().err
    dfu = read_dfu(out)
    assert dfu.targets[0].elements[0].data == _payload()  # type: ignore[union-attr]
    args = [str(path), "--address", hex(APP), "--profile", "stm3210e-eval", "--json"]
    assert main(["check", *args]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["targets"][0]["size"] == len(_payload())
    assert any("DFU suffix" in note for note in report["notes"])
    assert main(["map", *args[:-1]]) == ExitCode.OK
    drawn = capsys.readouterr()
    assert "DFU suffix" in drawn.err
    assert f"0x{APP + len(_payload()) - 1:08x}" in drawn.out  # the image ends with the payload


def test_the_gui_never_writes_the_suffix(tmp_path: Path) -> None:
    path = _suffixed(tmp_path)
    with running_server() as server:
        file_id = upload_file(server, path)["id"]
        device = {"path": "1-1", "serial": None}
        body = {"device": device, "file": file_id, "address": APP}
        started = request(server, "POST", "api/device/upgrade", body)
        done = events(server, started.json()["job"])[-1]
        assert done["type"] == "done", done
        assert any("DFU suffix" in w for w in done["result"]["warnings"])
        memory = sim_board(server).memory(0)
        assert memory.read(APP, len(_payload())) == _payload()
        assert memory.read(APP + len(_payload()), 16) == b"\xff" * 16
        spec = {
            "targets": [
                {"alt": 0, "name": "Internal Flash", "files": [{"id": file_id, "address": APP}]}
            ]
        }
        preview = request(server, "POST", "api/pack/preview", spec).json()
        assert preview["targets"][0]["elements"][0]["size"] == len(_payload())
        assert any("DFU suffix" in w for w in preview["warnings"])
