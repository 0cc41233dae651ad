#!/usr/bin/python3
"""A scriptable SMTP server for TLS and AUTH fault tests (loopback only).

smtp-sink has no TLS and no AUTH; this server has both and can misbehave on
purpose. Every connection is handled in its own thread; the transcript goes to
stdout ("C: ..." / "S: ..." lines, AUTH payloads decoded and marked "AUTH-DATA").
Accepted messages are stored as DIR/msg.N (envelope lines "X-Mail-From:",
"X-Rcpt-To:" then the data exactly as received, CRLF, dot-unstuffed).

usage: smtpfault.py --port P [--addr 127.0.0.1] [--dir DIR]
         [--tls none|starttls|implicit] --cert FILE --key FILE
         [--tls-min 1.0|1.1|1.2|1.3] [--tls-max ...]
         [--no-starttls]            do not advertise STARTTLS (and answer it 502)
         [--starttls-reply LINE]    answer STARTTLS with LINE, no handshake
         [--inject TEXT]            send TEXT right after the 220 to STARTTLS,
                                    in the same write ("\\r\\n" escapes allowed)
         [--auth-mechs "PLAIN LOGIN CRAM-MD5"]  ("" = no AUTH offered)
         [--auth-reply LINE]        final AUTH reply (default 235 2.7.0 ...)
         [--xoauth2-tokens FILE]    AUTH XOAUTH2 (offer it in --auth-mechs):
                                    accept exactly "user=U\x01auth=Bearer T\x01\x01"
                                    for a T listed in FILE (one a line, read at
                                    each AUTH); else answer as Microsoft 365
                                    does: 334 + base64 JSON, then 535 5.7.3
         [--no-8bitmime] [--no-pipelining] [--size N]
         [--reply CMD=LINE]...      fixed reply for MAIL, RCPT, DATA, DOT,
                                    EHLO, HELO, RSET, QUIT, GREETING;
                                    LINE "DROP" closes without a reply,
                                    "HANG" never answers (the client must
                                    time out); CMD BODY=DROP closes after the
                                    first body line (mid-DATA)
         [--rule CMD:TEXT=LINE]...  like --reply, only for a transaction
                                    whose MAIL argument (for MAIL) or RCPT
                                    argument (RCPT) contains TEXT; for DATA,
                                    BODY and DOT: whose MAIL or any accepted
                                    RCPT contains TEXT. First match wins.
         [--send-as-denied]         act like Microsoft 365: after the dot, a
                                    message whose MAIL FROM or header From
                                    address is not the authenticated user
                                    gets "554 5.2.252 SendAsDenied; ..." (the
                                    real text) and is not stored
"""
import argparse, base64, hmac, os, re, socket, ssl, sys, threading, time

VERS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
        "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
lock = threading.Lock()
counter = [0]


def log(cid, s):
    with lock:
        sys.stdout.write("%d %s\n" % (cid, s))
        sys.stdout.flush()


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


