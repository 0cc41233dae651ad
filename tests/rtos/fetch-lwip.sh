#!/usr/bin/env bash
# Fetch and unpack lwIP 2.1.3 from Debian bookworm's source package (the
# RTOS build's TCP/IP stack), with the compat stage's helper: private apt
# lists, nothing under /etc/apt changes, the pinned orig tarball (checked
# against its SHA-256) when the mirror's index is ahead of its pool.
#
#   tests/rtos/fetch-lwip.sh WORKDIR     prints the unpacked source directory
#
# CMake runs it at configure time for an RTOS build (cmake/lwip.cmake) unless
# NR_LWIP_DIR names a source tree already. Needs: dpkg-dev, curl, a Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "$1" && cd "$1" && pwd)
. "$root/tests/compat/fetch.sh"
dir=$(compat_fetch "$work" lwip bookworm)
# The version the port is written for: lwipopts.h and sys_arch follow 2.1.
grep -q 'set(LWIP_VERSION_MINOR *"1")' "$dir/src/Filelists.cmake" ||
	{ echo "fetch-lwip: $dir is not lwIP 2.1" >&2; exit 1; }
echo "$dir"
