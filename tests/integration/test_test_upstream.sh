#!/usr/bin/env bash
# `nanorelay test-upstream` against a real Postfix smarthost (STARTTLS on the
# 587-style port, implicit TLS on the 465-style port, Cyrus SASL), the test
# CA's good and bad certificates, and dnsmasq: each failure from the delivery
# issue gives a non-zero exit and a diagnosis naming the cause and the fix;
# the good case passes every step and sends no mail.
. "$(dirname "$0")/lib/postfix.sh"
. "$(dirname "$0")/lib/dns.sh"
nr_require postfix dnsmasq
[ "$(id -u)" = 0 ] || nr_skip "the private Postfix needs root"
bin="$NR_BUILD/nanorelay"
ca_make_all
dns_start
pf_start || fail "postfix" "${PF_LOG:-}"
printf '%s\n' "$PF_PASS" >"$NR_TMP/good.pw"
printf '%s\n' 'not-the-password' >"$NR_TMP/bad.pw"
chmod 600 "$NR_TMP/good.pw" "$NR_TMP/bad.pw"

# probe NAME SMARTHOST-LINE [EXTRA-ARGS]: run test-upstream, keep output
# in $NR_TMP/NAME.out and the exit code in $RC.
probe() {
	local name=$1 line=$2
	shift 2
	cat >"$NR_TMP/$name.conf" <<CONF
listen 127.0.0.1:$(free_port)
queue ram size=256K
state_dir $NR_TMP/state
smarthost $line
ca_file $PF_CA
dns_server 127.0.0.1:${PROBE_DNS_PORT:-$DNS_PORT}
log stderr
CONF
	RC=0
	timeout 60 ${PROBE_WRAP[@]+"${PROBE_WRAP[@]}"} "$bin" -c "$NR_TMP/$name.conf" test-upstream "$@" >"$NR_TMP/$name.out" \
		2>"$NR_TMP/$name.err" || RC=$?
	sed "s/^/# $name| /" "$NR_TMP/$name.out"
}
out_has() { grep -qF -- "$2" "$NR_TMP/$1.out"; }
expect_fail() { # NAME STEP
	expect_eq "$1: exit code 69" 69 "$RC"
	check "$1: fails at $2" out_has "$1" "result    FAILED at $2"
}

auth="user=$PF_USER password_file=$NR_TMP/good.pw"

# 1. Everything right: STARTTLS (587 style) and implicit (465 style).
before=$(pf_count)
probe ok587 "$PF_HOST:$PF_PORT_SUBMIT tls=starttls $auth"
expect_eq "starttls: exit 0" 0 "$RC"
check "starttls: DNS step lists the addresses" out_has ok587 "DNS       smarthost.test -> "
check "starttls: connected" grep -Eq "TCP +(127.0.0.1|::1) port $PF_PORT_SUBMIT: connected" "$NR_TMP/ok587.out"
check "starttls: greeting shown" out_has ok587 "greeting  220 "
check "starttls: STARTTLS offered in clear" grep -Eq "EHLO +in clear:.* STARTTLS" "$NR_TMP/ok587.out"
check "starttls: TLS version and cipher" grep -Eq "TLS +TLSv1\.[23], " "$NR_TMP/ok587.out"
check "starttls: certificate subject" grep -Eq "cert +subject .*CN=smarthost.test" "$NR_TMP/ok587.out"
check "starttls: certificate issuer and expiry" grep -Eq "issuer +.*CN=.+" "$NR_TMP/ok587.out"
check "starttls: expiry date" grep -Eq "expires [0-9]{4}-[0-9]{2}-[0-9]{2}" "$NR_TMP/ok587.out"
check "starttls: mechanisms after TLS" grep -Eq "AUTH +offered: .*PLAIN" "$NR_TMP/ok587.out"
check "starttls: AUTH accepted" grep -Eq "AUTH +PLAIN as $PF_USER: accepted \(235" "$NR_TMP/ok587.out"
check "starttls: verdict OK" out_has ok587 "result    OK: "
probe ok465 "$PF_HOST:$PF_PORT_SMTPS tls=implicit $auth"
expect_eq "implicit: exit 0" 0 "$RC"
check "implicit: TLS first, then the greeting" grep -Eq "TLS +TLSv1" "$NR_TMP/ok465.out"
check "implicit: AUTH accepted" grep -Eq "AUTH +.* accepted" "$NR_TMP/ok465.out"
check_not "no MAIL command reached Postfix" pf_log_grep "from=<"
wait_for 5 "Postfix logged the sessions" pf_log_grep "disconnect from .* quit=1" || true
check "Postfix saw EHLO, STARTTLS, EHLO, AUTH, QUIT and nothing else" pf_log_grep "disconnect from .* ehlo=2 starttls=1 auth=1 quit=1 commands=5$"
check "implicit TLS session: EHLO, AUTH, QUIT" pf_log_grep "disconnect from .* ehlo=1 auth=1 quit=1 commands=3$"
expect_eq "nothing delivered" "$before" "$(pf_count)"

