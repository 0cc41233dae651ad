#!/usr/bin/env bash
# Build c-ares 1.34 from Debian trixie's source package, then build
# nanorelay against it and run the DNS tests (unit tests against a dnsmasq
# the test starts, and delivery to a smarthost found through it).
#
#   tests/compat/cares-1.34.sh [WORKDIR]    (default build-compat)
#
# Needs: dpkg-dev, curl, cmake, ninja, pkg-config, a reachable Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-$root/build-compat}" && cd "${1:-$root/build-compat}" && pwd)
jobs=${JOBS:-$(nproc)}
. "$root/tests/compat/fetch.sh"

srcdir=$(compat_fetch "$work" c-ares)
echo "compat: c-ares source $srcdir"
prefix="$work/cares-prefix"
if [ ! -f "$prefix/lib/pkgconfig/libcares.pc" ]; then
	cmake -S "$srcdir" -B "$work/cares-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
		-DCARES_SHARED=ON -DCARES_STATIC=OFF -DCARES_BUILD_TOOLS=OFF -DCARES_BUILD_TESTS=OFF >/dev/null
	cmake --build "$work/cares-build" -j"$jobs" >/dev/null
	cmake --install "$work/cares-build" >/dev/null
fi

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cmake -S "$root" -B "$work/nr-cares134" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$work/nr-cares134" -j"$jobs" >/dev/null
# The binary must run against 1.34 (asked at run time), not Debian's 1.18.
# (Printed from a variable: `tee /dev/stderr` would truncate a log file that
# stderr is redirected to.)
version=$("$work/nr-cares134/nanorelay" --version)
printf '%s\n' "$version"
grep -q 'c-ares 1\.34\.' <<<"$version"
(cd "$work/nr-cares134" && ctest --output-on-failure -j"$jobs" -R '^test_(dns.*|reply|rewrite|delivery_postfix)$')
