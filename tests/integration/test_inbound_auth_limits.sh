#!/usr/bin/env bash
# Issue 21 (security review M1, L2, L3) against the real daemon, real PBKDF2
# and python clients on loopback (127.0.0.x are all ours):
#   - a session parked at 334 meets the block: the right password gets 454;
#   - another user's valid login does not reset the guesses against alice;
#   - PBKDF2 does not stall the loop: while 4 clients send AUTH for a user
#     hashed with 100,000 iterations (~0.25 s each here), a NOOP is answered
#     within one hash, not after all of them;
#   - AUTH in clear where TLS is required: 538 5.7.11, a log line naming plain_auth=;
#   - local (submit-socket) sessions have a cap of their own;
#   - one client cannot hold every TLS handshake slot;
#   - a NOOP loop is closed with 421 4.4.2.
. "$(dirname "$0")/lib/common.sh"
bin="$NR_BUILD/nanorelay"
mapfile -t PORTS < <(nr_free_ports 3)
P_PLAIN=${PORTS[0]} P_START=${PORTS[1]} P_IMPL=${PORTS[2]}
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$P_PLAIN plain_auth=127.0.0.0/8
listen 127.0.0.1:$P_START tls=starttls
listen 127.0.0.1:$P_IMPL tls=implicit
allow 10.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
users $NR_TMP/users
max_local_sessions 2
max_sessions 40
max_tls_handshakes 4
max_tls_handshakes_per_client 2
tls_handshake_timeout 10s
max_idle_commands 5
auth_max_per_second 50
log stderr level=info
CONF

for u in alice bob printer; do
	printf "%s-pw\n" "$u" | "$bin" -c "$conf" passwd "$u" 2>"$NR_TMP/passwd.err" ||
		fail "passwd $u" "$NR_TMP/passwd.err"
done
# "slow": 100,000 iterations, written as nanorelay passwd would (users.h)
"$NR_PY" - >>"$NR_TMP/users" <<'EOF'
import base64, hashlib, os
salt = os.urandom(16)
h = hashlib.pbkdf2_hmac("sha256", b"slow-pw", salt, 100000, 32)
print("slow:pbkdf2-sha256:100000:%s:%s" % (base64.b64encode(salt).decode(),
                                            base64.b64encode(h).decode()))
EOF

LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" "$bin" -c "$conf" --foreground
for p in $P_PLAIN $P_START $P_IMPL; do
	wait_port "$p" 15 || fail "relay did not listen on $p" "$LOG"
done

# Each step prints "ok: WHAT" or raises; the shell turns lines into checks.
"$NR_PY" - "$P_PLAIN" "$P_START" "$P_IMPL" "$NR_TMP/state/submit" >"$NR_TMP/steps.out" 2>&1 <<'EOF' || true
import base64, socket, ssl, sys, threading, time
P_PLAIN, P_START, P_IMPL, SUBMIT = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

class Client:
    def __init__(self, port, src="127.0.0.1", sock=None):
        self.s = sock or socket.create_connection(("127.0.0.1", port), timeout=20,
                                                  source_address=(src, 0))
        self.s.settimeout(20)
        self.f = self.s.makefile("rb")
    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise AssertionError("closed after %r" % lines)
            lines.append(line.decode())
            if line[3:4] != b"-":
                return "".join(lines)
    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()
    def greet(self):
        r = self.reply()
        assert r.startswith("220"), r
        r = self.cmd("EHLO t")
        assert r.startswith("250"), r
        return self

def plain(user, pw):
    return "AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()

def expect(r, code, what):
    assert r.startswith(code), "%s: got %r" % (what, r)

# 1. Review M1.1: parked at 334 while the block starts.
def step1():
    parked = Client(P_PLAIN).greet()
    expect(parked.cmd("AUTH PLAIN"), "334", "AUTH PLAIN prompt")
    g = Client(P_PLAIN).greet()
    for i in range(3):
        expect(g.cmd(plain("alice", "guess%d" % i)), "535", "guess %d" % i)
    r = parked.cmd(base64.b64encode(b"\0alice\0alice-pw").decode())
    expect(r, "454", "right password from a parked session while blocked")
    print("ok: a session parked at 334 gets 454 for the right password while blocked")

# 2. Review M1.2: a valid login as printer does not reset the count for bob.
def step2():
    a = Client(P_PLAIN, "127.0.0.2").greet()
    for i in range(2):
        expect(a.cmd(plain("bob", "guess%d" % i)), "535", "bob guess %d" % i)
    p = Client(P_PLAIN, "127.0.0.2").greet()
    expect(p.cmd(plain("printer", "printer-pw")), "235", "printer login")
    expect(a.cmd(plain("bob", "guess2")), "535", "bob guess 2")
    expect(a.cmd(plain("bob", "bob-pw")), "454", "bob's right password after 3 failures")
    print("ok: another user's login does not clear the count (454 after 3 guesses)")

