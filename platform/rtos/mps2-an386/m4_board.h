/*
 * m4_board.h - the mps2-an386 board (platform/rtos/mps2-an386): console,
 * exit status and the board's hooks for the RTOS shim.
 */
#ifndef NR_M4_BOARD_H
#define NR_M4_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* The console: CMSDK APB UART0 at 0x40004000, polled (QEMU's -nographic
 * serial). Safe from any task; a line from two tasks may interleave. */
void nr_m4_uart_init(void);
void nr_m4_uart_write(const char *s, size_t len);
void nr_m4_uart_puts(const char *s);
void nr_m4_uart_putu(uint32_t v);

/* The relay task's stack, in bytes (m4_main.c creates it; measured: under
 * 7 KB used with LTO, through TLS handshakes both ways). Named "relay":
 * FreeRTOSConfig.h's task hook counts that task's heap apart. */
#define NR_M4_RELAY_STACK 10240
void nr_m4_task_created(void *task, const char *name);

/* End the run (it prints the relay's RAM line first): QEMU exits with status (semihosting
 * SYS_EXIT_EXTENDED; QEMU must run with -semihosting). On a real board: a reset. */
__attribute__((noreturn)) void nr_m4_exit(int status);

#endif /* NR_M4_BOARD_H */
