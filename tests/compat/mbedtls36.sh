#!/usr/bin/env bash
# Build mbedTLS 3.6 from Debian trixie's source package, then build
# nanorelay against it and run the TLS tests: the adapter's unit tests and
# the end-to-end delivery over STARTTLS and implicit TLS to a real Postfix.
#
#   tests/compat/mbedtls36.sh [WORKDIR]     (default build-compat)
#
# Needs: dpkg-dev, curl, cmake, ninja, a reachable Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-$root/build-compat}" && cd "${1:-$root/build-compat}" && pwd)
jobs=${JOBS:-$(nproc)}
. "$root/tests/compat/fetch.sh"

msrc=$(compat_fetch "$work" mbedtls)
echo "compat: mbedTLS source $msrc"
prefix="$work/mbedtls-prefix"
if [ ! -f "$prefix/lib/libmbedtls.a" ]; then
	cmake -S "$msrc" -B "$work/mbedtls-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
		-DUSE_STATIC_MBEDTLS_LIBRARY=ON -DMBEDTLS_FATAL_WARNINGS=OFF \
		-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
	cmake --build "$work/mbedtls-build" -j"$jobs" >/dev/null
	cmake --install "$work/mbedtls-build" >/dev/null
fi
grep -m1 'define MBEDTLS_VERSION_STRING ' "$prefix/include/mbedtls/build_info.h"

# nanorelay against it: the cache variables the root CMakeLists looks for.
cmake -S "$root" -B "$work/nr-mbedtls36" -G Ninja \
	-DMBEDTLS_INCLUDE_DIR="$prefix/include" \
	-DMBEDTLS_LIB="$prefix/lib/libmbedtls.a" \
	-DMBEDX509_LIB="$prefix/lib/libmbedx509.a" \
	-DMBEDCRYPTO_LIB="$prefix/lib/libmbedcrypto.a" >/dev/null
cmake --build "$work/nr-mbedtls36" -j"$jobs" >/dev/null
# The binary must carry 3.6, not Debian's 2.28.
# (Printed from a variable: `tee /dev/stderr` would truncate a log file that
# stderr is redirected to.)
version=$("$work/nr-mbedtls36/nanorelay" --version)
printf '%s\n' "$version"
grep -q '^libraries: Mbed TLS 3\.6\.' <<<"$version"
(cd "$work/nr-mbedtls36" && ctest --output-on-failure -j"$jobs" \
	-R '^test_(tls|users|auth_users|delivery_postfix|delivery_tls_verify|inbound_clients)$')
