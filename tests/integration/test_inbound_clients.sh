#!/usr/bin/env bash
# Inbound SMTP with real clients against the real daemon: python smtplib,
# swaks (plain, STARTTLS, implicit TLS), curl (smtp://, smtps://) and
# openssl s_client -starttls smtp. Every accepted message must show up in the
# log ("ID: from=<...>, size=...") and, after SIGTERM, byte-exact (canonical
# CRLF, dot-unstuffed) in the file queue. Bodies stay < 1 KB so envelope+body
# fit in one 2 KiB chunk record (src/queue/FORMAT.md).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
nr_require swaks curl openssl

mapfile -t PORTS < <(nr_free_ports 3)
P_PLAIN=${PORTS[0]} P_START=${PORTS[1]} P_IMPL=${PORTS[2]}
cat >"$NR_TMP/nr.conf" <<EOF
listen      127.0.0.1:$P_PLAIN
listen      127.0.0.1:$P_START tls=starttls
listen      127.0.0.1:$P_IMPL tls=implicit
allow       127.0.0.0/8
hostname    test.lan
queue       file:$NR_TMP/queue size=4M
state_dir   $NR_TMP/state
log         stderr level=debug
EOF
LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/nr.conf"
for p in $P_PLAIN $P_START $P_IMPL; do
	wait_port "$p" 15 || fail "relay did not listen on $p" "$LOG"
done
mkdir -p "$NR_TMP/exp"

# queued SENDER: the log has "ID: from=<SENDER>, size=..."
queued() { grep -Eq "[0-9a-f]{16}: from=<$1>, size=" "$LOG"; }

# --- 1. python smtplib -------------------------------------------------------
"$NR_PY" - "$P_PLAIN" "$NR_TMP/exp/py.eml" >"$NR_TMP/py.out" 2>&1 <<'EOF' || fail "smtplib session" "$NR_TMP/py.out" "$LOG"
import smtplib, sys
port, exp = int(sys.argv[1]), sys.argv[2]
msg = ("From: py@lan\nTo: rcpt@example.com\nSubject: smtplib\n"
       "Date: Sun, 22 Nov 2026 07:00:00 +0000\nMessage-ID: <py.1@lan>\n\n"
       "line one\n.leading dot\n..two dots\n.\nlast line py-marker-7731\n")
s = smtplib.SMTP("127.0.0.1", port, timeout=10)
code, _ = s.ehlo("client.lan")
assert code == 250, code
assert s.has_extn("pipelining"), s.esmtp_features
print("features", sorted(s.esmtp_features))
assert s.mail("py@lan")[0] == 250
assert s.rcpt("rcpt@example.com")[0] == 250
code, resp = s.data(msg)  # str: smtplib makes it CRLF and dot-stuffs
print("data reply", code, resp)
assert code == 250 and b"queued as " in resp, (code, resp)
s.quit()
open(exp, "wb").write(msg.replace("\n", "\r\n").encode())
EOF
pass "smtplib: EHLO advertises PIPELINING, DATA -> 250 queued as ID"
check "smtplib message accepted in the log" queued "py@lan"

# --- 2. swaks plain: 8-bit body + attachment ----------------------------------
# a hand-made MIME message (swaks --dump-mail output is already dot-stuffed
# wire data with a trailing CR, so it cannot serve as the expected bytes)
printf 'attachment\x00\x01\xff bytes\n' >"$NR_TMP/att.bin"
{
	printf 'From: swaks8@lan\r\nTo: r@example.com\r\nSubject: 8bit\r\n'
	printf 'Date: Sun, 22 Nov 2026 07:00:00 +0000\r\nMessage-ID: <swaks8.1@lan>\r\n'
	printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BND"\r\n\r\n'
	printf -- '--BND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	printf 'caf\xc3\xa9 \xe2\x82\xac 8-bit body swaks-marker-1\r\n\xff\xfe raw high bytes\r\n'
	printf -- '--BND\r\nContent-Type: application/octet-stream; name="att.bin"\r\n'
	printf 'Content-Disposition: attachment; filename="att.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
	base64 "$NR_TMP/att.bin" | sed 's/$/\r/'
	printf -- '--BND--\r\n'
} >"$NR_TMP/exp/swaks8.eml"
check "attachment is in the message" grep -q "$(base64 "$NR_TMP/att.bin")" "$NR_TMP/exp/swaks8.eml"
check "swaks plain, 8-bit body and attachment" swaks --silent 1 --server 127.0.0.1 --port "$P_PLAIN" \
	-f swaks8@lan -t r@example.com --data "$NR_TMP/exp/swaks8.eml"
check "swaks plain accepted in the log" queued "swaks8@lan"

# --- 3. swaks STARTTLS ---------------------------------------------------------
check "swaks --tls (STARTTLS)" swaks --silent 1 --server 127.0.0.1 --port "$P_START" --tls \
	-f swakstls@lan -t r@example.com --body "starttls body swaks-marker-2"
check "swaks STARTTLS accepted in the log" queued "swakstls@lan"
printf '\r\nstarttls body swaks-marker-2\r\n' >"$NR_TMP/exp/swakstls.part"