# A box whose clock was never set (faketime at 2015): no verification is
# possible, so nothing is tried and the fix says why.
if command -v faketime >/dev/null; then
	PROBE_WRAP=(env FAKETIME_DONT_FAKE_MONOTONIC=1
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
		faketime '2015-01-01 00:00:00')
	probe clock "$PF_HOST:$PF_PORT_SMTPS tls=implicit $auth"
	PROBE_WRAP=()
	expect_fail clock TLS
	check "unset clock: cause" out_has clock "certificate refused: wall clock not set"
	check "unset clock: fix" out_has clock "the box's clock is not set: certificates cannot be checked; enable NTP"
fi

# 2. Wrong TLS mode for the port.
probe implicit_on_587 "$PF_HOST:$PF_PORT_SUBMIT tls=implicit $auth"
expect_fail implicit_on_587 TLS
check "implicit on a STARTTLS port: fix says tls=starttls" out_has implicit_on_587 "port $PF_PORT_SUBMIT needs tls=starttls"
probe starttls_on_465 "$PF_HOST:$PF_PORT_SMTPS tls=starttls $auth" --timeout 3
expect_fail starttls_on_465 greeting
check "STARTTLS on an implicit port: no greeting in clear" out_has starttls_on_465 "no greeting in clear"
check "STARTTLS on an implicit port: fix says tls=implicit" out_has starttls_on_465 "needs tls=implicit"

# 3. Bad password: 535 and the fix; the Gmail hint only for a Gmail-like name.
probe badpw "$PF_HOST:$PF_PORT_SUBMIT tls=starttls user=$PF_USER password_file=$NR_TMP/bad.pw"
expect_fail badpw AUTH
check "bad password: the 535 is shown" grep -Eq "AUTH +PLAIN as $PF_USER: refused: 535" "$NR_TMP/badpw.out"
check "bad password: fix names the password file" out_has badpw "refused the user name or password: check user=$PF_USER and the one line in $NR_TMP/bad.pw"
check_not "bad password: no Gmail hint for another provider" out_has badpw "app password"
dns_set_host smtp.gmail.test 127.0.0.1
probe othername "smtp.gmail.test:$PF_PORT_SUBMIT tls=starttls $auth"
expect_fail othername TLS # Postfix's certificate is for smarthost.test
check "another name: fix names the certificate's name" out_has othername "set the smarthost name to smarthost.test"

# 4. Bad certificates (a real Postfix presenting each).
for kind in wrongname expired untrusted selfsigned; do
	pf_down
	PF_CERT=$CA_DIR/$kind.crt PF_KEY=$CA_DIR/$kind.key pf_start "$kind" || fail "postfix $kind"
	probe "$kind" "$PF_HOST:$PF_PORT_SUBMIT tls=starttls $auth"
	expect_fail "$kind" TLS
done
check "wrong name: cause" out_has wrongname "certificate refused: hostname does not match smarthost.test"
check "wrong name: the certificate's names are shown" grep -Eq "names +wrong.test" "$NR_TMP/wrongname.out"
check "wrong name: fix" out_has wrongname "the server's certificate is for wrong.test; set the smarthost name to wrong.test"
check "expired: cause" out_has expired "certificate refused: certificate has expired"
check "expired: fix says renew, with the date" grep -Eq "expired on [0-9]{4}-[0-9]{2}-[0-9]{2}: its operator must renew it" "$NR_TMP/expired.out"
check "untrusted: cause" out_has untrusted "CN=Untrusted Test CA not sent by the server and not trusted"
check "untrusted: fix names the issuer and ca_file" grep -Eq "issuer \(O=somebody else, CN=Untrusted Test CA\) is not in $PF_CA: .*set ca_file" "$NR_TMP/untrusted.out"
check "self-signed: cause" out_has selfsigned "certificate refused: issuer not trusted (self-signed or unknown CA)"
check "self-signed: fix names ca_file" out_has selfsigned "is self-signed or from a CA not in $PF_CA: set ca_file"
check_not "no AUTH attempted after a refused certificate" grep -Eq "AUTH +(PLAIN|LOGIN)" "$NR_TMP/wrongname.out" "$NR_TMP/expired.out" "$NR_TMP/untrusted.out" "$NR_TMP/selfsigned.out"

