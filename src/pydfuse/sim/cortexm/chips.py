"""What a running application sees of an STM32 besides its core: data only (layer: sim).

Imports nothing from pydfuse. Every address is from the part's reference manual memory map
(RM0008 for STM32F1, RM0090 for STM32F405/407); register rules name the bits a start-up code
waits for. The peripheral model (``peripherals``) is permissive: a register not listed here
reads back what was last written to it (0 after reset).

Rules:
- ``ready``: while the control bits are set in the stored value, the ready bits read 1, and 0
  otherwise (RCC: HSEON -> HSERDY, PLLON -> PLLRDY; HAL also waits for PLLRDY to drop after
  turning the PLL off).
- ``mirror``: a status field reads what was written to its control field (RCC_CFGR SWS = SW).
- ``always``: bits that always read 1 (UART TXE/TC, RTC RTOFF/RSF, ADC EOC).
- ``self_clear``: bits that read 0 right after they were set (ADC calibration, flash STRT).
- ``unlock``: a write to the key register clears the lock bit of the control register.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["CHIPS", "Chip", "FlashController", "ReadyRule", "get_chip"]

CpuModel = Literal["cortex-m0", "cortex-m3", "cortex-m4"]


@dataclass(frozen=True, slots=True)
class ReadyRule:
    """``ready`` bits of ``register`` read 1 while its ``control`` bits are set."""

    register: int
    control: int
    ready: int


@dataclass(frozen=True, slots=True)
class FlashController:
    """Where the embedded flash interface's registers are and which bits start work."""

    cr: int  # control register
    ar: int | None  # address register (F1 page erase); None where sectors are numbered
    keyr: int
    lock: int  # LOCK bit in CR
    pg: int  # programming enabled
    page_erase: int  # PER (F1) / SER (F4)
    mass_erase: int  # MER
    start: int  # STRT
    sector_shift: int = 0  # F4: SNB field position in CR
    sector_mask: int = 0


@dataclass(frozen=True, slots=True)
class Chip:
    """One family's peripheral map and the register behaviour start-up code relies on."""

    name: str
    cpu: CpuModel
    cpuid: int  # SCB->CPUID of the core revision the family ships
    peripherals: tuple[tuple[int, int, str], ...]  # (base, size, name), sorted by base
    reset_values: Mapping[int, int]
    ready: tuple[ReadyRule, ...]
    mirror: tuple[tuple[int, int, int], ...]  # (register, control mask, shift to status)
    always: Mapping[int, int]
    self_clear: Mapping[int, int]
    flash: FlashController
    system_area: tuple[int, int]  # [start, end) of system memory + OTP/option bytes/IDs
    uid_address: int
    flash_size_address: int  # 16-bit flash size in KB
    # Cortex-M0 has no VTOR: the table is read at address 0, and SYSCFG_CFGR1 MEM_MODE (this
    # register, bits 1:0) chooses what appears there: main flash, system memory or SRAM.
    remap_register: int | None = None


