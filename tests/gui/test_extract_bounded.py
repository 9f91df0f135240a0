"""Extracting a whole .dfu target as one .bin fills its gaps; a target whose elements lie far
apart (0x08000000 and 0xFFFFFF00 would be a 4 GiB file) is refused with a reason when the
filled binary would be larger than the server's upload limit, instead of being built in
memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pydfuse.formats import DfuseFile, DfuseTarget, Image
from pydfuse.gui.server import GuiServer
from support.gui import request, running_server, upload

MAX_UPLOAD = 1 << 20


@pytest.fixture
def server() -> Iterator[GuiServer]:
    with running_server(max_upload_bytes=MAX_UPLOAD) as started:
        yield started


def _dfu(tmp_path: Path, *runs: tuple[int, bytes]) -> Path:
    path = tmp_path / "sparse.dfu"
    DfuseFile((DfuseTarget.from_image(0, Image.from_segments(list(runs)), "Flash"),)).write(path)
    return path


def test_a_target_spanning_more_than_the_limit_is_refused_as_one_bin(
    server: GuiServer, tmp_path: Path
) -> None:
    file_id = upload(server, _dfu(tmp_path, (0x08000000, b"\x01" * 8), (0x08400000, b"\x02" * 16)))[
        "id"
    ]
    answer = request(server, "GET", f"api/files/{file_id}/extract?target=0&format=bin")
    assert answer.status == 422
    error = answer.json()
    assert "4.0 MiB" in error["error"] and "1 MiB" in error["error"]
    assert "element" in (error["hint"] or "")
    # Each element, and the target as HEX, still come out.
    one = request(server, "GET", f"api/files/{file_id}/extract?target=0&format=bin&element=1")
    assert one.status == 200 and one.body == b"\x02" * 16
    assert request(server, "GET", f"api/files/{file_id}/extract?target=0&format=hex").status == 200


def test_a_small_gap_is_still_filled_with_ff(server: GuiServer, tmp_path: Path) -> None:
    file_id = upload(server, _dfu(tmp_path, (0x08000000, b"\x01" * 4), (0x08000008, b"\x02" * 4)))[
        "id"
    ]
    answer = request(server, "GET", f"api/files/{file_id}/extract?target=0&format=bin")
    assert answer.status == 200
    assert answer.body == b"\x01" * 4 + b"\xff" * 4 + b"\x02" * 4
