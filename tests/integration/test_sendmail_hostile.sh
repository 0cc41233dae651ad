#!/usr/bin/env bash
# sendmail with hostile arguments and input, through the daemon to smtp-sink:
# CR/LF in -f and in recipients (65, nothing queued), shell syntax in an
# address is plain data (no process spawned, the address arrives as
# written), a 2 MB line is folded, NUL is refused like SMTP does (554 5.6.0
# -> 65), a bare CR becomes a space, a "." line under -i cannot end the
# message early, an oversized header block is refused. Then 50 sendmail
# calls in parallel give 50 distinct messages upstream, none lost.
. "$(dirname "$0")/lib/sink.sh"
nr_require smtp-sink python3
bin="$NR_BUILD/nanorelay"
sink_start
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port
hostname box.test
queue ram size=16M
max_header_size 4K
state_dir $NR_TMP/state
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
sendmail_no_daemon fail
retry 1s 2s
log stderr level=debug
CONF
export NANORELAY_CONF="$conf"
sm() { "$bin" sendmail "$@"; }
expect_has() { # DESC FIXED-STRING TEXT
	if [[ $3 == *"$2"* ]]; then pass "$1"; else
		printf '%s\n' "$3" | tail -n 40 | sed 's/^/#  /'
		fail "$1: no [$2] in it"
	fi
}
queued() { grep -c 'queued as' "$NR_TMP/log" || true; }

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_for 10 "the submit socket" test -S "$NR_TMP/state/submit" || fail "no submit socket" "$NR_TMP/log"

# CR / LF inside -f and recipient arguments: 65, nothing reaches the daemon
echo body | sm -f $'evil@x.test\r\nRCPT TO:<victim@example.com>' ok@example.com 2>"$NR_TMP/err"
expect_eq "CRLF in -f: exit 65" 65 $?
expect_has "CRLF in -f: said" "line break" "$(cat "$NR_TMP/err")"
echo body | sm $'ok@example.com\nvictim@example.com' 2>/dev/null
expect_eq "LF in a recipient: exit 65" 65 $?
echo body | sm $'ok@example.com\rDATA' 2>/dev/null
expect_eq "CR in a recipient: exit 65" 65 $?
echo body | sm -F $'Name\r\nBcc: victim@example.com' ok@example.com 2>/dev/null
expect_eq "CRLF in -F: exit 65" 65 $?
printf 'To: ok@example.com, bad\001ctl@example.com\n\nx\n' | sm -t 2>/dev/null
expect_eq "control byte in a To: address: exit 65" 65 $?
echo body | sm 'two words@example.com>' 2>/dev/null
expect_eq "broken address: exit 65" 65 $?
expect_eq "nothing was queued" 0 "$(queued)"
check_not "no session was even opened" grep -q 'connect from local' "$NR_TMP/log"

# shell syntax in addresses is data: no process is spawned
marker="$NR_TMP/pwned"
printf 'Subject: shell\n\nshell-marker\n' |
	sm -f "\$(touch\${IFS}$marker)@x.test" '$(reboot)@x.test' "\`touch\${IFS}$marker\`@x.test" "a;touch\${IFS}$marker@x.test"
expect_eq "shell syntax: exit 0" 0 $?
sink_wait 1 20 || fail "the shell-syntax message did not arrive" "$NR_TMP/log"
check_not "no command ran (no marker file)" test -e "$marker"
expect_eq "the addresses arrive literally (quoted local parts)" \
	"from=<\"\$(touch\${IFS}$marker)\"@x.test> to=<\"\$(reboot)\"@x.test>,<\`touch\${IFS}$marker\`@x.test>,<\"a;touch\${IFS}$marker\"@x.test>" \
	"$(sink_envelope 1)"
echo x | sm "\$(touch $marker)@x.test" 2>/dev/null
expect_eq "an address with a blank: exit 65 (the relay could not send it)" 65 $?
check_not "still no marker file" test -e "$marker"

# a 2 MB line: accepted, folded to lines of at most 998 octets, nothing lost
/usr/bin/python3 -c 'import sys; sys.stdout.write("Subject: long\n\n" + "x" * (2 * 1024 * 1024) + "\nlong-end\n")' |
	sm long@example.com
