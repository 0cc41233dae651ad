#!/usr/bin/env bash
# Self-test of the integration harness (not a CTest test: run it by hand or in
# CI before the integration tests): bash tests/integration/selftest_harness.sh
# Proves, with real clients, that the peers the tests rely on behave as
# documented in lib/*.sh. Needs root and tests/packages/integration.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib/postfix.sh"
source "$HERE/lib/sink.sh"
source "$HERE/lib/dns.sh"
source "$HERE/lib/tlsserver.sh"
nr_require swaks openssl postfix smtp-sink dnsmasq faketime

SW=(swaks --silent 1 --timeout 10 --server 127.0.0.1)
TOKEN="nr-selftest-$$-$RANDOM"

# ---------------------------------------------------------------- CA
t=$SECONDS
ca_make_all
pass "test CA and certificates made ($((SECONDS - t)) s)"
verify() { openssl verify -CAfile "$CA_CERT" -verify_hostname smarthost.test "$@" 2>&1; }
expect_match "good leaf verifies for smarthost.test" ': OK$' "$(verify "$CA_DIR/good.crt")"
expect_match "good leaf has IP SANs" 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1' \
	"$(openssl x509 -in "$CA_DIR/good.crt" -noout -ext subjectAltName)"
expect_match "wrongname: hostname mismatch" 'hostname mismatch' "$(verify "$CA_DIR/wrongname.crt")"
expect_match "expired: expired" 'certificate has expired' "$(verify "$CA_DIR/expired.crt")"
expect_match "notyet: not yet valid" 'not yet valid' "$(verify "$CA_DIR/notyet.crt")"
expect_match "selfsigned: self-signed" 'self-signed' "$(verify "$CA_DIR/selfsigned.crt")"
expect_match "untrusted: unknown issuer" 'unable to get local issuer' "$(verify "$CA_DIR/untrusted.crt")"
expect_match "nochain: unknown issuer without the intermediate" 'unable to get local issuer' "$(verify "$CA_DIR/nochain.crt")"
expect_match "chain: verifies with the intermediate it carries" ': OK$' \
	"$(verify -untrusted "$CA_DIR/chain.crt" "$CA_DIR/chain.crt")"

# ---------------------------------------------------------------- Postfix
t0=$(date +%s%N)
PF_PLAIN=1 pf_start || fail "pf_start" "$PF_LOG" "$PF_DIR/log/master.err"
t1=$(date +%s%N)
pass "postfix started in $(((t1 - t0) / 1000000)) ms: STARTTLS :$PF_PORT_SUBMIT, TLS :$PF_PORT_SMTPS, plain :$PF_PORT_PLAIN"

sclient() { # PORT [s_client args]
	local port=$1
	shift
	echo QUIT | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA_CERT" \
		-verify_return_error -verify_hostname smarthost.test -servername smarthost.test "$@" 2>&1
}
expect_match "587: certificate verifies (s_client -starttls smtp, hostname smarthost.test)" \
	'Verify return code: 0 \(ok\)' "$(sclient "$PF_PORT_SUBMIT" -starttls smtp)"
expect_match "465: certificate verifies (implicit TLS)" 'Verify return code: 0 \(ok\)' "$(sclient "$PF_PORT_SMTPS")"
out=$(echo QUIT | timeout 10 openssl s_client -connect "127.0.0.1:$PF_PORT_SMTPS" -CAfile "$CA_CERT" \
	-verify_return_error -verify_hostname other.test 2>&1 || true)
expect_match "465: a client checking another name fails" 'hostname mismatch' "$out"

check "587: STARTTLS + AUTH PLAIN + delivery (swaks)" \
	"${SW[@]}" --port "$PF_PORT_SUBMIT" -tls --tls-verify --tls-ca-path "$CA_CERT" \
	-a PLAIN -au "$PF_USER" -ap "$PF_PASS" -f sender@lan.test -t rcpt1@example.com,rcpt2@example.org \
	--header "Subject: $TOKEN"
