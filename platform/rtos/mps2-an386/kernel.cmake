# FreeRTOS for the mps2-an386 board: the ARM_CM4F port and heap_4
# (included by platform/rtos/sources.cmake when NR_RTOS_BOARD is mps2-an386).
set(_m4 ${_rtos}/mps2-an386)
set(NR_FREERTOS_INCLUDES ${_frt}/include ${_frt}/portable/GCC/ARM_CM4F ${_m4})
add_library(nrfreertos STATIC
  ${_frt}/tasks.c ${_frt}/queue.c ${_frt}/list.c ${_frt}/timers.c ${_frt}/event_groups.c
  ${_frt}/stream_buffer.c
  ${_frt}/portable/GCC/ARM_CM4F/port.c
  ${_frt}/portable/MemMang/heap_4.c)
target_include_directories(nrfreertos PUBLIC ${NR_FREERTOS_INCLUDES})
target_compile_options(nrfreertos PRIVATE -w)
