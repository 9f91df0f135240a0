"""The web application: routes of the page's API, the token gate, errors as JSON
(layer: gui; imports starlette, ``pydfuse.errors`` and the sibling gui modules).

Every URL starts with the access token (``/TOKEN/``, ``/TOKEN/api/...``); :class:`TokenGate`
refuses everything else before any route runs. Answers: 400 for a malformed request, 403
without the token, 404 for an unknown file or job, 409 while another device operation runs,
413 for an upload past the limit, 422 when pydfuse refuses the content (a bad HEX file, an
unsafe image, no device) — always a JSON ``{"error", "hint", "kind"}`` the page shows as it
is. Device work runs on the worker thread (:mod:`pydfuse.gui.jobs`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pydfuse import __version__
from pydfuse.errors import DfuseError
from pydfuse.gui import filework, payload
from pydfuse.gui.devicework import DeviceHub
from pydfuse.gui.jobs import Busy, DeviceWorker, error_dict
from pydfuse.gui.security import host_allowed, token_matches
from pydfuse.gui.store import FileStore, StoredFile, TooLarge, UnknownFile

STATIC = Path(__file__).parent / "static"
MAX_JSON_BYTES = 1 << 20
LOG = logging.getLogger("pydfuse.gui")
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


@dataclass
class GuiState:
    """What the routes share: the file store, the device hub and its worker."""

    store: FileStore
    hub: DeviceHub
    worker: DeviceWorker
    max_upload_bytes: int
    stopping: Callable[[], bool] = lambda: False  # the server is shutting down (Ctrl-C)


def _status(error: DfuseError) -> int:
    if isinstance(error, payload.BadRequest):
        return 400
    if isinstance(error, UnknownFile):
        return 404
    if isinstance(error, Busy):
        return 409
    if isinstance(error, TooLarge):
        return 413
    return 422


async def _dfuse_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DfuseError)
    return JSONResponse(error_dict(error), status_code=_status(error))


async def _internal_error(request: Request, error: Exception) -> Response:
    LOG.exception("internal error in %s %s", request.method, request.url.path)
    return JSONResponse(error_dict(error), status_code=500)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (TooLarge) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload is {declared} bytes; this server takes at most {limit}")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload is larger than this server takes ({limit} bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise payload.BadRequest("the upload was cut short (the browser went away)") from None
    return b"".join(chunks)


async def _json(request: Request) -> dict[str, Any]:
    return payload.parse_json(await read_body(request, MAX_JSON_BYTES))


def _state(request: Request) -> GuiState:
    state: GuiState = request.app.state.gui
    return state


def attachment(name: str, data: bytes) -> Response:
    """``data`` as a download named ``name``."""
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "file"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"content-disposition": disposition},
    )


# -- page and files -------------------------------------------------------------------------
async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def info(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        {
            "version": __version__,
            "sim": state.hub.sim_profile,
            "boards": filework.boards(),
            "max_upload_bytes": state.max_upload_bytes,
        }
    )


async def upload_file(request: Request) -> Response:
    state = _state(request)
    name = request.query_params.get("name", "").strip()
    if not name or len(name) > payload.MAX_TEXT or "\0" in name:
        raise payload.BadRequest("give the file's name as ?name=...")
    data = await read_body(request, state.max_upload_bytes)
    if not data:
        raise payload.BadRequest(f"{name} is empty")
    probe = StoredFile("new", name, data)
    description = filework.describe_upload(probe)  # refuses an unreadable file before storing
    stored = state.store.add(name, data)
    return JSONResponse({**description, "id": stored.id})


async def describe_file(request: Request) -> Response:
    stored = _state(request).store.get(request.path_params["file_id"])
    return JSONResponse(filework.describe_upload(stored))


async def download_file(request: Request) -> Response:
    stored = _state(request).store.get(request.path_params["file_id"])
    return attachment(stored.name, stored.data)


async def extract_target(request: Request) -> Response:
    stored = _state(request).store.get(request.path_params["file_id"])
    query = request.query_params
    fmt = query.get("format", "hex")
    if fmt not in ("hex", "srec", "bin"):
        raise payload.BadRequest("format must be hex, srec or bin")
    try:
        index = int(query.get("target", "0"))
        element = int(query["element"]) if query.get("element") else None
    except ValueError:
        raise payload.BadRequest("target and element must be numbers") from None
    name, data = filework.extract(
        stored, index, fmt, element, max_bytes=_state(request).max_upload_bytes
    )
    return attachment(name, data)


async def edit_file(request: Request) -> Response:
    state = _state(request)
    stored = state.store.get(request.path_params["file_id"])
    return JSONResponse(filework.open_for_editing(state.store, stored))


async def pack_preview(request: Request) -> Response:
    spec = payload.pack_spec(await _json(request))
    return JSONResponse(filework.preview(_state(request).store, spec))


async def pack_build(request: Request) -> Response:
    state = _state(request)
    body = await _json(request)
    spec = payload.pack_spec(body)
    name = payload.text(body, "filename") or "firmware.dfu"
    if not name.lower().endswith(".dfu"):
        name += ".dfu"
    dfu = filework.build(state.store, spec)
    data = dfu.to_bytes()
    stored = state.store.add(name, data, origin="built")
    return JSONResponse(
        {
            "file": {"id": stored.id, "name": stored.name, "size": stored.size},
            **filework.describe_dfu_file(stored),
        }
    )


# -- devices --------------------------------------------------------------------------------
async def devices(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(await state.worker.run(state.hub.devices))


async def device_check(request: Request) -> Response:
    state = _state(request)
    body = await _json(request)
    ref, file_id = payload.device_ref(body), payload.required_text(body, "file")
    address, alt = payload.address(body), payload.alt(body)
    result = await state.worker.run(lambda: state.hub.check(ref, file_id, address=address, alt=alt))
    return JSONResponse(result)


async def device_upgrade(request: Request) -> Response:
    state = _state(request)
    body = await _json(request)
    ref, file_id = payload.device_ref(body), payload.required_text(body, "file")
    address, alt, leave = payload.address(body), payload.alt(body), payload.flag(body, "leave")
    state.store.get(file_id)  # 404 now rather than a failed job
    job = state.worker.start(
        "upgrade",
        lambda job: state.hub.upgrade(job, ref, file_id, address=address, alt=alt, leave=leave),
    )
    return JSONResponse({"job": job.id}, status_code=202)


async def device_backup(request: Request) -> Response:
    state = _state(request)
    ref = payload.device_ref(await _json(request))
    job = state.worker.start("backup", lambda job: state.hub.backup(job, ref))
    return JSONResponse({"job": job.id}, status_code=202)


async def device_leave(request: Request) -> Response:
    state = _state(request)
    body = await _json(request)
    ref, address = payload.device_ref(body), payload.address(body)
    return JSONResponse(await state.worker.run(lambda: state.hub.leave(ref, address)))


async def device_detach(request: Request) -> Response:
    state = _state(request)
    ref = payload.device_ref(await _json(request))
    return JSONResponse(await state.worker.run(lambda: state.hub.detach(ref)))


async def job_events(request: Request) -> Response:
    job = _state(request).worker.job(request.path_params["job_id"])
    if job is None:
        raise UnknownFile(f"no operation {request.path_params['job_id']!r} on this server")

    async def stream() -> AsyncIterator[str]:
        async for event in job.stream(_state(request).stopping):
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


def build_app(state: GuiState) -> Starlette:
    """The Starlette application (without the token gate: see :func:`gated`)."""
    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/files", upload_file, methods=["POST"]),
        Route("/api/files/{file_id}", describe_file),
        Route("/api/files/{file_id}/download", download_file),
        Route("/api/files/{file_id}/extract", extract_target),
        Route("/api/files/{file_id}/edit", edit_file, methods=["POST"]),
        Route("/api/pack/preview", pack_preview, methods=["POST"]),
        Route("/api/pack", pack_build, methods=["POST"]),
        Route("/api/devices", devices),
        Route("/api/device/check", device_check, methods=["POST"]),
        Route("/api/device/upgrade", device_upgrade, methods=["POST"]),
        Route("/api/device/backup", device_backup, methods=["POST"]),
        Route("/api/device/leave", device_leave, methods=["POST"]),
        Route("/api/device/detach", device_detach, methods=["POST"]),
        Route("/api/jobs/{job_id}/events", job_events),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={DfuseError: _dfuse_error, Exception: _internal_error},
    )
    app.state.gui = state
    return app


class TokenGate:
    """ASGI middleware: the first path segment must be the token; on a loopback server the
    Host header must name a loopback host; every answer carries the security headers."""

    def __init__(self, app: ASGIApp, token: str, *, loopback_only: bool) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here: refused by closing
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin-1")
        if not host_allowed(host, loopback_only=self.loopback_only):
            await _plain(send, 403, "forbidden: this server answers only to 127.0.0.1/localhost")
            return
        _, _, rest = scope["path"].partition("/")
        given, slash, tail = rest.partition("/")
        if not token_matches(given, self.token):
            await _plain(
                send,
                403,
                "forbidden: open the address with the access token that dfuse gui printed",
            )
            return
        if not slash:  # /TOKEN -> /TOKEN/ so that the page's relative URLs work
            await _plain(send, 308, "", location=f"/{self.token}/")
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        inner = {**scope, "path": "/" + tail, "raw_path": ("/" + tail).encode()}
        await self.app(inner, receive, secured)


async def _plain(send: Send, status: int, text: str, *, location: str | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS]
    if location is not None:
        headers.append((b"location", location.encode()))
    body = text.encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def gated(state: GuiState, token: str, *, loopback_only: bool) -> ASGIApp:
    """The whole application behind its token gate."""
    return TokenGate(build_app(state), token, loopback_only=loopback_only)
