#!/usr/bin/env bash
# Install the Debian packages nanorelay needs, only those missing. Needs root (or sudo) and a
# reachable apt mirror.
#   tests/deps.sh            the build and the whole test lab (tests/packages/*.txt, with an
#                            MTA: Postfix): what tests/all.sh and CI need
#   tests/deps.sh --build    only what the build needs (tests/packages/build.txt): the README's
#                            run command; never an MTA, never the lab
#   --print                  print the missing packages, install nothing
# While our apt-get runs, package scripts must not start system daemons (postfix, dnsmasq) on
# this machine: a policy-rc.d that says no is put in place for that apt-get only, and only when
# the machine has none; it is removed afterwards, also when the install fails or is interrupted,
# so later installs on this machine start their services as usual. A policy-rc.d that was
# already there is left exactly as it was. NR_POLICY_RC_D names another path (tests).
set -euo pipefail
cd "$(dirname "$0")/.."
lists=(tests/packages/*.txt)
print=0
for arg in "$@"; do
	case $arg in
	--build) lists=(tests/packages/build.txt) ;;
	--print) print=1 ;;
	*)
		echo "usage: tests/deps.sh [--build] [--print]" >&2
		exit 64
		;;
	esac
done
mapfile -t pkgs < <(sed 's/#.*//' "${lists[@]}" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$print" = 1 ]; then
	[ ${#missing[@]} -eq 0 ] || printf '%s\n' "${missing[@]}"
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
policy=${NR_POLICY_RC_D:-/usr/sbin/policy-rc.d}
if [ ! -e "$policy" ]; then
	trap '$SUDO rm -f "$policy"' EXIT
	trap 'exit 130' INT TERM HUP
	printf '#!/bin/sh\n# tests/deps.sh: no service starts during its apt-get; removed after it\nexit 101\n' |
		$SUDO tee "$policy" >/dev/null
	$SUDO chmod +x "$policy"
fi
# Packages named PKG:ARCH (tests/packages/cross.txt) need their architecture known to dpkg before
# apt-get update fetches its package lists; adding one that is there already changes nothing.
native=$(dpkg --print-architecture)
for a in $(printf '%s\n' "${missing[@]}" | sed -n 's/^[^:]*:\([a-z0-9]*\)$/\1/p' | sort -u); do
	[ "$a" = "$native" ] && continue
	dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
