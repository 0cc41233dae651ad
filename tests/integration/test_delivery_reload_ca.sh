#!/usr/bin/env bash
# SIGHUP reads the CA file again: a bundle updated in place (the usual
# ca-certificates update) or a first TLS smarthost added to a configuration
# that had none takes effect without a restart. A reload whose ca_file cannot
# be read keeps the previous CAs; one that brings the same CA bytes (the file
# unchanged, or a copy) loads nothing. A connection open across the reloads keeps
# the context it started with and ends normally (test_tls checks under ASan
# that a session outlives its context's owner).
#   upstream: lib/smtpfault.py with STARTTLS and a certificate for
#   smarthost.test from "other", a CA the bundle does not hold at first;
#   its first message hangs after the dot, so that connection is open (in
#   TLS) while the relay reloads, until upstream_timeout ends it.
. "$(dirname "$0")/lib/tlsserver.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require dnsmasq
bin="$NR_BUILD/nanorelay"
ca_make_all
dns_start
tls_start --kind untrusted --auth-mechs "" --rule "DOT:hang=HANG" ||
	fail "smtpfault did not start"

bundle=$NR_TMP/bundle.crt
cp "$CA_DIR/root.crt" "$bundle"
port=$(free_port)
conf=$NR_TMP/relay.conf
write_conf() { # SMARTHOST-LINE CA-FILE
	cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
smarthost $1
ca_file $2
dns_server 127.0.0.1:$DNS_PORT
retry 1s 1s
upstream_timeout 3s
log stderr level=info
CONF
}
tls_line="smarthost.test:$TLS_PORT tls=starttls"
# at first only a clear-text smarthost: no TLS context is loaded at start
write_conf "127.0.0.1:$(free_port) tls=none insecure=yes" "$bundle"
nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/log"
send() { # FROM SUBJECT
	swaks --server "127.0.0.1:$port" --from "$1" --to "r@example.com" --header "Subject: $2" \
		--body "body of $2" >"$NR_TMP/swaks.$2" 2>&1 &&
		grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks.$2" ||
		fail "$2 not queued" "$NR_TMP/swaks.$2" "$NR_TMP/log"
}
count() { grep -cE -- "$1" "$2" || true; }
reloaded() { [ "$(count 'configuration reloaded' "$NR_TMP/log")" -ge "$1" ]; }
hup() { # N: the Nth reload, done
	kill -HUP "$pid"
	wait_for 10 "reload $1" reloaded "$1" || fail "reload $1 not done" "$NR_TMP/log"
}

# 1. The first TLS smarthost arrives by reload; its CA is not in the bundle yet.
write_conf "$tls_line" "$bundle"
hup 1
send hang@lan first
wait_for 15 "a refusal" grep -q "TLS with smarthost.test failed" "$NR_TMP/log" ||
	fail "no TLS attempt after the reload added a TLS smarthost" "$NR_TMP/log" "$TLS_LOG"
check "the certificate is refused: its CA is not in the bundle" \
	grep -Eq "deferring: TLS with smarthost.test failed: (chain incomplete|issuer not trusted)" "$NR_TMP/log"
expect_eq "nothing delivered" 0 "$(tls_count)"

# 2. The bundle is updated in place with the other CA, then SIGHUP.
cat "$CA_DIR/root.crt" "$CA_DIR/other-ca.crt" >"$bundle.new"
mv "$bundle.new" "$bundle"
hup 2
# The first message's connection now hangs after the dot, in TLS.
wait_for 15 "the hanging dot" grep -q "C: MAIL FROM:<hang@lan>" "$TLS_LOG" ||
	fail "the updated bundle was not used" "$NR_TMP/log" "$TLS_LOG"
pass "after the reload the certificate from the added CA is accepted"
# 3. A reload whose ca_file is missing, while that TLS connection is open.
write_conf "$tls_line" "$NR_TMP/missing.crt"
hup 3
check "a missing ca_file is reported" grep -q "cannot load CA file $NR_TMP/missing.crt" "$NR_TMP/log"
check "...and delivery keeps its previous settings" grep -q "reload: delivery keeps its previous settings" "$NR_TMP/log"
# The hanging connection times out (upstream_timeout 3s) on the old context;
# the next message and the retry go through with the CAs kept from step 2.
send ok@lan second
wait_for 20 "the second message" grep -q "to=<r@example.com>.*status=sent" "$NR_TMP/log" ||
	fail "nothing delivered with the kept CAs" "$NR_TMP/log" "$TLS_LOG"
pass "the CAs of the last good reload stay in use"
wait_for 10 "the timeout" grep -q "timed out with smarthost.test" "$NR_TMP/log" ||
	fail "the hanging connection did not time out" "$NR_TMP/log"
pass "the connection open across the reloads ended by its own timeout"
# 4. Reloads that bring the same CA bytes load nothing: the bundle unchanged,
# or another file with the same content. Only reloads 1 and 2 loaded one.
loads() { count "reload: CA file .* loaded" "$NR_TMP/log"; }
expect_eq "reloads 1 and 2 loaded a CA file, reload 3 none" 2 "$(loads)"
write_conf "$tls_line" "$bundle"
hup 4
cp "$bundle" "$NR_TMP/copy.crt"
write_conf "$tls_line" "$NR_TMP/copy.crt"
hup 5
expect_eq "the same bundle, by its name or a copy's, is not parsed again" 2 "$(loads)"
send ok@lan third
id=$(sed -nE 's/^<-  250 2.0.0 Ok: queued as ([0-9A-F]+).*/\1/p' "$NR_TMP/swaks.third")
[ -n "$id" ] || fail "no queue id for the third message" "$NR_TMP/swaks.third"
wait_for 20 "the third message" grep -q "$id: to=<r@example.com>.*status=sent" "$NR_TMP/log" ||
	fail "nothing delivered with the context kept" "$NR_TMP/log" "$TLS_LOG"
pass "the context kept across those reloads still delivers"
# 5. The bundle loses the other CA again: the next reload loads it.
cp "$CA_DIR/root.crt" "$NR_TMP/copy.crt"
hup 6
expect_eq "a changed bundle is loaded" 3 "$(loads)"
check_not "no sanitizer report" grep -q "Sanitizer" "$NR_TMP/log"
nr_stop_pid "$pid"
check_not "no sanitizer report at exit" grep -q "Sanitizer" "$NR_TMP/log"
nr_done
