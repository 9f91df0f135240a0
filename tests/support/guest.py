"""The QEMU Linux guest of the USB/IP interop tests: find or build it, and boot it once.

The guest (``tests/interop/guest/build``) is a Debian kernel with vhci-hcd, a minbase root with
usbip, dfu-util and python3-usb, cached outside the repository. A boot runs one shell script
(``run.sh`` in the shared directory) and powers off; files are shared over virtio-9p. The network
is QEMU's user mode with no default route in the guest: its only peer is 10.0.2.2, the host's
loopback, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

GUEST_SOURCES = Path(__file__).resolve().parents[1] / "interop" / "guest"
BUILD = GUEST_SOURCES / "build"


def unavailable_reason() -> str | None:
    """Why this machine cannot run the guest at all (then the tests skip), or None."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return "the interop guest needs an x86-64 Linux host"
    if os.geteuid() != 0:
        return "building the interop guest needs root (debootstrap)"
    if shutil.which("apt-get") is None:
        return "building the interop guest needs Debian's apt-get"
    return None


def missing_tools() -> list[str]:
    """Host tools the guest needs that are not installed (``make interop-deps`` installs them)."""
    tools = ["qemu-system-x86_64", "debootstrap", "mke2fs", "cpio"]
    return [tool for tool in tools if shutil.which(tool) is None]


def guest_dir() -> Path:
    """The built guest (building it first when the cache has none: a few minutes, once)."""
    printed = subprocess.run(
        [str(BUILD), "--print-dir"], check=True, capture_output=True, text=True
    ).stdout
    directory = Path(printed.strip().splitlines()[-1])
    if not (directory / "ready").exists():
        subprocess.run([str(BUILD)], check=True, capture_output=True, text=True, timeout=1200)
    return directory


def boot(
    guest: Path, shares: dict[str, Path], *, log: Path, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """Boot the guest with ``shares`` (tag -> host directory; ``host`` holds run.sh) until it
    powers off; QEMU is killed after ``timeout_s``."""
    accel = os.environ.get("PYDFUSE_GUEST_ACCEL", "tcg")  # KVM is not usable on these machines
    command = [
        "qemu-system-x86_64",
        "-accel",
        accel,
        "-cpu",
        "max",
        "-m",
        "2048",  # unicorn (the board's Cortex-M core) maps a 1 GB code buffer at start
        "-smp",
        "1",
        "-display",
        "none",
        "-monitor",
        "none",
        "-no-reboot",
        "-serial",
        f"file:{log}",
        "-kernel",
        str(guest / "vmlinuz"),
        "-initrd",
        str(guest / "initrd.img"),
        "-append",
        "console=ttyS0 panic=-1 quiet",
        "-drive",
        f"file={guest / 'rootfs.ext4'},if=virtio,format=raw,snapshot=on",
        "-netdev",
        "user,id=net0",
        "-device",
        "virtio-net-pci,netdev=net0",
    ]
    for tag, path in shares.items():
        readonly = ",readonly=on" if tag != "host" else ""
        command += ["-virtfs", f"local,path={path},mount_tag={tag},security_model=none{readonly}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