pf_wait 2 10 || fail "two deliveries (one per recipient)" "$PF_LOG"
pass "delivered: $(pf_count) files"
expect_eq "envelope of delivery 1..2" "from=<sender@lan.test> to=<rcpt1@example.com>
from=<sender@lan.test> to=<rcpt2@example.org>" "$(pf_envelopes | sort)"
expect_match "stored message has the Subject" "Subject: $TOKEN" "$(pf_msg 1)"
expect_match "Received: shows the AUTH user" "Authenticated sender: $PF_USER" "$(pf_msg 1)"
body=$(pf_body 1)
expect_match "pf_body starts with the client's first header" '^Date: ' "$body"
case $body in *Return-Path* | *Delivered-To* | *"by smarthost.test"*) fail "pf_body kept Postfix headers" ;; esac
pass "pf_body strips Return-Path/X-Original-To/Delivered-To/Received"

pf_clear
check "465: implicit TLS + AUTH LOGIN (swaks)" \
	"${SW[@]}" --port "$PF_PORT_SMTPS" --tls-on-connect --tls-verify --tls-ca-path "$CA_CERT" \
	-a LOGIN -au "$PF_USER" -ap "$PF_PASS" -f other@lan.test -t x@example.net
check "587: AUTH CRAM-MD5 (swaks)" \
	"${SW[@]}" --port "$PF_PORT_SUBMIT" -tls -a CRAM-MD5 -au "$PF_USER" -ap "$PF_PASS" -f c@lan.test -t y@example.net
pf_wait 2 10 || fail "LOGIN and CRAM-MD5 mail delivered" "$PF_LOG"
expect_eq "envelopes" "from=<other@lan.test> to=<x@example.net>
from=<c@lan.test> to=<y@example.net>" "$(pf_envelopes)"

out=$("$NR_PY" - "$PF_PORT_SUBMIT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("selftest")
print("features:", " ".join(sorted(s.esmtp_features)))
print("auth:", s.docmd("AUTH", "PLAIN AHRlc3RlcgB4")[0])
print("mail:", s.docmd("MAIL", "FROM:<a@b>")[0])
s.quit()
EOF
)
expect_match "587 without TLS: AUTH not advertised" 'features: .*starttls' "$out"
[[ $out == *"features:"*" auth "* || $out == *"features: auth"* ]] && fail "AUTH advertised before TLS: $out"
expect_match "587 without TLS: AUTH refused (530), MAIL refused (530)" $'auth: 530\nmail: 530' "$out"

out=$("${SW[@]}" --port "$PF_PORT_SUBMIT" -tls -a PLAIN -au "$PF_USER" -ap wrong-password \
	-f a@lan.test -t b@example.com --silent 0 2>&1 || true)
expect_match "wrong password: 535" '<~?\*+ +535 5\.7\.8' "$out"
out=$("${SW[@]}" --port "$PF_PORT_SUBMIT" -tls -f a@lan.test -t b@example.com --silent 0 2>&1 || true)
expect_match "no AUTH: relaying refused at RCPT (554 5.7.1)" '<~?\*+ +554 5\.7\.1' "$out"

pf_clear
check "plain port: AUTH in the clear + delivery" \
	"${SW[@]}" --port "$PF_PORT_PLAIN" -a PLAIN -au "$PF_USER" -ap "$PF_PASS" -f p@lan.test -t q@example.com
pf_wait 1 10 || fail "plain delivery" "$PF_LOG"
if [ "$NR_HAVE_IPV6" = 1 ]; then
	check "587 over ::1 (STARTTLS + AUTH)" swaks --silent 1 --timeout 10 -6 --server ::1 --port "$PF_PORT_SUBMIT" \
		-tls -a PLAIN -au "$PF_USER" -ap "$PF_PASS" -f v6@lan.test -t r@example.com
	pf_wait 2 10 || fail "::1 delivery" "$PF_LOG"
fi

t0=$(date +%s%N)
pf_down
nr_listening "$PF_PORT_SUBMIT" && fail "port still open after pf_down"
t1=$(date +%s%N)
pf_up || fail "pf_up after pf_down" "$PF_LOG"
t2=$(date +%s%N)
pass "pf_down $(((t1 - t0) / 1000000)) ms, pf_up on the same ports $(((t2 - t1) / 1000000)) ms"
check "delivery after restart" \
	"${SW[@]}" --port "$PF_PORT_SMTPS" --tls-on-connect -a PLAIN -au "$PF_USER" -ap "$PF_PASS" -f r@lan.test -t s@example.com
n=$((NR_HAVE_IPV6 + 2))
pf_wait "$n" 10 || fail "delivery after restart" "$PF_LOG"

