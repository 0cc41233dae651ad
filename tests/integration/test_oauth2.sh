#!/usr/bin/env bash
# Built-in OAuth2 (issue 19) end to end: a fake authorisation server of our
# own (lib/oauthfake.py, TLS with the test CA) and a fake Microsoft 365
# smarthost (lib/smtpfault.py --xoauth2-tokens: the exact XOAUTH2 string,
# an unknown token refused with 334 + base64 JSON, then 535 5.7.3).
#   client_credentials   a send: the relay fetches a token and delivers
#   expired mid-queue    the smarthost stops accepting the token: one 535,
#                        one new token, the message delivered
#   refresh_token        a send with the refresh token a login stored; the
#                        rotated refresh token is saved at once and used
#                        after a restart (the old one no longer works)
#   5xx, slow            a token endpoint that answers 503 first, then late:
#                        deferred, then delivered
#   revoked              invalid_grant: deferred (never bounced), the log
#                        names the fix; writing a new store lifts the hold
# Then no client secret, access token or refresh token in any relay log.
. "$(dirname "$0")/lib/tlsserver.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require swaks dnsmasq
bin="$NR_BUILD/nanorelay"
"$bin" --version 2>/dev/null | grep -q oauth2 || nr_skip "this build has no CONFIG_NR_OAUTH2"
ca_make_all
dns_start # smarthost.test: the certificates name it (mbed TLS checks names, not IPs)
SECRET="client-s3cret-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$SECRET" >"$NR_TMP/client.secret"
chmod 600 "$NR_TMP/client.secret"
TOKENS=$NR_TMP/tokens

# ---- the fake smarthost and the fake authorisation servers ----
tls_start --tls implicit --kind good --auth-mechs "XOAUTH2" --xoauth2-tokens "$TOKENS" ||
	fail "smtpfault did not start"
touch "$TOKENS"

auth_start() { # NAME oauthfake-ARGS...
	local name=$1 port
	shift
	port=$(free_port)
	nr_spawn "APID_$name" "$NR_TMP/auth.$name.log" "$NR_PY" -u "$NR_LIB/oauthfake.py" \
		--port "$port" --cert "$CA_DIR/good.crt" --key "$CA_DIR/good.key" \
		--state "$NR_TMP/auth.$name" --tokens "$TOKENS" "$@"
	wait_for 5 "oauthfake $name" nr_listening "$port" || fail "oauthfake $name" "$NR_TMP/auth.$name.log"
	eval "A_PORT_$name=$port"
}
auth_start cc --client-id printer-app --client-secret "$SECRET"
auth_start rt --client-id nas-app --rotate --scope "https://outlook.office.com/SMTP.Send offline_access"
auth_start slow --client-id printer-app --client-secret "$SECRET" --delay 4
auth_start dev --client-id nas-app --pending 2 --scope "https://outlook.office.com/SMTP.Send offline_access"

# The token exchanges and the SMTP sessions are captured (when dumpcap and
# tshark can run here): no secret or token may cross in clear.
CAP=""
if command -v dumpcap >/dev/null && command -v tshark >/dev/null && [ "$(id -u)" = 0 ]; then
	CAP=$NR_TMP/oauth2.pcap
	nr_spawn CAP_PID "$NR_TMP/dumpcap.log" dumpcap -q -i lo -w "$CAP" -f \
		"tcp port $TLS_PORT or tcp port $A_PORT_cc or tcp port $A_PORT_rt or tcp port $A_PORT_slow or tcp port $A_PORT_dev"
	wait_for 10 "dumpcap capturing" grep -q "Capturing on" "$NR_TMP/dumpcap.log" ||
		fail "dumpcap did not start" "$NR_TMP/dumpcap.log"
else
	echo "# no capture: dumpcap/tshark missing or not root"
fi

