#!/usr/bin/env bash
# Delivery faults, each with its expected outcome (DESIGN.md "Outbound"):
#   deferred, then delivered     upstream down then up; 4xx at MAIL, RCPT, DATA
#                                and after the dot; no reply after the dot
#                                (smtp-sink -r / -q on one port, one relay)
#   permanent, reported once     5xx at MAIL, RCPT, DATA and after the dot:
#                                one attempt each, one admin digest, no storm
#   deferred (never bounced)     disconnect mid-DATA, a silent server after the
#                                dot (upstream_timeout), a mix of accepted and
#                                deferred recipients (the retry carries only
#                                the deferred one), DNS NXDOMAIN (then
#                                delivered once the name exists), SERVFAIL and
#                                a DNS server that never answers
#   refused before any AUTH      expired, untrusted, self-signed certificate,
#                                missing intermediate (wrong name:
#                                test_delivery_tls_verify.sh), a TLS-1.0-only
#                                server, STARTTLS not offered, STARTTLS
#                                answered 454, bytes injected after the 220
#   held                         AUTH 535: one attempt, no fast retry
# A dumpcap capture on the upstream ports (capture filter) must show no
# credential in clear in any of them; a control connection that sends the
# secret in clear proves the capture would have seen it.
. "$(dirname "$0")/lib/sink.sh"
. "$(dirname "$0")/lib/tlsserver.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks smtp-sink dnsmasq dumpcap tshark
[ "$(id -u)" = 0 ] || nr_skip "smtp-sink and dumpcap need root here"
bin="$NR_BUILD/nanorelay"
USER_NAME=tester@smarthost.test
PASSWORD="Faults-S3cret-$RANDOM$RANDOM"
printf '%s\n' "$PASSWORD" >"$NR_TMP/pw"
chmod 600 "$NR_TMP/pw"
ca_make_all
dns_start
UP_PORTS=()

# ---- upstreams (all started before the capture) ----

sink_start # the down-then-up port for the phases below; down at first
SEQ_PORT=$SINK_PORT
sink_stop
UP_PORTS+=("$SEQ_PORT")

# Permanent failures, mixes and breaks, chosen by the envelope (--rule).
tls_start --tls none --auth-mechs "" \
	--rule "MAIL:p-mail=550 5.7.1 sender refused" \
	--rule "RCPT:p-rcpt=550 5.1.1 no such user" \
	--rule "DATA:p-data=554 5.7.1 data refused" \
	--rule "DOT:p-dot=554 5.6.0 content refused" \
	--rule "RCPT:later-mix=451 4.3.0 try this one later" \
	--rule "BODY:mid=DROP" \
	--rule "DOT:hang=HANG"
RULES_PORT=$TLS_PORT RULES_LOG=$TLS_LOG RULES_DIR=$TLS_DIR
UP_PORTS+=("$RULES_PORT")

declare -A T_PORT T_LOG T_DIR
tls_case() { # NAME tls_start-ARGS...
	local name=$1
	shift
	tls_start "$@" || fail "$name: smtpfault did not start"
	T_PORT[$name]=$TLS_PORT T_LOG[$name]=$TLS_LOG T_DIR[$name]=$TLS_DIR
	UP_PORTS+=("$TLS_PORT")
}
tls_case good --kind good
tls_case expired --kind expired
tls_case untrusted --kind untrusted
tls_case selfsigned --kind selfsigned
tls_case nochain --kind nochain
tls_case tls10 --kind good --tls-max 1.0
tls_case nostarttls --kind good --no-starttls
tls_case starttls454 --kind good --starttls-reply "454 4.7.0 TLS not available"
tls_case inject --kind good --inject '250-PIPELINING\r\n250 AUTH PLAIN\r\n'
tls_case auth535 --kind good --auth-reply "535 5.7.8 Authentication failed"
tls_case control --tls none --auth-mechs ""

# ---- the capture ----

