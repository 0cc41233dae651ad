#!/usr/bin/env bash
# Inbound limits against the real daemon with raw clients (lib/smtpraw.py):
# 200 connections from one address (the per-client limit holds, another
# address is still served), slowloris on a command and in DATA, a 10 MB
# command line, a 10 MB line inside a message (stored folded), and thousands
# of pipelined RCPTs (452 up to the overshoot, then the error limit).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

P=$(free_port)
cat >"$NR_TMP/nr.conf" <<EOF
listen           127.0.0.1:$P
allow            127.0.0.0/8
hostname         limits.lan
queue            file:$NR_TMP/queue size=32M
max_message_size 16M
command_timeout  4s
min_data_rate    1K
state_dir        $NR_TMP/state
log              stderr level=info
EOF
LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/nr.conf"
wait_port "$P" 15 || fail "relay did not listen on $P" "$LOG"
export PYTHONPATH=$NR_LIB

# --- 200 connections from one address ------------------------------------------
check "200 connections from 127.0.0.1: 16 greeted, 184 refused 421 4.7.0 and closed; 127.0.0.2 still served" \
	"$NR_PY" - "$P" <<'EOF'
import sys, time
from smtpraw import Raw, session
port = int(sys.argv[1])
conns = [Raw(port) for _ in range(200)]
replies = [c.reply(5) for c in conns]
codes = {}
for r in replies:
    key = (r[0], r[1].split(b" ")[1]) if r else r
    codes[key] = codes.get(key, 0) + 1
print(codes)
assert codes == {(220, b"limits.lan"): 16, (421, b"4.7.0"): 184}, codes
greeted = [c for c, r in zip(conns, replies) if r[0] == 220]
assert all(c.closed(2) for c, r in zip(conns, replies) if r[0] == 421), "a refused one stays open"
for c in greeted:
    c.cmd(b"NOOP", 250)
# another address is not starved by the burst
o = session(port, b"other@lan", source="127.0.0.2")
o.cmd(b"DATA", 354)
o.send(b"Subject: other\r\n\r\nother-marker\r\n.\r\n")
r = o.reply()
assert r and r[0] == 250, r
o.cmd(b"QUIT", 221)
for c in conns:
    c.close()
# the slots come back
for _ in range(50):
    c = Raw(port)
    r = c.reply(5)
    c.close()
    if r and r[0] == 220:
        break
    time.sleep(0.1)
assert r and r[0] == 220, ("no slot for 127.0.0.1 after the burst closed", r)
EOF
check "the burst is logged" grep -q "smtpd: 127.0.0.1: too many sessions from this client" "$LOG"

# --- slowloris -----------------------------------------------------------------------
check "slowloris on a command: 421 4.4.2 at command_timeout (4 s), not extended by bytes" \
	"$NR_PY" - "$P" <<'EOF'
import sys, time
from smtpraw import Raw
c = Raw(int(sys.argv[1]))
assert c.reply()[0] == 220
t0 = time.time()
for i in range(40):                   # one byte every 0.5 s: 20 s if never stopped
    try:
        c.send(b"NOOP"[i % 4:i % 4 + 1])
    except OSError:
        break
    if not c.quiet(0.5):
        break
r = c.reply(2)
took = time.time() - t0
print("reply", r, "after %.1f s" % took)
assert r and r[0] == 421 and b"4.4.2" in r[1], r
assert 3.5 <= took <= 8, took
assert c.closed(3)
EOF
check "slowloris in DATA: 421 4.4.2 data rate too low, nothing stored" "$NR_PY" - "$P" <<'EOF'
import sys, time
from smtpraw import session
c = session(int(sys.argv[1]), b"slowdata@lan")
c.cmd(b"DATA", 354)
c.send(b"Subject: slow\r\n\r\nslowdata-marker\r\n")
t0 = time.time()
for i in range(60):                   # 10 bytes per second, the minimum is 1K
    try:
        c.send(b"0123456789")
    except OSError:
        break
    if not c.quiet(1.0):
        break
r = c.reply(2)
took = time.time() - t0
print("reply", r, "after %.1f s" % took)
assert r and r[0] == 421 and b"data rate too low" in r[1], r
assert took <= 10, took
assert c.closed(3)
EOF

