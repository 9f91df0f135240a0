"""Opening one DFU device for a verb: selection, alternates, layouts, recovery (layer: ops).

Imports ``pydfuse.host``, ``pydfuse.layout``, ``pydfuse.errors`` and the sibling ``records``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pydfuse.errors import DeviceNotFoundError, DfuseError, FormatError, PlanError
from pydfuse.host.dfu import DfuClient
from pydfuse.host.dfuse import DfuseClient
from pydfuse.host.discovery import Alternate, FoundDevice, choose, resolve_alternate, scan
from pydfuse.host.usb import UsbDevice
from pydfuse.layout import MemoryMap, parse_layout
from pydfuse.ops.env import Environment
from pydfuse.ops.records import AltInfo, DeviceInfo, DeviceSelector

log = logging.getLogger("pydfuse.ops")


def alt_info(found: FoundDevice, alternate: Alternate) -> AltInfo:
    """The alternate with its layout parsed (DfuSe only). A DfuSe string that cannot be read
    gives no memory map and says why in ``layout_error``: never a silently unusable memory."""
    memory_map: MemoryMap | None = None
    error: str | None = None
    if found.dfuse and alternate.string.startswith("@"):
        try:
            memory_map = parse_layout(alternate.string)
        except FormatError as exc:
            error = str(exc)
    elif found.dfuse and found.mode == "dfu":
        error = f"{alternate.string!r} is not a DfuSe memory layout (it does not start with '@')"
    return AltInfo(alternate.alt, alternate.name, alternate.string, memory_map, error)


def alternate_holding(alternates: Sequence[AltInfo], address: int) -> AltInfo | None:
    """The alternate whose memory holds ``address`` (where a single image without an
    alternate goes, as ``dfuse flash`` and ``dfuse check`` place it), else None."""
    for info in alternates:
        if info.memory_map is not None and info.memory_map.contains(address):
            return info
    return None


def device_info(found: FoundDevice) -> DeviceInfo:
    return DeviceInfo.from_found(found, tuple(alt_info(found, a) for a in found.alternates))


def list_devices(env: Environment, *, probe: bool = False) -> list[DeviceInfo]:
    """Every DFU interface on the bus (run-time and DFU mode), sorted by bus path.

    ``probe``: also read the option bytes of every DFU-mode ROM to tell its read protection
    (``DeviceInfo.protection``; :func:`pydfuse.ops.protection.probe_devices`)."""
    out = []
    for found, dev in scan(env.resolved_backend()):
        out.append(device_info(found))
        dev.close()
    out.sort(key=lambda d: (d.path, d.id_text))
    if probe:
        from pydfuse.ops.protection import probe_devices  # it builds on this module

        out = probe_devices(env, out)
    return out


@dataclass(slots=True)
class Session:
    """One opened DFU-mode device: its description, client objects and current alternate."""

    found: FoundDevice
    device: UsbDevice
    dfu: DfuClient
    env: Environment
    current_alt: int | None = None
    detached: bool = False  # the device ran its application and was sent DFU_DETACH first

    @property
    def dfuse(self) -> DfuseClient:
        if not self.found.dfuse:
            # Not a protocol failure: the operation does not exist on this kind of device.
            raise DfuseError(
                f"{self.found.describe()} is a plain DFU {self.found.functional.version_text} "
                "device, not ST DfuSe (bcdDFU 0x011A): it has no addresses, erase or unprotect",
                hint="flash and upload work on it; they send and read the whole firmware",
            )
        return DfuseClient(self.dfu)

    def alternate(self, alt: int | str | None) -> AltInfo:
        return alt_info(self.found, resolve_alternate(self.found, alt))

    def select(self, alt: int) -> None:
        """SET_INTERFACE to ``alt`` unless it is already selected."""
        if alt != self.current_alt:
            self.device.select(self.found.interface, alt)
            self.current_alt = alt

    def all_alternates(self) -> tuple[AltInfo, ...]:
        return tuple(alt_info(self.found, a) for a in self.found.alternates)

    def memory_map(self, info: AltInfo) -> MemoryMap:
        """The alternate's memory map; PlanError naming the string that could not be read."""
        if info.memory_map is None:
            why = f": {info.layout_error}" if info.layout_error else ""
            raise PlanError(
                f"alternate {info.alt} ({info.name!r}) has no memory layout pydfuse can read "
                f"(its string is {info.layout!r}){why}",
                hint="addresses cannot be checked on this alternate; please report the string",
            )
        return info.memory_map


WAIT_POLL_S = 0.5  # how often a waiting pick (dfu-util -w) looks at the bus again
notice = logging.getLogger("pydfuse.notice")  # what the CLI shows even without -v


