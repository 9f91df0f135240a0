"""Run an application on a board's Cortex-M core and say what its run means (layer: ops).

Imports ``pydfuse.formats``, ``pydfuse.layout``, ``pydfuse.errors``, and ``pydfuse.sim`` lazily
(the simulator and its core load only when something runs). :func:`run_image` places images on
a board profile's memories and runs the application (``dfuse check --run``);
:func:`report_run` turns any run — also the one the virtual board did after ``leave`` — into
findings in plain words, naming functions from an ELF's symbols when given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydfuse.errors import DfuseError
from pydfuse.formats import Image
from pydfuse.formats.symbols import Symbols
from pydfuse.layout.linker import LinkPlan

if TYPE_CHECKING:
    from pydfuse.sim.cortexm.result import RunResult
    from pydfuse.sim.profiles import BoardProfile

__all__ = ["RunFinding", "RunReport", "link_plan", "report_run", "run_image", "symbols_check"]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class RunFinding:
    """One thing the run showed; ``fix`` lists what to change (framework: action)."""

    severity: Severity
    code: str
    message: str
    address: int | None = None
    fix: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "address": self.address,
            "fix": list(self.fix),
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    """A run and its findings; ``functions`` names the code addresses the run reported."""

    board: str
    result: RunResult
    findings: tuple[RunFinding, ...]
    functions: dict[int, str]

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "ok": self.ok,
            **self.result.to_dict(),
            "functions": {f"0x{a:08X}": name for a, name in sorted(self.functions.items())},
            "findings": [f.to_dict() for f in self.findings],
        }


def link_plan(profile: BoardProfile) -> LinkPlan:
    """Where a DFU-loadable application goes on ``profile``'s board."""
    from pydfuse.sim.cortexm.chips import get_chip

    groups = profile.alternates[0].sectors
    flash_start = min(g.address for g in groups)
    flash_end = max(g.address + g.count * g.size for g in groups)
    loader = (
        (flash_start, profile.protected_until) if profile.protected_until > flash_start else None
    )
    return LinkPlan(
        board=profile.name,
        flash_start=flash_start,
        flash_end=flash_end,
        app_address=profile.app_address if profile.app_address is not None else flash_start,
        ram_start=profile.sram_start,
        ram_end=profile.sram_end,
        bootloader=loader,
        rom_bootloader=profile.dfuse and profile.app_address is None,
        cortex_m0=get_chip(profile.chip).cpu == "cortex-m0",
    )


def run_image(
    profile: BoardProfile,
    images: Sequence[tuple[int, Image]],
    *,
    budget: int | None = None,
    symbols: Symbols | None = None,
) -> RunReport:
    """Place ``images`` ((alternate, image) pairs) on ``profile``'s memories and run the
    application as the board would start it after a DfuSe leave (ROM bootloaders: by a jump, so
    address 0 still maps system memory). Raises :class:`DfuseError` when the core is missing."""
    from pydfuse.sim.cortexm import DEFAULT_BUDGET, machine_for_profile, run_firmware

    contents: dict[int, list[tuple[int, bytes]]] = {}
    for alt, image in images:
        contents.setdefault(alt, []).extend((s.address, s.data) for s in image)
    plan = link_plan(profile)
    table = plan.app_address
    if profile.app_address is None:  # a ROM jumps to the address the host names: the image's
        flash = [a for a, _ in contents.get(0, ()) if plan.flash_start <= a < plan.flash_end]
        table = min(flash, default=table)
    spec = machine_for_profile(profile, contents, started_by_rom_jump=plan.rom_bootloader)
    result = run_firmware(spec, table, budget=budget or DEFAULT_BUDGET)
    if result.stop == "not-run":
        raise DfuseError(
            "cannot run the application: the Cortex-M core needs the unicorn package",
            hint="pip install 'pydfuse[run]' (make venv installs it)",
        )
    return report_run(result, profile, symbols=symbols)


def report_run(
    result: RunResult, profile: BoardProfile, *, symbols: Symbols | None = None
) -> RunReport:
    """The findings of ``result`` on ``profile``'s board, in the order they matter."""
    names = _Names(symbols)
    if result.reset_handler is not None:
        names(result.reset_handler & ~1)
    plan = link_plan(profile)
    findings = [*_stop_findings(result, names, plan), *_vtor_findings(result, plan, names)]
    if result.flash_programmed:
        findings.append(
            RunFinding(
                "info",
                "run.flash-program",
                f"the application programmed {result.flash_programmed} bytes of its own flash",
            )
        )
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return RunReport(profile.name, result, tuple(findings), names.seen)


