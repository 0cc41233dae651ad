# sendmail: the sendmail-compatible front end. Always compiled (the unit
# tests use it); the program calls it only when CONFIG_NR_SENDMAIL is set.
file(GLOB _sendmail_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_sendmail_sources})
