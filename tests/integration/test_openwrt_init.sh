#!/usr/bin/env bash
# packaging/openwrt/nanorelay/files/nanorelay.init under stand-ins for
# OpenWrt's procd helpers and uci (neither runs on Debian): start_service
# turns the UCI configuration into nanorelay.conf, checks it, and hands procd
# the foreground command line with respawn; the command it hands over starts
# a relay that accepts mail; reload_service regenerates the file and signals
# HUP; a UCI value that cannot be carried, or a file that fails
# --check-config, is refused with procd handed nothing and the previous file
# kept; enabled 0 starts nothing; the reload trigger is on
# /etc/config/nanorelay. Runs under BusyBox sh (OpenWrt's shell) when
# installed.
. "$(dirname "$0")/lib/common.sh"
nr_require swaks
bin="$NR_BUILD/nanorelay"
pkg="$NR_SRC/packaging/openwrt/nanorelay"
sh=sh
command -v busybox >/dev/null && sh="busybox sh"
port=$(free_port)
conf="$NR_TMP/var/etc/nanorelay.conf"
cat >"$NR_TMP/config.uci" <<UCI
nanorelay.main=nanorelay
nanorelay.main.enabled='1'
nanorelay.main.queue='ram'
nanorelay.main.state_dir='$NR_TMP/state'
nanorelay.main.allow='127.0.0.0/8'
nanorelay.@listener[0]=listener
nanorelay.@listener[0].address='127.0.0.1:$port'
UCI
sed -e "s#^PROG=.*#PROG=$bin#" -e "s#^CONF=.*#CONF=$conf#" -e "s#^UCI_SH=.*#UCI_SH=$pkg/files/nanorelay-uci.sh#" \
	"$pkg/files/nanorelay.init" >"$NR_TMP/init"

# uci as OpenWrt's, reading $NR_TMP/config.uci (uci show format)
mkdir -p "$NR_TMP/bin"
cat >"$NR_TMP/bin/uci" <<SH
#!/bin/sh
[ "\$1" = -q ] && shift
case "\$1 \$2" in
"show nanorelay") exec cat "$NR_TMP/config.uci" ;;
"get nanorelay.main.enabled") sed -n "s/^nanorelay\\.main\\.enabled='\\(.*\\)'\$/\\1/p" "$NR_TMP/config.uci" | grep . ;;
*) exit 1 ;;
esac
SH
chmod +x "$NR_TMP/bin/uci"
# The procd API as /lib/functions/procd.sh provides it, recording each call.
cat >"$NR_TMP/procd.sh" <<'SH'
procd_open_instance() { echo "open" >>"$CALLS"; }
procd_set_param() { echo "param $*" >>"$CALLS"; }
procd_close_instance() { echo "close" >>"$CALLS"; }
procd_send_signal() { echo "signal $*" >>"$CALLS"; }
procd_add_reload_trigger() { echo "reload trigger $*" >>"$CALLS"; }
SH
run_init() { # function
	PATH="$NR_TMP/bin:$PATH" CALLS="$NR_TMP/calls" $sh -c ". '$NR_TMP/procd.sh'; . '$NR_TMP/init'; $1"
}

: >"$NR_TMP/calls"
check "start_service succeeds with a good configuration" run_init start_service
expect_eq "procd gets the instance" "open
param command $bin -c $conf --foreground
param respawn 3600 5 5
param stderr 1
close" "$(cat "$NR_TMP/calls")"
cmd=$(sed -n 's/^param command //p' "$NR_TMP/calls")
expect_eq "the configuration it generated" "# Generated from /etc/config/nanorelay by /etc/init.d/nanorelay; edit that
# file and run \`/etc/init.d/nanorelay reload\`: changes made here are lost.
allow 127.0.0.0/8
listen 127.0.0.1:$port
queue ram size=1M
state_dir $NR_TMP/state
log syslog level=info" "$(cat "$conf")"

: >"$NR_TMP/calls"
check "service_triggers runs" run_init service_triggers
expect_eq "a change of /etc/config/nanorelay reloads" "reload trigger nanorelay" "$(cat "$NR_TMP/calls")"

# run what procd would run
# shellcheck disable=SC2086 # the recorded command line is split on purpose
nr_spawn pid "$NR_TMP/log" $cmd
wait_port "$port" 10 || fail "the procd command did not start a relay" "$NR_TMP/log"
swaks --server "127.0.0.1:$port" --from a@lan --to b@example.com >"$NR_TMP/swaks.txt" 2>&1
check "the relay procd runs accepts a message" grep -Eq '^<-  250 2.0.0 Ok: queued' "$NR_TMP/swaks.txt"

# reload: a new UCI value reaches the running daemon
sed -i "s/^nanorelay.main=nanorelay$/&\nnanorelay.main.hostname='reloaded.lan'/" "$NR_TMP/config.uci"
: >"$NR_TMP/calls"
check "reload_service runs" run_init reload_service
expect_eq "reload sends SIGHUP to the instance" "signal nanorelay * HUP" "$(cat "$NR_TMP/calls")"
check "the regenerated file has the new value" grep -qx "hostname reloaded.lan" "$conf"
kill -HUP "$pid" # what procd_send_signal does
greets_reloaded() {
	/usr/bin/python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$port),timeout=5)
assert s.recv(200).startswith(b'220 reloaded.lan ')"
}
check "the daemon reloads it: it greets with the new hostname" wait_for 10 "new greeting" greets_reloaded

# a value nanorelay.conf cannot carry: refused, previous file kept
cp "$conf" "$NR_TMP/before.conf"
sed -i "s/^nanorelay.main.hostname=.*/nanorelay.main.hostname='a.lan tls=none'/" "$NR_TMP/config.uci"
: >"$NR_TMP/calls"
check_not "reload_service refuses a value with a blank" run_init reload_service
expect_eq "and signals nothing" "" "$(cat "$NR_TMP/calls")"
check "and keeps the previous file" cmp "$NR_TMP/before.conf" "$conf"
check_not "start_service refuses it too" run_init start_service
expect_eq "and hands procd nothing" "" "$(cat "$NR_TMP/calls")"
out=$(run_init start_service 2>&1)
expect_match "it says which option and why" "nanorelay.main.hostname: the value contains a blank" "$out"

# a file that fails --check-config: refused, says how to see the error
sed -i "s/^nanorelay.main.hostname=.*/nanorelay.main.max_message_size='25Q'/" "$NR_TMP/config.uci"
check_not "start_service refuses a configuration nanorelay rejects" run_init start_service
expect_eq "and hands procd nothing" "" "$(cat "$NR_TMP/calls")"
out=$(run_init start_service 2>&1)
expect_match "it says how to see the error" "has errors; see: .* --check-config" "$out"

# enabled 0: nothing started
sed -i -e "/max_message_size/d" -e "s/^nanorelay.main.enabled=.*/nanorelay.main.enabled='0'/" "$NR_TMP/config.uci"
: >"$NR_TMP/calls"
check "start_service with enabled 0 succeeds" run_init start_service
expect_eq "and starts nothing" "" "$(cat "$NR_TMP/calls")"
nr_done
