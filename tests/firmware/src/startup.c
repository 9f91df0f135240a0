/* Start-up code for pydfuse's test firmware (Cortex-M3, STM32F103xE): the vector table and a
 * reset handler that copies .data, clears .bss, calls SystemInit() and then main().
 * Written for this project; MIT licence. */
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;

void SystemInit(void);
int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void USART1_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

#define DEVICE_IRQS 60
typedef void (*vector_t)(void);

struct vector_table {
    uint32_t *initial_sp;
    vector_t system[15];
    vector_t device[DEVICE_IRQS];
};

__attribute__((section(".isr_vector"), used)) const struct vector_table vector_table = {
    .initial_sp = &_estack,
    .system = {
        Reset_Handler, NMI_Handler, HardFault_Handler, MemManage_Handler, BusFault_Handler,
        UsageFault_Handler, 0, 0, 0, 0, SVC_Handler, DebugMon_Handler, 0, PendSV_Handler,
        SysTick_Handler,
    },
    .device = {
        [0 ... 36] = Default_Handler,
        [37] = USART1_IRQHandler,
        [38 ... DEVICE_IRQS - 1] = Default_Handler,
    },
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    SystemInit();
    main();
    for (;;) {
    }
}

void Default_Handler(void)
{
    for (;;) {
    }
}