class Conn:
    def __init__(self, a, ctx, sock, cid):
        self.a, self.ctx, self.sock, self.cid = a, ctx, sock, cid
        self.buf = b""
        self.tls = False
        self.auth_user = None

    def send(self, line):
        log(self.cid, "S: " + line)
        self.sock.sendall(line.encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
            if len(self.buf) > 1 << 20:
                raise EOFError
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def fixed(self, key, about=()):
        for k, text, line in self.a.rules:
            if k == key and any(text in x for x in about if x):
                return line
        return self.a.replies.get(key)

    def reply(self, key, default, about=()):
        r = self.fixed(key, about)
        if r == "DROP":
            log(self.cid, "S: <drop at %s>" % key)
            raise EOFError
        if r == "HANG":
            log(self.cid, "S: <no reply at %s>" % key)
            while self.sock.recv(65536):
                pass
            raise EOFError
        self.send(r or default)

    def starttls(self):
        self.sock = self.ctx.wrap_socket(self.sock, server_side=True)
        self.tls = True
        log(self.cid, "TLS: %s %s" % (self.sock.version(), self.sock.cipher()[0]))

    def ehlo_lines(self, arg):
        a = self.a
        caps = ["smarthost.test greets %s" % arg]
        if not a.no_pipelining:
            caps.append("PIPELINING")
        caps.append("SIZE %d" % a.size)
        if not a.no_8bitmime:
            caps.append("8BITMIME")
        caps.append("ENHANCEDSTATUSCODES")
        if a.tls == "starttls" and not self.tls and not a.no_starttls:
            caps.append("STARTTLS")
        if a.auth_mechs and (self.tls or a.tls == "none"):
            caps.append("AUTH " + a.auth_mechs)
        return caps

    def auth(self, arg):
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            data = parts[1] if len(parts) > 1 else None
            if data is None:
                self.send("334 ")
                data = self.readline()
            raw = base64.b64decode(data + "===")
            log(self.cid, "AUTH-DATA PLAIN %r" % raw)
            fields = raw.split(b"\0")
            self.auth_user = fields[1].decode("latin-1") if len(fields) == 3 else None
        elif mech == "LOGIN":
            if len(parts) > 1:
                user = parts[1]
            else:
                self.send("334 VXNlcm5hbWU6")
                user = self.readline()
            self.send("334 UGFzc3dvcmQ6")
            pw = self.readline()
            log(self.cid, "AUTH-DATA LOGIN %r %r" % (base64.b64decode(user + "==="), base64.b64decode(pw + "===")))
            self.auth_user = base64.b64decode(user + "===").decode("latin-1")
        elif mech == "XOAUTH2" and self.a.xoauth2_tokens:
            data = parts[1] if len(parts) > 1 else None
            if data is None:
                self.send("334 ")
                data = self.readline()
            raw = base64.b64decode(data + "===")
            log(self.cid, "AUTH-DATA XOAUTH2 %r" % raw)
            with open(self.a.xoauth2_tokens) as f:
                good = [t.strip() for t in f if t.strip()]
            ok = False
            if raw.startswith(b"user=") and raw.endswith(b"\x01\x01"):
                fields = raw[:-2].split(b"\x01")
                ok = (len(fields) == 2 and fields[0] != b"user=" and
                      fields[1].startswith(b"auth=Bearer ") and
                      fields[1][len(b"auth=Bearer "):].decode("ascii", "replace") in good)
            if not ok:
                js = b'{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/SMTP.Send"}'
                self.send("334 " + base64.b64encode(js).decode())
                self.readline()  # the client's empty response
                self.send("535 5.7.3 Authentication unsuccessful [XOAUTH2 token refused]")
                return
        elif mech == "CRAM-MD5":
            chal = "<%d.%d@smarthost.test>" % (os.getpid(), int(time.time()))
            self.send("334 " + base64.b64encode(chal.encode()).decode())
            resp = base64.b64decode(self.readline() + "===")
            log(self.cid, "AUTH-DATA CRAM-MD5 %r" % resp)
        else:
            self.send("504 5.5.4 Unrecognized authentication type")
            return
        self.reply("AUTH", self.a.auth_reply)

    def data(self, about=()):
        lines = []
        while True:
            line = self.readline()
            if line == ".":
                break
            if not lines and self.fixed("BODY", about) == "DROP":
                log(self.cid, "S: <drop in DATA>")
                raise EOFError
            lines.append(line[1:] if line.startswith(".") else line)
        return "".join(l + "\r\n" for l in lines)

    def send_as_denied(self, mail_from, body):
        """Microsoft 365's rule: the envelope sender and the header From
        must both be the account that logged in. The refusal text if not."""
        user = (self.auth_user or "").lower()
        env = mail_from.split()[0].strip("<>").lower() if mail_from else ""
        head = body.split("\r\n\r\n", 1)[0]
        head = re.sub(r"\r\n[ \t]+", " ", head)  # unfold
        hdr = ""
        for line in head.split("\r\n"):
            if line.lower().startswith("from:"):
                v = line[5:].strip()
                m = re.search(r"<([^<>]*)>\s*$", v)
                hdr = (m.group(1) if m else v).strip().lower()
                break
        for addr in (env, hdr):
            if addr != user:
                return ("554 5.2.252 SendAsDenied; %s not allowed to send as %s; "
                        "STOREDRV.Submission.Exception:SendAsDeniedException."
                        "MapiExceptionSendAsDenied; Failed to process message due to a "
                        "permanent exception with message [BeginDiagnosticData]Cannot "
                        "submit message." % (self.auth_user or "(nobody)", addr or "<>"))
        return None

    def run(self):
        a = self.a
        if a.tls == "implicit":
            self.starttls()
        self.reply("GREETING", "220 smarthost.test ESMTP smtpfault")
        mail_from, rcpts = None, []
        while True:
            line = self.readline()
            log(self.cid, "C: " + line)
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                if self.fixed("EHLO"):
                    self.reply("EHLO", "")
                    continue
                caps = self.ehlo_lines(arg)
                for c in caps[:-1]:
                    self.send("250-" + c)
                self.send("250 " + caps[-1])
            elif verb == "HELO":
                self.reply("HELO", "250 smarthost.test")
            elif verb == "STARTTLS":
                if a.tls != "starttls" or self.tls or a.no_starttls:
                    self.send("502 5.5.1 STARTTLS not available")
                elif a.starttls_reply:
                    self.send(a.starttls_reply)
                else:
                    payload = b"220 2.0.0 Ready to start TLS\r\n"
                    if a.inject:
                        payload += unescape(a.inject)
                        log(self.cid, "S: <injected %r>" % unescape(a.inject))
                    log(self.cid, "S: 220 2.0.0 Ready to start TLS")
                    self.sock.sendall(payload)
                    self.buf = b""
                    self.starttls()
                    mail_from, rcpts = None, []
            elif verb == "AUTH":
                if not a.auth_mechs or (not self.tls and a.tls != "none"):
                    self.send("503 5.5.1 Error: authentication not enabled")
                else:
                    self.auth(arg)
            elif verb == "MAIL":
                mail_from, rcpts = arg.split(":", 1)[-1].strip(), []
                self.reply("MAIL", "250 2.1.0 Ok", [arg])
            elif verb == "RCPT":
                r = self.fixed("RCPT", [arg])
                self.reply("RCPT", "250 2.1.5 Ok", [arg])
                if not r or r.startswith("2"):
                    rcpts.append(arg.split(":", 1)[-1].strip())
            elif verb == "DATA":
                about = [mail_from] + rcpts
                r = self.fixed("DATA", about)
                self.reply("DATA", "354 End data with <CR><LF>.<CR><LF>", about)
                if r and not r.startswith("3"):
                    continue
                body = self.data(about)
                denied = self.send_as_denied(mail_from, body) if a.send_as_denied else None
                if denied:
                    self.send(denied)
                    mail_from, rcpts = None, []
                    continue
                r = self.fixed("DOT", about)
                if not r or r.startswith("2"):
                    with lock:
                        counter[0] += 1
                        n = counter[0]
                    if a.dir:
                        tmp = os.path.join(a.dir, ".tmp.%d" % n)
                        with open(tmp, "w", newline="") as f:
                            f.write("X-Mail-From: %s\r\n" % mail_from)
                            for r2 in rcpts:
                                f.write("X-Rcpt-To: %s\r\n" % r2)
                            f.write(body)
                        os.rename(tmp, os.path.join(a.dir, "msg.%06d" % n))
                self.reply("DOT", "250 2.0.0 Ok: queued as SF%06d" % counter[0], about)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("RSET", "250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("QUIT", "221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--dir")
    p.add_argument("--tls", default="starttls", choices=["none", "starttls", "implicit"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tls-min", default=None)
    p.add_argument("--tls-max", default=None)
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--starttls-reply")
    p.add_argument("--inject")
    p.add_argument("--auth-mechs", default="PLAIN LOGIN CRAM-MD5")
    p.add_argument("--auth-reply", default="235 2.7.0 Authentication successful")
    p.add_argument("--xoauth2-tokens")
    p.add_argument("--no-8bitmime", action="store_true")
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--size", type=int, default=10240000)
    p.add_argument("--reply", action="append", default=[])
    p.add_argument("--rule", action="append", default=[])
    p.add_argument("--send-as-denied", action="store_true")
    a = p.parse_args()
    a.rules = []
    for r in a.rule:
        k, _, v = r.partition("=")
        cmd, _, text = k.partition(":")
        a.rules.append((cmd.upper(), text, v))
    a.replies = {}
    for r in a.reply:
        k, _, v = r.partition("=")
        a.replies[k.upper()] = v
    ctx = None
    if a.tls != "none":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.tls_min in ("1.0", "1.1") or a.tls_max in ("1.0", "1.1"):
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if a.tls_min:
            ctx.minimum_version = VERS[a.tls_min]
        if a.tls_max:
            ctx.maximum_version = VERS[a.tls_max]
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.addr, a.port))
    srv.listen(64)
    log(0, "listening on %s:%d tls=%s" % (a.addr, a.port, a.tls))
    cid = 0

    def handle(sock, cid):
        c = Conn(a, ctx, sock, cid)
        try:
            c.run()
        except (EOFError, OSError, ssl.SSLError, ValueError) as e:
            log(cid, "END: %s" % (type(e).__name__ + (": " + str(e) if str(e) else "")))
        finally:
            try:
                c.sock.close()
            except OSError:
                pass
            log(cid, "CLOSED")

    while True:
        s, peer = srv.accept()
        s.settimeout(120)
        cid += 1
        log(cid, "CONNECT %s" % (peer,))
        threading.Thread(target=handle, args=(s, cid), daemon=True).start()


if __name__ == "__main__":
    main()
