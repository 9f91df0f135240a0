"""``upload``, ``upload_all``, ``erase``, ``leave`` (layer: ops; ``unprotect`` lives in
:mod:`pydfuse.ops.optionbytes`).

Imports ``pydfuse.host``, ``pydfuse.layout``, ``pydfuse.formats``, ``pydfuse.errors`` and the
sibling ops modules. Section numbers refer to dfuse-spec.md.
"""

from __future__ import annotations

from dataclasses import replace

from pydfuse.errors import DfuseError, PlanError
from pydfuse.formats import Image, Segment
from pydfuse.host import plain as plain_dfu
from pydfuse.layout import MemoryMap, Sector
from pydfuse.ops.detach import reset_to_leave
from pydfuse.ops.env import Environment
from pydfuse.ops.progress import Progress, Tracker, disconnect_context
from pydfuse.ops.protection import (
    check_write_protection,
    load_block,
    option_alternate,
    read_memory,
    read_protection_explained,
)
from pydfuse.ops.records import AltInfo, DeviceSelector, EraseResult, LeaveResult, UploadResult
from pydfuse.ops.session import Session, alternate_holding, open_session, peek
from pydfuse.plan import check_mass_erase


def _with_alt(selector: DeviceSelector, alt: int | str | None) -> DeviceSelector:
    if alt is None:
        return selector
    return replace(selector, alt=alt)


def _alternate_for(session: Session, explicit: bool, address: int | None) -> AltInfo:
    """The alternate to work on: the one named (``-a``); else the one whose memory holds
    ``address``, as ``flash`` places an image; else the session's (the first)."""
    info = session.alternate(session.current_alt)
    if explicit or address is None or not session.found.dfuse:
        return info
    holding = alternate_holding(session.all_alternates(), address)
    if holding is None or holding.alt == info.alt:
        return info
    session.select(holding.alt)
    return holding


def _not_in(memory: MemoryMap, address: int, alternates: tuple[AltInfo, ...]) -> PlanError:
    """``address`` is outside ``memory``; the hint names the alternate that holds it."""
    holding = alternate_holding(alternates, address)
    hint = (
        f"0x{address:08x} is in {holding.name}: use -a {holding.alt}"
        if holding is not None
        else f"{memory.label} is {memory.describe_spans()}"
    )
    return PlanError(
        f"0x{address:08x} is not in {memory.label} ({memory.describe_spans()})",
        address=address,
        hint=hint,
    )


def _readable_spans(
    memory: MemoryMap,
    address: int | None,
    length: int | None,
    alternates: tuple[AltInfo, ...] = (),
) -> list[tuple[int, int]]:
    """Readable (start, end) ranges to read: the whole readable memory, or the given range
    (``length`` without an address starts at the first readable byte)."""
    if address is None and length is not None:
        address = next((s.address for s in memory.sectors if s.readable), memory.start)
    if address is None:
        spans: list[tuple[int, int]] = []
        for sector in memory.sectors:
            if not sector.readable:
                continue
            if spans and spans[-1][1] == sector.address:
                spans[-1] = (spans[-1][0], sector.end)
            else:
                spans.append((sector.address, sector.end))
        if not spans:
            raise PlanError(f"{memory.label} has no readable sectors")
        return spans
    first = memory.sector_at(address)
    if first is None:
        raise _not_in(memory, address, alternates)
    if length is None:
        end = first.end
        while (nxt := memory.sector_at(end)) is not None and nxt.readable:
            end = nxt.end  # up to the end of the readable run, as dfu-util does (§2.4)
        length = end - address
    bad = [s for s in memory.sectors_between(address, address + length) if not s.readable]
    covered = sum(
        min(s.end, address + length) - max(s.address, address)
        for s in memory.sectors_between(address, address + length)
    )
    if bad or covered != length:
        where = bad[0].address if bad else address
        raise PlanError(
            f"0x{address:08x}+{length} is not all readable memory of {memory.label}",
            address=where,
            hint=f"readable memory: {memory.describe_spans()}",
        )
    return [(address, address + length)]


def _upload_session(
    session: Session,
    info: AltInfo,
    address: int | None,
    length: int | None,
    tracker: Tracker,
    *,
    own_phase: bool = True,
) -> Image:
    """Read ``info``'s memory (or ``address`` [+ ``length``]); ``own_phase``: the read is a
    progress phase of its own (``upload_all`` runs one phase over every alternate instead)."""
    if not session.found.dfuse:
        if own_phase:
            tracker.start("upload", length or 0, open_ended=length is None)
        data = plain_dfu.upload(session.dfu, limit=length, progress=tracker.step)
        if own_phase:
            tracker.finish()
        return Image.from_segments([(address or 0, data)])
    spans = _readable_spans(session.memory_map(info), address, length, session.all_alternates())
    if own_phase:
        tracker.start("upload", sum(end - start for start, end in spans))
    with read_protection_explained(session):  # RDP level 1: the ROM refuses with errVENDOR
        segments = [Segment(s, read_memory(session, info, s, e, tracker.step)) for s, e in spans]
    return Image.from_segments(segments)


