# shellcheck shell=bash
# The relay cases of tests/rtos/run-host.sh (sourced inside its namespace):
# issue 16's item 6 against the host RTOS build. They need the relay task
# (`nanorelay --features` says "relay"); without it each one skips.
#
# The relay's only network is lwIP on tap0 ($BOARD_IP). Postfix (lib/postfix.sh)
# and a dnsmasq on port 53 run in the namespace and listen on the Linux side
# of the TAP ($LINUX_IP), so the relay reaches smarthost.test through lwIP,
# by name (its certificate is for smarthost.test) through lwIP's DNS client
# (CONFIG_NR_DNS_PLATFORM, which asks port 53 only). Files the relay reads
# (password, CA, LAN certificate) are named blobs: the host board reads them
# from the host's file system by name. The queue is `queue ram` or, where it
# must survive the process, `queue flash` on the board's NOR flash file.

relay_have() {
	"$bin" --features | grep -qw relay
}

relay_skip() {
	echo "the program has no relay task yet (include/nanorelay.h: the embedding API)"
	exit 77
}

RELAY_UP=0
# Postfix and DNS once, for every relay case.
relay_env() {
	[ "$RELAY_UP" = 1 ] && return 0
	# shellcheck source=../integration/lib/postfix.sh
	. "$root/tests/integration/lib/postfix.sh"
	ca_make_all
	# The board's LAN certificate (named blobs: files of the host, by name).
	ca_leaf lan root "DNS:board.lan,IP:$BOARD_IP" &&
		cp "$CA_DIR/lan.crt" "$NR_TMP/lan.crt" && cp "$CA_DIR/lan.key" "$NR_TMP/lan.key" || return 1
	# lwIP's DNS client asks port 53 only: dnsmasq there, on the Linux side
	# of the TAP (the namespace is the test's own).
	dnsmasq --keep-in-foreground --conf-file=/dev/null --port=53 --listen-address="$LINUX_IP" \
		--bind-interfaces --no-resolv --no-hosts --no-poll --cache-size=0 --user=nobody \
		--group=nogroup --host-record="smarthost.test,$LINUX_IP" --log-queries --log-facility=- \
		>"$NR_TMP/dnsmasq.log" 2>&1 &
	nr_on_exit "kill $!"
	PF_MAIN_EXTRA="inet_interfaces = 127.0.0.1, $LINUX_IP
inet_protocols = ipv4" pf_start || return 1
	printf '%s\n' "$PF_PASS" >"$NR_TMP/smarthost.pw"
	chmod 600 "$NR_TMP/smarthost.pw"
	RELAY_UP=1
}

# The relay's configuration: relay_conf [QUEUE-LINE] [EXTRA-LINES]
relay_conf() {
	cat >"$NR_TMP/relay.conf" <<CONF
listen $BOARD_IP:25 tls=none
listen $BOARD_IP:587 tls=starttls
listen $BOARD_IP:465 tls=implicit
allow $LINUX_IP/32
hostname board.lan
lan_cert $NR_TMP/lan.crt
lan_key $NR_TMP/lan.key
${1:-queue ram size=1M}
smarthost smarthost.test:$PF_PORT_SUBMIT tls=starttls user=$PF_USER password_file=$NR_TMP/smarthost.pw
ca_file $PF_CA
dns_server $LINUX_IP
sender relay@board.example
retry 1s 2s
max_message_size 64K
log stderr level=debug
${2:-}
CONF
}

relay_start() { # [board args...]
	board_start -c "$NR_TMP/relay.conf" --flash "$NR_TMP/flash.bin" "$@" &&
		wait_for 20 "the relay" "$NR_PY" -c "import socket; socket.create_connection(('$BOARD_IP', 25), 1)"
}

swaks_lan() { # swaks args...
	swaks --server "$BOARD_IP" --from printer@lan --to user@example.com --timeout 20 "$@"
}

case_relay_allowed() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	pf_clear
	swaks_lan --port 25 --body "allowed over lwIP" >"$NR_TMP/swaks.txt" 2>&1
	grep -Eq '^<-  250 2\.0\.0' "$NR_TMP/swaks.txt" || { cat "$NR_TMP/swaks.txt"; return 1; }
	pf_wait 1 30 || return 1
	[ "$(pf_envelope 1)" = "from=<relay@board.example> to=<user@example.com>" ] &&
		grep -q 'allowed over lwIP' "$(pf_files | head -1)" &&
		pf_log_grep 'TLS connection established from' >/dev/null
}

