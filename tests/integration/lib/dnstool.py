#!/usr/bin/python3
"""Tiny DNS helpers for the integration tests (standard library only).

  dnstool.py query SERVER PORT NAME [A|AAAA|MX|TXT] [--tcp] [--timeout S]
      One query. Prints "RCODE" (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)
      on the first line, then one line per answer of the asked type
      (addresses for A/AAAA, "PREF HOST" for MX). Prints "TIMEOUT" and exits
      3 when no answer comes.
  dnstool.py serve PORT servfail|refused|silent [--addr 127.0.0.1]
      A UDP server on loopback answering every query with SERVFAIL / REFUSED,
      or never answering (silent: the "timeout" server). Runs until killed.
"""
import random, socket, struct, sys

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def read_name(msg, off):
    labels, jumps = [], 0
    while jumps < 50:
        n = msg[off]
        if n == 0:
            break
        if n & 0xC0 == 0xC0:
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            continue
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n
    return ".".join(labels)


def query(server, port, name, qtype="A", tcp=False, timeout=3.0):
    qid = random.randint(0, 0xFFFF)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack(">HH", TYPES[qtype], 1)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    try:
        if tcp:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect((server, port))
            s.sendall(struct.pack(">H", len(pkt)) + pkt)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            msg = buf[2:]
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(timeout)
            s.sendto(pkt, (server, port))
            while True:
                msg, _ = s.recvfrom(4096)
                if msg[:2] == pkt[:2]:
                    break
    except socket.timeout:
        print("TIMEOUT")
        return 3
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    print(RCODES.get(flags & 0xF, "RCODE%d" % (flags & 0xF)))
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == TYPES[qtype]:
            if rtype == 1:
                print(socket.inet_ntop(socket.AF_INET, rdata))
            elif rtype == 28:
                print(socket.inet_ntop(socket.AF_INET6, rdata))
            elif rtype == 15:
                print("%d %s" % (struct.unpack(">H", rdata[:2])[0], read_name(msg, off + 2)))
            else:
                print(rdata.hex())
        off += rdlen
    return 0


def serve(port, mode, addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    rcode = {"servfail": 2, "refused": 5}.get(mode)
    while True:
        msg, peer = s.recvfrom(4096)
        if rcode is None or len(msg) < 12:
            continue  # silent: never answer
        qid, flags, qd = struct.unpack(">HHH", msg[:6])
        off = 12
        for _ in range(qd):
            off = skip_name(msg, off) + 4
        rflags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode  # QR, opcode+RD copied, RA
        s.sendto(struct.pack(">HHHHHH", qid, rflags, qd, 0, 0, 0) + msg[12:off], peer)


def main(argv):
    if len(argv) >= 4 and argv[1] == "query":
        tcp = "--tcp" in argv
        timeout = 3.0
        if "--timeout" in argv:
            timeout = float(argv[argv.index("--timeout") + 1])
        pos = [a for i, a in enumerate(argv[2:], 2) if not a.startswith("--") and argv[i - 1] != "--timeout"]
        qtype = pos[3] if len(pos) > 3 else "A"
        return query(pos[0], int(pos[1]), pos[2], qtype, tcp, timeout)
    if len(argv) >= 4 and argv[1] == "serve":
        addr = argv[argv.index("--addr") + 1] if "--addr" in argv else "127.0.0.1"
        serve(int(argv[2]), argv[3], addr)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
