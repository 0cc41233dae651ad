#!/usr/bin/env bash
# stack.sh - stack and RAM of the core at the RTOS defaults, measured.
#
# Builds the tree once (-Os, gcc -fstack-usage -fcallgraph-info=su) with the
# limits Kconfig gives an RTOS build (NR_PLATFORM_RTOS's defaults, computed
# by kconfiglib, applied to the host's Linux shim so it builds anywhere),
# then prints:
#   - the 20 largest stack frames in the core library (libnrcore);
#   - the deepest call paths through the core (static frames summed along
#     the call graph gcc wrote; calls through function pointers and into
#     the C, TLS and DNS libraries are not followed, recursion is cut), the
#     relay's apart from the POSIX front ends';
#   - RAM per session and for an idle relay (tests/unit/sizes).
# Figures are for the host's ABI (x86-64: 8-byte pointers); a 32-bit MCU
# needs less. Not a timed test: CI runs it once (tests/all.sh).
# Usage: tests/bench/stack.sh [BUILD_DIR]   (default build-stack)
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
dir=${1:-build-stack}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# The RTOS defaults of every int limit, as a defconfig for the Linux shim.
/usr/bin/python3 - "$top/Kconfig" >"$dir/rtos-limits_defconfig" <<'PY'
import sys, kconfiglib
kc = kconfiglib.Kconfig(sys.argv[1], warn=False)
for name in ("NR_PLATFORM_RTOS",):
    if name in kc.syms:
        kc.syms[name].set_value(2)
for s in kc.unique_defined_syms:
    if s.type == kconfiglib.INT and s.str_value:
        print(f"CONFIG_{s.name}={s.str_value}")
PY

cmake -S "$top" -B "$dir" -G Ninja -DNR_TESTS=ON -DCMAKE_BUILD_TYPE=MinSizeRel \
	-DNR_DEFCONFIG="$dir/rtos-limits_defconfig" \
	-DCMAKE_C_FLAGS="-fstack-usage -fcallgraph-info=su" >"$dir/configure.log" 2>&1 ||
	{ cat "$dir/configure.log"; exit 1; }
cmake --build "$dir" -j "${JOBS:-2}" >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log"; exit 1; }

echo "== limits (RTOS defaults)"
sed 's/^CONFIG_//' "$dir/rtos-limits_defconfig" | paste -sd' ' | fold -s -w 100

/usr/bin/python3 - "$dir/CMakeFiles/nrcore.dir" "$top/" <<'PY'
import os, re, sys
root, top = sys.argv[1], sys.argv[2]
frames = []  # (bytes, kind, function, where)
nodes, edges, srcfile = {}, {}, {}
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if f.endswith(".su"):
            for line in open(p):
                loc, size, kind = line.rstrip("\n").split("\t")
                where, func = loc.rsplit(":", 1)
                frames.append((int(size), kind, func, where.replace(top, "")))
        elif f.endswith(".ci"):
            text = open(p).read()
            for m in re.finditer(r'node: \{ title: "([^"]+)" label: "([^"]*)"', text):
                sz = re.search(r"(\d+) bytes", m.group(2))
                name = m.group(1)
                parts = m.group(2).split("\\n")
                if sz or name not in nodes:
                    nodes[name] = (int(sz.group(1)) if sz else 0, parts[0])
                if sz and len(parts) > 1:
                    srcfile[name] = parts[1].replace(top, "")
            for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
                edges.setdefault(m.group(1), set()).add(m.group(2))

print("== the 20 largest stack frames in the core (bytes, -Os)")
for size, kind, func, where in sorted(frames, reverse=True)[:20]:
    print(f"{size:7d}  {func:<40} {where} ({kind})")

memo, onpath = {}, set()
def deepest(n):
    if n in memo:
        return memo[n]
    if n in onpath:  # recursion: cut here
        return (0, [])
    onpath.add(n)
    best = (0, [])
    for t in edges.get(n, ()):
        best = max(best, deepest(t), key=lambda x: x[0])
    onpath.discard(n)
    own = nodes.get(n, (0, n))[0]
    memo[n] = (own + best[0], [n] + best[1])
    return memo[n]

# The POSIX front ends (command line, sendmail, control client, OAuth2
# login) and Linux-only backends run in a process of their own, not in an
# RTOS task: their paths are listed apart.
front = re.compile(r"^src/(app/|sendmail/|ctl/ctl_client|oauth2/oauth2_login|store/store_mtd)")

def show(title, keep):
    print(title)
    roots = sorted(((deepest(n), n) for n in nodes if nodes[n][0] and keep(n)),
                   key=lambda x: -x[0][0])
    shown, seen = 0, set()
    for (total, path), n in roots:
        if path[0] in seen:
            continue
        seen.update(path)
        names = [nodes.get(x, (0, x))[1] for x in path if nodes.get(x, (0, x))[0]]
        print(f"{total:7d}  " + " > ".join(names))
        shown += 1
        if shown == 5:
            break

if nodes:
    show("== the deepest call paths of the relay (static frames summed; entered from the loop's callbacks)",
         lambda n: not front.match(srcfile.get(n, "")))
    show("== the deepest call paths of the POSIX front ends (not in an RTOS build)",
         lambda n: bool(front.match(srcfile.get(n, ""))))
PY

echo "== RAM at the RTOS defaults (tests/unit/sizes; x86-64 sizes)"
"$dir/tests/unit/sizes/test_sizes" | grep -E '^(session|session parts|idle relay|limits):'
