#!/usr/bin/env bash
# packaging/openwrt/nanorelay/files/nanorelay-uci.sh: /etc/config/nanorelay
# (as `uci show` prints it) to nanorelay.conf, on fixtures in
# tests/integration/openwrt/:
#   NAME.uci + NAME.conf  accepted: the output is NAME.conf byte for byte and
#                         passes `nanorelay --check-config`
#   NAME.uci + NAME.err   refused: exit 1, nothing on stdout, and stderr holds
#                         the line in NAME.err (which option, and why)
# @TMP@ and @PORT@ in fixtures stand for this test's directory and a port.
# Each fixture runs under every shell at hand: sh, BusyBox sh with BusyBox awk
# (what OpenWrt has), BusyBox sh with the system awk.
. "$(dirname "$0")/lib/common.sh"
bin="$NR_BUILD/nanorelay"
uci_sh="$NR_SRC/packaging/openwrt/nanorelay/files/nanorelay-uci.sh"
fixtures="$NR_SRC/tests/integration/openwrt"
port=$(free_port)

shells=("sh")
if command -v busybox >/dev/null; then
	mkdir -p "$NR_TMP/bbawk"
	ln -s "$(command -v busybox)" "$NR_TMP/bbawk/awk"
	shells+=("busybox-awk" "busybox")
fi
run_in() { # shell fixture: translate, stdout to $NR_TMP/out, stderr to $NR_TMP/err
	case $1 in
	sh) sh -c ". '$uci_sh'; nanorelay_uci_translate" ;;
	busybox-awk) PATH="$NR_TMP/bbawk:$PATH" busybox sh -c ". '$uci_sh'; nanorelay_uci_translate" ;;
	busybox) busybox sh -c ". '$uci_sh'; nanorelay_uci_translate" ;;
	esac <"$2" >"$NR_TMP/out" 2>"$NR_TMP/err"
}
subst() { sed -e "s|@TMP@|$NR_TMP|g" -e "s|@PORT@|$port|g" "$1"; }

# the files the valid fixture names (a password path with a quote, double
# quotes and a # in it: copied as they are), laid out so that its `user
# nobody` can read them (--check-config checks that, as root)
touch "$NR_TMP/it's\"the\"#1.pass" "$NR_TMP/backup.pass"
chmod 640 "$NR_TMP"/*.pass
[ "$(id -u)" != 0 ] || chgrp "$(id -gn nobody)" "$NR_TMP"/*.pass

for uci in "$fixtures"/*.uci; do
	name=$(basename "$uci" .uci)
	subst "$uci" >"$NR_TMP/in.uci"
	for sh in "${shells[@]}"; do
		run_in "$sh" "$NR_TMP/in.uci"
		rc=$?
		if [ -f "$fixtures/$name.conf" ]; then
			expect_eq "$name ($sh): accepted" "0 " "$rc $(cat "$NR_TMP/err")"
			expect_eq "$name ($sh): the configuration it means" "$(subst "$fixtures/$name.conf")" "$(cat "$NR_TMP/out")"
			check "$name ($sh): the output passes --check-config" \
				nr_with_system_user nanorelay "$bin" -c "$NR_TMP/out" --check-config
		else
			expect_eq "$name ($sh): refused (exit 1)" 1 "$rc"
			expect_eq "$name ($sh): no configuration on stdout" "" "$(cat "$NR_TMP/out")"
			check "$name ($sh): the message names the option and why" grep -qF -- "$(cat "$fixtures/$name.err")" "$NR_TMP/err"
		fi
	done
done

# The quoted path is one word to nanorelay too: with the file gone,
# --check-config names the whole path (a cut at the # would name another).
subst "$fixtures/valid.uci" | sh -c ". '$uci_sh'; nanorelay_uci_translate" >"$NR_TMP/valid.conf"
rm "$NR_TMP/it's\"the\"#1.pass"
out=$("$bin" -c "$NR_TMP/valid.conf" --check-config 2>&1)
expect_match "the password_file path with quotes and # is read whole" "password_file.*it's\"the\"#1\.pass" "$out"

# nanorelay_uci_generate: from `uci show`, replaces the file only on success
mkdir -p "$NR_TMP/fakebin"
cat >"$NR_TMP/fakebin/uci" <<SH
#!/bin/sh
[ "\$1" = -q ] && shift
[ "\$1" = show ] && [ "\$2" = nanorelay ] && exec cat "$NR_TMP/current.uci"
exit 1
SH
chmod +x "$NR_TMP/fakebin/uci"
gen() { PATH="$NR_TMP/fakebin:$PATH" sh -c ". '$uci_sh'; nanorelay_uci_generate '$NR_TMP/etc/nanorelay.conf'"; }
cp "$fixtures/default.uci" "$NR_TMP/current.uci"
check "generate writes the file (and its directory)" gen
expect_eq "generate: the translation" "$(cat "$fixtures/default.conf")" "$(cat "$NR_TMP/etc/nanorelay.conf")"
expect_eq "generate: mode 0644 (read again as user on reload; no secret in it)" 644 "$(stat -c %a "$NR_TMP/etc/nanorelay.conf")"
cp "$fixtures/bad-blank-host.uci" "$NR_TMP/current.uci"
check_not "generate fails on a refused value" gen
expect_eq "and leaves the previous file as it was" "$(cat "$fixtures/default.conf")" "$(cat "$NR_TMP/etc/nanorelay.conf")"
expect_eq "and no temporary file" "nanorelay.conf" "$(ls "$NR_TMP/etc")"
if command -v shellcheck >/dev/null; then
	check "nanorelay-uci.sh: shellcheck (as POSIX sh) is clean" shellcheck -s sh "$uci_sh"
fi
nr_done
