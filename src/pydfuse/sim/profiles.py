"""Board profiles for the virtual bootloader: data only (layer: sim; imports pydfuse.spec).

Design principle 6: chip and board differences are frozen dataclasses in a registry, not class
hierarchies. Every number cites the section of ``shared/reference/dfuse-spec.md`` it comes from;
where a datasheet gives no typical value the choice is explained next to it.

The memory geometry of each alternate is given explicitly (``sectors``) in addition to the
layout string the device reports (``layout``). The simulator never parses its own layout string,
so a parser bug on the host side cannot be hidden by the same bug here; a test checks that the
two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from pydfuse.sim.optionspec import F0_OPTION_BYTES, F4_OPTION_BYTES, OptionBytesSpec
from pydfuse.spec import DFU_VERSION_1_1, DFU_VERSION_DFUSE, Attributes, MemoryRights

__all__ = [
    "F4_ROM_REPORTED_POLL_MS",
    "PROFILES",
    "ST_DEMO_POLL_MS",
    "AltProfile",
    "BoardProfile",
    "FlashTiming",
    "MemoryKind",
    "ProgramRule",
    "RuntimeProfile",
    "SectorGroup",
    "get_profile",
]

MemoryKind = Literal["internal", "spi", "nor", "option", "otp", "feature", "ram"]
# How a program operation treats the old contents of a program unit (§5.4, §5.5, §6.3, §6.4):
# "halfword-erased": STM32F1 — a half-word must read 0xFFFF unless 0x0000 is written (PGERR);
# "clear-bits": NOR style — programming may only clear bits (F4, SPI NOR, parallel NOR, OTP);
# "overwrite": RAM-like registers (option bytes, device feature) that are written in place.
ProgramRule = Literal["halfword-erased", "clear-bits", "overwrite"]

_R = MemoryRights.READABLE
_RW = MemoryRights.READABLE | MemoryRights.ERASABLE | MemoryRights.WRITABLE  # 'g'
_RO = MemoryRights.READABLE  # 'a'
_RWNE = MemoryRights.READABLE | MemoryRights.WRITABLE  # 'e': written in place, no erase


@dataclass(frozen=True, slots=True)
class FlashTiming:
    """Typical times of one memory (§6). ``erase_sector_ms`` maps sector size (bytes) to ms."""

    program_unit_bytes: int
    program_unit_us: float
    erase_sector_ms: Mapping[int, float]
    mass_erase_ms: float


@dataclass(frozen=True, slots=True)
class SectorGroup:
    """``count`` sectors of ``size`` bytes from ``address`` with the §3.2 ``rights`` bits."""

    address: int
    count: int
    size: int
    rights: MemoryRights

    @property
    def end(self) -> int:
        return self.address + self.count * self.size


@dataclass(frozen=True, slots=True)
class AltProfile:
    """One alternate setting = one memory target (§1.1, §3)."""

    layout: str  # iInterface text exactly as sent, without the trailing U+0000 padding (§3.4)
    descriptor_length: int  # bLength of the string descriptor; the rest is U+0000 padding
    memory_kind: MemoryKind
    timing: FlashTiming
    sectors: tuple[SectorGroup, ...]
    program_rule: ProgramRule = "clear-bits"
    erasable: bool = True  # False for OTP / feature registers: an erase there is refused
    resets_after_write: bool = False  # option bytes: written, then system reset (§2.6, §7.14)


@dataclass(frozen=True, slots=True)
class RuntimeProfile:
    """Identity of the application once the bootloader has jumped to it (§2.9 'Boot')."""

    vid: int
    pid: int
    bcd_device: int
    manufacturer: str
    product: str
    dfu_runtime: bool  # presents a DFU run-time interface (class FE/01, protocol 1, §1.1)
    attributes: Attributes  # bmAttributes of the run-time functional descriptor
    detach_timeout_ms: int


@dataclass(frozen=True, slots=True)
class BoardProfile:
    """Everything that distinguishes one virtual board from another (§2.12 cheat-sheet)."""

    name: str
    description: str
    vid: int
    pid: int
    bcd_device: int
    bcd_usb: int
    manufacturer: str
    product: str
    serial: str  # documented default; boards created with serial=None derive one per instance
    transfer_size: int
    attributes: Attributes
    detach_timeout_ms: int
    dfu_version: int
    max_packet_size0: int
    alternates: tuple[AltProfile, ...]
    sram_start: int
    sram_end: int  # exclusive; a stack top equal to it is valid (§5.2)
    app_address: int | None  # fixed jump address (demo), or None: jump to the pointer (ROM)
    protected_until: int  # end (exclusive) of the bootloader's own area, 0 when none (ROM)
    runtime: RuntimeProfile
    dfuse: bool = True
    starts_in_error: bool = True
    fixed_poll_timeout_ms: int | None = None
    enforce_readonly: bool = True
    early_poll_stalls: bool = False  # §7.3: STALL (not NAK) a request made while busy (L4 ROM)
    # §2.9/§7.8/§7.9: the demo's request handling instead of the §1.6 table (see dfu_table).
    st_demo_requests: bool = False
    config_attributes: int = 0x80  # bus powered (§2.9)
    config_max_power: int = 0x20  # 64 mA in 2 mA units (§2.9)
    default_pointer: int = 0x08000000
    get_commands: bytes = bytes((0x00, 0x21, 0x41, 0x92))  # §2.4: ROM list
    supports_mass_erase: bool = True
    supports_read_unprotect: bool = True
    bus_reset_reboots: bool = False  # True: §1.6 'further rules'; False: ST keeps the state
    manifest_poll_ms: int = 1  # §2.8 'Leave' column
    uid: tuple[int, int, int] = (0x33343536, 0x39383741, 0x2A2B2C2D)  # UID words (§2.9)
    ccm: tuple[int, int] | None = None  # core-coupled RAM [start, end), a legitimate stack (§5.5)
    # bwPollTimeout the device reports per operation ("erase", "program", "command",
    # "mass_erase") instead of the honest modeled duration; empty = honest (the default).
    # ``fixed_poll_timeout_ms`` (the demo's 50 ms for everything, §2.8) takes precedence.
    reported_poll_timeouts_ms: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # The ST demo's poll timeouts (sim.stdemo): media index ((pointer >> 26) & 3: 0 SPI, 1 NOR,
    # 2 internal flash) -> (erase ms, any other request ms). Used with st_demo_requests only.
    demo_poll_ms: Mapping[int, tuple[int, int]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # ROM option bytes: factory block, RDP and write protection (sim.optionspec); None = the
    # board has no option-byte alternate or its protection is not modeled.
    option_bytes: OptionBytesSpec | None = None
    # Start of the chip's system memory, where a ROM bootloader and its vector table live (what
    # address 0 aliases when booting from it); None when the board's bootloader is in flash.
    system_memory: int | None = None
    # The chip model a running application sees (sim.cortexm.chips): core, peripheral map,
    # the register behaviour its start-up code waits for.
    chip: str = "stm32f1"


def _f1_internal(*, pages: tuple[tuple[int, int, MemoryRights], ...]) -> tuple[SectorGroup, ...]:
    groups = []
    address = 0x08000000
    for count, size, rights in pages:
        groups.append(SectorGroup(address, count, size, rights))
        address += count * size
    return tuple(groups)


# §6.1 STM32F1: 52.5 µs per half-word (typ). Page erase and mass erase are given as 20 ms min /
# 40 ms max with no typical value; we take the midpoint, 30 ms: the benchmarks compare a host's
# total time with a physical minimum, and the midpoint neither flatters (20) nor punishes (40).
_F1_TIMING_1K = FlashTiming(2, 52.5, MappingProxyType({1024: 30.0}), 30.0)
_F1_TIMING_2K = FlashTiming(2, 52.5, MappingProxyType({2048: 30.0}), 30.0)
# §6.3 M25P64: 256-byte page program 1.4 ms typ; 64 KB sector erase 1 s typ; bulk erase 68 s typ
# (the M25PX64 figure; [UNCONFIRMED] for M25P64).
_SPI_TIMING = FlashTiming(256, 1400.0, MappingProxyType({65536: 1000.0}), 68000.0)
# §6.4 M29W128F: 10 µs per byte/word typ — the M29W128FH/FL datasheet (ST, Rev 6, November
# 2006, feature summary "Programming time: 10 µs per Byte/Word (typical)"); §6.4's 16 µs is the
# successor M29W128G's figure. Block erase 0.8 s typ (sibling M29W400D, Table 4; [UNCONFIRMED] for
# this part); chip erase taken as 256 blocks x 0.8 s [derived].
_NOR_TIMING = FlashTiming(2, 10.0, MappingProxyType({65536: 800.0}), 256 * 800.0)
# §6.2 STM32F405/407 at x32 parallelism (VDD 2.7-3.6 V, what the ROM uses): 16 µs per word;
# 250 ms / 550 ms / 1 s per 16 / 64 / 128 KB sector; 8 s mass erase (typ).
_F4_TIMING = FlashTiming(
    4, 16.0, MappingProxyType({16384: 250.0, 65536: 550.0, 131072: 1000.0}), 8000.0
)
# Option bytes / OTP / feature registers: one 16-bit or 32-bit write, timed like a flash word.
_F4_SMALL_TIMING = FlashTiming(4, 16.0, MappingProxyType({16: 250.0}), 250.0)

_SPI_ALT = AltProfile(
    layout="@SPI Flash : M25P64/0x00000000/128*64Kg",
    descriptor_length=98,  # §3.4: 9 trailing U+0000
    memory_kind="spi",
    timing=_SPI_TIMING,
    sectors=(SectorGroup(0x00000000, 128, 65536, _RW),),
)

# Run-time identity of pydfuse's demo application: ST's VID with a PID chosen for the demo
# (0xDF12 is not an ST assignment) and a DFU run-time interface so hosts can DETACH it.
_DEMO_RUNTIME = RuntimeProfile(
    vid=0x0483,
    pid=0xDF12,
    bcd_device=0x0100,
    manufacturer="STMicroelectronics",
    product="pydfuse demo application",
    dfu_runtime=True,
    attributes=Attributes.CAN_DNLOAD | Attributes.CAN_UPLOAD | Attributes.WILL_DETACH,
    detach_timeout_ms=255,
)

_ST_DEMO_ATTRS = Attributes.CAN_DNLOAD | Attributes.CAN_UPLOAD | Attributes.WILL_DETACH  # 0x0B

STM3210E_EVAL = BoardProfile(
    name="stm3210e-eval",
    description="ST USB-FS-Device_Lib V4.0.0 DFU demo on STM3210E-EVAL (STM32F103ZE, 512 KiB)",
    vid=0x0483,
    pid=0xDF11,
    bcd_device=0x0200,  # §2.9
    bcd_usb=0x0100,
    manufacturer="STMicroelectronics",
    product="STM32 DFU",
    serial="5CE867623433",  # a real example from §2.9
    transfer_size=1024,  # §2.7
    attributes=_ST_DEMO_ATTRS,
    detach_timeout_ms=255,
    dfu_version=DFU_VERSION_DFUSE,
    max_packet_size0=64,
    alternates=(
        AltProfile(
            layout="@Internal Flash  /0x08000000/06*002Ka,250*002Kg",
            descriptor_length=98,  # §3.4: 1 trailing U+0000
            memory_kind="internal",
            timing=_F1_TIMING_2K,
            sectors=_f1_internal(pages=((6, 2048, _RO), (250, 2048, _RW))),
            program_rule="halfword-erased",
        ),
        _SPI_ALT,
        AltProfile(
            layout="@NOR Flash : M29W128F/0x64000000/0256*64Kg",
            descriptor_length=106,  # §3.4: 10 trailing U+0000
            memory_kind="nor",
            timing=_NOR_TIMING,
            sectors=(SectorGroup(0x64000000, 256, 65536, _RW),),
        ),
    ),
    sram_start=0x20000000,
    sram_end=0x20010000,  # §5.4 high density, 64 KB
    app_address=0x08003000,  # §2.9: fixed ApplicationAddress
    protected_until=0x08003000,
    runtime=_DEMO_RUNTIME,
    # §2.9/§7.1: the demo always starts in dfuERROR/errFIRMWARE; we keep that faithful default
    # because every host must cope with it on real boards.
    starts_in_error=True,
    default_pointer=0x08003000,  # §2.3 demo default
    get_commands=bytes((0x00, 0x21, 0x41)),  # §2.4 demo list
    # Unlike the demo (§7.10) we do implement mass erase: it is a DfuSe command hosts may send,
    # and an honest model should rather do it than silently report OK. Read Unprotect has no
    # meaning without read protection, so it is refused as an unknown command (errSTALLEDPKT).
    supports_read_unprotect=False,
)

STM3210B_EVAL = BoardProfile(
    name="stm3210b-eval",
    description="ST USB-FS-Device_Lib V4.0.0 DFU demo on STM3210B-EVAL (STM32F103VB, 128 KiB)",
    vid=0x0483,
    pid=0xDF11,
    bcd_device=0x0200,
    bcd_usb=0x0100,
    manufacturer="STMicroelectronics",
    product="STM32 DFU",
    serial="48EB874D3938",  # a real example from §2.9
    transfer_size=1024,
    attributes=_ST_DEMO_ATTRS,
    detach_timeout_ms=255,
    dfu_version=DFU_VERSION_DFUSE,
    max_packet_size0=64,
    alternates=(
        AltProfile(
            layout="@Internal Flash  /0x08000000/12*001Ka,116*001Kg",
            # §3.4 does not give the B-EVAL array length; the demo sizes its arrays like the
            # E-EVAL ones, so we use 98 as for alt 0 there [derived].
            descriptor_length=98,
            memory_kind="internal",
            timing=_F1_TIMING_1K,
            sectors=_f1_internal(pages=((12, 1024, _RO), (116, 1024, _RW))),
            program_rule="halfword-erased",
        ),
        _SPI_ALT,
    ),
    sram_start=0x20000000,
    sram_end=0x20005000,  # §5.4 medium density, 20 KB
    app_address=0x08003000,
    protected_until=0x08003000,
    runtime=_DEMO_RUNTIME,
    config_attributes=0xC0,  # §2.9: self powered, 100 mA
    config_max_power=0x32,
    default_pointer=0x08003000,
    get_commands=bytes((0x00, 0x21, 0x41)),
    supports_read_unprotect=False,
    uid=(0x12345678, 0x4D393833, 0x36363636),
)

STM32F4_ROM = BoardProfile(
    name="stm32f4-rom",
    description="STM32F405/407 system-memory DFU bootloader (1 MiB flash, ROM)",
    vid=0x0483,
    pid=0xDF11,
    bcd_device=0x2100,  # §2.12
    bcd_usb=0x0100,
    manufacturer="STMicroelectronics",
    product="STM32  BOOTLOADER",  # two spaces, §2.12
    serial="336F38733433",
    transfer_size=2048,  # §2.7
    attributes=_ST_DEMO_ATTRS,
    detach_timeout_ms=255,
    dfu_version=DFU_VERSION_DFUSE,
    max_packet_size0=64,
    alternates=(
        AltProfile(
            layout="@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
            descriptor_length=2 + 2 * 55,  # no padding reported for the ROM (§3.3)
            memory_kind="internal",
            timing=_F4_TIMING,
            sectors=(
                SectorGroup(0x08000000, 4, 16384, _RW),
                SectorGroup(0x08010000, 1, 65536, _RW),
                SectorGroup(0x08020000, 7, 131072, _RW),
            ),
        ),
        AltProfile(
            # §3.3: real F4 ROMs report type 'e' for option bytes, OTP and device feature.
            layout="@Option Bytes  /0x1FFFC000/01*016 e",
            descriptor_length=2 + 2 * 35,
            memory_kind="option",
            timing=_F4_SMALL_TIMING,
            sectors=(SectorGroup(0x1FFFC000, 1, 16, _RWNE),),
            program_rule="overwrite",
            erasable=False,
            resets_after_write=True,  # §2.6, §7.14
        ),
        AltProfile(
            layout="@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
            descriptor_length=2 + 2 * 41,
            memory_kind="otp",
            timing=_F4_SMALL_TIMING,
            sectors=(
                SectorGroup(0x1FFF7800, 1, 512, _RWNE),
                SectorGroup(0x1FFF7A00, 1, 16, _RWNE),
            ),
            erasable=False,  # one-time programmable: bits can be cleared, never set again
        ),
        AltProfile(
            layout="@Device Feature/0xFFFF0000/01*004 e",
            descriptor_length=2 + 2 * 35,
            memory_kind="feature",
            timing=_F4_SMALL_TIMING,
            sectors=(SectorGroup(0xFFFF0000, 1, 4, _RWNE),),
            program_rule="overwrite",
            erasable=False,
        ),
    ),
    sram_start=0x20000000,
    sram_end=0x20020000,  # §5.5: 112 + 16 KB contiguous, stack top 0x20020000
    ccm=(0x10000000, 0x10010000),  # §5.5: 64 KB CCM data RAM
    app_address=None,  # ROM: leave jumps to the pointer (§2.5)
    protected_until=0,  # the ROM lives in system memory, all of flash is the user's
    runtime=_DEMO_RUNTIME,
    starts_in_error=True,  # §2.6: dfuERROR/errFIRMWARE seen on F4-Discovery
    config_attributes=0xC0,
    config_max_power=0x32,
    uid=(0x00330021, 0x3433510D, 0x336F3852),
    option_bytes=F4_OPTION_BYTES,
    system_memory=0x1FFF0000,  # RM0090 Rev 21 §3.3 Table 5: 0x1FFF 0000 - 0x1FFF 77FF
    chip="stm32f4",
)

# STM32F072 ROM (bcdDevice 0x2200, §3.3: an F0-class ROM with 64 x 2 KB pages and the option
# bytes at 0x1FFFF800). Not stated by our sources and taken from the F4 ROM: product string, USB
# attributes, wTransferSize 2048 (AN3156 §4.1 allows 2..2048 byte reads), poll timings of the
# F1 flash (same half-word programming rule, RM0091 §3.2). SRAM 16 KB (STM32F072 datasheet).
STM32F072_ROM = BoardProfile(
    name="stm32f072-rom",
    description="STM32F072 system-memory DFU bootloader (128 KiB flash, ROM)",
    vid=0x0483,
    pid=0xDF11,
    bcd_device=0x2200,
    bcd_usb=0x0100,
    manufacturer="STMicroelectronics",
    product="STM32  BOOTLOADER",
    serial="FFFFFFFEFFFF",
    transfer_size=2048,
    attributes=_ST_DEMO_ATTRS,
    detach_timeout_ms=255,
    dfu_version=DFU_VERSION_DFUSE,
    max_packet_size0=64,
    alternates=(
        AltProfile(
            layout="@Internal Flash  /0x08000000/064*0002Kg",
            descriptor_length=2 + 2 * 39,
            memory_kind="internal",
            timing=_F1_TIMING_2K,
            sectors=(SectorGroup(0x08000000, 64, 2048, _RW),),
            program_rule="halfword-erased",
        ),
        AltProfile(
            layout="@Option Bytes  /0x1FFFF800/01*016 e",
            descriptor_length=2 + 2 * 35,
            memory_kind="option",
            timing=_F4_SMALL_TIMING,
            sectors=(
                SectorGroup(0x1FFFF800, 1, 16, MemoryRights.READABLE | MemoryRights.WRITABLE),
            ),
            program_rule="overwrite",
            erasable=False,
            resets_after_write=True,  # AN3156 §5.1 (F0 is among the ROMs that reset)
        ),
    ),
    sram_start=0x20000000,
    sram_end=0x20004000,
    app_address=None,
    protected_until=0,
    runtime=_DEMO_RUNTIME,
    starts_in_error=True,
    config_attributes=0xC0,
    config_max_power=0x32,
    uid=(0x00470041, 0x3236510D, 0x20313933),
    option_bytes=F0_OPTION_BYTES,
    system_memory=0x1FFFC800,  # RM0091 Rev 10 Table 2 (STM32F07x): 0x1FFF C800 - 0x1FFF F7FF
    chip="stm32f0",
)

# What the F4 ROM really reports (§2.8: 100 ms erase, 104 ms otherwise, 100 ms for a mass erase
# that takes up to 32 s). Opt in with
# ``dataclasses.replace(STM32F4_ROM, reported_poll_timeouts_ms=F4_ROM_REPORTED_POLL_MS)``.
F4_ROM_REPORTED_POLL_MS: Mapping[str, int] = MappingProxyType(
    {"erase": 100, "program": 104, "command": 104, "mass_erase": 100}
)
# The USB-FS demo's constant (§2.8): opt in with ``fixed_poll_timeout_ms=ST_DEMO_POLL_MS``.
ST_DEMO_POLL_MS = 50

PLAIN_DFU = BoardProfile(
    name="plain-dfu",
    description="a generic DFU 1.1 device (not DfuSe): sequential blocks into one 64 KiB flash",
    vid=0x1209,  # pid.codes
    pid=0x0001,  # pid.codes test PID
    bcd_device=0x0100,
    bcd_usb=0x0200,
    manufacturer="pydfuse",
    product="pydfuse plain DFU device",
    serial="PLAIN0000001",
    transfer_size=1024,
    # §1.7: manifestation tolerant, so after the zero-length DNLOAD the device returns to dfuIDLE
    # and still answers; a profile variant without bit 2 exercises MANIFEST-WAIT-RESET.
    attributes=Attributes.CAN_DNLOAD | Attributes.CAN_UPLOAD | Attributes.MANIFESTATION_TOLERANT,
    detach_timeout_ms=1000,
    dfu_version=DFU_VERSION_1_1,
    max_packet_size0=64,
    alternates=(
        AltProfile(
            layout="Firmware",
            descriptor_length=2 + 2 * 8,
            memory_kind="internal",
            timing=_F1_TIMING_1K,
            sectors=(SectorGroup(0x08000000, 64, 1024, _RW),),
            program_rule="halfword-erased",
        ),
    ),
    sram_start=0x20000000,
    sram_end=0x20005000,
    app_address=0x08000000,
    protected_until=0,
    runtime=RuntimeProfile(
        vid=0x1209,
        pid=0x0001,
        bcd_device=0x0100,
        manufacturer="pydfuse",
        product="pydfuse plain application",
        dfu_runtime=True,
        attributes=Attributes.CAN_DNLOAD | Attributes.CAN_UPLOAD | Attributes.WILL_DETACH,
        detach_timeout_ms=1000,
    ),
    dfuse=False,
    starts_in_error=False,
    default_pointer=0x08000000,
    get_commands=b"",
    supports_mass_erase=False,
    supports_read_unprotect=False,
    bus_reset_reboots=True,  # §1.6 'further rules' (TinyUSB)
    manifest_poll_ms=10,
    config_attributes=0x80,
    config_max_power=0x32,
    uid=(0x50504C41, 0x494E3030, 0x00000001),
)

# The same boards with their real-world quirks switched on, to rehearse a host against them.
STM3210E_EVAL_QUIRKS = replace(
    STM3210E_EVAL,
    name="stm3210e-eval-quirks",
    description="stm3210e-eval as ST's demo really behaves: its poll timeouts by media (internal "
    "50/50 ms, SPI 3000/20, NOR 1000/25, §2.8), its request handling and silent errors (§2.9, "
    "§7.7-§7.10), routing by address, the 'a' loader pages not enforced",
    fixed_poll_timeout_ms=ST_DEMO_POLL_MS,
    st_demo_requests=True,
    enforce_readonly=False,
    # §2.8: (erase, program) per media of the pointer: 0 SPI M25P64, 1 NOR M29W128F, 2 internal;
    # 3 is the demo's M29W128G row, which (pointer >> 26) & 3 reaches too (dfu_mal.c TimingTable).
    demo_poll_ms=MappingProxyType({0: (3000, 20), 1: (1000, 25), 2: (50, 50), 3: (1000, 25)}),
)
STM32F4_ROM_QUIRKS = replace(
    STM32F4_ROM,
    name="stm32f4-rom-quirks",
    description="stm32f4-rom with the poll timeouts the real ROM reports (§2.8): a mass erase "
    "says 100 ms and takes seconds, so the host is held until it ends",
    reported_poll_timeouts_ms=F4_ROM_REPORTED_POLL_MS,
)

PROFILES: Mapping[str, BoardProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            STM3210E_EVAL,
            STM3210B_EVAL,
            STM32F4_ROM,
            STM32F072_ROM,
            PLAIN_DFU,
            STM3210E_EVAL_QUIRKS,
            STM32F4_ROM_QUIRKS,
        )
    }
)


def get_profile(name: str) -> BoardProfile:
    """The profile called ``name``; ``KeyError`` naming the known profiles otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise KeyError(f"unknown board profile {name!r}; known profiles: {known}") from None
