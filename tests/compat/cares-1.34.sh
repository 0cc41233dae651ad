#!/usr/bin/env bash
# Build c-ares 1.34 from Debian trixie's source package (private apt lists,
# /etc/apt untouched), then build nanorelay against it and run the DNS tests.
# Usage: tests/compat/cares-1.34.sh [WORKDIR]   (default: build-compat/cares)
# Needs: dpkg-dev (dpkg-source), cmake, ninja, a reachable Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-$root/build-compat/cares}" && cd "${1:-$root/build-compat/cares}" && pwd)
mirror=${NR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
echo "deb-src [signed-by=$keyring] $mirror trixie main" >"$work/apt/sources.list"
apt=(apt-get -q -o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache")

srcdir=$(find "$work/src" -maxdepth 1 -type d -name 'c-ares-1.*' | head -n1)
if [ -z "$srcdir" ]; then
	"${apt[@]}" update
	# apt checks every file against the signed Sources index. A mirror
	# that lacks the .dsc still serves the tarballs: unpack them by hand.
	(cd "$work/src" && "${apt[@]}" source c-ares) || true
	srcdir=$(find "$work/src" -maxdepth 1 -type d -name 'c-ares-1.*' | head -n1)
	orig=$(find "$work/src" -maxdepth 1 -name 'c-ares_1.*.orig.tar.*' | head -n1)
	if [ -z "$srcdir" ] && [ -n "$orig" ]; then
		tar -C "$work/src" -xf "$orig"
		srcdir=$(find "$work/src" -maxdepth 1 -type d -name 'c-ares-1.*' | head -n1)
		deb=$(find "$work/src" -maxdepth 1 -name 'c-ares_*.debian.tar.*' | head -n1)
		if [ -n "$srcdir" ] && [ -n "$deb" ]; then
			tar -C "$srcdir" -xf "$deb"
			if [ -f "$srcdir/debian/patches/series" ]; then
				sed 's/#.*//' "$srcdir/debian/patches/series" | while read -r p; do
					[ -n "$p" ] && patch -d "$srcdir" -p1 -s <"$srcdir/debian/patches/$p"
				done
			fi
		fi
	fi
fi
[ -n "$srcdir" ] || { echo "cares-1.34: no c-ares source unpacked" >&2; exit 1; }
echo "cares-1.34: source $srcdir"

if [ ! -f "$work/prefix/lib/pkgconfig/libcares.pc" ]; then
	cmake -S "$srcdir" -B "$work/cares-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_INSTALL_PREFIX="$work/prefix" -DCMAKE_INSTALL_LIBDIR=lib \
		-DCARES_SHARED=ON -DCARES_STATIC=OFF -DCARES_BUILD_TOOLS=OFF -DCARES_BUILD_TESTS=OFF
	cmake --build "$work/cares-build" -j2
	cmake --install "$work/cares-build"
fi

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
echo "cares-1.34: libcares $(pkg-config --modversion libcares)"
cmake -S "$root" -B "$work/nr-build" -G Ninja -DCMAKE_BUILD_TYPE=Debug
cmake --build "$work/nr-build" -j2
# The adapter must see the new header, not Debian's 1.18.
grep -q "ARES_VERSION_STR \"1.34" "$work/prefix/include/ares_version.h"
(cd "$work/nr-build" && ctest --output-on-failure -R 'dns|reply|rewrite')
