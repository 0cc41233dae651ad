#!/usr/bin/env bash
# Relay attempts from addresses that are not in `allow`, over a real network:
# the daemon runs in one network namespace, the clients in another, joined by
# a veth pair (IPv4 and IPv6). Not allowed: 554 5.7.1 at RCPT, logged,
# nothing queued. The same host relays after AUTH (plain_auth names it), a
# host that plain_auth does not name is not even offered AUTH, and loopback
# (in allow) relays.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
nr_require ip swaks
[ "$(id -u)" = 0 ] || nr_skip "network namespaces need root"

SRV=nrsrv$$ LAN=nrlan$$
ip netns add "$SRV" 2>/dev/null || nr_skip "cannot create a network namespace"
nr_on_exit "ip netns del $SRV"
ip netns add "$LAN" || fail "second namespace"
nr_on_exit "ip netns del $LAN"
# both ends are created inside the namespaces: no name in the host's namespace
ip -n "$SRV" link add vsrv type veth peer name vlan netns "$LAN"
ip -n "$SRV" addr add 10.77.0.1/24 dev vsrv
ip -n "$SRV" addr add fd77::1/64 dev vsrv nodad
ip -n "$LAN" addr add 10.77.0.2/24 dev vlan
ip -n "$LAN" addr add 10.77.0.3/24 dev vlan
ip -n "$LAN" addr add fd77::2/64 dev vlan nodad
for ns in "$SRV" "$LAN"; do
	ip -n "$ns" link set lo up
done
ip -n "$SRV" link set vsrv up
ip -n "$LAN" link set vlan up

bin=$NR_BUILD/nanorelay
cat >"$NR_TMP/nr.conf" <<EOF
listen      10.77.0.1:2525
listen      [fd77::1]:2525
listen      127.0.0.1:2525
listen      10.77.0.1:2587 auth=optional plain_auth=10.77.0.2/32
allow       127.0.0.0/8 ::1
users       $NR_TMP/users
hostname    srv.lan
queue       file:$NR_TMP/queue size=4M
state_dir   $NR_TMP/state
log         stderr level=info
EOF
printf 'pw\n' | "$bin" -c "$NR_TMP/nr.conf" passwd printer 2>"$NR_TMP/passwd.err" ||
	fail "nanorelay passwd" "$NR_TMP/passwd.err"
LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" ip netns exec "$SRV" "$bin" --foreground -c "$NR_TMP/nr.conf"
wait_for 15 "the daemon in its namespace" ip netns exec "$LAN" "$NR_PY" -c \
	'import socket; socket.create_connection(("10.77.0.1", 2587), 1)' ||
	fail "relay did not listen" "$LOG"

lan() { ip netns exec "$LAN" "$@"; }
# swaks from SOURCE to SERVER:PORT, transcript into FILE
attempt() {
	local file=$1 src=$2 server=$3 port=$4
	shift 4
	lan swaks --server "$server" --port "$port" --local-interface "$src" --timeout 10 \
		--from "dev@lan" --to victim@example.com --header "Subject: from $src" \
		--body "relay attempt from $src" "$@" >"$NR_TMP/$file" 2>&1 || true
}

attempt v4.txt 10.77.0.2 10.77.0.1 2525
check "IPv4 10.77.0.2: RCPT refused 554 5.7.1" grep -q '^<\*\{0,3\}  *554 5.7.1 <victim@example.com>: Relay access denied' "$NR_TMP/v4.txt"
check_not "IPv4 10.77.0.2: nothing queued" grep -q 'queued as' "$NR_TMP/v4.txt"
check "IPv4 refusal logged with the client address" grep -q \
	'NOQUEUE: reject: RCPT from unknown\[10.77.0.2\]: 554 5.7.1 <victim@example.com>: Relay access denied' "$LOG"

attempt v6.txt fd77::2 fd77::1 2525
check "IPv6 fd77::2: RCPT refused 554 5.7.1" grep -q '554 5.7.1 <victim@example.com>: Relay access denied' "$NR_TMP/v6.txt"
check_not "IPv6 fd77::2: nothing queued" grep -q 'queued as' "$NR_TMP/v6.txt"
check "IPv6 refusal logged with the client address" grep -q 'RCPT from unknown\[fd77::2\]: 554 5.7.1' "$LOG"

check "raw client: MAIL 250, RCPT 554 5.7.1, DATA refused, session goes on" \
	lan env PYTHONPATH="$NR_LIB" "$NR_PY" - <<'EOF'
from smtpraw import Raw
c = Raw(2525, host="10.77.0.1", source="10.77.0.3")
assert c.reply()[0] == 220
c.cmd(b"EHLO outsider.lan", 250)
c.cmd(b"MAIL FROM:<outsider@lan>", 250)
for rcpt in (b"victim@example.com", b"victim%other@example.com", b"@relay.lan:victim@example.com"):
    r = c.cmd(b"RCPT TO:<" + rcpt + b">")
    print(rcpt, r)
    assert r and r[0] in (501, 554), r
r = c.cmd(b"DATA")
assert r and r[0] in (503, 554), ("DATA without a recipient", r)
c.cmd(b"NOOP", 250)
c.cmd(b"QUIT", 221)
EOF

# AUTH: offered to the plain_auth host only; it then relays
attempt auth.txt 10.77.0.2 10.77.0.1 2587 -a PLAIN -au printer -ap pw
check "10.77.0.2 with AUTH PLAIN on the plain_auth listener: 235 then queued" \
	grep -q '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/auth.txt"
check "its AUTH succeeded" grep -q '^<-  235 2.7.0' "$NR_TMP/auth.txt"
attempt noauth.txt 10.77.0.3 10.77.0.1 2587 -a PLAIN -au printer -ap pw
check_not "10.77.0.3 (not in plain_auth): AUTH not offered in EHLO" grep -q '^<-  250.AUTH' "$NR_TMP/noauth.txt"
check "10.77.0.3: swaks says so" grep -q 'did not advertise' "$NR_TMP/noauth.txt"
check_not "10.77.0.3: nothing queued" grep -q 'queued as' "$NR_TMP/noauth.txt"
attempt badpw.txt 10.77.0.2 10.77.0.1 2587 -a PLAIN -au printer -ap wrong
check "wrong password: 535 5.7.8" grep -q '^<\*\* *535 5.7.8' "$NR_TMP/badpw.txt"
check_not "wrong password: nothing queued" grep -q 'queued as' "$NR_TMP/badpw.txt"

# control: loopback is in allow
ip netns exec "$SRV" swaks --server 127.0.0.1 --port 2525 --from local@lan --to r@example.com \
	--body "from loopback" >"$NR_TMP/lo.txt" 2>&1 || true
check "loopback (in allow) relays" grep -q '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/lo.txt"

nr_stop_pid "$RELAY_PID" 10
check "queue: only the loopback and the authenticated message are committed" \
	env PYTHONPATH="$NR_LIB" "$NR_PY" - "$NR_TMP/queue" <<'EOF'
import sys
from ringscan import scan
bodies = [m["data"] for m in scan(sys.argv[1]).values() if m["last"]]
print(len(bodies), "committed")
assert len(bodies) == 2, len(bodies)
assert any(b"from loopback" in b for b in bodies)
assert any(b"relay attempt from 10.77.0.2" in b and b"printer" in b for b in bodies)
assert not any(b"outsider@lan" in b or b"from fd77::2" in b or b"from 10.77.0.3" in b for b in bodies)
EOF
check_not "no sanitizer report in $LOG" grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$LOG"
check "clean stop logged in $LOG" grep -q "stopped" "$LOG"
nr_done
