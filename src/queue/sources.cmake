file(GLOB _queue_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_queue_sources})
# Group commit needs the loop's turn-end hooks (src/core/loop.c).
if(EXISTS "${CMAKE_SOURCE_DIR}/src/core/loop.c")
  set_source_files_properties(${_queue_sources} PROPERTIES COMPILE_DEFINITIONS NR_QUEUE_HAVE_LOOP=1)
endif()
