#!/usr/bin/env bash
# The control CLI against the real daemon: status (text and JSON, checked
# against the queue), mailq, delete, flush, send-test (delivered and
# deferred), the permission rule for a non-root user, the AUTH-failed state,
# and exit 69 when the daemon is not running.
. "$(dirname "$0")/lib/sink.sh"
. "$(dirname "$0")/lib/tlsserver.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks smtp-sink setpriv dnsmasq
[ "$(id -u)" = 0 ] || nr_skip "smtp-sink and setpriv need root"
bin="$NR_BUILD/nanorelay"
PY=/usr/bin/python3

# A local user must reach the control socket: it lives in a 0755 directory
# under a traversable NR_TMP, outside the 0700 state_dir.
chmod 0711 "$NR_TMP"
mkdir -m 0755 "$NR_TMP/run"
sock="$NR_TMP/run/control"

# The upstream first answers 450 to every RCPT: mail stays queued with an error.
sink_start -r RCPT
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
control_socket $sock
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
sender relay@nas.example
hostname nas.example
retry 60s 120s
log stderr level=debug
CONF
chmod 0644 "$conf"

ctl() { # ARGS... -> stdout+stderr in $out, exit code in $rc
	rc=0
	out=$("$bin" -c "$conf" "$@" 2>&1) || rc=$?
}
as_nobody() {
	rc=0
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" -c "$conf" "$@" 2>&1) || rc=$?
}

# ---- not running ----
ctl status
expect_eq "status without a daemon exits 69" 69 "$rc"
expect_match "the message says the daemon is not running and names the socket" \
	"daemon is not running.*$sock" "$out"

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/log"

# ---- three messages, deferred with 450 ----
ids=()
for i in 1 2 3; do
	to="user$i@example.com"
	[ "$i" = 2 ] && to="two-a@example.com,two-b@example.com"
	swaks --server "127.0.0.1:$port" --from "printer$i@lan" --to "$to" \
		--header "Subject: ctl $i" --body "body $i" >"$NR_TMP/swaks$i.txt" 2>&1
	id=$(sed -n 's/^<-  250 2.0.0 Ok: queued as \([0-9A-Fa-f]\{16\}\).*/\1/p' "$NR_TMP/swaks$i.txt")
	[ -n "$id" ] || fail "message $i was not queued" "$NR_TMP/swaks$i.txt"
	ids+=("$id")
done
pass "three messages queued: ${ids[*]}"
tried() { "$bin" -c "$conf" mailq 2>/dev/null | grep -c '450 4' | grep -qx 3; }
wait_for 20 "all three messages tried once" tried || fail "not tried" "$NR_TMP/log" "$SINK_LOG"

# ---- status --json against the queue ----
ctl status --json
expect_eq "status --json exits 0" 0 "$rc"
printf '%s\n' "$out" >"$NR_TMP/status.json"
ctl mailq
printf '%s\n' "$out" >"$NR_TMP/mailq.txt"
check "status --json is valid JSON whose figures match the queue" $PY - "$NR_TMP/status.json" \
	"$NR_TMP/mailq.txt" "$sock" "$SINK_PORT" <<'PY'
import json, re, sys
st = json.load(open(sys.argv[1]))
mq = open(sys.argv[2]).read()
rows = re.findall(r'^([0-9A-F]{16})  +(\d+) ', mq, re.M)
q = st["queue"]
assert q["messages"] == 3 == len(rows), (q, rows)
assert q["backend"] == "file" and q["persistent"] is True, q
assert q["capacity"] == q["used"] + q["free"], q
assert q["used"] >= sum(int(s) for _, s in rows) > 0, (q, rows)
assert 0 <= q["oldest_age_s"] < 60, q
assert st["control_socket"] == sys.argv[3]
h = st["smarthosts"][0]
assert h["host"] == "127.0.0.1" and h["port"] == int(sys.argv[4]), h
assert st["counters"]["accepted"] == 3, st["counters"]
assert st["counters"]["deferred"] == 4, st["counters"]   # 4 recipients got 450
assert st["counters"]["delivered"] == 0, st["counters"]
assert st["uptime_s"] >= 0 and st["version"]
PY

