"""``flash`` on a plain DFU 1.1 device (bcdDFU != 0x011A): one payload, no addresses
(layer: ops).

Imports ``pydfuse.host``, ``pydfuse.errors`` and the sibling ops modules. Follows §1.7, §1.8 and
the suffix rule of §4.6 / §7.24 of dfuse-spec.md.
"""

from __future__ import annotations

from collections.abc import Callable

from pydfuse.errors import DfuseError, PlanError, ProtocolError, VerifyError
from pydfuse.host import plain as plain_dfu
from pydfuse.ops.detach import reset_to_leave
from pydfuse.ops.firmware import Firmware
from pydfuse.ops.progress import Tracker, carrying, disconnect_context
from pydfuse.ops.records import FlashResult, TargetResult
from pydfuse.ops.session import Session


def plain_payload(firmware: Firmware) -> bytes:
    """The bytes to send: a plain DFU file's payload, or a single contiguous image."""
    if firmware.plain is not None:
        return firmware.plain.payload
    if len(firmware.jobs) != 1 or len(firmware.jobs[0].image) != 1:
        raise PlanError(
            "a plain DFU device takes one contiguous firmware blob; this input has several "
            "targets or segments",
            hint="flash a plain DFU file (firmware + suffix) or a single .bin",
        )
    return firmware.jobs[0].image.segments[0].data


def flash_plain(
    session: Session,
    firmware: Firmware,
    suffix_problem: str | None,
    *,
    verify: bool,
    force: bool,
    dry_run: bool,
    tracker: Tracker,
    warn: Callable[[str], None] | None = None,
    leave: bool = False,
    dfuse_only: dict[str, bool] | None = None,
) -> FlashResult:
    """Download, manifest, (if the device stays usable and can upload) verify, and with
    ``leave`` reset the bus to start the firmware (DFU 1.1 has no leave request; dfu-util's
    ``-R``). ``dfuse_only``: the DfuSe options the caller was given (option name -> given);
    any given one is refused before anything is sent, never ignored."""
    _refuse_dfuse_only(session, dfuse_only or {})
    payload = plain_payload(firmware)
    warnings = list(firmware.warnings)
    if firmware.plain is None and firmware.jobs[0].image.start != 0:
        # A HEX/ELF/S19 carries an address; a plain DFU device has none (§1.8, §4.8).
        image = firmware.jobs[0].image
        warnings.append(
            f"a plain DFU device takes the firmware as raw bytes: the image's address "
            f"0x{image.start:08x} is not sent; the device decides where it goes"
        )
    if suffix_problem is not None:
        if not force:
            raise PlanError(
                f"refusing the file: {suffix_problem} (§4.6: the suffix IDs must be ffff or match)",
                hint="use the file made for this device, or --force if you are sure",
            )
        warnings.append(f"FORCED: {suffix_problem}")
    found = session.found
    clock = session.env.clock
    started = clock.monotonic()
    alive, verified = True, None
    if warn is not None:  # before the first byte (a FORCED suffix mismatch among them)
        for warning in warnings:
            warn(warning)
    if not dry_run:
        tracker.start("program", len(payload))
        with carrying(warnings), disconnect_context(tracker):
            alive = plain_dfu.download(
                session.dfu,
                payload,
                will_detach=found.functional.will_detach,
                progress=tracker.step,
            )
            if verify and alive and found.functional.can_upload:
                tracker.start("verify", len(payload))
                actual = plain_dfu.upload(session.dfu, limit=len(payload), progress=tracker.step)
                _compare(payload, actual)
                verified = True
            if leave and alive:
                alive = not reset_to_leave(session.env, found, session.device)
                if alive:
                    warnings.append(_STAYED)
        if verify and verified is None:
            warnings.append("not verified: the device cannot upload or left DFU mode")
    info = session.alternate(session.current_alt)
    target = TargetResult(info.alt, info.name, len(payload), (), ((0, len(payload)),), verified)
    return FlashResult(
        device=found.describe(),
        targets=(target,),
        mass_erased=False,
        verified=verified,
        left=not alive,
        dry_run=dry_run,
        elapsed_s=clock.monotonic() - started,
        warnings=tuple(warnings),
        steps=(_RESET_STEP,) if dry_run and leave else (),
    )


_RESET_STEP = "would reset the USB bus to start the firmware (DFU 1.1 has no leave request)"
_STAYED = (
    "the device stayed in DFU mode after the USB bus reset that should start its firmware "
    "(its bootloader decides: it may want a power cycle, or find no valid firmware)"
)
# What the DfuSe-only options would ask of a plain DFU device, and why it cannot.
_NOT_PLAIN = {
    "mass_erase": "a mass erase is a DfuSe command (plain DFU has no erase: the download "
    "replaces the whole firmware); leave --mass-erase / :mass-erase out",
    "leave_address": "it has no addresses to jump to; --leave (or :leave) starts its firmware "
    "with a USB bus reset, as dfu-util -R does",
    "will_reset": ":will-reset is a DfuSe modifier; whether a plain DFU device resets after "
    "the download is in its own descriptor (bitWillDetach), which pydfuse follows",
}


def _refuse_dfuse_only(session: Session, given: dict[str, bool]) -> None:
    for option, why in _NOT_PLAIN.items():
        if given.get(option):
            raise DfuseError(
                f"{session.found.describe()} is a plain DFU "
                f"{session.found.functional.version_text} device, not ST DfuSe: {why}",
                hint="flash it with the file alone (and --leave to start it)",
            )


def _compare(expected: bytes, actual: bytes) -> None:
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            raise VerifyError(index, want, got, hint="flash it again; the device did not keep it")
    if len(actual) < len(expected):
        raise ProtocolError(
            f"verify read only {len(actual)} of {len(expected)} bytes back",
            hint="the device may not support reading back; flash with verify off",
        )
