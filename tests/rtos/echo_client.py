"""Client of the host RTOS target's --selftest-echo service (platform/rtos/host/host_echo.c).

    echo_client.py HOST PORT CASE [ARG]

Runs one scenario from the Linux side of the TAP and exits 0 when every reply
is as expected, 1 with the first difference on stderr. Every wait is bounded
(socket timeout 10 s).
"""
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=10)
        self.f = self.s.makefile("rwb")

    def line(self):
        got = self.f.readline()
        if not got.endswith(b"\r\n"):
            raise AssertionError(f"reply not ended by CRLF: {got!r}")
        return got[:-2].decode()

    def ask(self, cmd):
        self.f.write(cmd.encode() + b"\r\n")
        self.f.flush()
        return self.line()


def expect(what, cond, got):
    if not cond:
        raise AssertionError(f"{what}: got {got!r}")


def banner(c):
    got = c.line()
    expect("banner", got == "220 nanorelay-rtos echo ready", got)


def case_basic(host, port, arg):
    c = Conn(host, port)
    banner(c)
    got = c.ask("hello over lwIP")
    expect("echo", got == "250 echo: hello over lwIP", got)
    got = c.ask("PEER")
    expect("peer address (Linux side of the TAP)", got == f"250 {arg}", got)
    # A line split over several TCP segments is reassembled by the reader.
    for part in (b"spl", b"it li", b"ne\r\n"):
        c.f.write(part)
        c.f.flush()
        time.sleep(0.05)
    got = c.line()
    expect("split line", got == "250 echo: split line", got)
    got = c.ask("QUIT")
    expect("quit", got == "221 bye", got)
    expect("closed after QUIT", c.f.read() == b"", "more bytes")


def case_clock(host, port, arg):
    c = Conn(host, port)
    banner(c)
    got = c.ask("TIME")
    if arg == "unset":
        expect("no wall clock before the board sets it", got == "451 wall clock not set", got)
        return
    parts = dict(p.split("=") for p in got[4:].split())
    expect("wall clock", got.startswith("250 ") and abs(int(parts["wall"]) - time.time()) < 5, got)
    mono1 = int(parts["mono"])
    t1 = time.monotonic()
    time.sleep(0.3)
    got = c.ask("TIME")
    real = (time.monotonic() - t1) * 1000
    mono2 = int(dict(p.split("=") for p in got[4:].split())["mono"])
    # The POSIX port counts ticks from a timer thread: on a loaded host it
    # loses some (the clock runs slow); it never runs backwards or fast.
    expect("monotonic ms advance with the tick, never faster than real time",
           0 < mono2 - mono1 <= real + 50, (mono1, mono2, real))


def case_entropy(host, port, arg):
    c = Conn(host, port)
    banner(c)
    a, b = c.ask("RAND"), c.ask("RAND")
    if arg == "none":
        expect("no TRNG: an error, never weak bytes", a == b == "454 no entropy", (a, b))
        return
    for got in (a, b):
        expect("16 random bytes", got.startswith("250 ") and len(got) == 36, got)
        int(got[4:], 16)
    expect("two draws differ", a != b, (a, b))


def case_wake(host, port, arg):
    c = Conn(host, port)
    banner(c)
    first = int(c.ask("WAKES")[4:])
    time.sleep(1.0)
    second = int(c.ask("WAKES")[4:])
    # The waker task calls nr_plat_wake() every 100 ms (of ticks: fewer on
    # a loaded host, where the POSIX port loses ticks) while the echo task
    # polls with no timeout: only the wakeup can end those waits. Not more
    # than the waker's calls: one wake ends one poll, not a busy loop.
    expect("poll woken by another task", 1 <= second - first <= 15, (first, second))


def case_clients(host, port, arg):
    n = int(arg)
    errors = []

    def one(i):
        try:
            c = Conn(host, port)
            banner(c)
            for j in range(20):
                got = c.ask(f"client {i} line {j}")
                expect("interleaved echo", got == f"250 echo: client {i} line {j}", got)
            expect("quit", c.ask("QUIT") == "221 bye", "")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {i}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if errors:
        raise AssertionError("; ".join(errors))


def case_bulk(host, port, arg):
    # 2000 lines in one burst: lwIP's windows and the shim's partial reads.
    c = Conn(host, port)
    banner(c)
    lines = [f"bulk {i:05d} " + "x" * 200 for i in range(2000)]
    sender = threading.Thread(target=lambda: (c.f.write(("\r\n".join(lines) + "\r\n").encode()), c.f.flush()))
    sender.start()
    for want in lines:
        got = c.line()
        if got != "250 echo: " + want:
            raise AssertionError(f"bulk: got {got!r}, want {want!r}")
    sender.join(10)


def main():
    host, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else ""
    try:
        globals()["case_" + case](host, port, arg)
    except (AssertionError, OSError, ValueError, KeyError) as e:
        print(f"echo_client {case}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
