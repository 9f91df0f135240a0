"""Option-byte tables of the STM32 families whose ROM bootloaders expose them over DfuSe (layer:
optionbytes; data only).

Every field cites its reference-manual section. ``default`` is the factory ("ST production")
value where the manual states one; ``None`` where our sources do not (see the issue #12 note).
Families we could not source (F7: RM0385/RM0410, H7: RM0433, L4: RM0351) are left out: their
option bytes are shown raw and cannot be changed with ``option-bytes set``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydfuse.optionbytes.model import Family, Field, Register, WrpScheme

__all__ = ["FAMILIES", "STM32F0", "STM32F1_CL", "STM32F2_F4", "STM32G4", "get_family"]

_FLAG_RESET = MappingProxyType({0: "reset", 1: "no-reset"})
_FLAG_WDG = MappingProxyType({0: "hardware", 1: "software"})
_ON_OFF = MappingProxyType({0: "off", 1: "on"})
_ENABLED_LOW = MappingProxyType({0: "on", 1: "off"})  # parity checks: 0 enables


def _flag(
    name: str,
    register: str,
    bit: int,
    meaning: str,
    source: str,
    default: int | None,
    names: Mapping[int, str],
    aliases: tuple[str, ...] = (),
) -> Field:
    return Field(name, register, bit, 1, "flag", meaning, source, default, names, aliases)


_RDP_MEANING = "read protection: 0xAA level 0, 0xCC level 2 (permanent), anything else level 1"


def _rdp(register: str, lsb: int, source: str) -> Field:
    """The RDP byte of the families with levels 0xAA / other / 0xCC; factory 0xAA."""
    return Field("rdp", register, lsb, 8, "rdp", _RDP_MEANING, source, 0xAA)


def _watchdog_and_resets(
    register: str, first_bit: int, source: str, default: int | None
) -> tuple[Field, ...]:
    """WDG_SW, nRST_STOP, nRST_STDBY on three bits in a row (F0/F1 bits 0-2, F2/F4 5-7)."""
    return (
        _flag(
            "wdg_sw",
            register,
            first_bit,
            "independent watchdog",
            source,
            default,
            _FLAG_WDG,
            ("iwdg_sw",),
        ),
        _flag(
            "nrst_stop",
            register,
            first_bit + 1,
            "reset when entering Stop mode",
            source,
            default,
            _FLAG_RESET,
        ),
        _flag(
            "nrst_stdby",
            register,
            first_bit + 2,
            "reset when entering Standby mode",
            source,
            default,
            _FLAG_RESET,
        ),
    )


# -- STM32F0 (RM0091 Rev 10 §4.1; F3 parts use the same layout, RM0365 §5 / RM0364 §4) ----------
_F0 = "RM0091 Rev 10 §4.1.1"
_F0_DATA = "RM0091 Rev 10 §4.1.2"
_F0_WRP = "RM0091 Rev 10 §4.1.3, Table 12"
_BYTE_REGS = tuple(
    Register(name, offset, 8)
    for name, offset in (
        ("RDP", 0),
        ("USER", 2),
        ("DATA0", 4),
        ("DATA1", 6),
        ("WRP0", 8),
        ("WRP1", 10),
        ("WRP2", 12),
        ("WRP3", 14),
    )
)


def _wrp_bytes(source: str, default: int | None) -> tuple[Field, ...]:
    return tuple(
        Field(
            f"wrp{i}",
            f"WRP{i}",
            0,
            8,
            "wrp",
            f"write protection, 4 KB blocks {8 * i}-{8 * i + 7} (bit = 0: protected)",
            source,
            default,
        )
        for i in range(4)
    )


STM32F0 = Family(
    name="stm32f0",
    title="STM32F0 (F3 parts share this layout)",
    source="RM0091 Rev 10 §4 (Table 11, Table 12 ST production values)",
    option_address=0x1FFFF800,
    sizes=(16,),
    storage="byte-pairs",
    registers=_BYTE_REGS,
    fields=(
        _rdp("RDP", 0, _F0),
        *_watchdog_and_resets("USER", 0, _F0, 1),
        _flag(
            "nboot0",
            "USER",
            3,
            "BOOT0 value used when BOOT_SEL = 0 (F04x/F09x only)",
            _F0,
            1,
            MappingProxyType({0: "0", 1: "1"}),
        ),
        _flag(
            "nboot1",
            "USER",
            4,
            "with BOOT0, selects the boot mode (RM0091 §2.5)",
            _F0,
            1,
            MappingProxyType({0: "0", 1: "1"}),
        ),
        _flag("vdda_monitor", "USER", 5, "VDDA power supply supervisor", _F0, 1, _ON_OFF),
        _flag(
            "ram_parity_check",
            "USER",
            6,
            "RAM parity check",
            _F0,
            1,
            _ENABLED_LOW,
            ("sram_pe",),
        ),
        _flag(
            "boot_sel",
            "USER",
            7,
            "BOOT0 taken from the nBOOT0 bit or the BOOT0 pin (F04x/F09x only)",
            _F0,
            1,
            MappingProxyType({0: "nboot0", 1: "pin"}),
        ),
        Field("data0", "DATA0", 0, 8, "number", "user data byte 0", _F0_DATA, 0xFF),
        Field("data1", "DATA1", 0, 8, "number", "user data byte 1", _F0_DATA, 0xFF),
        *_wrp_bytes(_F0_WRP, 0xFF),
    ),
    rdp_level0=0xAA,
    rdp_level1=0xBB,
    rdp_level2=0xCC,
    wrp=WrpScheme(
        "bits",
        ("wrp0", "wrp1", "wrp2", "wrp3"),
        "4 KB block",
        unit_bytes=4096,
        last_bit_covers_rest=True,  # F09x: bit 31 protects the last 132 KB (§4.1.3)
    ),
    notes=(
        "a byte whose complement does not match is loaded as 0xFF (OPTERR); 0xFF/0xFF is the "
        "erased state and loads as 0xFF without error (RM0091 §4)",
        "new option bytes are loaded at power-on or OBL_LAUNCH, not at a plain system reset",
    ),
    reject_products=("0x418",),
)

# -- STM32F105/107 connectivity line (PM0075 §2.5; AN2662 §3.12) ---------------------------------
_F1 = "PM0075 §2.5 (option byte format as RM0091 Table 10)"
STM32F1_CL = Family(
    name="stm32f1-cl",
    title="STM32F105/107 (connectivity line)",
    source="PM0075 §2.3.1 (RDPRT key 0x00A5) and §2.5; AN2662 §3.12 (4 KB write-protect sectors)",
    option_address=0x1FFFF800,
    sizes=(16,),
    storage="byte-pairs",
    registers=_BYTE_REGS,
    fields=(
        Field(
            "rdp",
            "RDP",
            0,
            8,
            "rdp",
            "read protection: 0xA5 unprotected, anything else protected (no level 2 on F1)",
            "PM0075 §2.3.1",
            0xA5,
        ),
        *_watchdog_and_resets("USER", 0, _F1, None),
        Field("data0", "DATA0", 0, 8, "number", "user data byte 0", _F1),
        Field("data1", "DATA1", 0, 8, "number", "user data byte 1", _F1),
        *_wrp_bytes(_F1, None),
    ),
    rdp_level0=0xA5,
    rdp_level1=0x00,
    rdp_level2=None,
    wrp=WrpScheme(
        "bits",
        ("wrp0", "wrp1", "wrp2", "wrp3"),
        "4 KB block",
        unit_bytes=4096,
        last_bit_covers_rest=True,  # bit 31: pages 62-127
    ),
    notes=("STM32F1 has no read-protection level 2",),
    detect_products=("0x418",),  # "STM32 0x418 DFU Bootloader" (dfuse-spec §2.7)
)

# -- STM32F2 / STM32F4 (RM0090 Rev 21 §3.7; F2: PM0059 §2.6) -------------------------------------
_F4 = "RM0090 Rev 21 §3.7.1 Table 16"
_F4_DEFAULT = "; factory value from FLASH_OPTCR reset value 0x0FFFAAED (RM0090 §3.9.9)"
STM32F2_F4 = Family(
    name="stm32f2-f4",
    title="STM32F2 / STM32F4 (bank 1, sectors 0-11)",
    source="RM0090 Rev 21 §3.7 (Tables 15, 16; 17 for SPRMOD); PM0059 §2.6 (F2)",
    option_address=0x1FFFC000,
    sizes=(16,),
    storage="halfword-rows",
    registers=(Register("OPTCR_L", 0, 16), Register("NWRP", 8, 16)),
    fields=(
        Field(
            "bor_lev",
            "OPTCR_L",
            2,
            2,
            "enum",
            "brown-out reset level (VBOR3/2/1), or off (POR/PDR threshold only)",
            _F4 + _F4_DEFAULT,
            3,
            MappingProxyType({0: "3", 1: "2", 2: "1", 3: "off"}),
            ("bor",),
        ),
        *_watchdog_and_resets("OPTCR_L", 5, _F4, 1),
        _rdp("OPTCR_L", 8, "RM0090 Rev 21 §3.7.3" + _F4_DEFAULT),
        Field(
            "nwrp",
            "NWRP",
            0,
            12,
            "wrp",
            "write protection of sectors 0-11 (bit = 0: protected; in PCROP mode bit = 1: "
            "PCROP, see sprmod)",
            "RM0090 Rev 21 §3.7.4" + _F4_DEFAULT,
            0xFFF,
        ),
        # Factory value: 0 ("Default") where the bit exists, 1 ("not used") on F405/407/415/417,
        # so none for the family. F401/F410/F411/F412/F413/F446/F469/F479 have it too (ST's
        # HAL defines OB_PCROP_SELECTED for them); RM0368/RM0383/RM0402/RM0390 not at hand.
        Field(
            "sprmod",
            "NWRP",
            15,
            1,
            "number",
            "nWRP mode on F401/F411/F412/F446/F42x/F43x: 0 write protection, 1 PCROP (nWRP bits "
            "active high: execute-only sectors); not used on F405/407/415/417 (reads 1)",
            "RM0090 Rev 21 §3.7.1 Tables 16 and 17, §3.7.5",
            default_note="0 where the bit exists; 1 on F405/407/415/417",
        ),
    ),
    rdp_level0=0xAA,
    rdp_level1=0xBB,
    rdp_level2=0xCC,
    wrp=WrpScheme("bits", ("nwrp",), "sector", mode_field="sprmod"),
    notes=(
        "bits 4 and 1:0 of the user byte and bits 14:12 of the nWRP word are kept as read "
        "(F42x/43x use them for BFB2 and DB1M)",
        "sprmod (nWRP bit 15) reading 1 means PCROP mode on F401/F411/F412/F446/F42x/F43x but "
        "is an unused bit on F405/407/415/417: write protection is then only changed with "
        "--wrp-mode (RM0090 Tables 16/17, §3.7.5)",
        "a mass erase is impossible while any sector is write-protected (RM0090 §3.7.4)",
        "level 1 -> 0 mass-erases the flash; option bytes and OTP stay (RM0090 §3.7.3)",
    ),
    max_flash_sectors=12,
)

# -- STM32G4 category 2/4, single bank (RM0440 §5.4.1) -------------------------------------------
_G4 = "RM0440 §5.4.1"
_G4_REGS = (
    Register("OPTR", 0x00, 32),
    Register("PCROP1SR", 0x08, 32),
    Register("PCROP1ER", 0x10, 32),
    Register("WRP1AR", 0x18, 32),
    Register("WRP1BR", 0x20, 32),
    Register("SEC1R", 0x28, 32),
)


def _g4_optr() -> tuple[Field, ...]:
    flags = (
        ("nrst_stop", 12, "reset when entering Stop mode", _FLAG_RESET, ()),
        ("nrst_stdby", 13, "reset when entering Standby mode", _FLAG_RESET, ()),
        ("nrst_shdw", 14, "reset when entering Shutdown mode", _FLAG_RESET, ()),
        ("iwdg_sw", 16, "independent watchdog", _FLAG_WDG, ("wdg_sw",)),
        ("iwdg_stop", 17, "independent watchdog in Stop mode", _RUN_FREEZE, ()),
        ("iwdg_stdby", 18, "independent watchdog in Standby mode", _RUN_FREEZE, ()),
        ("wwdg_sw", 19, "window watchdog", _FLAG_WDG, ()),
        ("nboot1", 23, "with BOOT0, selects the boot mode", MappingProxyType({0: "0", 1: "1"}), ()),
        ("sram_pe", 24, "SRAM1 and CCM SRAM parity check", _ENABLED_LOW, ()),
        ("ccmsram_rst", 25, "CCM SRAM erased at system reset", _ERASE_KEEP, ()),
        ("nswboot0", 26, "BOOT0 taken from the nBOOT0 bit or the pin", _OPTION_PIN, ()),
        (
            "nboot0",
            27,
            "BOOT0 value used when nSWBOOT0 = 0",
            MappingProxyType({0: "0", 1: "1"}),
            (),
        ),
        ("irh_en", 30, "internal reset holder on NRST", _ON_OFF, ()),
    )
    out = [
        _rdp("OPTR", 0, _G4),
        Field(
            "bor_lev",
            "OPTR",
            8,
            3,
            "enum",
            "brown-out reset level 0-4 (about 1.7 / 2.0 / 2.2 / 2.5 / 2.8 V)",
            _G4,
            0,
            MappingProxyType({i: str(i) for i in range(5)}),
            ("bor",),
        ),
        Field(
            "nrst_mode",
            "OPTR",
            28,
            2,
            "number",
            "PG10 pad mode (1 reset input only, 2 GPIO, 3 reset input/output)",
            _G4,
            3,
        ),
    ]
    production = 0xFFEFF8AA  # RM0440 §5.4.1 "ST production value"
    for name, bit, meaning, names, aliases in flags:
        out.append(_flag(name, "OPTR", bit, meaning, _G4, (production >> bit) & 1, names, aliases))
    return tuple(out)


_RUN_FREEZE = MappingProxyType({0: "frozen", 1: "running"})
_ERASE_KEEP = MappingProxyType({0: "erase", 1: "keep"})
_OPTION_PIN = MappingProxyType({0: "option", 1: "pin"})


def _g4_protection() -> tuple[Field, ...]:
    def number(name: str, reg: str, lsb: int, width: int, meaning: str, default: int) -> Field:
        return Field(name, reg, lsb, width, "number", meaning, _G4, default)

    return (
        number("pcrop1_strt", "PCROP1SR", 0, 16, "PCROP area start (double-word offset)", 0xFFFF),
        number("pcrop1_end", "PCROP1ER", 0, 16, "PCROP area end (double-word offset)", 0x0000),
        _flag(
            "pcrop_rdp",
            "PCROP1ER",
            31,
            "PCROP area erased when RDP goes from level 1 to 0",
            _G4,
            0,
            MappingProxyType({0: "keep", 1: "erase"}),
        ),
        number("wrp1a_strt", "WRP1AR", 0, 8, "write-protected area A, first page", 0xFF),
        number("wrp1a_end", "WRP1AR", 16, 8, "write-protected area A, last page", 0x00),
        number("wrp1b_strt", "WRP1BR", 0, 8, "write-protected area B, first page", 0xFF),
        number("wrp1b_end", "WRP1BR", 16, 8, "write-protected area B, last page", 0x00),
        _flag(
            "boot_lock",
            "SEC1R",
            16,
            "boot forced from main flash",
            _G4,
            0,
            MappingProxyType({0: "off", 1: "on"}),
        ),
        number("sec_size1", "SEC1R", 0, 9, "securable memory area size (pages)", 0),
    )


STM32G4 = Family(
    name="stm32g4",
    title="STM32G4 category 2/4 (single bank)",
    source="RM0440 §5.4.1 (Tables 20 and 21, ST production values)",
    option_address=0x1FFF7800,
    sizes=(48, 40),
    storage="word-pairs",
    registers=_G4_REGS,
    fields=(*_g4_optr(), *_g4_protection()),
    rdp_level0=0xAA,
    rdp_level1=0xBB,
    rdp_level2=0xCC,
    wrp=WrpScheme("ranges", ("wrp1a", "wrp1b"), "page", active_low=False, page_bytes=2048),
    notes=(
        "reserved bits are kept as read; ST: they are set after the first reprogramming",
        "a write-protected area is empty while its start page is after its end page",
    ),
    # STM32L4 ROMs show 40 bytes at 0x1FFF7800 too (OPTR..WRP1BR, no SEC1R) with other bits in
    # OPTR (RM0351): a 40-byte block is only decoded as G4 with --family stm32g4.
    detect_sizes=(48,),
)

FAMILIES: Mapping[str, Family] = MappingProxyType(
    {f.name: f for f in (STM32F0, STM32F1_CL, STM32F2_F4, STM32G4)}
)


def get_family(name: str) -> Family:
    """The family called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return FAMILIES[name.strip().lower()]
    except KeyError:
        raise KeyError(
            f"unknown option-byte family {name!r}; known: {', '.join(FAMILIES)}"
        ) from None
