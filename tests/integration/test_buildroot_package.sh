#!/usr/bin/env bash
# packaging/buildroot/package/nanorelay: the rules of Buildroot's
# utils/check-package that apply to these files, checked here without
# Buildroot's code (see README "Buildroot" for the full check-package run),
# and the S50nanorelay init script run as BusyBox init runs it, with BusyBox's
# start-stop-daemon and with Debian's: start, a message accepted, reload,
# stop, a bad configuration refused.
. "$(dirname "$0")/lib/common.sh"
nr_require swaks start-stop-daemon
pkg="$NR_SRC/packaging/buildroot/package/nanorelay"
mk="$pkg/nanorelay.mk"
cfg="$pkg/Config.in"
s50="$pkg/S50nanorelay"
bin="$NR_BUILD/nanorelay"

no_lines() { # description, grep -E pattern, file: no line matches
	local hits
	hits=$(grep -nE -- "$2" "$3" || true)
	[ -z "$hits" ] && pass "$1" || fail "$1: $(basename "$3"): $hits"
}

# ---- nanorelay.mk (checkpackagelib/lib_mk.py)
hash80=$(printf '#%.0s' $(seq 80))
expect_eq ".mk: the package header (PackageHeader)" "$hash80
#
# nanorelay
#
$hash80
" "$(head -6 "$mk")
"
# TypoInPackageVariable: every variable set and every define is NANORELAY_*
bad=$(grep -oE '^(define +)?[A-Z0-9_]+ *(\+|:|\?)?=?' "$mk" | sed -E 's/^define +//; s/ *(\+|:|\?)?=?$//' |
	grep -vE '^NANORELAY_' || true)
