/* Functions shared by the test applications' source files. */
#ifndef TEST_FW_APP_H
#define TEST_FW_APP_H

#include <stdint.h>

int tick_init(uint32_t core_hz);
int clock_init_72mhz(void);
void console_init(void);
void console_write(const char *text);
void board_checks(void);
extern volatile uint32_t tick_ms;

#endif
