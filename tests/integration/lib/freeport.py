#!/usr/bin/python3
"""Reserve free loopback ports for one test run.

usage: freeport.py RESDIR OWNERPID N [tcp|udp|both]

Prints N port numbers, one per line. A port is handed out only if it can be
bound on 127.0.0.1 (and ::1 when IPv6 exists) for the requested protocols and
if a reservation directory RESDIR/<port> can be created atomically; the
reservation records OWNERPID and is reclaimed when that process is gone.
Ports come from 20000-31999, below Linux's ephemeral range, so outgoing
connections never steal them. Bounded: at most 2000 attempts.
"""
import errno, os, random, socket, sys

LO, HI = 20000, 31999


def has_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def bindable(port, protos, v6):
    fams = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if v6 else [])
    for fam, addr in fams:
        for typ in protos:
            s = socket.socket(fam, typ)
            try:
                if typ == socket.SOCK_STREAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def reserve(resdir, port, owner):
    d = os.path.join(resdir, str(port))
    for _ in range(2):
        try:
            os.mkdir(d)
        except FileExistsError:
            try:
                with open(os.path.join(d, "owner")) as f:
                    pid = int(f.read().strip() or "0")
            except (OSError, ValueError):
                return False  # being created right now, or unreadable: skip
            if pid and alive(pid):
                return False
            # stale: reclaim (rename first so two reclaimers cannot both win)
            tmp = "%s.stale.%d" % (d, os.getpid())
            try:
                os.rename(d, tmp)
            except OSError:
                return False
            for n in os.listdir(tmp):
                os.unlink(os.path.join(tmp, n))
            os.rmdir(tmp)
            continue
        with open(os.path.join(d, "owner"), "w") as f:
            f.write("%d\n" % owner)
        return True
    return False


def main():
    resdir, owner, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    kind = sys.argv[4] if len(sys.argv) > 4 else "tcp"
    protos = {"tcp": [socket.SOCK_STREAM], "udp": [socket.SOCK_DGRAM],
              "both": [socket.SOCK_STREAM, socket.SOCK_DGRAM]}[kind]
    os.makedirs(resdir, mode=0o1777, exist_ok=True)
    v6 = has_ipv6()
    got = []
    for _ in range(2000):
        if len(got) == n:
            break
        p = random.randint(LO, HI)
        if p in got or not bindable(p, protos, v6):
            continue
        if reserve(resdir, p, owner):
            got.append(p)
    if len(got) != n:
        sys.stderr.write("freeport: could not reserve %d ports\n" % n)
        sys.exit(1)
    print("\n".join(map(str, got)))


if __name__ == "__main__":
    main()
