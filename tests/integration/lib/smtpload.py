#!/usr/bin/python3
"""Steady SMTP load that survives a server being killed (loopback only).

usage: smtpload.py --port P --acked FILE --stop FILE [--threads 4]
                   [--per-session 5] [--max-seconds 120]

Each message carries a unique number N: a header "X-Load-Id: N" and a last
body line "load-end N", so a receiver can tell a complete copy from a
partial one. N is appended to the --acked file (flushed at once) only after
the server answered 250 to the end of DATA. Connection errors (the server
died) are counted and the thread reconnects after a short pause. Runs until
the --stop file exists or --max-seconds passed; prints a summary line.
"""
import argparse, os, smtplib, sys, threading, time

lock = threading.Lock()
state = {"next": 0, "acked": 0, "errors": 0}


def next_id():
    with lock:
        state["next"] += 1
        return state["next"]


def worker(a, acked):
    end = time.time() + a.max_seconds
    while time.time() < end and not os.path.exists(a.stop):
        try:
            s = smtplib.SMTP("127.0.0.1", a.port, timeout=5)
            for _ in range(a.per_session):
                n = next_id()
                msg = ("From: load@lan\r\nTo: sink@example.com\r\nSubject: load %d\r\n"
                       "X-Load-Id: %d\r\n\r\nbody line 1\r\nbody line 2\r\nload-end %d\r\n"
                       % (n, n, n))
                s.sendmail("load@lan", ["sink@example.com"], msg)
                with lock:
                    acked.write("%d\n" % n)
                    acked.flush()
                    state["acked"] += 1
            s.quit()
        except (OSError, smtplib.SMTPException):
            with lock:
                state["errors"] += 1
            time.sleep(0.05)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--acked", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--per-session", type=int, default=5)
    p.add_argument("--max-seconds", type=float, default=120)
    a = p.parse_args()
    with open(a.acked, "a") as acked:
        ts = [threading.Thread(target=worker, args=(a, acked)) for _ in range(a.threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    print("smtpload: sent %d acked %d errors %d" % (state["next"], state["acked"], state["errors"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
