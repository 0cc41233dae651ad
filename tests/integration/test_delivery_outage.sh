#!/usr/bin/env bash
# An upstream outage as the operator sees it (issue 21), against smtp-sink:
#  - nothing listens on the smarthost's port: every waiting message gets a
#    Postfix-style status=deferred line per recipient (the address tried,
#    the connect error), counted in status's deferred counter, and pflogsumm
#    counts them;
#  - mailq shows each message's reason and next try; status and --json show
#    when the last error happened (and that no delivery did);
#  - the outage lasts until the messages' backoff has grown past 20 s; then
#    the upstream listens again and all mail goes out within a few seconds
#    (one probe interval, `retry`'s first step: 2 s here), well before the
#    messages' next backoff step;
#  - after a restart, a message not tried since says so in mailq (the
#    reason lived in RAM).
. "$(dirname "$0")/lib/sink.sh"
nr_require swaks smtp-sink pflogsumm
[ "$(id -u)" = 0 ] || nr_skip "smtp-sink -u needs root here"
bin="$NR_BUILD/nanorelay"
PY=/usr/bin/python3
id_re='[0-9a-f]{16}'

# Take a port for the sink, then stop it: the outage.
sink_start || fail "smtp-sink"
sink_stop
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
control_socket $NR_TMP/control
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
sender relay@nas.example
hostname nas.example
retry 2s 10m
log stderr level=info
CONF
LOG="$NR_TMP/log"
ctl() { "$bin" -c "$conf" "$@" 2>&1; }
log_count() { grep -cE -- "$1" "$LOG" || true; }

nr_spawn pid "$LOG" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$LOG"
for i in 1 2 3; do
	to="user$i@example.com"
	[ "$i" = 2 ] && to="two-a@example.com,two-b@example.com"
	swaks --server "127.0.0.1:$port" --from "printer$i@lan" --to "$to" \
		--body "outage $i" >"$NR_TMP/swaks$i.txt" 2>&1
	check "message $i queued" grep -q '250 2.0.0 Ok: queued as' "$NR_TMP/swaks$i.txt"
done

# ---- deferred lines for a connection failure ----
wait_for 20 "4 recipients deferred" eval '[ "$(log_count "status=deferred")" -ge 4 ]' ||
	fail "no status=deferred line for a connection failure" "$LOG"
check "deferred: Postfix form, the address tried, dsn 4.4.1, the connect error" grep -Eq \
	"]: $id_re: to=<two-b@example.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT, delay=[0-9]+, delays=0/[0-9.]+/0/0, dsn=4\.4\.1, status=deferred \(cannot connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT: connection refused\)$" "$LOG"

# ---- the backoff grows while the upstream stays down ----
# min_next: the smallest "next try in" over the three messages, in seconds
min_next() {
	ctl mailq | awk '/next try in/ {
		t = $4; s = 0
		if (match(t, /[0-9]+h/)) s += substr(t, RSTART, RLENGTH - 1) * 3600
		if (match(t, /[0-9]+m/)) s += substr(t, RSTART, RLENGTH - 1) * 60
		if (match(t, /[0-9]+s/)) s += substr(t, RSTART, RLENGTH - 1)
		n++; if (min == "" || s < min) min = s }
		END { print (n == 3 ? min : 0) }'
}
wait_for 90 "every message's next try 20 s or more away" eval '[ "$(min_next)" -ge 20 ]' ||
	fail "the backoff did not grow" "$LOG"
mq=$(ctl mailq)
printf '%s\n' "$mq" | sed 's/^/# mailq| /'
expect_match "mailq: the reason, as the connect failed" \
	"\(cannot connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT: connection refused\)" "$mq"
expect_match "mailq: the next try" "next try in [0-9]+s" "$mq"
expect_eq "mailq: the reason under each of the 3 messages" 3 "$(grep -c '(cannot connect to' <<<"$mq")"

st=$(ctl status)
printf '%s\n' "$st" | sed 's/^/# status| /'
deferred_lines=$(log_count "status=deferred")
expect_match "status: the deferred counter counts the connection failures" \
	"deferred $deferred_lines," "$st"
expect_match "status: when the last error happened, no delivery yet" \
	"last delivery never, last error [0-9]+s ago" "$st"
