"""Who may use the GUI server: the token on every request, loopback binds, the Host header."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from starlette.routing import Mount, Route

from pydfuse.errors import DfuseError
from pydfuse.gui.app import build_app
from pydfuse.gui.security import is_loopback, token_matches
from pydfuse.gui.server import GuiOptions, GuiServer
from support.gui import request, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[GuiServer]:
    with running_server() as started:
        yield started


def _every_route(server: GuiServer) -> list[tuple[str, str]]:
    """(method, path below the token) for every route of the application, parameters filled."""
    out = []
    for route in build_app(server.state).routes:
        path = re.sub(r"\{[^}]+\}", "x1", route.path).lstrip("/")
        if isinstance(route, Mount):
            out.append(("GET", f"{path}/app.js"))
        elif isinstance(route, Route):
            out += [
                (method, path) for method in sorted(route.methods or {"GET"}) if method != "HEAD"
            ]
    return out


def test_the_route_list_covers_the_whole_api(server: GuiServer) -> None:
    routes = _every_route(server)
    assert ("GET", "") in routes and ("GET", "static/app.js") in routes
    assert ("POST", "api/device/upgrade") in routes and ("GET", "api/jobs/x1/events") in routes
    assert len(routes) >= 17


@pytest.mark.parametrize(
    "wrong",
    [
        "",  # no token at all: /api/info
        "nottoken",
        "TOKEN-UPPER",  # the token in the wrong case (filled in below)
        "TOKEN-PREFIX",  # all but the last character
        "TOKEN-LONGER",  # the token plus one character
    ],
)
def test_every_route_refuses_a_request_without_the_token(server: GuiServer, wrong: str) -> None:
    token = {
        "TOKEN-UPPER": server.token.swapcase(),
        "TOKEN-PREFIX": server.token[:-1],
        "TOKEN-LONGER": server.token + "a",
    }.get(wrong, wrong)
    for method, path in _every_route(server):
        url = f"/{token}/{path}" if token else f"/{path}"
        answer = request(server, method, url, b"{}" if method == "POST" else None)
        assert answer.status == 403, (method, url, answer.status)
        assert b"token" in answer.body
        assert b"STMicro" not in answer.body and b"devices" not in answer.body


def test_with_the_token_every_route_answers(server: GuiServer) -> None:
    for method, path in _every_route(server):
        answer = request(server, method, path, b"{}" if method == "POST" else None)
        assert answer.status != 403, (method, path)
        assert answer.status < 500, (method, path, answer.body)


def test_the_token_is_random_long_and_compared_exactly() -> None:
    one = GuiServer(GuiOptions())
    two = GuiServer(GuiOptions())
    try:
        assert one.token != two.token and len(one.token) >= 32
        assert one.port != two.port  # a free port each, chosen by the system
    finally:
        one.stop()
        two.stop()
    assert token_matches("abc", "abc") and not token_matches("abd", "abc")
    assert not token_matches("", "abc") and not token_matches("é", "abc")


def test_the_bare_token_redirects_to_the_page(server: GuiServer) -> None:
    answer = request(server, "GET", f"/{server.token}")
    assert answer.status == 308 and answer.headers["location"] == f"/{server.token}/"


def test_answers_carry_a_strict_content_security_policy(server: GuiServer) -> None:
    page = request(server, "GET", "")
    assert page.status == 200 and b'<script type="module" src="static/app.js">' in page.body
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    refused = request(server, "GET", "/api/info")
    assert refused.headers["x-frame-options"] == "DENY"


def test_a_foreign_host_header_is_refused_even_with_the_token(server: GuiServer) -> None:
    # A page on evil.example that rebinds its DNS name to 127.0.0.1 sends its own Host.
    answer = request(server, "GET", "api/info", headers={"Host": "evil.example"})
    assert answer.status == 403
    for host in ("localhost", f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        assert request(server, "GET", "api/info", headers={"Host": host}).status == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com"])
def test_a_non_loopback_bind_is_refused_unless_asked_for(host: str) -> None:
    with pytest.raises(DfuseError, match="refusing to listen") as refused:
        GuiServer(GuiOptions(host=host))
    assert refused.value.hint is not None and "--allow-remote" in refused.value.hint


def test_allow_remote_binds_every_interface_when_asked() -> None:
    server = GuiServer(GuiOptions(host="0.0.0.0", allow_remote=True))
    try:
        assert server.port > 0 and server.url.startswith("http://127.0.0.1:")
        server.start()
        # Another machine would come with its own Host header; the token still guards.
        answer = request(server, "GET", "api/info", headers={"Host": "192.0.2.7"})
        assert answer.status == 200
        assert request(server, "GET", "/api/info", headers={"Host": "192.0.2.7"}).status == 403
    finally:
        server.stop()


def test_loopback_names_and_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "evil.example", ""))


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(DfuseError, match=f"cannot listen on 127.0.0.1:{port}") as error:
            GuiServer(GuiOptions(port=port))
    assert error.value.hint is not None and "--port" in error.value.hint
