"""Read and write protection as the host sees it: reading the option-byte block, recognising a
read-protected ROM, and refusing a flash into write-protected sectors before anything is
written (layer: ops; imports ``pydfuse.optionbytes``, ``pydfuse.layout``, ``pydfuse.errors``,
``pydfuse.spec`` and the sibling ``session`` and ``records``).

ST ROMs refuse every read, write and erase with dfuERROR/errVENDOR while RDP level 1 is active,
the option bytes included (AN3156 §4.1, §5.1, §5.3), and ignore writes into write-protected
sectors without an error (§5.1 note 2, §5.3 note): the host has to know both beforehand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
    Protected,
    WrpMode,
    candidates,
    choose_family,
    decode,
    diff,
    held_after_write,
    mode_bit_problems,
    permanent_pcrop,
    protected,
    rdp_candidates,
    unit_span,
    units_text,
    wrp_mode,
)
from pydfuse.spec import Status

READ_CODE = "protection.read"  # the codes of flash's refusals and of check's findings
WRITE_CODE = "protection.write"
OPTION_CODE = "protection.option-bytes"


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


def alternate_named(alternates: Sequence[AltInfo], prefix: str) -> AltInfo | None:
    """The first alternate with a memory map whose name starts with ``prefix`` (lower case)."""
    for info in alternates:
        if info.memory_map is not None and info.name.strip().lower().startswith(prefix):
            return info
    return None


def is_option_alternate(info: AltInfo) -> bool:
    """Whether ``info`` is an ST ROM's option-byte alternate (``@Option Bytes ...``)."""
    return alternate_named([info], "option bytes") is not None


def option_alternate(session: Session) -> AltInfo | None:
    """The device's option-byte alternate (``@Option Bytes ...``), if it has one."""
    return alternate_named(session.all_alternates(), "option bytes")


def read_memory(
    session: Session,
    info: AltInfo,
    start: int,
    end: int,
    step: Callable[[int, int], None] | None = None,
    *,
    phase: str = "upload",
) -> bytes:
    """[start, end) of ``info``'s memory (selected). Option bytes are read one whole block
    (sector) per read and the part asked for cut out: the ROM reads them only as a whole block
    (AN3156 §4.1), and a memory may hold two (dual-bank G4/F42x); anything else in one stream."""
    if not is_option_alternate(info):
        return session.dfuse.read(start, end - start, step, phase=phase)
    out = bytearray()
    for sector in session.memory_map(info).sectors_between(start, end):
        block = session.dfuse.read(sector.address, sector.size, phase=phase)
        lo, hi = max(start, sector.address), min(end, sector.end)
        out += block[lo - sector.address : hi - sector.address]
        if step is not None:
            step(lo, hi - lo)
    return bytes(out)


def flash_alternate(session: Session) -> AltInfo | None:
    """The internal flash (alternate 0 of an ST ROM), if it has a usable layout."""
    return alternate_named(session.all_alternates(), "internal flash")


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
    # what the write-protection bits mean; None when the block cannot tell (F2/F4 SPRMOD
    # reading 1 and no --wrp-mode: an F405/407/415/417, or PCROP mode, optionbytes.wrp_mode)
    wrp_mode: WrpMode | None = "write-protection"

    def write_protection(self) -> tuple[Family, MemoryMap, Protected] | None:
        """The write-protected units as flash and erase must respect them: read as the mode
        says, and as write protection when the mode is not known (the F405/407 reading; in
        PCROP mode the ROM would also ignore writes there, and flash's verify would fail)."""
        if self.decoded is None or self.flash is None or self.family is None:
            return None
        mode = self.wrp_mode or "write-protection"
        return self.family, self.flash, protected(self.decoded, self.flash, mode)


def read_block(session: Session, info: AltInfo) -> bytes:
    """The whole option-byte memory, block by block (AN3156 §4.1: reads must be the block
    size); several blocks (dual bank) are given one after the other, in address order."""
    memory = session.memory_map(info)
    session.select(info.alt)
    with read_protection_explained(session):
        return read_memory(session, info, memory.start, memory.end, phase="option-byte read")


def load_block(
    session: Session, family_name: str | None = None, declared_mode: str | None = None
) -> OptionBlock | None:
    """Read and decode the device's option bytes; None when it has no option alternate.
    ``declared_mode``: what the user says the write-protection bits mean (``--wrp-mode``).

    Raises ReadProtectedError when the ROM refuses the read (RDP level 1)."""
    info = option_alternate(session)
    if info is None:
        return None
    raw = read_block(session, info)
    return block_from(
        session.all_alternates(), session.found.product, raw, family_name, declared_mode
    )