# a second and third instance, serving the intermediate and not serving it
A_DIR=$PF_DIR
PF_CERT=$CA_DIR/chain.crt PF_KEY=$CA_DIR/chain.key pf_start || fail "second instance" "$PF_LOG"
[ "$PF_DIR" != "$A_DIR" ] || fail "second instance reused the first one's dir"
expect_match "instance 2 serves leaf+intermediate: verifies with the root only" \
	'Verify return code: 0 \(ok\)' "$(sclient "$PF_PORT_SMTPS")"
PF_CERT=$CA_DIR/nochain.crt PF_KEY=$CA_DIR/nochain.key pf_start || fail "third instance" "$PF_LOG"
expect_match "instance 3 without the intermediate: verification fails" \
	'unable to get local issuer certificate' "$(sclient "$PF_PORT_SMTPS" || true)"
expect_eq "instance 1 still holds its mail" "$n" "$(PF_DIR=$A_DIR PF_MAILDIR=$A_DIR/mail/Maildir pf_count)"
pass "postfix: all good"

# ---------------------------------------------------------------- DNS
dns_start || fail "dns_start" "$DNS_LOG"
expect_eq "smarthost.test A" $'NOERROR\n127.0.0.1' "$(dns_query smarthost.test A)"
expect_eq "smarthost.test AAAA" $'NOERROR\n::1' "$(dns_query smarthost.test AAAA)"
expect_eq "other.test NXDOMAIN" "NXDOMAIN" "$(dns_query other.test A)"
expect_eq "gmail.com NXDOMAIN (nothing leaves the box)" "NXDOMAIN" "$(dns_query smtp.gmail.com A)"
expect_eq "servfail.test SERVFAIL" "SERVFAIL" "$(dns_query servfail.test A)"
expect_eq "DNS_SERVFAIL_PORT answers SERVFAIL" "SERVFAIL" "$(dns_query smarthost.test A "$DNS_SERVFAIL_PORT")"
expect_eq "DNS_TIMEOUT_PORT never answers" "TIMEOUT" "$(dns_query smarthost.test A "$DNS_TIMEOUT_PORT" || true)"
expect_eq "mx.test MX" $'NOERROR\n10 smarthost.test' "$(dns_query mx.test MX)"
dns_set_host moved.test 127.0.0.9
expect_eq "dns_set_host takes effect" $'NOERROR\n127.0.0.9' "$(dns_query moved.test A)"

# ---------------------------------------------------------------- smtp-sink
sink_start || fail "sink_start" "$SINK_LOG"
check "smtp-sink accepts" "${SW[@]}" --port "$SINK_PORT" -f a@lan.test -t b@example.com,c@example.com
sink_wait 1 10 || fail "sink dump" "$SINK_LOG"
expect_eq "sink envelope" "from=<a@lan.test> to=<b@example.com>,<c@example.com>" "$(sink_envelope 1)"
expect_match "sink body" '^Date: ' "$(sink_body 1)"
sink_start -r RCPT
out=$("${SW[@]}" --port "$SINK_PORT" -f a@lan.test -t b@example.com --silent 0 2>&1 || true)
expect_match "sink -r RCPT: 450 at RCPT" '<~?\*+ +450 4\.3\.0' "$out"
sink_start -f .
out=$("${SW[@]}" --port "$SINK_PORT" -f a@lan.test -t b@example.com --silent 0 2>&1 || true)
expect_match "sink -f .: 500 after the dot" '<~?\*+ +500 5\.3\.0' "$out"

# ---------------------------------------------------------------- TLS fault server
tls_start --kind expired
expect_match "smtpfault STARTTLS with the expired cert fails verification" 'certificate has expired' \
	"$(sclient "$TLS_PORT" -starttls smtp || true)"
tls_start --kind good --auth-reply "535 5.7.8 Authentication credentials invalid"
out=$("${SW[@]}" --port "$TLS_PORT" -tls -a PLAIN -au u@x -ap pw --silent 0 -f a@b -t c@d 2>&1 || true)
expect_match "smtpfault --auth-reply 535" '<~?\*+ +535 5\.7\.8' "$out"
expect_match "smtpfault logs the credentials the client sent" "AUTH-DATA PLAIN .*u@x.*pw" "$(cat "$TLS_LOG")"
tls_start --kind good --tls-max 1.0
expect_match "smtpfault --tls-max 1.0 refuses a TLS 1.2+ client" 'alert|error|no protocols' \
	"$(sclient "$TLS_PORT" -starttls smtp || true)"

nr_done
