#!/usr/bin/env bash
# Crash safety under load: clients (lib/smtpload.py, 4 threads) keep sending
# into nanorelay, which relays to smtp-sink; nanorelay is SIGKILLed at random
# moments (30 rounds, 0.1-0.5 s apart) and restarted on the same queue file.
# Every message that got a 250 must reach the upstream at least once (a
# complete copy: its last line is there). Duplicates are allowed (a kill
# between the upstream's 250 and our mark) and are counted and printed.
. "$(dirname "$0")/lib/sink.sh"
nr_require smtp-sink
bin="$NR_BUILD/nanorelay"
ROUNDS=${NR_CRASH_ROUNDS:-30}
sink_start
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/queue size=4M
state_dir $NR_TMP/state
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
retry 1s 1s
log stderr level=info
CONF

start_relay() { # ROUND
	nr_spawn RELAY_PID "$NR_TMP/relay.$1.log" "$bin" -c "$conf" --foreground
	wait_port "$port" 10 || fail "nanorelay did not restart (round $1)" "$NR_TMP/relay.$1.log"
}
start_relay 0
acked=$NR_TMP/acked
stop=$NR_TMP/stop
: >"$acked"
nr_spawn LOAD_PID "$NR_TMP/load.log" "$NR_PY" -u "$NR_LIB/smtpload.py" --port "$port" \
	--acked "$acked" --stop "$stop" --threads 4 --max-seconds 120
wait_for 10 "first acked messages" test -s "$acked" || fail "no message accepted" "$NR_TMP/load.log" "$NR_TMP/relay.0.log"

for round in $(seq 1 "$ROUNDS"); do
	sleep "0.$((RANDOM % 5 + 1))"
	kill -KILL "$RELAY_PID" 2>/dev/null || fail "nanorelay died before round $round" "$NR_TMP/relay.$((round - 1)).log"
	wait "$RELAY_PID" 2>/dev/null || true # reaps it, and keeps bash from printing "Killed"
	wait_for 5 "killed nanorelay gone" nr__pid_gone "$RELAY_PID" || fail "SIGKILL did not take"
	start_relay "$round"
done
pass "$ROUNDS SIGKILL rounds under load, restarted each time"
touch "$stop"
wait_for 15 "load generator stopped" nr__pid_gone "$LOAD_PID" || fail "smtpload did not stop" "$NR_TMP/load.log"
pass "load: $(tail -n 1 "$NR_TMP/load.log")"

n_acked=$(sort -un "$acked" | wc -l)
[ "$n_acked" -ge 50 ] || fail "too little load to mean anything: $n_acked acked" "$NR_TMP/load.log"
delivered_ids() { # complete copies at the sink, one id per line (with repeats)
	sink_files | xargs -r grep -h -o '^load-end [0-9]*' | cut -d' ' -f2
}
all_in() { [ -z "$(comm -23 <(sort -u "$acked") <(delivered_ids | sort -u))" ]; }
wait_for 60 "every acked message at the upstream" all_in || {
	echo "# missing: $(comm -23 <(sort -u "$acked") <(delivered_ids | sort -u) | head -n 20 | tr '\n' ' ')"
	fail "acked messages lost" "$NR_TMP/relay.$ROUNDS.log"
}
pass "all $n_acked acked messages reached the upstream at least once"
dups=$(delivered_ids | sort | uniq -d | wc -l)
extra=$(($(delivered_ids | wc -l) - $(delivered_ids | sort -u | wc -l)))
echo "# crash: rounds=$ROUNDS acked=$n_acked duplicated_messages=$dups extra_copies=$extra"
pass "duplicates counted: $dups message(s), $extra extra copies"
check_not "no sanitizer report" grep -l "Sanitizer" "$NR_TMP"/relay.*.log
nr_done
