#!/usr/bin/env bash
# A router booted for real, and power cuts on it (issue 18).
#
#   tests/system/qemu-router.sh ARCH        ARCH: x86_64 or mipsel
#
# Boots Debian's own kernel package for ARCH under qemu-system (TCG) with an
# initramfs built here from that architecture's busybox-static and our static
# nanorelay: nothing else, a BusyBox userland. BusyBox init starts nanorelay
# through configs/nanorelay.init. Its queue sits on a virtual disk that keeps
# its bytes across boots: `mtd:` on a block2mtd device (NR_ROUTER_QUEUE=mtd,
# the default once the mtd backend is built) or a file on ext4 (=file). Inside
# the guest (tests/system/guest/) numbered messages go in over SMTP (odd
# numbers) and through sendmail (even), and the relay delivers them to a
# small sink on 127.0.0.1:2526; no traffic leaves the guest. The console
# says "NR SENT n", "NR ACK n md5" (after the 250 / sendmail's exit 0) and
# "NR DLV n md5" (the sink, before its 250).
#
# Round r boots with a burst from r*1000 and kills QEMU (SIGKILL: the power
# cut) at a random moment of it; the next boot recovers from the same disk.
# A last boot drains the queue. Then, byte for byte (md5 of the body against
# the host's own copy, tests/system/guest/msg):
#   - every acknowledged message was delivered;
#   - nothing delivered was never sent, and every delivered body is intact;
#   - the ring's erase counts stay even (when `status` shows them).
# block2mtd is not write-through like real NOR: its writes and erases sit in
# the guest's page cache of /dev/vda until a sync (mtdchar's close calls
# mtd_sync, block2mtd's sync_blockdev). A backend whose sync does nothing
# loses acknowledged messages here, as it would on any block2mtd router.
# One more boot kills the relay with kill -9 during a burst (NR_ROUTER_KILL9
# times, default 2) and restarts it through the init script.
#
# Env: NR_ROUTER_ROUNDS (default 3, a sample; 10 or more is the full run),
# NR_ROUTER_BURST (messages per round, default 24), NR_ROUTER_SEED,
# NR_ROUTER_WORK (default build-router). Needs (tests/packages/router.txt):
# qemu-system-x86 / qemu-system-mips, cpio, kmod (depmod), e2fsprogs,
# the cross compiler for mipsel and the target's libmbedtls-dev/libc-ares-dev
# (dpkg --add-architecture mipsel). Last line: `router ARCH: N passed, M failed`.
set -euo pipefail
arch=${1:?usage: qemu-router.sh x86_64|mipsel}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${NR_ROUTER_WORK:-$root/build-router}" && cd "${NR_ROUTER_WORK:-$root/build-router}" && pwd)
rounds=${NR_ROUTER_ROUNDS:-3}
burst=${NR_ROUTER_BURST:-24}
kill9=${NR_ROUTER_KILL9:-2}
seed=${NR_ROUTER_SEED:-$$}
RANDOM=$seed
passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "router $arch: ok   $*"
}
bad() {
	failed=$((failed + 1))
	echo "router $arch: FAIL $*"
}
finish() {
	echo "router $arch: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

case $arch in
x86_64)
	deb_arch=amd64 flavour=amd64 triplet=x86_64-linux-gnu
	qemu=(qemu-system-x86_64 -M pc -m 256 -drive "file=@DISK@,if=virtio,format=raw")
	console=ttyS0
	mods=(virtio_pci virtio_blk)
	;;
mipsel)
	deb_arch=mipsel flavour=4kc-malta triplet=mipsel-linux-gnu
	qemu=(qemu-system-mipsel -M malta -cpu 24Kf -m 256 -drive "file=@DISK@,if=virtio,format=raw")
	console=ttyS0
	mods=(virtio_pci virtio_blk)
	;;
*)
	echo "qemu-router: unknown ARCH $arch (x86_64 or mipsel)" >&2
	exit 2
	;;
esac
a=$work/$arch
mkdir -p "$a" "$work/debs"

