#!/usr/bin/env bash
# Queues for routers (issue 18): the daemon's start-up refusals of an mtd:
# queue it cannot use (this kernel has no MTD; the shim's device checks are
# tests/unit/store/test_store_mtd.c, a real block2mtd is the QEMU router
# test), and a file queue on tmpfs, which status must call "persistent: no"
# with a warning at start-up, never a queue that survives a power cut.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
bin="$NR_BUILD/nanorelay"
PORT=$(free_port)
conf_for() { # NAME QUEUE_SPEC
	cat >"$NR_TMP/$1.conf" <<CONF
listen      127.0.0.1:$PORT
allow       127.0.0.0/8
hostname    test.lan
queue       $2
state_dir   $NR_TMP/state
control_socket $NR_TMP/control
log         stderr level=info
CONF
}
refused() { # NAME QUEUE_SPEC MESSAGE: the daemon stops at start-up saying MESSAGE
	local rc=0 out
	conf_for "$1" "$2"
	out=$(timeout 20 "$bin" --foreground -c "$NR_TMP/$1.conf" 2>&1) || rc=$?
	expect_eq "$1: the daemon does not start (exit 69)" 69 "$rc"
	expect_match "$1: the log says why" "$3" "$out"
}

if [ -e /proc/mtd ] && grep -q '"nosuch-nr-test"' /proc/mtd; then
	nr_skip "this machine has an MTD partition named nosuch-nr-test"
fi
refused noname "mtd:nosuch-nr-test" \
	'queue: cannot use mtd:nosuch-nr-test: no MTD partition is named "nosuch-nr-test" \(the names are in /proc/mtd\)'
refused nodev "mtd:/dev/mtd-nr-test-none" \
	'queue: cannot use mtd:/dev/mtd-nr-test-none: /dev/mtd-nr-test-none does not exist'
refused notmtd "mtd:/dev/null" \
	'queue: cannot use mtd:/dev/null: /dev/null is not an MTD device \(MEMGETINFO: '

# A file queue on tmpfs: persistent: no, and a warning.
shm=$(stat -f -c %T /dev/shm 2>/dev/null || true)
if [ "$shm" = tmpfs ]; then
	q="/dev/shm/nr-test-queue.$$"
	rm -f "$q" # (removed again below; the harness owns the EXIT trap)
	conf_for shm "file:$q size=256K"
	nr_spawn RELAY_PID "$NR_TMP/shm.log" "$bin" --foreground -c "$NR_TMP/shm.conf"
	wait_port "$PORT" 15 || fail "shm: relay did not start" "$NR_TMP/shm.log"
	check "shm: the start-up warns that the queue is lost at a power cut" \
		grep -q "warning: queue: $q is on tmpfs or ramfs (persistent: no): queued mail is lost at a power cut or reboot" "$NR_TMP/shm.log"
	out=$("$bin" -c "$NR_TMP/shm.conf" status 2>&1)
	expect_match "shm: status says persistent: no" \
		'queue:       file, persistent: no \(on tmpfs or ramfs: lost at a power cut or reboot\)' "$out"
	expect_match "shm: status shows the geometry and erase counts" \
		'  sectors:   64 of 4096 bytes, erased [0-9]+ to [0-9]+ times' "$out"
	out=$("$bin" -c "$NR_TMP/shm.conf" status --json 2>&1)
	expect_match "shm: status --json says persistent false" '"backend":"file","persistent":false,"sectors":64,"sector_size":4096' "$out"
	nr_stop_pid "$RELAY_PID"
	rm -f "$q"
else
	echo "# SKIP (part): /dev/shm is not a tmpfs here ($shm)"
fi
# And a file queue on a disk is persistent, without that warning.
conf_for disk "file:$NR_TMP/queue size=256K"
nr_spawn RELAY_PID "$NR_TMP/disk.log" "$bin" --foreground -c "$NR_TMP/disk.conf"
wait_port "$PORT" 15 || fail "disk: relay did not start" "$NR_TMP/disk.log"
if [ "$(stat -f -c %T "$NR_TMP")" != tmpfs ]; then
	out=$("$bin" -c "$NR_TMP/disk.conf" status 2>&1)
	expect_match "disk: status says persistent" 'queue:       file, persistent \(survives a power cut\)' "$out"
	check_not "disk: no tmpfs warning" grep -q "is on tmpfs or ramfs" "$NR_TMP/disk.log"
fi
nr_stop_pid "$RELAY_PID"
for l in shm disk; do
	[ -f "$NR_TMP/$l.log" ] || continue
	check_not "$l: no sanitizer report" grep -q "Sanitizer" "$NR_TMP/$l.log"
done
nr_done
