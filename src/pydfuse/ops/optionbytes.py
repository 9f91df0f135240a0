"""``option_bytes``, ``set_option_bytes`` and ``unprotect``: read, explain and change an ST ROM's
option bytes, safely (layer: ops; imports ``pydfuse.optionbytes``, ``pydfuse.errors`` and the
sibling ops modules).

Writing option bytes (and Read Unprotect) makes the ROM apply them and reset (AN3156 §5.1,
§5.4): the device disappearing is success, and both verbs wait for it to come back and read the
block again to confirm. RDP level 2 is never written by accident: it needs ``permanently_lock``
and a family recognised from the device itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydfuse.errors import (
    DeviceNotFoundError,
    DfuseError,
    DfuStatusError,
    OptionBytesError,
    ReadProtectedError,
    VerifyError,
)
from pydfuse.host.discovery import FoundDevice
from pydfuse.ops.env import Environment
from pydfuse.ops.protection import OptionBlock, load_block, option_alternate
from pydfuse.ops.records import UNPROTECT_HINT, DeviceSelector
from pydfuse.ops.reenumerate import devices, successor, wait_for
from pydfuse.ops.session import Session, open_session
from pydfuse.optionbytes import (
    FAMILIES,
    WRP_MODES,
    FieldChange,
    FieldValue,
    Protected,
    apply_assignments,
    decode,
    diff,
    held_after_write,
    parse_assignments,
    permanent_pcrop,
    protected,
)
from pydfuse.spec import Status

RESET_WAIT_S = 10.0  # an option-byte write resets within milliseconds (AN3156 §5.1)
UNPROTECT_WAIT_S = 60.0  # the mass erase behind Read Unprotect takes up to 32 s on an F4 (§2.8)

LEVEL2_REFUSAL = (
    "RDP level 2 can never be undone: the chip stops answering its debug port and its DFU "
    "bootloader for good, and no one (ST included) can change its option bytes again"
)


def _need_block(session: Session, family: str | None, wrp_mode: str | None = None) -> OptionBlock:
    try:
        block = load_block(session, family, wrp_mode)
    except ReadProtectedError as error:
        error.hint = "its option bytes cannot be read or written either; " + UNPROTECT_HINT
        raise
    if block is None:
        raise DfuseError(
            f"{session.found.describe()} has no option-byte alternate",
            hint="ST's system-memory (ROM) bootloaders expose one as '@Option Bytes'; "
            "`dfuse list` shows the alternates",
        )
    return block


@dataclass(frozen=True, slots=True)
class OptionBytesReport:
    """The option bytes of one device: raw, and named field by field when the family is known."""

    device: str
    block: OptionBlock

    @property
    def fields(self) -> tuple[FieldValue, ...]:
        return self.block.decoded.fields if self.block.decoded is not None else ()

    @property
    def rdp_level(self) -> int | None:
        return self.block.decoded.rdp_level if self.block.decoded is not None else None

    @property
    def write_protection(self) -> Protected | None:
        """The protected units (PCROP sectors in PCROP mode); None when the mode is unknown."""
        b = self.block
        if b.decoded is None or b.flash is None or b.wrp_mode is None:
            return None
        return protected(b.decoded, b.flash, b.wrp_mode)

    @property
    def wrp_readings(self) -> dict[str, Protected]:
        """Both readings of the write-protection bits when the block cannot say which applies
        (F2/F4 SPRMOD reading 1: an F405/407/415/417, or PCROP mode); empty otherwise."""
        b = self.block
        if b.decoded is None or b.flash is None or b.wrp_mode is not None:
            return {}
        return {mode: protected(b.decoded, b.flash, mode) for mode in WRP_MODES}

    def problems(self) -> list[str]:
        return self.block.decoded.problems() if self.block.decoded is not None else []

    def to_dict(self) -> dict[str, Any]:
        b, family = self.block, self.block.family
        wrp = self.write_protection
        return {
            "device": self.device,
            "alt": b.alt.alt,
            "address": b.address,
            "size": len(b.raw),
            "raw": b.raw.hex(),
            "family": None
            if family is None
            else {
                "name": family.name,
                "title": family.title,
                "source": family.source,
                "detected": b.detected,
                "notes": list(family.notes),
            },
            "candidates": list(b.candidates),
            "rdp_level": self.rdp_level,
            "fields": [_field_dict(fv) for fv in self.fields],
            "wrp_mode": b.wrp_mode if b.decoded is not None else None,
            "write_protection": None if wrp is None else _protected_dict(wrp),
            "wrp_readings": {mode: _protected_dict(p) for mode, p in self.wrp_readings.items()}
            or None,
            "problems": self.problems(),
        }


def _protected_dict(wrp: Protected) -> dict[str, Any]:
    return {
        "unit": wrp.unit,
        "units": list(wrp.units),
        "ranges": [{"start": lo, "end": hi} for lo, hi in wrp.ranges],
    }


def _field_dict(fv: FieldValue) -> dict[str, Any]:
    f = fv.field
    return {
        "name": f.name,
        "register": f.register,
        "value": fv.value,
        "text": fv.text,
        "default": f.default,
        "default_text": fv.default_text,
        "default_note": f.default_note,
        "is_default": fv.is_default,
        "meaning": f.meaning,
        "source": f.source,
    }


def _report(session: Session, block: OptionBlock) -> OptionBytesReport:
    return OptionBytesReport(session.found.describe(), block)


def option_bytes(
    env: Environment,
    selector: DeviceSelector,
    *,
    family: str | None = None,
    wrp_mode: str | None = None,
) -> OptionBytesReport:
    """Read the option bytes and decode them (raw only when the family is not known).
    ``wrp_mode``: what the write-protection bits mean where the block cannot tell (F2/F4
    SPRMOD reading 1): "write-protection" (an F405/407/415/417) or "pcrop"."""
    with open_session(env, selector) as session:
        return _report(session, _need_block(session, family, wrp_mode))


@dataclass(frozen=True, slots=True)
class OptionBytesChange:
    """What ``set_option_bytes`` did: the diff, and how the write was confirmed."""

    device: str
    family: str
    before: bytes
    after: bytes
    changes: tuple[FieldChange, ...]
    written: bool
    dry_run: bool
    verified: bool | None  # None: not written (or could not be confirmed, see ``notes``)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "family": self.family,
            "before": self.before.hex(),
            "after": self.after.hex(),
            "changes": [
                {"field": c.name, "before": c.before, "after": c.after, "meaning": c.meaning}
                for c in self.changes
            ],
            "written": self.written,
            "dry_run": self.dry_run,
            "verified": self.verified,
            "notes": list(self.notes),
        }


def _planned(
    block: OptionBlock,
    assignments: Sequence[tuple[str, str]],
    *,
    permanently_lock: bool,
    wrp_mode: str | None = None,
) -> bytes:
    """The new block for ``assignments``; refuses unknown families and what can never be
    undone (RDP level 2, a permanent PCROP area) without ``permanently_lock`` and a family
    recognised from the device."""
    if block.family is None or block.decoded is None:
        raise OptionBytesError(
            "the option-byte layout of this device is not known, so no field can be changed "
            "safely"
            + (f" (it could be {' or '.join(block.candidates)})" if block.candidates else ""),
            hint=f"name it with --family ({', '.join(FAMILIES)}) if you know the chip; "
            "`dfuse option-bytes` shows the raw bytes",
        )
    new = apply_assignments(block.decoded, assignments, block.flash, wrp_mode=wrp_mode)
    reasons = []
    if decode(block.family, new).rdp_level == 2 and block.decoded.rdp_level != 2:
        reasons.append(LEVEL2_REFUSAL)
    pcrop = permanent_pcrop(block.decoded, new)
    if pcrop is not None:
        reasons.append(pcrop)
    if reasons and not permanently_lock:
        raise OptionBytesError(
            f"refused: {'; and '.join(reasons)}",
            hint="if that is really what you want, add --permanently-lock-this-chip",
        )
    if reasons and not block.detected:
        raise OptionBytesError(
            f"refused: {'; and '.join(reasons)}, and this device's family was not recognised "
            "from the device itself (only named with --family)",
            hint="such a change is only made on a device whose option-byte layout pydfuse "
            "recognises",
        )
    return new


def set_option_bytes(
    env: Environment,
    selector: DeviceSelector,
    assignments: Sequence[str],
    *,
    family: str | None = None,
    permanently_lock: bool = False,
    dry_run: bool = False,
    wait_s: float = RESET_WAIT_S,
    before_write: Callable[[OptionBytesChange], None] | None = None,
    wrp_mode: str | None = None,
) -> OptionBytesChange:
    """Change the named fields, write the block, wait for the reset and read it back.

    ``before_write`` is called with the planned change (the before/after diff) just before the
    block is written, so a caller can show it first. ``wrp_mode``: what the write-protection
    bits mean where the block cannot tell (F2/F4 SPRMOD reading 1: "write-protection" on an
    F405/407/415/417, "pcrop"); without it their change is refused there, and SPRMOD itself
    is never changed.

    Raises OptionBytesError (refused, nothing written), ReadProtectedError, VerifyError (the
    read-back differs), DeviceNotFoundError (the device did not come back)."""
    requests = parse_assignments(assignments)
    with open_session(env, selector) as session:
        block = _need_block(session, family, wrp_mode)
        new = _planned(block, requests, permanently_lock=permanently_lock, wrp_mode=wrp_mode)
        assert block.decoded is not None and block.family is not None
        changes = tuple(diff(block.decoded, new, block.flash, block.wrp_mode))
        change = OptionBytesChange(
            session.found.describe(),
            block.family.name,
            block.raw,
            new,
            changes,
            False,
            dry_run,
            None,
        )
        if dry_run or new == block.raw or not changes:  # nothing the user asked changes
            return change
        if before_write is not None:
            before_write(change)
        before = devices(env)
        gone = session.found
        session.select(block.alt.alt)
        session.dfuse.write(block.address, new, will_reset=True)  # AN3156 §5.1: then a reset
    level = decode(block.family, new).rdp_level
    verified, notes = _confirm(env, before, gone, new, level, family, wait_s)
    unseen = [c.name for c in changes if c.name != "rdp"]
    if level == 1 and verified and unseen:  # the refusal proves RDP 1, nothing else
        verified = None
        notes += (
            f"the other changes ({', '.join(unseen)}) cannot be read back while read protection "
            "is on; Read Unprotect later puts every option byte back to its factory value",
        )
    return OptionBytesChange(
        change.device, change.family, block.raw, new, changes, True, False, verified, notes
    )


def confirm_written(
    env: Environment,
    before: list[FoundDevice],
    gone: FoundDevice,
    block: OptionBlock,
    written: bytes,
    wait_s: float = RESET_WAIT_S,
) -> tuple[bool | None, tuple[str, ...]]:
    """After ``written`` went to the option block ``block`` (read before the write) and the
    chip reset: wait for it (``before``: the devices then; ``gone``: it), read the block back
    and compare (VerifyError on a difference; at RDP level 1 the ROM's refusal is the proof).
    Returns (verified, notes); ``verified`` None where it cannot be read back (RDP 2)."""
    if block.family is None:
        return _confirm(env, before, gone, written, 0, None, wait_s)
    level = decode(block.family, written).rdp_level
    return _confirm(env, before, gone, held_after_write(block.family, written), level, None, wait_s)


def _reopen(
    env: Environment, before: list[FoundDevice], gone: FoundDevice, wait_s: float
) -> DeviceSelector | None:
    back = wait_for(env, wait_s, lambda: successor(before, devices(env), gone))
    if back is None:
        return None
    return DeviceSelector(vid=back.vid, pid=back.pid, serial=back.serial, path=back.path)


def _confirm(
    env: Environment,
    before: list[FoundDevice],
    gone: FoundDevice,
    expected: bytes,
    level: int,
    family: str | None,
    wait_s: float,
) -> tuple[bool | None, tuple[str, ...]]:
    """Wait for the device to come back after the reset and compare its option bytes."""
    if level == 2:
        return None, (
            "RDP level 2 is set: the DFU bootloader can no longer be entered, so the option "
            "bytes cannot be read back",
        )
    selector = _reopen(env, before, gone, wait_s)
    if selector is None:
        raise DeviceNotFoundError(
            f"the device did not come back within {wait_s:g} s after its option bytes were written",
            hint="reset or replug it with BOOT0 high and run `dfuse option-bytes` to check them",
        )
    with open_session(env, selector) as session:
        try:
            block = _need_block(session, family)
        except ReadProtectedError:
            if level == 1:
                return True, (
                    "read protection is active: the ROM now refuses every read, as RDP level 1 "
                    "requires (that refusal is the confirmation)",
                )
            raise
    if block.raw != expected:
        index = next(i for i, (a, b) in enumerate(zip(expected, block.raw, strict=True)) if a != b)
        raise VerifyError(
            block.address + index,
            expected[index],
            block.raw[index],
            hint="the chip did not take every bit; run `dfuse option-bytes` to see what it holds",
        )
    return True, ()


@dataclass(frozen=True, slots=True)
class UnprotectResult:
    """What ``unprotect`` did: whether the chip was protected, and its RDP level afterwards."""

    device: str
    was_protected: bool | None  # None: the device has no option bytes to tell
    sent: bool
    level_after: int | None
    confirmed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "was_protected": self.was_protected,
            "sent": self.sent,
            "mass_erased": bool(self.sent and self.was_protected),
            "rdp_level_after": self.level_after,
            "confirmed": self.confirmed,
        }


UNPROTECT_WARNING = (
    "Read Unprotect makes the chip MASS-ERASE its whole flash and reset: the firmware on it is "
    "lost (the option bytes go back to their factory values)"
)


def unprotect(
    env: Environment,
    selector: DeviceSelector,
    *,
    force: bool = False,
    wait_s: float = UNPROTECT_WAIT_S,
    always: bool = False,
    before_send: Callable[[], None] | None = None,
) -> UnprotectResult:
    """Read Unprotect (0x92): the ROM mass-erases the flash, restores the factory option bytes
    and resets (AN3156 §5.4). The option bytes are read first: a chip that is not
    read-protected is left alone (nothing to do, no ``force`` needed) unless ``always``
    (dfu-util's ``:unprotect:force`` sends it anyway; the ROM then clears its RAM only, Table
    4). Otherwise refused (DfuseError, nothing sent) unless ``force``, as ``dfuse unprotect``
    needs ``--force``. Afterwards the device is found again and its option bytes read to
    confirm RDP level 0. ``before_send`` is called just before the command is sent (to warn
    of the mass erase only when it will really happen)."""
    refusal = DfuseError(
        f"{UNPROTECT_WARNING}; nothing was sent",
        hint="add --force to confirm: dfuse unprotect --force (Python: unprotect(..., force=True))",
    )
    if always and not force:
        raise refusal
    with open_session(env, selector) as session:
        described = session.found.describe()
        has_options = option_alternate(session) is not None
        was_protected: bool | None = None
        if has_options:
            try:
                block = _need_block(session, None)
            except ReadProtectedError:
                was_protected = True
            else:  # readable: not read-protected (AN3156 §4.1 refuses every read at level 1)
                was_protected = False
                level = block.decoded.rdp_level if block.decoded is not None else 0
                if not always:
                    return UnprotectResult(described, False, False, level, True)
        if not force:
            raise refusal
        before = devices(env)
        gone = session.found
        if before_send is not None:
            before_send()
        try:
            session.dfuse.read_unprotect()
        except DfuStatusError as error:
            # A bootloader without the command stalls it (dfuse-spec §2.6, errSTALLEDPKT):
            # ST's USB-FS demo has no Read Unprotect. Say so rather than leave a bare status.
            if error.status == Status.ERR_STALLEDPKT and error.hint is None:
                error.hint = (
                    "this bootloader does not implement Read Unprotect (DfuSe 0x92); nothing "
                    "was erased — ST's system-memory (ROM) bootloaders have it"
                )
            raise
    if not has_options:
        return UnprotectResult(described, None, True, None, False)
    again = _reopen(env, before, gone, wait_s)
    if again is None:
        raise DeviceNotFoundError(
            f"the device did not come back within {wait_s:g} s after Read Unprotect",
            hint="the mass erase can take half a minute; replug it with BOOT0 high and run "
            "`dfuse option-bytes` to check",
        )
    with open_session(env, again) as session:
        try:
            block = _need_block(session, None)
        except ReadProtectedError:
            raise DfuseError(
                "Read Unprotect was sent, but the chip still refuses reads (read-protected)",
                hint="a write-protected sector can make it fail (ST community); power-cycle the "
                "board and try again",
            ) from None
    level = block.decoded.rdp_level if block.decoded is not None else 0
    return UnprotectResult(described, was_protected, True, level, level == 0)
