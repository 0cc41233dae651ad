# Sourced by the compat scripts and tests/rtos/fetch-lwip.sh: fetch and unpack a
# Debian source package (trixie's unless told) with private apt lists (nothing
# under /etc/apt changes).
#
#   compat_fetch WORKDIR PACKAGE [SUITE]   prints the unpacked source directory
#
# trixie's sources go to WORKDIR/src, another suite's to WORKDIR/src-SUITE
# (bookworm: Debian 12's own mbedTLS 2.28, for the project's trimmed config).
#
# The mirror reachable here sometimes lists a version in its Sources index
# whose files are no longer in the pool. Then the pinned upstream tarball
# below is fetched from the pool instead and checked against its SHA-256.
# Needs: dpkg-dev (dpkg-source), curl, a reachable Debian mirror.

compat_mirror=${NR_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# package/suite -> "pool path of a known tarball" "its sha256"
compat_pinned() {
	case $1 in
	mbedtls/bookworm) echo "main/m/mbedtls/mbedtls_2.28.3.orig.tar.gz 3b4953aa55a681e084d31892d9904cc5328d6b4958ea57b90ae4b4f94ae69a8d" ;;
	mbedtls/trixie) echo "main/m/mbedtls/mbedtls_3.6.6.orig.tar.bz2 8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a" ;;
	lwip/bookworm) echo "main/l/lwip/lwip_2.1.3+dfsg1.orig.tar.xz 0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24" ;;
	c-ares/trixie) echo "main/c/c-ares/c-ares_1.34.5.orig.tar.gz 7d935790e9af081c25c495fd13c2cfcda4792983418e96358ef6e7320ee06346" ;;
	*) return 1 ;;
	esac
}

compat_fetch() { # workdir package [suite]
	local work=$1 pkg=$2 suite=${3:-trixie} src dir list pinned tarball sum apt_dir
	src="$work/src" apt_dir="$work/apt"
	if [ "$suite" != trixie ]; then
		src="$work/src-$suite" apt_dir="$work/apt-$suite"
	fi
	dir=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" 2>/dev/null | sort | tail -n1)
	if [ -n "$dir" ]; then
		echo "$dir"
		return 0
	fi
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src"
	list="$apt_dir/sources.list"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $compat_mirror $suite main" >"$list"
	local apt=(apt-get -qq -o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1)
	if "${apt[@]}" update >&2 && (cd "$src" && "${apt[@]}" source "$pkg" >&2); then
		dir=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n1)
	fi
	if [ -z "$dir" ]; then
		pinned=$(compat_pinned "$pkg/$suite") || { echo "compat: no source for $pkg ($suite)" >&2; return 1; }
		tarball="$src/$(basename "${pinned% *}")"
		echo "compat: $pkg: apt source failed, fetching the pinned ${pinned% *}" >&2
		curl -fsS -o "$tarball" "$compat_mirror/pool/${pinned% *}" || return 1
		sum=$(sha256sum "$tarball" | cut -d' ' -f1)
		[ "$sum" = "${pinned#* }" ] || { echo "compat: $tarball: sha256 $sum, expected ${pinned#* }" >&2; return 1; }
		tar -C "$src" -xf "$tarball"
		dir=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n1)
	fi
	[ -n "$dir" ] || { echo "compat: $pkg did not unpack" >&2; return 1; }
	echo "$dir"
}
