# Toolchain file: Cortex-M4F firmware with Debian's gcc-arm-none-eabi and
# newlib-nano (libnewlib-arm-none-eabi). Used with
# configs/rtos_cortex_m4_defconfig; the board is platform/rtos/mps2-an386
# (QEMU's mps2-an386). See tests/rtos/qemu-m4.sh.
#   cmake -S . -B build-m4 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#         -DNR_DEFCONFIG=$PWD/configs/rtos_cortex_m4_defconfig -DCMAKE_BUILD_TYPE=MinSizeRel
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# The gcc- wrappers load the LTO plugin, so that archives of LTO objects
# get a symbol index.
set(CMAKE_AR arm-none-eabi-gcc-ar)
set(CMAKE_RANLIB arm-none-eabi-gcc-ranlib)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy)
set(CMAKE_SIZE arm-none-eabi-size)
# No operating system to link a test program against.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Thumb-2 with the single-precision FPU (FreeRTOS's ARM_CM4F port); one
# section per function so that the linker drops what is not reached.
set(NR_M4_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
# Link-time optimisation over the whole image (relay, mbedTLS, lwIP,
# FreeRTOS): 17 KB less flash in the self-test image (measured, 2026-12),
# and about 3 KB more of the relay task's stack (deeper inlining). The
# objects are fat (they carry normal code too): tests/bench/size.sh links
# them once more without LTO to split the image by module.
set(NR_M4_LTO ON CACHE BOOL "Cortex-M4 firmware: link-time optimisation")
if(NR_M4_LTO)
  set(_lto " -flto -ffat-lto-objects")
else()
  set(_lto "")
endif()
set(CMAKE_C_FLAGS_INIT "${NR_M4_CPU_FLAGS} -ffunction-sections -fdata-sections${_lto}")
set(CMAKE_ASM_FLAGS_INIT "${NR_M4_CPU_FLAGS}")
# newlib-nano, and libnosys's stubs for the system calls no board code
# provides (the board's _write is the UART).
set(CMAKE_EXE_LINKER_FLAGS_INIT "${NR_M4_CPU_FLAGS} --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections${_lto}")

# mbedTLS (cmake/mbedtls-src.cmake) with the firmware's overlay of the
# project's configuration: what a microcontroller relay does not use is out,
# and the record and ECC buffers are sized for its RAM.
set(NR_MBEDTLS_CONFIG "${CMAKE_CURRENT_LIST_DIR}/../configs/mbedtls/nanorelay-m4.h" CACHE FILEPATH
    "mbedTLS configuration header (MBEDTLS_CONFIG_FILE)")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
