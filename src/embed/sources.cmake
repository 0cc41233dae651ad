# The embedding API (include/nanorelay.h): a relay from configuration text,
# run a turn at a time; the Linux daemon is built on it too.
file(GLOB _embed_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_embed_sources})