declare -A R_PORT
relay() { # NAME SMARTHOST-OPTIONS
	local name=$1 opts=$2 port
	port=${R_PORT[$name]:-$(free_port)}
	cat >"$NR_TMP/$name.conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue file:$NR_TMP/$name.queue size=1M
state_dir $NR_TMP/$name.state
smarthost smarthost.test:$TLS_PORT tls=implicit user=printer@example.com $opts
ca_file $CA_CERT
dns_server 127.0.0.1:$DNS_PORT
retry 1s 2s
upstream_timeout 5s
log stderr level=debug
CONF
	nr_spawn "RPID_$name" "$NR_TMP/$name.log" "$bin" -c "$NR_TMP/$name.conf" --foreground
	wait_port "$port" || fail "relay $name did not start" "$NR_TMP/$name.log"
	R_PORT[$name]=$port
}
relay_stop() { local v="RPID_$1"; nr_stop_pid "${!v}" 5; }
send() { # RELAY SUBJECT
	swaks --server "127.0.0.1:${R_PORT[$1]}" --from cam@lan.test --to boss@example.com \
		--header "Subject: $2" --body "body of $2" >"$NR_TMP/swaks.$1.$2" 2>&1 &&
		grep -Eq '^<-  250 2.0.0 Ok: queued as' "$NR_TMP/swaks.$1.$2" ||
		fail "$1: $2 not queued" "$NR_TMP/swaks.$1.$2" "$NR_TMP/$1.log"
}
delivered() { grep -qs "Subject: $1" "$TLS_DIR"/msgs/msg.*; } # no subject is a prefix of another
wait_delivered() { # SUBJECT SECS LOG
	wait_for "$2" "$1 delivered" delivered "$1" >/dev/null ||
		fail "$1 was not delivered" "$3" "$TLS_LOG"
}
issued() { grep -c -- "$2" "$NR_TMP/auth.$1/issued.log" 2>/dev/null || true; }

# ---- client_credentials ----
CC_OPTS="oauth2=custom oauth2_grant=client_credentials oauth2_client_id=printer-app \
oauth2_client_secret_file=$NR_TMP/client.secret oauth2_scope=https://outlook.office365.com/.default \
oauth2_token_url=https://smarthost.test:$A_PORT_cc/token"
relay cc "$CC_OPTS"
send cc cc-first
wait_delivered cc-first 20 "$NR_TMP/cc.log"
expect_eq "one token request for the first send" 1 "$(issued cc 'client_credentials ok')"
tok=$(tail -n 1 "$TOKENS")
grep -qF "AUTH-DATA XOAUTH2 b'user=printer@example.com\\x01auth=Bearer $tok\\x01\\x01'" "$TLS_LOG" ||
	fail "the exact XOAUTH2 string was not sent" "$TLS_LOG"
pass "client_credentials: token fetched, exact XOAUTH2 string, delivered"
store=$NR_TMP/cc.state/oauth2-smarthost.test-$TLS_PORT.tokens
[ "$(stat -c %a "$store")" = 600 ] || fail "token store mode is $(stat -c %a "$store"), not 600"
pass "token store in state_dir, mode 600"

# A second send reuses the stored token (no new request).
send cc cc-second
wait_delivered cc-second 20 "$NR_TMP/cc.log"
expect_eq "the stored token is reused" 1 "$(issued cc 'client_credentials ok')"

# ---- expired: the smarthost stops accepting the stored token ----
# (a restart, so that no idle authenticated connection is reused)
relay_stop cc
: >"$TOKENS"
relay cc "$CC_OPTS"
send cc cc-expired
wait_delivered cc-expired 30 "$NR_TMP/cc.log"
grep -q "^.* S: 535 5.7.3 Authentication unsuccessful" "$TLS_LOG" || fail "no 535 was seen" "$TLS_LOG"
expect_eq "one new token after the 535" 2 "$(issued cc 'client_credentials ok')"
grep -q "refused the access token" "$NR_TMP/cc.log" || fail "the log does not say why" "$NR_TMP/cc.log"
pass "token refused mid-queue (334 JSON + 535 5.7.3): one refresh, one retry, delivered"

# ---- token endpoint 5xx, then slow ----
relay_stop cc
rm -f "$store"
echo 2 >"$NR_TMP/auth.cc/fail5xx"
relay cc "$CC_OPTS"
send cc cc-5xx
wait_delivered cc-5xx 40 "$NR_TMP/cc.log"
expect_eq "two 503 answers before the token" 2 "$(issued cc 'client_credentials 503')"
grep -q "OAuth2: token endpoint answered HTTP 503" "$NR_TMP/cc.log" ||
	fail "the 503 is not in the log" "$NR_TMP/cc.log"