filter=""
for p in "${UP_PORTS[@]}"; do filter="$filter${filter:+ or }tcp port $p"; done
CAP=$NR_TMP/upstream.pcap
nr_spawn CAP_PID "$NR_TMP/dumpcap.log" dumpcap -q -i lo -f "$filter" -w "$CAP"
wait_for 10 "dumpcap capturing" grep -q "Capturing on" "$NR_TMP/dumpcap.log" ||
	fail "dumpcap did not start" "$NR_TMP/dumpcap.log"
pass "capture on lo: $filter"

# ---- relays ----

declare -A R_PORT
relay() { # NAME SMARTHOST-LINE [EXTRA-CONF-LINE...]
	local name=$1 sh=$2 port line
	shift 2
	port=$(free_port)
	{
		echo "listen 127.0.0.1:$port tls=none"
		echo "allow 127.0.0.0/8"
		echo "queue file:$NR_TMP/$name.queue size=1M"
		echo "state_dir $NR_TMP/$name.state"
		echo "smarthost $sh"
		echo "ca_file $CA_CERT"
		echo "dns_server 127.0.0.1:${RELAY_DNS_PORT:-$DNS_PORT}"
		echo "retry 1s 1s"
		echo "upstream_timeout 3s"
		echo "log stderr level=debug"
		for line in "$@"; do echo "$line"; done
	} >"$NR_TMP/$name.conf"
	nr_spawn "RPID_$name" "$NR_TMP/$name.log" "$bin" -c "$NR_TMP/$name.conf" --foreground
	R_PORT[$name]=$port
}
send() { # RELAY FROM TO[,TO...] SUBJECT
	swaks --server "127.0.0.1:${R_PORT[$1]}" --from "$2" --to "$3" --header "Subject: $4" \
		--body "body of $4" >"$NR_TMP/swaks.$1.$4" 2>&1 &&
		grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks.$1.$4" ||
		fail "$1: $4 not queued" "$NR_TMP/swaks.$1.$4" "$NR_TMP/$1.log"
}
count() { grep -cE -- "$1" "$2" || true; }
gt() { [ "$(count "$1" "$2")" -gt "$3" ]; }
auth_line="user=$USER_NAME password_file=$NR_TMP/pw"

relay seq "127.0.0.1:$SEQ_PORT tls=none insecure=yes"
relay rules "127.0.0.1:$RULES_PORT tls=none insecure=yes" "admin postmaster@example.com"
for t in "${!T_PORT[@]}"; do
	[ "$t" = control ] && continue
	relay "$t" "smarthost.test:${T_PORT[$t]} tls=starttls $auth_line"
done
relay nx "nx.test:$RULES_PORT tls=none insecure=yes"
relay servfail "servfail.test:$RULES_PORT tls=none insecure=yes"
RELAY_DNS_PORT=$DNS_TIMEOUT_PORT relay dnsdead "smarthost.test:$RULES_PORT tls=none insecure=yes"
for r in "${!R_PORT[@]}"; do
	wait_port "${R_PORT[$r]}" 10 || fail "relay $r did not listen" "$NR_TMP/$r.log"
done

send seq a@lan seq@example.com m1
for t in "${!T_PORT[@]}"; do
	[ "$t" = control ] || send "$t" printer@lan "user-$t@example.com" "tls-$t"
done
for s in p-mail p-rcpt p-data p-dot mid hang; do
	send rules "$s@lan" "$s@example.com" "$s"
done
send rules mix@lan ok-mix@example.com,later-mix@example.com mix
for r in nx servfail dnsdead; do send "$r" printer@lan "user-$r@example.com" "dns-$r"; done

# ---- upstream down then up, then 4xx at each step, then delivered ----

seq_log=$NR_TMP/seq.log
wait_for 10 "connection refused deferral" grep -q "deferring: cannot connect to 127.0.0.1\[127.0.0.1\]:$SEQ_PORT: connection refused" "$seq_log" ||
	fail "down: no plain-words deferral" "$seq_log"
