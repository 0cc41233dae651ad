#!/usr/bin/env bash
# 8-bit content (issue 5: "8-bit content goes only where 8BITMIME is
# offered, else 5.6.3"): the content decides, not the client's word. Old
# printers and sendmail send 8-bit bytes without BODY=8BITMIME; nanorelay
# declares BODY=8BITMIME upstream for them, declares nothing for 7-bit mail,
# and refuses for good (554 5.6.3, no MAIL sent) a smarthost that does not
# offer 8BITMIME. Upstreams: lib/smtpfault.py, whose transcript shows each
# MAIL command as received.
. "$(dirname "$0")/lib/tlsserver.sh"
bin="$NR_BUILD/nanorelay"

tls_start --tls none --auth-mechs "" || fail "smtpfault (8BITMIME) did not start"
A_PORT=$TLS_PORT A_LOG=$TLS_LOG A_DIR=$TLS_DIR
tls_start --tls none --auth-mechs "" --no-8bitmime || fail "smtpfault (7-bit only) did not start"
B_PORT=$TLS_PORT B_LOG=$TLS_LOG B_DIR=$TLS_DIR

declare -A R_PORT
relay() { # NAME UPSTREAM-PORT
	local port
	port=$(free_port)
	cat >"$NR_TMP/$1.conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
hostname box.test
queue file:$NR_TMP/$1.queue size=1M
state_dir $NR_TMP/$1.state
smarthost 127.0.0.1:$2 tls=none insecure=yes
retry 1s 1s
log stderr level=debug
CONF
	nr_spawn "RPID_$1" "$NR_TMP/$1.log" "$bin" -c "$NR_TMP/$1.conf" --foreground
	wait_port "$port" 10 || fail "relay $1 did not listen" "$NR_TMP/$1.log"
	R_PORT[$1]=$port
}
relay a "$A_PORT"
relay b "$B_PORT"

# send RELAY FROM BODY-TEXT [MAIL-OPTION]: python smtplib, body as raw bytes
send() {
	"$NR_PY" - "${R_PORT[$1]}" "$2" "$3" "${4:-}" <<'PY' || fail "$1: $2 not accepted"
import smtplib, sys
port, sender, text, opt = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
msg = ("Subject: %s\r\n\r\n" % sender).encode() + text.encode("utf-8") + b"\r\n"
s = smtplib.SMTP("127.0.0.1", port, timeout=10)
s.sendmail(sender, ["r@example.com"], msg, mail_options=[opt] if opt else [])
s.quit()
PY
}
count_ge() { [ "$(find "$1/msgs" -name 'msg.*' | wc -l)" -ge "$2" ]; } # DIR N
mail_line() { # TRANSCRIPT SENDER: the MAIL command the upstream received, but SIZE=
	sed -n "s/^[0-9]* C: \(MAIL FROM:<$2>.*\)$/\1/p" "$1" | head -n 1 | sed 's/ SIZE=[0-9]*//'
}
# the stored body at smtpfault, back to the bytes on the wire (it decodes latin-1)
upstream_has() { # DIR MARKER-TEXT
	"$NR_PY" - "$1" "$2" <<'PY'
import glob, sys
want = sys.argv[2].encode("utf-8")
for f in glob.glob(sys.argv[1] + "/msgs/msg.*"):
    if want in open(f, encoding="utf-8", newline="").read().encode("latin-1"):
        sys.exit(0)
sys.exit(1)
PY
}

send a seven@lan "plain seven-bit text"
send a eight@lan "café €, undeclared eight-bit"
send a declared@lan "café, declared" BODY=8BITMIME
# sendmail (the drop-in) through relay a's submit socket: it declares nothing
printf 'Subject: from cron\n\ncaf\xc3\xa9 sendmail-marker\n' |
	"$bin" -c "$NR_TMP/a.conf" sendmail -i -f cron@lan r@example.com ||
	fail "sendmail did not hand over the message" "$NR_TMP/a.log"
wait_for 20 "4 messages at the 8BITMIME upstream" count_ge "$A_DIR" 4 ||
	fail "not all delivered to the 8BITMIME upstream" "$NR_TMP/a.log" "$A_LOG"

expect_eq "7-bit mail: MAIL without BODY= (SIZE= aside)" "MAIL FROM:<seven@lan>" "$(mail_line "$A_LOG" seven@lan)"
expect_eq "undeclared 8-bit body: declared upstream" "MAIL FROM:<eight@lan> BODY=8BITMIME" \
	"$(mail_line "$A_LOG" eight@lan)"
expect_eq "declared 8-bit body: declared upstream" "MAIL FROM:<declared@lan> BODY=8BITMIME" \
	"$(mail_line "$A_LOG" declared@lan)"
expect_eq "sendmail's 8-bit body: declared upstream" "MAIL FROM:<cron@lan> BODY=8BITMIME" \
	"$(mail_line "$A_LOG" cron@lan)"
check "the undeclared 8-bit bytes arrive unchanged" upstream_has "$A_DIR" "café €, undeclared eight-bit"
check "sendmail's 8-bit bytes arrive unchanged" upstream_has "$A_DIR" "café sendmail-marker"

send b eight-b@lan "naïve undeclared eight-bit"
send b seven-b@lan "plain seven-bit to the old server"
wait_for 20 "the 7-bit message at the 7-bit upstream" count_ge "$B_DIR" 1 ||
	fail "7-bit mail not delivered to the 7-bit upstream" "$NR_TMP/b.log" "$B_LOG"
wait_for 20 "the 8-bit one refused" grep -q "status=bounced" "$NR_TMP/b.log" ||
	fail "8-bit mail to the 7-bit upstream: no permanent failure" "$NR_TMP/b.log"
check "8-bit to a server without 8BITMIME: 5.6.3, for good" grep -Eq "status=bounced .*5\.6\.3" "$NR_TMP/b.log"
expect_eq "...and no MAIL was sent for it" "" "$(mail_line "$B_LOG" eight-b@lan)"
expect_eq "7-bit mail to the same server: MAIL without BODY=" "MAIL FROM:<seven-b@lan>" \
	"$(mail_line "$B_LOG" seven-b@lan)"
expect_eq "exactly one message at the 7-bit upstream" 1 "$(find "$B_DIR/msgs" -name 'msg.*' | wc -l)"
for r in a b; do
	check_not "$r: no sanitizer report" grep -q "Sanitizer" "$NR_TMP/$r.log"
done
nr_done
