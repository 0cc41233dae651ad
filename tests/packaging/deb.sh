#!/usr/bin/env bash
# The Debian packages, end to end (issue 20):
#   1. dpkg-buildpackage -us -uc -b in a copy of the tree (the tracked files,
#      so the checkout stays clean), then lintian: no error and no warning
#      (justified ones are in debian/*.lintian-overrides);
#   2. mmdebstrap a clean Debian 12 root whose only source is the Debian
#      archive (the mirror of /etc/apt/sources.list.d/debian.sources);
#   3. in it: apt install ./nanorelay_*.deb ./nanorelay-mta_*.deb (apt
#      resolves the dependencies from the archive); the shipped
#      /etc/nanorelay.conf passes --check-config; the user, the directories
#      and the links are there;
#   4. the daemon runs in the root (chroot, sharing this network namespace)
#      with a configuration that points the smarthost at a sink this script
#      runs on 127.0.0.1; a message sent through /usr/sbin/sendmail by an
#      unprivileged user reaches the sink with its body byte for byte;
#   5. apt remove keeps the configuration, the queue and the user; apt purge
#      removes them and every file of the packages, and leaves the root as it
#      was before the install.
# NR_DEB_CLEAN_BUILD=1 builds the packages in a second clean root instead
# (mmdebstrap variant buildd + apt-get build-dep), which proves that the
# Build-Depends are complete; it adds about two minutes.
# Work files live in BUILD_DIR (default build-deb/ in the tree, ignored by git)
# and the roots are deleted at the end. Needs root, network access to the
# Debian archive, and tests/packages/packaging.txt. Prints its run time; the
# last line is "deb: N passed, M failed".
set -uo pipefail
t0=$(date +%s)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build-deb}
JOBS=${JOBS:-2}
passed=0
failed=0
daemon_pid=""
sink_pid=""
root=""
broot=""

