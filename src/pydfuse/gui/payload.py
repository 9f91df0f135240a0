"""Reading the page's requests: JSON bodies and query values, checked field by field
(layer: gui; imports ``pydfuse.errors`` and the sibling gui modules).

Anything malformed — not JSON, a missing field, a string where a number belongs, an address
past 32 bits — is a :class:`BadRequest` naming the field, which the server answers with 400.
"""

from __future__ import annotations

import json
from typing import Any

from pydfuse.errors import DfuseError
from pydfuse.gui.devicework import DeviceRef
from pydfuse.gui.filework import FileRef, PackSpec, TargetSpec

MAX_TARGETS = 255  # a DfuSe file holds at most 255 targets (§4.2)
MAX_FILES_PER_TARGET = 64
MAX_TEXT = 1024


class BadRequest(DfuseError, ValueError):
    """The request itself is malformed (400)."""


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object from ``body``."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the request body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object")
    return value


def integer(
    data: dict[str, Any], key: str, *, maximum: int, default: int | None = None
) -> int | None:
    """``data[key]`` as an integer in 0..maximum; ``default`` when missing or null."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be a whole number, not {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise BadRequest(f"{key} must be between 0 and 0x{maximum:x}, not {value}")
    return value


def required_int(data: dict[str, Any], key: str, *, maximum: int) -> int:
    value = integer(data, key, maximum=maximum)
    if value is None:
        raise BadRequest(f"{key} is missing")
    return value


def text(data: dict[str, Any], key: str, *, default: str | None = None) -> str | None:
    """``data[key]`` as a string of at most MAX_TEXT characters; ``default`` when missing."""
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be text, not {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise BadRequest(f"{key} is longer than {MAX_TEXT} characters")
    return value


def required_text(data: dict[str, Any], key: str) -> str:
    value = text(data, key)
    if not value:
        raise BadRequest(f"{key} is missing")
    return value


def flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be an object")
    return value


def _list(value: Any, what: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be a list")
    if len(value) > limit:
        raise BadRequest(f"{what} has more than {limit} entries")
    return value


def device_ref(data: dict[str, Any]) -> DeviceRef:
    """``{"device": {"path": ..., "serial": ...}}`` (either may be null)."""
    device = _object(data.get("device"), "device")
    return DeviceRef(path=text(device, "path"), serial=text(device, "serial"))


def address(data: dict[str, Any], key: str = "address") -> int | None:
    return integer(data, key, maximum=0xFFFFFFFF)


def alt(data: dict[str, Any]) -> int | None:
    return integer(data, "alt", maximum=0xFF)


def pack_spec(data: dict[str, Any]) -> PackSpec:
    """The File panel's description of a .dfu: targets with files, suffix IDs, board."""
    targets = []
    for index, raw in enumerate(_list(data.get("targets"), "targets", MAX_TARGETS)):
        target = _object(raw, f"targets[{index}]")
        files = tuple(
            FileRef(
                required_text(_object(f, "file"), "id"),
                address(_object(f, "file")),
            )
            for f in _list(target.get("files", []), "files", MAX_FILES_PER_TARGET)
        )
        targets.append(
            TargetSpec(
                alt=required_int(target, "alt", maximum=0xFF),
                name=text(target, "name", default="") or "",
                files=files,
            )
        )
    ids = {key: integer(data, key, maximum=0xFFFF) for key in ("vid", "pid", "bcd_device")}
    return PackSpec(
        targets=tuple(targets),
        vid=0x0483 if ids["vid"] is None else ids["vid"],
        pid=0xDF11 if ids["pid"] is None else ids["pid"],
        bcd_device=0xFFFF if ids["bcd_device"] is None else ids["bcd_device"],
        board=text(data, "board") or None,
    )
