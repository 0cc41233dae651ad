#!/usr/bin/env bash
# --check-config catches what start-up fails on (issue 21, the new-user
# trial's stumble 12): each mistake gets exit 78 and one exact
# "FILE:LINE: key: what; the fix" line, and the daemon started on the same
# file stops with the same line (exit 78), not with a wrong cause later.
# Also: "did you mean", the dedicated user's secrets (0640 root:<its group>
# is fine, 0600 root is unreadable for it), and a queue on a read-only file
# system (a tmpfs mounted read-only in a private mount namespace).
. "$(dirname "$0")/lib/common.sh"
[ "$(id -u)" = 0 ] || nr_skip "the user checks need root"
id nobody >/dev/null 2>&1 || nr_skip "no user nobody"
bin="$NR_BUILD/nanorelay"
chmod 0755 "$NR_TMP"
conf="$NR_TMP/c.conf"
port=$(free_port)
nogroup=$(id -gn nobody)

# base + extra lines; the extra lines start at line 5
write() {
	{
		echo "listen 127.0.0.1:$port"
		echo "queue ram size=1M"
		echo "state_dir $NR_TMP/state"
		echo "log stderr level=info"
		printf '%s\n' "$@"
	} >"$conf"
}
# check-config must fail with exactly WANT (stdout+stderr, warnings aside)
refused() { # DESC WANT
	local out rc=0
	out=$("$bin" -c "$conf" --check-config 2>&1) || rc=$?
	expect_eq "$1: exit 78" 78 "$rc"
	expect_eq "$1: the line" "nanorelay: $2" "$(printf '%s\n' "$out" | grep -v ': warning: ')"
}
# and the daemon, started on it, stops at once with the same line and 78
start_refused() { # DESC WANT
	local rc=0
	timeout 10 "$bin" -c "$conf" --foreground 2>"$NR_TMP/start.log" || rc=$?
	expect_eq "$1 at start: exit 78" 78 "$rc"
	check "$1 at start: the log has the same line" grep -qF -- "$2" "$NR_TMP/start.log"
	check_not "$1 at start: and no other cause (state_dir, listeners)" grep -Eq "state_dir $NR_TMP|cannot listen|LAN TLS: cannot load" "$NR_TMP/start.log"
}
passes() { # DESC
	local out rc=0
	out=$("$bin" -c "$conf" --check-config 2>&1) || rc=$?
	expect_eq "$1: exit 0" 0 "$rc"
	expect_eq "$1: no warning" "$conf: configuration ok" "$out"
}

# ---- an unknown user ----
write "user nanorelay-no-such-user"
want="$conf:5: user: no such user \"nanorelay-no-such-user\"; create it (useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin nanorelay-no-such-user) or name an existing one"
refused "unknown user" "$want"
start_refused "unknown user" "$want"

# ---- a missing ca_file ----
write "smarthost 127.0.0.1:2526 tls=starttls" "ca_file $NR_TMP/no-ca.pem"
refused "missing ca_file" \
	"$conf:6: ca_file: $NR_TMP/no-ca.pem: not found; fix the path, or remove the line to use the system's CA certificates"

# ---- an explicit lan_cert that does not exist ----
write "lan_cert $NR_TMP/lan.crt" "lan_key $NR_TMP/lan.key"
sed -i "1s/.*/listen 127.0.0.1:$port tls=starttls/" "$conf"
want="$conf:5: lan_cert: $NR_TMP/lan.crt: not found; fix the path, or remove lan_cert and lan_key to have a certificate generated in state_dir"
refused "missing lan_cert" "$want"
start_refused "missing lan_cert" "$want"
check "no certificate was generated in its place" test ! -e "$NR_TMP/state/lan.crt"

# ---- allow with a netmask, allow with commas ----
write "allow 192.168.1.0 255.255.255.0"
refused "allow with a netmask" \
	"$conf:5: allow: 255.255.255.0 is a netmask; write 192.168.1.0/24 (one network per value)"
