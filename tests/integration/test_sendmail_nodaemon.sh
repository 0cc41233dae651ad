#!/usr/bin/env bash
# sendmail with no daemon running, both settings of sendmail_no_daemon:
#   fail   -> exit 75 with a message naming the submit socket; nothing sent;
#   direct -> the same smtpd session in process, then delivery in the
#             foreground: to a real Postfix over STARTTLS + AUTH (exit 0, the
#             message arrives once), to an unreachable smarthost (exit 75,
#             the reason said), to a smarthost refusing the recipient (69).
# And a daemon stopped after it ran leaves a stale socket: still exit 75.
. "$(dirname "$0")/lib/postfix.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require postfix dnsmasq smtp-sink
[ "$(id -u)" = 0 ] || nr_skip "the private Postfix needs root"
. "$(dirname "$0")/lib/sink.sh"
bin="$NR_BUILD/nanorelay"
ca_make_all
dns_start
pf_start
printf '%s\n' "$PF_PASS" >"$NR_TMP/smarthost.pw"
chmod 600 "$NR_TMP/smarthost.pw"
dead_port=$(free_port)
port=$(free_port)

write_conf() { # FILE MODE SMARTHOST-LINE
	cat >"$1" <<CONF
listen 127.0.0.1:$port
hostname box.test
queue ram size=1M
state_dir $NR_TMP/state
$3
ca_file $PF_CA
dns_server 127.0.0.1:$DNS_PORT
sender relay@nas.example
sendmail_no_daemon $2
log stderr level=debug
CONF
}
expect_has() { # DESC FIXED-STRING TEXT
	if [[ $3 == *"$2"* ]]; then pass "$1"; else
		printf '%s\n' "$3" | tail -n 40 | sed 's/^/#  /'
		fail "$1: no [$2] in it"
	fi
}
pf_line="smarthost $PF_HOST:$PF_PORT_SUBMIT tls=starttls user=$PF_USER password_file=$NR_TMP/smarthost.pw"

# fail: 75, the socket named, nothing delivered
write_conf "$NR_TMP/fail.conf" fail "$pf_line"
printf 'Subject: fail mode\n\nfail-marker\n' |
	"$bin" -c "$NR_TMP/fail.conf" sendmail user@example.com 2>"$NR_TMP/err"
expect_eq "fail: exit 75 (EX_TEMPFAIL)" 75 $?
expect_has "fail: the message names the socket" "$NR_TMP/state/submit" "$(cat "$NR_TMP/err")"
expect_has "fail: the message says the daemon is not running" "daemon is not running" "$(cat "$NR_TMP/err")"

# a stale socket from a daemon that is gone is the same as none
nr_spawn pid "$NR_TMP/daemon.log" "$bin" -c "$NR_TMP/fail.conf" --foreground
wait_for 10 "the submit socket" test -S "$NR_TMP/state/submit" || fail "no submit socket" "$NR_TMP/daemon.log"
kill -9 "$pid"
wait_for 10 "the daemon to be gone" nr__pid_gone "$pid" || true
check "the socket file stays behind" test -S "$NR_TMP/state/submit"
printf 'Subject: stale\n\nstale-marker\n' |
	"$bin" -c "$NR_TMP/fail.conf" sendmail user@example.com 2>"$NR_TMP/err"
expect_eq "stale socket: exit 75" 75 $?

# direct to Postfix: STARTTLS, AUTH, delivered before sendmail returns
write_conf "$NR_TMP/direct.conf" direct "$pf_line"
printf 'Subject: direct mode\n\ndirect-marker\n' |
	"$bin" -c "$NR_TMP/direct.conf" sendmail -f backup@box.test user@example.com 2>"$NR_TMP/err"
expect_eq "direct: exit 0" 0 $?
pf_wait 1 20 || fail "direct: Postfix did not deliver" "$PF_LOG"
expect_eq "direct: exactly one copy" 1 "$(pf_count)"
expect_eq "direct: quiet on success" "" "$(cat "$NR_TMP/err")"
expect_eq "direct: envelope at Postfix" "from=<relay@nas.example> to=<user@example.com>" "$(pf_envelope 1)"
f=$(pf_files | head -1)
check "direct: the body arrived" grep -q direct-marker "$f"
check "direct: Postfix saw AUTH" grep -q "Authenticated sender: $PF_USER" "$f"
check "direct: Received says local" grep -q "(local, uid 0)" "$f"
check "direct: over TLS" pf_log_grep 'TLS connection established from'
check_not "direct: the password is not printed" grep -qF "$PF_PASS" "$NR_TMP/err"

# direct -t with two recipients, -v shows the log
printf 'To: a@example.com, b@example.com\nSubject: two\n\ntwo-marker\n' |
	"$bin" -c "$NR_TMP/direct.conf" sendmail -t -v 2>"$NR_TMP/err"
expect_eq "direct -t: exit 0" 0 $?
pf_wait 3 20 || fail "direct -t: Postfix did not deliver both" "$PF_LOG"
expect_eq "direct -t: both delivered" 3 "$(pf_count)"
expect_has "direct -v: the delivery log is shown" "status=sent" "$(cat "$NR_TMP/err")"

# -bs without a daemon: a 421, never a 250 that a RAM queue could not keep
out=$(printf 'EHLO x\r\nQUIT\r\n' | "$bin" -c "$NR_TMP/direct.conf" sendmail -bs 2>"$NR_TMP/err")
expect_eq "-bs without a daemon: exit 75" 75 $?
expect_eq "-bs without a daemon: 421 on stdout" $'421 4.3.0 nanorelay is not running, try again later\r' "$out"

# direct to an unreachable smarthost: 75 and why
write_conf "$NR_TMP/dead.conf" direct "smarthost 127.0.0.1:$dead_port tls=none insecure=yes"
start=$(date +%s)
printf 'Subject: unreachable\n\ndead-marker\n' |
	"$bin" -c "$NR_TMP/dead.conf" sendmail user@example.com 2>"$NR_TMP/err"
expect_eq "unreachable: exit 75" 75 $?
expect_has "unreachable: says deferred" "deferred" "$(cat "$NR_TMP/err")"
expect_has "unreachable: says why" "connection refused" "$(cat "$NR_TMP/err")"
check "unreachable: returns within 10 s" test $(($(date +%s) - start)) -lt 10

# direct, recipient refused for good by the smarthost: 69
sink_start -f RCPT -B "550 5.1.1 no such user" || fail "smtp-sink did not start"
write_conf "$NR_TMP/rej.conf" direct "smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes"
printf 'Subject: rejected\n\nrej-marker\n' |
	"$bin" -c "$NR_TMP/rej.conf" sendmail nobody@example.com 2>"$NR_TMP/err"
expect_eq "refused recipient: exit 69" 69 $?
expect_has "refused recipient: the reply is shown" "550 5.1.1 no such user" "$(cat "$NR_TMP/err")"

sleep 1
expect_eq "Postfix got exactly the direct messages" 3 "$(pf_count)"
nr_done
