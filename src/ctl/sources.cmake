# src/ctl: the control socket, a front end (nrfront, not the core).
# ctl_text.c (formatting) is pure and always built; the daemon side and the
# command line need local sockets (CONFIG_NR_CTL).
list(APPEND NR_FRONT_SOURCES ${CMAKE_CURRENT_LIST_DIR}/ctl_text.c)
if(CONFIG_NR_CTL)
  list(APPEND NR_FRONT_SOURCES ${CMAKE_CURRENT_LIST_DIR}/ctl.c ${CMAKE_CURRENT_LIST_DIR}/ctl_client.c)
else()
  list(APPEND NR_FRONT_SOURCES ${CMAKE_CURRENT_LIST_DIR}/ctl_none.c)
endif()
