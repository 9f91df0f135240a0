"""Descriptors and standard requests through real pyusb (§2.9, §3.4)."""

from __future__ import annotations

import errno

import pytest
import usb.core
import usb.util

from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from support.rawdfu import find

DEVICE_E_EVAL = bytes.fromhex("12 01 00 01 00 00 00 40 83 04 11 DF 00 02 01 02 03 01")
CONFIG_E_EVAL = bytes.fromhex(
    "09 02 2D 00 01 01 00 80 20"
    "09 04 00 00 00 FE 01 02 04"
    "09 04 00 01 00 FE 01 02 05"
    "09 04 00 02 00 FE 01 02 06"
    "09 21 0B FF 00 00 04 1A 01"
)


def get_descriptor(dev: object, kind: int, index: int, length: int, langid: int = 0) -> bytes:
    return bytes(dev.ctrl_transfer(0x80, 0x06, kind << 8 | index, langid, length))  # type: ignore[attr-defined]


def test_device_and_configuration_descriptors_byte_exact() -> None:
    dev = find(VirtualBoard("stm3210e-eval"))
    assert get_descriptor(dev, 1, 0, 18) == DEVICE_E_EVAL
    assert get_descriptor(dev, 2, 0, 9)[:4] == bytes.fromhex("09 02 2D 00")
    assert get_descriptor(dev, 2, 0, 255) == CONFIG_E_EVAL


def test_b_eval_configuration_header() -> None:
    dev = find(VirtualBoard("stm3210b-eval"))
    config = get_descriptor(dev, 2, 0, 255)
    assert config[:9] == bytes.fromhex("09 02 24 00 01 01 00 C0 32")
    assert len(config) == 36


def test_strings_with_nul_padding_and_langid() -> None:
    board = VirtualBoard("stm3210e-eval", serial="5CE867623433")
    dev = find(board)
    assert get_descriptor(dev, 3, 0, 255) == bytes.fromhex("04 03 09 04")
    assert usb.util.get_string(dev, 1) == "STMicroelectronics"
    assert usb.util.get_string(dev, 2) == "STM32 DFU"
    assert usb.util.get_string(dev, 3) == "5CE867623433"
    raw = get_descriptor(dev, 3, 5, 255, 0x0409)
    assert raw[0] == 98 and len(raw) == 98
    text = raw[2:].decode("utf-16-le")
    assert text == "@SPI Flash : M25P64/0x00000000/128*64Kg" + "\0" * 9
    assert get_descriptor(dev, 3, 6, 255, 0x0409)[0] == 106


def test_pyusb_walks_alternates_and_sees_functional_descriptor_on_last() -> None:
    dev = find(VirtualBoard("stm3210e-eval"))
    cfg = dev.get_active_configuration()
    alts = list(cfg)
    assert [i.bAlternateSetting for i in alts] == [0, 1, 2]
    assert all((i.bInterfaceClass, i.bInterfaceProtocol) == (0xFE, 2) for i in alts)
    assert [list(i.extra_descriptors) for i in alts[:2]] == [[], []]
    assert bytes(alts[2].extra_descriptors) == bytes.fromhex("09 21 0B FF 00 00 04 1A 01")
    # dfu-util's fallback: GET_DESCRIPTOR(0x21) (§1.1)
    assert get_descriptor(dev, 0x21, 0, 9) == bytes.fromhex("09 21 0B FF 00 00 04 1A 01")


def test_configuration_interface_and_status_requests() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    assert dev.ctrl_transfer(0x80, 0x08, 0, 0, 1)[0] == 1  # configured like an OS would
    dev.set_configuration(1)
    dev.set_interface_altsetting(0, 2)
    assert dev.ctrl_transfer(0x81, 0x0A, 0, 0, 1)[0] == 2
    assert board.dfu is not None and board.dfu.alternate == 2
    assert bytes(dev.ctrl_transfer(0x80, 0x00, 0, 0, 2)) == b"\0\0"  # bus powered
    dev.ctrl_transfer(0x02, 0x01, 0, 0, None)  # CLEAR_FEATURE(ENDPOINT_HALT, EP0)
    with pytest.raises(usb.core.USBError) as info:
        dev.ctrl_transfer(0x01, 0x0B, 3, 0, None)  # alternate 3 does not exist
    assert info.value.errno == errno.EPIPE and info.value.backend_error_code == -9
    with pytest.raises(usb.core.USBError):
        dev.ctrl_transfer(0xC0, 0x42, 0, 0, 4)  # vendor request: stall
    with pytest.raises(usb.core.USBError):
        get_descriptor(dev, 3, 9, 255, 0x0409)  # no such string
    with pytest.raises(usb.core.USBError):
        get_descriptor(dev, 6, 0, 10)  # device qualifier: full-speed only


def test_self_powered_b_eval_reports_it_in_get_status() -> None:
    dev = find(VirtualBoard("stm3210b-eval"))
    assert bytes(dev.ctrl_transfer(0x80, 0x00, 0, 0, 2)) == b"\x01\0"


def test_two_boards_distinct_serials_addresses_ports() -> None:
    a, b = VirtualBoard("stm3210e-eval"), VirtualBoard("stm3210e-eval")
    assert a.serial != b.serial
    devs = list(usb.core.find(find_all=True, backend=get_backend(a, b)))
    assert len(devs) == 2
    assert len({d.address for d in devs}) == 2
    assert sorted(d.port_number for d in devs) == [1, 2]
    assert {usb.util.get_string(d, d.iSerialNumber) for d in devs} == {a.serial, b.serial}
    assert all(len(s) == 12 and s == s.upper() for s in (a.serial, b.serial))  # §2.9 format


def test_f4_rom_identity() -> None:
    dev = find(VirtualBoard("stm32f4-rom"))
    assert (dev.idVendor, dev.idProduct, dev.bcdDevice) == (0x0483, 0xDF11, 0x2100)
    assert usb.util.get_string(dev, dev.iProduct) == "STM32  BOOTLOADER"
    layouts = [usb.util.get_string(dev, i.iInterface) for i in dev.get_active_configuration()]
    assert layouts[0] == "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg"
    # §3.3: real F4 ROMs report option bytes, OTP and device feature as type 'e'.
    assert layouts[1:] == [
        "@Option Bytes  /0x1FFFC000/01*016 e",
        "@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
        "@Device Feature/0xFFFF0000/01*004 e",
    ]
    functional = bytes(list(dev.get_active_configuration())[3].extra_descriptors)
    assert functional == bytes.fromhex("09 21 0B FF 00 00 08 1A 01")
