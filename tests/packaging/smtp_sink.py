#!/usr/bin/python3
"""A minimal SMTP sink for tests/packaging/deb.sh.

    smtp_sink.py PORTFILE OUTDIR

Binds 127.0.0.1 on a free port, writes the port to PORTFILE, and stores the
DATA of every accepted message, dot-unstuffed and with CRLF kept, as
OUTDIR/msg.N (written to a temp name, then renamed, so a reader never sees
half a message). Replies 250 to everything but DATA (354) and QUIT (221).
Runs until killed; each connection is bounded by a 60 s timeout.
"""
import os
import socket
import sys


def serve(conn, outdir, counter):
    f = conn.makefile("rb")
    conn.sendall(b"220 sink ESMTP\r\n")
    while True:
        line = f.readline(4096)
        if not line:
            return
        verb = line[:4].upper()
        if verb == b"DATA":
            conn.sendall(b"354 go on\r\n")
            data = bytearray()
            while True:
                dl = f.readline(1 << 20)
                if not dl or dl == b".\r\n":
                    break
                data += dl[1:] if dl.startswith(b".") else dl
            counter[0] += 1
            tmp = os.path.join(outdir, ".tmp")
            with open(tmp, "wb") as out:
                out.write(data)
            os.rename(tmp, os.path.join(outdir, "msg.%d" % counter[0]))
            conn.sendall(b"250 2.0.0 queued as %d\r\n" % counter[0])
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        elif verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 sink\r\n")
        else:
            conn.sendall(b"250 ok\r\n")


def main():
    portfile, outdir = sys.argv[1], sys.argv[2]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(portfile + ".tmp", "w") as pf:
        pf.write("%d\n" % srv.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    counter = [0]
    while True:
        conn, _ = srv.accept()
        conn.settimeout(60)
        try:
            serve(conn, outdir, counter)
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
