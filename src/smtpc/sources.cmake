# src/smtpc: the outbound side. Shared folder: reply.c (reply assembly),
# smtpc_*.c (the client session), delivery_*.c / delivery.c (the scheduler).
file(GLOB _smtpc_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_smtpc_sources})