def block_from(
    alternates: Sequence[AltInfo],
    product: str | None,
    raw: bytes,
    family_name: str | None = None,
    declared_mode: str | None = None,
) -> OptionBlock | None:
    """The option block ``raw`` of a device with these alternates and product string, decoded
    as :func:`load_block` decodes a read one (a board profile's factory bytes: ``dfuse check
    --profile``); None without an option alternate."""
    info = alternate_named(alternates, "option bytes")
    if info is None or info.memory_map is None:
        return None
    option_map = info.memory_map
    flash_info = alternate_named(alternates, "internal flash")
    flash = flash_info.memory_map if flash_info is not None else None
    found = candidates(option_map, flash, product)
    family = choose_family(option_map, flash, product, family_name)
    detected = family is not None and any(f.name == family.name for f in found) and len(found) == 1
    decoded = decode(family, raw) if family is not None else None
    names = tuple(f.name for f in found)
    mode = wrp_mode(decoded, declared_mode) if decoded is not None else "write-protection"
    return OptionBlock(info, option_map.start, raw, family, detected, decoded, flash, names, mode)


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
    *,
    erase_only: bool = False,
) -> None:
    """Refuse (PlanError, nothing written) when any (start, end) span a flash would erase or
    program (``erase_only``: an erase would erase) lies in a write-protected unit of
    ``block``: the ROM would ignore it without a word (AN3156 §5.1 note 2, §5.3 note)."""
    flash_info = flash_alternate(session)
    flash_alt = flash_info.alt if flash_info is not None else None
    refuse_write_protected(block, flash_alt, targets, erase_only=erase_only)


def refuse_write_protected(
    block: OptionBlock | None,
    flash_alt: int | None,
    targets: Sequence[tuple[AltInfo, Sequence[tuple[int, int]]]],
    *,
    erase_only: bool = False,
) -> None:
    """:func:`check_write_protection` for the flash on alternate ``flash_alt`` (PlanError with
    code ``protection.write``)."""
    reading = block.write_protection() if block is not None else None
    if block is None or reading is None:
        return
    family, flash, prot = reading
    if not prot.units or flash_alt is None:
        return
    touched: set[int] = set()
    for info, spans in targets:
        if info.alt != flash_alt:
            continue
        for start, end in spans:
            touched.update(prot.units_touching(family, flash, start, end))
    if not touched:
        return
    keep = [u for u in prot.units if u not in touched]
    where = ", ".join(_unit_text(block, u) for u in sorted(touched))
    done, acts = ("erased", "erases") if erase_only else ("written", "writes")
    hint = "lift the protection first: dfuse option-bytes set wrp=" + units_text(keep)
    if block.wrp_mode is None:  # the F405/407 reading of SPRMOD = 1 (OptionBlock docstring)
        hint += " --wrp-mode write-protection (SPRMOD reads 1: an F405/407/415/417, see `dfuse ob`)"
    raise PlanError(
        f"write-protected {prot.unit}s would be {done}: {where}; the ROM would ignore those "
        f"{acts} without an error, so nothing was {done}",
        hint=hint,
        code=WRITE_CODE,
    )


def check_option_targets(
    block: OptionBlock | None, images: list[tuple[AltInfo, Image]], *, force: bool
) -> list[str]:
    """The rules of ``option-bytes set`` for a ``flash`` whose file holds option bytes, judged
    by what the chip will hold and wherever the file puts them (any alternate: a ROM may route
    writes by address). Never RDP level 2 from any copy of the RDP byte (only ``option-bytes
    set`` with its long flag); never bytes of a layout we do not know that could be level 2;
    refused unless ``force``: copies or complements that disagree, an unknown layout, read
    protection turned on. A partial block is judged (and written, :func:`whole_block`) with
    the chip's own bytes where the file has none. Option bytes in another alternate than their
    own are refused. Returns warnings."""
    if block is None:
        return []
    start, size = block.address, len(block.raw)
    warnings: list[str] = []
    for info, image in images:
        new, covered = whole_block(block, image)
        if covered == 0:
            continue
        problems = _option_block_problems(block, new)
        if info.alt != block.alt.alt:
            raise PlanError(
                f"this file puts option bytes (0x{start:08x}..0x{start + size - 1:08x}) in alt "
                f"{info.alt} '{info.name}': they are only written through their own alternate, "
                f"alt {block.alt.alt} '{block.alt.name}', where they are checked",
                hint=f"put them in a target for alt {block.alt.alt}, or change fields with "
                "`dfuse option-bytes set`",
                code=OPTION_CODE,
            )
        if problems and not force:
            raise PlanError(
                "refusing to write these option bytes: " + "; ".join(problems),
                hint="change fields with `dfuse option-bytes set` (e.g. dfuse ob set rdp=1), or "
                "add --force if you are sure",
                code=OPTION_CODE,
            )
        warnings += [f"option bytes: {p} (written anyway, --force)" for p in problems]
        if covered < size:
            warnings.append(
                f"option bytes: the file holds {covered} of the {size} option bytes; the other "
                f"{size - covered} are written as the chip holds them now (the block is read, "
                "completed and written whole: the ROM erases all of it before writing, AN3156 "
                "§5.1)"
            )
        warnings += _option_changes(block, new)
    return warnings