def upload(
    env: Environment,
    selector: DeviceSelector,
    *,
    alt: int | str | None = None,
    address: int | None = None,
    length: int | None = None,
    progress: Progress | None = None,
) -> UploadResult:
    """Read memory: the whole readable memory of the alternate, or ``address`` [+ ``length``].
    Without an alternate (``alt``, ``selector.alt``) the one whose memory holds ``address`` is
    read, as ``flash`` places an image."""
    explicit = alt is not None or selector.alt is not None
    with open_session(env, _with_alt(selector, alt)) as session:
        info = _alternate_for(session, explicit, address)
        tracker = Tracker(progress)
        tracker.start("upload", length or 0)
        started = env.clock.monotonic()
        with disconnect_context(tracker):
            image = _upload_session(session, info, address, length, tracker)
        return UploadResult(info.alt, info.name, image, env.clock.monotonic() - started)


def upload_all(
    env: Environment, selector: DeviceSelector, progress: Progress | None = None
) -> list[tuple[int, str, Image]]:
    """Every alternate's readable memory, for a multi-target .dfu: [(alt, name, image)].
    Progress is one phase over all of them, its total the sum of their readable memory (on a
    plain DFU device, where only the device knows, the total comes with the last event)."""
    out: list[tuple[int, str, Image]] = []
    with open_session(env, selector) as session:
        infos = [session.alternate(a.alt) for a in session.found.alternates]
        tracker = Tracker(progress)
        total = _readable_total(session, infos)
        tracker.start("upload", total or 0, open_ended=total is None)
        with disconnect_context(tracker):
            for info in infos:
                session.select(info.alt)
                image = _upload_session(session, info, None, None, tracker, own_phase=False)
                out.append((info.alt, info.name, image))
        tracker.finish()
    return out


def _readable_total(session: Session, infos: list[AltInfo]) -> int | None:
    """Bytes a full read of ``infos`` takes (None on a plain DFU device: the device decides).
    A memory that cannot be read is refused here, before anything is read."""
    if not session.found.dfuse:
        return None
    alternates = session.all_alternates()
    return sum(
        end - start
        for info in infos
        for start, end in _readable_spans(session.memory_map(info), None, None, alternates)
    )


def _erase_sectors(
    memory: MemoryMap,
    address: int | None,
    length: int | None,
    alternates: tuple[AltInfo, ...] = (),
) -> list[Sector]:
    """The sectors to erase: every erasable one, or those holding ``address`` [+ ``length``],
    which must lie wholly in the memory (a range past its end is refused, not shortened)."""
    if address is None:
        sectors = [s for s in memory.sectors if s.erasable]
        if not sectors:
            raise PlanError(f"{memory.label} has no erasable sectors")
        return sectors
    end = address + (length if length is not None else 1)
    sectors = list(memory.sectors_between(address, end))
    if memory.sector_at(address) is None:
        raise _not_in(memory, address, alternates)
    reach = address
    for sector in sectors:  # how far the memory goes on from address without a hole
        if sector.address > reach:
            break
        reach = sector.end
    if reach < end:
        raise PlanError(
            f"0x{address:08x}..0x{end - 1:08x} runs past {memory.label} "
            f"({memory.describe_spans()}): nothing was erased",
            address=reach,
            hint=f"at most {reach - address} bytes from 0x{address:08x} (--length "
            f"0x{reach - address:x}), or --all for the whole memory",
        )
    stuck = [s for s in sectors if not s.erasable]
    if stuck:
        raise PlanError(
            f"sector 0x{stuck[0].address:08x} of {memory.label} is not erasable",
            address=stuck[0].address,
            hint="the device marks it read-only (e.g. the bootloader); leave it alone",
        )
    return sectors