def _blocks(base: int, step: int, names: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((base + i * step, step, name) for i, name in enumerate(names.split()))


def _clock_ready(rcc: int, bdcr: int, csr: int) -> tuple[ReadyRule, ...]:
    """The clock-ready flags every STM32 RCC has: HSI, HSE and PLL in RCC_CR (bit n+1 follows
    bit n), LSE in the backup domain register, LSI in the control/status register."""
    return (
        ReadyRule(rcc, 1 << 0, 1 << 1),  # HSION -> HSIRDY
        ReadyRule(rcc, 1 << 16, 1 << 17),  # HSEON -> HSERDY
        ReadyRule(rcc, 1 << 24, 1 << 25),  # PLLON -> PLLRDY
        ReadyRule(bdcr, 1 << 0, 1 << 1),  # LSEON -> LSERDY
        ReadyRule(csr, 1 << 0, 1 << 1),  # LSION -> LSIRDY
    )


# RM0008 §3.3 / RM0091 §3.5: the F1 and F0 flash interfaces share their registers and bits.
_F1_STYLE_FLASH = FlashController(
    cr=0x40022010,
    ar=0x40022014,
    keyr=0x40022004,
    lock=1 << 7,
    pg=1 << 0,
    page_erase=1 << 1,
    mass_erase=1 << 2,
    start=1 << 6,
)


# RM0008 §3.3 (memory map of the high-density STM32F101/103 and connectivity line).
_F1_PERIPHERALS = tuple(
    sorted(
        (
            *_blocks(0x40000000, 0x400, "TIM2 TIM3 TIM4 TIM5 TIM6 TIM7"),
            (0x40002800, 0x400, "RTC"),
            (0x40002C00, 0x400, "WWDG"),
            (0x40003000, 0x400, "IWDG"),
            (0x40003800, 0x400, "SPI2"),
            (0x40003C00, 0x400, "SPI3"),
            *_blocks(0x40004400, 0x400, "USART2 USART3 UART4 UART5 I2C1 I2C2 USB"),
            (0x40006000, 0x400, "USB/CAN SRAM"),
            (0x40006400, 0x400, "CAN1"),
            (0x40006800, 0x400, "CAN2"),
            (0x40006C00, 0x400, "BKP"),
            (0x40007000, 0x400, "PWR"),
            (0x40007400, 0x400, "DAC"),
            (0x40010000, 0x400, "AFIO"),
            (0x40010400, 0x400, "EXTI"),
            *_blocks(0x40010800, 0x400, "GPIOA GPIOB GPIOC GPIOD GPIOE GPIOF GPIOG"),
            *_blocks(0x40012400, 0x400, "ADC1 ADC2 TIM1 SPI1 TIM8 USART1 ADC3"),
            (0x40018000, 0x400, "SDIO"),
            (0x40020000, 0x400, "DMA1"),
            (0x40020400, 0x400, "DMA2"),
            (0x40021000, 0x400, "RCC"),
            (0x40022000, 0x400, "FLASH"),
            (0x40023000, 0x400, "CRC"),
            (0x40028000, 0x2000, "ETHERNET"),
            (0x50000000, 0x40000, "USB OTG FS"),
            (0xA0000000, 0x1000, "FSMC"),
        )
    )
)
_F1_RCC = 0x40021000
_F1_FLASH = 0x40022000

STM32F1 = Chip(
    name="stm32f1",
    cpu="cortex-m3",
    cpuid=0x411FC231,  # Cortex-M3 r1p1 (STM32F10x high density, PM0056)
    peripherals=_F1_PERIPHERALS,
    reset_values=MappingProxyType(
        {
            _F1_RCC + 0x00: 0x00000083,  # RCC_CR: HSION, HSIRDY, HSITRIM = 16
            _F1_RCC + 0x24: 0x0C000000,  # RCC_CSR: PINRSTF | PORRSTF
            _F1_FLASH + 0x00: 0x00000030,  # FLASH_ACR: prefetch enabled and on
            _F1_FLASH + 0x10: 0x00000080,  # FLASH_CR: LOCK
            _F1_FLASH + 0x1C: 0x03FFFFFC,  # FLASH_OBR: no read protection, user bytes FF
            _F1_FLASH + 0x20: 0xFFFFFFFF,  # FLASH_WRPR: nothing write-protected
            0x40002804: 0x00000020,  # RTC_CRL: RTOFF
            **{base: 0x000000C0 for base, _, n in _F1_PERIPHERALS if "ART" in n},  # SR: TXE|TC
            **{base + 0x08: 0x00000002 for base, _, n in _F1_PERIPHERALS if n[:3] == "SPI"},
            **{base + 0x00: 0x44444444 for base, _, n in _F1_PERIPHERALS if n[:4] == "GPIO"},
            **{base + 0x04: 0x44444444 for base, _, n in _F1_PERIPHERALS if n[:4] == "GPIO"},
        }
    ),
    ready=(
        *_clock_ready(_F1_RCC, _F1_RCC + 0x20, _F1_RCC + 0x24),
        ReadyRule(_F1_RCC + 0x00, 1 << 26, 1 << 27),  # PLL2ON -> PLL2RDY (connectivity line)
        ReadyRule(_F1_RCC + 0x00, 1 << 28, 1 << 29),  # PLL3ON -> PLL3RDY
    ),
    mirror=(
        (_F1_RCC + 0x04, 0x3, 2),  # CFGR: SWS = SW
        (_F1_FLASH + 0x00, 1 << 4, 1),  # ACR: PRFTBS = PRFTBE
    ),
    always=MappingProxyType(
        {
            0x40002804: (1 << 5) | (1 << 3),  # RTC_CRL: RTOFF, RSF
            **{base: 0xC0 for base, _, n in _F1_PERIPHERALS if "ART" in n},  # TXE, TC
            **{base: 1 << 1 for base, _, n in _F1_PERIPHERALS if n[:3] == "ADC"},  # EOC
        }
    ),
    self_clear=MappingProxyType(
        {
            **{base + 0x08: 0xC for base, _, n in _F1_PERIPHERALS if n[:3] == "ADC"},  # CAL
            _F1_FLASH + 0x10: 1 << 6,  # FLASH_CR: STRT
        }
    ),
    flash=_F1_STYLE_FLASH,
    system_area=(0x1FFFF000, 0x1FFFF810),  # system memory, IDs, option bytes
    uid_address=0x1FFFF7E8,
    flash_size_address=0x1FFFF7E0,
)

# RM0090 §2.3 (STM32F405/407 memory map).
_F4_PERIPHERALS = tuple(
    sorted(
        (
            *_blocks(0x40000000, 0x400, "TIM2 TIM3 TIM4 TIM5 TIM6 TIM7 TIM12 TIM13 TIM14"),
            (0x40002800, 0x400, "RTC"),
            (0x40002C00, 0x400, "WWDG"),
            (0x40003000, 0x400, "IWDG"),
            (0x40003800, 0x400, "SPI2"),
            (0x40003C00, 0x400, "SPI3"),
            *_blocks(0x40004400, 0x400, "USART2 USART3 UART4 UART5 I2C1 I2C2 I2C3"),
            (0x40006400, 0x400, "CAN1"),
            (0x40006800, 0x400, "CAN2"),
            (0x40007000, 0x400, "PWR"),
            (0x40007400, 0x400, "DAC"),
            (0x40010000, 0x400, "TIM1"),
            (0x40010400, 0x400, "TIM8"),
            (0x40011000, 0x400, "USART1"),
            (0x40011400, 0x400, "USART6"),
            (0x40012000, 0x400, "ADC"),
            (0x40012C00, 0x400, "SDIO"),
            (0x40013000, 0x400, "SPI1"),
            (0x40013800, 0x400, "SYSCFG"),
            (0x40013C00, 0x400, "EXTI"),
            *_blocks(0x40014000, 0x400, "TIM9 TIM10 TIM11"),
            *_blocks(0x40020000, 0x400, "GPIOA GPIOB GPIOC GPIOD GPIOE GPIOF GPIOG GPIOH GPIOI"),
            (0x40023000, 0x400, "CRC"),
            (0x40023800, 0x400, "RCC"),
            (0x40023C00, 0x400, "FLASH"),
            (0x40024000, 0x1000, "BKPSRAM"),
            (0x40026000, 0x400, "DMA1"),
            (0x40026400, 0x400, "DMA2"),
            (0x40028000, 0x1400, "ETHERNET"),
            (0x40040000, 0x40000, "USB OTG HS"),
            (0x50000000, 0x40000, "USB OTG FS"),
            (0x50050000, 0x400, "DCMI"),
            (0x50060800, 0x400, "RNG"),
            (0xA0000000, 0x1000, "FSMC"),
        )
    )
)
_F4_RCC = 0x40023800
_F4_FLASH = 0x40023C00

STM32F4 = Chip(
    name="stm32f4",
    cpu="cortex-m4",
    cpuid=0x410FC241,  # Cortex-M4 r0p1 (PM0214)
    peripherals=_F4_PERIPHERALS,
    reset_values=MappingProxyType(
        {
            _F4_RCC + 0x00: 0x00000083,  # RCC_CR: HSION, HSIRDY, HSITRIM = 16
            _F4_RCC + 0x04: 0x24003010,  # RCC_PLLCFGR
            _F4_RCC + 0x74: 0x0E000000,  # RCC_CSR
            _F4_FLASH + 0x10: 0x80000000,  # FLASH_CR: LOCK
            _F4_FLASH + 0x14: 0x0FFFAAED,  # FLASH_OPTCR
            0x40007004: 1 << 14,  # PWR_CSR: VOSRDY
            **{base: 0x000000C0 for base, _, n in _F4_PERIPHERALS if "ART" in n},
            **{base + 0x08: 0x00000002 for base, _, n in _F4_PERIPHERALS if n[:3] == "SPI"},
        }
    ),
    ready=(
        *_clock_ready(_F4_RCC, _F4_RCC + 0x70, _F4_RCC + 0x74),
        ReadyRule(_F4_RCC + 0x00, 1 << 26, 1 << 27),  # PLLI2SON -> PLLI2SRDY
    ),
    mirror=((_F4_RCC + 0x08, 0x3, 2),),  # CFGR: SWS = SW
    always=MappingProxyType(
        {
            0x40007004: 1 << 14,  # PWR_CSR: VOSRDY
            0x4000280C: (1 << 5) | (1 << 6),  # RTC_ISR: RSF, INITF
            **{base: 0xC0 for base, _, n in _F4_PERIPHERALS if "ART" in n},
            0x40012000: 1 << 1,  # ADC1 SR: EOC
        }
    ),
    self_clear=MappingProxyType({_F4_FLASH + 0x10: 1 << 16}),  # FLASH_CR: STRT
    flash=FlashController(
        cr=_F4_FLASH + 0x10,
        ar=None,
        keyr=_F4_FLASH + 0x04,
        lock=1 << 31,
        pg=1 << 0,
        page_erase=1 << 1,
        mass_erase=1 << 2,
        start=1 << 16,
        sector_shift=3,
        sector_mask=0xF,
    ),
    system_area=(0x1FFF0000, 0x1FFF7A30),  # system memory, OTP, UID, flash size
    uid_address=0x1FFF7A10,
    flash_size_address=0x1FFF7A22,
)

# RM0091 §2.2 (STM32F0x1/F0x2/F0x8 memory map, here the STM32F072).
_F0_PERIPHERALS = tuple(
    sorted(
        (
            (0x40000000, 0x400, "TIM2"),
            (0x40000400, 0x400, "TIM3"),
            (0x40001000, 0x400, "TIM6"),
            (0x40001400, 0x400, "TIM7"),
            (0x40002000, 0x400, "TIM14"),
            (0x40002800, 0x400, "RTC"),
            (0x40002C00, 0x400, "WWDG"),
            (0x40003000, 0x400, "IWDG"),
            (0x40003800, 0x400, "SPI2"),
            *_blocks(0x40004400, 0x400, "USART2 USART3 USART4"),
            (0x40005400, 0x400, "I2C1"),
            (0x40005800, 0x400, "I2C2"),
            (0x40005C00, 0x400, "USB"),
            (0x40006000, 0x400, "USB SRAM"),
            (0x40006400, 0x400, "CAN"),
            (0x40006C00, 0x400, "CRS"),
            (0x40007000, 0x400, "PWR"),
            (0x40007400, 0x400, "DAC"),
            (0x40007800, 0x400, "CEC"),
            (0x40010000, 0x400, "SYSCFG"),
            (0x40010400, 0x400, "EXTI"),
            (0x40012400, 0x400, "ADC"),
            (0x40012C00, 0x400, "TIM1"),
            (0x40013000, 0x400, "SPI1"),
            (0x40013800, 0x400, "USART1"),
            *_blocks(0x40014000, 0x400, "TIM15 TIM16 TIM17"),
            (0x40015800, 0x400, "DBGMCU"),
            (0x40020000, 0x400, "DMA"),
            (0x40021000, 0x400, "RCC"),
            (0x40022000, 0x400, "FLASH"),
            (0x40023000, 0x400, "CRC"),
            (0x40024000, 0x400, "TSC"),
            *_blocks(0x48000000, 0x400, "GPIOA GPIOB GPIOC GPIOD GPIOE GPIOF"),
        )
    )
)
_F0_RCC = 0x40021000
_F0_FLASH = 0x40022000
_F0_UARTS = tuple(base for base, _, n in _F0_PERIPHERALS if n.startswith("USART"))
_F0_UART_ISR = 0xC0 | (1 << 21) | (1 << 22)  # TXE, TC, TEACK, REACK

STM32F0 = Chip(
    name="stm32f0",
    cpu="cortex-m0",
    cpuid=0x410CC200,  # Cortex-M0 r0p0 (PM0215)
    peripherals=_F0_PERIPHERALS,
    reset_values=MappingProxyType(
        {
            _F0_RCC + 0x00: 0x00000083,  # RCC_CR: HSION, HSIRDY, HSITRIM = 16
            _F0_RCC + 0x24: 0x0C000000,  # RCC_CSR
            _F0_FLASH + 0x00: 0x00000030,  # FLASH_ACR: prefetch enabled and on
            _F0_FLASH + 0x10: 0x00000080,  # FLASH_CR: LOCK
            **{base + 0x1C: _F0_UART_ISR for base in _F0_UARTS},
            **{base + 0x08: 0x00000002 for base, _, n in _F0_PERIPHERALS if n[:3] == "SPI"},
        }
    ),
    ready=(
        *_clock_ready(_F0_RCC, _F0_RCC + 0x20, _F0_RCC + 0x24),
        ReadyRule(_F0_RCC + 0x34, 1 << 0, 1 << 1),  # CR2: HSI14ON -> HSI14RDY
        ReadyRule(_F0_RCC + 0x34, 1 << 16, 1 << 17),  # CR2: HSI48ON -> HSI48RDY
    ),
    mirror=(
        (_F0_RCC + 0x04, 0x3, 2),  # CFGR: SWS = SW
        (_F0_FLASH + 0x00, 1 << 4, 1),  # ACR: PRFTBS = PRFTBE
    ),
    always=MappingProxyType(
        {
            **{base + 0x1C: _F0_UART_ISR for base in _F0_UARTS},
            0x40012400: (1 << 0) | (1 << 2),  # ADC_ISR: ADRDY, EOC
        }
    ),
    self_clear=MappingProxyType(
        {
            0x40012408: 1 << 31,  # ADC_CR: ADCAL
            _F0_FLASH + 0x10: 1 << 6,  # FLASH_CR: STRT
        }
    ),
    flash=_F1_STYLE_FLASH,
    # The mapped system area from the page start (each board profile says where its system
    # memory begins: 0x1FFFC800 on the F072); option bytes at 0x1FFFF800 (their alternate is
    # laid over it).
    system_area=(0x1FFFC000, 0x1FFFF810),
    uid_address=0x1FFFF7AC,
    flash_size_address=0x1FFFF7CC,
    remap_register=0x40010000,  # SYSCFG_CFGR1
)

CHIPS: Mapping[str, Chip] = MappingProxyType({c.name: c for c in (STM32F0, STM32F1, STM32F4)})


def get_chip(name: str) -> Chip:
    """The chip model ``name`` (``KeyError`` naming the known ones otherwise)."""
    try:
        return CHIPS[name]
    except KeyError:
        raise KeyError(f"unknown chip model {name!r}; known: {', '.join(CHIPS)}") from None
