#!/usr/bin/env bash
# Provider sender rules (issue 19): a smarthost that acts like Microsoft 365
# (lib/smtpfault.py --send-as-denied: after the dot, a MAIL FROM or header
# From that is not the authenticated user gets "554 5.2.252 SendAsDenied")
# under the name smtp.office365.com (dnsmasq, a test-CA certificate for it).
#   auto (no from_rewrite line)  a printer's mail is delivered: envelope and
#                                From are the account, the original From is
#                                the Reply-To (or stays in the display name
#                                when the message has a Reply-To already);
#                                the admin digest is accepted: from the
#                                account, From: the account, Auto-Submitted
#   from_rewrite off             the printer's mail is refused with 5.2.252;
#                                send-test names from_rewrite on; the digest
#                                is still accepted (it needs no rewriting);
#                                test-upstream notes the rule either way
. "$(dirname "$0")/lib/tlsserver.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks dnsmasq
bin="$NR_BUILD/nanorelay"
M365=smtp.office365.com
ACCOUNT=scanner@contoso.test
printf '%s\n' "SendAs-S3cret-$RANDOM" >"$NR_TMP/pw"
chmod 600 "$NR_TMP/pw"
ca_make_all
ca_leaf m365 root "DNS:$M365"
DNS_HOST_RECORDS="smarthost.test,127.0.0.1 $M365,127.0.0.1" dns_start ||
	fail "dnsmasq did not start"

# relay NAME SMARTHOST-PORT [EXTRA-CONF-LINE...]: a relay through the
# fake Microsoft 365 at SMARTHOST-PORT, listening on R_PORT[NAME].
declare -A R_PORT
relay() {
	local name=$1 up=$2 port line
	shift 2
	port=$(free_port)
	{
		echo "listen 127.0.0.1:$port tls=none"
		echo "allow 127.0.0.0/8"
		echo "hostname nas.lan"
		echo "queue file:$NR_TMP/$name.queue size=1M"
		echo "state_dir $NR_TMP/$name.state"
		echo "smarthost $M365:$up tls=starttls user=$ACCOUNT password_file=$NR_TMP/pw"
		echo "ca_file $CA_CERT"
		echo "dns_server 127.0.0.1:$DNS_PORT"
		echo "admin admin@contoso.test"
		echo "retry 1s 2s"
		echo "log stderr level=debug"
		for line in "$@"; do echo "$line"; done
	} >"$NR_TMP/$name.conf"
	nr_spawn "RPID_$name" "$NR_TMP/$name.log" "$bin" -c "$NR_TMP/$name.conf" --foreground
	R_PORT[$name]=$port
	wait_port "$port" 10 || fail "relay $name did not listen" "$NR_TMP/$name.log"
}
# submit RELAY TO FILE: the whole message from FILE (swaks --header would
# add its own From), as the printer would send it.
submit() {
	swaks --server "127.0.0.1:${R_PORT[$1]}" --from printer@nas.lan --to "$2" \
		--data "$3" >"$NR_TMP/swaks.$1.$2" 2>&1 &&
		grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks.$1.$2" ||
		fail "$1: message to $2 not queued" "$NR_TMP/swaks.$1.$2" "$NR_TMP/$1.log"
}
# msg_to DIR RCPT: the stored message for RCPT (first match).
msg_to() { grep -l "^X-Rcpt-To: <$2>" "$1"/msgs/msg.* 2>/dev/null | head -n 1; }
have_msg_to() { [ -n "$(msg_to "$1" "$2")" ]; }
header_of() { sed '/^\r$/q' "$1" | tr -d '\r' | grep -i "^$2:" || true; }

cat >"$NR_TMP/printer.txt" <<'MSG'
From: Printer <printer@nas.lan>
To: ok@example.com
Subject: toner low

toner low
MSG
cat >"$NR_TMP/replyto.txt" <<'MSG'
From: Printer <printer@nas.lan>
Reply-To: ops@nas.lan
To: ok2@example.com
Subject: paper jam

paper jam
MSG
cat >"$NR_TMP/gone.txt" <<'MSG'
From: Printer <printer@nas.lan>
To: gone@example.com
Subject: to nobody

to nobody
MSG

# ---- auto: from_rewrite on by default at Microsoft 365 ----
tls_start --kind m365 --send-as-denied --auth-mechs "PLAIN LOGIN" \
	--rule "RCPT:gone@=550 5.1.1 User unknown" || fail "smtpfault did not start"
A_DIR=$TLS_DIR A_LOG=$TLS_LOG
relay auto "$TLS_PORT"
submit auto ok@example.com "$NR_TMP/printer.txt"
submit auto ok2@example.com "$NR_TMP/replyto.txt"
wait_for 20 "the printer's mail at the fake Microsoft 365" have_msg_to "$A_DIR" ok@example.com ||
	fail "the printer's mail was not accepted" "$NR_TMP/auto.log" "$A_LOG"
m=$(msg_to "$A_DIR" ok@example.com)
expect_match "envelope sender is the account" "^X-Mail-From: <$ACCOUNT>( SIZE=[0-9]+)?\$" \
	"$(head -n 1 "$m" | tr -d '\r')"