# --- 4. swaks implicit TLS -----------------------------------------------------
check "swaks --tlsc (implicit TLS)" swaks --silent 1 --server 127.0.0.1 --port "$P_IMPL" --tlsc \
	-f swakstlsc@lan -t r@example.com --body "implicit body swaks-marker-3"
check "swaks implicit TLS accepted in the log" queued "swakstlsc@lan"
printf '\r\nimplicit body swaks-marker-3\r\n' >"$NR_TMP/exp/swakstlsc.part"

# --- 5. curl smtp:// and smtps:// ----------------------------------------------
printf 'From: curl@lan\r\nTo: r@example.com\r\nSubject: curl\r\nDate: Sun, 22 Nov 2026 07:00:00 +0000\r\nMessage-ID: <curl.1@lan>\r\n\r\ncurl plain curl-marker-4\r\n.starts with dot\r\nend\r\n' >"$NR_TMP/exp/curl.eml"
check "curl smtp://" curl -sS --max-time 20 "smtp://127.0.0.1:$P_PLAIN" --mail-from curl@lan \
	--mail-rcpt r@example.com -T "$NR_TMP/exp/curl.eml"
check "curl smtp:// accepted in the log" queued "curl@lan"
# no Date:/Message-ID: here: the daemon adds both at the end of the header
# block (see the checks below), so only the header lines and the body are exact
printf 'From: curls@lan\r\nTo: r@example.com\r\nSubject: curls\r\n\r\ncurl smtps curl-marker-5\r\n..two dots\r\nend\r\n' >"$NR_TMP/curls.eml"
printf 'From: curls@lan\r\nTo: r@example.com\r\nSubject: curls\r\n' >"$NR_TMP/exp/curls.head"
printf '\r\n\r\ncurl smtps curl-marker-5\r\n..two dots\r\nend\r\n' >"$NR_TMP/exp/curls.body"
check "curl smtps:// -k" curl -sS -k --max-time 20 "smtps://127.0.0.1:$P_IMPL" --mail-from curls@lan \
	--mail-rcpt r@example.com -T "$NR_TMP/curls.eml"
check "curl smtps:// accepted in the log" queued "curls@lan"

# --- 6. openssl s_client -starttls smtp ---------------------------------------
{
	sleep 1
	printf 'EHLO sclient.lan\r\n'
	sleep 0.3
	printf 'MAIL FROM:<sclient@lan>\r\n'
	sleep 0.3
	printf 'RCPT TO:<r@example.com>\r\n'
	sleep 0.3
	printf 'DATA\r\n'
	sleep 0.3
	printf 'Subject: s_client\r\n\r\nsclient body ossl-marker-6\r\n.\r\n'
	sleep 0.5
	printf 'QUIT\r\n'
	sleep 0.5
} | timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$P_START" -ign_eof -nocommands \
	>"$NR_TMP/sclient.out" 2>&1 || true
check "s_client negotiated TLSv1.2 or TLSv1.3" grep -Eq 'Protocol *: TLSv1\.[23]|New, TLSv1\.[23],' "$NR_TMP/sclient.out"
check "s_client DATA got 250 queued" grep -q '^250 2.0.0 Ok: queued as ' "$NR_TMP/sclient.out"
check "s_client accepted in the log" queued "sclient@lan"
printf 'Subject: s_client\r\n' >"$NR_TMP/exp/sclient.head"
printf '\r\n\r\nsclient body ossl-marker-6\r\n' >"$NR_TMP/exp/sclient.body"

# --- byte-exact contents of the queue -----------------------------------------
nr_stop_pid "$RELAY_PID" 10
check "queue file exists" test -s "$NR_TMP/queue"
for f in "$NR_TMP"/exp/*; do
	check "queue holds $(basename "$f") byte-exact" "$NR_PY" -c '
import sys
q = open(sys.argv[1], "rb").read()
e = open(sys.argv[2], "rb").read()
if not e.endswith(b"\r\n"):
    e += b"\r\n"
sys.exit(0 if e in q else 1)' "$NR_TMP/queue" "$f"
done
check "Date: added to a message without one" "$NR_PY" -c '
import re, sys
q = open(sys.argv[1], "rb").read()
sys.exit(0 if re.search(rb"Subject: curls\r\nDate: [^\r\n]+\r\nMessage-ID: <[^>]+>\r\n\r\ncurl smtps", q) else 1)' "$NR_TMP/queue"
# no bare LF anywhere in the stored smtplib body
check_not "no bare LF in the stored smtplib body" "$NR_PY" -c '
import sys
q = open(sys.argv[1], "rb").read()
i = q.find(b"line one")
j = q.find(b"py-marker-7731", i)
if i < 0 or j < 0:
    sys.exit(0)  # the body is not there at all: fail
# the body only: the record trailer after it holds a CRC that may contain 0x0A
body = q[i:j + len(b"py-marker-7731\r\n")]
sys.exit(0 if b"\n" in body.replace(b"\r\n", b"") else 1)' "$NR_TMP/queue"
check_not "no sanitizer report in $LOG" grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$LOG"
check "clean stop logged in $LOG" grep -q "stopped" "$LOG"
nr_done