expect_eq ".mk: every variable is prefixed NANORELAY_ (TypoInPackageVariable)" "" "$bad"
no_lines ".mk: no trailing blank (TrailingSpace)" '[[:blank:]]$' "$mk"
no_lines ".mk: one space before a backslash (SpaceBeforeBackslash)" '(  |	 ?)\\$' "$mk"
no_lines ".mk: no ifdef/ifndef (Ifdef)" '^[[:space:]]*(else[[:space:]]+)?(ifdef|ifndef)[[:space:]]' "$mk"
no_lines ".mk: no \${VAR} (VariableWithBraces)" '^[^#].*[^$]\$\{[A-Za-z_]+\}' "$mk"
# Indent: the body of a define and continuation lines start with one tab
bad=$(awk '/^define /{d=1; next} /^endef/{d=0; next}
	(d || prev ~ /\\$/) && $0 != "" && $0 !~ /^\t[^ \t]/ && $0 !~ /^\t\t/ {print FNR": "$0}
	{prev=$0}' "$mk")
expect_eq ".mk: define bodies and continued lines indented with tabs (Indent)" "" "$bad"
check ".mk: a cmake-package" grep -qx '$(eval $(cmake-package))' "$mk"
check ".mk: builds without the tests" grep -q -- '-DNR_TESTS=OFF' "$mk"
for d in $(sed -n 's/^NANORELAY_DEFCONFIG = //p' "$mk"); do
	check ".mk: $d exists in configs/" test -f "$NR_SRC/configs/$d"
done
no_lines ".mk: no download, so no .hash file needed (local site method)" '^NANORELAY_SITE_METHOD = (git|wget|http)' "$mk"

# ---- Config.in (checkpackagelib/lib_config.py)
no_lines "Config.in: attributes indented with one tab (Indent)" \
	'^( +|		+)(bool|string|depends|select|default|prompt|help)\b' "$cfg"
bad=$(awk '/^\thelp$/{h=1; first=1; next} /^[^\t]/ {h=0}
	h && $0 != "" { if ($0 !~ /^\t  / || length($0) > 65 || (first && $0 ~ /^\t   /)) print FNR": "$0; first=0 }' "$cfg")
expect_eq "Config.in: help text is tab + 2 spaces, at most 62 columns (HelpText)" "" "$bad"
no_lines "Config.in: no 'default n' (NoDefaultN)" '^	default n$' "$cfg"
bad=$(sed -nE 's/^[[:space:]]*(menu)?config[[:space:]]+//p' "$cfg" | grep -vE '^BR2_PACKAGE_NANORELAY(_[A-Z0-9_]+)?$' || true)
expect_eq "Config.in: every symbol is BR2_PACKAGE_NANORELAY*" "" "$bad"
expect_eq "Config.in: no symbol defined twice (RedefinedConfig)" "" \
	"$(sed -nE 's/^[[:space:]]*(menu)?config[[:space:]]+//p' "$cfg" | sort | uniq -d)"
check "Config.in: selects mbedTLS" grep -qx '	select BR2_PACKAGE_MBEDTLS' "$cfg"
check "Config.in: selects c-ares" grep -qx '	select BR2_PACKAGE_C_ARES' "$cfg"
expect_eq "Config.in: a choice of the linux and busybox defconfigs" \
	"BR2_PACKAGE_NANORELAY_DEFCONFIG_BUSYBOX BR2_PACKAGE_NANORELAY_DEFCONFIG_LINUX" \
	"$(sed -n '/^choice/,/^endchoice/s/^config //p' "$cfg" | sort | tr '\n' ' ' | sed 's/ $//')"
for f in "$mk" "$cfg" "$s50"; do
	check "$(basename "$f"): ends with one newline (NewlineAtEof, EmptyLastLine)" \
		sh -c "[ \"\$(tail -c1 '$f' | od -An -c | tr -d ' ')\" = '\\n' ] && [ -n \"\$(tail -n1 '$f')\" ]"
	no_lines "$(basename "$f"): no two empty lines in a row (ConsecutiveEmptyLines)" '^$' \
		<(awk 'prev == "" && $0 == "" && NR > 1 {print ""} {prev=$0}' "$f")
done

# ---- S50nanorelay (checkpackagelib/lib_sysv.py)
check "S50: DAEMON without a path (Variables)" grep -qx 'DAEMON="nanorelay"' "$s50"
check "S50: PIDFILE under /var/run named after DAEMON (Variables)" grep -qx 'PIDFILE="/var/run/$DAEMON.pid"' "$s50"
no_lines "S50: indented with tabs (Indent)" '^	* ' "$s50"
no_lines "S50: no trailing blank (TrailingSpace)" '[[:blank:]]$' "$s50"
if git -C "$NR_SRC" ls-files --error-unmatch "$s50" >/dev/null 2>&1; then
	expect_eq "S50: not executable in the tree; the .mk installs it 0755 (NotExecutable)" 100644 \
		"$(git -C "$NR_SRC" ls-files -s "$s50" | cut -d' ' -f1)"
fi
if command -v shellcheck >/dev/null; then
	check "S50: shellcheck is clean (Shellcheck)" shellcheck "$s50"
else
	echo "# shellcheck not installed: its checks skipped"
fi

# ---- the configuration the package installs
sed 's/^user .*//' "$pkg/nanorelay.conf" >"$NR_TMP/installed.conf" # no such user here
check "the installed /etc/nanorelay.conf passes --check-config" "$bin" -c "$NR_TMP/installed.conf" --check-config
check "it keeps the queue off /var/spool (a tmpfs on Buildroot)" grep -q '^queue  *file:/var/lib/' "$pkg/nanorelay.conf"
check "it drops to the user the .mk creates" grep -qx 'user        nanorelay' "$pkg/nanorelay.conf"
check "which the .mk creates (NANORELAY_USERS)" grep -q '^	nanorelay -1 nanorelay -1 ' "$mk"

# ---- S50nanorelay at work
mkdir -p "$NR_TMP/default" "$NR_TMP/run"
sed -e "s#/usr/sbin/#$NR_BUILD/#g" -e "s#/etc/default/#$NR_TMP/default/#g" -e "s#/var/run/#$NR_TMP/run/#g" \
	"$s50" >"$NR_TMP/S50nanorelay"
reload_seen() { swaks --server "127.0.0.1:$1" --quit-after EHLO 2>&1 | grep -Eq '^<-  250[- ]SIZE 2048$'; }
round() { # label shell pathprefix
	local label=$1 sh=$2 pre=$3 port out pid rc
	port=$(free_port)
	cat >"$NR_TMP/nanorelay.conf" <<CONF
listen 127.0.0.1:$port
allow 127.0.0.0/8
queue file:$NR_TMP/spool/queue size=1M
state_dir $NR_TMP/state
log syslog level=info
CONF
	echo "CONF=$NR_TMP/nanorelay.conf" >"$NR_TMP/default/nanorelay"
	out=$(PATH="$pre:$PATH" $sh "$NR_TMP/S50nanorelay" start 2>&1)
	expect_eq "$label: start says OK" "Starting nanorelay: OK" "$out"
	wait_port "$port" 10 || fail "$label: nanorelay did not listen"
	pid=$(cat "$NR_TMP/run/nanorelay.pid")
	nr_on_exit "kill -9 $pid 2>/dev/null"
	expect_eq "$label: the pid file names the daemon" "nanorelay" "$(ps -o comm= -p "$pid")"
	swaks --server "127.0.0.1:$port" --from a@lan --to b@example.com >"$NR_TMP/swaks.txt" 2>&1
	check "$label: a message is queued" grep -Eq '^<-  250 2.0.0 Ok: queued' "$NR_TMP/swaks.txt"
	echo "max_message_size 2K" >>"$NR_TMP/nanorelay.conf"
	out=$(PATH="$pre:$PATH" $sh "$NR_TMP/S50nanorelay" reload 2>&1)
	expect_eq "$label: reload says OK" "Reloading nanorelay configuration: OK" "$out"
	check "$label: the reloaded configuration is in force" wait_for 10 "SIZE 2048" reload_seen "$port"
	check "$label: by the same process" kill -0 "$pid"
	out=$(PATH="$pre:$PATH" $sh "$NR_TMP/S50nanorelay" stop 2>&1)
	expect_eq "$label: stop says OK" "Stopping nanorelay: OK" "$out"
	check "$label: the daemon is gone" wait_for 10 "pid $pid gone" nr__pid_gone "$pid"
	check "$label: the pid file is removed" test ! -e "$NR_TMP/run/nanorelay.pid"
	echo "no_such_key 1" >>"$NR_TMP/nanorelay.conf"
	out=$(PATH="$pre:$PATH" $sh "$NR_TMP/S50nanorelay" start 2>&1)
	rc=$?
	expect_eq "$label: a bad configuration fails the start" 1 "$rc"
	expect_match "$label: and says how to see why" "FAIL \(configuration: run .*--check-config\)" "$out"
	check "$label: nothing was started" test ! -e "$NR_TMP/run/nanorelay.pid"
}
round "start-stop-daemon (dpkg)" sh ""
if command -v busybox >/dev/null && busybox start-stop-daemon --help >/dev/null 2>&1; then
	mkdir -p "$NR_TMP/bb"
	ln -s "$(command -v busybox)" "$NR_TMP/bb/start-stop-daemon"
	round "BusyBox" "busybox sh" "$NR_TMP/bb"
else
	echo "# busybox with start-stop-daemon not installed: BusyBox round skipped"
fi
nr_done