ctl status
expect_eq "status exits 0" 0 "$rc"
expect_match "status text: 3 pending" "messages:  3 pending, 0 dead, oldest [0-9]+s" "$out"
expect_match "status text: the queue backend" "queue:       file, persistent" "$out"
expect_match "status text: the listener" "listening:   127.0.0.1:$port plain" "$out"
expect_match "status text: counters" "accepted 3, delivered 0, deferred 4" "$out"

# ---- mailq ----
mq=$(cat "$NR_TMP/mailq.txt")
for i in 0 1 2; do
	expect_match "mailq lists ${ids[$i]} with its sender" "${ids[$i]} +[0-9]+ +[0-9]+s +1  printer$((i + 1))@lan" "$mq"
done
expect_match "mailq shows both recipients of message 2" \
	"two-a@example.com \(pending\).*two-b@example.com \(pending\)" "$(tr '\n' ' ' <<<"$mq")"
expect_match "mailq shows the last error" "\(host 127.0.0.1 said: 450 4.3.0 Error: command failed \(in reply to RCPT TO\)\)" "$mq"
expect_match "mailq closing line" "in 3 Requests\.$" "$mq"

# ---- permissions: a local user may look, not touch ----
as_nobody status
expect_eq "status as nobody works" 0 "$rc"
as_nobody mailq
expect_eq "mailq as nobody works" 0 "$rc"
expect_match "mailq as nobody lists the messages" "${ids[0]}" "$out"
for c in flush "delete ${ids[0]}" "send-test x@example.com"; do
	# shellcheck disable=SC2086
	as_nobody $c
	expect_eq "$c as nobody exits 77" 77 "$rc"
	expect_match "$c as nobody: permission denied" "permission denied" "$out"
done

chmod 0600 "$conf"
as_nobody status
expect_eq "an unreadable configuration: status tries the default socket (not running there: 69)" 69 "$rc"
expect_match "unreadable configuration: says so and names the default socket" \
	"permission denied; trying the default control socket /var/lib/nanorelay/control" "$out"
chmod 0644 "$conf"

# ---- delete ----
ctl delete "${ids[1]}"
expect_eq "delete exits 0" 0 "$rc"
expect_match "delete says so" "${ids[1]}: deleted" "$out"
ctl mailq
expect_match "mailq: two requests left" "in 2 Requests" "$out"
check_not "mailq: the deleted message is no longer pending" \
	grep -Eq "^${ids[1]} " <<<"$out"
check "mailq: the others are still there" grep -Eq "^${ids[0]} " <<<"$out"
ctl status --json
expect_eq "status after delete: 2 messages" 2 \
	"$($PY -c 'import json,sys; print(json.load(sys.stdin)["queue"]["messages"])' <<<"$out")"
ctl delete "${ids[1]}"
expect_eq "deleting it again exits 66" 66 "$rc"
ctl delete 00000000DEADBEEF
expect_eq "unknown id exits 66" 66 "$rc"
expect_match "unknown id: clear message" "no message 00000000DEADBEEF" "$out"
ctl delete nonsense
expect_eq "malformed id exits 64" 64 "$rc"
ctl frobnicate
expect_eq "unknown command exits 64" 64 "$rc"

# ---- flush: the upstream is fixed, deferred mail goes at once ----
sink_stop
sink__launch || fail "sink restart" "$SINK_LOG"
sleep 2
expect_eq "nothing goes before flush (retry is 60 s)" 0 "$(sink_count)"
ctl flush
expect_eq "flush exits 0" 0 "$rc"
expect_match "flush reports the count" "flushed: 2 messages" "$out"
sink_wait 2 15 || fail "flush did not deliver" "$NR_TMP/log" "$SINK_LOG"
pass "flush delivered the two messages"
empty() { "$bin" -c "$conf" mailq 2>/dev/null | grep -q "Mail queue is empty"; }
wait_for 10 "queue empty" empty || fail "queue not empty after delivery" "$NR_TMP/log"
pass "mailq: empty after delivery (the deleted one kept as dead)"

# ---- send-test, delivered ----
ctl send-test admin@example.com --wait 20
expect_eq "send-test delivered exits 0" 0 "$rc"
expect_match "send-test says delivered" "delivered to admin@example.com \(host 127.0.0.1 said: 250 2.0.0" "$out"
sink_wait 3 10 || fail "test message not at the sink" "$SINK_LOG"
check "the test message has its subject" grep -q "^Subject: nanorelay test message" <<<"$(sink_body 3)"
expect_match "the test message comes from the configured sender" \
	"from=<relay@nas.example> to=<admin@example.com>" "$(sink_envelope 3)"
