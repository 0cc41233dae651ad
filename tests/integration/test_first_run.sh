#!/usr/bin/env bash
# The first run (issue 20): the README's Quick start has exactly two one-line
# commands; the run command installs only the build dependencies (never an MTA
# or the test lab) and builds without the unit tests; tests/deps.sh puts a
# policy-rc.d in place only around its own apt-get and never leaves it behind
# (also when apt-get fails or deps.sh is interrupted), and leaves one that was
# already there alone. apt-get, dpkg-query and sudo are stand-ins here: nothing
# is installed on this machine.
. "$(dirname "$0")/lib/common.sh"

# ---- the README's Quick start
qs=$(sed -n '/^## Quick start/,/^## /p' "$NR_SRC/README.md")
mapfile -t cmds < <(grep '^    [^ ]' <<<"$qs" | sed 's/^    //')
expect_eq "the Quick start has exactly two commands" 2 "${#cmds[@]}"
run=${cmds[0]}
expect_match "the run command installs only the build dependencies" '^tests/deps\.sh --build && ' "$run"
expect_match "it builds without the unit tests" ' -DNR_TESTS=OFF ' "$run"
expect_match "then runs the relay in the foreground" '&& build/nanorelay -c configs/dev\.conf --foreground$' "$run"
expect_eq "the test command is tests/all.sh" "tests/all.sh" "${cmds[1]}"

# ---- what --build would install: the build list, no MTA
build_pkgs=$(sed 's/#.*//' "$NR_SRC/tests/packages/build.txt" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
mtas='^(postfix|exim4.*|sendmail.*|msmtp-mta|dma|nullmailer|opensmtpd|courier-mta|ssmtp|swaks|dnsmasq.*)$'
check_not "the build list names no MTA and no lab tool" grep -Eq "$mtas" <<<"$build_pkgs"
if command -v apt-cache >/dev/null && apt-cache show build-essential >/dev/null 2>&1; then
	# shellcheck disable=SC2086 # one package per word
	deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances $build_pkgs 2>/dev/null | sed -n 's/^ *\(Pre\)\{0,1\}Depends: //p' | sort -u)
	check_not "nothing the build list depends on is an MTA" grep -Eq '^<?mail-transport-agent>?$|^postfix$|^exim4' <<<"$deps"
fi

# ---- tests/deps.sh with stand-ins for apt-get, dpkg-query and sudo
fake="$NR_TMP/bin"
mkdir -p "$fake"
policy="$NR_TMP/policy-rc.d"
cat >"$fake/apt-get" <<SH
#!/bin/sh
# Record each call, and what policy-rc.d says while we run.
[ "\$1" = update ] && exit 0
echo "\$*" >"$NR_TMP/apt-args"
if [ -x "$policy" ]; then "$policy" postfix start; echo "policy \$?" >"$NR_TMP/apt-policy"
else echo "no policy" >"$NR_TMP/apt-policy"; fi
[ -n "\${FAKE_APT_SLEEP:-}" ] && { : >"$NR_TMP/apt-running"; sleep "\$FAKE_APT_SLEEP"; }
exit \${FAKE_APT_RC:-0}
SH
printf '#!/bin/sh\nexit 1\n' >"$fake/dpkg-query" # nothing is installed
printf '#!/bin/sh\nexec "$@"\n' >"$fake/sudo"
chmod +x "$fake"/*
deps() { PATH="$fake:$PATH" NR_POLICY_RC_D="$policy" "$NR_SRC/tests/deps.sh" "$@"; }
installed() { sed 's/^install -y -qq --no-install-recommends //' "$NR_TMP/apt-args" | tr ' ' '\n' | sort -u; }

rm -f "$policy" "$NR_TMP/apt-args"
check "deps.sh --build succeeds" deps --build
expect_eq "--build installs exactly the build list" "$build_pkgs" "$(installed)"
expect_eq "a policy-rc.d denied service starts during our apt-get" "policy 101" "$(cat "$NR_TMP/apt-policy")"
check_not "and is gone afterwards" test -e "$policy"
expect_eq "--print lists what --build would install" "$build_pkgs" "$(deps --build --print | sort -u)"

check "deps.sh (the whole lab, for tests/all.sh) succeeds" deps
check "the whole lab includes Postfix" grep -qx postfix <<<"$(installed)"
check_not "and no policy-rc.d is left behind" test -e "$policy"

FAKE_APT_RC=100 deps --build >"$NR_TMP/out" 2>&1
expect_eq "a failing apt-get fails deps.sh" 100 "$?"
check_not "and leaves no policy-rc.d behind" test -e "$policy"

FAKE_APT_SLEEP=2 PATH="$fake:$PATH" NR_POLICY_RC_D="$policy" "$NR_SRC/tests/deps.sh" --build >"$NR_TMP/out" 2>&1 &
dpid=$!
wait_for 10 "apt-get running" test -e "$NR_TMP/apt-running"
check "the policy-rc.d is in place while apt-get runs" test -x "$policy"
kill -TERM "$dpid"
wait "$dpid"
expect_eq "SIGTERM stops deps.sh (exit 130)" 130 "$?"
check_not "an interrupted deps.sh leaves no policy-rc.d behind" test -e "$policy"

printf '#!/bin/sh\n# the admin'"'"'s own\nexit 0\n' >"$policy"
chmod +x "$policy"
before=$(cat "$policy")
check "deps.sh with a policy-rc.d of the machine's own succeeds" deps --build
expect_eq "it runs under the machine's own policy" "policy 0" "$(cat "$NR_TMP/apt-policy")"
expect_eq "which it leaves exactly as it was" "$before" "$(cat "$policy")"
rm -f "$policy"

# ---- the run command's build: no unit tests, a working binary
if [ "${NR_SKIP_FIRST_RUN_BUILD:-0}" != 1 ]; then
	b="$NR_TMP/build-run"
	check "configure as the run command does (-DNR_TESTS=OFF)" \
		cmake -S "$NR_SRC" -B "$b" -G Ninja -DNR_TESTS=OFF
	check "build as the run command does" cmake --build "$b" -j2
	check "it builds nanorelay" "$b/nanorelay" --version
	expect_eq "and no unit test" "" "$(find "$b" -path '*/tests/*' -type f -name 'test_*' -executable)"
	expect_eq "nor registers any test" "" "$(cd "$b" && ctest -N 2>/dev/null | grep -E '^ +Test +#' || true)"
fi
nr_done
