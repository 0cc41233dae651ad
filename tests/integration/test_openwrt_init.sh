#!/usr/bin/env bash
# configs/openwrt/nanorelay.init under a stand-in for OpenWrt's procd
# helpers (procd itself does not run on Debian): start_service must hand procd
# the foreground command line with respawn and the config file as trigger, and
# refuse a bad configuration; the command it hands over must start a relay
# that accepts mail; reload_service must signal HUP. Runs under BusyBox sh
# (OpenWrt's shell) when installed.
. "$(dirname "$0")/lib/common.sh"
nr_require swaks
bin="$NR_BUILD/nanorelay"
sh=sh
command -v busybox >/dev/null && sh="busybox sh"
port=$(free_port)
cat >"$NR_TMP/nanorelay.conf" <<CONF
listen 127.0.0.1:$port tls=none
allow 127.0.0.0/8
queue ram size=1M
state_dir $NR_TMP/state
log stderr level=info
CONF
sed -e "s#/usr/sbin/nanorelay#$bin#" -e "s#/etc/nanorelay.conf#$NR_TMP/nanorelay.conf#" \
	"$NR_SRC/configs/openwrt/nanorelay.init" >"$NR_TMP/init"

# The procd API as /lib/functions/procd.sh provides it, recording each call.
cat >"$NR_TMP/procd.sh" <<'SH'
procd_open_instance() { echo "open" >>"$CALLS"; }
procd_set_param() { echo "param $*" >>"$CALLS"; }
procd_close_instance() { echo "close" >>"$CALLS"; }
procd_send_signal() { echo "signal $*" >>"$CALLS"; }
SH
run_init() { # function
	CALLS="$NR_TMP/calls" $sh -c ". '$NR_TMP/procd.sh'; . '$NR_TMP/init'; $1"
}

: >"$NR_TMP/calls"
check "start_service succeeds with a good configuration" run_init start_service
expect_eq "procd gets the instance" "open
param command $bin -c $NR_TMP/nanorelay.conf --foreground
param respawn 3600 5 5
param file $NR_TMP/nanorelay.conf
param stderr 1
close" "$(cat "$NR_TMP/calls")"

# run what procd would run
cmd=$(sed -n 's/^param command //p' "$NR_TMP/calls")
# shellcheck disable=SC2086 # the recorded command line is split on purpose
nr_spawn pid "$NR_TMP/log" $cmd
wait_port "$port" 10 || fail "the procd command did not start a relay" "$NR_TMP/log"
swaks --server "127.0.0.1:$port" --from a@lan --to b@example.com >"$NR_TMP/swaks.txt" 2>&1
check "the relay procd runs accepts a message" grep -Eq '^<-  250 2.0.0 Ok: queued' "$NR_TMP/swaks.txt"

: >"$NR_TMP/calls"
check "reload_service runs" run_init reload_service
expect_eq "reload sends SIGHUP to the instance" "signal nanorelay * HUP" "$(cat "$NR_TMP/calls")"

echo "no_such_key 1" >>"$NR_TMP/nanorelay.conf"
: >"$NR_TMP/calls"
check_not "start_service refuses a bad configuration" run_init start_service
expect_eq "and hands procd nothing" "" "$(cat "$NR_TMP/calls")"
out=$(run_init start_service 2>&1)
expect_match "it says how to see the error" "has errors; see: .* --check-config" "$out"
nr_done