case_relay_denied() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	swaks_lan --port 25 --local-interface "$DENIED_IP" >"$NR_TMP/swaks.txt" 2>&1
	cat "$NR_TMP/swaks.txt"
	grep -Eq '^<\*\* 554 5\.7\.1' "$NR_TMP/swaks.txt"
}

# LAN AUTH: a client outside `allow` relays once it authenticated (PLAIN,
# under STARTTLS) against a users file the board hands over as a blob; a
# wrong password is 535, and the same client without AUTH stays refused.
# (swaks marks lines under TLS with ~: '<~ ' a reply, '<~*' an error.)
case_relay_auth() {
	relay_have || relay_skip
	relay_env || return 1
	# the users file's line, as `nanorelay passwd` writes it (PBKDF2-SHA256)
	"$NR_PY" - "$NR_TMP/users" <<'PY' || return 1
import base64, hashlib, os, sys
salt = os.urandom(16)
dk = hashlib.pbkdf2_hmac("sha256", b"s3cret pw", salt, 10000, 32)
with open(sys.argv[1], "w") as f:
    f.write("printer:pbkdf2-sha256:10000:%s:%s\n" % (base64.b64encode(salt).decode(), base64.b64encode(dk).decode()))
PY
	relay_conf "" "users $NR_TMP/users" && relay_start || return 1
	pf_clear
	swaks_lan --port 587 -tls --local-interface "$DENIED_IP" --auth PLAIN --auth-user printer \
		--auth-password 'wrong pw' >"$NR_TMP/bad.txt" 2>&1
	grep -Eq '^<~\* 535 5\.7\.8' "$NR_TMP/bad.txt" || { cat "$NR_TMP/bad.txt"; return 1; }
	swaks_lan --port 587 -tls --local-interface "$DENIED_IP" --auth PLAIN --auth-user printer \
		--auth-password 's3cret pw' --body "authenticated over lwIP" >"$NR_TMP/good.txt" 2>&1
	grep -Eq '^<~  235 2\.7\.0' "$NR_TMP/good.txt" && grep -Eq '^<~  250 2\.0\.0' "$NR_TMP/good.txt" ||
		{ cat "$NR_TMP/good.txt"; return 1; }
	swaks_lan --port 587 -tls --local-interface "$DENIED_IP" >"$NR_TMP/none.txt" 2>&1
	grep -Eq '^<~\* 554 5\.7\.1' "$NR_TMP/none.txt" || { cat "$NR_TMP/none.txt"; return 1; }
	pf_wait 1 30 && grep -q 'authenticated over lwIP' "$(pf_files | head -1)"
}

case_relay_starttls() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	pf_clear
	swaks_lan --port 587 -tls --body "lan starttls" >"$NR_TMP/a.txt" 2>&1 &&
		swaks_lan --port 465 --tls-on-connect --body "lan implicit" >"$NR_TMP/b.txt" 2>&1 || {
		cat "$NR_TMP/a.txt" "$NR_TMP/b.txt"
		return 1
	}
	grep -q 'TLS started' "$NR_TMP/a.txt" && pf_wait 2 30
}

case_relay_python_curl() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	pf_clear
	"$NR_PY" - "$BOARD_IP" <<'PY' || return 1
import smtplib, sys
with smtplib.SMTP(sys.argv[1], 25, timeout=20) as s:
    s.ehlo("pyclient")
    assert s.has_extn("size") and s.has_extn("pipelining"), s.esmtp_features
    s.sendmail("py@lan", ["user@example.com"], b"Subject: smtplib\r\n\r\nfrom smtplib\r\n")
PY
	printf 'Subject: curl\r\n\r\nfrom curl\r\n' >"$NR_TMP/curl.eml"
	curl -sS --max-time 20 "smtp://$BOARD_IP:25" --mail-from curl@lan --mail-rcpt user@example.com \
		--upload-file "$NR_TMP/curl.eml" || return 1
	pf_wait 2 30
}