def symbols_check(
    report: RunReport, elf: str | os.PathLike[str], read: Callable[[int, int], bytes | None]
) -> RunReport:
    """``report`` with a warning when the ELF its function names come from is not the build
    that ran: the bytes the ELF loads differ from the memory the run saw (``read(address,
    length)``, None where it knows nothing), so every name could point at the wrong code."""
    from pydfuse.formats import load_image

    for segment in load_image(elf):
        found = read(segment.address, len(segment.data))
        if found is None or found == segment.data:
            continue
        first = next(i for i, (a, b) in enumerate(zip(found, segment.data, strict=True)) if a != b)
        name = Path(elf).name
        warning = RunFinding(
            "warning",
            "run.symbols-mismatch",
            f"{name} is not the build that ran (its bytes differ from the flash at "
            f"0x{segment.address + first:08X}): the function names in this report may be wrong",
            segment.address + first,
            ("give --symbols the ELF file this image was built from",),
        )
        order = {"error": 0, "warning": 1, "info": 2}
        findings = sorted((*report.findings, warning), key=lambda f: order[f.severity])
        return replace(report, findings=tuple(findings))
    return report


class _Names:
    """``0x08003350 (main+0x64)``, remembering every address it named."""

    def __init__(self, symbols: Symbols | None) -> None:
        self.symbols = symbols
        self.seen: dict[int, str] = {}

    def __call__(self, address: int | None) -> str:
        if address is None:
            return "an unknown address"
        name = self.symbols.describe(address) if self.symbols is not None else None
        if name is None:
            return f"0x{address:08X}"
        self.seen[address] = name
        return f"0x{address:08X} ({name})"

    def function(self, address: int | None) -> str | None:
        if self.symbols is None or address is None:
            return None
        found = self.symbols.function_at(address)
        return None if found is None else found[0]


_FAULT_FIXES = {
    "bootloader-code": (
        "link the application for its address behind the bootloader "
        "(dfuse linker --profile {board} --patch your.ld)",
    ),
    "no-vector-table": (
        "the image must start with its vector table at the application address "
        "(dfuse linker --profile {board} shows the MEMORY block)",
    ),
    "stack": (
        "give the linker script the board's RAM (dfuse linker --profile {board}), and keep "
        "deep recursion and large local arrays off the stack",
    ),
    "bootloader-write": (
        "keep flash writes and erases (settings, EEPROM emulation) inside the application's "
        "own area, behind the bootloader",
    ),
    "flash-write": ("unlock the flash and set FLASH_CR.PG before writing (HAL_FLASH_Program)",),
}


def _stop_findings(result: RunResult, names: _Names, plan: LinkPlan) -> list[RunFinding]:
    where = names(result.pc)
    if result.stop == "wfi":
        return [
            RunFinding("info", "run.main-loop", f"reached its main loop: WFI at {where}", result.pc)
        ]
    if result.stop == "loop":
        return [_loop_finding(result, names)]
    if result.stop == "budget":
        span = ""
        if result.loop is not None:
            span = f", busy in {names(result.loop[0])}..0x{result.loop[1]:08X}"
        waiting = ""
        if result.sources and not result.masked:
            waiting = (
                "; the virtual core delivers no interrupts, so a wait for one (HAL_Delay's "
                "SysTick tick, a flag an interrupt handler sets) never ends here"
            )
        return [
            RunFinding(
                "info",
                "run.budget",
                f"still running after {result.budget:,} instructions{span}: its main loop, or "
                f"a wait for something the virtual board does not model{waiting}",
                result.pc,
            )
        ]
    if result.stop == "reset":
        return [
            RunFinding(
                "warning",
                "run.reset",
                f"asked for a system reset at {where} (NVIC_SystemReset): the board reboots",
                result.pc,
            )
        ]
    if result.stop == "exception":
        return [
            RunFinding(
                "info",
                "run.exception",
                f"the core takes the {result.exception} exception at {where}; the run stops "
                "there (exceptions are not simulated)",
                result.pc,
            )
        ]
    if result.stop == "not-run":
        return [RunFinding("info", "run.not-run", result.detail)]
    return [_fault_finding(result, names, plan)]


