#!/usr/bin/env bash
# cmake --install (cmake/install.cmake): the exact file list, modes and link
# targets, for two layouts:
#   1. the test build as configured (defaults), into a temp prefix:
#      `cmake --install build --prefix DIR` (issue 20's "done when");
#   2. a second configure of the same tree the way a package builds it
#      (prefix /usr, DESTDIR, NR_INSTALL_SENDMAIL_LINKS=ON,
#      NR_INSTALL_INIT_SCRIPT=etc, unit in /lib/systemd/system): the
#      sendmail links must be relative and resolve to the binary inside
#      DESTDIR, and nothing may escape DESTDIR.
# The installed binary runs, the unit's ExecStart names the installed
# binary and its Documentation= names an installed man page.
set -uo pipefail
build=${NR_BUILD:?}
src=${NR_SRC:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
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
# One line per path: type, mode, path, and for a link its target.
listing() { # dir
	(cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | sed 's/ $//' | LC_ALL=C sort)
}
same() { # want-file got-file
	diff -u "$1" "$2" >"$tmp/diff" && return 0
	cat "$tmp/diff"
	return 1
}

# ---- 1. the test build, --prefix -----------------------------------------------------
prefix=$tmp/x
cmake --install "$build" --prefix "$prefix" >"$tmp/install1.log" 2>&1
check "cmake --install --prefix exits 0" test $? -eq 0
cat >"$tmp/want1" <<'LIST'
d 755 ./lib
d 755 ./lib/systemd
d 755 ./lib/systemd/system
d 755 ./sbin
d 755 ./share
d 755 ./share/doc
d 755 ./share/doc/nanorelay
d 755 ./share/doc/nanorelay/examples
d 755 ./share/man
d 755 ./share/man/man5
d 755 ./share/man/man8
d 755 ./share/nanorelay
f 644 ./lib/systemd/system/nanorelay.service
f 644 ./share/doc/nanorelay/README.md
f 644 ./share/doc/nanorelay/examples/nanorelay.conf
f 644 ./share/man/man5/nanorelay.conf.5
f 644 ./share/man/man8/nanorelay-sendmail.8
f 644 ./share/man/man8/nanorelay.8
f 755 ./sbin/nanorelay
f 755 ./share/nanorelay/nanorelay.init
LIST
LC_ALL=C sort -o "$tmp/want1" "$tmp/want1"
listing "$prefix" >"$tmp/got1"
check "default layout: exactly the expected files" same "$tmp/want1" "$tmp/got1"
check "installed binary runs" "$prefix/sbin/nanorelay" --version
# shellcheck source=lib/system_user.sh
. "$src/tests/integration/lib/system_user.sh"
check "installed example config passes --check-config (where its user exists)" \
	nr_with_system_user nanorelay "$prefix/sbin/nanorelay" -c "$prefix/share/doc/nanorelay/examples/nanorelay.conf" --check-config
check "installed example is configs/nanorelay.conf" \
	cmp "$src/configs/nanorelay.conf" "$prefix/share/doc/nanorelay/examples/nanorelay.conf"
check "installed man pages are doc/*" cmp "$src/doc/nanorelay.8" "$prefix/share/man/man8/nanorelay.8"
conf_prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
check "unit's ExecStart names the configured prefix's binary" \
	grep -qx "ExecStart=$conf_prefix/sbin/nanorelay -c /etc/nanorelay.conf --foreground" \
	"$prefix/lib/systemd/system/nanorelay.service"
check "unit's Documentation= names installed pages" \
	grep -qx 'Documentation=man:nanorelay(8) man:nanorelay.conf(5)' \
	"$prefix/lib/systemd/system/nanorelay.service"
check "init script's DAEMON= names the configured prefix's binary" \
	grep -qx "DAEMON=$conf_prefix/sbin/nanorelay" "$prefix/share/nanorelay/nanorelay.init"

# ---- 2. a package's layout: DESTDIR, prefix /usr, links on ----------------------------
b2=$tmp/build-pkg
cmake -S "$src" -B "$b2" -G Ninja -DNR_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
	-DNR_INSTALL_SENDMAIL_LINKS=ON -DNR_INSTALL_INIT_SCRIPT=etc \
	-DNR_SYSTEMD_UNITDIR=/lib/systemd/system >"$tmp/configure2.log" 2>&1 &&
	cmake --build "$b2" -j2 --target nanorelay >"$tmp/build2.log" 2>&1
check "package-style configure and build" test $? -eq 0 || tail -20 "$tmp/configure2.log" "$tmp/build2.log"
dest=$tmp/dest
DESTDIR=$dest cmake --install "$b2" >"$tmp/install2.log" 2>&1
check "DESTDIR=... cmake --install exits 0" test $? -eq 0 || cat "$tmp/install2.log"
cat >"$tmp/want2" <<'LIST'
d 755 ./etc
d 755 ./etc/init.d
d 755 ./lib
d 755 ./lib/systemd
d 755 ./lib/systemd/system
d 755 ./usr
d 755 ./usr/bin
d 755 ./usr/sbin
d 755 ./usr/share
d 755 ./usr/share/doc
d 755 ./usr/share/doc/nanorelay
d 755 ./usr/share/doc/nanorelay/examples
d 755 ./usr/share/man
d 755 ./usr/share/man/man1
d 755 ./usr/share/man/man5
d 755 ./usr/share/man/man8
f 644 ./lib/systemd/system/nanorelay.service
f 644 ./usr/share/doc/nanorelay/README.md
f 644 ./usr/share/doc/nanorelay/examples/nanorelay.conf
f 644 ./usr/share/man/man5/nanorelay.conf.5
f 644 ./usr/share/man/man8/nanorelay-sendmail.8
f 644 ./usr/share/man/man8/nanorelay.8
f 755 ./etc/init.d/nanorelay
f 755 ./usr/sbin/nanorelay
l 777 ./usr/bin/mailq ../sbin/nanorelay
l 777 ./usr/bin/newaliases ../sbin/nanorelay
l 777 ./usr/sbin/sendmail nanorelay
l 777 ./usr/share/man/man1/mailq.1 ../man8/nanorelay-sendmail.8
l 777 ./usr/share/man/man1/newaliases.1 ../man8/nanorelay-sendmail.8
l 777 ./usr/share/man/man8/sendmail.8 nanorelay-sendmail.8
LIST
LC_ALL=C sort -o "$tmp/want2" "$tmp/want2"
listing "$dest" >"$tmp/got2"
check "package layout: exactly the expected files and links" same "$tmp/want2" "$tmp/got2"
check "every link resolves inside DESTDIR" \
	sh -c 'for l in $(find "$1" -type l); do test -e "$l" || { echo "dangling: $l"; exit 1; }; done' sh "$dest"
check "sendmail link runs the binary" "$dest/usr/sbin/sendmail" -bi
check "unit names /usr/sbin/nanorelay" \
	grep -qx "ExecStart=/usr/sbin/nanorelay -c /etc/nanorelay.conf --foreground" \
	"$dest/lib/systemd/system/nanorelay.service"
check "nothing was installed outside DESTDIR" \
	sh -c '! grep -E "^-- (Installing|Up-to-date|Installing link): /(usr|etc|lib)/" "$1"' sh "$tmp/install2.log"

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
