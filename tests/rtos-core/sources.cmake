# The core library for the RTOS configuration on a stub platform: a build
# check, not a port (the port is platform/rtos/). tests/all.sh's step
# "core for an RTOS (stub platform)" configures with
#   -DNR_DEFCONFIG=tests/rtos-core/rtos_core_defconfig
#   -DNR_PLATFORM_SOURCES=tests/rtos-core/sources.cmake
# so nrcore is compiled with NR_PLATFORM_RTOS's choices (no front end, no
# file or MTD store, no control socket, no sendmail) and linked whole with
# a shim of platform.h alone: a core call to posix.h or to a front end is an
# undefined symbol here.
add_library(nrstub STATIC ${CMAKE_CURRENT_LIST_DIR}/stub_platform.c)
target_include_directories(nrstub PRIVATE ${CMAKE_SOURCE_DIR}/platform)
target_compile_options(nrstub PRIVATE ${NR_WARN})

add_executable(rtos_core_link ${CMAKE_CURRENT_LIST_DIR}/link_main.c)
target_compile_options(rtos_core_link PRIVATE ${NR_WARN})
target_link_libraries(rtos_core_link PRIVATE -Wl,--whole-archive nrcore -Wl,--no-whole-archive nrstub)
