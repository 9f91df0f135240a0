"""Read and write protection as the host sees it: reading the option-byte block, recognising a
read-protected ROM, and refusing a flash into write-protected sectors before anything is
written (layer: ops; imports ``pydfuse.optionbytes``, ``pydfuse.layout``, ``pydfuse.errors``,
``pydfuse.spec`` and the sibling ``session`` and ``records``).

ST ROMs refuse every read, write and erase with dfuERROR/errVENDOR while RDP level 1 is active,
the option bytes included (AN3156 §4.1, §5.1, §5.3), and ignore writes into write-protected
sectors without an error (§5.1 note 2, §5.3 note): the host has to know both beforehand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pydfuse.errors import DfuseError, DfuStatusError, PlanError, ReadProtectedError
from pydfuse.formats import Image
from pydfuse.layout import MemoryMap
from pydfuse.ops.env import Environment
from pydfuse.ops.records import (
    UNPROTECT_HINT,
    AltInfo,
    DeviceInfo,
    DeviceSelector,
    ProtectionState,
)
from pydfuse.ops.session import Session, open_session
from pydfuse.optionbytes import (
    Decoded,
    Family,
    candidates,
    choose_family,
    decode,
    protected,
    unit_span,
    units_text,
)
from pydfuse.spec import Status


@contextmanager
def read_protection_explained(session: Session) -> Iterator[None]:
    """Turn an ST ROM's errVENDOR into :class:`ReadProtectedError` with the way out. Only on a
    device with option bytes (a ROM): other DfuSe firmware (ST's Cube class) reports erase and
    write failures as errVENDOR too (dfuse-spec §2.10)."""
    try:
        yield
    except DfuStatusError as error:
        if error.status != Status.ERR_VENDOR or isinstance(error, ReadProtectedError):
            raise
        if option_alternate(session) is None:
            raise
        cause = error.__cause__ if error.__cause__ is not None else error  # keep the stall
        raise ReadProtectedError(
            error.status,
            error.state,
            phase=error.phase,
            address=error.address,
            hint=UNPROTECT_HINT,
        ) from cause


def _alternate_named(session: Session, prefix: str) -> AltInfo | None:
    for info in session.all_alternates():
        if info.memory_map is not None and info.name.strip().lower().startswith(prefix):
            return info
    return None


def option_alternate(session: Session) -> AltInfo | None:
    """The device's option-byte alternate (``@Option Bytes ...``), if it has one."""
    return _alternate_named(session, "option bytes")


def flash_alternate(session: Session) -> AltInfo | None:
    """The internal flash (alternate 0 of an ST ROM), if it has a usable layout."""
    return _alternate_named(session, "internal flash")


@dataclass(frozen=True, slots=True)
class OptionBlock:
    """The option bytes read from a device, decoded when its family is known."""

    alt: AltInfo
    address: int
    raw: bytes
    family: Family | None
    detected: bool  # the family was recognised from the device (not only named by --family)
    decoded: Decoded | None
    flash: MemoryMap | None
    candidates: tuple[str, ...]


def read_block(session: Session, info: AltInfo) -> bytes:
    """The whole option-byte block (AN3156 §4.1: reads must be the block size)."""
    memory = session.memory_map(info)
    session.select(info.alt)
    with read_protection_explained(session):
        return session.dfuse.read(memory.start, memory.size, phase="option-byte read")


def load_block(session: Session, family_name: str | None = None) -> OptionBlock | None:
    """Read and decode the device's option bytes; None when it has no option alternate.

    Raises ReadProtectedError when the ROM refuses the read (RDP level 1)."""
    info = option_alternate(session)
    if info is None:
        return None
    option_map = session.memory_map(info)
    raw = read_block(session, info)
    flash_info = flash_alternate(session)
    flash = flash_info.memory_map if flash_info is not None else None
    product = session.found.product
    found = candidates(option_map, flash, product)
    family = choose_family(option_map, flash, product, family_name)
    detected = family is not None and any(f.name == family.name for f in found) and len(found) == 1
    decoded = decode(family, raw) if family is not None else None
    names = tuple(f.name for f in found)
    return OptionBlock(info, option_map.start, raw, family, detected, decoded, flash, names)


def probe(session: Session) -> ProtectionState | None:
    """The read-protection state of the session's device; None without option bytes."""
    try:
        block = load_block(session)
    except ReadProtectedError:
        return ProtectionState(level=1, readable=False)
    except DfuseError as error:
        return ProtectionState(level=None, readable=None, detail=str(error))
    if block is None:
        return None
    if block.decoded is None:
        return ProtectionState(level=None, readable=True)
    return ProtectionState(
        block.decoded.rdp_level, True, block.family.name if block.family else None
    )


def probe_devices(env: Environment, infos: list[DeviceInfo]) -> list[DeviceInfo]:
    """``infos`` with the read protection of every DFU-mode DfuSe device that has option bytes
    (one option-byte read each; the device is only brought to dfuIDLE, nothing is changed)."""
    out = []
    for info in infos:
        has_options = any(
            a.name.strip().lower().startswith("option bytes") for a in info.alternates
        )
        if info.mode != "dfu" or not info.dfuse or not has_options:
            out.append(info)
            continue
        selector = DeviceSelector(vid=info.vid, pid=info.pid, serial=info.serial, path=info.path)
        try:
            with open_session(env, selector, auto_detach=False) as session:
                state = probe(session)
        except DfuseError as error:
            state = ProtectionState(level=None, readable=None, detail=str(error))
        out.append(replace(info, protection=state))
    return out


def check_write_protection(
    session: Session,
    block: OptionBlock | None,
    targets: list[tuple[AltInfo, list[tuple[int, int]]]],
) -> None:
    """Refuse (PlanError, nothing written) when any (start, end) span a flash would erase or
    program lies in a write-protected unit of ``block``: the ROM would ignore it without a word
    (AN3156 §5.1 note 2, §5.3 note)."""
    if block is None or block.decoded is None or block.flash is None or block.family is None:
        return
    flash_info = flash_alternate(session)
    prot = protected(block.decoded, block.flash)
    if not prot.units or flash_info is None:
        return
    touched: set[int] = set()
    for info, spans in targets:
        if info.alt != flash_info.alt:
            continue
        for start, end in spans:
            touched.update(prot.units_touching(block.family, block.flash, start, end))
    if not touched:
        return
    keep = [u for u in prot.units if u not in touched]
    where = ", ".join(_unit_text(block, u) for u in sorted(touched))
    raise PlanError(
        f"write-protected {prot.unit}s would be written: {where}; the ROM would ignore those "
        "writes without an error, so nothing was written",
        hint="lift the protection first: dfuse option-bytes set wrp=" + units_text(keep),
    )


def check_option_targets(
    block: OptionBlock | None, images: list[tuple[AltInfo, Image]], *, force: bool
) -> list[str]:
    """The rules of ``option-bytes set`` for a ``flash`` whose file holds option bytes:
    never RDP level 2 (only ``option-bytes set`` with its long flag), never a partial block
    (the ROM erases the rest, AN3156 §5.1) or mismatching complements (loaded as 0xFF: read
    protection) unless ``force``; turning read protection on is said loudly. Returns warnings."""
    if block is None:
        return []
    warnings: list[str] = []
    for info, image in images:
        if info.alt != block.alt.alt:
            continue
        start, size = block.address, len(block.raw)
        covered = sum(
            min(seg.end, start + size) - max(seg.address, start)
            for seg in image
            if seg.address < start + size and start < seg.end
        )
        new = image.read(start, size)
        problems: list[str] = []
        if covered != size:
            problems.append(
                f"the file holds {covered} of the {size} option bytes; the ROM erases the whole "
                "block first, so the rest would become 0xFF (read protection on most chips)"
            )
        if block.family is None:
            warnings.append("option bytes written as they are: this chip's layout is not known")
        else:
            decoded = decode(block.family, new)
            if decoded.rdp_level == 2:
                raise PlanError(
                    "the file's option bytes set read protection level 2, which can never be "
                    "undone; flash never writes that",
                    hint="if you mean it: dfuse ob set rdp=2 --permanently-lock-this-chip",
                )
            problems += decoded.problems()
            was = block.decoded.rdp_level if block.decoded is not None else 0
            if decoded.rdp_level == 1 and was == 0:
                warnings.append(
                    "the file's option bytes turn read protection ON (RDP level 1): afterwards "
                    "the ROM refuses every read; " + UNPROTECT_HINT
                )
        if problems and not force:
            raise PlanError(
                "refusing to write these option bytes: " + "; ".join(problems),
                hint="write fields with `dfuse option-bytes set`, or add --force if you are sure",
            )
        warnings += [f"option bytes: {p} (written anyway, --force)" for p in problems]
    return warnings


def _unit_text(block: OptionBlock, unit: int) -> str:
    assert block.family is not None and block.flash is not None
    span = unit_span(block.family, block.flash, unit)
    where = f" (0x{span[0]:08x}-0x{span[1] - 1:08x})" if span is not None else ""
    return f"{block.family.wrp.unit} {unit}{where}"
