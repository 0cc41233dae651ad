#!/usr/bin/env bash
# Hostile inbound clients (python raw sockets) against the real daemon:
# SMTP smuggling (<CR><LF>.<LF> and friends, a NUL before the dot), STARTTLS command injection, an
# over-long command, an HTTP request, a client vanishing mid-DATA, and relay
# from a network that is not in `allow`.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

mapfile -t PORTS < <(nr_free_ports 3)
P_PLAIN=${PORTS[0]} P_START=${PORTS[1]} P_DENY=${PORTS[2]}
mkdir -p "$NR_TMP/a" "$NR_TMP/b"
cat >"$NR_TMP/a/nr.conf" <<EOF
listen      127.0.0.1:$P_PLAIN
listen      127.0.0.1:$P_START tls=starttls
allow       127.0.0.0/8
hostname    test.lan
queue       file:$NR_TMP/a/queue size=4M
state_dir   $NR_TMP/a/state
log         stderr level=debug
EOF
# 127.0.0.1 is NOT an allowed network here
cat >"$NR_TMP/b/nr.conf" <<EOF
listen      127.0.0.1:$P_DENY
allow       10.0.0.0/8
hostname    deny.lan
queue       file:$NR_TMP/b/queue size=4M
state_dir   $NR_TMP/b/state
log         stderr level=debug
EOF
LOG=$NR_TMP/a/relay.log
nr_spawn RELAY_PID "$LOG" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/a/nr.conf"
nr_spawn DENY_PID "$NR_TMP/b/relay.log" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/b/nr.conf"
for p in $P_PLAIN $P_START $P_DENY; do
	wait_port "$p" 15 || fail "relay did not listen on $p" "$LOG" "$NR_TMP/b/relay.log"
done

# shared python helpers: lib/smtpraw.py (raw SMTP client), lib/ringscan.py
export PYTHONPATH=$NR_LIB

# --- smuggling: every bare-LF end-of-data variant, all in one write -----------
for v in 'crlf.lf' 'lf.crlf' 'lf.lf' 'cr.cr' 'crlf.crcrlf'; do
	check "smuggling $v: one 250 for the whole message, no reply to smuggled commands" \
		"$NR_PY" - "$P_PLAIN" "$v" <<'EOF'
import sys
from smtpraw import session
port, v = int(sys.argv[1]), sys.argv[2]
end = {"crlf.lf": b"\r\n.\n", "lf.crlf": b"\n.\r\n", "lf.lf": b"\n.\n", "cr.cr": b"\r.\r",
       "crlf.crcrlf": b"\r\n.\r\r\n"}[v]