write "allow 192.168.1.0/24,10.0.0.0/8"
refused "allow with commas" \
	"$conf:5: allow: \"192.168.1.0/24,10.0.0.0/8\": separate networks with blanks, not commas (allow 192.168.1.0/24 10.0.0.0/8)"

# ---- an IPv4 network on a v6-only listener ----
write "listen [::1]:$port tls=starttls legacy_tls=192.168.1.0/24"
refused "IPv4 network on an IPv6 listener" \
	"$conf:5: listen: legacy_tls=192.168.1.0/24 is an IPv4 network, but an IPv6 listener takes only IPv6 clients; put it on an IPv4 listener (listen 0.0.0.0:$port legacy_tls=...)"

# ---- a listen address that is not on this machine ----
write "listen 192.0.2.77:$port"
want="$conf:5: listen: 192.0.2.77 is not an address of this machine; use one of its addresses, or 0.0.0.0 to listen on all of them"
refused "listen address not on this machine" "$want"
start_refused "listen address not on this machine" "$want"

# ---- a typo ----
write "smarthots mail.example"
refused "a typo" "$conf:5: unknown key \"smarthots\"; did you mean smarthost?"

# ---- the dedicated user's secrets ----
printf 'secret\n' >"$NR_TMP/pass"
chown root:root "$NR_TMP/pass"
chmod 0600 "$NR_TMP/pass"
write "user nobody" "smarthost 127.0.0.1:2526 tls=none insecure=yes user=me password_file=$NR_TMP/pass"
refused "password_file that user cannot read" \
	"$conf:6: smarthost: password_file $NR_TMP/pass cannot be read by user nobody, whom the daemon runs as; chgrp nobody $NR_TMP/pass && chmod 640 $NR_TMP/pass"
chgrp "$nogroup" "$NR_TMP/pass"
chmod 0640 "$NR_TMP/pass"
passes "password_file 0640 root:$nogroup with user nobody"
chmod 0644 "$NR_TMP/pass"
out=$("$bin" -c "$conf" --check-config 2>&1)
expect_match "a password_file readable by others is warned about, with the fix" \
	"warning: $conf:6: password_file $NR_TMP/pass is readable by users other than root and nobody; chgrp nobody and chmod 640 it" "$out"
printf 'u:x\n' >"$NR_TMP/users"
chmod 0600 "$NR_TMP/users"
chmod 0640 "$NR_TMP/pass"
write "user nobody" "users $NR_TMP/users"
refused "users file that user cannot read" \
	"$conf:6: users: the users file $NR_TMP/users cannot be read by user nobody, whom the daemon runs as; chgrp nobody $NR_TMP/users && chmod 640 $NR_TMP/users"
# nanorelay passwd leaves the file as the daemon can read it
printf 'pw one\n' | "$bin" -c "$conf" passwd camera 2>/dev/null
expect_eq "passwd with user nobody: the users file is root:$nogroup 0640" "root:$nogroup 640" \
	"$(stat -c '%U:%G %a' "$NR_TMP/users")"
passes "the users file after passwd"

# ---- a queue on a read-only file system ----
if command -v unshare >/dev/null && command -v mount >/dev/null && unshare -m true 2>/dev/null; then
	mkdir "$NR_TMP/ro"
	write "queue file:$NR_TMP/ro/spool/queue size=1M"
	sed -i '2d' "$conf" # the ram queue; the file queue is now line 4
	out=$(unshare -m sh -c "mount -t tmpfs -o ro tmpfs '$NR_TMP/ro' && '$bin' -c '$conf' --check-config" 2>&1)
	rc=$?
	expect_eq "queue on a read-only file system: exit 78" 78 "$rc"
	expect_eq "queue on a read-only file system: the line" \
		"nanorelay: $conf:4: queue: $NR_TMP/ro/spool/queue is on a read-only file system; put the queue on a writable one, like file:/var/spool/nanorelay/queue" \
		"$out"
else
	echo "# no private mount namespace here: the read-only queue case is not run"
fi

# ---- and a good file passes, without a word ----
write "user nobody"
passes "a good file"

nr_done
