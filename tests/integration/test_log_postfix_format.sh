#!/usr/bin/env bash
# Logs in the form Postfix's log tools parse. A mix of outcomes through a
# real Postfix smarthost (STARTTLS + SASL; recipient access rules make one
# address bounce and one defer), relay-denied clients and a failed LAN AUTH;
# the log (stderr, level=debug) goes through configs/nanorelay-pflogsumm.sed
# into pflogsumm, whose counts must match what was done. No password or AUTH
# payload may appear even at debug level. Then the same daemon with
# `log syslog`, inside a private mount namespace whose /dev/log is a socket
# this test reads: facility mail, ident nanorelay.
. "$(dirname "$0")/lib/postfix.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks postfix dnsmasq pflogsumm
[ "$(id -u)" = 0 ] || nr_skip "the private Postfix needs root"
bin="$NR_BUILD/nanorelay"
recipe="$NR_SRC/configs/nanorelay-pflogsumm.sed"
ca_make_all
dns_start
cat >"$NR_TMP/rcpt_access" <<'MAP'
bounce@example.com 550 5.1.1 <bounce@example.com>: no such user here
defer@example.com 451 4.3.0 try again later
MAP
PF_MAIN_EXTRA="smtpd_recipient_restrictions = check_recipient_access texthash:$NR_TMP/rcpt_access" \
	pf_start || fail "postfix" "${PF_LOG:-}"
printf '%s\n' "$PF_PASS" >"$NR_TMP/smarthost.pw"
chmod 600 "$NR_TMP/smarthost.pw"
LAN_PASS='Lan-Secret-77'

# write_conf NAME LOG-LINE -> $NR_TMP/NAME.conf, listener port in $PORT
write_conf() {
	PORT=$(free_port)
	cat >"$NR_TMP/$1.conf" <<CONF
listen 127.0.0.1:$PORT plain_auth=127.0.0.0/8
allow 127.0.0.2/32
users $NR_TMP/users
queue file:$NR_TMP/$1.queue size=1M
state_dir $NR_TMP/$1.state
smarthost $PF_HOST:$PF_PORT_SUBMIT tls=starttls user=$PF_USER password_file=$NR_TMP/smarthost.pw
ca_file $PF_CA
dns_server 127.0.0.1:$DNS_PORT
retry 1s 2s
max_message_size 8K
$2
CONF
}
# send TAG SWAKS-ARGS...: one message, swaks transcript in $NR_TMP/TAG.swaks
send() {
	local tag=$1
	shift
	swaks --server "127.0.0.1:$PORT" --from "printer@lan.test" --body "log test $tag" "$@" \
		>"$NR_TMP/$tag.swaks" 2>&1 || true
}
log_count() { grep -cE -- "$1" "$LOG" || true; }

write_conf main "log stderr level=debug"
printf '%s\n' "$LAN_PASS" | "$bin" -c "$NR_TMP/main.conf" passwd printer >/dev/null 2>&1 ||
	fail "nanorelay passwd"
LOG="$NR_TMP/main.log"
nr_spawn RELAY_PID "$LOG" "$bin" -c "$NR_TMP/main.conf" --foreground
wait_port "$PORT" 10 || fail "nanorelay did not listen" "$LOG"

# received 4: ok1 (allowed network), ok2+bounce, defer, auth (LAN AUTH)
send ok1 -li 127.0.0.2 --to ok1@example.com
send mixed -li 127.0.0.2 --to ok2@example.com,bounce@example.com
send defer -li 127.0.0.2 --to defer@example.com
send auth --auth PLAIN --auth-user printer --auth-password "$LAN_PASS" --to ok3@example.com
# rejected 2 (+1 below): relay access denied (127.0.0.1 is not in allow, no AUTH)
send denied1 --to victim1@example.net
send denied2 --to victim2@example.net
# rejected 3: too big, refused at the end of DATA
big=$(head -c 12000 /dev/zero | tr '\0' 'x' | fold -w 70)
send toobig -li 127.0.0.2 --to big@example.com --body "$big"
# a failed LAN AUTH: a SASL warning, not a message
send badauth --auth LOGIN --auth-user printer --auth-password 'Wrong-Secret-99' --to x@example.com
for t in ok1 mixed defer auth; do
	check "$t: queued" grep -Eq '250 2.0.0 Ok: queued as' "$NR_TMP/$t.swaks"