def _loop_finding(result: RunResult, names: _Names) -> RunFinding:
    """A loop on itself: main() returned, a hang nothing can leave, or a main loop that
    leaves the work to interrupts."""
    where = names(result.pc)
    caller = ""
    if result.lr is not None and result.lr != 0xFFFFFFFF:
        caller = f", called from {names(result.lr & ~1)}"
    function = names.function(result.pc)
    if function is not None and function == names.function(result.reset_handler):
        return RunFinding(
            "warning",
            "run.main-returned",
            f"main() returned: the start-up code's loop at {where} holds the core",
            result.pc,
        )
    if result.masked:
        return RunFinding(
            "error",
            "run.hang",
            f"stuck in a loop on itself at {where} with interrupts disabled (PRIMASK set)"
            f"{caller}: nothing can ever leave it. This is an error trap such as "
            "Error_Handler(): the code before it gave up",
            result.pc,
            (
                "look at why the caller gave up (a start-up step that failed, a check of the "
                "board or of its settings)",
            ),
        )
    if not result.sources:
        return RunFinding(
            "warning",
            "run.hang",
            f"ends in a loop on itself at {where} with no interrupt enabled{caller}: nothing "
            "can leave it, so the application does nothing more",
            result.pc,
        )
    return RunFinding(
        "info",
        "run.main-loop",
        f"stopped in a loop on itself at {where} with interrupts enabled "
        f"({', '.join(result.sources)}): a main loop that leaves the work to interrupts",
        result.pc,
    )


def _fault_finding(result: RunResult, names: _Names, plan: LinkPlan) -> RunFinding:
    fault = result.fault
    assert fault is not None
    detail = fault.detail
    reset = result.reset_handler
    if fault.kind == "bootloader-code" and reset is not None and fault.pc == reset & ~1:
        lo, hi = plan.bootloader or (plan.flash_start, plan.app_address)
        detail = (
            f"the reset handler 0x{reset:08X} (word 1 of the table) lies in the bootloader's "
            f"flash 0x{lo:08X}..0x{hi - 1:08X}: the image was linked for another address, and "
            "the core would run the bootloader's code (the real bootloader refuses to start it)"
        )
    elif fault.pc is not None and fault.pc != fault.address:
        detail += f"; code at {names(fault.pc)}"
    if fault.lr is not None and fault.lr != 0xFFFFFFFF and fault.kind != "no-vector-table":
        detail += f", called from {names(fault.lr & ~1)}"
    fixes = tuple(fix.format(board=plan.board) for fix in _FAULT_FIXES.get(fault.kind, ()))
    address = fault.pc if fault.pc is not None else fault.address
    return RunFinding("error", f"run.{fault.kind}", detail, address, fixes)


def _vtor_findings(result: RunResult, plan: LinkPlan, names: _Names) -> list[RunFinding]:
    if result.pc is None and result.stop in ("fault", "not-run"):
        return []  # it never ran
    table = "vector table base" if plan.cortex_m0 else "VTOR"
    out = [
        RunFinding(
            "info",
            "run.vtor-write",
            f"{table} = 0x{write.value:08X} set at {names(write.pc)}",
            write.pc,
        )
        for write in result.vtor_writes
    ]
    fix = tuple(f"{who}: {what}" for who, what in plan.vector_table_recipe())
    at_rest = result.stop in ("wfi", "loop", "budget")  # it ran on, unharmed
    bad = result.irq_with_bootloader_vtor
    if bad is not None:
        out.append(
            RunFinding(
                "error",
                "run.vtor",
                f"interrupts were enabled ({bad.source}) at {names(bad.pc)} while {table} = "
                f"0x{bad.vtor:08X} still selects the bootloader's vector table: every interrupt "
                "would run the bootloader's handler, not the application's",
                bad.pc,
                fix,
            )
        )
    elif result.stop == "exception" and result.vtor_owner == "bootloader":
        out.append(
            RunFinding(
                "error",
                "run.vtor",
                f"the {result.exception} exception is taken while {table} = 0x{result.vtor:08X} "
                "still selects the bootloader's vector table: its handler would run instead of "
                "the application's",
                result.pc,
                fix,
            )
        )
    elif at_rest and result.vtor_owner == "bootloader":
        out.append(
            RunFinding(
                "warning",
                "run.vtor-unset",
                f"{table} still selects the bootloader's vector table (0x{result.vtor:08X}): no "
                "interrupt was enabled while it ran, but the first one will run the "
                "bootloader's handler",
                None,
                fix,
            )
        )
    elif at_rest and result.vtor_owner == "other":
        out.append(
            RunFinding(
                "warning",
                "run.vtor-other",
                f"{table} = 0x{result.vtor:08X} is neither the application's table "
                f"(0x{result.table:08X}) nor a copy in SRAM",
            )
        )
    return out
