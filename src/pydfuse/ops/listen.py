"""Where a local server of ours listens: is an address this machine only? (layer: ops;
standard library only). Shared by ``dfuse gui`` and ``dfuse sim serve``, which both listen on
loopback unless told otherwise."""

from __future__ import annotations

import ipaddress

__all__ = ["LOOPBACK_NAMES", "is_loopback"]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IPv4/IPv6 literal, brackets allowed) is this machine only."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
