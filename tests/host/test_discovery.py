"""Discovery and device selection on a virtual bus, through real pyusb."""

from __future__ import annotations

import errno
from typing import Any

import pytest
import usb.core

from pydfuse.errors import DeviceNotFoundError, TransportError
from pydfuse.host.discovery import choose, resolve_alternate, scan
from pydfuse.ops import DeviceSelector, Environment, list_devices, upload
from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from support.boards import RecordingBackend, Rig, make_rig


def test_list_one_board_describes_everything(rig: Rig) -> None:
    (info,) = list_devices(rig.env)
    assert (info.vid, info.pid, info.mode, info.path) == (0x0483, 0xDF11, "dfu", "1-1")
    assert info.serial == rig.board.serial and len(info.serial or "") == 12
    assert (info.dfu_version, info.dfuse, info.transfer_size) == ("1.1a", True, 1024)
    assert info.attribute_names() == ["can_dnload", "can_upload", "will_detach"]
    assert [a.name for a in info.alternates] == [
        "Internal Flash",
        "SPI Flash : M25P64",
        "NOR Flash : M29W128F",
    ]
    # Trailing U+0000 padding (§3.4) is gone and the layouts parse.
    internal = info.alternates[0]
    assert internal.layout == "@Internal Flash  /0x08000000/06*002Ka,250*002Kg"
    assert internal.memory_map is not None and internal.memory_map.size == 512 * 1024
    sector = internal.memory_map.sector_at(0x08003000)
    assert sector is not None and sector.writable
    as_dict = info.to_dict()
    assert as_dict["id"] == "0483:df11" and as_dict["alternates"][2]["regions"][0]["address"] == (
        0x64000000
    )


def two_boards() -> Rig:
    return make_rig(
        VirtualBoard("stm3210e-eval", serial="AAAA00000001"),
        VirtualBoard("stm3210b-eval", serial="BBBB00000002"),
    )


def test_list_several_boards_sorted_by_path() -> None:
    rig = two_boards()
    infos = list_devices(rig.env)
    assert [(i.path, i.serial) for i in infos] == [("1-1", "AAAA00000001"), ("1-2", "BBBB00000002")]
    assert [len(i.alternates) for i in infos] == [3, 2]


@pytest.mark.parametrize(
    ("selector", "serial"),
    [
        (DeviceSelector(serial="BBBB00000002"), "BBBB00000002"),
        (DeviceSelector(path="1-1"), "AAAA00000001"),
        (DeviceSelector(vid=0x0483, pid=0xDF11, path="1-2"), "BBBB00000002"),
    ],
)
def test_selection_by_serial_and_path(selector: DeviceSelector, serial: str) -> None:
    rig = two_boards()
    found, dev = choose(
        scan(rig.env.backend), serial=selector.serial, path=selector.path, vid=selector.vid
    )
    dev.close()
    assert found.serial == serial


def test_several_matches_name_them_all() -> None:
    rig = two_boards()
    with pytest.raises(DeviceNotFoundError) as info:
        upload(rig.env, DeviceSelector(vid=0x0483), address=0x08003000, length=4)
    message = str(info.value)
    assert message.startswith("2 DFU devices match")
    assert "AAAA00000001 (bus 1-1" in message and "BBBB00000002 (bus 1-2" in message
    assert info.value.hint is not None and "-S SERIAL" in info.value.hint


def test_no_match_says_what_was_looked_for(rig: Rig) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        upload(rig.env, DeviceSelector(vid=0x0483, pid=0xDF11, serial="NOPE"), length=4)
    assert "no DFU device found (looked for 0483:df11, serial NOPE)" in str(info.value)
    assert info.value.hint is not None and "DFU mode" in info.value.hint


def test_empty_bus() -> None:
    env = Environment(backend=get_backend())
    assert list_devices(env) == []
    with pytest.raises(DeviceNotFoundError, match="looked for any DFU interface"):
        upload(env, DeviceSelector(), length=4)


@pytest.mark.parametrize(
    ("alt", "number"),
    [
        (None, 0),
        (1, 1),
        ("2", 2),
        ("spi", 1),
        ("NOR Flash", 2),
        ("Internal", 0),
        ("@SPI Flash : M25P64/0x00000000/128*64Kg", 1),
    ],
)
def test_alternate_by_number_name_or_prefix(rig: Rig, alt: int | str | None, number: int) -> None:
    found, dev = choose(scan(rig.env.backend))
    dev.close()
    assert resolve_alternate(found, alt).alt == number


@pytest.mark.parametrize(
    ("alt", "why"),
    [(7, "no alternate setting 7"), ("flash", "several"), ("eeprom", "matches no alternate")],
)
def test_bad_alternate_names_the_choices(rig: Rig, alt: int | str, why: str) -> None:
    found, dev = choose(scan(rig.env.backend))
    dev.close()
    with pytest.raises(DeviceNotFoundError, match=why) as info:
        resolve_alternate(found, alt)
    assert info.value.hint is not None and "1 (SPI Flash : M25P64)" in info.value.hint


class DenyingBackend(RecordingBackend):
    """The simulator's backend, except that the OS refuses to read string descriptors (EACCES),
    as Linux does for a USB device without a udev rule."""

    def ctrl_transfer(
        self, handle: Any, rt: int, req: int, value: int, index: int, data: Any, timeout: Any
    ) -> Any:
        if rt == 0x80 and req == 0x06 and value >> 8 == 0x03:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
        return super().ctrl_transfer(handle, rt, req, value, index, data, timeout)


def test_permission_problem_gives_the_udev_hint() -> None:
    board = VirtualBoard("stm3210e-eval")
    env = Environment(backend=DenyingBackend(get_backend(board)), clock=board.clock)
    (info,) = list_devices(env)  # still listed, without its strings
    assert info.serial is None and info.alternates[0].layout == ""
    with pytest.raises(TransportError) as err:
        upload(env, DeviceSelector(serial=board.serial), length=4)
    assert "could not be opened" in str(err.value)
    assert err.value.hint is not None and "udev" in err.value.hint
    assert isinstance(err.value.__cause__, TransportError)
