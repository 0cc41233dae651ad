# smtpd: the inbound sessions. smtpd_tls.c puts src/tls on a connection; it
# is picked only when the build has LAN TLS.
list(APPEND NR_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/smtpd.c
  ${CMAKE_CURRENT_LIST_DIR}/smtpd_session.c
  ${CMAKE_CURRENT_LIST_DIR}/smtpd_data.c
  ${CMAKE_CURRENT_LIST_DIR}/smtpd_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/smtpd_limits.c)
if(CONFIG_NR_LAN_TLS)
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/smtpd_tls.c)
else()
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/smtpd_tls_none.c)
endif()
