"""Walk a file queue ring (src/queue/FORMAT.md) without the daemon.

    from ringscan import scan
    msgs = scan(path)   # {message id: {"data": stream bytes, "last": committed?}}

Only reads; used after the daemon stopped to prove what was (not) committed.
"""
import struct


def scan(path):
    with open(path, "rb") as f:
        d = f.read()
    msgs = {}
    S = None
    # sector size: from the first valid sector header
    for o in range(0, len(d), 512):
        if d[o:o + 4] == b"NRQ1":
            S, P = 1 << d[o + 5], 1 << d[o + 6]
            break
    if S is None:
        return msgs

    def al(x):
        return (x + P - 1) // P * P

    for so in range(0, len(d), S):
        if d[so:so + 4] != b"NRQ1":
            continue
        o = so + al(32)
        while o + 24 <= so + S and d[o] == 0x51:
            kind, state_len, ln, mid = struct.unpack_from("<BHIQ", d, o + 1)
            if kind & 0xF0 != 0x10:
                break
            m = msgs.setdefault(mid, {"parts": [], "last": False})
            part = d[o + 24:o + 24 + ln]
            if kind & 2:
                # The LAST chunk's payload ends with the 20-byte commit
                # trailer, which is not part of the stream (FORMAT.md 2.2).
                part = part[:-20]
                m["last"] = True
            m["parts"].append(part)
            o += al(24 + ln) + state_len
    for m in msgs.values():
        m["data"] = b"".join(m.pop("parts"))
    return msgs


def committed(path, marker):
    """committed messages whose stream contains marker"""
    return [m for m in scan(path).values() if m["last"] and marker in m["data"]]
