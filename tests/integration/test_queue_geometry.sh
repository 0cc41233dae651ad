#!/usr/bin/env bash
# The file queue's sector size (src/queue/FORMAT.md): a new file of 4 MiB or
# more is formatted with sectors of 1/256 of it, from 64 KiB up to 1 MiB, a
# smaller one with 4 KiB; a file formatted earlier with 4 KiB sectors keeps them (it is neither refused nor
# reformatted), and its mail survives a restart. The sector size is read
# from the first sector header (byte 5: log2 of the size).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

PORT=$(free_port)
# start_relay NAME QUEUE_SPEC: a daemon on PORT with that queue
start_relay() {
	cat >"$NR_TMP/$1.conf" <<EOF
listen      127.0.0.1:$PORT
allow       127.0.0.0/8
hostname    test.lan
queue       $2
state_dir   $NR_TMP/state
log         stderr level=info
EOF
	nr_spawn RELAY_PID "$NR_TMP/$1.log" "$NR_BUILD/nanorelay" --foreground -c "$NR_TMP/$1.conf"
	wait_port "$PORT" 15 || fail "$1: relay did not start" "$NR_TMP/$1.log"
}
send_one() {
	"$NR_PY" - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.sendmail("dev@lan", ["admin@example.com"], "Subject: geometry\r\n\r\n" + "x" * 70000 + "\r\n")
s.quit()
EOF
}
shift_at() { # FILE OFFSET: byte 5 of the sector header at OFFSET
	"$NR_PY" -c 'import sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(f.read(6)[5])' "$1" "$2"
}
pending() { # LOG: the message count of the start line
	sed -n 's/.*queue: file, [0-9]* bytes, \([0-9]*\) messages pending.*/\1/p' "$1" | tail -1
}

# 1. New files: 1 MiB -> 4 KiB sectors, 8 MiB -> 64 KiB, 64 MiB -> 256 KiB,
#    256 MiB -> 1 MiB.
start_relay big "file:$NR_TMP/big.queue size=8M"
send_one || fail "message into the 8 MiB queue" "$NR_TMP/big.log"
nr_stop_pid "$RELAY_PID"
expect_eq "new 8 MiB queue: 64 KiB sectors" 16 "$(shift_at "$NR_TMP/big.queue" 0)"
start_relay small "file:$NR_TMP/small.queue size=1M"
send_one || fail "message into the 1 MiB queue" "$NR_TMP/small.log"
nr_stop_pid "$RELAY_PID"
expect_eq "new 1 MiB queue: 4 KiB sectors" 12 "$(shift_at "$NR_TMP/small.queue" 0)"
for q in 64M:18:256 256M:20:1024; do # size, log2 of the sector, in KiB
	IFS=: read -r size shift kib <<<"$q"
	start_relay "q$size" "file:$NR_TMP/q$size.queue size=$size"
	send_one || fail "message into the $size queue" "$NR_TMP/q$size.log"
	nr_stop_pid "$RELAY_PID"
	expect_eq "new $size queue: $kib KiB sectors" "$shift" "$(shift_at "$NR_TMP/q$size.queue" 0)"
	start_relay "q${size}2" "file:$NR_TMP/q$size.queue size=$size"
	expect_eq "the $kib KiB queue's message survives a restart" 1 "$(pending "$NR_TMP/q${size}2.log")"
	nr_stop_pid "$RELAY_PID"
	rm -f "$NR_TMP/q$size.queue"
done

# 2. An 8 MiB file formatted with 4 KiB sectors (as before large sectors
#    existed): one empty sector 0, header as FORMAT.md section 1.1 says.
"$NR_PY" - "$NR_TMP/old.queue" <<'EOF'
import struct, sys, zlib
size, sector = 8 << 20, 4096
h = struct.pack("<IBBBBIIIQ", 0x3151524E, 1, 12, 0, 0xFF, 1, 1, 1, 1)
h += struct.pack("<I", zlib.crc32(h))
data = bytearray(b"\xff" * size)
data[:len(h)] = h
open(sys.argv[1], "wb").write(data)
EOF
start_relay old "file:$NR_TMP/old.queue size=8M"
check "the old file is recovered, not refused" grep -Eq "queue: file, [0-9]+ bytes, 0 messages pending" "$NR_TMP/old.log"
send_one || fail "message into the old queue" "$NR_TMP/old.log"
nr_stop_pid "$RELAY_PID"
expect_eq "old queue keeps 4 KiB sectors" 12 "$(shift_at "$NR_TMP/old.queue" 0)"
expect_eq "the 70 KB message spans 4 KiB sectors (header at 8 KiB)" 12 \
	"$(shift_at "$NR_TMP/old.queue" 8192)"
start_relay old2 "file:$NR_TMP/old.queue size=8M"
expect_eq "after a restart the message is still there" 1 "$(pending "$NR_TMP/old2.log")"
nr_stop_pid "$RELAY_PID"
start_relay big2 "file:$NR_TMP/big.queue size=8M"
expect_eq "the 64 KiB queue's message survives a restart" 1 "$(pending "$NR_TMP/big2.log")"
nr_stop_pid "$RELAY_PID"
for l in big small q64M q64M2 q256M q256M2 old old2 big2; do
	check_not "$l: no sanitizer report" grep -q "Sanitizer" "$NR_TMP/$l.log"
done
nr_done
