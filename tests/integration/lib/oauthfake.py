#!/usr/bin/python3
"""A fake OAuth2 authorisation server over TLS (loopback only), for the
built-in OAuth2 client's tests.

Endpoints (POST, application/x-www-form-urlencoded, JSON answers):
  /token    grant_type=client_credentials (client_id + client_secret),
            grant_type=refresh_token (a refresh token it issued),
            grant_type=urn:ietf:params:oauth:grant-type:device_code
  /device   RFC 8628 device authorisation: device_code, user_code,
            verification_uri, interval 1

Every access token it issues is appended to --tokens FILE (the fake
smarthost, smtpfault.py --xoauth2-tokens, accepts exactly those); tokens
and refresh tokens are long random strings, so a test can grep logs for
them. Its own state is in --state DIR:
  DIR/refresh        the refresh tokens it accepts (one a line)
  DIR/revoked        exists: every refresh answers invalid_grant
  DIR/approved       exists: the device login was approved
  DIR/fail5xx        holds N: the next N token requests get 503
  DIR/authcode, DIR/challenge   the code a browser sign-in would return and
                     the PKCE code_challenge it was given (written by the
                     test): grant_type=authorization_code needs both to match
  DIR/issued.log     one line per request: "<grant> <outcome>" (no secrets)
Options: --rotate (each refresh returns a new refresh token and forgets
the old one), --expires-in S, --delay S (answer that late),
--pending N (authorization_pending N times, then slow_down once, before
the device grant can succeed).
"""
import argparse, base64, hashlib, json, os, secrets, ssl, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
A = None
polls = [0]


def sfile(name):
    return os.path.join(A.state, name)


def note(line):
    with lock, open(sfile("issued.log"), "a") as f:
        f.write(line + "\n")


def lines(name):
    try:
        with open(sfile(name)) as f:
            return [l.strip() for l in f if l.strip()]
    except FileNotFoundError:
        return []


def issue_access():
    tok = "at-" + secrets.token_urlsafe(48)
    with lock, open(A.tokens, "a") as f:
        f.write(tok + "\n")
    return tok


def issue_refresh(old=None):
    rt = "rt-" + secrets.token_urlsafe(48)
    with lock:
        keep = [l for l in lines("refresh") if l != old] if old else lines("refresh")
        with open(sfile("refresh"), "w") as f:
            f.write("\n".join(keep + [rt]) + "\n")
    return rt


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, obj, chunked=False):
        body = json.dumps(obj).encode()
        if A.delay:
            time.sleep(A.delay)
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(body) // 2
            for part in (body[:half], body[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > 65536 or self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.answer(400, {"error": "invalid_request"})
        form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        if self.path == "/device":
            note("device issued")
            return self.answer(200, {"device_code": "dc-" + secrets.token_urlsafe(16),
                                     "user_code": "ABCD-EFGH",
                                     "verification_uri": "https://127.0.0.1/devicelogin",
                                     "expires_in": 900, "interval": 1})
        if self.path != "/token":
            return self.answer(404, {"error": "not_found"})
        grant = form.get("grant_type", "")
        fails = lines("fail5xx")
        if fails and int(fails[0]) > 0:
            with open(sfile("fail5xx"), "w") as f:
                f.write("%d\n" % (int(fails[0]) - 1))
            note(grant + " 503")
            return self.answer(503, {"error": "temporarily_unavailable"})
        if form.get("client_id") != A.client_id:
            note(grant + " invalid_client")
            return self.answer(401, {"error": "invalid_client"})
        out = {"token_type": "Bearer", "expires_in": A.expires_in}
        if grant == "client_credentials":
            if form.get("client_secret") != A.client_secret:
                note(grant + " invalid_client")
                return self.answer(401, {"error": "invalid_client",
                                         "error_description": "AADSTS7000215: Invalid client secret."})
            if form.get("scope") != A.scope:
                note(grant + " invalid_scope " + form.get("scope", ""))
                return self.answer(400, {"error": "invalid_scope"})
            out["access_token"] = issue_access()
            note(grant + " ok")
            return self.answer(200, out)
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if os.path.exists(sfile("revoked")) or rt not in lines("refresh"):
                note(grant + " invalid_grant")
                return self.answer(400, {"error": "invalid_grant", "error_codes": [70008],
                                         "error_description": "AADSTS70008: The refresh token has expired or was revoked."},
                                   chunked=True)
            out["access_token"] = issue_access()
            if A.rotate:
                out["refresh_token"] = issue_refresh(old=rt)
            note(grant + (" ok rotated" if A.rotate else " ok"))
            return self.answer(200, out, chunked=True)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            polls[0] += 1
            if polls[0] <= A.pending:
                note("device authorization_pending")
                return self.answer(400, {"error": "authorization_pending"})
            if polls[0] == A.pending + 1:
                note("device slow_down")
                return self.answer(400, {"error": "slow_down"})
            if not os.path.exists(sfile("approved")):
                note("device authorization_pending")
                return self.answer(400, {"error": "authorization_pending"})
            out["access_token"] = issue_access()
            out["refresh_token"] = issue_refresh()
            note("device ok")
            return self.answer(200, out)
        if grant == "authorization_code":
            want = lines("authcode")
            chal = lines("challenge")
            got = base64.urlsafe_b64encode(hashlib.sha256(
                form.get("code_verifier", "").encode()).digest()).decode().rstrip("=")
            if not want or form.get("code") != want[0] or not chal or got != chal[0] or \
                    form.get("redirect_uri") != "http://127.0.0.1:1/":
                note("authorization_code invalid_grant")
                return self.answer(400, {"error": "invalid_grant"})
            out["access_token"] = issue_access()
            out["refresh_token"] = issue_refresh()
            note("authorization_code ok")
            return self.answer(200, out)
        note(grant + " unsupported_grant_type")
        return self.answer(400, {"error": "unsupported_grant_type"})


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--client-id", default="nanorelay-test")
    p.add_argument("--client-secret", default="")
    p.add_argument("--scope", default="https://outlook.office365.com/.default")
    p.add_argument("--expires-in", type=int, default=3599)
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--rotate", action="store_true")
    p.add_argument("--pending", type=int, default=2)
    A = p.parse_args()
    os.makedirs(A.state, exist_ok=True)
    open(A.tokens, "a").close()
    srv = ThreadingHTTPServer((A.addr, A.port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(A.cert, A.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening on %s:%d" % (A.addr, A.port), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