# ---- Debian's kernel and busybox-static for ARCH ----------------------------
fetch_deb() { # package -> path of its .deb in $work/debs
	local f
	f=$(find "$work/debs" -name "${1%%:*}_*_$deb_arch.deb" | sort | tail -n1)
	if [ -z "$f" ]; then
		(cd "$work/debs" && apt-get download "$1" >/dev/null 2>&1) || {
			echo "qemu-router: cannot download $1 (for mipsel: dpkg --add-architecture mipsel; apt-get update)" >&2
			return 1
		}
		f=$(find "$work/debs" -name "${1%%:*}_*_$deb_arch.deb" | sort | tail -n1)
	fi
	echo "$f"
}
if [ ! -f "$a/kernel/.done" ]; then
	kpkg=$(apt-cache depends "linux-image-$flavour:$deb_arch" 2>/dev/null |
		sed -n 's/.*Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n1)
	[ -n "$kpkg" ] || {
		echo "qemu-router: no linux-image-$flavour:$deb_arch in the apt lists" >&2
		exit 1
	}
	rm -rf "$a/kernel"
	dpkg-deb -x "$(fetch_deb "$kpkg:$deb_arch")" "$a/kernel"
	dpkg-deb -x "$(fetch_deb "busybox-static:$deb_arch")" "$a/kernel/bb"
	touch "$a/kernel/.done"
fi
kver=$(basename "$(ls -d "$a"/kernel/lib/modules/*)")
vmlinuz=$(ls "$a"/kernel/boot/vmlinu*-"$kver")
[ -f "$a/kernel/lib/modules/$kver/modules.dep" ] || depmod -b "$a/kernel" "$kver"

# ---- our static binary for ARCH ------------------------------------------
bin=$a/nr/nanorelay
if [ ! -f "$a/nr/build.ninja" ]; then
	lib=/usr/lib/$triplet
	echo 'set(CMAKE_FIND_LIBRARY_SUFFIXES .a)' >"$a/static-only.cmake"
	cross=()
	if [ "$arch" != x86_64 ]; then
		cat >"$a/toolchain.cmake" <<-EOF
			set(CMAKE_SYSTEM_NAME Linux)
			set(CMAKE_SYSTEM_PROCESSOR $arch)
			set(CMAKE_C_COMPILER $triplet-gcc)
			set(CMAKE_LIBRARY_ARCHITECTURE $triplet)
			set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
			set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig)
		EOF
		cross=(-DCMAKE_TOOLCHAIN_FILE="$a/toolchain.cmake" -DMBEDTLS_INCLUDE_DIR=/usr/include)
	fi
	cmake -S "$root" -B "$a/nr" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel "${cross[@]}" \
		-DNR_DEFCONFIG="$root/configs/busybox_defconfig" -DCMAKE_PROJECT_INCLUDE="$a/static-only.cmake" \
		-DMBEDTLS_LIB="$lib/libmbedtls.a" -DMBEDX509_LIB="$lib/libmbedx509.a" \
		-DMBEDCRYPTO_LIB="$lib/libmbedcrypto.a" >"$a/cmake.log" 2>&1 ||
		{ cat "$a/cmake.log" >&2; exit 1; }
fi
# always: an incremental build picks up changes to the source
cmake --build "$a/nr" -j"${JOBS:-2}" --target nanorelay >>"$a/cmake.log" 2>&1 ||
	{ tail -n 30 "$a/cmake.log" >&2; exit 1; }
if readelf -l "$bin" | grep -q INTERP; then
	bad "binary: $bin is not static"
	finish
fi

# ---- the queue backend ---------------------------------------------------
# mtd: when this build has the mtd backend (CONFIG_NR_STORE_MTD); else a file.
queue=${NR_ROUTER_QUEUE:-}
if [ -z "$queue" ]; then
	queue="file"
	grep -q '^CONFIG_NR_STORE_MTD=y' "$a/nr/.config" && queue=mtd
fi

