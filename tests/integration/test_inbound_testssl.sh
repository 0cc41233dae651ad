#!/usr/bin/env bash
# testssl.sh (Debian package testssl.sh) against the STARTTLS and the
# implicit-TLS listeners with the default profile: nothing below TLS 1.2,
# no NULL, anonymous, export, LOW (DES/RC4), 3DES/IDEA or CBC cipher; strong
# (AEAD) ciphers offered. A third listener allows legacy TLS for loopback
# (legacy_tls=) and must show TLS 1.0 offered: proof that the scan would
# see a weak protocol if we offered one. The three scans run in parallel.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
nr_require testssl

mapfile -t PORTS < <(nr_free_ports 3)
P_START=${PORTS[0]} P_IMPL=${PORTS[1]} P_LEGACY=${PORTS[2]}
cat >"$NR_TMP/nr.conf" <<EOF
listen      127.0.0.1:$P_START tls=starttls
listen      127.0.0.1:$P_IMPL tls=implicit
listen      127.0.0.1:$P_LEGACY tls=implicit legacy_tls=127.0.0.0/8
allow       127.0.0.0/8
hostname    test.lan
queue       ram size=1M
state_dir   $NR_TMP/state
max_sessions 128
max_sessions_per_client 128
max_tls_handshakes 64
# testssl.sh is one client that may have many handshakes in flight on a busy
# machine: the per-client cap (default 2) is not what this scan is about
max_tls_handshakes_per_client 64
log         stderr level=warn
EOF
LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/nr.conf"
for p in $P_START $P_IMPL $P_LEGACY; do
	wait_port "$p" 15 || fail "relay did not listen on $p" "$LOG"
done

scan() { # NAME PORT [testssl options...]
	local name=$1 port=$2
	shift 2
	testssl --quiet --color 0 --warnings off --openssl-timeout 5 -p -s \
		-oj "$NR_TMP/$name.json" "$@" "127.0.0.1:$port" >"$NR_TMP/$name.txt" 2>&1
}
scan starttls "$P_START" -t smtp &
s1=$!
scan implicit "$P_IMPL" &
s2=$!
scan legacy "$P_LEGACY" &
s3=$!
wait $s1 || true
wait $s2 || true
wait $s3 || true

# finding NAME ID: the "finding" of testssl's JSON entry ID
finding() {
	"$NR_PY" -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    if e["id"] == sys.argv[2]:
        print(e["finding"]); break
else:
    print("(missing)")' "$NR_TMP/$1.json" "$2"
}

for name in starttls implicit; do
	[ -s "$NR_TMP/$name.json" ] || fail "$name: testssl wrote no JSON" "$NR_TMP/$name.txt" "$LOG"
	for id in SSLv2 SSLv3 TLS1 TLS1_1; do
		expect_match "$name: $id not offered" '^not offered' "$(finding "$name" "$id")"
	done
	expect_match "$name: TLS 1.2 offered" '^offered' "$(finding "$name" TLS1_2)"
	for id in cipherlist_NULL cipherlist_aNULL cipherlist_EXPORT cipherlist_LOW \
		cipherlist_3DES_IDEA cipherlist_AVERAGE; do
		expect_match "$name: $id not offered" '^not offered' "$(finding "$name" "$id")"
	done
	expect_match "$name: strong (AEAD) ciphers offered" '^offered' \
		"$(finding "$name" cipherlist_STRONG)"
done
# The control: legacy_tls for loopback really offers TLS 1.0, and testssl sees it.
expect_match "legacy_tls listener: testssl sees TLS 1.0 offered" '^offered' \
	"$(finding legacy TLS1)"
nr_stop_pid "$RELAY_PID"
check_not "no sanitizer report" grep -q "Sanitizer" "$LOG"
nr_done