# 3. The loop is not stalled: 4 clients send AUTH for "slow" at once, a NOOP
# goes out meanwhile; it must come back within about one hash.
def step3():
    hammer = [Client(P_PLAIN, "127.0.0.%d" % (10 + i)).greet() for i in range(4)]
    noop = Client(P_PLAIN, "127.0.0.20").greet()
    t0 = time.monotonic()
    for i, c in enumerate(hammer):
        c.s.sendall((plain("slow", "wrong%d" % i) + "\r\n").encode())
    time.sleep(0.05)
    t1 = time.monotonic()
    expect(noop.cmd("NOOP"), "250", "NOOP")
    noop_wait = time.monotonic() - t1
    for c in hammer:
        expect(c.reply(), "535", "slow AUTH")
    total = time.monotonic() - t0
    print("# 4 slow verifications took %.2f s; NOOP answered in %.2f s" % (total, noop_wait))
    assert noop_wait < total / 2, "NOOP waited %.2f s of %.2f s" % (noop_wait, total)
    print("ok: a NOOP is answered between two hashes (%.2f s of %.2f s)" % (noop_wait, total))

# 4. AUTH in clear where only TLS allows it.
def step4():
    c = Client(P_START).greet()
    expect(c.cmd(plain("alice", "alice-pw")), "538 5.7.11", "AUTH before STARTTLS")
    print("ok: AUTH in clear gets 538 5.7.11")

# 5. Local sessions: their own cap, and they do not take the network's slots.
def step5():
    def local():
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(SUBMIT)
        return Client(0, sock=s)
    l1, l2, l3 = local(), local(), local()
    expect(l1.reply(), "220", "local 1")
    expect(l2.reply(), "220", "local 2")
    expect(l3.reply(), "421 4.3.2", "local 3 past max_local_sessions")
    n = Client(P_PLAIN, "127.0.0.30")
    expect(n.reply(), "220", "network session while local ones are full")
    print("ok: local sessions have a cap of their own")

# 6. TLS handshakes: one client holds at most 2 of the 4 slots.
def step6():
    stalled = [Client(P_IMPL, "127.0.0.40") for _ in range(2)]
    third = socket.create_connection(("127.0.0.1", P_IMPL), timeout=10, source_address=("127.0.0.40", 0))
    third.settimeout(5)
    assert third.recv(100) == b"", "third stalled handshake from one client was not closed"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", P_IMPL), timeout=10, source_address=("127.0.0.41", 0))
    t = ctx.wrap_socket(raw)
    expect(Client(0, sock=t).reply(), "220", "TLS greeting for another client")
    print("ok: one client cannot hold every TLS handshake slot")

# 7. A NOOP loop ends.
def step7():
    c = Client(P_PLAIN, "127.0.0.50").greet()
    for i in range(5):
        expect(c.cmd("NOOP"), "250", "NOOP %d" % i)
    expect(c.cmd("NOOP"), "421 4.4.2", "NOOP past max_idle_commands")
    assert c.f.readline() == b"", "not closed after 421"
    print("ok: a NOOP loop is closed with 421 4.4.2")

# Each step on its own: one failing does not hide the others.
for step in (step1, step2, step3, step4, step5, step6, step7):
    try:
        step()
    except Exception as e:
        print("FAIL: %s: %r" % (step.__name__, e))
EOF

for what in "a session parked at 334 gets 454" "another user's login does not clear" \
	"a NOOP is answered between two hashes" "AUTH in clear gets 538 5.7.11" \
	"local sessions have a cap of their own" "one client cannot hold every TLS handshake slot" \
	"a NOOP loop is closed with 421 4.4.2"; do
	check "$what" grep -q "^ok: $what" "$NR_TMP/steps.out"
done
grep '^#' "$NR_TMP/steps.out"
check "538 is logged with the option that allows AUTH in clear" grep -q "plain_auth=" "$LOG"
check "the throttle is logged" grep -q "authentication refused: too many failures" "$LOG"
check "the TLS cap per client is logged" grep -q "max_tls_handshakes_per_client (2) in flight" "$LOG"
check "the idle cap is logged" grep -q "idle too long" "$LOG"
check_not "no password in the log" grep -Eq "alice-pw|bob-pw|printer-pw|guess" "$LOG"
nr_done