# ---- the initramfs ----------------------------------------------------------
rootfs=$a/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,etc/init.d,usr/sbin,lib/modules,dev}
cp "$a/kernel/bb/bin/busybox" "$rootfs/bin/busybox"
cp "$bin" "$rootfs/usr/sbin/nanorelay"
ln -s nanorelay "$rootfs/usr/sbin/sendmail"
ln -s ../usr/sbin/nanorelay "$rootfs/bin/nanorelay"
cp "$root/configs/nanorelay.init" "$rootfs/etc/init.d/nanorelay"
g=$root/tests/system/guest
cp "$g/init" "$rootfs/init"
cp "$g/rcS" "$g/run" "$g/inittab" "$g/msg" "$g/nanorelay.conf.in" "$rootfs/etc/"
cp "$g/sink" "$g/smtpc" "$rootfs/bin/"
# kernel modules and their dependencies, in load order (from modules.dep)
case $queue in
mtd) mods+=(block2mtd) ;;
*) mods+=(ext4) ;;
esac
moddir=$a/kernel/lib/modules/$kver
declare -A seen=()
order=()
add_mod() { # path relative to $moddir
	local m=$1 d
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	for d in $(sed -n "s|^$m: *||p" "$moddir/modules.dep"); do
		add_mod "$d"
	done
	order+=("$m")
}
for m in "${mods[@]}"; do
	p=$(sed -n "s|^\(.*/$m\.ko\):.*|\1|p" "$moddir/modules.dep")
	if [ -z "$p" ]; then
		grep -q "/$m\.ko\$" "$moddir/modules.builtin" || { echo "qemu-router: module $m not in $kver" >&2; exit 1; }
		continue
	fi
	add_mod "$p"
done
[ "$queue" = file ] && grep -q '/crc32c_generic\.ko:' "$moddir/modules.dep" &&
	add_mod "$(sed -n 's|^\(.*/crc32c_generic\.ko\):.*|\1|p' "$moddir/modules.dep")"
: >"$rootfs/etc/modules.order"
for m in "${order[@]}"; do
	cp "$moddir/$m" "$rootfs/lib/modules/"
	basename "$m" >>"$rootfs/etc/modules.order"
done
(cd "$rootfs" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$a/initrd.gz"
echo "router $arch: kernel $kver, initramfs $(stat -c %s "$a/initrd.gz") bytes, queue $queue, nanorelay $(stat -c %s "$bin") bytes, seed $seed"

# ---- the disk: erased flash, or an ext4 file system -------------------------
disk=$a/disk.img
rm -f "$disk"
if [ "$queue" = mtd ]; then
	head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' '\377' >"$disk"
else
	truncate -s 32M "$disk"
	mke2fs -q -F -t ext4 "$disk"
fi
qemu_cmd=("${qemu[@]/@DISK@/$disk}")

# boot LOG TIMEOUT_S KILL_AFTER_START(s, or "") CMDLINE...: run one boot, with
# a power cut KILL_AFTER_START seconds after "NR BURST-START" when given.
boot() {
	local log=$1 limit=$2 cut=$3 pid state=timeout
	shift 3
	: >"$log"
	"${qemu_cmd[@]}" -kernel "$vmlinuz" -initrd "$a/initrd.gz" -nic none -no-reboot \
		-display none -monitor none -serial "file:$log" \
		-append "console=$console quiet loglevel=3 panic=-1 $*" &
	pid=$!
	local deadline=$((SECONDS + limit)) started=""
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -9 "$pid" 2>/dev/null || true
			break
		fi
		if [ -n "$cut" ] && [ -z "$started" ] && grep -q '^NR BURST-START' "$log"; then
			started=1
			sleep "$cut"
			kill -9 "$pid" 2>/dev/null || true
			state="cut"
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
	[ "$state" = timeout ] && grep -q '^NR DRAINED\|^NR BURST-END' "$log" && state="done"
	boot_state=$state
	boot_ready=$(sed -n 's/^NR READY \([0-9.]*\) pending=[0-9].*/\1/p' "$log" | head -n1)
	tr -d '\r' <"$log" >>"$a/console.log"
}

# ---- the rounds -------------------------------------------------------------
: >"$a/console.log"
echo "router $arch: $rounds power-cut rounds of $burst messages$([ "$rounds" -lt 10 ] && echo " (a sample: NR_ROUTER_ROUNDS=10 for the full run)")"
for r in $(seq 1 "$rounds"); do
	cut=$(printf '%d.%02d' $((RANDOM % 6)) $((RANDOM % 100)))
	boot "$a/round$r.log" 300 "$cut" nr.queue=$queue nr.mode=burst nr.base=$((r * 1000)) nr.count=$burst
	acks=$(grep -c "^NR ACK ${r}[0-9][0-9][0-9] " "$a/round$r.log" || true)
	pend=$(sed -n 's/^NR READY .*pending=\([0-9]*\).*/\1/p' "$a/round$r.log")
	if [ -n "$boot_ready" ]; then
		ok "round $r: booted (relay ready at ${boot_ready}s guest uptime), recovered ${pend:-?} pending, cut ${cut}s into the burst after $acks acknowledged"
	else
		bad "round $r: the relay never came up ($(grep '^NR FAIL' "$a/round$r.log" | head -n3 | tr '\n' ' ')); see $a/round$r.log"
	fi
done
boot "$a/kill9.log" 400 "" nr.queue=$queue nr.mode=burst nr.base=90000 nr.count=$burst nr.kill9=$kill9
k9=$(grep -c '^NR KILL9' "$a/kill9.log" || true)
if [ "$boot_state" = "done" ] && [ "$k9" -ge 1 ]; then
	ok "kill -9: $k9 kills of the relay during a burst of $burst, $(grep -c '^NR ACK ' "$a/kill9.log" || true) acknowledged"
else
	bad "kill -9 boot: state $boot_state, $k9 kills; see $a/kill9.log"
fi
boot "$a/drain.log" 400 "" nr.queue=$queue nr.mode=drain
drained_at=$boot_ready
if [ "$boot_state" = "done" ] && grep -q '^NR DRAINED pending=0' "$a/drain.log"; then
	ok "drain: recovered $(sed -n 's/^NR READY .*pending=\([0-9]*\).*/\1/p' "$a/drain.log") pending after the last cut, queue empty"
else
	bad "drain: state $boot_state, $(grep '^NR DRAINED' "$a/drain.log" || echo 'no DRAINED line'); see $a/drain.log"
fi

# ---- the checks, byte for byte -----------------------------------------------
. "$g/msg"
declare -A sent=() ack=() dlv=()
while read -r _ what n s; do
	case $what in
	SENT) sent[$n]=1 ;;
	ACK) ack[$n]=$s ;;
	DLV) dlv[$n]=$((${dlv[$n]:-0} + 1)) ;;
	esac
