"""``dfuse doctor`` and ``dfuse udev-rules``: what stands between the user and the board
(layer: ops; imports ``pydfuse.host``, ``pydfuse.errors`` and the standard library).

:func:`doctor` looks at the USB bus the way a helpful colleague would: is there a libusb, which
devices look like DFU (class FE/01, or a known bootloader VID:PID), can each be opened and its
DFU interface claimed, and if not why — Linux permissions (with the udev rule), another
program or a kernel driver holding it, Windows without WinUSB — and which run their
application (how to enter DFU mode). It writes nothing to any device.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import usb.core

from pydfuse.errors import DfuseError, TransportError
from pydfuse.formats.atomic import atomic_write
from pydfuse.host.probe import Probe, probe_bus
from pydfuse.ops.env import Environment

KNOWN_BOOTLOADERS: dict[tuple[int, int], str] = {
    (0x0483, 0xDF11): "STM32 system bootloader / ST DfuSe",
    (0x28E9, 0x0189): "GD32 DFU bootloader",
    (0x2E3C, 0xDF11): "AT32 DFU bootloader",
    (0x1D50, 0x6017): "Black Magic Probe DFU bootloader",
    (0x1209, 0xDB42): "dapboot DFU bootloader",
    (0x1EAF, 0x0003): "Maple / STM32duino DFU bootloader",
    (0x2B04, 0xD006): "Particle Photon DFU bootloader",
    (0x03EB, 0x2FF4): "Atmel ATmega32U4 DFU bootloader",
}
UDEV_RULES_PATH = Path("/etc/udev/rules.d/60-pydfuse.rules")
_NO_UDEV = {
    "darwin": "macOS needs no udev rule: libusb opens DFU devices without root",
    "win32": "on Windows install the WinUSB driver for the board (Zadig); dfuse doctor says more",
}
Level = Literal["ok", "note", "problem"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnosis: how bad, which device (None: the host), what, and what to do."""

    level: Level
    device: str | None
    what: str
    fix: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "device": self.device,
            "what": self.what,
            "fix": list(self.fix),
        }


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """What :func:`doctor` found: the platform, whether libusb loaded, devices, findings."""

    platform: str
    backend: bool
    devices: tuple[Probe, ...] = ()
    findings: tuple[Finding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """A device is ready in DFU mode and nothing is in the way."""
        ready = any(f.level == "ok" for f in self.findings)
        return ready and not any(f.level == "problem" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "platform": self.platform,
            "libusb": self.backend,
            "devices": [
                {
                    "id": p.id_text,
                    "path": p.path,
                    "product": p.product,
                    "serial": p.serial,
                    "dfu_interface": p.dfu_interface,
                    "mode": None
                    if p.dfu_interface is None
                    else ("runtime" if p.runtime else "dfu"),
                    "known_as": KNOWN_BOOTLOADERS.get((p.vid, p.pid)),
                    "problem": p.problem,
                    "kernel_driver": p.kernel_driver,
                }
                for p in self.devices
            ],
            "findings": [f.to_dict() for f in self.findings],
        }


def _mode(probe: Probe) -> str | None:
    if probe.dfu_interface is None:
        return None
    return "runtime" if probe.runtime else "dfu"


def udev_rule(vid: int, pid: int, comment: str = "") -> str:
    """One udev line giving the logged-in user (uaccess) and group plugdev the device."""
    note = f"# {comment}\n" if comment else ""
    return (
        f'{note}SUBSYSTEM=="usb", ATTR{{idVendor}}=="{vid:04x}", ATTR{{idProduct}}=="{pid:04x}", '
        'MODE="0660", GROUP="plugdev", TAG+="uaccess"'
    )


def udev_rules(extra: tuple[tuple[int, int], ...] = ()) -> str:
    """The rules file for every known DFU bootloader (and ``extra`` VID:PIDs)."""
    lines = ["# pydfuse: USB DFU bootloaders usable without root (dfuse udev-rules --install)"]
    for (vid, pid), name in KNOWN_BOOTLOADERS.items():
        lines.append(udev_rule(vid, pid, name))
    for vid, pid in extra:
        if (vid, pid) not in KNOWN_BOOTLOADERS:
            lines.append(udev_rule(vid, pid, "found by dfuse doctor"))
    return "\n".join(lines) + "\n"


def install_udev_rules(
    path: Path = UDEV_RULES_PATH,
    *,
    reload: bool = True,
    extra: tuple[tuple[int, int], ...] = (),
    platform: str = sys.platform,
) -> list[str]:
    """Write the rules to ``path`` and (``reload``) make udev apply them to plugged devices.
    Returns what was done, one line each. DfuseError, with nothing written, on a system
    without udev (not Linux, or no rules directory: it is not created) and when the file
    cannot be written; the file is replaced whole or not at all (never half-written)."""
    if platform != "linux":
        raise DfuseError(
            f"udev rules are for Linux; this system is {platform}",
            hint=_NO_UDEV.get(
                platform, "this system's device manager needs its own rule; dfuse doctor says more"
            ),
        )
    if not path.parent.is_dir():
        raise DfuseError(
            f"cannot write {path}: the directory {path.parent} does not exist",
            hint="is udev installed? (its rules live in /etc/udev/rules.d) — or give --path "
            "FILE in an existing directory",
        )
    try:
        atomic_write(path, udev_rules(extra).encode("utf-8"))
    except DfuseError as error:
        root = getattr(os, "geteuid", lambda: 0)() == 0
        hint = None if root else "run it as root: sudo dfuse udev-rules --install"
        raise DfuseError(str(error), hint=hint) from None
    done = [f"wrote {path} ({len(KNOWN_BOOTLOADERS) + len(extra)} device IDs)"]
    if not reload:
        return done
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        return [*done, "udevadm not found: replug the board for the rule to apply"]
    for args in (["control", "--reload-rules"], ["trigger", "--subsystem-match=usb"]):
        run = subprocess.run([udevadm, *args], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            reason = (run.stderr.strip() or f"exit {run.returncode}").splitlines()[0]
            return [*done, f"udevadm {args[0]} failed ({reason}): replug the board instead"]
    return [*done, "udev reloaded its rules and re-applied them to plugged USB devices"]


def doctor(env: Environment, *, platform: str = sys.platform) -> DoctorReport:
    """Look at the bus behind ``env`` and say what stands in the way of using a DFU device."""
    try:
        probes = tuple(probe_bus(env.resolved_backend(), set(KNOWN_BOOTLOADERS)))
    except (usb.core.NoBackendError, TransportError):
        return DoctorReport(platform, False, findings=(_no_backend(platform),))
    findings = [_diagnose(p, platform) for p in probes]
    if not probes:
        findings.append(
            Finding(
                "problem",
                None,
                "no device on the bus looks like DFU (interface class FE/01 or a known "
                "bootloader ID)",
                (
                    "start the board's bootloader: STM32 with BOOT0 high and a reset, or the "
                    "board's DFU button; a board running an application with a DFU run-time "
                    "interface shows up too",
                    "use a data cable (many USB cables only charge) and a direct port",
                    "lsusb (Linux) / System Information (macOS) / Device Manager (Windows) "
                    "shows whether the board enumerates at all",
                ),
            )
        )
    return DoctorReport(platform, True, probes, tuple(findings))


def _no_backend(platform: str) -> Finding:
    fix = {
        "linux": ("apt install libusb-1.0-0 (Debian/Ubuntu) or dnf install libusb1 (Fedora)",),
        "darwin": ("brew install libusb",),
        "win32": ("pip install libusb-package (it carries libusb-1.0.dll)",),
    }.get(platform, ("install libusb-1.0 for this system",))
    return Finding(
        "problem",
        None,
        "libusb cannot be loaded: no USB device can be reached",
        (*fix, "pip install libusb-package brings a libusb with it on most systems"),
    )


def _name(probe: Probe) -> str:
    known = KNOWN_BOOTLOADERS.get((probe.vid, probe.pid))
    label = probe.product or known or "USB device"
    serial = f" serial {probe.serial}" if probe.serial else ""
    return f"{probe.id_text} {label}{serial} (bus {probe.path})"


def _diagnose(probe: Probe, platform: str) -> Finding:
    name = _name(probe)
    if probe.problem == "access":
        return _access(probe, name, platform)
    if probe.problem == "busy":
        return _busy(probe, name)
    if probe.problem == "not_supported":
        return Finding(
            "problem",
            name,
            "the operating system does not let libusb open it: on Windows, its DFU interface "
            "has no WinUSB driver",
            (
                "install WinUSB with Zadig (zadig.akeo.ie): Options > List All Devices, choose "
                "the board's DFU interface, WinUSB, Replace Driver",
                "STM32CubeProgrammer's own driver (STTub30) is not WinUSB: replace it to use "
                "pydfuse or dfu-util",
            ),
        )
    if probe.problem is not None:
        return Finding(
            "problem", name, f"could not be opened ({probe.problem}: {probe.detail})",
            ("replug the board and run dfuse doctor again",),
        )  # fmt: skip
    if probe.dfu_interface is None:
        return Finding(
            "note",
            name,
            "has a known bootloader ID but no DFU interface in its descriptors",
            ("it may be another kind of bootloader using the same ID",),
        )
    if probe.runtime:
        return Finding(
            "note",
            name,
            "runs its application (DFU run-time interface): not in DFU mode yet",
            (
                "dfuse detach switches it to its bootloader (device commands do this by "
                "themselves)",
                "or start the bootloader: BOOT0 high and reset (STM32 ROM), the DFU-enable "
                "pin or button of the board",
            ),
        )
    return Finding("ok", name, "ready in DFU mode", ("dfuse list shows its memories",))


def _access(probe: Probe, name: str, platform: str) -> Finding:
    if platform.startswith("linux"):
        return Finding(
            "problem",
            name,
            "no permission to open it (Linux: the device node belongs to root)",
            (
                "dfuse udev-rules --install (as root) installs a rule for every known DFU "
                "bootloader and reloads udev",
                "or add this line to /etc/udev/rules.d/60-pydfuse.rules and replug the board: "
                + udev_rule(probe.vid, probe.pid),
            ),
        )
    return Finding(
        "problem",
        name,
        "access denied when opening it",
        (
            "close other programs using the board (STM32CubeProgrammer, DfuSe Demo)",
            "on Windows the DFU interface needs the WinUSB driver (Zadig)",
        ),
    )


def _busy(probe: Probe, name: str) -> Finding:
    if probe.kernel_driver:
        return Finding(
            "problem",
            name,
            f"a kernel driver holds its DFU interface {probe.dfu_interface}",
            (
                "find it: ls -l /sys/bus/usb/devices/*/driver (the interface of bus path "
                f"{probe.path}); unbind it, or blacklist the module that claims this ID",
            ),
        )
    return Finding(
        "problem",
        name,
        "another program has claimed its DFU interface",
        (
            "close dfu-util, STM32CubeProgrammer or another dfuse, and any terminal on the "
            "board's serial port (ModemManager probes new devices for a while too)",
        ),
    )
