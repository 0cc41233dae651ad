#!/usr/bin/env bash
# state_dir against its own daemon's user (issue 21, security review M2).
# The daemon starts as root and drops to `nobody`; a process running as
# nobody (what a memory bug in the network-facing code would give an
# attacker) then tries each attack of the review and must fail:
#  - replace the submit socket (unlink it, bind its own);
#  - plant a file or a symlink where the LAN key's temporary file goes;
#  - get the regenerated LAN key written into a file it owns (files planted
#    under the old predictable names lan.key.tmp.PID, for the next PIDs).
# Then root's sendmail and `nanorelay status` meet an impostor socket (owned
# by a third uid) and refuse it: sendmail exits 75 and the impostor never
# sees a connection; a regular file in the socket's place is refused too.
. "$(dirname "$0")/lib/common.sh"
nr_require setpriv
[ "$(id -u)" = 0 ] || nr_skip "starting as root and setpriv need root"
id nobody >/dev/null 2>&1 || nr_skip "no user nobody"
bin="$NR_BUILD/nanorelay"
PY=/usr/bin/python3
nobody=$(id -u nobody)
nogroup=$(id -g nobody)
as_nobody() { setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups "$@"; }

chmod 0755 "$NR_TMP"
state="$NR_TMP/state"
mkdir -m 0777 "$NR_TMP/q"
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=starttls
allow 127.0.0.0/8
hostname relay.test
queue file:$NR_TMP/q/queue size=1M
state_dir $state
user nobody
log stderr level=info
CONF
chmod 0644 "$conf"

# The layout an older version left: state_dir belongs to the daemon's user,
# who has planted files under every temporary name the old code could pick
# for lan.key in the next few hundred PIDs.
mkdir -m 0700 "$state"
chown nobody:"$nogroup" "$state"
last=$(cat /proc/sys/kernel/ns_last_pid)
as_nobody bash -c "for ((p = $last + 1; p <= $last + 400; p++)); do
	: >'$state/lan.key.tmp.'\$p; : >'$state/lan.crt.tmp.'\$p; done"
planted=$(find "$state" -name 'lan.*.tmp.*' -user nobody | wc -l)
expect_eq "800 files planted by nobody" 800 "$planted"
# and a key pair of its own, which it knows (what the old code could leave)
as_nobody bash -c "echo attacker-key >'$state/lan.key'; echo attacker-crt >'$state/lan.crt'"

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 20 || fail "nanorelay did not listen" "$NR_TMP/log"
wait_for 10 "the submit socket" test -S "$state/submit" || fail "no submit socket" "$NR_TMP/log"
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$pid/status")
expect_eq "the daemon runs as nobody" "$nobody$nobody$nobody$nobody" "$uid"

# ---- the layout ----
expect_eq "state_dir is root's 0711 again" "root 711" "$(stat -c '%U %a' "$state")"
expect_eq "lan.key is root's 0600" "root 600" "$(stat -c '%U %a' "$state/lan.key")"
expect_eq "lan.crt is root's" root "$(stat -c %U "$state/lan.crt")"
check "the key nobody planted was replaced, and the log says why" \
	grep -q "lan.key belongs to uid $nobody, not to us: it may be known to others; generating a new certificate" "$NR_TMP/log"
expect_eq "the submit socket is root's" root "$(stat -c %U "$state/submit")"
expect_eq "the control socket is root's" root "$(stat -c %U "$state/control")"
written=$(find "$state" -name 'lan.*.tmp.*' -size +0 | wc -l)
expect_eq "no planted temporary file received the key or the certificate" 0 "$written"
check "the key in lan.key is the one the daemon serves (a private key, not empty)" \
	grep -q "PRIVATE KEY" "$state/lan.key"

# ---- the attacks, as the daemon's user ----
check_not "nobody cannot unlink the submit socket" as_nobody rm -f "$state/submit"
check_not "nobody cannot bind a socket of its own in state_dir" as_nobody $PY -c "
import socket; s = socket.socket(socket.AF_UNIX); s.bind('$state/submit2')"
check_not "nobody cannot rename over the submit socket" as_nobody mv "$state/lan.crt.tmp.$((last + 1))" "$state/submit"
check_not "nobody cannot create a temporary name for lan.key" as_nobody touch "$state/lan.key.tmp.x"
check_not "nobody cannot plant a symlink for lan.key" as_nobody ln -s "$NR_TMP/q/steal" "$state/lan.key"
check_not "nobody cannot remove lan.key (to force a regeneration)" as_nobody rm -f "$state/lan.key"
check_not "nobody cannot read lan.key" as_nobody cat "$state/lan.key"
check "the submit socket is still the daemon's" test "$(stat -c %U "$state/submit")" = root