# 5. DNS: NXDOMAIN, then a port where nothing listens.
probe nxdomain "nosuch.test:587 tls=starttls $auth"
expect_fail nxdomain DNS
check "NXDOMAIN: cause" out_has nxdomain "nosuch.test: name not found"
check "NXDOMAIN: fix" out_has nxdomain "DNS: name not found — check the spelling of nosuch.test"
PROBE_DNS_PORT=$DNS_TIMEOUT_PORT probe dnstimeout "$PF_HOST:587 tls=starttls $auth"
expect_fail dnstimeout DNS
check "DNS timeout: cause" out_has dnstimeout "no answer from the DNS server (timed out)"
check "DNS timeout: fix" out_has dnstimeout "the resolver did not answer — check dns_server"
probe refused "127.0.0.1:$(free_port) tls=starttls $auth"
expect_fail refused TCP
check "refused: cause and fix" out_has refused "nothing listens on 127.0.0.1 port"

# 6. Gmail: a bad password on a Gmail-like name gets the app-password hint
#    (a certificate valid for that name, from the test CA).
ca_leaf gmail root "DNS:smtp.gmail.test"
pf_down
PF_PLAIN=1 PF_CERT=$CA_DIR/gmail.crt PF_KEY=$CA_DIR/gmail.key pf_start gmailpf || fail "postfix gmail"
probe gmail535 "smtp.gmail.test:$PF_PORT_SUBMIT tls=starttls user=$PF_USER password_file=$NR_TMP/bad.pw"
expect_fail gmail535 AUTH
check "gmail 535: app password hint" out_has gmail535 "Gmail needs an app password for accounts with 2-step verification"

# 7. A plain-only port with tls=starttls: STARTTLS missing, never clear text.
probe nostarttls "smtp.gmail.test:$PF_PORT_PLAIN tls=starttls $auth"
expect_fail nostarttls STARTTLS
check "no STARTTLS: said so" out_has nostarttls "not offered: nanorelay never continues in clear"
check "no STARTTLS: fix" out_has nostarttls "does not offer STARTTLS on port $PF_PORT_PLAIN: use its port 587 (tls=starttls) or 465 (tls=implicit)"
check_not "no STARTTLS: no AUTH in clear" grep -Eq "AUTH +(PLAIN|LOGIN)" "$NR_TMP/nostarttls.out"

# 8. Two smarthosts: each is walked, one failure makes the exit non-zero.
probe two "smtp.gmail.test:$PF_PORT_SUBMIT tls=starttls $auth
smarthost nosuch.test:587 tls=starttls $auth"
expect_eq "two smarthosts, one bad: exit 69" 69 "$RC"
expect_eq "two smarthosts: two verdicts" 2 "$(grep -c '^  result ' "$NR_TMP/two.out")"
check "two smarthosts: the first passed" out_has two "result    OK: smtp.gmail.test:$PF_PORT_SUBMIT"
check "two smarthosts: the second failed at DNS" out_has two "result    FAILED at DNS"

# Secrets: never printed, also with -v (debug log on stderr).
probe verbose "smtp.gmail.test:$PF_PORT_SUBMIT tls=starttls $auth" -v
expect_eq "verbose: exit 0" 0 "$RC"
check "verbose: debug lines on stderr" grep -q "smtpc" "$NR_TMP/verbose.err"
# Our own side: a CA file that is not there.
probe noca "$PF_HOST:$PF_PORT_SUBMIT tls=starttls $auth"
sed -i "s|^ca_file .*|ca_file $NR_TMP/missing-ca.pem|" "$NR_TMP/noca.conf"
RC=0
"$bin" -c "$NR_TMP/noca.conf" test-upstream >"$NR_TMP/noca.out" 2>"$NR_TMP/noca.err" || RC=$?
expect_fail noca setup
check "missing CA file: cause names it" out_has noca "load the CA file $NR_TMP/missing-ca.pem: not found"
check "missing CA file: fix" out_has noca "set ca_file to a readable PEM file"

# Usage and configuration errors.
cat >"$NR_TMP/none.conf" <<CONF
listen 127.0.0.1:$(free_port)
queue ram size=256K
state_dir $NR_TMP/state
CONF
RC=0
"$bin" -c "$NR_TMP/none.conf" test-upstream >"$NR_TMP/none.out" 2>&1 || RC=$?
expect_eq "no smarthost: exit 78" 78 "$RC"
check "no smarthost: says what to add" grep -q "no smarthost is configured: add a" "$NR_TMP/none.out"
RC=0
"$bin" -c "$NR_TMP/none.conf" test-upstream --bogus >"$NR_TMP/usage.out" 2>&1 || RC=$?
expect_eq "unknown option: exit 64" 64 "$RC"
check_not "no sanitizer report" grep -lE "AddressSanitizer|LeakSanitizer|runtime error" $NR_TMP/*.err
b64=$(printf '\0%s\0%s' "$PF_USER" "$PF_PASS" | base64 -w0)
check_not "no password or AUTH payload in any output" grep -rqF -e "$PF_PASS" -e "$b64" -e "not-the-password" $NR_TMP/*.out $NR_TMP/*.err
nr_done
