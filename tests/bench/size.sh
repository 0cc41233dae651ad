#!/usr/bin/env bash
# The size table (issue 17): text, data and bss of each build of nanorelay,
# split into our code by module (src/<module>, platform/<shim>), mbedTLS,
# c-ares and libc. Not a timed test: it measures builds that already exist
# and builds nothing itself (tests/all.sh runs it after the compat stage).
#
#   tests/bench/size.sh [GLIBC_BUILD_DIR [MUSL_BUILD_DIR [M4_BUILD_DIR]]]
#       defaults: build/ (the normal build), build-compat/nr-musl/
#       (tests/compat/musl-static.sh: static musl, -Os, mbedTLS 2.28 with
#       configs/mbedtls/nanorelay-2.28.h, c-ares 1.34) and build-m4/ (the
#       Cortex-M4 firmware, tests/rtos/qemu-m4.sh: firmware-m4.elf)
#
# How: the program's final link command (ninja -t commands) is run once more
# into a scratch file with -Wl,-Map; every input section the linker kept is
# counted for the object or archive member it came from, in the column of
# its output section (as size(1) counts: read-only allocated = text,
# writable with contents = data, no contents = bss). The rows add up to
# size(1)'s line for the whole program, printed below them as the check.
# Shared libraries (the glibc build) are not in the map: their rows give
# size(1) of the whole .so, marked "shared", and are not in the total.
#
# A build that is missing is reported as such; the exit status is non-zero
# only when a build that exists cannot be measured. The 400 KB budget of the
# static build is reported, not enforced.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
glibc_dir=${1:-$root/build}
musl_dir=${2:-$root/build-compat/nr-musl}
m4_dir=${3:-$root/build-m4}
PY=/usr/bin/python3
musl_budget=$((400 * 1024))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

# relink DIR OUT PROG: link DIR's PROG again into OUT with a map (OUT.map).
# A link-time optimised program (-flto: the static musl build and the
# firmware, fat objects) is linked again without LTO, from the ordinary code
# of its fat objects: LTO merges every module into its own partitions, so the
# map no longer says which module a byte came from. OUT.lto marks it; the
# table's note says so, and the program's own size(1) line follows the rows.
relink() {
	local dir=$1 out=$2 prog=$3 cmd
	cmd=$(ninja -C "$dir" -t commands "$prog" 2>/dev/null | tail -n 1)
	[[ $cmd == *" -o $prog "* ]] || { echo "size: no link command for $dir/$prog" >&2; return 1; }
	cmd=${cmd/ -o $prog / -o $out -Wl,-Map=$out.map }
	rm -f "$out.lto"
	if [[ $cmd == *" -flto"* ]]; then
		cmd=${cmd/ -o $out / -fno-lto -o $out }
		touch "$out.lto"
	fi
	(cd "$dir" && eval "$cmd") >"$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
}

