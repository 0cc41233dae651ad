import socket, ssl, sys, time
# Open a session, ask for a reload from outside (the shell sends SIGHUP when
# it sees the marker file), then keep talking on the same connection.
#   session_across_reload.py PORT MARKER DONE [tls]   (tls: implicit TLS)
port, marker, done = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
if sys.argv[4:] == ["tls"]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
f = s.makefile("rb")
assert f.readline().startswith(b"220"), "no greeting"
s.sendall(b"EHLO survivor\r\n")
while True:
    line = f.readline()
    if line[3:4] == b" ":
        break
open(marker, "w").close()
for _ in range(100):  # wait (bounded) for the shell to confirm the reload
    try:
        open(done).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("reload was not confirmed")
s.sendall(b"NOOP\r\n")
reply = f.readline()
assert reply.startswith(b"250"), reply
s.sendall(b"QUIT\r\n")
assert f.readline().startswith(b"221")
print("session survived the reload:", reply)
