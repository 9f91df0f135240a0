"""Malformed uploads and requests get a 4xx with a one-line JSON error; the server never
falls over (it answers normally afterwards)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydfuse.gui.server import GuiServer
from support.gui import demo_inputs, request, running_server, upload

POST_ROUTES = [
    "api/pack/preview",
    "api/pack",
    "api/device/check",
    "api/device/upgrade",
    "api/device/backup",
    "api/device/leave",
    "api/device/detach",
]


@pytest.fixture(scope="module")
def server() -> Iterator[GuiServer]:
    with running_server(max_upload_bytes=256 * 1024) as started:
        yield started


def _still_serving(server: GuiServer) -> None:
    answer = request(server, "GET", "api/info")
    assert answer.status == 200 and answer.json()["sim"] == "stm3210e-eval"


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"text"',
        b"null",
        b'{"device": 5, "file": 7, "targets": "all"}',
        b'{"device": {"path": ["1-1"]}, "file": "f1", "targets": [{"alt": "0"}]}',
    ],
)
def test_malformed_json_is_a_400_on_every_route(server: GuiServer, route: str, body: bytes) -> None:
    answer = request(server, "POST", route, body, headers={"content-type": "application/json"})
    assert answer.status == 400, (route, body, answer.body)
    error = answer.json()
    assert error["kind"] == "BadRequest" and "\n" not in error["error"]
    _still_serving(server)


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("api/device/check", {"device": {}, "file": "f1", "address": -1}, "address"),
        ("api/device/check", {"device": {}, "file": "f1", "address": 1 << 32}, "address"),
        ("api/device/check", {"device": {}, "file": "f1", "alt": 256}, "alt"),
        ("api/device/check", {"device": {}, "file": "f1", "alt": True}, "alt"),
        ("api/device/check", {"device": {}}, "file"),
        ("api/device/upgrade", {"device": {}, "file": "f1", "leave": "yes"}, "leave"),
        ("api/device/leave", {"device": {}, "address": "0x08003000"}, "address"),
        ("api/pack/preview", {"targets": [{"alt": 0, "files": [{"id": 3}]}]}, "id"),
        ("api/pack/preview", {"targets": [{"alt": 0, "files": [{}]}]}, "id"),
        ("api/pack/preview", {"targets": [{"files": []}]}, "alt"),
        (
            "api/pack/preview",
            {"targets": [{"alt": 0, "files": [{"id": "f1", "address": 1.5}]}]},
            "address",
        ),
        ("api/pack/preview", {"vid": 70000, "targets": []}, "vid"),
        ("api/pack", {"targets": [], "filename": ["a"]}, "filename"),
        ("api/pack", {"targets": [{"alt": 0}] * 300}, "targets"),
    ],
)
def test_a_wrong_field_is_a_400_naming_it(
    server: GuiServer, route: str, body: dict[str, object], field: str
) -> None:
    answer = request(server, "POST", route, body)
    assert answer.status == 400, (route, body, answer.body)
    assert answer.json()["error"].startswith(field)
    _still_serving(server)


def test_unknown_files_and_jobs_are_404(server: GuiServer) -> None:
    for method, path, body in [
        ("GET", "api/files/f999", None),
        ("GET", "api/files/f999/download", None),
        ("GET", "api/files/nonsense/extract", None),
        ("POST", "api/files/f999/edit", None),
        ("GET", "api/jobs/j999/events", None),
        ("POST", "api/device/check", {"device": {}, "file": "f999"}),
        ("POST", "api/device/upgrade", {"device": {}, "file": "f999"}),
        ("POST", "api/pack/preview", {"targets": [{"alt": 0, "files": [{"id": "f999"}]}]}),
    ]:
        answer = request(server, method, path, body)
        assert answer.status == 404, (path, answer.body)
        assert "choose the file again" in (answer.json().get("hint") or "") or "j999" in str(
            answer.json()
        )
    assert request(server, "GET", "api/no-such-route").status == 404
    assert request(server, "GET", "static/../../../etc/passwd").status == 404
    assert request(server, "DELETE", "api/info").status == 405
    _still_serving(server)


def test_uploads_past_the_limit_are_413_whether_declared_or_streamed(server: GuiServer) -> None:
    big = b"\x00" * (256 * 1024 + 1)
    declared = request(server, "POST", "api/files?name=big.bin", big)
    assert declared.status == 413 and "at most" in declared.json()["error"]
    # A chunked body declares no length: the server counts while it reads.
    chunked = request(
        server,
        "POST",
        "api/files?name=big.bin",
        iter([big[:100_000], big[100_000:]]),
        headers={"transfer-encoding": "chunked"},
    )
    assert chunked.status == 413
    assert request(server, "POST", "api/files?name=ok.bin", b"\x00" * 1024).status == 200
    _still_serving(server)


@pytest.mark.parametrize(
    ("name", "data", "status", "says"),
    [
        ("app.hex", b":10000000DEADBEEF\n", 422, "app.hex, line 1"),
        ("app.hex", b":020000040800F2\n:0400000001020304ff\n", 422, "checksum"),
        ("app.s19", b"S1130000zzzz\n", 422, "S-record"),
        ("app.elf", b"\x7fELF\x01\x01\x01" + b"\x00" * 20, 422, "ELF"),
        ("fw.dfu", b"DfuSe\x01" + b"\x00" * 40, 422, "fw.dfu"),
        ("fw.dfu", b"not a dfu at all, just text", 422, "fw.dfu"),
        ("empty.hex", b"", 400, "empty"),
        ("", b"data", 400, "name"),
        ("a\x00b.hex", b"data", 400, "name"),
    ],
)
def test_a_malformed_upload_is_refused_with_its_reason(
    server: GuiServer, name: str, data: bytes, status: int, says: str
) -> None:
    answer = request(server, "POST", f"api/files?name={name.replace(chr(0), '%00')}", data)
    assert answer.status == status, answer.body
    assert says.lower() in answer.json()["error"].lower()
    _still_serving(server)


def test_bad_extract_and_pack_requests_are_4xx(server: GuiServer, tmp_path: Path) -> None:
    inputs = demo_inputs(tmp_path)
    app = upload(server, inputs["app"])
    spi = upload(server, inputs["spi"])
    spec = {"targets": [{"alt": 0, "files": [{"id": app["id"]}]}]}
    built = request(server, "POST", "api/pack", spec)
    assert built.status == 200
    dfu_id = built.json()["file"]["id"]
    for query, status in [
        ("format=exe", 400),
        ("target=x", 400),
        ("target=5", 422),
        ("target=0&format=bin&element=9", 422),
        ("target=-1", 422),
    ]:
        answer = request(server, "GET", f"api/files/{dfu_id}/extract?{query}")
        assert answer.status == status, (query, answer.body)
    # A raw binary without its address, an overlap, a .dfu as an input, no files at all:
    for targets, says in [
        ([{"alt": 1, "files": [{"id": spi["id"]}]}], "load address"),
        ([{"alt": 0, "files": [{"id": app["id"]}, {"id": app["id"]}]}], "overlaps"),
        ([{"alt": 0, "files": [{"id": dfu_id}]}], "cannot be an input"),
        ([], "at least one file"),
        ([{"alt": 0, "name": "x" * 300, "files": [{"id": app["id"]}]}], "name"),
    ]:
        answer = request(server, "POST", "api/pack/preview", {"targets": targets})
        assert answer.status == 422, (targets, answer.body)
        assert says in answer.json()["error"]
    assert request(server, "POST", f"api/files/{app['id']}/edit").status == 422  # not a .dfu
    _still_serving(server)


@settings(max_examples=40, deadline=None)
@given(
    route=st.sampled_from(POST_ROUTES),
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["device", "file", "targets", "alt", "address", "files", "id"]),
                inner,
                max_size=5,
            )
        ),
        max_leaves=12,
    ),
)
def test_no_json_body_makes_the_server_fail(route: str, body: object) -> None:
    server = _SHARED["server"]
    answer = request(server, "POST", route, body if isinstance(body, (dict, list)) else str(body))
    assert answer.status < 500, (route, body, answer.body)  # a valid body may well succeed
    if answer.status >= 400:
        assert "error" in answer.json()


_SHARED: dict[str, GuiServer] = {}


@pytest.fixture(autouse=True)
def _share(server: GuiServer) -> None:
    _SHARED["server"] = server
