"""Raw SMTP client for hostile-input tests (loopback or a test's namespace).

    import sys; sys.path.insert(0, os.environ["NR_LIB"])
    from smtpraw import Raw, session

Raw(port[, host, source]) connects (optionally from a source address) and
reads replies line by line: reply() returns (code, text) for one complete
multi-line reply, None on timeout and "" on EOF. Nothing here retries or
loops without a deadline.
"""
import socket, ssl, sys, time


class Raw:
    def __init__(self, port, host="127.0.0.1", source=None, timeout=5):
        self.s = socket.create_connection((host, port), timeout=timeout,
                                          source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self, timeout):
        self.s.settimeout(max(timeout, 0.001))
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return None      # nothing within timeout
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return b""
        return d

    def reply(self, timeout=5):
        """one complete (multi-line) reply as (code, text); None on timeout; '' on EOF"""
        lines = []
        end = time.time() + timeout
        while True:
            while b"\r\n" in self.buf:
                line, self.buf = self.buf.split(b"\r\n", 1)
                lines.append(line)
                if len(line) < 4 or line[3:4] != b"-":
                    return int(line[:3]), b"\n".join(lines)
            left = end - time.time()
            if left <= 0:
                return None
            d = self._fill(left)
            if d is None:
                return None
            if d == b"":
                return ""
            self.buf += d

    def cmd(self, line, want=None):
        self.send(line + b"\r\n")
        r = self.reply()
        if want is not None and (not r or r[0] != want):
            sys.exit("%r: want %d, got %r" % (line[:80], want, r))
        return r

    def quiet(self, secs):
        """True if nothing arrives (and no EOF) within secs"""
        if self.buf:
            return False
        d = self._fill(secs)
        if d is None:
            return True
        self.buf += d
        return False

    def closed(self, secs):
        """True if the peer closes within secs (data before the close is kept in buf)"""
        end = time.time() + secs
        while time.time() < end:
            d = self._fill(end - time.time())
            if d == b"":
                return True
            if d is None:
                return False
            self.buf += d
        return False

    def close(self):
        self.s.close()


def session(port, sender, rcpt=b"r@example.com", host="127.0.0.1", source=None):
    """greeting, EHLO, MAIL, RCPT answered 220/250/250/250: the Raw, ready for DATA"""
    c = Raw(port, host, source)
    r = c.reply()
    assert r and r[0] == 220, r
    c.cmd(b"EHLO hostile.lan", 250)
    c.cmd(b"MAIL FROM:<" + sender + b">", 250)
    c.cmd(b"RCPT TO:<" + rcpt + b">", 250)
    return c