c = session(port, b"outer-%s@lan" % v.encode())
c.cmd(b"DATA", 354)
c.send(b"Subject: outer\r\nDate: x\r\nMessage-ID: <o@lan>\r\n\r\nsmuggle-" + v.encode() + b" body"
       + end + b"MAIL FROM:<smuggled-" + v.encode() + b"@lan>\r\nRCPT TO:<victim@example.com>\r\n"
       b"DATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
r = c.reply()
print("first reply:", r)
assert r and r[0] == 250 and b"queued as" in r[1], r
c.send(b"QUIT\r\n")
r2 = c.reply()
print("second reply:", r2)
assert r2 and r2[0] == 221, ("expected 221 to QUIT, got a reply to a smuggled command", r2)
EOF
	check_not "smuggling $v: smuggled sender not queued" grep -q "from=<smuggled-$v@lan>" "$LOG"
	check "smuggling $v: outer message queued" grep -Eq "[0-9a-f]{16}: from=<outer-$v@lan>, size=" "$LOG"
done

# a NUL before the dot: the whole message is refused (554 5.6.0) at the real
# end of data; the smuggled commands are still only content (no reply to them)
check "smuggling with NUL before the dot: one 554 5.6.0, no reply to smuggled commands" \
	"$NR_PY" - "$P_PLAIN" <<'EOF'
import sys
from smtpraw import session
c = session(int(sys.argv[1]), b"outer-nul@lan")
c.cmd(b"DATA", 354)
c.send(b"Subject: outer\r\n\r\nsmuggle-nul body\r\n\x00.\r\nMAIL FROM:<smuggled-nul@lan>\r\n"
       b"RCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled body\r\n.\r\n")
r = c.reply()
assert r and r[0] == 554 and b"5.6.0" in r[1], r
c.send(b"QUIT\r\n")
r = c.reply()
assert r and r[0] == 221, ("expected 221 to QUIT, got a reply to a smuggled command", r)
EOF
check_not "smuggling with NUL: smuggled sender not queued" grep -q "from=<smuggled-nul@lan>" "$LOG"

# --- STARTTLS with a pipelined NOOP in the same write --------------------------
check "STARTTLS\\r\\nNOOP\\r\\n: no reply to the injected NOOP" "$NR_PY" - "$P_START" <<'EOF'
import ssl, sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
r = c.cmd(b"EHLO inject.lan", 250)
assert b"STARTTLS" in r[1], r
c.send(b"STARTTLS\r\nNOOP\r\n")
r = c.reply()
assert r and r[0] == 220, r
# the daemon must have thrown the NOOP away: nothing else in clear text
leftover = c.buf
assert not leftover, ("plaintext after the STARTTLS reply", leftover)
if not c.quiet(1.0):
    sys.exit("plaintext reply to the injected NOOP: %r" % c.buf)
# if the session survives, the TLS side must not answer the NOOP either
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    c.s = ctx.wrap_socket(c.s)
except (ssl.SSLError, OSError) as e:
    print("daemon dropped the connection instead (acceptable):", e)
    sys.exit(0)
print("TLS:", c.s.version())
r = c.cmd(b"EHLO inject.lan")
assert r and r[0] == 250 and b"hostile" not in r[1], ("first TLS reply is not the EHLO reply", r)
assert b"STARTTLS" not in r[1], ("STARTTLS still offered inside TLS", r)
assert b"PIPELINING" in r[1], ("first TLS reply does not look like the EHLO reply", r)
c.cmd(b"QUIT", 221)
EOF

# --- a 600-byte command ----------------------------------------------------------
check "600-byte command -> 500" "$NR_PY" - "$P_PLAIN" <<'EOF'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
c.cmd(b"EHLO long.lan", 250)
r = c.cmd(b"NOOP " + b"x" * 595)
print(r)
assert r and r[0] == 500, r
# the session is still usable afterwards (the rest of the line was discarded)
r = c.cmd(b"NOOP")
assert r and r[0] == 250, ("no clean 250 after the long line", r)
EOF

# --- HTTP ---------------------------------------------------------------------------
check "HTTP GET -> connection closed" "$NR_PY" - "$P_PLAIN" <<'EOF'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n")
assert c.closed(10), "still open 10 s after an HTTP request"
EOF

# --- client gone mid-DATA ---------------------------------------------------------
check "client disconnects mid-DATA" "$NR_PY" - "$P_PLAIN" <<'EOF'
import sys
from smtpraw import session
c = session(int(sys.argv[1]), b"middata@lan")
c.cmd(b"DATA", 354)
c.send(b"Subject: cut\r\n\r\nmiddata-marker partial body\r\n" + b"y" * 200 + b"\r\n")
c.s.close()
EOF
# a session that ends later (a fresh one) proves the daemon went on serving
check "daemon serves after the mid-DATA disconnect" "$NR_PY" - "$P_PLAIN" <<'EOF'
import sys
from smtpraw import session
c = session(int(sys.argv[1]), b"after@lan")
c.cmd(b"DATA", 354)
c.send(b"Subject: after\r\nDate: x\r\nMessage-ID: <a@lan>\r\n\r\nafter-marker\r\n.\r\n")
r = c.reply()
assert r and r[0] == 250, r
c.cmd(b"QUIT", 221)
EOF
check_not "mid-DATA message not queued (log)" grep -q "from=<middata@lan>.*nrcpt" "$LOG"

# --- relay from a network that is not allowed --------------------------------------
check "not allowed network: RCPT -> 554 5.7.1" "$NR_PY" - "$P_DENY" <<'EOF'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
c.cmd(b"EHLO outsider.lan", 250)
r = c.cmd(b"MAIL FROM:<outsider@lan>")
print("MAIL:", r)
r = c.cmd(b"RCPT TO:<victim@example.com>")
print("RCPT:", r)
assert r and r[0] == 554 and b"5.7.1" in r[1], r
r = c.cmd(b"DATA")
assert r and r[0] >= 500, ("DATA without a recipient must fail", r)
c.cmd(b"QUIT", 221)
EOF

# --- protocol edges in single writes ------------------------------------------------
check "pipelined EHLO..QUIT in two writes: every reply in order" "$NR_PY" - "$P_PLAIN" <<'EOF2'
import sys, time
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
c.send(b"EHLO pipe.lan\r\nMAIL FROM:<pipe@lan>\r\nRCPT TO:<r1@example.com>\r\n"
       b"RCPT TO:<r2@example.com>\r\nDATA\r\n")
got = [c.reply()[0] for _ in range(5)]
assert got == [250, 250, 250, 250, 354], got
c.send(b"Subject: pipe\r\nDate: x\r\nMessage-ID: <p@lan>\r\n\r\npipe-marker\r\n.\r\nQUIT\r\n")
r = c.reply()
assert r[0] == 250 and b"queued as" in r[1], r
assert c.reply()[0] == 221
assert c.closed(5)
EOF2
check "pipelined message queued with 2 recipients" grep -Eq "[0-9a-f]{16}: from=<pipe@lan>, size=[0-9]+, nrcpt=2 " "$LOG"
check "MAIL SIZE= over the limit -> 552, DATA before RCPT -> 503, NUL -> 500" "$NR_PY" - "$P_PLAIN" <<'EOF2'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
c.cmd(b"EHLO edge.lan", 250)
r = c.cmd(b"MAIL FROM:<big@lan> SIZE=999999999")
assert r[0] == 552, r
r = c.cmd(b"DATA")
assert r[0] == 503, r
r = c.cmd(b"NO\x00OP")
assert r[0] == 500, r
c.cmd(b"MAIL FROM:<edge@lan>", 250)
r = c.cmd(b"RCPT TO:<\x00r@example.com>")
assert r[0] == 500, r
c.cmd(b"QUIT", 221)
EOF2
check "25 unknown commands in one write: 421 after the error limit, then closed" "$NR_PY" - "$P_PLAIN" <<'EOF2'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
c.cmd(b"EHLO err.lan", 250)
c.send(b"BOGUS\r\n" * 25)
codes = []
while True:
    r = c.reply()
    if not r:
        break
    codes.append(r[0])
print(codes)
assert codes and codes[-1] == 421 and set(codes[:-1]) == {500}, codes
assert len(codes) < 25, ("no error limit", codes)
EOF2

# --- the queue, after a clean stop: committed messages only --------------------------
nr_stop_pid "$RELAY_PID" 10
nr_stop_pid "$DENY_PID" 10
check "queue: the smuggled commands are body text of the outer message" "$NR_PY" - "$NR_TMP/a/queue" <<'EOF'
import sys
from ringscan import scan
msgs = scan(sys.argv[1])
assert msgs, "no records found in the ring"
for v in ("crlf.lf", "lf.crlf", "lf.lf", "cr.cr", "crlf.crcrlf"):
    hits = [m for m in msgs.values() if b"smuggle-" + v.encode() in m["data"]]
    assert len(hits) == 1 and hits[0]["last"], (v, "not exactly one committed message", len(hits))
    assert b"MAIL FROM:<smuggled-" + v.encode() + b"@lan>" in hits[0]["data"], (v, "smuggled text not in body")
    others = [m for m in msgs.values() if m["last"] and b"smuggled-" + v.encode() + b"@lan\x00" in m["data"]]
EOF
check "queue: nothing committed for the NUL variant" "$NR_PY" - "$NR_TMP/a/queue" <<'EOF'
import sys
from ringscan import committed
assert not committed(sys.argv[1], b"smuggle-nul"), "the NUL message was committed"
EOF
check "queue: nothing committed for the mid-DATA disconnect" "$NR_PY" - "$NR_TMP/a/queue" <<'EOF'
import sys
from ringscan import scan
msgs = scan(sys.argv[1])
bad = [i for i, m in msgs.items() if m["last"] and b"middata@lan" in m["data"]]
assert not bad, ("committed message(s) from the mid-DATA client", bad)
ok = [i for i, m in msgs.items() if m["last"] and b"after-marker" in m["data"]]
assert len(ok) == 1, "the following message is not committed"
EOF
check "deny relay: nothing committed" "$NR_PY" - "$NR_TMP/b/queue" <<'EOF'
import sys
from ringscan import scan
msgs = scan(sys.argv[1])
assert not [m for m in msgs.values() if m["last"]], msgs
EOF
check_not "no sanitizer report in $LOG" grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$LOG"
check "clean stop logged in $LOG" grep -q "stopped" "$LOG"
check_not "no sanitizer report in $NR_TMP/b/relay.log" grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$NR_TMP/b/relay.log"
check "clean stop logged in $NR_TMP/b/relay.log" grep -q "stopped" "$NR_TMP/b/relay.log"
nr_done