ctl send-test 'bad address@x'
expect_eq "send-test with a bad address exits 64/65" 64 "$rc"
ctl send-test '<x@y>'
expect_eq "send-test with brackets is refused by the daemon (65)" 65 "$rc"

# ---- send-test, deferred ----
sink_stop
ctl send-test admin@example.com --wait 20
expect_eq "send-test deferred exits 75" 75 "$rc"
expect_match "send-test says deferred and why" "deferred.*refused" "$out"

ctl status --json
check "status shows the smarthost deferring with its error" $PY -c '
import json, sys
st = json.loads(sys.argv[1])
h = st["smarthosts"][0]
assert h["state"] == "deferring" and "refused" in h["last_error"], h
assert st["counters"]["delivered"] == 3 and st["queue"]["messages"] == 1, st
' "$out"

# ---- bounded clients: idle connections take every slot, the next is told ----
$PY - "$sock" >"$NR_TMP/hold.txt" 2>&1 <<'PY' &
import socket, sys, time
conns = []
for _ in range(4):  # CONFIG_NR_CTL_MAX_CLIENTS (default 4)
    c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); conns.append(c)
print("holding", flush=True)
time.sleep(3)
PY
holder=$!
wait_for 5 "idle clients connected" grep -q holding "$NR_TMP/hold.txt" || fail "holder" "$NR_TMP/hold.txt"
sleep 0.3
ctl status
expect_eq "a fifth client is told the daemon is busy (75)" 75 "$rc"
expect_match "busy: the message names the limit" "busy.*CONFIG_NR_CTL_MAX_CLIENTS" "$out"
wait "$holder" || true
ctl status
expect_eq "status works again once they are gone" 0 "$rc"

# ---- stopped: 69 again ----
nr_stop_pid "$pid"
check_not "no sanitizer report in the log" grep -q "runtime error\|AddressSanitizer\|LeakSanitizer" "$NR_TMP/log"
ctl status
expect_eq "status after stop exits 69" 69 "$rc"
ctl mailq
expect_eq "mailq after stop exits 69" 69 "$rc"

# ---- AUTH 535 upstream: status says AUTH failed ----
ca_make_all
dns_start
tls_start --kind good --auth-reply "535 5.7.8 Authentication credentials invalid"
printf '%s\n' 'not-the-password-9f3k' >"$NR_TMP/pw"
chmod 600 "$NR_TMP/pw"
port2=$(free_port)
conf="$NR_TMP/auth.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port2 tls=none
allow 127.0.0.0/8
queue ram size=256K
state_dir $NR_TMP/state2
control_socket $NR_TMP/run/control2
smarthost smarthost.test:$TLS_PORT tls=starttls user=someone@example.com password_file=$NR_TMP/pw
ca_file $CA_CERT
dns_server 127.0.0.1:$DNS_PORT
retry 1s 2s
log stderr level=debug
CONF
nr_spawn pid2 "$NR_TMP/log2" "$bin" -c "$conf" --foreground
wait_port "$port2" 10 || fail "nanorelay (auth) did not listen" "$NR_TMP/log2"
swaks --server "127.0.0.1:$port2" --from a@lan --to b@example.com >"$NR_TMP/swaks-auth.txt" 2>&1 ||
	fail "message not queued" "$NR_TMP/swaks-auth.txt"
auth_held() { "$bin" -c "$conf" status 2>/dev/null | grep -q "AUTH failed (held)"; }
wait_for 20 "AUTH failed in status" auth_held || fail "no AUTH failed state" "$NR_TMP/log2" "$TLS_LOG"
pass "status shows AUTH failed (held)"
ctl status
expect_match "status text: the 535 reply as last error" "last error: .*535 5.7.8" "$out"
expect_match "status text: RAM queue said so" "in RAM \(survives upstream outages, not a power cut\)" "$out"
check_not "status does not show the password" grep -q "not-the-password" <<<"$out"
ctl status --json
check "status --json: state auth_failed" $PY -c '
import json, sys
h = json.loads(sys.argv[1])["smarthosts"][0]
assert h["state"] == "auth_failed" and "535" in h["last_error"] and h["retry_in_s"] > 60, h
' "$out"
ctl flush
expect_eq "flush lifts the AUTH hold" 0 "$rc"
retried() { [ "$(grep -c 'AUTH-DATA' "$TLS_LOG")" -ge 2 ]; }
wait_for 10 "a new AUTH attempt after flush" retried || fail "no retry after flush" "$TLS_LOG" "$NR_TMP/log2"
pass "flush made the held smarthost try again"
nr_stop_pid "$pid2"
check_not "no sanitizer report in the AUTH daemon's log" grep -q "runtime error\|AddressSanitizer\|LeakSanitizer" "$NR_TMP/log2"