pass "upstream down: deferred (cannot connect ...: connection refused)"
phase() { # DESC LOG-ERE SMTP-SINK-OPTS...
	local desc=$1 ere=$2
	shift 2
	sink_stop
	sink__launch "$@" || fail "smtp-sink $* did not start" "$SINK_LOG"
	wait_for 15 "$desc" grep -Eq -- "$ere" "$seq_log" || fail "$desc: no deferral" "$seq_log" "$SINK_LOG"
	pass "$desc: deferred"
}
phase "450 at MAIL" "status=deferred \(host 127.0.0.1 said: 4[0-9][0-9] .*in reply to MAIL FROM" -r MAIL
phase "450 at RCPT" "status=deferred \(host 127.0.0.1 said: 4[0-9][0-9] .*in reply to RCPT TO" -r RCPT
phase "450 at DATA" "status=deferred \(host 127.0.0.1 said: 4[0-9][0-9] .*in reply to DATA" -r DATA
phase "450 after the dot" "status=deferred \(host 127.0.0.1 said: 4[0-9][0-9] .*in reply to end of data" -r .
phase "no reply after the dot (disconnect)" "status=deferred \(lost connection .* during end of data" -q .
before=$(sink_count)
sink_stop
sink__launch || fail "smtp-sink did not start" "$SINK_LOG"
wait_for 15 "m1 sent" grep -q "to=<seq@example.com>.*status=sent" "$seq_log" || fail "m1 not sent" "$seq_log" "$SINK_LOG"
pass "upstream up, no fault: sent"
sink_wait $((before + 1)) 10 || fail "m1 not in the sink" "$SINK_LOG"
expect_match "m1 arrived after the faults" "Subject: m1" "$(sink_msg "$(sink_count)")"
expect_eq "m1 sent exactly once" 1 "$(count 'status=sent' "$seq_log")"
expect_eq "m1 never bounced" 0 "$(count 'status=bounced' "$seq_log")"

# ---- permanent failures, the digest, mixes and breaks ----

rules_log=$NR_TMP/rules.log
wait_for 15 "4 bounces" gt 'status=bounced' "$rules_log" 3 || fail "not 4 permanent failures" "$rules_log"
for s in p-mail p-rcpt p-data p-dot; do
	expect_eq "$s: 5xx is permanent, logged once" 1 "$(count "to=<$s@example.com>.*status=bounced" "$rules_log")"
done
expect_match "5xx at MAIL: reason names the command" "to=<p-mail@example.com>.*550 5.7.1 sender refused \(in reply to MAIL FROM\)" "$(cat "$rules_log")"
expect_match "5xx after the dot: reason names the step" "to=<p-dot@example.com>.*554 5.6.0 content refused \(in reply to end of data\)" "$(cat "$rules_log")"
wait_for 10 "the digest" grep -lq "X-Rcpt-To: <postmaster@example.com>" "$RULES_DIR"/msgs/msg.* ||
	fail "no digest for the admin" "$rules_log" "$RULES_LOG"
digest=$(grep -l "X-Rcpt-To: <postmaster@example.com>" "$RULES_DIR"/msgs/msg.*)
expect_match "the digest comes from the null sender" "X-Mail-From: <>" "$(cat "$digest")"
expect_match "the digest lists a failed recipient with its reason" "to=<p-(mail|rcpt|data|dot)@example.com>"$'\r\n'"    host 127.0.0.1 said: 5" "$(cat "$digest")"
wait_for 15 "mix retried" gt "to=<later-mix@example.com>.*status=deferred" "$rules_log" 1 ||
	fail "later-mix not retried" "$rules_log"
expect_eq "mix: the accepted recipient is sent once" 1 "$(count 'to=<ok-mix@example.com>.*status=sent' "$rules_log")"
expect_eq "mix: the retries carry only the deferred recipient" 1 "$(count 'C: RCPT TO:<ok-mix@example.com>' "$RULES_LOG")"
wait_for 15 "mid-DATA drop" grep -Eq "to=<mid@example.com>.*status=deferred \(lost connection" "$rules_log" ||
	fail "disconnect mid-DATA: not deferred" "$rules_log"
pass "disconnect mid-DATA: deferred"
wait_for 15 "silent server" grep -Eq "to=<hang@example.com>.*status=deferred \(timed out with 127.0.0.1 during end of data" "$rules_log" ||
	fail "silent after the dot: not deferred by upstream_timeout" "$rules_log"