case_relay_smuggling() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	pf_clear
	# <LF>.<CR><LF> and <CR>.<LF> are content, not the end of data; the
	# smuggled MAIL FROM must never reach Postfix as a command.
	"$NR_PY" - "$BOARD_IP" <<'PY' || return 1
import os, sys
sys.path.insert(0, os.environ["NR_LIB"])
from smtpraw import Raw
r = Raw(25, host=sys.argv[1], timeout=10)
assert r.reply()[0] == 220
for cmd, want in ((b"EHLO x\r\n", 250), (b"MAIL FROM:<a@lan>\r\n", 250),
                  (b"RCPT TO:<user@example.com>\r\n", 250), (b"DATA\r\n", 354)):
    r.send(cmd)
    got = r.reply()
    assert got and got[0] == want, (cmd, got)
r.send(b"Subject: smuggle\r\n\r\nbody\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@example.com>\r\n"
       b"DATA\r\nsmuggled\r\n.\r\n")
got = r.reply()
assert got and got[0] == 250, got
PY
	pf_wait 1 30 || return 1
	sleep 2
	[ "$(pf_count)" = 1 ] && ! pf_envelopes | grep -q victim
}

case_relay_limits() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	"$NR_PY" - "$BOARD_IP" <<'PY'
import os, sys
sys.path.insert(0, os.environ["NR_LIB"])
from smtpraw import Raw
r = Raw(25, host=sys.argv[1], timeout=10)
assert r.reply()[0] == 220
r.send(b"EHLO " + b"x" * 600 + b"\r\n")
got = r.reply()
assert got and got[0] == 500, got           # command line over 512 octets
r.send(b"EHLO x\r\n"); assert r.reply()[0] == 250
r.send(b"MAIL FROM:<a@lan> SIZE=100000000\r\n")
got = r.reply()
assert got and got[0] == 552, got           # SIZE over max_message_size
r.send(b"MAIL FROM:<a@lan>\r\n"); assert r.reply()[0] == 250
r.send(b"RCPT TO:<user@example.com>\r\n"); assert r.reply()[0] == 250
r.send(b"DATA\r\n"); assert r.reply()[0] == 354
r.send((b"y" * 70 + b"\r\n") * 1200 + b".\r\n")
got = r.reply()
assert got and got[0] == 552, got           # 84 KB streamed over a 64 KB limit
PY
}

case_relay_queue_full() {
	relay_have || relay_skip
	relay_env && relay_conf "queue ram size=64K" && relay_start || return 1
	pf_down
	"$NR_PY" - "$BOARD_IP" <<'PY'
import smtplib, sys
body = b"Subject: fill\r\n\r\n" + (b"z" * 70 + b"\r\n") * 100
codes = []
for i in range(40):
    try:
        with smtplib.SMTP(sys.argv[1], 25, timeout=20) as s:
            s.sendmail("f@lan", ["user@example.com"], body)
            codes.append(250)
    except smtplib.SMTPDataError as e:
        codes.append(e.smtp_code)
    except smtplib.SMTPRecipientsRefused as e:
        codes.append(list(e.recipients.values())[0][0])
    if codes[-1] != 250:
        break
print(codes)
assert codes[-1] == 452 and codes.count(250) >= 1, codes
PY
	local rc=$?
	pf_up
	return $rc
}

case_relay_outage_retry() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	pf_clear
	pf_down
	swaks_lan --port 25 --body "held during the outage" >"$NR_TMP/swaks.txt" 2>&1 || return 1
	sleep 3
	grep -q 'status=deferred' "$NR_TMP/board.log" || return 1
	pf_up
	pf_wait 1 60
}

# More clients at once than sessions (CONFIG_NR_MAX_SESSIONS, 8) and than
# lwIP has TCP pcbs (NR_LWIP_SOCKETS, 40): the sessions over the limit get
# 421, the connections over lwIP's pcbs are refused by the stack, the relay
# stays up, and a message queued before is kept and delivered.
case_relay_overload() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start || return 1
	pf_clear
	pf_down
	swaks_lan --port 25 --body "queued before the flood" >"$NR_TMP/swaks.txt" 2>&1 || { pf_up; return 1; }
	"$NR_PY" - "$BOARD_IP" <<'PY'