# ---- a daemon running as `user nobody`: nobody may flush (the daemon's uid) ----
# Its upstream holds the DATA reply for 4 s: a message stays in flight that long.
sink_stop
sink__launch -w 4 || fail "sink restart" "$SINK_LOG"
base=$(sink_count) # the dump directory keeps the earlier messages
port3=$(free_port)
conf="$NR_TMP/user.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port3 tls=none
allow 127.0.0.0/8
queue ram size=256K
state_dir $NR_TMP/state3
control_socket $NR_TMP/run/control3
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
user nobody
log stderr level=debug
CONF
nr_spawn pid3 "$NR_TMP/log3" "$bin" -c "$conf" --foreground
wait_port "$port3" 10 || fail "nanorelay (user nobody) did not listen" "$NR_TMP/log3"
as_nobody flush
expect_eq "flush by the daemon's own uid is allowed" 0 "$rc"
ctl flush
expect_eq "flush by root is allowed" 0 "$rc"
rc=0
out=$(setpriv --reuid=1 --regid=1 --clear-groups "$bin" -c "$conf" flush 2>&1) || rc=$?
expect_eq "flush by another uid (daemon) is refused with 77" 77 "$rc"
swaks --server "127.0.0.1:$port3" --from a@lan --to slow@example.com >"$NR_TMP/swaks-slow.txt" 2>&1 ||
	fail "message not queued" "$NR_TMP/swaks-slow.txt"
slow_id=$(sed -n 's/^<-  250 2.0.0 Ok: queued as \([0-9A-Fa-f]\{16\}\).*/\1/p' "$NR_TMP/swaks-slow.txt")
in_flight() { "$bin" -c "$conf" mailq 2>/dev/null | grep -q "^$slow_id\*"; }
wait_for 5 "mailq marks the message in flight with *" in_flight || fail "not in flight" "$NR_TMP/log3"
pass "mailq marks a message being delivered with *"
ctl delete "$slow_id"
expect_eq "delete of a message being delivered exits 75" 75 "$rc"
expect_match "delete in flight: says why" "being delivered right now" "$out"
ctl send-test fast@example.com --wait 2
expect_eq "send-test still waiting after --wait 2 exits 75" 75 "$rc"
expect_match "send-test: still queued" "still queued, no outcome yet" "$out"
sink_wait $((base + 1)) 15 || fail "the slow message was not delivered" "$SINK_LOG" "$NR_TMP/log3"
pass "the message being delivered still arrived"
# A reload swaps the configuration the control side reads.
sed -i "s/^listen 127.0.0.1:$port3 tls=none/listen 127.0.0.1:$port3 tls=none\nhostname reloaded.example/" "$conf"
kill -HUP "$pid3"
reloaded() { grep -q "configuration reloaded" "$NR_TMP/log3"; }
wait_for 5 "reload" reloaded || fail "no reload" "$NR_TMP/log3"
ctl status
expect_eq "status after a reload exits 0" 0 "$rc"
expect_match "status after a reload still lists the listener" "listening:   127.0.0.1:$port3 plain" "$out"
ctl send-test after-reload@example.com --wait 10
expect_eq "send-test after a reload is delivered" 0 "$rc"
# slow, fast (the one that outlasted --wait 2) and after-reload
sink_wait $((base + 3)) 15 || fail "not all three at the sink" "$SINK_LOG" "$NR_TMP/log3"
body3=""
for k in 1 2 3; do
	b=$(sink_body $((base + k)))
	[[ $b == *"To: <after-reload@example.com>"* ]] && body3=$b
done
expect_match "the test message after the reload names the reloaded hostname" \
	"From: nanorelay <nanorelay@reloaded.example>" "$body3"
nr_stop_pid "$pid3"
nr_done