check() { # description, command...
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
		passed=$((passed + 1))
	else
		echo "FAIL $what"
		failed=$((failed + 1))
	fi
}
finish() {
	cleanup # before the clock stops: removing the roots is part of the run
	echo "deb: run time $(($(date +%s) - t0)) s"
	echo "deb: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}
die() { # a step that the rest depends on failed
	echo "FAIL $*"
	failed=$((failed + 1))
	finish
}
cleanup() {
	[ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	# Only the throwaway roots, and only when they are ours.
	local r
	[ -n "$broot" ] && mountpoint -q "$broot/proc" && umount "$broot/proc"
	for r in "$root" "$broot"; do
		[ -n "$r" ] && [ -f "$r/.nanorelay-deb-test" ] && rm -rf --one-file-system "$r"
	done
	daemon_pid="" sink_pid="" root="" broot=""
}
trap cleanup EXIT
quiet() { # command...: its output only when it fails
	"$@" >"$work/cmd.out" 2>&1 && return 0
	cat "$work/cmd.out"
	return 1
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
wait_for() { # seconds, command...: poll every 0.1 s
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
[ "$(id -u)" -eq 0 ] || die "deb.sh needs root (mmdebstrap, chroot)"

# ---- 1. build and lintian ------------------------------------------------------------------
rm -rf "$work"
mkdir -p "$work/src"
(cd "$src" && git ls-files -z | tar --null -T - -cf -) | tar -C "$work/src" -xf - ||
	die "copy the tree"
sources=/etc/apt/sources.list.d/debian.sources
mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources")
[ -n "$mirror" ] || die "a Debian mirror in $sources"
mkroot() { # dir variant: a bookworm root from the Debian archive, ready for apt
	local dir=$1 variant=$2 n
	mkdir -p "$dir" && touch "$dir/.nanorelay-deb-test"
	echo "--- mmdebstrap --variant=$variant bookworm from $mirror (log: $dir.log)"
	if ! mmdebstrap --mode=root --variant="$variant" --format=directory --skip=check/empty \
		bookworm "$dir" "deb $mirror bookworm main" >"$dir.log" 2>&1; then
		tail -20 "$dir.log"
		return 1
	fi
	touch "$dir/.nanorelay-deb-test"
	# mmdebstrap leaves no package lists and no resolver configuration behind.
	[ -f /etc/resolv.conf ] && cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
	# The device nodes apt and the daemon open (mmdebstrap's directory output
	# may leave /dev empty); nothing is mounted into the root.
	mkdir -p "$dir/dev"
	for n in "null 1 3" "zero 1 5" "random 1 8" "urandom 1 9"; do
		set -- $n
		[ -e "$dir/dev/$1" ] || mknod -m 0666 "$dir/dev/$1" c "$2" "$3"
	done
	# No daemon may start from a maintainer script in the root (the usual
	# chroot guard); the test starts the daemon itself.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	chroot "$dir" apt-get -q update >"$dir.update.log" 2>&1 || { tail -20 "$dir.update.log"; return 1; }
}
build_cmd="DEB_BUILD_OPTIONS=parallel=$JOBS dpkg-buildpackage -us -uc -b"
echo "--- dpkg-buildpackage (log: $work/build.log)"
if [ "${NR_DEB_CLEAN_BUILD:-0}" = 1 ]; then
	broot=$work/build-root
	mkroot "$broot" buildd || die "mmdebstrap the build root"
	mkdir -p "$broot/build" && cp -a "$work/src" "$broot/build/src"
	# A build chroot has /proc, as under sbuild and pbuilder (test_tls
	# re-executes itself through /proc/self/exe); unmounted at the end.
	mount -t proc proc "$broot/proc" || die "mount /proc in the build root"
	chroot "$broot" env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends \
		build-dep /build/src >"$work/build-dep.log" 2>&1 ||
		{ tail -20 "$work/build-dep.log"; die "apt-get build-dep in a clean root"; }
	check "the Build-Depends install in a clean root (apt-get build-dep)" true
	chroot "$broot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
		sh -c "cd /build/src && $build_cmd" >"$work/build.log" 2>&1 ||
		{ tail -40 "$work/build.log"; die "dpkg-buildpackage -us -uc -b in a clean root"; }
	cp "$broot"/build/*.deb "$broot"/build/*.changes "$broot"/build/*.buildinfo "$work/"
	umount "$broot/proc"
	rm -rf --one-file-system "$broot"
	broot=""
elif ! (cd "$work/src" && sh -c "$build_cmd") >"$work/build.log" 2>&1; then
	tail -40 "$work/build.log"
	die "dpkg-buildpackage -us -uc -b"
fi
pass_deb=$(ls "$work"/nanorelay_*.deb 2>/dev/null | head -1)
mta_deb=$(ls "$work"/nanorelay-mta_*.deb 2>/dev/null | head -1)
[ -n "$pass_deb" ] && [ -n "$mta_deb" ] || die "both .debs built"
check "dpkg-buildpackage built nanorelay and nanorelay-mta" true
check "the package build ran the unit tests" grep -q "100% tests passed" "$work/build.log"
check "the checkout was not written to (the build ran in a copy)" \
	test ! -e "$src/debian/build" -a ! -e "$src/debian/nanorelay" -a ! -e "$src/debian/files"
lintian --pedantic --fail-on error,warning "$work"/nanorelay_*.changes >"$work/lintian.log" 2>&1
lint_rc=$?
grep -E '^[EW]: ' "$work/lintian.log"
check "lintian: no errors, no warnings" test "$lint_rc" -eq 0
check "mandoc -Tlint on the packaged pages" quiet sh "$src/tests/unit/doc/mandoc_lint.sh" "$work/src"
dpkg-deb -c "$pass_deb" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}' >"$work/nanorelay.list"
dpkg-deb -c "$mta_deb" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}' >"$work/nanorelay-mta.list"
for f in ./usr/sbin/nanorelay ./etc/nanorelay.conf ./etc/init.d/nanorelay \
	./lib/systemd/system/nanorelay.service ./usr/share/man/man8/nanorelay.8.gz \
	./usr/share/man/man5/nanorelay.conf.5.gz ./usr/share/man/man8/nanorelay-sendmail.8.gz \
	./usr/share/doc/nanorelay/examples/nanorelay.conf; do
	check "nanorelay ships $f" grep -qx -- "$f" "$work/nanorelay.list"
done
for l in "./usr/sbin/sendmail -> nanorelay" "./usr/bin/mailq -> ../sbin/nanorelay" \
	"./usr/bin/newaliases -> ../sbin/nanorelay" \
	"./usr/share/man/man8/sendmail.8.gz -> nanorelay-sendmail.8.gz"; do
	check "nanorelay-mta ships $l" grep -qx -- "$l" "$work/nanorelay-mta.list"
done
check "nanorelay-mta provides, conflicts with and replaces mail-transport-agent" sh -c '
	for f in Provides Conflicts Replaces; do
		[ "$(dpkg-deb -f "$1" $f)" = mail-transport-agent ] || exit 1
	done' sh "$mta_deb"
check "/etc/nanorelay.conf and the init script are conffiles" sh -c '
	dpkg-deb -e "$1" "$2/ctl" && grep -qx /etc/nanorelay.conf "$2/ctl/conffiles" &&
	grep -qx /etc/init.d/nanorelay "$2/ctl/conffiles"' sh "$pass_deb" "$work"

# ---- 2. a clean Debian 12 root -------------------------------------------------------------
root=$work/root
mkroot "$root" apt || die "mmdebstrap the install root"
check "the root's only apt source is the Debian archive" \
	sh -c 'cat "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/* 2>/dev/null |
		grep -v "^#" | grep . | grep -qvx "deb $2 bookworm main" && exit 1; exit 0' sh "$root" "$mirror"
cp "$pass_deb" "$mta_deb" "$root/tmp/"
pass_in=/tmp/$(basename "$pass_deb")
mta_in=/tmp/$(basename "$mta_deb")

# The dependencies first, so that the root can be compared before and after.
deps="$(dpkg-deb -f "$pass_deb" Pre-Depends), $(dpkg-deb -f "$pass_deb" Depends)"
in_root apt-get -y -q --no-install-recommends satisfy "$deps" >"$work/deps.log" 2>&1 ||
	{ tail -20 "$work/deps.log"; die "apt-get satisfy the dependencies"; }
snapshot() { # the root's files, less what apt, dpkg and the tests touch
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
		-o -path ./run -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
		-o -path ./var/log -o -path ./usr/sbin/policy-rc.d \) -prune -o -print |
		grep -vE '^\./etc/(passwd|group|shadow|gshadow)-$' | LC_ALL=C sort)
}
snapshot >"$work/before.list"

# ---- 3. install ------------------------------------------------------------------------------
echo "--- apt install ./nanorelay*.deb (log: $work/install.log)"
in_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends install \
	"$pass_in" "$mta_in" >"$work/install.log" 2>&1
check "apt install ./nanorelay_*.deb ./nanorelay-mta_*.deb" test $? -eq 0 || tail -30 "$work/install.log"
in_root dpkg -L nanorelay nanorelay-mta | LC_ALL=C sort -u >"$work/files.list"
check "the shipped /etc/nanorelay.conf passes --check-config" \
	quiet in_root nanorelay -c /etc/nanorelay.conf --check-config
check "it runs as the dedicated user nanorelay" grep -qx 'user *nanorelay' "$root/etc/nanorelay.conf"
check "system user nanorelay exists, not nobody, no login shell" sh -c '
	e=$(chroot "$1" getent passwd nanorelay) || exit 1
	uid=$(echo "$e" | cut -d: -f3); shell=$(echo "$e" | cut -d: -f7)
	[ "$uid" -lt 1000 ] && [ "$uid" -ne 65534 ] && [ "$shell" = /usr/sbin/nologin ]' sh "$root"
# Names as the root sees them (the host's /etc/passwd has other users).
check "queue dir /var/spool/nanorelay 0700 root" \
	test "$(in_root stat -c '%a %U' /var/spool/nanorelay)" = "700 root"
check "state dir /var/lib/nanorelay 0711 nanorelay" \
	test "$(in_root stat -c '%a %U' /var/lib/nanorelay)" = "711 nanorelay"
check "/usr/sbin/sendmail is nanorelay" test "$(readlink -f "$root/usr/sbin/sendmail")" = "$root/usr/sbin/nanorelay"
check "man nanorelay.conf(5) is installed" test -s "$root/usr/share/man/man5/nanorelay.conf.5.gz"
check "/usr/lib/sendmail resolves" test -x "$root/usr/lib/sendmail"

# ---- 4. run it, send through sendmail, check the sink ---------------------------------------------
mkdir -p "$work/sink"
/usr/bin/python3 "$src/tests/packaging/smtp_sink.py" "$work/sink.port" "$work/sink" &
sink_pid=$!
wait_for 10 test -s "$work/sink.port" || die "the sink starts"
sink_port=$(cat "$work/sink.port")
listen_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$root/etc/nanorelay.conf" <<CONF
# deb.sh: the package's layout, loopback ports, the test's sink upstream
listen      127.0.0.1:$listen_port
allow       127.0.0.0/8
hostname    debtest.lan
queue       file:/var/spool/nanorelay/queue size=1M
state_dir   /var/lib/nanorelay
user        nanorelay
log         stderr level=debug
smarthost   127.0.0.1:$sink_port tls=none insecure=yes
sender      box@debtest.lan
sendmail_no_daemon fail
CONF
check "the test configuration passes --check-config" quiet in_root nanorelay --check-config
chroot "$root" /usr/sbin/nanorelay -c /etc/nanorelay.conf --foreground >"$work/daemon.log" 2>&1 &
daemon_pid=$!
wait_for 15 test -S "$root/var/lib/nanorelay/submit" ||
	{ cat "$work/daemon.log"; die "the daemon starts in the root"; }
check "the daemon started and dropped to nanorelay" \
	test "$(ps -o uid= -p "$daemon_pid" 2>/dev/null | tr -d ' ')" = "$(in_root id -u nanorelay)"
body=$(printf 'Hello from the Debian package.\n.a line with a leading dot\n\ttabbed\nlast line\n')
printf 'To: ops@example.com\nSubject: deb test\n\n%s\n' "$body" |
	chroot --userspec=nobody:nogroup "$root" /usr/sbin/sendmail -i ops@example.com >"$work/sendmail.log" 2>&1
check "sendmail (as user nobody) exits 0" test $? -eq 0 || cat "$work/sendmail.log"
wait_for 30 test -e "$work/sink/msg.1"
check "the sink got the message" test -e "$work/sink/msg.1" || tail -20 "$work/daemon.log"
if [ -e "$work/sink/msg.1" ]; then
	printf '%s\n' "$body" | sed 's/$/\r/' >"$work/want.body"
	# the body: everything after the first empty line
	awk 'found {print} /^\r?$/ && !found {found=1}' "$work/sink/msg.1" >"$work/got.body"
	check "the body arrived byte for byte" cmp "$work/want.body" "$work/got.body"
	check "the envelope went through the relay's headers (Subject kept)" \
		grep -q $'^Subject: deb test\r$' "$work/sink/msg.1"
fi
check "mailq (the nanorelay-mta link) answers" quiet in_root mailq
kill -TERM "$daemon_pid" 2>/dev/null
wait_for 10 sh -c '! kill -0 "$1" 2>/dev/null' sh "$daemon_pid"
check "the daemon stops on SIGTERM" sh -c '! kill -0 "$1" 2>/dev/null' sh "$daemon_pid"
daemon_pid=""

# ---- 5. remove keeps, purge removes -------------------------------------------------------------
in_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q remove nanorelay-mta nanorelay \
	>"$work/remove.log" 2>&1
check "apt remove" test $? -eq 0 || tail -20 "$work/remove.log"
check "remove keeps /etc/nanorelay.conf" test -f "$root/etc/nanorelay.conf"
check "remove keeps the queue" test -f "$root/var/spool/nanorelay/queue"
check "remove keeps the user" quiet in_root getent passwd nanorelay
check "remove takes the binary" test ! -e "$root/usr/sbin/nanorelay"
in_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q purge nanorelay-mta nanorelay \
	>"$work/purge.log" 2>&1
check "apt purge" test $? -eq 0 || tail -20 "$work/purge.log"
left=""
while read -r f; do
	[ -d "$root$f" ] && continue # shared directories (/usr/sbin, /lib -> usr/lib)
	[ -e "$root$f" ] || [ -L "$root$f" ] && left="$left $f"
done <"$work/files.list"
check "purge: no file of the packages is left${left:+ (left:$left)}" test -z "$left"
check "purge: no /etc/nanorelay*" sh -c '! ls -d "$1"/etc/nanorelay* 2>/dev/null' sh "$root"
check "purge: no /var/lib/nanorelay" test ! -e "$root/var/lib/nanorelay"
check "purge: no /var/spool/nanorelay" test ! -e "$root/var/spool/nanorelay"
check "purge: no user nanorelay" sh -c '! chroot "$1" getent passwd nanorelay' sh "$root"
check "purge: no group nanorelay" sh -c '! chroot "$1" getent group nanorelay' sh "$root"
snapshot >"$work/after.list"
check "purge: the root is as before the install" diff -u "$work/before.list" "$work/after.list"
finish