import socket, sys, threading
host = sys.argv[1]
socks, codes, lock = [], {}, threading.Lock()
def client():
    try:
        s = socket.create_connection((host, 25), 5)
        s.settimeout(5)
        line = s.recv(512)
        code = line[:3].decode() if line else "closed"
        with lock:
            socks.append(s)
    except OSError as e:
        code = type(e).__name__
    with lock:
        codes[code] = codes.get(code, 0) + 1
threads = [threading.Thread(target=client) for _ in range(60)]
for t in threads: t.start()
for t in threads: t.join(30)
print(codes)
for s in socks: s.close()
assert codes.get("220", 0) >= 1 and codes.get("421", 0) >= 1, codes
PY
	local rc=$?
	pf_up
	[ $rc -eq 0 ] || return 1
	sleep 2
	swaks_lan --port 25 --body "after the flood" >"$NR_TMP/swaks.txt" 2>&1 || { cat "$NR_TMP/swaks.txt"; return 1; }
	pf_wait 2 60
}

# A board without a TRNG (--no-entropy) or without a wall clock
# (--no-wall-clock): a clear error at start-up or mail held, never TLS on
# weak bytes or an unchecked certificate date.
case_relay_no_entropy() {
	relay_have || relay_skip
	relay_env && relay_conf || return 1
	pf_clear
	board_start -c "$NR_TMP/relay.conf" --no-entropy || return 1
	sleep 5
	cat "$NR_TMP/board.log"
	[ "$(pf_count)" = 0 ] && grep -Eiq 'err\].*(entropy|random|rng)' "$NR_TMP/board.log"
}
case_relay_no_wall_clock() {
	relay_have || relay_skip
	relay_env && relay_conf && relay_start --no-wall-clock || return 1
	pf_clear
	swaks_lan --port 25 --body "no clock" >"$NR_TMP/swaks.txt" 2>&1
	cat "$NR_TMP/swaks.txt"
	sleep 5
	grep -v debug "$NR_TMP/board.log" | tail -5
	[ "$(pf_count)" = 0 ] && grep -q 'status=deferred' "$NR_TMP/board.log"
}

# The figures of README's board checklist, from a run (--stats logs them
# every second): heap the core holds idle and with 8 sessions open (after
# EHLO; the session limit of the RTOS defaults), and the stack the relay,
# tcpip and tap-rx tasks used. They go to $NR_TMP/figures.txt, which
# run-host.sh prints before its summary.
stats_last() { grep 'host: stats:' "$NR_TMP/board.log" | tail -1 | sed 's/.*host: stats: //'; }
case_relay_figures() {
	relay_have || relay_skip
	relay_env && relay_conf "$FLASH_QUEUE" && relay_start --stats || return 1
	pf_clear
	swaks_lan --port 587 -tls --body "warm up: one STARTTLS session and a delivery" >/dev/null 2>&1 || return 1
	pf_wait 1 30 || return 1
	sleep 2
	local idle busy
	idle=$(stats_last)
	"$NR_PY" - "$BOARD_IP" <<'PY' &
import socket, sys, time
socks = []
for i in range(8):
    s = socket.create_connection((sys.argv[1], 25), 5)
    s.recv(512)
    s.sendall(b"EHLO figures\r\n")
    s.recv(2048)
    socks.append(s)
time.sleep(4)
PY
	local py=$!
	sleep 3
	busy=$(stats_last)
	wait $py
	{
		echo "# figures (host RTOS build, --stats):"
		echo "#   idle relay (after a delivery): $idle"
		echo "#   8 sessions open after EHLO:    $busy"
	} | tee "$NR_TMP/figures.txt"
	[ -n "$idle" ] && [[ $busy == *sessions=8* ]]
}

# Restart and kill -9 need a queue that survives the process: the flash HAL's
# host file (--flash, NOR rules) under `queue flash`.
FLASH_QUEUE="queue flash size=1M"
case_relay_restart() {
	relay_have || relay_skip
	relay_env && relay_conf "$FLASH_QUEUE" && relay_start || return 1
	pf_clear
	pf_down
	for i in 1 2 3; do swaks_lan --port 25 --body "queued $i" >/dev/null 2>&1 || return 1; done
	board_stop
	pf_up
	relay_start && pf_wait 3 60
}

