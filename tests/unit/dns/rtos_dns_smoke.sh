#!/usr/bin/env bash
# Runs platform/rtos/rtos_dns.c on real lwIP: builds it with lwIP's core and
# its unix port (pthreads) from lwIP's source tree (Debian's source package,
# `apt-get source lwip`, 2.1.3) and runs rtos_dns_smoke.c against a DNS
# server that is an lwIP UDP pcb behind lwIP's loopback netif.
#
#   tests/unit/dns/rtos_dns_smoke.sh LWIP_SRC_DIR [BUILD_DIR]   (default build)
#
# BUILD_DIR is a configured tree (for nr_config.h). CI runs it as a case of
# tests/rtos/run-host.sh, on the lwIP tree the RTOS build fetched. Last line:
# `rtos_dns smoke: ok` (exit 0) or `rtos_dns smoke: FAILED`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
lwip=$(cd "$1" && pwd)
build=$(cd "${2:-$root/build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The unix port's options, with the DNS client and a loopback netif.
{
	cat "$lwip/port/include/lwipopts.h"
	printf '#undef LWIP_DNS\n#define LWIP_DNS 1\n#undef LWIP_HAVE_LOOPIF\n#define LWIP_HAVE_LOOPIF 1\n'
} >"$work/lwipopts.h"
sed -i 's/^#define LWIP_HAVE_LOOPIF .*$//' "$work/lwipopts.h"
srcs=("$lwip"/src/core/*.c "$lwip"/src/core/ipv4/*.c "$lwip"/src/core/ipv6/*.c
	"$lwip"/src/api/api_lib.c "$lwip"/src/api/api_msg.c "$lwip"/src/api/err.c
	"$lwip"/src/api/if_api.c "$lwip"/src/api/netbuf.c "$lwip"/src/api/netifapi.c
	"$lwip"/src/api/sockets.c "$lwip"/src/api/tcpip.c "$lwip"/src/netif/ethernet.c
	"$lwip"/port/sys_arch.c)
# lwIP's own files are not ours to warn about; rtos_dns.c is built strictly.
mkdir "$work/obj"
(cd "$work/obj" && cc -std=gnu11 -O1 -g -w -I"$work" -I"$lwip/src/include" -I"$lwip/port/include" -c "${srcs[@]}")
cc -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Wmissing-prototypes -Wno-unused-parameter \
	-I"$work" -I"$lwip/src/include" -I"$lwip/port/include" -I"$build/generated" -I"$root/src" \
	-I"$root/platform" -I"$root/platform/rtos" \
	"$root/platform/rtos/rtos_dns.c" "$root/tests/unit/dns/rtos_dns_smoke.c" "$work"/obj/*.o \
	-lpthread -o "$work/rtos_dns_smoke"
timeout 60 "$work/rtos_dns_smoke"
