# sendmail: the sendmail-compatible front end (nrfront, not the core), built only with
# CONFIG_NR_SENDMAIL (its unit test and fuzzer likewise); without it
# `nanorelay sendmail` and the sendmail/mailq/newaliases names are unknown.
if(CONFIG_NR_SENDMAIL)
  file(GLOB _sendmail_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
  list(APPEND NR_FRONT_SOURCES ${_sendmail_sources})
endif()
