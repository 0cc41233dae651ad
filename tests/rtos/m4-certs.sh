#!/usr/bin/env bash
# The Cortex-M4 self-test's certificates, made at build time (nothing secret
# is committed): a test CA and two ECDSA P-256 leaves it signs, for the LAN
# listener (m4.test) and the image's fake smarthost (smarthost.test), written
# as a C header of PEM strings that the firmware compiles in
# (platform/rtos/mps2-an386/board.cmake runs it). NR_M4_CERT_TIME is a
# moment inside every validity period: the image sets its wall clock to it
# (the board has no RTC). Uses tests/integration/lib/ca.sh.
#
#   tests/rtos/m4-certs.sh OUT.h
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
NR_TMP=$(mktemp -d)
trap 'rm -rf "$NR_TMP"' EXIT
export NR_TMP
# shellcheck source=../integration/lib/ca.sh
. "$root/tests/integration/lib/ca.sh"
CA_DIR=$NR_TMP/ca
mkdir -p "$CA_DIR"
ca__mkca ca "/CN=nanorelay m4 test CA"
ca_leaf lan ca "DNS:m4.test" "" 3650
ca_leaf smarthost ca "DNS:smarthost.test" "" 3650

cstr() { # NAME FILE: a C string constant of FILE's lines
	echo "static const char $1[] ="
	sed 's/.*/\t"&\\n"/' "$2"
	echo "\t;"
}
{
	echo "/* m4_certs.h - made by tests/rtos/m4-certs.sh at build time; do not edit. */"
	echo "#define NR_M4_CERT_TIME $(($(date +%s) + 3600))"
	cstr m4_ca_pem "$CA_DIR/ca.crt"
	cstr m4_lan_crt "$CA_DIR/lan.crt"
	cstr m4_lan_key "$CA_DIR/lan.key"
	cstr m4_smarthost_crt "$CA_DIR/smarthost.crt"
	cstr m4_smarthost_key "$CA_DIR/smarthost.key"
} | sed 's/^\\t/\t/' >"$out.tmp"
mv "$out.tmp" "$out"
