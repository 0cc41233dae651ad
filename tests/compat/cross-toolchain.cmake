# Toolchain for tests/compat/cross.sh: Debian's cross compiler for
# NR_CROSS_TRIPLET, the target's multiarch mbedTLS and c-ares
# (libmbedtls-dev:ARCH, libc-ares-dev:ARCH), and the tests run under
# qemu-user (NR_CROSS_QEMU): there is no binfmt_misc to run them directly.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${NR_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${NR_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${NR_CROSS_TRIPLET})
set(CMAKE_CROSSCOMPILING_EMULATOR ${NR_CROSS_QEMU})
# the target's libraries only (never the host's x86-64 ones)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${NR_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NR_CROSS_TRIPLET NR_CROSS_QEMU NR_CROSS_PROCESSOR)