done < <(grep -a '^NR \(SENT\|ACK\|DLV\) ' "$a/console.log")
bad_sum=0 bad_ack=0 lost=0 ghost=0 dups=0 inflight=0
while read -r _ _ n s; do
	[ "$s" = "$(sum "$n")" ] || {
		bad_sum=$((bad_sum + 1))
		echo "router $arch: delivered body of $n differs: $s"
	}
done < <(grep -a '^NR DLV ' "$a/console.log")
for n in "${!ack[@]}"; do
	[ "${ack[$n]}" = "$(sum "$n")" ] || bad_ack=$((bad_ack + 1))
	[ -n "${dlv[$n]:-}" ] || {
		lost=$((lost + 1))
		echo "router $arch: acknowledged $n was never delivered"
	}
done
for n in "${!dlv[@]}"; do
	[ -n "${sent[$n]:-}" ] || {
		ghost=$((ghost + 1))
		echo "router $arch: $n delivered but never sent"
	}
	if [ -z "${ack[$n]:-}" ]; then inflight=$((inflight + 1)); fi
	if [ "${dlv[$n]}" -gt 1 ]; then dups=$((dups + ${dlv[$n]} - 1)); fi
done
nack=${#ack[@]} ndlv=${#dlv[@]}
[ "$lost" -eq 0 ] && [ "$nack" -gt 0 ] && ok "every one of $nack acknowledged messages was delivered ($ndlv distinct delivered)" ||
	bad "$lost of $nack acknowledged messages lost"
[ "$bad_sum" -eq 0 ] && [ "$bad_ack" -eq 0 ] && ok "every delivered body matches the host's copy byte for byte" ||
	bad "$bad_sum delivered bodies and $bad_ack acknowledged sums differ"
[ "$ghost" -eq 0 ] && ok "nothing delivered that was not sent ($inflight sent in the cut's instant, delivered without an ack seen)" ||
	bad "$ghost delivered messages were never sent"
echo "router $arch: duplicates after cuts: $dups (delivery is at least once)"
erase=$(sed -n 's/^NR STATUS .*erased \([0-9]*\) to \([0-9]*\) times.*/\1 \2/p' "$a/drain.log" | head -n1)
if [ -n "$erase" ]; then
	set -- $erase
	if [ $(($2 - $1)) -le 1 ]; then
		ok "erase counts even: every sector erased $1 to $2 times ($(grep -a '^NR STATUS *sectors:' "$a/drain.log" | sed 's/^NR STATUS *//'))"
	else
		bad "erase counts uneven: $1 to $2 erases per sector"
	fi
else
	echo "router $arch: erase counts: not shown by status on the $queue backend"
fi
echo "router $arch: boot to relay ready: ${drained_at:-?}s guest uptime (TCG)"
finish
