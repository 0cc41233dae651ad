# src/dns: the resolver. dns_util.c is pure (literals, names, order, cache),
# and so is dns_wire.c (DNS messages, resolv.conf and hosts, for the stub);
# the backend is the Kconfig choice NR_DNS: dns_cares.c (the only file that
# includes ares.h), dns_stub.c (our own, over platform.h's sockets), or
# dns_platform.c: the platform's resolver through platform.h (lwIP's on an
# RTOS) or, for NR_DNS_NONE, literal addresses only.
list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/dns_util.c
     ${CMAKE_CURRENT_LIST_DIR}/dns_wire.c)
if(CONFIG_NR_DNS_STUB)
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/dns_stub.c)
elseif(CONFIG_NR_DNS_CARES)
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/dns_cares.c)
  list(APPEND NR_CORE_INCLUDES ${CARES_INCLUDE_DIRS})
  # ares.h uses fd_set and struct timeval, which strict ISO C mode hides.
  # No CARES_NO_DEPRECATED: with c-ares 1.34 a deprecated call fails -Werror.
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/dns_cares.c PROPERTIES
                              COMPILE_DEFINITIONS "_DEFAULT_SOURCE")
  if(CARES_LINK_LIBRARIES)
    list(APPEND NR_CORE_LIBS ${CARES_LINK_LIBRARIES})
  else()
    list(APPEND NR_CORE_LIBS ${CARES_LIBRARIES})
  endif()
else()
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/dns_platform.c)
endif()
