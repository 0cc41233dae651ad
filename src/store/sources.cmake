# The storage backends: what every one shares, the write combiner over a
# shim's raw device operations (file, MTD and flash), and RAM.
list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/store.c ${CMAKE_CURRENT_LIST_DIR}/store_combine.c)
if(CONFIG_NR_STORE_RAM)
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_ram.c)
endif()
# mtd and flash: a raw NOR device from the shim or the board, plus the check
# that it is ours or erased
list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_mtd.c)