pass "token endpoint 503: deferred, then delivered"
relay_stop cc

# ---- a slow token endpoint blocks nothing else ----
relay slow "oauth2=custom oauth2_grant=client_credentials oauth2_client_id=printer-app \
oauth2_client_secret_file=$NR_TMP/client.secret oauth2_scope=https://outlook.office365.com/.default \
oauth2_token_url=https://smarthost.test:$A_PORT_slow/token"
send slow slow-one # starts a token request that takes 4 s
t0=$(date +%s%N)
send slow slow-two # the LAN side answers meanwhile
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 2500 ] || fail "a message took $ms ms to queue while a token request was slow"
wait_delivered slow-one 30 "$NR_TMP/slow.log"
wait_delivered slow-two 30 "$NR_TMP/slow.log"
pass "a token endpoint answering in 4 s: the LAN side queued in $ms ms meanwhile; both delivered"
relay_stop slow

# ---- refresh_token with rotation, across a restart ----
RT_OPTS="oauth2=custom oauth2_grant=refresh_token oauth2_client_id=nas-app \
oauth2_scope=https://outlook.office.com/SMTP.Send,offline_access \
oauth2_token_url=https://smarthost.test:$A_PORT_rt/token"
rt0="rt-login-$RANDOM$RANDOM$RANDOM"
echo "$rt0" >"$NR_TMP/auth.rt/refresh"
mkdir -p "$NR_TMP/rt.state"
rtstore=$NR_TMP/rt.state/oauth2-smarthost.test-$TLS_PORT.tokens
printf 'refresh_token %s\n' "$rt0" >"$rtstore" # what `oauth2 login` leaves
chmod 600 "$rtstore"
relay rt "$RT_OPTS"
send rt rt-first
wait_delivered rt-first 20 "$NR_TMP/rt.log"
rt1=$(sed -n 's/^refresh_token //p' "$rtstore")
[ -n "$rt1" ] && [ "$rt1" != "$rt0" ] || fail "the rotated refresh token was not saved" "$rtstore"
grep -qxF "$rt1" "$NR_TMP/auth.rt/refresh" || fail "the saved refresh token is not the new one"
pass "refresh_token: delivered, the rotated refresh token saved at once"
relay_stop rt
: >"$TOKENS" # access tokens all expire: the restarted relay must refresh with rt1
sed -i 's/^access_token .*/access_token stale/' "$rtstore"
relay rt "$RT_OPTS"
send rt rt-restart
wait_delivered rt-restart 30 "$NR_TMP/rt.log"
expect_eq "the rotated token worked after the restart" 2 "$(issued rt 'refresh_token ok rotated')"
pass "rotation survives a restart"

# ---- revoked: invalid_grant defers and says what fixes it ----
relay_stop rt # no idle authenticated connection to reuse
touch "$NR_TMP/auth.rt/revoked"
: >"$TOKENS"
relay rt "$RT_OPTS"
send rt rt-revoked
wait_for 20 "invalid_grant in the log" grep -q "refused the refresh token (invalid_grant)" "$NR_TMP/rt.log" ||
	fail "no invalid_grant message" "$NR_TMP/rt.log"
grep -q "run: nanorelay oauth2 login" "$NR_TMP/rt.log" || fail "the fix is not named" "$NR_TMP/rt.log"
sleep 3
delivered rt-revoked && fail "delivered with a revoked grant?"
grep -qiE "bounce|undeliverable|expired" "$NR_TMP/rt.log" && fail "the message was bounced" "$NR_TMP/rt.log"
"$bin" -c "$NR_TMP/rt.conf" status >"$NR_TMP/status.out" 2>&1 || true
grep -q "refused the refresh token (invalid_grant); run: nanorelay oauth2 login" "$NR_TMP/status.out" ||
	fail "status does not say it" "$NR_TMP/status.out"
