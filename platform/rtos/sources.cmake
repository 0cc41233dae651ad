# The RTOS platform: FreeRTOS (third_party/freertos-kernel) + lwIP (Debian's
# source package, cmake/lwip.cmake) + the shim (platform/rtos/*.c, platform.h
# on lwIP sockets) + a board. The only board in the tree is the host board
# (platform/rtos/host): FreeRTOS's POSIX port, heap_3, lwIP on a TAP device.
# Its program is build-rtos/nanorelay, a FreeRTOS process; tests/rtos/run-host.sh
# runs it in a network namespace. Firmware builds their own board the same
# way: a FreeRTOSConfig.h, a port, the hooks of nr_board.h, and main.
# NR_RTOS_BOARD picks the board: host, or a folder of platform/rtos/ with a
# kernel.cmake (nrfreertos, NR_FREERTOS_INCLUDES) and a board.cmake (the
# firmware image). A cross build (cmake/arm-none-eabi.cmake) defaults to
# mps2-an386, QEMU's Cortex-M4 board (tests/rtos/qemu-m4.sh).
set(_rtos ${CMAKE_SOURCE_DIR}/platform/rtos)
set(_frt ${CMAKE_SOURCE_DIR}/third_party/freertos-kernel)
if(CMAKE_SYSTEM_NAME STREQUAL "Generic")
  set(_board_default mps2-an386)
else()
  set(_board_default host)
endif()
set(NR_RTOS_BOARD ${_board_default} CACHE STRING "The RTOS board: host, or a folder of platform/rtos/")

# The unit tests link the Linux shim or tests/sim: an RTOS build runs
# tests/rtos/run-host.sh instead.
set(NR_TESTS OFF)

# --- FreeRTOS, POSIX port (the host board) ---------------------------------------
if(NOT NR_RTOS_BOARD STREQUAL "host")
  include(${_rtos}/${NR_RTOS_BOARD}/kernel.cmake)
else()
set(NR_FREERTOS_INCLUDES ${_frt}/include ${_frt}/portable/ThirdParty/GCC/Posix
    ${_frt}/portable/ThirdParty/GCC/Posix/utils ${_rtos}/host)
add_library(nrfreertos STATIC
  ${_frt}/tasks.c ${_frt}/queue.c ${_frt}/list.c ${_frt}/timers.c ${_frt}/event_groups.c
  ${_frt}/stream_buffer.c
  ${_frt}/portable/ThirdParty/GCC/Posix/port.c
  ${_frt}/portable/ThirdParty/GCC/Posix/utils/wait_for_event.c
  ${_frt}/portable/MemMang/heap_3.c)
target_include_directories(nrfreertos PUBLIC ${NR_FREERTOS_INCLUDES})
target_compile_options(nrfreertos PRIVATE -w)
target_compile_definitions(nrfreertos PRIVATE _GNU_SOURCE) # the port is pthreads and signals
find_package(Threads REQUIRED)
target_link_libraries(nrfreertos PUBLIC Threads::Threads)
endif()

# --- lwIP ---------------------------------------------------------------------------
include(${CMAKE_SOURCE_DIR}/cmake/lwip.cmake)

# --- the shim: platform.h on FreeRTOS + lwIP, and lwIP's sys_arch ------------------------
add_library(nrplatform STATIC ${_rtos}/rtos_net.c ${_rtos}/rtos_sys.c ${_rtos}/rtos_heap.c
                       ${_rtos}/lwip/sys_arch.c)
if(CONFIG_NR_DNS_PLATFORM)
  # names through lwIP's DNS client (nr_plat_resolve_*; rtos_dns.h)
  target_sources(nrplatform PRIVATE ${_rtos}/rtos_dns.c)
endif()
target_include_directories(nrplatform PUBLIC ${_rtos} ${CMAKE_SOURCE_DIR}/platform
                           ${CMAKE_SOURCE_DIR}/src ${NR_GENERATED})
target_compile_options(nrplatform PRIVATE ${NR_WARN})
target_link_libraries(nrplatform PUBLIC nrlwip nrfreertos)

# --- the host board and its program ---------------------------------------------------
if(NOT NR_RTOS_BOARD STREQUAL "host")
  include(${_rtos}/${NR_RTOS_BOARD}/board.cmake)
  return()
endif()
set(_host_sources ${_rtos}/host/host_main.c ${_rtos}/host/host_tapif.c ${_rtos}/host/host_echo.c
    ${_rtos}/host/host_flash.c ${_rtos}/host/host_stats.c)
add_executable(nanorelay ${_host_sources})
target_compile_options(nanorelay PRIVATE ${NR_WARN})
# Board code may use Linux (the TAP device, /dev/urandom, files as blobs).
target_compile_definitions(nanorelay PRIVATE _GNU_SOURCE)
if(EXISTS ${CMAKE_SOURCE_DIR}/include/nanorelay.h)
  # The relay task, on the embedding API.
  target_sources(nanorelay PRIVATE ${_rtos}/host/host_relay.c)
  target_include_directories(nanorelay PRIVATE ${CMAKE_SOURCE_DIR}/include)
  target_compile_definitions(nanorelay PRIVATE NR_HOST_HAVE_RELAY)
  target_link_libraries(nanorelay PRIVATE nrcore nrplatform nrcore)
else()
  # nrcore: only what the self-test reaches (nr_strerror).
  target_link_libraries(nanorelay PRIVATE nrplatform nrcore)
endif()