pass "silent after the dot: deferred by upstream_timeout (3s)"
for s in mid hang later-mix; do
	expect_eq "$s: never bounced" 0 "$(count "to=<$s@example.com>.*status=bounced" "$rules_log")"
done
for s in p-mail p-rcpt p-data p-dot; do
	c="MAIL FROM:<$s@lan>"
	[ "$s" = p-rcpt ] && c="RCPT TO:<$s@example.com>"
	expect_eq "$s: tried once, not retried" 1 "$(count "C: $c" "$RULES_LOG")"
done

# ---- DNS ----

wait_for 10 "NXDOMAIN" grep -q "deferring: cannot resolve nx.test: no such name in DNS" "$NR_TMP/nx.log" || fail "NXDOMAIN" "$NR_TMP/nx.log"
pass "DNS NXDOMAIN: deferred in plain words"
wait_for 10 "SERVFAIL" grep -q "deferring: cannot resolve servfail.test: the DNS server failed" "$NR_TMP/servfail.log" || fail "SERVFAIL" "$NR_TMP/servfail.log"
pass "DNS SERVFAIL: deferred in plain words"
wait_for 15 "DNS timeout" grep -q "deferring: cannot resolve smarthost.test: the DNS server did not answer" "$NR_TMP/dnsdead.log" || fail "DNS timeout" "$NR_TMP/dnsdead.log"
pass "DNS timeout: deferred in plain words"
dns_set_host nx.test 127.0.0.1
wait_for 15 "nx.test delivered" grep -q "to=<user-nx@example.com>.*status=sent" "$NR_TMP/nx.log" || fail "nx.test: not delivered once the name exists" "$NR_TMP/nx.log"
pass "DNS NXDOMAIN: delivered once the name exists"
for r in nx servfail dnsdead; do
	expect_eq "$r: never bounced" 0 "$(count 'status=bounced' "$NR_TMP/$r.log")"
	# issue 21: the waiting message gets its own deferred line (pflogsumm counts it)
	check "$r: a per-message status=deferred line with the DNS error" \
		grep -Eq "to=<[^>]+>, relay=none, .*dsn=4\.4\.1, status=deferred \(cannot resolve " "$NR_TMP/$r.log"
done

# ---- TLS and AUTH ----

wait_for 15 "good delivered" grep -q "status=sent" "$NR_TMP/good.log" || fail "good: not delivered" "$NR_TMP/good.log" "${T_LOG[good]}"
pass "good certificate: delivered over STARTTLS with AUTH"
check "good: the server got the credentials (inside TLS)" grep -q "AUTH-DATA" "${T_LOG[good]}"
tls_refused() { # NAME LOG-ERE DESC
	local log=$NR_TMP/$1.log
	wait_for 15 "$1 refusal" grep -Eq -- "$2" "$log" || fail "$1: no refusal" "$log" "${T_LOG[$1]}"
	pass "$3: deferred ($(grep -Eo -- "$2.*" "$log" | head -n 1 | cut -c1-90))"
	check_not "$1: no AUTH and no MAIL sent" grep -Eq "AUTH-DATA|C: (AUTH|MAIL)" "${T_LOG[$1]}"
	expect_eq "$1: nothing delivered" 0 "$(find "${T_DIR[$1]}/msgs" -name 'msg.*' | wc -l)"
	check "$1: a per-message status=deferred line with the same reason" \
		grep -Eq -- "status=deferred \(${2#deferring: }" "$log"
}
tls_refused expired "deferring: TLS with smarthost.test failed: certificate has expired" "expired certificate"
tls_refused untrusted "deferring: TLS with smarthost.test failed: chain incomplete" "untrusted certificate"
tls_refused selfsigned "deferring: TLS with smarthost.test failed: issuer not trusted" "self-signed certificate"
tls_refused nochain "deferring: TLS with smarthost.test failed: chain incomplete" "missing intermediate"
tls_refused tls10 "deferring: TLS with smarthost.test failed: handshake failed \(no TLS 1.2" "TLS-1.0-only server"
tls_refused nostarttls "deferring: STARTTLS not offered by the relay; refusing to send in clear" "STARTTLS not offered"
tls_refused starttls454 "deferring: host smarthost.test said: 454 4.7.0 TLS not available \(in reply to STARTTLS\)" "STARTTLS answered 454"
tls_refused inject "deferring: bytes after the 220 to STARTTLS \(response injection\); aborted" "bytes injected after the 220"
check_not "inject: no EHLO after the injected bytes" grep -Eq "TLS: " "${T_LOG[inject]}"