pass "invalid_grant: deferred, not bounced, the log and status say to run oauth2 login"
# The user logs in again (here: a new refresh token in the store): the hold lifts.
rm -f "$NR_TMP/auth.rt/revoked"
rt2="rt-relogin-$RANDOM$RANDOM$RANDOM"
echo "$rt2" >>"$NR_TMP/auth.rt/refresh"
printf 'refresh_token %s\n' "$rt2" >"$rtstore.new" && mv "$rtstore.new" "$rtstore"
wait_delivered rt-revoked 30 "$NR_TMP/rt.log"
pass "a new login (a new store) lifts the hold without flush"
relay_stop rt

# ---- `nanorelay oauth2 login` against the fake device endpoint ----
"$bin" oauth2 --help >"$NR_TMP/help.out" 2>&1 || fail "oauth2 --help failed" "$NR_TMP/help.out"
grep -q "usage: nanorelay \[-c FILE\] oauth2 login SMARTHOST" "$NR_TMP/help.out" ||
	fail "oauth2 --help does not document login" "$NR_TMP/help.out"
pass "nanorelay oauth2 --help documents the login"
R_PORT[dev]=$(free_port)
cat >"$NR_TMP/dev.conf" <<CONF
listen 127.0.0.1:${R_PORT[dev]} tls=none
queue ram size=256K
state_dir $NR_TMP/dev.state
smarthost smarthost.test:$TLS_PORT tls=implicit user=printer@example.com oauth2=custom oauth2_grant=refresh_token oauth2_client_id=nas-app oauth2_scope=https://outlook.office.com/SMTP.Send,offline_access oauth2_token_url=https://smarthost.test:$A_PORT_dev/token oauth2_device_url=https://smarthost.test:$A_PORT_dev/device
ca_file $CA_CERT
dns_server 127.0.0.1:$DNS_PORT
log stderr
CONF
mkdir -p "$NR_TMP/dev.state"
"$bin" -c "$NR_TMP/dev.conf" oauth2 login smarthost.test >"$NR_TMP/login.out" 2>&1 &
LOGIN_PID=$!
wait_for 10 "the code is shown" grep -q "ABCD-EFGH" "$NR_TMP/login.out" ||
	fail "login did not show the code" "$NR_TMP/login.out"
grep -q "https://127.0.0.1/devicelogin" "$NR_TMP/login.out" || fail "login did not show the URL" "$NR_TMP/login.out"
wait_for 20 "slow_down answered" grep -q "device slow_down" "$NR_TMP/auth.dev/issued.log" ||
	fail "the login did not poll through pending and slow_down" "$NR_TMP/auth.dev/issued.log"
touch "$NR_TMP/auth.dev/approved" # the user signs in on another device
wait_for 30 "login finished" nr__pid_gone "$LOGIN_PID" || fail "login did not finish" "$NR_TMP/login.out"
wait "$LOGIN_PID" || fail "login failed (exit $?)" "$NR_TMP/login.out" "$NR_TMP/auth.dev/issued.log"
devstore=$NR_TMP/dev.state/oauth2-smarthost.test-$TLS_PORT.tokens
rtd=$(sed -n 's/^refresh_token //p' "$devstore")
grep -qxF "$rtd" "$NR_TMP/auth.dev/refresh" || fail "the login did not store the issued refresh token" "$devstore"
[ "$(stat -c %a "$devstore")" = 600 ] || fail "login's store is not mode 600"
grep -q "AUTH" "$NR_TMP/login.out" || fail "the login did not end with a test login" "$NR_TMP/login.out"
grep -qF "$rtd" "$NR_TMP/login.out" && fail "the refresh token was printed"
pass "oauth2 login: code shown, pending and slow_down honoured, refresh token stored, test login passed"

# ---- `nanorelay oauth2 login` with the authorisation code and PKCE (the Gmail way) ----
rm -f "$devstore"
sed -i "s|oauth2_device_url=https://smarthost.test:$A_PORT_dev/device|oauth2_auth_url=https://smarthost.test:$A_PORT_dev/authorize|" "$NR_TMP/dev.conf"
mkfifo "$NR_TMP/paste"
"$bin" -c "$NR_TMP/dev.conf" oauth2 login smarthost.test <"$NR_TMP/paste" >"$NR_TMP/pkce.out" 2>&1 &
LOGIN_PID=$!
exec 7>"$NR_TMP/paste"
wait_for 10 "the address is shown" grep -q "paste it here" "$NR_TMP/pkce.out" ||
	fail "login did not ask for the address" "$NR_TMP/pkce.out"