done
check "denied: 554 5.7.1" grep -q '554 5.7.1 <victim1@example.net>: Relay access denied' "$NR_TMP/denied1.swaks"
check "bad AUTH: 535" grep -q '535 5.7.8' "$NR_TMP/badauth.swaks"
check "too big: 552 5.3.4" grep -q '552 5.3.4' "$NR_TMP/toobig.swaks"

wait_for 30 "3 sent, 1 bounced, 2 deferrals" eval \
	'[ "$(log_count "status=sent")" -ge 3 ] && [ "$(log_count "status=bounced")" -ge 1 ] && [ "$(log_count "to=<defer@example.com>.*status=deferred")" -ge 2 ]' ||
	fail "outcomes not logged" "$LOG"
nr_stop_pid "$RELAY_PID"

# The lines themselves.
id_re='[0-9a-f]{16}'
check "client= on acceptance" grep -Eq "]: $id_re: client=unknown\[127\.0\.0\.2\]$" "$LOG"
check "client= with the SASL user" grep -Eq "]: $id_re: client=unknown\[127\.0\.0\.1\], sasl_username=printer$" "$LOG"
check "from= size= nrcpt= (queue active)" grep -Eq "]: $id_re: from=<printer@lan.test>, size=[0-9]+, nrcpt=2 \(queue active\)$" "$LOG"
check "sent: relay, delay, delays, dsn" grep -Eq "]: $id_re: to=<ok1@example.com>, relay=smarthost.test\[(127\.0\.0\.1|::1)\]:$PF_PORT_SUBMIT, delay=[0-9]+, delays=0/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(.*250 2\.0\.0 Ok" "$LOG"
check "bounced: dsn from the reply" grep -Eq "]: $id_re: to=<bounce@example.com>, .*dsn=5\.1\.1, status=bounced \(.*550 5\.1\.1" "$LOG"
check "deferred: dsn from the reply" grep -Eq "]: $id_re: to=<defer@example.com>, .*dsn=4\.3\.0, status=deferred \(.*451 4\.3\.0" "$LOG"
check "removed when the message left the queue" grep -Eq "]: $id_re: removed$" "$LOG"
expect_eq "3 messages removed (ok1, mixed, auth; defer stays)" 3 "$(log_count ": $id_re: removed$")"
check "relay denied, Postfix form" grep -Eq "]: NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 <victim1@example.net>: Relay access denied; from=<printer@lan.test> to=<victim1@example.net> proto=ESMTP helo=<[^>]+>$" "$LOG"
check "DATA reject, Postfix form" grep -Eq "]: NOQUEUE: reject: DATA from unknown\[127\.0\.0\.2\]: 552 5\.3\.4 <DATA>: Data command rejected: message file too big; from=<printer@lan.test> proto=ESMTP helo=<[^>]+>$" "$LOG"
check "SASL failure, no payload" grep -Eq "]: warning: unknown\[127\.0\.0\.1\]: SASL LOGIN authentication failed$" "$LOG"
check "debug lines were on" grep -q "]: debug: " "$LOG"
check_not "no sanitizer report" grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$LOG"

# No secret anywhere, debug included.
b64() { printf '%s' "$1" | base64 -w0; }
for secret in "$PF_PASS" "$LAN_PASS" 'Wrong-Secret-99' \
	"$(printf '\0%s\0%s' "$PF_USER" "$PF_PASS" | base64 -w0)" \
	"$(printf '\0%s\0%s' printer "$LAN_PASS" | base64 -w0)" \
	"$(b64 "$PF_PASS")" "$(b64 "$LAN_PASS")" "$(b64 'Wrong-Secret-99')"; do
	check_not "no secret or AUTH payload in the debug log (${secret:0:3}...)" grep -qF -- "$secret" "$LOG"
done

# pflogsumm through the documented recipe.
sed -E -f "$recipe" "$LOG" >"$NR_TMP/adapted.log"
pflogsumm --syslog-name=nanorelay "$NR_TMP/adapted.log" >"$NR_TMP/pflogsumm.txt" 2>&1 ||
	fail "pflogsumm failed" "$NR_TMP/pflogsumm.txt"