wait_for 15 "535 hold" grep -q "authentication failed, holding" "$NR_TMP/auth535.log" ||
	fail "auth535: not held" "$NR_TMP/auth535.log" "${T_LOG[auth535]}"
pass "AUTH 535: held ($(grep -o 'authentication failed, holding.*' "$NR_TMP/auth535.log" | head -n 1 | cut -c1-80))"
sleep 3 # retry is 1s: a fast retry would show a second attempt by now
expect_eq "AUTH 535: one attempt, no fast retry" 1 "$(count 'AUTH-DATA' "${T_LOG[auth535]}")"
expect_eq "AUTH 535: nothing bounced" 0 "$(count 'status=bounced' "$NR_TMP/auth535.log")"
check "AUTH 535: a per-message status=deferred line with the reply" \
	grep -q "status=deferred (host smarthost.test said: 535 5.7.8" "$NR_TMP/auth535.log"
"$bin" -c "$NR_TMP/auth535.conf" status >"$NR_TMP/auth535.status" 2>&1 || true
check "AUTH 535: status shows the hold" grep -Eq "AUTH failed \(held\).*next try in 59m" "$NR_TMP/auth535.status"
check "AUTH 535: status shows the reply" grep -q "last error: host smarthost.test said: 535 5.7.8" "$NR_TMP/auth535.status"
"$bin" -c "$NR_TMP/servfail.conf" status >"$NR_TMP/servfail.status" 2>&1 || true
check "SERVFAIL: status shows the DNS reason" grep -q "cannot resolve servfail.test: the DNS server failed" "$NR_TMP/servfail.status"

expect_eq "one digest for four failures over the whole run (no storm)" 1 \
	"$(grep -l "X-Rcpt-To: <postmaster@example.com>" "$RULES_DIR"/msgs/msg.* | wc -l)"

# ---- the capture: no credential in clear ----

b64() { printf '%b' "$1" | base64 -w0; }
forms=("$PASSWORD" "$(b64 "$PASSWORD")" "$(b64 "\0$USER_NAME\0$PASSWORD")")
"$NR_PY" - "${T_PORT[control]}" "${forms[@]}" <<'PY' || fail "control connection"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(512)
for f in sys.argv[2:]:
    s.sendall(("NOOP " + f + "\r\n").encode())
    s.recv(512)
s.sendall(b"QUIT\r\n")
s.recv(512)
s.close()
PY
sleep 1
nr_stop_pid "$CAP_PID" 5
tshark -r "$CAP" -T fields -e tcp.srcport -e tcp.dstport -e tcp.payload >"$NR_TMP/payloads" 2>"$NR_TMP/tshark.err" ||
	fail "tshark cannot read the capture" "$NR_TMP/tshark.err"
found() { # FORM -> "port port" lines of the segments that carry it
	"$NR_PY" - "$1" "$NR_TMP/payloads" <<'PY'
import sys
form = sys.argv[1].encode()
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 3 and f[2] and form in bytes.fromhex(f[2].replace(":", "")):
        print(f[0], f[1])
PY
}
expect_match "the capture holds the upstream sessions" "^[0-9]{2,}$" "$(wc -l <"$NR_TMP/payloads")"
i=0
for f in "${forms[@]}"; do
	i=$((i + 1))
	hits=$(found "$f")
	expect_match "control: credential form $i seen in clear on the control port" "${T_PORT[control]}" "$hits"
	expect_eq "credential form $i never in clear elsewhere" "" "$(grep -v "${T_PORT[control]}" <<<"$hits" || true)"
done
for r in "${!R_PORT[@]}"; do
	check_not "$r: the password is not in the log" grep -qF "$PASSWORD" "$NR_TMP/$r.log"
done
nr_done