url=$(grep -o "https://smarthost.test:$A_PORT_dev/authorize?[^ ]*" "$NR_TMP/pkce.out")
param() { sed -n "s/.*[?&]$1=\([^&]*\).*/\1/p" <<<"$url"; }
[ "$(param code_challenge_method)" = S256 ] || fail "no S256 challenge in $url"
[ "$(param redirect_uri)" = "http%3A%2F%2F127.0.0.1%3A1%2F" ] || fail "unexpected redirect_uri in $url"
# What the browser sign-in does: the provider keeps the challenge, hands out a code.
param code_challenge >"$NR_TMP/auth.dev/challenge"
echo "code-$RANDOM$RANDOM" >"$NR_TMP/auth.dev/authcode"
echo "http://127.0.0.1:1/?state=$(param state)&code=$(cat "$NR_TMP/auth.dev/authcode")&scope=x" >&7
exec 7>&-
wait_for 30 "login finished" nr__pid_gone "$LOGIN_PID" || fail "login did not finish" "$NR_TMP/pkce.out"
wait "$LOGIN_PID" || fail "PKCE login failed (exit $?)" "$NR_TMP/pkce.out" "$NR_TMP/auth.dev/issued.log"
grep -q "authorization_code ok" "$NR_TMP/auth.dev/issued.log" || fail "the code was not redeemed with its verifier"
rtp=$(sed -n 's/^refresh_token //p' "$devstore")
grep -qxF "$rtp" "$NR_TMP/auth.dev/refresh" || fail "the PKCE login did not store the refresh token" "$devstore"
pass "oauth2 login with the code and PKCE: the verifier matches the challenge, refresh token stored"

# ---- no secret in the capture ----
if [ -n "$CAP" ]; then
	sleep 1
	nr_stop_pid "$CAP_PID" 5
	tshark -r "$CAP" -T fields -e tcp.payload >"$NR_TMP/payloads" 2>"$NR_TMP/tshark.err" ||
		fail "tshark cannot read the capture" "$NR_TMP/tshark.err"
	expect_match "the capture holds the exchanges" "^[0-9]{3,}$" "$(grep -c . "$NR_TMP/payloads")"
	"$NR_PY" - "$NR_TMP/payloads" "$SECRET" $(cat "$NR_TMP"/auth.*/refresh "$TOKENS") "$rt0" "$rt1" "$rt2" "$rtd" "$rtp" <<'PY' ||
import sys
data = b"".join(bytes.fromhex(l.strip().replace(":", "")) for l in open(sys.argv[1]) if l.strip())
bad = [s for s in sys.argv[2:] if s and s.encode() in data]
# control: the fake servers' plaintext would carry the words below; TLS hides them
bad += [w for w in ("client_secret", "refresh_token", "Bearer") if w.encode() in data]
sys.exit(1 if bad else 0)
PY
		fail "a secret, a token or a form field name in clear in the capture"
	pass "no client secret, token or form field in clear in the capture of the token exchanges"
fi

# ---- no secret in any log ----
for f in "$NR_TMP"/cc.log "$NR_TMP"/rt.log "$NR_TMP"/login.out "$NR_TMP"/pkce.out; do
	grep -qF -- "$SECRET" "$f" && fail "client secret in $f"
	while read -r t; do [ -n "$t" ] && grep -qF -- "$t" "$f" && fail "a token in $f"; done \
		< <(cat "$NR_TMP"/auth.*/refresh "$TOKENS"; echo "$rt0"; echo "$rt1"; echo "$rt2"; echo "$rtd"; echo "$rtp")
done
grep -h "at-\|rt-" "$NR_TMP"/cc.log "$NR_TMP"/rt.log "$NR_TMP"/login.out "$NR_TMP"/pkce.out | grep -E "(at|rt)-[A-Za-z0-9_-]{20}" &&
	fail "something token-shaped in a log"
pass "no client secret, access token or refresh token in the relay logs (debug level)"
nr_done