# table TITLE DIR [PROG]: relink, then print the rows (PROG: nanorelay).
table() {
	local title=$1 dir=$2 prog=${3:-nanorelay} out
	out=$tmp/$(basename "$2")
	echo "size: $title ($dir)"
	if [ ! -x "$dir/$prog" ] || [ ! -f "$dir/build.ninja" ]; then
		echo "  not built"
		return 0
	fi
	relink "$dir" "$out" "$prog" || { rc=1; return 1; }
	[ -f "$out.lto" ] && echo "  (built with LTO: the rows are its objects linked without LTO; the image as built is below)"
	"$PY" - "$dir" "$out" "$root" "$prog" <<'EOF' || rc=1
import json, os, re, subprocess, sys

build, binary, root, prog = sys.argv[1:5]
lto = " -flto" in subprocess.run(["ninja", "-C", build, "-t", "commands", prog],
                                 capture_output=True, text=True).stdout.splitlines()[-1]

# Output sections -> size(1)'s columns, and their sizes.
column, out_size = {}, {}
for line in subprocess.run(["readelf", "-SW", binary], capture_output=True,
                           text=True, check=True).stdout.splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+([0-9a-f]+)\s+\S+\s+([A-Z]*)", line)
    if not m or "A" not in m.group(4):
        continue
    name, kind, size, flags = m.groups()
    column[name] = 2 if kind == "NOBITS" else 1 if "W" in flags else 0
    out_size[name] = int(size, 16)

# The Cortex-M4 image's self-test (its client and smarthost tasks, their
# buffers): in the image, but not the relay, so not in "our code".
SELFTEST = ("m4_main.c.", "m4_smarthost.c.")
SELFTEST_ROW = "self-test tasks (m4_main, m4_smarthost)"

# Our objects by base name -> row (src/<module>, platform/<shim>); archive
# members are named by base name only in the map.
ours = {}
for top, _, files in os.walk(build):
    rel = os.path.relpath(top, build)
    m = re.search(r"\.dir/((?:src|platform)/[^/]+)", rel)
    if m:
        for f in files:
            if f.startswith(SELFTEST):
                ours[f] = SELFTEST_ROW
            elif f.endswith((".o", ".obj")):  # .obj: a Generic (bare-metal) cross build
                ours[f] = m.group(1)

def row_of(origin):
    m = re.match(r"(.*\.a)\((.*)\)$", origin)
    lib, member = (m.group(1), m.group(2)) if m else (None, origin)
    base = os.path.basename(member)
    libname = os.path.basename(lib or "")
    # The RTOS build's foreign libraries (before the base-name lookup: lwIP
    # has file names that src/ has too).
    if libname == "libnrlwip.a":
        return "lwIP"
    if libname == "libnrfreertos.a":
        return "FreeRTOS"
    if libname == "libnrmbedtls.a":  # cmake/mbedtls-src.cmake (the firmware)
        return "mbedTLS"
    if lib is None or os.path.basename(lib).startswith("libnr"):
        if base in ours:
            return ours[base]
    name = os.path.basename(lib or origin)
    if name.startswith("libmbed"):
        return "mbedTLS"
    if name.startswith("libcares"):
        return "c-ares"
    if name.startswith(("libgcc", "crtbegin", "crtend")):
        return "compiler runtime (libgcc)"
    if name in ("libc.a", "libc_nonshared.a", "libpthread.a", "libm.a", "libc_nano.a",
                "libg_nano.a", "libm_nano.a", "libnosys.a") or \
       re.match(r"(S|g)?crt[01in]\.o$", name) or "/musl/" in origin or "/newlib/" in origin:
        return "libc"
    return LINKER

# What the linker makes for the whole program (dynamic symbols and
# relocations, PLT and GOT, notes, padding): the map names the first input
# file as their origin (crt1.o), but they belong to no library.
LINKER = "linker (dyn. symbols, relocs, padding)"
linker_made = re.compile(r"\*fill\*|\.interp|\.note|\.hash|\.gnu\.hash|\.dyn|\.gnu\.version|\.rela|"
                         r"\.plt|\.got|\.eh_frame_hdr")
sizes = {}
in_size = {}
section = None
pending = None   # an input section whose address and size are on the next line
started = False
with open(binary + ".map") as f:
    for line in f:
        if not started:
            started = line.startswith("Linker script and memory map")
            continue
        m = re.match(r"(\S+)(?:\s+0x[0-9a-f]+\s+0x[0-9a-f]+.*)?$", line)
        if m and not line[0].isspace():
            section = m.group(1)
            continue
        if section not in column:
            continue
        m = re.match(r" (\*fill\*|\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)(?:\s+(.*))?$", line)
        if m:
            name, size, origin = m.group(1), int(m.group(2), 16), m.group(3)
        elif pending is not None:
            m = re.match(r"\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(.*)$", line)
            name, size, origin = pending, int(m.group(1), 16) if m else 0, m.group(2) if m else None
        else:
            m = re.match(r" ([.*]\S*)$", line)
            pending = m.group(1) if m and not m.group(1).startswith("*(") else None
            continue
        pending = None
        if name.startswith("*(") or size == 0:
            continue
        row = row_of(origin) if origin and not linker_made.match(name) else LINKER
        sizes.setdefault(row, [0, 0, 0])[column[section]] += size
        in_size[section] = in_size.get(section, 0) + size

# What the linker added or merged away (.eh_frame's shared entries,
# headers it makes): the difference between each output section and its
# inputs, so that the rows add up to the program.
for section, size in out_size.items():
    sizes.setdefault(LINKER, [0, 0, 0])[column[section]] += \
        size - in_size.get(section, 0)

def kb(n):
    return f"{n / 1024:.1f}"

def line(label, v, note=""):
    print(f"  {label:<40}{v[0]:>9}{v[1]:>9}{v[2]:>9}  {kb(v[0] + v[1]):>6} KiB{note}")

print(f"  {'':<40}{'text':>9}{'data':>9}{'bss':>9}  text+data")
total = [0, 0, 0]
own = [0, 0, 0]
for row in sorted(r for r in sizes if r.startswith(("src/", "platform/"))):
    line(row, sizes[row])
    own = [a + b for a, b in zip(own, sizes[row])]
line("our code (all of the above)", own)
for row in (SELFTEST_ROW, "mbedTLS", "lwIP", "FreeRTOS", "c-ares", "libc", "compiler runtime (libgcc)", LINKER):
    if row in sizes:
        line(row, sizes[row])
for v in sizes.values():
    total = [a + b for a, b in zip(total, v)]
line("total", total)
out = subprocess.run(["size", binary], capture_output=True, text=True, check=True).stdout
check = [int(x) for x in out.splitlines()[1].split()[:3]]
label = "size(1) of the link without LTO" if lto else "size(1) of the program"
print(f"  {label:<40}{check[0]:>9}{check[1]:>9}{check[2]:>9}")
if check != total:
    print("size: the rows do not add up to size(1)'s line", file=sys.stderr)
    sys.exit(1)
if lto:
    out = subprocess.run(["size", os.path.join(build, prog)], capture_output=True, text=True,
                         check=True).stdout
    real = [int(x) for x in out.splitlines()[1].split()[:3]]
    print(f"  {'size(1) of the program (LTO)':<40}{real[0]:>9}{real[1]:>9}{real[2]:>9}  "
          f"{kb(real[0] + real[1]):>6} KiB; LTO: "
          f"{kb(real[0] + real[1] - check[0] - check[1])} KiB")
if prog.endswith(".elf"):  # firmware: issue 17's code budgets (text, -Os Thumb-2)
    tls = sizes.get("mbedTLS", [0, 0, 0])
    lto = os.path.exists(binary + ".lto")
    how = " (the rows, without LTO)" if lto else ""
    for label, n, budget in (("our code", own[0], 64), ("our code + mbedTLS", own[0] + tls[0], 180)):
        verdict = "met" if n <= budget * 1024 else "MISSED"
        print(f"  {label} text: {kb(n)} KiB; budget {budget} KiB: {verdict}{how}")
    # For the RAM line below: the self-test's own static buffers.
    with open(binary + ".rows.json", "w") as f:
        json.dump({"selftest": sizes.get(SELFTEST_ROW, [0, 0, 0])}, f)
EOF
}