# root's sendmail reaches the real daemon (the socket is root's)
rc=0
ln -s "$bin" "$NR_TMP/sendmail"
printf 'Subject: real\n\nreal-body\n' | NANORELAY_CONF="$conf" "$NR_TMP/sendmail" admin@example.com \
	>"$NR_TMP/sm1.out" 2>&1 || rc=$?
expect_eq "root's sendmail through the real submit socket exits 0" 0 "$rc"

# ---- an impostor socket, owned by a third uid ----
evil=4242
mkdir -m 0755 "$NR_TMP/evil"
chown "$evil" "$NR_TMP/evil"
: >"$NR_TMP/evil.log"
chmod 0666 "$NR_TMP/evil.log"
setpriv --reuid=$evil --regid=$evil --clear-groups $PY -c "
import os, socket
for name in ('submit', 'control'):
    s = socket.socket(socket.AF_UNIX); s.bind('$NR_TMP/evil/' + name); s.listen(8)
    os.chmod('$NR_TMP/evil/' + name, 0o666)
    globals()[name] = s
import select
while True:
    r, _, _ = select.select([submit, control], [], [], 60)
    if not r: break
    for s in r:
        c, _ = s.accept()
        open('$NR_TMP/evil.log', 'a').write('connection\n')
        c.sendall(b'220 impostor ESMTP\r\n' if s is submit else b'0 ok\nall is well\n')
        c.close()
" </dev/null >/dev/null 2>&1 &
evil_pid=$!
nr_on_exit "kill $evil_pid"
wait_for 10 "the impostor's sockets" test -S "$NR_TMP/evil/control" || fail "no impostor"
expect_eq "the impostor socket belongs to uid $evil" $evil "$(stat -c %u "$NR_TMP/evil/submit")"
sed -e "s#^state_dir .*#&\nsubmit_socket $NR_TMP/evil/submit\ncontrol_socket $NR_TMP/evil/control#" \
	"$conf" >"$NR_TMP/evil.conf"

rc=0
printf 'Subject: secret\n\nsecret-token=abc123\n' | NANORELAY_CONF="$NR_TMP/evil.conf" \
	"$NR_TMP/sendmail" admin@example.com >"$NR_TMP/sm2.out" 2>&1 || rc=$?
expect_eq "root's sendmail refuses the impostor: exit 75 (temporary failure)" 75 "$rc"
expect_eq "sendmail says why, in one line" \
	"sendmail: refusing $NR_TMP/evil/submit: it belongs to uid $evil, not to root or the daemon's user (nobody); someone may be impersonating the daemon; the message was not sent" \
	"$(cat "$NR_TMP/sm2.out")"
rc=0
out=$("$bin" -c "$NR_TMP/evil.conf" status 2>&1) || rc=$?
expect_eq "nanorelay status refuses the impostor: exit 75" 75 "$rc"
expect_eq "status says why and prints nothing of the impostor's" \
	"nanorelay: refusing the control socket $NR_TMP/evil/control: it belongs to uid $evil, not to root or the daemon's user (nobody); someone may be impersonating the daemon" \
	"$out"
rc=0
printf 'HELO x\r\nQUIT\r\n' | NANORELAY_CONF="$NR_TMP/evil.conf" "$NR_TMP/sendmail" -bs \
	>"$NR_TMP/sm3.out" 2>/dev/null || rc=$?
expect_eq "sendmail -bs refuses the impostor: exit 75" 75 "$rc"
expect_eq "sendmail -bs answers 421" \
	"421 4.3.0 the submission socket is not trusted, try again later" \
	"$(tr -d '\r' <"$NR_TMP/sm3.out")"
expect_eq "the impostor never saw a connection" "" "$(cat "$NR_TMP/evil.log")"

# a regular file in the socket's place
: >"$NR_TMP/evil/notasocket"
sed -e "s#^submit_socket .*#submit_socket $NR_TMP/evil/notasocket#" "$NR_TMP/evil.conf" >"$NR_TMP/file.conf"
rc=0
printf 'Subject: x\n\nx\n' | NANORELAY_CONF="$NR_TMP/file.conf" "$NR_TMP/sendmail" admin@example.com \
	>"$NR_TMP/sm4.out" 2>&1 || rc=$?
expect_eq "sendmail refuses a file that is not a socket: exit 75" 75 "$rc"
expect_eq "and says so" \
	"sendmail: refusing $NR_TMP/evil/notasocket: it is not a socket; the message was not sent" \
	"$(cat "$NR_TMP/sm4.out")"

nr_done
