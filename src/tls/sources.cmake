# TLS adapter: mbedTLS when CONFIG_NR_TLS, else stubs that return NR_ENOTSUP.
# Only this module sees the mbedTLS headers.
if(CONFIG_NR_TLS)
  list(APPEND NR_CORE_SOURCES
       ${CMAKE_CURRENT_LIST_DIR}/tls_mbedtls.c
       ${CMAKE_CURRENT_LIST_DIR}/tls_session_mbedtls.c
       ${CMAKE_CURRENT_LIST_DIR}/tls_crypto_mbedtls.c
       ${CMAKE_CURRENT_LIST_DIR}/tls_conn.c)
  if(CONFIG_NR_TLS_CERTGEN)
    list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/tls_certgen_mbedtls.c)
  endif()
  list(APPEND NR_CORE_INCLUDES ${MBEDTLS_INCLUDE_DIR})
  list(APPEND NR_CORE_LIBS ${NR_MBEDTLS_LIBS})
else()
  list(APPEND NR_CORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/tls_none.c
       ${CMAKE_CURRENT_LIST_DIR}/tls_conn.c)
endif()
