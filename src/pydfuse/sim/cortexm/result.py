"""What a run of the application showed: plain values, saved with the board (layer: sim).

Imports nothing from pydfuse. Addresses are code addresses as the core saw them; naming the
function behind one (from an ELF's symbols) is the job of the layers above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

__all__ = ["Fault", "IrqEnable", "RunResult", "StopReason", "VtorOwner", "VtorWrite"]

# wfi: the core went to sleep (WFI/WFE) — the usual main loop; loop: a branch to itself;
# budget: the instruction budget ran out (a busy main loop, or waiting for something);
# fault: see Fault.kind; exception: an exception the core would take through the vector
# table (SVC, a pended interrupt, BKPT); reset: the application asked for a system reset;
# not-run: the core could not be started (unicorn missing: see ``detail``).
StopReason = Literal["wfi", "loop", "budget", "fault", "exception", "reset", "not-run"]
# Where SCB->VTOR points: the application's own table, the bootloader's (through the alias at
# address 0 too), a table in SRAM, or somewhere else.
VtorOwner = Literal["application", "bootloader", "sram", "other"]
FaultKind = Literal[
    "no-vector-table",  # nothing valid at the application's address
    "stack",  # the stack pointer is or went outside SRAM
    "unmapped",  # a read, write or fetch outside mapped memory
    "invalid-instruction",  # undefined instruction (also erased flash, 0xFFFF)
    "bootloader-code",  # the core executed the bootloader's flash
    "bootloader-write",  # a write or erase of the bootloader's flash
    "flash-write",  # a store into flash without the flash controller's PG bit
    "rom-write",  # a store into read-only memory (system memory, option bytes)
]


@dataclass(frozen=True, slots=True)
class VtorWrite:
    """One write to SCB->VTOR: the value and the address of the storing instruction."""

    value: int
    pc: int


@dataclass(frozen=True, slots=True)
class IrqEnable:
    """The moment an interrupt became possible (PRIMASK clear and a source enabled)."""

    pc: int
    source: str  # "cpsie i", "SysTick interrupt", "NVIC IRQ 37", ...
    vtor: int
    vtor_owner: VtorOwner


@dataclass(frozen=True, slots=True)
class Fault:
    """What went wrong, where (``pc``), at which data ``address`` and with which LR/SP."""

    kind: FaultKind
    detail: str
    pc: int | None = None
    address: int | None = None
    lr: int | None = None
    sp: int | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of running an application from its vector table at ``table``."""

    table: int
    stop: StopReason
    pc: int | None = None
    initial_sp: int | None = None
    reset_handler: int | None = None
    vtor: int = 0
    vtor_owner: VtorOwner = "bootloader"
    vtor_writes: tuple[VtorWrite, ...] = ()
    irq_enables: tuple[IrqEnable, ...] = ()
    fault: Fault | None = None
    exception: str | None = None
    loop: tuple[int, int] | None = None  # [lo, hi] of the code a budget stop kept running
    budget: int = 0
    peripheral_writes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    flash_programmed: int = 0  # bytes the application wrote into its own flash
    detail: str = ""
    # When it stopped: PRIMASK set (None: not known, a run saved by an older version), the
    # interrupt sources enabled, and LR (who called the code it stopped in).
    masked: bool | None = None
    sources: tuple[str, ...] = ()
    lr: int | None = None

    @property
    def stuck(self) -> bool:
        """It stopped in a loop on itself that nothing can leave: interrupts masked (PRIMASK
        set), or no interrupt source enabled — a hang such as Error_Handler(), not a main loop."""
        return self.stop == "loop" and self.masked is not None and (self.masked or not self.sources)

    @property
    def main_loop(self) -> bool:
        """The application came to rest in its main loop: asleep in WFI/WFE, or in a loop on
        itself that an interrupt can leave. A run cut off by its budget is not known to have
        got there (it may still be waiting for something)."""
        return self.stop == "wfi" or (self.stop == "loop" and not self.stuck)

    @property
    def irq_with_bootloader_vtor(self) -> IrqEnable | None:
        """The first moment interrupts were possible while VTOR was the bootloader's."""
        return next((e for e in self.irq_enables if e.vtor_owner == "bootloader"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "stop": self.stop,
            "pc": self.pc,
            "initial_sp": self.initial_sp,
            "reset_handler": self.reset_handler,
            "main_loop": self.main_loop,
            "vtor": self.vtor,
            "vtor_owner": self.vtor_owner,
            "vtor_writes": [{"value": w.value, "pc": w.pc} for w in self.vtor_writes],
            "irq_enables": [
                {"pc": e.pc, "source": e.source, "vtor": e.vtor, "vtor_owner": e.vtor_owner}
                for e in self.irq_enables
            ],
            "fault": None
            if self.fault is None
            else {
                "kind": self.fault.kind,
                "detail": self.fault.detail,
                "pc": self.fault.pc,
                "address": self.fault.address,
                "lr": self.fault.lr,
                "sp": self.fault.sp,
            },
            "exception": self.exception,
            "loop": list(self.loop) if self.loop else None,
            "budget": self.budget,
            "peripheral_writes": dict(self.peripheral_writes),
            "flash_programmed": self.flash_programmed,
            "detail": self.detail,
            "primask": self.masked,
            "interrupt_sources": list(self.sources),
            "lr": self.lr,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunResult:
        """The inverse of :meth:`to_dict` (``KeyError``/``TypeError``/``ValueError`` when the
        document is damaged)."""
        fault = doc.get("fault")
        loop = doc.get("loop")
        return cls(
            table=int(doc["table"]),
            stop=cast(StopReason, str(doc["stop"])),
            pc=_opt(doc.get("pc")),
            initial_sp=_opt(doc.get("initial_sp")),
            reset_handler=_opt(doc.get("reset_handler")),
            vtor=int(doc["vtor"]),
            vtor_owner=cast(VtorOwner, str(doc["vtor_owner"])),
            vtor_writes=tuple(VtorWrite(int(w["value"]), int(w["pc"])) for w in doc["vtor_writes"]),
            irq_enables=tuple(
                IrqEnable(int(e["pc"]), str(e["source"]), int(e["vtor"]), e["vtor_owner"])
                for e in doc["irq_enables"]
            ),
            fault=None
            if fault is None
            else Fault(
                kind=fault["kind"],
                detail=str(fault["detail"]),
                pc=_opt(fault.get("pc")),
                address=_opt(fault.get("address")),
                lr=_opt(fault.get("lr")),
                sp=_opt(fault.get("sp")),
            ),
            exception=doc.get("exception"),
            loop=(int(loop[0]), int(loop[1])) if loop else None,
            budget=int(doc.get("budget", 0)),
            peripheral_writes=MappingProxyType(
                {str(k): int(v) for k, v in dict(doc.get("peripheral_writes", {})).items()}
            ),
            flash_programmed=int(doc.get("flash_programmed", 0)),
            detail=str(doc.get("detail", "")),
            masked=None if doc.get("primask") is None else bool(doc["primask"]),
            sources=tuple(str(s) for s in doc.get("interrupt_sources", ())),
            lr=_opt(doc.get("lr")),
        )


def _opt(value: Any) -> int | None:
    return None if value is None else int(value)
