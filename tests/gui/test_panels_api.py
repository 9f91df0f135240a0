"""The panels' API on the virtual board, through real HTTP: the File panel builds the same .dfu
as ``dfuse pack``; the Device panel checks, upgrades with live progress, backs up and leaves,
all through pydfuse.ops on the --sim board."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pydfuse.formats import DfuseFile, PackInput, build_dfuse, load_image
from pydfuse.gui.server import GuiServer
from support.gui import (
    APP_ADDRESS,
    NOR_ADDRESS,
    demo_inputs,
    events,
    request,
    running_server,
    sim_board,
)
from support.gui import upload as upload_file

SIM = {"path": "1-1", "serial": None}


@pytest.fixture
def server() -> Iterator[GuiServer]:
    with running_server() as started:
        yield started


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    return demo_inputs(tmp_path)


def _spec(server: GuiServer, inputs: dict[str, Path], **extra: object) -> dict[str, object]:
    ids = {key: upload_file(server, path)["id"] for key, path in inputs.items()}
    return {
        "targets": [
            {"alt": 0, "name": "Internal Flash", "files": [{"id": ids["app"]}]},
            {"alt": 1, "name": "SPI Flash", "files": [{"id": ids["spi"], "address": 0}]},
            {"alt": 2, "name": "NOR Flash", "files": [{"id": ids["nor"]}]},
        ],
        **extra,
    }


def test_the_file_panel_builds_what_dfuse_pack_builds(
    server: GuiServer, inputs: dict[str, Path]
) -> None:
    spec = _spec(server, inputs, vid=0x0483, pid=0xDF11, bcd_device=0x2200, filename="fw")
    built = request(server, "POST", "api/pack", spec)
    assert built.status == 200, built.body
    file = built.json()["file"]
    assert file["name"] == "fw.dfu"
    data = request(server, "GET", f"api/files/{file['id']}/download")
    assert data.headers["content-disposition"].startswith('attachment; filename="fw.dfu"')
    expected = build_dfuse(
        [
            PackInput(0, inputs["app"], "Internal Flash"),
            PackInput(1, inputs["spi"], "SPI Flash", 0),
            PackInput(2, inputs["nor"], "NOR Flash"),
        ],
        bcd_device=0x2200,
    )
    assert data.body == expected.to_bytes()


def test_the_preview_draws_each_memory_and_pins_the_findings(
    server: GuiServer, inputs: dict[str, Path]
) -> None:
    spec = _spec(server, inputs, board="stm3210e-eval")
    good = request(server, "POST", "api/pack/preview", spec).json()
    assert good["check"]["ok"] and [m["alt"] for m in good["maps"]] == [0, 1, 2]
    internal = good["maps"][0]
    kinds = [(r["kind"], r["start"]) for r in internal["runs"]]
    assert kinds[:2] == [("protected", 0x08000000), ("written", APP_ADDRESS)]
    assert abs(sum(r["w"] for r in internal["runs"]) - 100.0) < 0.01
    bad_id = upload_file(server, inputs["bad"])["id"]
    spec["targets"][0]["files"] = [{"id": bad_id}]  # type: ignore[index]
    bad = request(server, "POST", "api/pack/preview", spec).json()
    assert not bad["check"]["ok"]
    (marker,) = [m for m in bad["maps"][0]["markers"] if m["severity"] == "error"]
    assert APP_ADDRESS <= marker["address"] < APP_ADDRESS + 24 * 1024
    assert 2.0 < marker["x"] < 4.0  # 12 KiB into a 512 KiB bar: about 2.3 % from the left


def test_open_extract_and_edit_a_dfu(server: GuiServer, inputs: dict[str, Path]) -> None:
    built = request(server, "POST", "api/pack", _spec(server, inputs)).json()
    dfu_id = built["file"]["id"]
    described = request(server, "GET", f"api/files/{dfu_id}").json()
    assert described["kind"] == "dfuse" and len(described["targets"]) == 3
    nor_hex = request(server, "GET", f"api/files/{dfu_id}/extract?target=2&format=hex")
    assert nor_hex.status == 200
    extracted = Path(inputs["nor"].parent / "x.hex")
    extracted.write_bytes(nor_hex.body)
    assert load_image(extracted) == load_image(inputs["nor"])
    spi_bin = request(server, "GET", f"api/files/{dfu_id}/extract?target=1&format=bin&element=0")
    assert spi_bin.body == inputs["spi"].read_bytes()
    edit = request(server, "POST", f"api/files/{dfu_id}/edit").json()
    assert [(t["alt"], t["name"]) for t in edit["targets"]] == [
        (0, "Internal Flash"),
        (1, "SPI Flash"),
        (2, "NOR Flash"),
    ]
    again = {
        "targets": [
            {"alt": t["alt"], "name": t["name"], "files": [{"id": t["files"][0]["id"]}]}
            for t in edit["targets"]
        ]
    }
    rebuilt = request(server, "POST", "api/pack", again).json()["file"]["id"]
    original = request(server, "GET", f"api/files/{dfu_id}/download").body
    assert request(server, "GET", f"api/files/{rebuilt}/download").body == original


def test_devices_are_listed_with_their_memories(server: GuiServer) -> None:
    listing = request(server, "GET", "api/devices").json()
    (device,) = listing["devices"]
    assert device["mode"] == "dfu" and device["path"] == "1-1"
    assert device["maps"][0]["name"].startswith("Internal Flash")
    assert device["maps"][0]["runs"][0]["kind"] == "protected"
    assert listing["sim"]["running"] == "bootloader"


def test_upgrade_streams_erase_program_verify_and_writes_the_board(
    server: GuiServer, inputs: dict[str, Path]
) -> None:
    file_id = request(server, "POST", "api/pack", _spec(server, inputs)).json()["file"]["id"]
    check = request(server, "POST", "api/device/check", {"device": SIM, "file": file_id}).json()
    assert check["ok"] and [t["alt"] for t in check["targets"]] == [0, 1, 2]
    started = request(
        server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id, "leave": True}
    )
    assert started.status == 202
    stream = events(server, started.json()["job"])
    phases = [e["phase"] for e in stream if e["type"] == "progress"]
    order = [p for i, p in enumerate(phases) if p != phases[i - 1] or i == 0]
    assert [p for p in order if p != "compare"] == ["erase", "program", "verify"]
    last = [e for e in stream if e["type"] == "progress"][-1]
    assert last["done"] == last["total"] == (24 + 160 + 96) * 1024
    done = stream[-1]
    assert done["type"] == "done" and done["result"]["verified"] is True and done["result"]["left"]
    assert done["sim"]["running"] == "application" and done["sim"]["vector_table"] == APP_ADDRESS
    board = sim_board(server)
    nor = load_image(inputs["nor"])
    assert board.memory(2).read(NOR_ADDRESS, nor.size) == nor.segments[0].data


def test_an_unsafe_image_is_reported_by_check_and_refused_by_upgrade(
    server: GuiServer, inputs: dict[str, Path]
) -> None:
    bad = upload_file(server, inputs["bad"])["id"]
    check = request(server, "POST", "api/device/check", {"device": SIM, "file": bad}).json()
    assert not check["ok"]
    errors = [f for t in check["targets"] for f in t["findings"] if f["severity"] == "error"]
    assert errors and "0x08000000" in errors[0]["message"]
    assert any(m["severity"] == "error" for m in check["maps"][0]["markers"])
    before = sim_board(server).memory(0).read(APP_ADDRESS, 1024)
    started = request(server, "POST", "api/device/upgrade", {"device": SIM, "file": bad})
    failed = events(server, started.json()["job"])[-1]
    assert failed["type"] == "failed" and failed["kind"] == "PlanError"
    assert failed["error"] == errors[0]["message"]
    assert sim_board(server).memory(0).read(APP_ADDRESS, 1024) == before


def test_a_single_image_goes_to_the_memory_that_holds_it(
    server: GuiServer, inputs: dict[str, Path]
) -> None:
    nor = upload_file(server, inputs["nor"])["id"]
    check = request(server, "POST", "api/device/check", {"device": SIM, "file": nor}).json()
    assert check["ok"] and check["alt"] == 2
    spi = upload_file(server, inputs["spi"])["id"]
    body = {"device": SIM, "file": spi, "address": 0, "alt": 1}
    assert request(server, "POST", "api/device/check", body).json()["ok"]


def test_backup_reads_every_memory_into_a_dfu_and_leave_starts_the_app(
    server: GuiServer, inputs: dict[str, Path]
) -> None:
    file_id = request(server, "POST", "api/pack", _spec(server, inputs)).json()["file"]["id"]
    events(server, request(server, "POST", "api/device/upgrade", {"device": SIM, "file": file_id})
           .json()["job"])  # fmt: skip
    started = request(server, "POST", "api/device/backup", {"device": SIM})
    stream = events(server, started.json()["job"])
    assert {e["phase"] for e in stream if e["type"] == "progress"} == {"upload"}
    done = stream[-1]
    assert done["type"] == "done" and done["kind"] == "dfuse"
    backup = request(server, "GET", f"api/files/{done['file']['id']}/download").body
    dfu = DfuseFile.from_bytes(backup)
    app = load_image(inputs["app"])
    assert dfu.image(0).read(APP_ADDRESS, app.size) == app.segments[0].data
    assert len(dfu.targets) == 3
    left = request(server, "POST", "api/device/leave", {"device": SIM, "address": APP_ADDRESS})
    assert left.json()["left"] and left.json()["sim"]["running"] == "application"
    listing = request(server, "GET", "api/devices").json()
    assert listing["devices"][0]["mode"] == "runtime"
    detached = request(server, "POST", "api/device/detach", {"device": SIM}).json()
    assert detached["device"]["mode"] == "dfu"


def test_a_second_device_operation_waits_its_turn(tmp_path: Path) -> None:
    inputs = demo_inputs(tmp_path)
    with running_server(sim_realtime=True) as server:  # modeled time taken for real
        app = upload_file(server, inputs["app"])["id"]
        first = request(server, "POST", "api/device/upgrade", {"device": SIM, "file": app})
        second = request(server, "POST", "api/device/backup", {"device": SIM})
        assert first.status == 202 and second.status == 409
        assert "another device operation" in second.json()["error"]
        assert events(server, first.json()["job"])[-1]["type"] == "done"
        third = request(server, "POST", "api/device/backup", {"device": SIM})
        assert third.status == 202


def test_the_sim_state_file_keeps_the_board_between_servers(
    tmp_path: Path, inputs: dict[str, Path]
) -> None:
    state = tmp_path / "board.json"
    with running_server(sim_state=state) as server:
        app = upload_file(server, inputs["app"])["id"]
        job = request(server, "POST", "api/device/upgrade", {"device": SIM, "file": app})
        assert events(server, job.json()["job"])[-1]["type"] == "done"
    assert state.exists()
    with running_server(sim_state=state) as server:
        listing = request(server, "GET", "api/devices").json()
        check = request(server, "POST", "api/device/check", {"device": SIM, "file": "f1"})
        assert check.status == 404  # files do not outlive their server; the board does
        assert sim_board(server).memory(0).read(APP_ADDRESS, 4) == load_image(inputs["app"]).read(
            APP_ADDRESS, 4
        )
        assert listing["devices"][0]["serial"] == sim_board(server).serial
