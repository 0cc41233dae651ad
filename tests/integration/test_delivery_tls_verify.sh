#!/usr/bin/env bash
# The link's TLS: implicit TLS (port 465 style) delivers to a good
# certificate; a certificate for another name is refused with the reason in
# the log, nothing is delivered and nothing falls back to clear text.
. "$(dirname "$0")/lib/postfix.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks postfix dnsmasq
[ "$(id -u)" = 0 ] || nr_skip "the private Postfix needs root"
bin="$NR_BUILD/nanorelay"
ca_make_all
dns_start

run_relay() { # NAME SMARTHOST-LINE
	local conf="$NR_TMP/$1.conf" port
	port=$(free_port)
	printf '%s\n' "$PF_PASS" >"$NR_TMP/smarthost.pw"
	chmod 600 "$NR_TMP/smarthost.pw"
	cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/$1.queue size=1M
state_dir $NR_TMP/$1.state
smarthost $2 user=$PF_USER password_file=$NR_TMP/smarthost.pw
ca_file $PF_CA
dns_server 127.0.0.1:$DNS_PORT
retry 1s 2s
log stderr level=debug
CONF
	nr_spawn RELAY_PID "$NR_TMP/$1.log" "$bin" -c "$conf" --foreground
	wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/$1.log"
	swaks --server "127.0.0.1:$port" --from printer@lan --to user@example.com \
		--body "via $1" >"$NR_TMP/$1.swaks" 2>&1
	check "$1: message is queued" grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/$1.swaks"
}

pf_start
run_relay implicit "$PF_HOST:$PF_PORT_SMTPS tls=implicit"
pf_wait 1 30 || fail "implicit TLS: not delivered" "$NR_TMP/implicit.log" "$PF_LOG"
pass "implicit TLS: delivered"
nr_stop_pid "$RELAY_PID"
pf_down

PF_CERT=$CA_DIR/wrongname.crt PF_KEY=$CA_DIR/wrongname.key pf_start wrong
run_relay wrongname "$PF_HOST:$PF_PORT_SUBMIT tls=starttls"
wait_for 15 "certificate refusal logged" grep -q 'hostname does not match' "$NR_TMP/wrongname.log" ||
	fail "no certificate refusal in the log" "$NR_TMP/wrongname.log"
pass "wrong-name certificate refused with the reason"
sleep 2
expect_eq "nothing delivered to the wrong-name server" 0 "$(pf_count)"
check_not "no AUTH or MAIL after the refusal" grep -Eq 'smtpc [^:]*: (TLS -> EHLO|EHLO -> AUTH|READY -> TRANS)' "$NR_TMP/wrongname.log"
check_not "the password is not in the logs" grep -qF "$PF_PASS" "$NR_TMP/implicit.log" "$NR_TMP/wrongname.log"
nr_done