# Load on the relay from 4 clients for $2 seconds, message ids from $3 + 1;
# the id of every message answered 250 is appended to the file $1 at once.
relay_load() { # acked-file seconds first-id
	"$NR_PY" - "$BOARD_IP" "$1" "$2" "$3" <<'PY'
import smtplib, sys, threading, time
host, acked_path, seconds, base = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock()
counter = [base]
acked = open(acked_path, "a")
def worker():
    end = time.time() + seconds
    while time.time() < end:
        try:
            with smtplib.SMTP(host, 25, timeout=5) as s:
                while time.time() < end:
                    with lock:
                        counter[0] += 1
                        n = counter[0]
                    s.sendmail("load@lan", ["user@example.com"],
                               f"Subject: load {n}\r\nX-Load-Id: {n}\r\n\r\nload-end {n}\r\n")
                    with lock:
                        acked.write(f"{n}\n")
                        acked.flush()
        except (OSError, smtplib.SMTPException):
            time.sleep(0.2)
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join(seconds + 30)
PY
}

case_relay_kill9() {
	relay_have || relay_skip
	local rounds=${NR_RTOS_KILL_ROUNDS:-3} i acked=$NR_TMP/acked n missing=0 load
	relay_env && relay_conf "$FLASH_QUEUE" || return 1
	pf_clear
	: >"$acked"
	for i in $(seq "$rounds"); do
		relay_start || return 1
		# The load runs on while the relay is killed under it.
		relay_load "$acked" 3 $((i * 100000)) &
		load=$!
		sleep 2
		board_kill9
		wait "$load"
		echo "round $i: $(wc -l <"$acked") acknowledged so far"
	done
	relay_start || return 1
	n=$(wc -l <"$acked")
	pf_wait "$n" 180 || true
	# The count holds duplicates (a kill between the smarthost's 250 and
	# the mark), so it can reach n while an acknowledged message is still
	# on its way: wait for the ids themselves, as long again at most.
	wait_for 180 "every acknowledged id delivered" kill9_all_delivered "$acked" || true
	missing=$(kill9_missing "$acked")
	echo "acknowledged $n, delivered $(pf_count), acknowledged but missing $missing"
	[ "$missing" -eq 0 ] || echo "  missing ids: $(kill9_missing_ids "$acked" | head -10 | tr '\n' ' ')"
	[ "$n" -gt 0 ] && [ "$missing" -eq 0 ]
}

# The acknowledged ids (file $1) that the Maildir does not hold, one pass
# over it (thousands of messages after 20 rounds).
kill9_missing_ids() {
	grep -rh '^X-Load-Id: ' "$PF_MAILDIR" | sed 's/^X-Load-Id: //' | sort -u >"$NR_TMP/delivered-ids"
	sort -u "$1" | comm -23 - "$NR_TMP/delivered-ids"
}
kill9_missing() { kill9_missing_ids "$1" | wc -l; }
kill9_all_delivered() { [ "$(kill9_missing "$1")" -eq 0 ]; }

# The submit API: the host board's --submit-from DIR hands DIR/NAME.msg
# (sender line, recipients line, message) to nr_relay_submit_begin/
# nr_submit_write/nr_submit_end on the relay's task and answers NAME.ok (the
# queue id) or NAME.err ("CODE text").
submit_msg() { # name body-file from rcpt: write DIR/name.msg atomically
	{ printf '%s\n%s\n' "$3" "$4"; cat "$2"; } >"$NR_TMP/spool/$1.part" &&
		mv "$NR_TMP/spool/$1.part" "$NR_TMP/spool/$1.msg"
}
submit_wait() { # name: prints the answer file's text, 0 for .ok
	wait_for 20 "the answer to $1" test -e "$NR_TMP/spool/$1.ok" -o -e "$NR_TMP/spool/$1.err" || return 1
	cat "$NR_TMP/spool/$1".*
	[ -e "$NR_TMP/spool/$1.ok" ]
}
submit_start() {
	rm -rf "$NR_TMP/spool" && mkdir -p "$NR_TMP/spool" && relay_start --submit-from "$NR_TMP/spool"
}

