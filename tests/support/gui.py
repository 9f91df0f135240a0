"""Helpers for the GUI tests: a real server on a loopback port (uvicorn on its own thread),
plain HTTP requests to it, and the demo's input files."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import save_image
from pydfuse.gui.server import GuiOptions, GuiServer

APP_ADDRESS = 0x08003000
NOR_ADDRESS = 0x64000000


@dataclass
class Answer:
    """One HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    server: GuiServer,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | list[Any] | Iterable[bytes] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """``method path`` on the server; ``path`` is below the token (``api/info``) unless it
    starts with ``/`` (then it is sent as it is). A dict or list body is sent as JSON."""
    sent_headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        sent_headers.setdefault("content-type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    url = path if path.startswith("/") else f"/{token or server.token}/{path}"
    host = urlsplit(server.url).netloc
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        chunked = sent_headers.get("transfer-encoding") == "chunked"
        connection.request(method, url, body=body, headers=sent_headers, encode_chunked=chunked)
        response = connection.getresponse()
        data = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, found, data)
    finally:
        connection.close()


def upload(server: GuiServer, path: Path) -> dict[str, Any]:
    """Upload a file as the page does; its description (asserts 200)."""
    answer = request(server, "POST", f"api/files?name={path.name}", path.read_bytes())
    assert answer.status == 200, answer.body
    data: dict[str, Any] = answer.json()
    return data


def events(server: GuiServer, job_id: str) -> list[dict[str, Any]]:
    """Every server-sent event of a job, read until the stream ends (done or failed)."""
    answer = request(server, "GET", f"api/jobs/{job_id}/events")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    out = []
    for block in answer.body.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            out.append(json.loads(lines["data"]))
    return out


def sim_board(server: GuiServer) -> Any:
    """The server's virtual board (``pydfuse.sim.board.VirtualBoard``)."""
    return server.state.hub.environment().board  # type: ignore[attr-defined]


@contextmanager
def running_server(**options: Any) -> Iterator[GuiServer]:
    """A started GuiServer (virtual stm3210e-eval unless told otherwise), stopped after."""
    options.setdefault("sim_profile", "stm3210e-eval")
    server = GuiServer(GuiOptions(**options))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def demo_inputs(folder: Path) -> dict[str, Path]:
    """The demo's three images (app HEX at 0x08003000, SPI BIN, NOR S19) and an application
    linked for 0x08000000 but placed at 0x08003000 (the classic mistake)."""
    files = {
        "app": folder / "app.hex",
        "spi": folder / "spi-assets.bin",
        "nor": folder / "nor-data.s19",
        "bad": folder / "app-linked-for-0x08000000.hex",
    }
    save_image(build_demo_app(link_address=APP_ADDRESS, size=24 * 1024), files["app"])
    save_image(build_data_blob(0x00000000, 160 * 1024, seed=7), files["spi"])
    save_image(build_data_blob(NOR_ADDRESS, 96 * 1024, seed=11), files["nor"])
    wrong = build_demo_app(link_address=0x08000000, load_address=APP_ADDRESS, size=24 * 1024)
    save_image(wrong, files["bad"])
    return files
