# src/rewrite: envelope and header rewriting (pure, no I/O).
file(GLOB _rewrite_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_rewrite_sources})
