#!/usr/bin/env bash
# Build mbedTLS 3.6 from Debian trixie's source package (private apt lists,
# nothing under /etc/apt changes), then build nanorelay against it and run
# the TLS unit tests (test_tls, test_users).
#
#   tests/compat/mbedtls36.sh [WORKDIR]     (default /tmp/nr-compat-mbedtls)
#
# Needs: dpkg-dev (dpkg-source), cmake, ninja, a reachable Debian mirror.
set -euo pipefail
src_root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/nr-compat-mbedtls}"
mirror="${NR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
jobs="${NR_JOBS:-2}"
mkdir -p "$work/lists/partial" "$work/src"

list="$work/sources.list"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$list"
apt_opts=(-o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1)

if ! ls -d "$work"/src/mbedtls-3.* >/dev/null 2>&1; then
	apt-get "${apt_opts[@]}" -qq update
	(cd "$work/src" && apt-get "${apt_opts[@]}" -qq source mbedtls)
fi
msrc="$(ls -d "$work"/src/mbedtls-3.* | head -1)"
echo "compat: mbedTLS source $msrc"

prefix="$work/prefix"
if [ ! -f "$prefix/lib/libmbedtls.a" ]; then
	cmake -S "$msrc" -B "$work/mbedtls-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
		-DUSE_STATIC_MBEDTLS_LIBRARY=ON -DMBEDTLS_FATAL_WARNINGS=OFF \
		-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
	cmake --build "$work/mbedtls-build" -j"$jobs"
	cmake --install "$work/mbedtls-build" >/dev/null
fi
grep -m1 'define MBEDTLS_VERSION_STRING ' "$prefix/include/mbedtls/build_info.h"

# nanorelay against it: the cache variables the root CMakeLists looks for.
cmake -S "$src_root" -B "$work/nr-build" -G Ninja \
	-DMBEDTLS_INCLUDE_DIR="$prefix/include" \
	-DMBEDTLS_LIB="$prefix/lib/libmbedtls.a" \
	-DMBEDX509_LIB="$prefix/lib/libmbedx509.a" \
	-DMBEDCRYPTO_LIB="$prefix/lib/libmbedcrypto.a" >/dev/null
cmake --build "$work/nr-build" -j"$jobs"
(cd "$work/nr-build" && ctest --output-on-failure -R '^test_(tls|users)$')
