# mbedTLS 2.28 built from Debian 12's source package with the project's
# configuration (NR_MBEDTLS_CONFIG: configs/mbedtls/nanorelay-2.28.h, or
# the firmware's overlay nanorelay-m4.h), for builds that have no
# mbedTLS of their own to find: the Cortex-M4 firmware (NR_MBEDTLS_FROM_SOURCE,
# on by default for a bare-metal cross build). Debian's mirror is the only
# download (tests/compat/fetch.sh, as for lwIP).
#
# NR_MBEDTLS_DIR names an unpacked mbedTLS 2.28 source tree; left empty,
# configure fetches it into the build directory once. Defines the static
# library `nrmbedtls` (crypto, X.509 and TLS in one archive) with
# MBEDTLS_CONFIG_FILE as a PUBLIC definition, so that the adapter (src/tls)
# compiles against the structures the library was built with, and sets
# MBEDTLS_INCLUDE_DIR and NR_MBEDTLS_LIBS as the find_* path would.
set(NR_MBEDTLS_DIR "" CACHE PATH "mbedTLS 2.28 source tree (empty: fetch Debian's source package)")
if(NOT NR_MBEDTLS_DIR)
  execute_process(COMMAND bash -c ". \"$0/tests/compat/fetch.sh\" && compat_fetch \"$1\" mbedtls bookworm"
                          ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/mbedtls-src
                  OUTPUT_VARIABLE _mbedtls_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _rc)
  if(_rc OR NOT EXISTS "${_mbedtls_dir}/include/mbedtls/ssl.h")
    message(FATAL_ERROR "mbedTLS: fetching Debian's source package failed (needs dpkg-dev, curl "
                        "and a Debian mirror; or set NR_MBEDTLS_DIR to an mbedTLS 2.28 source tree)")
  endif()
  set(NR_MBEDTLS_DIR "${_mbedtls_dir}" CACHE PATH "mbedTLS 2.28 source tree (empty: fetch Debian's source package)" FORCE)
endif()
message(STATUS "mbedTLS: ${NR_MBEDTLS_DIR}")

# The configuration header: the project's, or a firmware's overlay of it
# (cmake/arm-none-eabi.cmake sets configs/mbedtls/nanorelay-m4.h).
set(NR_MBEDTLS_CONFIG "${CMAKE_SOURCE_DIR}/configs/mbedtls/nanorelay-2.28.h" CACHE FILEPATH
    "mbedTLS configuration header (MBEDTLS_CONFIG_FILE)")
message(STATUS "mbedTLS configuration: ${NR_MBEDTLS_CONFIG}")
file(GLOB _mbedtls_sources ${NR_MBEDTLS_DIR}/library/*.c)
add_library(nrmbedtls STATIC ${_mbedtls_sources})
target_include_directories(nrmbedtls PUBLIC ${NR_MBEDTLS_DIR}/include)
target_compile_definitions(nrmbedtls PUBLIC "MBEDTLS_CONFIG_FILE=\"${NR_MBEDTLS_CONFIG}\"")
# Foreign code: its own warnings are not ours to fix.
target_compile_options(nrmbedtls PRIVATE -w)
set(MBEDTLS_INCLUDE_DIR ${NR_MBEDTLS_DIR}/include)
set(NR_MBEDTLS_LIBS nrmbedtls)
