# src/smtpc: the SMTP client protocol, without I/O: reply.c (reply assembly,
# EHLO capabilities) and smtpc_*.c (the client session). The engine that
# drives it over the network is src/delivery.
file(GLOB _smtpc_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_smtpc_sources})
