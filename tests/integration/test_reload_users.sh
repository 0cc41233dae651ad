#!/usr/bin/env bash
# SIGHUP and `users` (issue 21): a daemon started without users offers no
# AUTH; after `users` is added and SIGHUP sent, AUTH is offered and works
# without a restart. Removing users refuses every login at once, and the
# reload's log line names what waits for a restart (as it does for
# control_socket); a reload that changes nothing of that kind says every
# change applied.
. "$(dirname "$0")/lib/common.sh"
nr_require swaks
bin="$NR_BUILD/nanorelay"
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
LOG="$NR_TMP/log"
write_conf() { # EXTRA-LINES
	cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none plain_auth=127.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
control_socket $NR_TMP/${CONTROL:-control}
log stderr level=info
$1
CONF
}
count() { grep -c -- "$1" "$LOG" || true; }
reload_and_wait() { # N: wait for the Nth "configuration reloaded"
	kill -HUP "$pid"
	wait_for 10 "reload $1" eval '[ "$(count "configuration reloaded")" -ge '"$1"' ]' ||
		fail "reload $1 not logged" "$LOG"
}
ehlo() { swaks --server "127.0.0.1:$port" --quit-after EHLO 2>&1; }
auth() { # PASSWORD -> swaks transcript
	swaks --server "127.0.0.1:$port" -a PLAIN -au printer -ap "$1" \
		--from p@lan --to a@example.com 2>&1
}

write_conf ""
nr_spawn pid "$LOG" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$LOG"
out=$(ehlo)
check_not "without users: no AUTH in EHLO" grep -Eq '^<-  250[- ]AUTH' <<<"$out"

# Add users: the file by `nanorelay passwd`, the key in the file, SIGHUP.
write_conf "users $NR_TMP/users"
printf 'Re-load pw\n' | "$bin" -c "$conf" passwd printer >/dev/null 2>&1 || fail "passwd"
reload_and_wait 1
check "the reload says AUTH now checks the users file" \
	grep -q "reload: AUTH checks passwords against $NR_TMP/users" "$LOG"
check "the reload says every change applied" \
	grep -q "configuration reloaded from $conf; every change applied" "$LOG"
out=$(ehlo)
check "after the reload: AUTH in EHLO" grep -Eq '^<-  250[- ]AUTH .*PLAIN' <<<"$out"
out=$(auth 'Re-load pw')
check "after the reload: AUTH PLAIN gets 235" grep -q '^<-  235 2.7.0' <<<"$out"
check "after the reload: the message is queued" grep -Eq '^<-  250 2.0.0 Ok: queued as' <<<"$out"
out=$(auth 'wrong pw')
check "a wrong password gets 535" grep -q '^<\*\* 535 5.7.8' <<<"$out"

# Remove users, move the control socket: both named as waiting for a restart.
CONTROL=control2 write_conf ""
reload_and_wait 2
check "the reload names what waits for a restart" grep -Eq \
	"configuration reloaded from $conf; waiting for a restart: control_socket, users \(removed\)$" "$LOG"
out=$(auth 'Re-load pw')
check_not "users removed: the right password no longer gets in" grep -q '^<-  235' <<<"$out"
nr_stop_pid "$pid"
check_not "no password in the log" grep -q 'Re-load pw' "$LOG"
nr_done
