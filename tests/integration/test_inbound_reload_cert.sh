#!/usr/bin/env bash
# SIGHUP and the LAN certificate (a renewal in place, as acme.sh does):
#   - new connections get the renewed certificate (compared by fingerprint
#     with openssl s_client);
#   - a TLS session opened before the reload keeps working on the old one
#     (without the context's reference count it dies: the ASan build
#     reports the use after free);
#   - a reload with the files unchanged loads nothing;
#   - a broken renewal (a key that does not match) is reported and the
#     certificate in use stays.
. "$(dirname "$0")/lib/ca.sh"
nr_require openssl
bin="$NR_BUILD/nanorelay"
ca_make_all
port=$(free_port)
lan_crt=$NR_TMP/lan.crt lan_key=$NR_TMP/lan.key
install_cert() { # CRT KEY: replace the files the way a renewal does (rename)
	cp "$1" "$lan_crt.new" && cp "$2" "$lan_key.new" && mv "$lan_key.new" "$lan_key" &&
		mv "$lan_crt.new" "$lan_crt"
}
install_cert "$CA_DIR/good.crt" "$CA_DIR/good.key"
cat >"$NR_TMP/relay.conf" <<CONF
listen 127.0.0.1:$port tls=implicit
allow 127.0.0.0/8
hostname relay.test
queue ram size=1M
state_dir $NR_TMP/state
lan_cert $lan_crt
lan_key $lan_key
log stderr level=info
CONF
nr_spawn pid "$NR_TMP/log" "$bin" -c "$NR_TMP/relay.conf" --foreground
wait_port "$port" 10 || fail "nanorelay did not listen" "$NR_TMP/log"

file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
served_fp() {
	openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
count() { grep -cE -- "$1" "$NR_TMP/log" || true; }
reloads_ge() { [ "$(count 'configuration reloaded')" -ge "$1" ]; }

expect_eq "at start the configured certificate is served" "$(file_fp "$CA_DIR/good.crt")" "$(served_fp)"

# A TLS session held open across the reload (implicit TLS, after EHLO).
"$NR_PY" "$(dirname "$0")/lib/session_across_reload.py" "$port" "$NR_TMP/in-session" \
	"$NR_TMP/reloaded" tls >"$NR_TMP/held.out" 2>&1 &
held=$!
wait_for 10 "the held session" test -e "$NR_TMP/in-session" || fail "held session did not start" "$NR_TMP/held.out"

# 1. Renewal in place.
install_cert "$CA_DIR/wrongname.crt" "$CA_DIR/wrongname.key"
kill -HUP "$pid"
wait_for 10 "reload 1" reloads_ge 1 || fail "reload 1 not done" "$NR_TMP/log"
check "the reload says it loaded the renewed certificate" grep -q "reload: LAN certificate loaded from $lan_crt" "$NR_TMP/log"
expect_eq "new connections get the renewed certificate" "$(file_fp "$CA_DIR/wrongname.crt")" "$(served_fp)"
: >"$NR_TMP/reloaded"
wait "$held"
check "the session opened before the reload goes on in TLS" grep -q "session survived the reload" "$NR_TMP/held.out"

# 2. A reload with nothing changed loads nothing.
kill -HUP "$pid"
wait_for 10 "reload 2" reloads_ge 2 || fail "reload 2 not done" "$NR_TMP/log"
expect_eq "an unchanged certificate is not loaded again" 1 "$(count 'reload: LAN certificate loaded')"

# 3. A broken renewal: the key does not belong to the certificate.
install_cert "$CA_DIR/good.crt" "$CA_DIR/selfsigned.key"
kill -HUP "$pid"
wait_for 10 "reload 3" reloads_ge 3 || fail "reload 3 not done" "$NR_TMP/log"
check "a broken renewal is reported" grep -q "reload: the LAN certificate $lan_crt / $lan_key cannot be loaded; the one in use stays" "$NR_TMP/log"
expect_eq "...and the certificate in use stays" "$(file_fp "$CA_DIR/wrongname.crt")" "$(served_fp)"
check_not "no sanitizer report" grep -q "Sanitizer" "$NR_TMP/log"
nr_stop_pid "$pid"
check_not "no sanitizer report at exit" grep -q "Sanitizer" "$NR_TMP/log"
nr_done