def erase(
    env: Environment,
    selector: DeviceSelector,
    *,
    alt: int | str | None = None,
    address: int | None = None,
    length: int | None = None,
    mass: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> EraseResult:
    """Erase the sectors overlapping ``address`` [+ ``length``] (all erasable sectors of the
    alternate when no address), each once; or a DfuSe mass erase (§2.2), which is refused like
    ``flash --mass-erase`` when it would wipe sectors the device marks as not erasable (the
    bootloader), unless ``force``. Without an alternate (``alt``, ``selector.alt``) the one
    whose memory holds ``address`` is erased, as ``flash`` places an image."""
    explicit = alt is not None or selector.alt is not None
    with open_session(env, _with_alt(selector, alt)) as session:
        info = _alternate_for(session, explicit, address)
        dfuse = session.dfuse
        memory = session.memory_map(info)
        _refuse_option_bytes(session, info)
        tracker = Tracker(progress)
        started = env.clock.monotonic()
        with disconnect_context(tracker), read_protection_explained(session):
            spans = [(memory.start, memory.end)] if mass else None
            sectors = (
                [] if mass else _erase_sectors(memory, address, length, session.all_alternates())
            )
            _refuse_write_protected(session, info, spans or [(s.address, s.end) for s in sectors])
            if mass:
                warnings = tuple(check_mass_erase(memory, force=force))
                tracker.start("erase", memory.size)
                dfuse.mass_erase()
                tracker.step(memory.start, memory.size)
                elapsed = env.clock.monotonic() - started
                return EraseResult(info.alt, info.name, True, (), memory.size, elapsed, warnings)
            tracker.start("erase", sum(s.size for s in sectors))
            for sector in sectors:
                tracker.address = sector.address
                dfuse.erase_page(sector.address)
                tracker.step(sector.address, sector.size)
        return EraseResult(
            info.alt,
            info.name,
            False,
            tuple(s.address for s in sectors),
            sum(s.size for s in sectors),
            env.clock.monotonic() - started,
        )


def _refuse_option_bytes(session: Session, info: AltInfo) -> None:
    """Option bytes are never erased on their own (#12): an erased RDP byte is read protection
    (RM0091 §3.3.1: level 1 "is the default protection level when RDP option byte is erased";
    F1: anything but 0xA5), and the ROM erases the block itself before writing it (AN3156
    §5.1). The STM32F105/107 ROM marks its option alternate erasable (dfuse-spec §3.3)."""
    options = option_alternate(session) if session.found.dfuse else None
    if options is not None and options.alt == info.alt:
        raise PlanError(
            f"alt {info.alt} '{info.name}' holds the option bytes: erasing them turns read "
            "protection on (an erased RDP byte is level 1), so they are never erased on their own",
            hint="change fields with `dfuse option-bytes set FIELD=VALUE` (the ROM erases and "
            "rewrites the whole block itself)",
        )


def _refuse_write_protected(session: Session, info: AltInfo, spans: list[tuple[int, int]]) -> None:
    """An ST ROM ignores erases of write-protected sectors without an error (AN3156 §5.3): refuse
    them first (#12). Reads the option bytes (DfuSe devices with an option-byte alternate)."""
    if not session.found.dfuse:
        return
    block = load_block(session)
    session.select(info.alt)  # reading the option bytes selected their alternate
    check_write_protection(session, block, [(info, spans)], erase_only=True)


def leave(
    env: Environment, selector: DeviceSelector, address: int | None = None, *, force: bool = False
) -> bool:
    """Start the application (:func:`leave_device`). Returns True when the device is out of
    DFU mode afterwards: it left, or it was running its application already and was left
    alone."""
    return leave_device(env, selector, address, force=force).left


def leave_device(
    env: Environment, selector: DeviceSelector, address: int | None = None, *, force: bool = False
) -> LeaveResult:
    """Start the application (DfuSe: [Set Address] + zero-length DNLOAD, §2.5; plain DFU: bus
    reset, §1.6). A device that vanishes is success.

    A device already running its application is left alone when no ``address`` is named:
    nothing is sent (a DFU_DETACH, DFU mode and a leave would restart it unasked). Naming an
    address asks for a jump only DFU mode can make: the device is then switched into DFU mode
    first (``detached``). An ``address`` in none of the device's memories is refused
    (PlanError) unless ``force``: the jump would run whatever lies there, usually nothing
    (§2.5 "ROM details"); a plain DFU device has no addresses, so one is refused there."""
    found = peek(env, selector)
    if found.mode != "dfu" and address is None:
        return LeaveResult(found.describe(), left=True, already_running=True)
    with open_session(env, selector) as session:
        device, detached = session.found.describe(), session.detached
        if session.found.dfuse:
            if address is not None and not force:
                _check_jump_target(session.all_alternates(), address)
            return LeaveResult(device, session.dfuse.leave(address), detached=detached)
        if address is not None:
            raise DfuseError(
                f"{device} is a plain DFU device, not ST DfuSe: it has no addresses to jump to",
                hint="leave the address out: a USB bus reset starts its firmware",
            )
        # Whether a plain DFU device starts its firmware on the reset is its choice: look.
        left = reset_to_leave(env, session.found, session.device)
        return LeaveResult(device, left, detached=detached)


def _check_jump_target(alternates: tuple[AltInfo, ...], address: int) -> None:
    maps = [a.memory_map for a in alternates if a.memory_map is not None]
    if not maps or any(m.contains(address) for m in maps):
        return
    spans = "; ".join(f"{m.label}: {m.describe_spans()}" for m in maps)
    raise PlanError(
        f"0x{address:08x} is in none of the device's memories ({spans})",
        address=address,
        hint="give the address of the application's vector table, e.g. 0x08003000",
    )
