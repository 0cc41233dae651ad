#!/usr/bin/env bash
# Delivery to a real Postfix smarthost: the name smarthost.test comes from the
# private DNS, the link runs STARTTLS verified against the test CA, then AUTH
# with the password file; the message must arrive with the rewritten sender.
. "$(dirname "$0")/lib/postfix.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks postfix dnsmasq
[ "$(id -u)" = 0 ] || nr_skip "the private Postfix needs root"
bin="$NR_BUILD/nanorelay"
ca_make_all
dns_start
pf_start
port=$(free_port)
printf '%s\n' "$PF_PASS" >"$NR_TMP/smarthost.pw"
chmod 600 "$NR_TMP/smarthost.pw"
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/queue size=1M
state_dir $NR_TMP/state
smarthost $PF_HOST:$PF_PORT_SUBMIT tls=starttls user=$PF_USER password_file=$NR_TMP/smarthost.pw
ca_file $PF_CA
dns_server 127.0.0.1:$DNS_PORT
sender relay@nas.example
retry 1s 2s
log stderr level=debug
CONF

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/log"
swaks --server "127.0.0.1:$port" --from printer@lan --to user@example.com \
	--header "Subject: via postfix" --body "hello postfix" >"$NR_TMP/swaks.txt" 2>&1
check "message is queued" grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks.txt"
pf_wait 1 30 || fail "Postfix did not deliver the message" "$NR_TMP/log" "$PF_LOG"
expect_eq "envelope at the smarthost" "from=<relay@nas.example> to=<user@example.com>" \
	"$(pf_envelope 1)"
check "the body arrived" grep -q 'hello postfix' "$(pf_files | head -1)"
check "Postfix saw an authenticated sender" grep -q "Authenticated sender: $PF_USER" "$(pf_files | head -1)"
check "the message went over TLS" pf_log_grep 'Anonymous TLS connection established|TLS connection established from'
check "delivery was logged as sent" grep -q 'status=sent' "$NR_TMP/log"
check_not "the password is not in the log" grep -qF "$PF_PASS" "$NR_TMP/log"
nr_done
