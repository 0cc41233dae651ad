#!/usr/bin/env bash
# SMTP smuggling end to end: the inbound side stores a bare-LF "end of data"
# (<CR><LF>.<LF>) as an ordinary body line "." (canonical CRLF). The stored
# body then holds a line "." followed by "MAIL FROM:...". The delivery side
# must dot-stuff it, or the smarthost (here smtp-sink) would see two messages.
set -euo pipefail
source "$(dirname "$0")/lib/sink.sh"
nr_require smtp-sink
[ "$(id -u)" = 0 ] || nr_skip "smtp-sink needs root"
sink_start || fail "smtp-sink" "$SINK_LOG"
RELAY_PORT=$(free_port)
cat >"$NR_TMP/nr.conf" <<EOF
listen      127.0.0.1:$RELAY_PORT
allow       127.0.0.0/8
hostname    test.lan
smarthost   127.0.0.1:$SINK_PORT tls=none insecure=yes
queue       file:$NR_TMP/queue size=4M
state_dir   $NR_TMP/state
log         stderr level=debug
EOF
LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/nr.conf"
wait_port "$RELAY_PORT" 15 || fail "relay did not listen" "$LOG"

check "inbound: one 250, no reply to the smuggled commands" "$NR_PY" - "$RELAY_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l:
            return l
        if l[3:4] != b"-":
            return l
assert reply().startswith(b"220")
for c, w in ((b"EHLO x.lan", b"250"), (b"MAIL FROM:<outer@lan>", b"250"),
             (b"RCPT TO:<r@example.com>", b"250"), (b"DATA", b"354")):
    s.sendall(c + b"\r\n")
    r = reply()
    assert r.startswith(w), (c, r)
s.sendall(b"Subject: outer\r\n\r\nouter body\r\n.\nMAIL FROM:<smuggled@lan>\r\n"
          b"RCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
r = reply()
assert r.startswith(b"250 "), r
s.sendall(b"QUIT\r\n")
r = reply()
assert r.startswith(b"221"), ("reply to a smuggled command", r)
EOF
# The daemon delivers queued mail to the smarthost: nothing there within 20 s
# is a failure (a broken delivery side must not pass as a skip).
sink_wait 1 20 || fail "nothing delivered to the smarthost within 20 s" "$LOG" "$SINK_LOG"
sleep 1   # a second (smuggled) transaction would arrive on the same connection
expect_eq "the sink got exactly one transaction" 1 "$(sink_count)"
expect_eq "its envelope is the outer one" "from=<outer@lan> to=<r@example.com>" "$(sink_envelope 1)"
check "the smuggled commands arrived as body text" grep -q '^MAIL FROM:<smuggled@lan>' <(sink_body 1)
nr_done
