#!/usr/bin/env bash
# Rewriting end to end: nanorelay -> smtp-sink over loopback with aliases,
# a hostname for bare names, a fixed sender and from_rewrite on. The sink
# must see the rewritten recipients and sender, From rewritten and the
# original From kept in Reply-To; the body itself is untouched.
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
hostname nas.lan
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
sender relay@example.com
from_rewrite on
alias root admin@example.com
alias *@nas.lan catch@example.com
retry 1s 2s
log stderr level=debug
CONF

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/log"

# The whole message from a file: swaks --header would also replace a
# From: line in the body.
cat >"$NR_TMP/msg1.txt" <<'MSG'
Subject: toner low
From: Printer <printer@nas.lan>
To: root

toner low
.leading dot
From: not a header
MSG
swaks --server "127.0.0.1:$port" --from printer@nas.lan --to root \
	--data "$NR_TMP/msg1.txt" >"$NR_TMP/swaks1.txt" 2>&1
check "message to root is queued" grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks1.txt"
sink_wait 1 20 || fail "the sink did not receive the message to root" "$NR_TMP/log" "$SINK_LOG"

expect_eq "envelope: sender replaced, root aliased" \
	"from=<relay@example.com> to=<admin@example.com>" "$(sink_envelope 1)"
body=$(sink_body 1)
expect_eq "one From, rewritten" 'From: "Printer via nanorelay" <relay@example.com>' \
	"$(printf '%s\n' "$body" | sed '/^$/q' | grep '^From:')"
expect_eq "the original From is the Reply-To" 'Reply-To: Printer <printer@nas.lan>' \
	"$(printf '%s\n' "$body" | sed '/^$/q' | grep '^Reply-To:')"
expect_match "Subject kept" "Subject: toner low" "$body"
expect_match "body line kept" "toner low" "$body"
expect_match "a leading dot survives (stuffed on the wire, unstuffed by the sink)" \
	".leading dot" "$body"
expect_match "a From line in the body is not touched" "From: not a header" "$body"

swaks --server "127.0.0.1:$port" --from printer@nas.lan --to x@nas.lan \
	--header "Subject: catch-all" --body "to the catch-all" >"$NR_TMP/swaks2.txt" 2>&1
check "message to x@nas.lan is queued" grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks2.txt"
sink_wait 2 20 || fail "the sink did not receive the message to x@nas.lan" "$NR_TMP/log" "$SINK_LOG"
expect_eq "envelope: *@nas.lan aliased" \
	"from=<relay@example.com> to=<catch@example.com>" "$(sink_envelope 2)"
expect_eq "two status=sent log lines" 2 "$(grep -c 'status=sent' "$NR_TMP/log")"
nr_done