def whole_block(block: OptionBlock, image: Image) -> tuple[bytes, int]:
    """(the option block a write of ``image`` sends, how many of its bytes the file holds):
    the file's bytes over what the chip holds now, so that a partial file never leaves the
    rest erased (an erased RDP byte is read protection)."""
    start, size = block.address, len(block.raw)
    new, gaps = image.read(start, size), image.read(start, size, fill=0x00)
    given = [n == g for n, g in zip(new, gaps, strict=True)]
    whole = bytes(n if g else old for n, g, old in zip(new, given, block.raw, strict=True))
    return whole, sum(given)


def _option_changes(block: OptionBlock, new: bytes) -> list[str]:
    """The fields a file's option bytes change, as the chip will hold them (F0/F1: the chip
    writes each complement itself from the value byte, RM0091 §3.2.2)."""
    if block.family is None or block.decoded is None:
        return []
    family = block.family
    changes = diff(block.decoded, held_after_write(family, new), block.flash, block.wrp_mode)
    if any(c.name == "wrp" for c in changes):  # said in units: leave out the raw bit fields
        changes = [c for c in changes if c.name not in family.wrp.fields]
    if not changes:
        return []
    said = ", ".join(f"{c.name} {c.before} -> {c.after}" for c in changes)
    return [f"the file changes the option bytes: {said}"]


_LEVEL2_IN_FILE = (
    "read protection level 2, which can never be undone; flash never writes that "
    "(the chip would answer neither DFU nor its debug port again)"
)


def _option_block_problems(block: OptionBlock, new: bytes) -> list[str]:
    """What is wrong with writing ``new`` over ``block`` (PlanError for level 2: never)."""
    problems: list[str] = []
    family = block.family
    if family is None:
        if 0xCC in new:
            raise PlanError(
                "the file's option bytes hold 0xCC and this chip's option-byte layout is not "
                f"known: that byte could set {_LEVEL2_IN_FILE}",
                hint="if you mean level 2: dfuse ob set rdp=2 --permanently-lock-this-chip on a "
                "chip pydfuse recognises",
                code=OPTION_CODE,
            )
        maybe = f" (it could be {' or '.join(block.candidates)})" if block.candidates else ""
        return [
            *problems,
            f"this chip's option-byte layout is not known{maybe}: pydfuse cannot tell what "
            "these bytes set, read protection included",
        ]
    levels = {family.rdp_level(v) for v in rdp_candidates(family, new)}
    if 2 in levels:
        raise PlanError(
            f"the file's option bytes set {_LEVEL2_IN_FILE}",
            hint="if you mean it: dfuse ob set rdp=2 --permanently-lock-this-chip",
            code=OPTION_CODE,
        )
    pcrop = permanent_pcrop(block.decoded, new) if block.decoded is not None else None
    if pcrop is not None:
        raise PlanError(
            f"the file's option bytes set {pcrop}; flash never writes that",
            hint="if you mean it: dfuse ob set with --permanently-lock-this-chip",
            code=OPTION_CODE,
        )
    if block.decoded is not None:
        problems += mode_bit_problems(block.decoded, new)
    mixed = [r.register.name for r in decode(family, new).registers if not r.consistent]
    if mixed:
        what = "disagree with their" if len(mixed) > 1 else "disagrees with its"
        problems.append(
            f"the file's {', '.join(mixed)} {what} complement or copies (no chip holds that; "
            "which value the chip takes is not known)"
        )
    was = block.decoded.rdp_level if block.decoded is not None else 0
    if 1 in levels and was == 0:
        may = "" if levels == {1} else "may "
        problems.append(
            f"the file's option bytes {may}turn read protection ON (RDP level 1): afterwards "
            "the ROM refuses every read; " + UNPROTECT_HINT
        )
    return problems


def _unit_text(block: OptionBlock, unit: int) -> str:
    assert block.family is not None and block.flash is not None
    span = unit_span(block.family, block.flash, unit)
    where = f" (0x{span[0]:08x}-0x{span[1] - 1:08x})" if span is not None else ""
    return f"{block.family.wrp.unit} {unit}{where}"