# shared DIR: the shared libraries the program loads (whole files).
shared() {
	local lib path
	for lib in $(readelf -dW "$1/nanorelay" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64bit/ { print $NF; exit }')
		[ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
		[ -n "$path" ] || continue
		size "$path" | awk -v l="$lib" 'NR == 2 { printf "  %-40s%9d%9d%9d  %6.1f KiB (shared, whole library; not in the total)\n", l, $1, $2, $3, ($1 + $2) / 1024 }'
	done
}

table "static musl x86-64, TLS + DNS (busybox_defconfig, -Os, LTO)" "$musl_dir"
if [ -x "$musl_dir/nanorelay" ]; then
	strip -o "$tmp/stripped" "$musl_dir/nanorelay"
	bytes=$(stat -c %s "$tmp/stripped")
	verdict=met
	[ "$bytes" -le "$musl_budget" ] ||
		verdict="MISSED by $(((bytes - musl_budget + 1023) / 1024)) KiB (why: README, \"A static binary for BusyBox systems\")"
	echo "  stripped file: $bytes bytes ($((bytes / 1024)) KiB); budget 400 KiB: $verdict"
fi
echo
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[^=]*=//p' "$glibc_dir/CMakeCache.txt" 2>/dev/null)
table "glibc x86-64, TLS + DNS (linux_defconfig, ${bt:-RelWithDebInfo})" "$glibc_dir"
[ -x "$glibc_dir/nanorelay" ] && shared "$glibc_dir"
echo
# ---- Cortex-M4 image (issue 17, items 2-3) ----------------------------------
# firmware-m4.elf of tests/rtos/qemu-m4.sh (-Os Thumb-2, newlib-nano). Its
# bss holds two arrays that are not the relay's RAM: FreeRTOS's heap_4 array
# (what is used of it is the self-test's "heap ... lowest" line) and the RAM
# flash region that stands in for the board's queue flash.
table "Cortex-M4 image (rtos_cortex_m4_defconfig, mps2-an386, -Os Thumb-2)" "$m4_dir" firmware-m4.elf
if [ -x "$m4_dir/firmware-m4.elf" ]; then
	"$PY" - "$m4_dir/firmware-m4.elf" "$tmp/$(basename "$m4_dir").rows.json" "$m4_dir/qemu-m4.log" <<'EOF' || rc=1
import json, os, re, subprocess, sys
elf, rows, log = sys.argv[1:4]
syms = {}
for line in subprocess.run(["nm", "-S", elf], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    f = line.split()
    if len(f) == 4:
        syms[re.sub(r"\.lto_priv\.\d+$", "", f[3])] = int(f[1], 16)
text, data, bss = [int(x) for x in subprocess.run(["size", elf], capture_output=True, text=True,
                   check=True).stdout.splitlines()[1].split()[:3]]
heap, flash = syms.get("ucHeap", 0), syms.get("region", 0)
selftest = json.load(open(rows))["selftest"] if os.path.exists(rows) else [0, 0, 0]
kb = lambda n: f"{n / 1024:.1f} KiB"
print(f"  the image as built (size(1)): text {text}, data {data}, bss {bss}")
print(f"  flash (text + data): {kb(text + data)}; budget 256 KiB: "
      f"{'met' if text + data <= 256 * 1024 else 'MISSED'}")
static = data + bss - heap - flash - selftest[1] - selftest[2]
print(f"  static RAM (data + bss) without the heap_4 array ({kb(heap)}), the RAM flash "
      f"({kb(flash)}) and the self-test's buffers ({kb(selftest[1] + selftest[2])}): {kb(static)}")
# The relay's heap and stacks, from the self-test's last run (qemu-m4.sh):
# m4_board.c's "ram:" line (the relay task's own allocations at their peak,
# over both boots of the run; the stacks of the tasks the relay needs).
m = None
if os.path.exists(log):
    for line in open(log, errors="replace"):
        m = re.match(r"ram: relay heap peak (\d+) bytes.*stacks (\d+) bytes", line.strip()) or m
if m:
    relay_heap, stacks = int(m.group(1)), int(m.group(2))
    ram = static + relay_heap + stacks
    print(f"  RAM with two SMTP sessions and one delivery: {kb(ram)} = static {kb(static)} + "
          f"the relay's heap peak {kb(relay_heap)} + stacks {kb(stacks)} (qemu-m4.log); "
          f"budget 96 KiB: {'met' if ram <= 96 * 1024 else 'MISSED'}")
else:
    print("  RAM: run tests/rtos/qemu-m4.sh for the relay's heap peak (no ram: line in qemu-m4.log)")
EOF
fi
exit $rc
