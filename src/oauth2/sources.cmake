# src/oauth2: the built-in OAuth2 client's pure parts (form requests, the
# HTTP response, the JSON reply, the token store), only with CONFIG_NR_OAUTH2.
if(CONFIG_NR_OAUTH2)
  list(APPEND NR_CORE_SOURCES
       ${CMAKE_CURRENT_LIST_DIR}/oauth2_fetch.c
       ${CMAKE_CURRENT_LIST_DIR}/oauth2_http.c
       ${CMAKE_CURRENT_LIST_DIR}/oauth2_json.c
       ${CMAKE_CURRENT_LIST_DIR}/oauth2_keeper.c
       ${CMAKE_CURRENT_LIST_DIR}/oauth2_store.c)
endif()
