"""Opt-in checks against a real DFU device on the USB bus (``pytest -m hardware``).

They only read: list the devices, upload a few bytes from the first DfuSe one, read the option
bytes of an ST ROM.
"""

from __future__ import annotations

import pytest

from pydfuse.ops import DeviceSelector, list_devices, upload, usb_environment

pytestmark = pytest.mark.hardware


def test_real_bus_lists_dfu_devices() -> None:
    devices = list_devices(usb_environment())
    if not devices:
        pytest.skip("no DFU device on the bus")
    for device in devices:
        assert device.mode in ("dfu", "runtime") and device.transfer_size > 0


def test_real_dfuse_device_reads_back() -> None:
    env = usb_environment()
    dfuse = [d for d in list_devices(env) if d.dfuse and d.mode == "dfu"]
    if not dfuse:
        pytest.skip("no DfuSe device in DFU mode on the bus")
    device = dfuse[0]
    memory = device.alternates[0].memory_map
    assert memory is not None
    readable = next(s for s in memory.sectors if s.readable)
    result = upload(env, DeviceSelector(path=device.path), address=readable.address, length=64)
    assert result.image.size == 64


def test_real_rom_option_bytes_read_and_decode() -> None:
    """Reads only: never writes option bytes to a real chip."""
    from pydfuse.errors import ReadProtectedError
    from pydfuse.ops import option_bytes

    env = usb_environment()
    roms = [
        d
        for d in list_devices(env)
        if d.mode == "dfu" and any(a.name.lower().startswith("option bytes") for a in d.alternates)
    ]
    if not roms:
        pytest.skip("no ST ROM bootloader (with an option-byte alternate) on the bus")
    try:
        report = option_bytes(env, DeviceSelector(path=roms[0].path))
    except ReadProtectedError:
        pytest.skip("the chip is read-protected (RDP level 1): nothing to decode")
    assert report.block.raw != b"\xff" * len(report.block.raw)
    if report.rdp_level is not None:
        assert report.rdp_level in (0, 1)
