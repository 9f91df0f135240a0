/* The clock set-up and 1 ms tick every HAL application runs before main's loop: SysTick with
 * its interrupt (this is where interrupts first become possible), HSE 8 MHz -> PLL x9 = 72 MHz
 * with the waits on HSERDY, PLLRDY and SWS that a model of the chip must satisfy, and the
 * flash latency read back. Written for this project; MIT licence. */
#include "regs.h"
#include "app.h"

extern uint32_t SystemCoreClock;
volatile uint32_t tick_ms;

void SysTick_Handler(void)
{
    tick_ms++;
}

int tick_init(uint32_t core_hz)
{
    SYSTICK_LOAD = core_hz / 1000u - 1u;
    SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu) | (0xF0u << 24);
    SYSTICK_VAL = 0;
    SYSTICK_CTRL = SYSTICK_CTRL_CLKSOURCE | SYSTICK_CTRL_TICKINT | SYSTICK_CTRL_ENABLE;
    return 0;
}

int clock_init_72mhz(void)
{
    RCC_CR |= RCC_CR_HSEON;
    for (uint32_t timeout = 0x5000u; !(RCC_CR & RCC_CR_HSERDY); timeout--) {
        if (timeout == 0) {
            return -1;
        }
    }
    FLASH_ACR = (FLASH_ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_ACR_LATENCY_2 | FLASH_ACR_PRFTBE;
    if ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_ACR_LATENCY_2) {
        return -2;
    }
    RCC_CFGR |= RCC_CFGR_PLLSRC_HSE | RCC_CFGR_PLLMUL9 | RCC_CFGR_PPRE1_DIV2;
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
    SystemCoreClock = 72000000u;
    return tick_init(SystemCoreClock);
}
