# shellcheck shell=bash
# nr_with_system_user NAME CMD...: run the program CMD where user NAME exists:
# as it is when NAME does, else (root) in a private mount namespace whose
# /etc/passwd and /etc/group add it (shipped configurations drop to
# `nanorelay`, which packages create). Sourced by common.sh and by tests
# that do not use the harness (test_install.sh).
nr_with_system_user() {
	local name=$1 d
	shift
	if id "$name" >/dev/null 2>&1 || [ "$(id -u)" != 0 ] || ! command -v mount >/dev/null ||
		! unshare -m true 2>/dev/null; then
		"$@"
		return
	fi
	d=$(mktemp -d "${NR_TMP:-${TMPDIR:-/tmp}}/passwd.XXXXXX")
	cp /etc/passwd "$d/passwd"
	cp /etc/group "$d/group"
	echo "$name:x:64999:64999:$name:/nonexistent:/usr/sbin/nologin" >>"$d/passwd"
	echo "$name:x:64999:" >>"$d/group"
	# shellcheck disable=SC2016 # $1 is the inner shell's
	unshare -m sh -c 'mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group &&
		shift && exec "$@"' sh "$d" "$@"
}
