/* Minimal STM32F103 (high density) and Cortex-M3 register definitions for pydfuse's test
 * firmware. Written for this project from the reference manual's address map (RM0008) and the
 * ARMv7-M architecture manual; only what the test applications touch. MIT licence. */
#ifndef TEST_FW_REGS_H
#define TEST_FW_REGS_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* Memory map */
#define FLASH_BASE_ADDR 0x08000000u
#define SRAM_BASE_ADDR  0x20000000u
#define FLASH_PAGE_SIZE 2048u

/* RCC (0x40021000) */
#define RCC_BASE      0x40021000u
#define RCC_CR        REG32(RCC_BASE + 0x00u)
#define RCC_CFGR      REG32(RCC_BASE + 0x04u)
#define RCC_CIR       REG32(RCC_BASE + 0x08u)
#define RCC_APB2ENR   REG32(RCC_BASE + 0x18u)
#define RCC_APB1ENR   REG32(RCC_BASE + 0x1Cu)
#define RCC_CR_HSION    (1u << 0)
#define RCC_CR_HSEON    (1u << 16)
#define RCC_CR_HSERDY   (1u << 17)
#define RCC_CR_PLLON    (1u << 24)
#define RCC_CR_PLLRDY   (1u << 25)
#define RCC_CFGR_SW_MASK   (3u << 0)
#define RCC_CFGR_SW_PLL    (2u << 0)
#define RCC_CFGR_SWS_MASK  (3u << 2)
#define RCC_CFGR_SWS_PLL   (2u << 2)
#define RCC_CFGR_PPRE1_DIV2 (4u << 8)
#define RCC_CFGR_PLLSRC_HSE (1u << 16)
#define RCC_CFGR_PLLMUL9    (7u << 18)
#define RCC_APB2ENR_IOPFEN   (1u << 7)
#define RCC_APB2ENR_USART1EN (1u << 14)
#define RCC_APB2ENR_IOPAEN   (1u << 2)

/* Embedded flash interface (0x40022000) */
#define FLASH_IF_BASE 0x40022000u
#define FLASH_ACR     REG32(FLASH_IF_BASE + 0x00u)
#define FLASH_KEYR    REG32(FLASH_IF_BASE + 0x04u)
#define FLASH_SR      REG32(FLASH_IF_BASE + 0x0Cu)
#define FLASH_CR      REG32(FLASH_IF_BASE + 0x10u)
#define FLASH_AR      REG32(FLASH_IF_BASE + 0x14u)
#define FLASH_ACR_LATENCY_MASK 7u
#define FLASH_ACR_LATENCY_2    2u
#define FLASH_ACR_PRFTBE       (1u << 4)
#define FLASH_SR_BSY    (1u << 0)
#define FLASH_CR_PER    (1u << 1)
#define FLASH_CR_STRT   (1u << 6)
#define FLASH_CR_LOCK   (1u << 7)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

/* GPIOF (0x40011C00): the STM3210E-EVAL's LEDs are on PF6..PF9 */
#define GPIOF_BASE 0x40011C00u
#define GPIOF_CRL  REG32(GPIOF_BASE + 0x00u)
#define GPIOF_CRH  REG32(GPIOF_BASE + 0x04u)
#define GPIOF_BSRR REG32(GPIOF_BASE + 0x10u)
#define GPIOF_ODR  REG32(GPIOF_BASE + 0x0Cu)

/* USART1 (0x40013800) */
#define USART1_BASE 0x40013800u
#define USART1_SR   REG32(USART1_BASE + 0x00u)
#define USART1_DR   REG32(USART1_BASE + 0x04u)
#define USART1_BRR  REG32(USART1_BASE + 0x08u)
#define USART1_CR1  REG32(USART1_BASE + 0x0Cu)
#define USART_SR_TXE   (1u << 7)
#define USART_CR1_UE     (1u << 13)
#define USART_CR1_TE     (1u << 3)
#define USART_CR1_RE     (1u << 2)
#define USART_CR1_RXNEIE (1u << 5)
#define USART1_IRQn 37u

/* Cortex-M3 system control space */
#define SYSTICK_CTRL REG32(0xE000E010u)
#define SYSTICK_LOAD REG32(0xE000E014u)
#define SYSTICK_VAL  REG32(0xE000E018u)
#define SYSTICK_CTRL_ENABLE    (1u << 0)
#define SYSTICK_CTRL_TICKINT   (1u << 1)
#define SYSTICK_CTRL_CLKSOURCE (1u << 2)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_IPR_BYTE(n) (*(volatile uint8_t *)(0xE000E400u + (n)))
#define SCB_VTOR  REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_SHPR3 REG32(0xE000ED20u)
#define SCB_AIRCR_VECTKEY (0x05FAu << 16)

static inline void irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void wait_for_interrupt(void) { __asm volatile("wfi"); }

#endif
