#!/usr/bin/env bash
# TLS handshakes on the LAN side are bounded in number (max_tls_handshakes)
# and in time (tls_handshake_timeout), on implicit TLS and after STARTTLS:
#   - clients that connect and never send a ClientHello hold the slots;
#   - one more implicit-TLS client is closed at once, STARTTLS gets 454 4.7.0;
#   - the stalled handshakes are closed at the deadline, and the slots are
#     free again: real handshakes (python ssl) then succeed;
#   - a finished handshake gives its slot back, even while the session idles;
#   - a client that stalls in the middle of a STARTTLS handshake is closed
#     at the deadline too.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

mapfile -t PORTS < <(nr_free_ports 2)
P_START=${PORTS[0]} P_IMPL=${PORTS[1]}
cat >"$NR_TMP/nr.conf" <<EOF
listen      127.0.0.1:$P_START tls=starttls
listen      127.0.0.1:$P_IMPL tls=implicit
allow       127.0.0.0/8
hostname    test.lan
queue       ram size=1M
state_dir   $NR_TMP/state
max_tls_handshakes 2
tls_handshake_timeout 2s
log         stderr level=info
EOF
LOG=$NR_TMP/relay.log
nr_spawn RELAY_PID "$LOG" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/nr.conf"
for p in $P_START $P_IMPL; do
	wait_port "$p" 15 || fail "relay did not listen on $p" "$LOG"
done

# Each step prints "ok: WHAT" or raises; the shell turns lines into checks.
"$NR_PY" - "$P_START" "$P_IMPL" >"$NR_TMP/steps.out" 2>&1 <<'EOF' || true
import socket, ssl, sys, time
P_START, P_IMPL = int(sys.argv[1]), int(sys.argv[2])
DEADLINE = 2.0

def tcp(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def closed_within(s, limit):
    """Seconds until the server closed s (recv gives b''), or None."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return time.monotonic() - t0
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return time.monotonic() - t0

def lines_until(f, code):
    out = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("closed while waiting for %s: %r" % (code, out))
        out.append(line)
        if line[:3] == code and line[3:4] == b" ":
            return out
        if line[3:4] == b" ":
            raise AssertionError("wanted %s, got %r" % (code, out))

def starttls_reply(port):
    """EHLO, STARTTLS on a fresh session: (socket, file, last reply line)."""
    s = tcp(port)
    f = s.makefile("rb")
    lines_until(f, b"220")
    s.sendall(b"EHLO c.lan\r\n")
    lines_until(f, b"250")
    s.sendall(b"STARTTLS\r\n")
    line = f.readline()
    return s, f, line

def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE   # the relay's self-signed certificate
    return c

def implicit_session():
    s = ctx().wrap_socket(tcp(P_IMPL), server_hostname="test.lan")
    f = s.makefile("rb")
    greet = f.readline()
    assert greet.startswith(b"220 "), greet
    return s, f

# 1. Two clients that never send a ClientHello hold both slots.
stalled = [tcp(P_IMPL), tcp(P_IMPL)]
time.sleep(0.3)
# 2. A third implicit-TLS client is closed at once.
dt = closed_within(tcp(P_IMPL), 1.5)
assert dt is not None and dt < 1.0, dt
print("ok: third implicit-TLS client closed at once (%.2f s)" % dt)
# 3. STARTTLS gets 454 4.7.0 while the slots are taken, and the session goes on.
s, f, line = starttls_reply(P_START)
assert line.startswith(b"454 4.7.0 "), line
s.sendall(b"NOOP\r\n")
assert f.readline().startswith(b"250 "), "session unusable after 454"
s.close()
print("ok: STARTTLS answered %s" % line.decode().strip())
# 4. The stalled handshakes are closed at the deadline (2 s), not before.
t0 = time.monotonic()
for c in stalled:
    dt = closed_within(c, 6)
    assert dt is not None, "stalled handshake never closed"
waited = time.monotonic() - t0 + 0.3
assert 1.5 <= waited <= 4.5, waited
print("ok: stalled handshakes closed after %.1f s" % waited)
# 5. Slots are free again; finished handshakes give them back while idle.
a = implicit_session()
b = implicit_session()
c = implicit_session()   # a third: a and b hold no slot any more
print("ok: three implicit-TLS sessions in a row with max_tls_handshakes 2")
# 6. ... and they live past the handshake deadline (command timeout applies).
time.sleep(DEADLINE + 1)
for s, f in (a, b, c):
    s.sendall(b"NOOP\r\n")
    line = f.readline()
    assert line.startswith(b"250 "), line
print("ok: finished TLS sessions outlive tls_handshake_timeout")
# 7. STARTTLS works when a slot is free; smtplib drives it.
import smtplib
m = smtplib.SMTP("127.0.0.1", P_START, timeout=10)
m.ehlo("c.lan")
code, _ = m.starttls(context=ctx())
assert code == 220, code
assert m.ehlo("c.lan")[0] == 250
m.quit()
print("ok: STARTTLS with smtplib after the slots freed")
# 8. A client that stalls in the middle of a STARTTLS handshake (220 read,
#    then nothing) is closed at the deadline.
s, f, line = starttls_reply(P_START)
assert line.startswith(b"220 "), line
t0 = time.monotonic()
dt = closed_within(s, 6)
assert dt is not None and 1.5 <= dt <= 4.5, dt
print("ok: stalled STARTTLS handshake closed after %.1f s" % dt)
for s, f in (a, b, c):
    s.close()
print("done")
EOF
while read -r line; do
	case $line in
	ok:*) pass "${line#ok: }" ;;
	esac
done <"$NR_TMP/steps.out"
grep -qx done "$NR_TMP/steps.out" || fail "TLS limit steps" "$NR_TMP/steps.out" "$LOG"
check "log names the implicit-TLS refusal" \
	grep -q "closed: max_tls_handshakes (2) in flight" "$LOG"
check "log names the STARTTLS refusal" \
	grep -q "STARTTLS refused: max_tls_handshakes (2) in flight" "$LOG"
check "log names the handshake timeouts" grep -q "TLS handshake timeout" "$LOG"
nr_stop_pid "$RELAY_PID"
check_not "no sanitizer report" grep -q "Sanitizer" "$LOG"
nr_done