ctl status --json >"$NR_TMP/status.json"
check "status --json: last_error_at is recent, last_success_at null" $PY - "$NR_TMP/status.json" <<'PY'
import json, sys, time
st = json.load(open(sys.argv[1]))
h = st["smarthosts"][0]
assert h["state"] == "deferring", h
assert abs(time.time() - h["last_error_at"]) < 30, h
assert h["last_success_at"] is None, h
assert st["last_error_at"] == h["last_error_at"] and st["last_success_at"] is None, st
assert st["counters"]["deferred"] >= 8, st["counters"]   # 4 recipients, 2+ rounds
PY

# ---- the upstream comes back: all mail within a probe interval ----
before=$(min_next)
t0=$(date +%s)
sink__launch || fail "smtp-sink did not listen again"
sink_wait 3 15 || fail "mail did not go out after the upstream came back" "$LOG"
took=$(($(date +%s) - t0))
echo "# delivered ${took}s after the upstream came back; the next backoff step was ${before}s away"
check "all mail out within 10 s, before the next backoff step (${before}s)" \
	test "$took" -le 10 -a "$took" -lt "$before"
check "the log says the smarthost answers again" \
	grep -Eq "delivery: 127\.0\.0\.1:$SINK_PORT answers again; 3 deferred messages due now" "$LOG"
wait_for 10 "4 sent lines" eval '[ "$(log_count "status=sent")" -ge 4 ]' || fail "sent lines" "$LOG"
st=$(ctl status)
expect_match "status: the last delivery now" "smarthost:   127\.0\.0\.1:$SINK_PORT ok" "$st"
expect_match "status: last delivery time" "last delivery [0-9]+s ago, last error [0-9]+s ago" "$st"
nr_stop_pid "$pid"
check_not "no sanitizer report" grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$LOG"

# ---- pflogsumm counts the deferrals ----
sed -E -f "$NR_SRC/configs/nanorelay-pflogsumm.sed" "$LOG" >"$NR_TMP/adapted.log"
pflogsumm --syslog-name=nanorelay "$NR_TMP/adapted.log" >"$NR_TMP/pflogsumm.txt" 2>&1 ||
	fail "pflogsumm failed" "$NR_TMP/pflogsumm.txt"
sed -n '1,25p' "$NR_TMP/pflogsumm.txt" | sed 's/^/# pflogsumm| /'
count() { awk -v w="$1" '$2 == w { print $1; exit }' "$NR_TMP/pflogsumm.txt"; }
expect_eq "pflogsumm: received" 3 "$(count received)"
expect_eq "pflogsumm: delivered" 4 "$(count delivered)"
expect_eq "pflogsumm: deferred (messages)" 3 "$(count deferred)"
expect_eq "pflogsumm: deferrals (lines)" "$(log_count "status=deferred")" "$(awk '$2 == "deferred" { print $3; exit }' "$NR_TMP/pflogsumm.txt" | tr -d '(')"

# ---- after a restart: the reason was in RAM ----
# One more message while the upstream is down again, then a restart onto a
# smarthost that accepts the connection and never greets: the message is
# not in flight and has not been tried since the start.
sink_stop
nr_spawn pid "$LOG.2" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen again" "$LOG.2"
swaks --server "127.0.0.1:$port" --from printer4@lan --to user4@example.com \
	--body "outage 4" >"$NR_TMP/swaks4.txt" 2>&1
wait_for 10 "message 4 deferred" grep -q "to=<user4@example.com>.*status=deferred" "$LOG.2" ||
	fail "message 4 not deferred" "$LOG.2"
nr_stop_pid "$pid"
silent=$(free_port)
nr_spawn SILENT_PID "$NR_TMP/silent.log" $PY -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
held = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        held.append(s.accept()[0])
    except OSError:
        pass
' "$silent"
wait_port "$silent" 5 || fail "silent listener"
sed "s/^smarthost .*/smarthost 127.0.0.1:$silent tls=none insecure=yes/" "$conf" >"$conf.silent"
sleep 1 # arrival times are whole seconds: it must arrive a second before the start
nr_spawn pid "$LOG.3" "$bin" -c "$conf.silent" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen on restart" "$LOG.3"
mq=$("$bin" -c "$conf.silent" mailq 2>&1)
printf '%s\n' "$mq" | sed 's/^/# mailq after restart| /'
expect_match "after a restart: mailq says no attempt since the start" \
	"\(no attempt since the daemon started\)" "$mq"
expect_match "after a restart: and that it goes as soon as a smarthost takes it" \
	"next try now" "$mq"
nr_stop_pid "$pid"
nr_done
