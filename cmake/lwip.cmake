# lwIP 2.1.3 for the RTOS platform, built from Debian bookworm's source package
# with our own lwipopts.h and FreeRTOS sys_arch (platform/rtos/lwip/).
#
# NR_LWIP_DIR names an unpacked lwIP source tree; left empty, configure runs
# tests/rtos/fetch-lwip.sh, which fetches it into the build directory once
# (Debian's mirror is the only download). Defines the static library
# `nrlwip` (lwIP's core, IPv4/IPv6, the sequential and socket APIs and the
# Ethernet netif helpers) and NR_LWIP_INCLUDES for code that includes lwIP
# headers. Needs the FreeRTOS include directories in NR_FREERTOS_INCLUDES.
set(NR_LWIP_DIR "" CACHE PATH "lwIP 2.1 source tree (empty: fetch Debian's source package)")
if(NOT NR_LWIP_DIR)
  execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/tests/rtos/fetch-lwip.sh ${CMAKE_BINARY_DIR}/lwip-src
                  OUTPUT_VARIABLE _lwip_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _rc)
  if(_rc OR NOT EXISTS "${_lwip_dir}/src/include/lwip/opt.h")
    message(FATAL_ERROR "lwIP: tests/rtos/fetch-lwip.sh failed (needs dpkg-dev, curl and a Debian "
                        "mirror; or set NR_LWIP_DIR to an lwIP 2.1 source tree)")
  endif()
  set(NR_LWIP_DIR "${_lwip_dir}" CACHE PATH "lwIP 2.1 source tree (empty: fetch Debian's source package)" FORCE)
endif()
message(STATUS "lwIP: ${NR_LWIP_DIR}")

file(GLOB _lwip_sources
     ${NR_LWIP_DIR}/src/core/*.c
     ${NR_LWIP_DIR}/src/core/ipv4/*.c
     ${NR_LWIP_DIR}/src/core/ipv6/*.c
     ${NR_LWIP_DIR}/src/api/*.c)
list(APPEND _lwip_sources ${NR_LWIP_DIR}/src/netif/ethernet.c)
set(NR_LWIP_INCLUDES ${NR_LWIP_DIR}/src/include ${CMAKE_SOURCE_DIR}/platform/rtos/lwip)

add_library(nrlwip STATIC ${_lwip_sources})
# sys_arch.h includes FreeRTOS; cc.h's hooks are declared there and defined
# in platform/rtos/lwip/sys_arch.c (nrplatform).
target_include_directories(nrlwip PUBLIC ${NR_LWIP_INCLUDES} ${NR_FREERTOS_INCLUDES})
# Foreign code: its own warnings are not ours to fix.
target_compile_options(nrlwip PRIVATE -w)
