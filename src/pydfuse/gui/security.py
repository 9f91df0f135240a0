"""Who may use the local web page: the access token, loopback binds, the Host header
(layer: gui; the standard library and ``ops.listen``).

The page drives a device, so the server must not be usable by other local users, by other
machines, or by web pages the user happens to visit. Three locks:

* a random token (:func:`new_token`) is the first path segment of every URL; a request without
  it is refused (compared in constant time, :func:`token_matches`);
* the server listens on a loopback address unless it is told explicitly to do otherwise
  (:func:`check_bind_host`);
* on a loopback bind, the Host header must name a loopback host, which defeats DNS-rebinding
  pages even before they would have to guess the token (:func:`host_allowed`).
"""

from __future__ import annotations

import hmac
import secrets

from pydfuse.errors import DfuseError
from pydfuse.ops.listen import is_loopback

__all__ = [
    "TOKEN_BYTES",
    "check_bind_host",
    "host_allowed",
    "is_loopback",
    "new_token",
    "token_matches",
]

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def new_token() -> str:
    """A fresh URL-safe random token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_matches(given: str, expected: str) -> bool:
    """Whether ``given`` is the token, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def check_bind_host(host: str, *, allow_remote: bool) -> None:
    """Refuse to listen on a non-loopback address unless ``allow_remote``."""
    if not is_loopback(host) and not allow_remote:
        raise DfuseError(
            f"refusing to listen on {host}: the page can flash devices, so by default only "
            "this machine may reach it",
            hint="use --host 127.0.0.1, or add --allow-remote if you really want other machines "
            "on the network to reach it (anyone with the URL and its token can then flash)",
        )


def host_allowed(header: str | None, *, loopback_only: bool) -> bool:
    """Whether a request's Host header is acceptable (any host when not ``loopback_only``)."""
    if not loopback_only:
        return True
    if not header:
        return False
    host = header.strip()
    if host.startswith("["):  # [::1]:8080
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:  # 127.0.0.1:8080, localhost:8080
        host = host.split(":", 1)[0]
    return is_loopback(host)
