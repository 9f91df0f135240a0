"""``detach``: switch a run-time device into DFU mode and wait for it; ``usb_reset`` (dfu-util
``-R``) (layer: ops).

Imports ``pydfuse.host``, ``pydfuse.errors`` and the sibling ops modules. Follows §1.8 step 1 of
dfuse-spec.md.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

from pydfuse.errors import DeviceNotFoundError, StallError, TransportError
from pydfuse.host.dfu import DfuClient
from pydfuse.host.discovery import FoundDevice, scan
from pydfuse.host.usb import UsbDevice
from pydfuse.ops.env import Environment
from pydfuse.ops.records import DeviceInfo, DeviceSelector
from pydfuse.ops.reenumerate import devices, successor, wait_for
from pydfuse.ops.session import device_info, pick

DETACH_TIMEOUT_MS = 1000  # wValue of DFU_DETACH, as dfu-util sends it (§1.8)


def _send_detach(env: Environment, found: FoundDevice, dev: UsbDevice) -> None:
    size = max(found.functional.transfer_size, 1)  # unused by DETACH; must only be valid
    dfu = DfuClient(dev, found.interface, env.clock, transfer_size=size)
    with suppress(StallError):
        dfu.get_status()  # a STALL here just means appIDLE (§1.8 step 1)
    try:
        dfu.detach(min(found.functional.detach_timeout_ms or DETACH_TIMEOUT_MS, DETACH_TIMEOUT_MS))
    except TransportError:
        return  # the device detached at once and left the bus: that is the point
    if not found.functional.will_detach:
        dev.reset()  # without bitWillDetach the host must reset the bus (§1.1, §1.8)


def detach(env: Environment, selector: DeviceSelector, *, wait_s: float = 5.0) -> DeviceInfo:
    """DETACH a run-time device (bus reset unless bitWillDetach) and wait up to ``wait_s`` on
    the environment's clock for its DFU-mode self; a device already in DFU mode is returned."""
    before = devices(env, "dfu")
    try:
        found, dev = pick(env, selector)
    except DeviceNotFoundError as error:
        if not str(error).startswith("no DFU device found"):
            raise
        raise DeviceNotFoundError(
            str(error),
            hint="detach needs the board running an application that has a DFU run-time "
            "interface; `dfuse list` shows what is connected",
        ) from None
    try:
        if found.mode == "dfu":
            return device_info(found)
        _send_detach(env, found, dev)
    finally:
        dev.close()
    back = wait_for(env, wait_s, lambda: successor(before, devices(env, "dfu"), found))
    if back is None:
        raise DeviceNotFoundError(
            f"{found.describe()} did not come back in DFU mode within {wait_s:g} s",
            hint="its application may not support DFU_DETACH; start the bootloader by hand",
        )
    return device_info(back)


def reset_to_leave(env: Environment, found: FoundDevice, dev: UsbDevice) -> bool:
    """Leave DFU mode the DFU 1.1 way, with a USB bus reset (§1.6; dfu-util's ``-R``): a plain
    DFU device has no leave request. True when ``found`` is no longer in DFU mode afterwards
    (running its firmware, or gone); whether a reset starts the firmware is its bootloader's
    choice."""
    dev.reset()
    after = successor([found], devices(env), found)
    return after is None or after.mode != "dfu"


def usb_reset(env: Environment, selector: DeviceSelector) -> DeviceInfo | None:
    """dfu-util's ``-R``: DFU_DETACH (a stall or a vanished device is fine), then a USB bus
    reset. Returns what the device is afterwards (run-time or DFU mode), None if it is gone.

    What a bus reset does is the bootloader's choice: the ST USB-FS demo stays in DFU mode
    (§2.9); a device in dfuMANIFEST-WAIT-RESET or with a reboot-on-reset bootloader starts its
    application (§1.6)."""
    found, dev = pick(env, replace(selector, wait_s=None))
    try:
        size = max(found.functional.transfer_size, 1)
        dfu = DfuClient(dev, found.interface, env.clock, transfer_size=size)
        with suppress(TransportError):
            dfu.detach(DETACH_TIMEOUT_MS)
        dev.reset()
    finally:
        dev.close()
    for after, handle in scan(env.resolved_backend()):
        handle.close()
        if (found.serial is not None and after.serial == found.serial) or after.path == found.path:
            return device_info(after)
    return None
