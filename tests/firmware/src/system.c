/* SystemInit() in the shape of the STM32Cube template: reset the clock tree to HSI and, only
 * when USER_VECT_TAB_ADDRESS is defined, point SCB->VTOR at the application's own vector
 * table. Cube ships the define commented out, which is the mistake pydfuse's run check
 * catches in applications loaded behind a DFU bootloader. Written for this project; MIT. */
#include "regs.h"

#ifndef VECT_TAB_OFFSET
#define VECT_TAB_OFFSET 0x00000000u
#endif

uint32_t SystemCoreClock = 8000000u;

void SystemInit(void)
{
    RCC_CR |= RCC_CR_HSION;
    RCC_CFGR &= 0xF8FF0000u;
    RCC_CR &= 0xFEF6FFFFu;
    RCC_CFGR &= 0xFF80FFFFu;
    RCC_CIR = 0x009F0000u;
#if defined(USER_VECT_TAB_ADDRESS)
    SCB_VTOR = FLASH_BASE_ADDR | VECT_TAB_OFFSET;
#endif
}