def pick(env: Environment, selector: DeviceSelector) -> tuple[FoundDevice, UsbDevice]:
    """The one device ``selector`` matches, with its handle (the others are closed). With
    ``selector.wait_s`` it waits, on the environment's clock, for such a device to appear."""
    deadline = None if selector.wait_s is None else env.clock.monotonic() + selector.wait_s
    told = False
    while True:
        try:
            return _pick_once(env, selector)
        except DeviceNotFoundError as error:
            if deadline is None or not str(error).startswith("no DFU device found"):
                raise
            if env.clock.monotonic() >= deadline:
                raise DeviceNotFoundError(
                    f"{error} within {selector.wait_s:g} s of waiting", hint=error.hint
                ) from None
        if not told:
            notice.info("waiting for a DFU device (%s) to appear...", selector.ids_text())
            told = True
        env.clock.sleep(WAIT_POLL_S)


def _pick_once(env: Environment, selector: DeviceSelector) -> tuple[FoundDevice, UsbDevice]:
    admitted, running = [], []
    for found, dev in scan(env.resolved_backend()):
        if selector.admits(found.mode, found.vid, found.pid):
            admitted.append((found, dev))
        else:
            dev.close()
            if found.mode == "runtime":
                running.append(found)
    if selector.dfu_ids and not admitted:
        hint = "is the board plugged in and in the mode those IDs name? `dfuse list` shows "
        hint += "what is connected, `dfuse doctor` what stands in the way"
        if running and not selector.runtime:
            hint = _running_hint(running[0])
        raise DeviceNotFoundError(
            f"no DFU device found (looked for -d {selector.ids_text()})", hint=hint
        )
    running = [  # the selected board, in its application under other IDs of the same maker
        f
        for f in running
        if selector.serial in (None, f.serial)
        and selector.path in (None, f.path)
        and selector.vid in (None, f.vid)
    ]
    if not admitted and running and (selector.vid is not None or selector.pid is not None):
        raise DeviceNotFoundError(
            f"no DFU device found (looked for {selector.ids_text()})",
            hint=_running_hint(running[0], dfu_ids=selector.ids_text()),
        )
    split = selector.dfu_ids  # the IDs were checked per mode above
    return choose(
        admitted,
        vid=None if split else selector.vid,
        pid=None if split else selector.pid,
        serial=selector.serial,
        path=selector.path,
    )


def _running_hint(found: FoundDevice, *, dfu_ids: str | None = None) -> str:
    """How to reach a board found running its application (``dfu_ids``: the DFU-mode IDs
    asked for, which it does not show while it runs)."""
    other = both = ""
    if dfu_ids is not None:
        other = " under other IDs"
        both = f", and -d {found.vid:04x}:{found.pid:04x},{dfu_ids} names both (as in dfu-util)"
    return (
        f"{found.describe()} runs its application{other}: `dfuse detach` (or BOOT0, the "
        f"board's DFU key) brings it into DFU mode{both}; `dfuse doctor` says more"
    )


def peek(env: Environment, selector: DeviceSelector) -> FoundDevice:
    """What the one selected device is (mode, identity), without opening a session on it."""
    found, dev = pick(env, selector)
    dev.close()
    return found


def _detach_and_pick(env: Environment, selector: DeviceSelector) -> tuple[FoundDevice, UsbDevice]:
    """DETACH the run-time device and open its DFU-mode self (found by its new identity)."""
    from pydfuse.ops.detach import detach  # detach builds on this module

    info = detach(env, selector)
    return pick(
        env,
        DeviceSelector(vid=info.vid, pid=info.pid, serial=info.serial, path=info.path),
    )


@contextmanager
def open_session(
    env: Environment,
    selector: DeviceSelector,
    *,
    recover: bool = True,
    auto_detach: bool = True,
) -> Iterator[Session]:
    """Open the one selected DFU-mode device, select its alternate and bring it to dfuIDLE.

    A device running its application is first switched into DFU mode with DFU_DETACH, as
    dfu-util does (§1.8 step 1), when ``auto_detach``; otherwise that is an error."""
    found, dev = pick(env, selector)
    detached = False
    if found.mode != "dfu" and auto_detach:
        dev.close()
        found, dev = _detach_and_pick(env, selector)
        detached = True
    try:
        if found.mode != "dfu":
            raise DeviceNotFoundError(
                f"{found.describe()} is running its application, not the DFU bootloader",
                hint="switch it with `dfuse detach`, or start it with BOOT0 high / the DFU button",
            )
        dfu = DfuClient(
            dev, found.interface, env.clock, transfer_size=found.functional.transfer_size
        )
        session = Session(found, dev, dfu, env, detached=detached)
        chosen = session.alternate(selector.alt)
        log.info("using %s, alt %d %r", found.describe(), chosen.alt, chosen.name)
        session.select(chosen.alt)
        if recover:
            dfu.recover()  # §7.1: ST devices start in dfuERROR/errFIRMWARE
        yield session
    finally:
        dev.close()
