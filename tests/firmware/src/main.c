/* A test application in the shape of a CubeMX project: HAL-like init (flash prefetch, priority
 * grouping, 1 ms SysTick), the clock tree, an LED and a UART with its interrupt, a banner, then
 * the main loop that sleeps in WFI. board_checks() (checks.c) is what the variants differ in.
 * Written for this project; MIT licence. */
#include "regs.h"
#include "app.h"

static void hal_like_init(void)
{
    FLASH_ACR |= FLASH_ACR_PRFTBE;
    SCB_AIRCR = SCB_AIRCR_VECTKEY | (3u << 8); /* priority group 4: preemption only */
    tick_init(8000000u);                         /* the HSI tick, as HAL_Init() does */
}

static void led_init(void)
{
    RCC_APB2ENR |= RCC_APB2ENR_IOPFEN;
    GPIOF_CRL = (GPIOF_CRL & 0xF0FFFFFFu) | 0x03000000u; /* PF6 push-pull output, 50 MHz */
}

void console_init(void)
{
    RCC_APB2ENR |= RCC_APB2ENR_IOPAEN | RCC_APB2ENR_USART1EN;
    USART1_BRR = 0x271u; /* 115200 Bd at 72 MHz */
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
    NVIC_IPR_BYTE(USART1_IRQn) = 0x80u;
    NVIC_ISER(USART1_IRQn / 32u) = 1u << (USART1_IRQn % 32u);
}

void console_write(const char *text)
{
    while (*text) {
        while (!(USART1_SR & USART_SR_TXE)) {
        }
        USART1_DR = (uint8_t)*text++;
    }
}

void USART1_IRQHandler(void)
{
    (void)USART1_DR;
}

int main(void)
{
    hal_like_init();
    if (clock_init_72mhz() != 0) {
        for (;;) {
        }
    }
    led_init();
    console_init();
    board_checks();
    console_write("pydfuse test application\r\n");
    irq_enable();
    for (;;) {
        GPIOF_BSRR = (tick_ms & 512u) ? (1u << 6) : (1u << 22);
        wait_for_interrupt();
    }
}
