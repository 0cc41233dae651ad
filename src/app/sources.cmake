# src/app: the front end (nrfront, not the core): the command line, the
# daemon, --check-config's look at the machine, the local submit socket,
# test-upstream and `oauth2 login`. It may use platform/posix.h.
file(GLOB _app_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
if(NOT CONFIG_NR_OAUTH2)
  list(REMOVE_ITEM _app_sources "${CMAKE_CURRENT_LIST_DIR}/oauth2_login.c")
endif()
list(APPEND NR_FRONT_SOURCES ${_app_sources})
