"""The simulator backend honours pyusb's IBackend contract the way libusb does."""

from __future__ import annotations

import errno

import pytest
import usb.core
import usb.util

from pydfuse.sim.backend import SimBackend, get_backend
from pydfuse.sim.board import VirtualBoard
from support.rawdfu import dnload, getstatus, to_idle


def test_backend_is_a_pyusb_ibackend() -> None:
    import usb.backend

    assert isinstance(get_backend(), usb.backend.IBackend)
    assert usb.core.find(backend=get_backend()) is None  # no boards, no devices


def test_interface_walk_stops_with_indexerror() -> None:
    board = VirtualBoard("stm3210e-eval")
    backend = get_backend(board)
    (raw,) = list(backend.enumerate_devices())
    assert backend.get_interface_descriptor(raw, 0, 2, 0).bAlternateSetting == 2
    with pytest.raises(IndexError):
        backend.get_interface_descriptor(raw, 0, 3, 0)
    with pytest.raises(IndexError):
        backend.get_interface_descriptor(raw, 1, 0, 0)
    with pytest.raises(IndexError):
        backend.get_endpoint_descriptor(raw, 0, 0, 0, 0)
    desc = backend.get_device_descriptor(raw)
    assert (desc.bus, desc.port_number, desc.port_numbers, desc.speed) == (
        1,
        1,
        (1,),
        usb.util.SPEED_FULL,
    )


def test_find_with_custom_match_and_serial() -> None:
    a, b = VirtualBoard("stm3210e-eval"), VirtualBoard("stm32f4-rom")
    backend = get_backend(a, b)
    f4 = usb.core.find(backend=backend, bcdDevice=0x2100)
    assert usb.util.get_string(f4, f4.iSerialNumber) == b.serial
    found = usb.core.find(
        backend=backend,
        custom_match=lambda d: usb.util.get_string(d, d.iSerialNumber) == a.serial,
    )
    assert found.bcdDevice == 0x0200


def test_dispose_and_reopen() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = usb.core.find(backend=get_backend(board))
    to_idle(dev)
    usb.util.claim_interface(dev, 0)
    usb.util.dispose_resources(dev)
    assert getstatus(dev).status == 0  # pyusb reopens transparently


def test_stale_device_object_cannot_be_opened() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = usb.core.find(backend=get_backend(board))
    to_idle(dev)
    dnload(dev, 0, b"")
    getstatus(dev)  # dfuMANIFEST: the device leaves
    usb.util.dispose_resources(dev)
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)  # open_device on the old enumeration
    assert info.value.errno == errno.ENODEV


def test_claiming_a_missing_interface_fails() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = usb.core.find(backend=get_backend(board))
    with pytest.raises(usb.core.USBError):
        usb.util.claim_interface(dev, 1)


def test_boards_can_be_plugged_in_later() -> None:
    backend = SimBackend([])
    assert usb.core.find(backend=backend) is None
    backend.add(VirtualBoard("plain-dfu"))
    assert usb.core.find(backend=backend).idVendor == 0x1209


def test_kernel_driver_trio_and_clear_halt_are_harmless() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = usb.core.find(backend=get_backend(board))
    assert dev.is_kernel_driver_active(0) is False
    dev.detach_kernel_driver(0)
    dev.attach_kernel_driver(0)
    dev.clear_halt(0)
