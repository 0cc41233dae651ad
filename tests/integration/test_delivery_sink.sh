#!/usr/bin/env bash
# Delivery end to end over the real link: three messages into nanorelay,
# relayed in clear (tls=none insecure=yes) to smtp-sink on loopback; the sink
# must see all three with the rewritten envelope sender and the recipients.
. "$(dirname "$0")/lib/sink.sh"
nr_require swaks smtp-sink
bin="$NR_BUILD/nanorelay"
sink_start
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
sender relay@nas.example
retry 1s 2s
log stderr level=debug
CONF

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/log"
for i in 1 2 3; do
	swaks --server "127.0.0.1:$port" --from "printer$i@lan" --to "user$i@example.com" \
		--header "Subject: delivery $i" --body "body $i" >"$NR_TMP/swaks$i.txt" 2>&1
	check "message $i is queued" grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks$i.txt"
done
sink_wait 3 20 || fail "the sink did not receive 3 messages" "$NR_TMP/log" "$SINK_LOG"
expect_eq "the sink received exactly 3" 3 "$(sink_count)"
envs=""
for i in 1 2 3; do
	envs="$envs$(sink_envelope "$i")"$'\n'
done
for i in 1 2 3; do
	expect_match "envelope of message $i (sender rewritten)" \
		"from=<relay@nas.example> to=<user$i@example.com>" "$envs"
done
bodies=""
for i in 1 2 3; do bodies="$bodies$(sink_body "$i")"$'\n'; done
for i in 1 2 3; do
	expect_match "body of message $i arrived" "body $i" "$bodies"
done
expect_eq "three status=sent log lines" 3 "$(grep -c 'status=sent' "$NR_TMP/log")"
nr_done
