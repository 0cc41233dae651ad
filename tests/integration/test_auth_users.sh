#!/usr/bin/env bash
# LAN AUTH end to end: `nanorelay passwd` writes a private users file, swaks
# authenticates over STARTTLS (the certificate is generated into state_dir),
# a wrong password gets 535, and an unauthenticated client outside `allow`
# cannot relay (554 5.7.1).
. "$(dirname "$0")/lib/common.sh"
nr_require swaks
bin="$NR_BUILD/nanorelay"
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=starttls auth=optional
allow 10.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
users $NR_TMP/users
log stderr level=info
CONF

printf 's3cret pw\n' | "$bin" -c "$conf" passwd printer 2>"$NR_TMP/passwd.err"
check "passwd exits 0" test $? -eq 0
check "users file is mode 0600" test "$(stat -c %a "$NR_TMP/users")" = 600
check "users entry is salted PBKDF2" grep -Eq '^printer:pbkdf2-sha256:10000:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' "$NR_TMP/users"
check_not "password is not stored in clear" grep -q 's3cret' "$NR_TMP/users"
printf 'x\n' | "$bin" -c "$conf" passwd 'bad:name' 2>/dev/null
check "passwd refuses a bad name with 64" test $? -eq 64

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 10
swaks --server "127.0.0.1:$port" --tls -a PLAIN -au printer -ap 's3cret pw' \
	--from p@lan --to a@example.com >"$NR_TMP/ok.txt" 2>&1
check "AUTH PLAIN over STARTTLS gets 235" grep -q '^<~  235 2.7.0' "$NR_TMP/ok.txt"
check "message is queued after AUTH" grep -Eq '^<~  250 2.0.0 Ok: queued as [0-9a-f]{16}' "$NR_TMP/ok.txt"
swaks --server "127.0.0.1:$port" --tls -a LOGIN -au printer -ap 'wrong' \
	--from p@lan --to a@example.com >"$NR_TMP/bad.txt" 2>&1
check "wrong password gets 535 5.7.8" grep -q '^<~\* 535 5.7.8' "$NR_TMP/bad.txt"
swaks --server "127.0.0.1:$port" --tls --from p@lan --to a@example.com >"$NR_TMP/relay.txt" 2>&1
check "unauthenticated relay outside allow gets 554 5.7.1" grep -q '^<~\* 554 5.7.1' "$NR_TMP/relay.txt"
check "LAN certificate was generated" test -s "$NR_TMP/state/lan.crt"
check "generated key is private" test "$(stat -c %a "$NR_TMP/state/lan.key")" = 600
check_not "no password in the log" grep -q 's3cret' "$NR_TMP/log"
nr_done