expect_eq "2 MB line: exit 0" 0 $?
# the sink writes its dump in pieces: wait for the relay's "sent" first
wait_for 60 "the long message delivered" grep -q 'to=<long@example.com>.*status=sent' "$NR_TMP/log" ||
	fail "the long message was not delivered" "$NR_TMP/log"
sink_wait 2 30 || fail "the long message did not arrive" "$NR_TMP/log"
body=$(sink_body 2)
expect_eq "2 MB line: longest line upstream <= 998" 1 \
	"$(awk '{ if (length($0) > m) m = length($0) } END { print (m <= 998 && m > 900) ? 1 : 0 }' <<<"$body")"
expect_eq "2 MB line: every x arrived" $((2 * 1024 * 1024)) "$(grep -E "^ ?x+$" <<<"$body" | tr -cd x | wc -c)"
expect_has "2 MB line: the line after it too" "long-end" "$body"

# NUL on stdin: refused as SMTP refuses it (554 5.6.0), exit 65, not queued
before=$(queued)
printf 'Subject: nul\n\nbefore\0after\n' | sm nul@example.com 2>"$NR_TMP/err"
expect_eq "NUL: exit 65" 65 $?
expect_has "NUL: the relay's reply is shown" "554 5.6.0" "$(cat "$NR_TMP/err")"
expect_eq "NUL: nothing queued" "$before" "$(queued)"

# a bare CR becomes a space, like over SMTP
printf 'Subject: cr\n\nbare\rcr-marker\n' | sm cr@example.com
expect_eq "bare CR: exit 0" 0 $?
sink_wait 3 20 || fail "the bare-CR message did not arrive" "$NR_TMP/log"
expect_has "bare CR: arrives as a space" "bare cr-marker" "$(sink_body 3)"

# -i: a "." line and an SMTP command after it are content, one message
printf 'Subject: smuggle\n\nsmuggle-marker\r\n.\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@example.com>\r\n' |
	sm -i smuggle@example.com
expect_eq "-i smuggling attempt: exit 0" 0 $?
sink_wait 4 20 || fail "the smuggling message did not arrive" "$NR_TMP/log"
sleep 1
expect_eq "-i smuggling: one message, not two" 4 "$(sink_count)"
expect_has "-i smuggling: the dot line is content" $'smuggle-marker\n.\nMAIL FROM:<evil@x.test>' "$(sink_body 4)"
check_not "-i smuggling: no envelope for the victim" grep -q victim <<<"$(sink_envelope 4)"

# a header block over max_header_size: 65, not queued
before=$(queued)
/usr/bin/python3 -c 'import sys; sys.stdout.write("".join("X-Pad-%d: %s\n" % (i, "y" * 70) for i in range(80)) + "\nbody\n")' |
	sm big@example.com 2>"$NR_TMP/err"
expect_eq "header block too large: exit 65" 65 $?
expect_has "header block too large: said" "max_header_size" "$(cat "$NR_TMP/err")"
expect_eq "header block too large: not queued" "$before" "$(queued)"

# 50 calls at once: 50 distinct messages upstream
sink_stop
sink_start || fail "smtp-sink did not restart"
sed -i "s/^smarthost .*/smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes/" "$conf"
kill -HUP "$pid"
wait_for 10 "the reload" grep -q 'configuration reloaded' "$NR_TMP/log" || fail "no reload" "$NR_TMP/log"
pids=()
for i in $(seq 1 50); do
	printf 'To: p%d@example.com\nSubject: parallel %d\n\nparallel-body-%d\n' "$i" "$i" "$i" |
		"$bin" sendmail -ti >"$NR_TMP/par$i.out" 2>&1 &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
expect_eq "50 parallel calls: all exit 0" 0 "$fails"
sink_wait 50 60 || fail "only $(sink_count) of 50 arrived" "$NR_TMP/log"
seen=$(for i in $(seq 1 "$(sink_count)"); do sink_body "$i" | grep -o 'parallel-body-[0-9]*'; done | sort -u | wc -l)
expect_eq "50 distinct bodies upstream" 50 "$seen"
sleep 1
expect_eq "and not one more" 50 "$(sink_count)"
nr_stop_pid "$pid"
check_not "no sanitizer report" grep -q 'ERROR: AddressSanitizer\|runtime error' "$NR_TMP/log"
nr_done