expect_eq "From is the account, the printer's name kept" \
	"From: \"Printer via nanorelay\" <$ACCOUNT>" "$(header_of "$m" From)"
expect_eq "the printer's From is the Reply-To" "Reply-To: Printer <printer@nas.lan>" \
	"$(header_of "$m" Reply-To)"
wait_for 20 "the message with a Reply-To" have_msg_to "$A_DIR" ok2@example.com ||
	fail "the message with a Reply-To was not accepted" "$NR_TMP/auto.log" "$A_LOG"
m=$(msg_to "$A_DIR" ok2@example.com)
expect_eq "with a Reply-To: From rewritten all the same" \
	"From: \"Printer via nanorelay\" <$ACCOUNT>" "$(header_of "$m" From)"
expect_eq "with a Reply-To: that one is kept, alone" "Reply-To: ops@nas.lan" \
	"$(header_of "$m" Reply-To)"
check "no SendAsDenied in auto mode" bash -c "! grep -q 'SendAsDenied' '$NR_TMP/auto.log'"

# A permanent failure: the digest for the admin must get through too.
submit auto gone@example.com "$NR_TMP/gone.txt"
wait_for 30 "the digest at the fake Microsoft 365" have_msg_to "$A_DIR" admin@contoso.test ||
	fail "the digest was not accepted" "$NR_TMP/auto.log" "$A_LOG"
d=$(msg_to "$A_DIR" admin@contoso.test)
expect_match "digest: envelope sender is the account" "^X-Mail-From: <$ACCOUNT>( SIZE=[0-9]+)?\$" \
	"$(head -n 1 "$d" | tr -d '\r')"
expect_eq "digest: From is the account, not rewritten again" \
	"From: \"nanorelay on nas.lan\" <$ACCOUNT>" "$(header_of "$d" From)"
expect_eq "digest: no Reply-To added" "" "$(header_of "$d" Reply-To)"
expect_eq "digest: Auto-Submitted" "Auto-Submitted: auto-generated" "$(header_of "$d" Auto-Submitted)"
expect_match "digest: the reason as the log gives it" "to=<gone@example.com>" "$(tr -d '\r' <"$d")"
expect_match "digest: 550 5.1.1 named" "said: 550 5.1.1 User unknown" "$(tr -d '\r' <"$d")"
check "digest: no MAILER-DAEMON" bash -c "! grep -q MAILER-DAEMON '$d'"

# ---- from_rewrite off: the rule bites, and the tools say what to do ----
tls_start --kind m365 --send-as-denied --auth-mechs "PLAIN LOGIN" || fail "smtpfault did not start"
O_DIR=$TLS_DIR O_LOG=$TLS_LOG
relay off "$TLS_PORT" "from_rewrite off"
submit off ok@example.com "$NR_TMP/printer.txt"
wait_for 20 "the refusal in the log" grep -q "status=bounced (host $M365.*554 5.2.252 SendAsDenied" \
	"$NR_TMP/off.log" || fail "no SendAsDenied refusal with from_rewrite off" "$NR_TMP/off.log" "$O_LOG"
pass "from_rewrite off: the fake Microsoft 365 refuses the printer's From (5.2.252)"
have_msg_to "$O_DIR" ok@example.com && fail "the refused message was stored" "$O_LOG"
pass "the refused message was not stored"
wait_for 30 "the digest despite from_rewrite off" have_msg_to "$O_DIR" admin@contoso.test ||
	fail "the digest was refused with from_rewrite off" "$NR_TMP/off.log" "$O_LOG"
d=$(msg_to "$O_DIR" admin@contoso.test)
expect_match "digest (off): lists the SendAsDenied refusal" "554 5.2.252 SendAsDenied" "$(tr -d '\r' <"$d")"

# run RELAY ARGS...: a nanorelay command with RELAY's configuration;
# output (shown in the test log) in $out, exit code in $rc.
run() {
	local name=$1
	shift
	rc=0
	out=$("$bin" -c "$NR_TMP/$name.conf" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed "s/^/# $name $1| /"
}

run off send-test someone@example.com --wait 20
expect_eq "send-test: refused permanently (67)" 67 "$rc"
expect_match "send-test: the refusal" "refused permanently for someone@example.com \(.*5.2.252 SendAsDenied" "$out"
expect_match "send-test: names the setting" \
	"  fix: the smarthost refuses a header From that is not the account .* set \`from_rewrite on\`" "$out"

run off test-upstream
expect_eq "test-upstream (off): the walk passes" 0 "$rc"
expect_match "test-upstream (off): warns and names the setting" \
	"note +Microsoft 365 refuses mail whose header From is not $ACCOUNT \(554 5.2.252 SendAsDenied\) and from_rewrite is off here: set \`from_rewrite on\` .* the original kept in Reply-To\$" "$out"
run auto test-upstream
expect_eq "test-upstream (auto): the walk passes" 0 "$rc"
expect_match "test-upstream (auto): says the From is rewritten" \
	"note +Microsoft 365 accepts only mail From the account: the header From is rewritten" "$out"
nr_done
