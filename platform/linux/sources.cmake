# The Linux shim (also used by BusyBox builds): nrplatform + the executable.
file(GLOB _plat_sources CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/platform/linux/*.c")
list(REMOVE_ITEM _plat_sources "${CMAKE_SOURCE_DIR}/platform/linux/linux_main.c")
if(NOT CONFIG_NR_STORE_FILE AND NOT CONFIG_NR_STORE_MTD) # linux_bdev.c: their nr_plat_bdev_open
  list(REMOVE_ITEM _plat_sources "${CMAKE_SOURCE_DIR}/platform/linux/linux_bdev.c")
endif()
add_library(nrplatform STATIC ${_plat_sources})
target_include_directories(nrplatform PUBLIC ${CMAKE_SOURCE_DIR}/platform ${CMAKE_SOURCE_DIR}/src ${NR_GENERATED})
target_compile_options(nrplatform PRIVATE ${NR_WARN})
# glibc feature macros for POSIX calls; the core itself stays ISO C.
target_compile_definitions(nrplatform PRIVATE _GNU_SOURCE)

add_executable(nanorelay ${CMAKE_SOURCE_DIR}/platform/linux/linux_main.c)
target_compile_options(nanorelay PRIVATE ${NR_WARN})
target_link_libraries(nanorelay PRIVATE nrfront nrcore nrplatform nrfront nrcore)