# --- 10 MB lines -----------------------------------------------------------------------
check "10 MB command line: one 500 5.5.2, the session goes on" "$NR_PY" - "$P" <<'EOF'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]), timeout=30)
assert c.reply()[0] == 220
c.cmd(b"EHLO long.lan", 250)
c.send(b"NOOP " + b"x" * (10 * 1024 * 1024) + b"\r\nNOOP\r\n")
r1, r2 = c.reply(30), c.reply(10)
print(r1, r2)
assert r1 and r1[0] == 500 and b"5.5.2" in r1[1], r1
assert r2 and r2[0] == 250, ("the NOOP after the long line", r2)
c.cmd(b"QUIT", 221)
EOF
check "10 MB line inside a message: 250, stored" "$NR_PY" - "$P" <<'EOF'
import sys
from smtpraw import session
c = session(int(sys.argv[1]), b"longline@lan")
c.s.settimeout(30)
c.cmd(b"DATA", 354)
c.send(b"Subject: long line\r\n\r\nlongline-marker\r\n" + b"z" * (10 * 1024 * 1024) + b"\r\n.\r\n")
r = c.reply(30)
print(r)
assert r and r[0] == 250 and b"queued as" in r[1], r
c.cmd(b"QUIT", 221)
EOF

# --- thousands of RCPTs -----------------------------------------------------------------
check "3000 pipelined RCPTs: 100 x 250, 1010 x 452 4.5.3, then 421 4.7.0 and closed" \
	"$NR_PY" - "$P" <<'EOF'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]), timeout=20)
assert c.reply()[0] == 220
c.cmd(b"EHLO many.lan", 250)
c.cmd(b"MAIL FROM:<many@lan>", 250)
c.send(b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(3000)))
got = []
for _ in range(3001):
    r = c.reply(10)
    if not r:
        break
    got.append((r[0], r[1][4:9]))
runs = []
for g in got:
    if runs and runs[-1][0] == g:
        runs[-1][1] += 1
    else:
        runs.append([g, 1])
print(runs)
assert runs == [[(250, b"2.1.5"), 100], [(452, b"4.5.3"), 1010], [(421, b"4.7.0"), 1]], runs
assert c.closed(5)
EOF
check "150 RCPTs then DATA: the message has the first 100" "$NR_PY" - "$P" <<'EOF'
import sys
from smtpraw import Raw
c = Raw(int(sys.argv[1]), timeout=20)
assert c.reply()[0] == 220
c.cmd(b"EHLO many.lan", 250)
c.cmd(b"MAIL FROM:<hundred@lan>", 250)
c.send(b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(150)) + b"DATA\r\n")
codes = [c.reply(10)[0] for _ in range(151)]
assert codes == [250] * 100 + [452] * 50 + [354], codes
c.send(b"Subject: hundred\r\n\r\nhundred-marker\r\n.\r\n")
r = c.reply(10)
assert r and r[0] == 250, r
c.cmd(b"QUIT", 221)
EOF
check "the 150-RCPT message is queued with nrcpt=100" grep -Eq "from=<hundred@lan>, size=[0-9]+, nrcpt=100 " "$LOG"

# --- the queue after a clean stop ---------------------------------------------------------
nr_stop_pid "$RELAY_PID" 10
check "queue: the 10 MB line is stored folded (every line <= 1000 octets), all 10 MiB of it" \
	"$NR_PY" - "$NR_TMP/queue" <<'EOF'
import sys
from ringscan import committed
m = committed(sys.argv[1], b"longline-marker")
assert len(m) == 1, len(m)
body = m[0]["data"].split(b"longline-marker\r\n", 1)[1]
lines = body.split(b"\r\n")
print(len(lines), "lines, longest", max(len(l) for l in lines))
assert max(len(l) for l in lines) <= 998, max(len(l) for l in lines)
assert body.count(b"z") == 10 * 1024 * 1024, body.count(b"z")
assert all(l.startswith(b" ") for l in lines[1:-1] if l), "continuation lines start with SP"
EOF
check "queue: the other address's message is committed, the slow DATA is not" \
	"$NR_PY" - "$NR_TMP/queue" <<'EOF'
import sys
from ringscan import committed
assert len(committed(sys.argv[1], b"other-marker")) == 1
assert not committed(sys.argv[1], b"slowdata-marker")
EOF
check_not "no sanitizer report in $LOG" grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$LOG"
check "clean stop logged in $LOG" grep -q "stopped" "$LOG"
nr_done