sed -n '1,30p' "$NR_TMP/pflogsumm.txt" | sed 's/^/# pflogsumm| /'
count() { awk -v w="$1" '$2 == w { print $1; exit }' "$NR_TMP/pflogsumm.txt"; }
expect_eq "pflogsumm: received" 4 "$(count received)"
expect_eq "pflogsumm: delivered" 3 "$(count delivered)"
expect_eq "pflogsumm: deferred (messages)" 1 "$(count deferred)"
expect_eq "pflogsumm: bounced" 1 "$(count bounced)"
expect_eq "pflogsumm: rejected" 3 "$(count rejected)"
check "pflogsumm: the relay denial is listed" grep -q "Relay access denied" "$NR_TMP/pflogsumm.txt"
check "pflogsumm: the SASL warning is listed" grep -q "SASL LOGIN authentication failed" "$NR_TMP/pflogsumm.txt"

# logwatch's postfix filter (postfix-logwatch) on the same lines. It reads
# syslog files only (traditional "Mon DD HH:MM:SS host" stamps): convert.
lw=/usr/share/logwatch/scripts/services/postfix
if [ -f "$lw" ]; then
	sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T([0-9:]{8})\.[0-9]+Z /Jan  1 \1 /' "$NR_TMP/adapted.log" |
		LOGWATCH_DETAIL_LEVEL=5 perl "$lw" --syslog_name nanorelay >"$NR_TMP/logwatch.txt" 2>&1 ||
		fail "logwatch's postfix filter failed" "$NR_TMP/logwatch.txt"
	lwc() { awk -v w="$1" 'index($0, w) { print $1; exit }' "$NR_TMP/logwatch.txt"; }
	expect_eq "logwatch: accepted" 4 "$(lwc "Accepted ")"
	expect_eq "logwatch: rejected" 3 "$(lwc "Rejected ")"
	expect_eq "logwatch: sent via SMTP" 3 "$(lwc "Sent via SMTP ")"
	expect_eq "logwatch: deferred" 1 "$(lwc "Deferred ")"
	expect_eq "logwatch: bounced" 1 "$(lwc "Bounced (remote) ")"
	expect_eq "logwatch: removed from queue" 3 "$(lwc "Removed from queue ")"
	expect_eq "logwatch: SASL failures" 1 "$(lwc "SASL authentication failed ")"
else
	echo "# logwatch not installed: its check is skipped (tests/packages/diag.txt)"
fi

# log syslog: facility mail, ident nanorelay, via /dev/log in a private mount
# namespace (the test's own socket; the host's /dev is untouched).
command -v unshare >/dev/null || { nr_done; exit 0; }
mkdir -p "$NR_TMP/dev"
touch "$NR_TMP/dev/null"
"$NR_PY" - "$NR_TMP/dev/log" "$NR_TMP/syslog.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 40
with open(sys.argv[2], "ab", buffering=0) as f:
    while time.time() < end:
        try:
            f.write(s.recv(4096) + b"\n")
        except socket.timeout:
            pass
PY
LISTENER=$!
nr_on_exit "kill $LISTENER 2>/dev/null"
wait_for 5 "syslog socket" test -S "$NR_TMP/dev/log" || fail "no syslog listener"
write_conf sys "log syslog"
nr_spawn SYS_PID "$NR_TMP/sys.stderr" unshare -m sh -c \
	"mount --make-rprivate / && mount --bind /dev/null '$NR_TMP/dev/null' && mount --rbind '$NR_TMP/dev' /dev && exec '$bin' -c '$NR_TMP/sys.conf' --foreground"
wait_port "$PORT" 10 || fail "nanorelay (syslog) did not listen" "$NR_TMP/sys.stderr"
send sys1 -li 127.0.0.2 --to ok9@example.com
send sys2 --to victim9@example.net
wait_for 20 "sent line in syslog" grep -q "status=sent" "$NR_TMP/syslog.txt" ||
	fail "no delivery in syslog" "$NR_TMP/syslog.txt" "$NR_TMP/sys.stderr"
nr_stop_pid "$SYS_PID"
# <22> = facility mail (2) * 8 + info (6); <20> = mail.warning
check "syslog: mail.info, ident nanorelay, client=" grep -Eq "^<22>.* nanorelay\[[0-9]+\]: $id_re: client=unknown\[127\.0\.0\.2\]" "$NR_TMP/syslog.txt"
check "syslog: the reject at mail.info" grep -Eq "^<22>.* nanorelay\[[0-9]+\]: NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]" "$NR_TMP/syslog.txt"
check "syslog: status=sent" grep -Eq "^<22>.* nanorelay\[[0-9]+\]: $id_re: to=<ok9@example.com>, .*status=sent" "$NR_TMP/syslog.txt"
check_not "syslog: nothing went to stderr" grep -q "status=sent" "$NR_TMP/sys.stderr"
nr_done
