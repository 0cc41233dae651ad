# The mps2-an386 firmware image (QEMU's Cortex-M4F board): startup code and
# vector table, linker script, UART console, semihosting exit, the RAM flash
# and the self-test (m4_main.c). Included by platform/rtos/sources.cmake when
# NR_RTOS_BOARD is mps2-an386; built with cmake/arm-none-eabi.cmake.
# tests/rtos/qemu-m4.sh runs build-m4/firmware-m4.elf.
set(_m4 ${_rtos}/mps2-an386)
add_executable(firmware-m4 ${_m4}/startup.c ${_m4}/m4_board.c ${_m4}/m4_sys.c ${_m4}/m4_flash.c
                           ${_m4}/m4_main.c ${_m4}/m4_smarthost.c)
set_target_properties(firmware-m4 PROPERTIES SUFFIX ".elf")
target_compile_options(firmware-m4 PRIVATE ${NR_WARN})
target_include_directories(firmware-m4 PRIVATE ${_m4})
target_link_options(firmware-m4 PRIVATE -T${_m4}/mps2_an386.ld -Wl,-Map=${CMAKE_BINARY_DIR}/firmware-m4.map)
set_target_properties(firmware-m4 PROPERTIES LINK_DEPENDS ${_m4}/mps2_an386.ld)
target_link_libraries(firmware-m4 PRIVATE nrcore nrplatform nrcore)
# The board's lwIP sizing (nr_lwipopts_board.h, on NR_FREERTOS_INCLUDES):
# PUBLIC on nrlwip, so that lwIP, the shim and this image agree.
target_compile_definitions(nrlwip PUBLIC NR_LWIPOPTS_BOARD)
# The self-test's test CA and certificates, made at build time (nothing
# secret in the tree): m4_certs.h in the build directory.
set(_m4_gen ${CMAKE_BINARY_DIR}/m4)
add_custom_command(OUTPUT ${_m4_gen}/m4_certs.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_m4_gen}
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/rtos/m4-certs.sh ${_m4_gen}/m4_certs.h
  DEPENDS ${CMAKE_SOURCE_DIR}/tests/rtos/m4-certs.sh ${CMAKE_SOURCE_DIR}/tests/integration/lib/ca.sh
  COMMENT "firmware-m4: test certificates")
target_sources(firmware-m4 PRIVATE ${_m4_gen}/m4_certs.h)
target_include_directories(firmware-m4 PRIVATE ${_m4_gen})