case_relay_submit() {
	relay_have || relay_skip
	relay_env && relay_conf "$FLASH_QUEUE" && submit_start || return 1
	pf_clear
	# Byte-exact: the body (with a line of dots, a long line, a CR-less
	# LF line end) reaches Postfix as it was given.
	"$NR_PY" - "$NR_TMP/submit1.eml" <<'PY'
import sys
body = b"first line\r\n.\r\n..two dots\r\n" + b"x" * 900 + b"\r\nlf only\nlast\r\n"
open(sys.argv[1], "wb").write(b"Subject: submitted\r\nX-Submit: 1\r\n\r\n" + body)
open(sys.argv[1] + ".body", "wb").write(body)
PY
	submit_msg one "$NR_TMP/submit1.eml" alert@board.lan user@example.com && submit_wait one || return 1
	pf_wait 1 30 || return 1
	"$NR_PY" - "$(pf_files | head -1)" "$NR_TMP/submit1.eml.body" <<'PY' || return 1
import sys
got = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
want = open(sys.argv[2], "rb").read().replace(b"\r\n", b"\n")
head, _, body = got.partition(b"\n\n")
assert b"X-Submit: 1" in head and b"Subject: submitted" in head, head
assert body == want, (body[:200], want[:200])
print("submitted body delivered byte-exact,", len(body), "bytes")
PY
	# Restart: a submitted message queued during an outage is on the flash
	# and is delivered after the board comes back.
	pf_clear
	pf_down
	submit_msg two "$NR_TMP/submit1.eml" alert@board.lan user@example.com && submit_wait two || return 1
	board_kill9
	pf_up
	submit_start && pf_wait 1 60 || return 1
	board_stop
	# Queue full: with Postfix down, submits fill a 64K RAM queue until one
	# is refused with NR_EFULL (-5), never a silent loss.
	relay_conf "queue ram size=64K" && submit_start || return 1
	pf_down
	"$NR_PY" -c "import sys; open(sys.argv[1],'wb').write(b'Subject: fill\r\n\r\n' + (b'z'*70 + b'\r\n')*100)" \
		"$NR_TMP/fill.eml"
	local i out
	for i in $(seq 40); do
		submit_msg "fill$i" "$NR_TMP/fill.eml" alert@board.lan user@example.com || break
		out=$(submit_wait "fill$i") && continue
		echo "fill $i: $out"
		pf_up
		[ "$i" -gt 1 ] && grep -q '^-5 ' <<<"$out"
		return
	done
	pf_up
	echo "the queue never filled"
	return 1
}

# Postfix and dnsmasq start here, in the script's own shell, once: a case
# runs in a subshell, whose exit hooks would not stop what it started.
if relay_have; then
	relay_env >"$NR_TMP/relay-env.log" 2>&1 || { echo "# relay_env failed:"; tail -20 "$NR_TMP/relay-env.log"; }
fi
run_case "relay: from an allowed address, delivered to Postfix over STARTTLS + AUTH" case_relay_allowed
run_case "relay: refused from a denied address (554 5.7.1)" case_relay_denied
run_case "relay: LAN STARTTLS and implicit TLS" case_relay_starttls
run_case "relay: LAN AUTH from outside allow (235, then relayed; 535 for a bad password)" case_relay_auth
run_case "relay: python smtplib and curl" case_relay_python_curl
run_case "relay: smuggling sequences stay content" case_relay_smuggling
run_case "relay: line and size limits" case_relay_limits
run_case "relay: queue full answers 452" case_relay_queue_full
run_case "relay: upstream outage, then retry" case_relay_outage_retry
run_case "relay: RAM and stack figures (--stats)" case_relay_figures
run_case "relay: no TRNG: a start-up error, nothing sent" case_relay_no_entropy
run_case "relay: no wall clock: mail is held (deferred), not sent unverified" case_relay_no_wall_clock
run_case "relay: 60 clients at once: 421 over the session limit, lwIP's pcbs run out, queued mail kept" case_relay_overload
run_case "relay: restart with messages queued" case_relay_restart
if [ "${NR_RTOS_KILL_ROUNDS:-3}" -lt 20 ]; then
	kill_what="${NR_RTOS_KILL_ROUNDS:-3} kill -9 rounds (a bounded CI sample; NR_RTOS_KILL_ROUNDS=20 for the full run)"
else
	kill_what="$NR_RTOS_KILL_ROUNDS kill -9 rounds"
fi
run_case "relay: $kill_what under load, nothing acknowledged lost" case_relay_kill9
run_case "relay: the submit API: byte-exact delivery, kill -9 with one queued, queue full (NR_EFULL)" case_relay_submit
