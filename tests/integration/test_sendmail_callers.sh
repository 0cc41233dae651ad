#!/usr/bin/env bash
# sendmail as the box's own programs call it, through the running daemon's
# submit socket to smtp-sink: BusyBox crond (-ti), smartd (address argument,
# Subject in the headers), mdadm (-t), mail(1) from s-nail and from GNU
# mailutils, -t with folded To/Cc/Bcc, -F, and -bs with a scripted
# dialogue. Each message is checked upstream: envelope and headers.
. "$(dirname "$0")/lib/sink.sh"
nr_require smtp-sink
bin="$NR_BUILD/nanorelay"
sink_start
port=$(free_port)
conf="$NR_TMP/nanorelay.conf"
cat >"$conf" <<CONF
listen 127.0.0.1:$port
hostname box.test
queue ram size=1M
state_dir $NR_TMP/state
smarthost 127.0.0.1:$SINK_PORT tls=none insecure=yes
sendmail_no_daemon fail
retry 1s 2s
log stderr level=debug
CONF
mkdir -p "$NR_TMP/bin"
ln -s "$bin" "$NR_TMP/bin/sendmail"
ln -s "$bin" "$NR_TMP/bin/newaliases"
sm="$NR_TMP/bin/sendmail"
export NANORELAY_CONF="$conf"

nr_spawn pid "$NR_TMP/log" "$bin" -c "$conf" --foreground
wait_for 10 "the submit socket" test -S "$NR_TMP/state/submit" || fail "no submit socket" "$NR_TMP/log"
expect_eq "state_dir is searchable, not listable" 711 "$(stat -c %a "$NR_TMP/state")"
expect_eq "submit socket is open to every local user" 666 "$(stat -c %a "$NR_TMP/state/submit")"

n=0
expect_has() { # DESC FIXED-STRING TEXT
	if [[ $3 == *"$2"* ]]; then pass "$1"; else
		printf '%s\n' "$3" | tail -n 40 | sed 's/^/#  /'
		fail "$1: no [$2] in it"
	fi
}
# find the sink dump whose body contains a marker; print its index
sink_find() {
	local i
	for ((i = 1; i <= $(sink_count); i++)); do
		if sink_msg "$i" | grep -qF -- "$1"; then echo "$i"; return 0; fi
	done
	return 1
}
expect_sent() { # DESC MARKER: wait until a message with MARKER arrived
	n=$((n + 1))
	sink_wait "$n" 20 || fail "$1: nothing arrived upstream" "$NR_TMP/log" "$SINK_LOG"
	idx=$(sink_find "$2") || fail "$1: no message with $2 upstream" "$NR_TMP/log"
	pass "$1 arrived upstream"
}

# 1. BusyBox crond: sendmail -ti, To and Subject headers, output as body
printf 'To: cron-owner@example.com\nSubject: Cron <root@box> run-parts\n\ncron-output-1\n' | "$sm" -ti
expect_eq "crond: exit 0" 0 $?
expect_sent "crond" cron-output-1
expect_eq "crond: envelope" "from=<root@box.test> to=<cron-owner@example.com>" "$(sink_envelope "$idx")"
msg=$(sink_msg "$idx")
expect_has "crond: Subject kept" "Subject: Cron <root@box> run-parts" "$msg"
expect_has "crond: From added from the envelope" "From: <root@box.test>" "$msg"
expect_has "crond: Received says local with the uid" "(local, uid 0)" "$msg"
check "crond: logged in Postfix form as client=localhost" grep -q ': client=localhost$' "$NR_TMP/log"
check "crond: the connect line has the uid" grep -q 'connect from local, uid 0' "$NR_TMP/log"

# 2. smartd: the address as an argument, Subject in the headers, no -t
printf 'Subject: SMART error (CurrentPendingSector) detected on host: box\n\nDevice: /dev/sda [SAT], 8 Currently unreadable sectors\nsmartd-marker\n' |
	"$sm" disk-admin@example.com
expect_eq "smartd: exit 0" 0 $?
expect_sent "smartd" smartd-marker
expect_eq "smartd: envelope" "from=<root@box.test> to=<disk-admin@example.com>" "$(sink_envelope "$idx")"
expect_has "smartd: Subject kept" "Subject: SMART error (CurrentPendingSector)" "$(sink_msg "$idx")"

# 3. mdadm: sendmail -t with From/To/Subject, ends at EOF without a final newline
printf 'From: mdadm monitoring <root>\nTo: raid@example.com\nSubject: Fail event on /dev/md0:box\n\nThis is an automatically generated mail message from mdadm\nmdadm-marker' |
	"$sm" -t
expect_eq "mdadm: exit 0" 0 $?
expect_sent "mdadm" mdadm-marker
expect_eq "mdadm: envelope" "from=<root@box.test> to=<raid@example.com>" "$(sink_envelope "$idx")"
msg=$(sink_msg "$idx")
expect_has "mdadm: its own From kept" "From: mdadm monitoring <root>" "$msg"
check_not "mdadm: no second From added" grep -q "From: <root@box.test>" <<<"$msg"

# 4. -t with folded headers, display names, Cc and Bcc (Bcc removed), -f, -F
printf 'To: "Doe, Jane" <jane@example.com>,\n\tbob@example.com (Bob)\nCc: team: carol@example.com, dave@example.com;\nBcc: hidden@example.com\nSubject: folded\n\nfolded-marker\n' |
	"$sm" -t -f backup@box.test -F "Backup Job"
expect_eq "-t folded: exit 0" 0 $?
expect_sent "-t folded" folded-marker
expect_eq "-t folded: envelope" \
	"from=<backup@box.test> to=<jane@example.com>,<bob@example.com>,<carol@example.com>,<dave@example.com>,<hidden@example.com>" \
	"$(sink_envelope "$idx")"
msg=$(sink_msg "$idx")
check_not "-t folded: Bcc header removed" grep -qi "^Bcc:" <<<"$msg"
check_not "-t folded: hidden address not in the headers" grep -q "hidden@" <<<"$(sink_body "$idx")"
expect_has "-F: From with the full name" 'From: "Backup Job" <backup@box.test>' "$msg"

# 5. a lone dot ends the message without -i; with -i it is content
printf 'Subject: dots\n\nbefore-dot\n.\nafter-dot-never-sent\n' | "$sm" dots@example.com
expect_sent "lone dot" before-dot
check_not "lone dot: the rest is not sent" grep -q after-dot-never-sent <<<"$(sink_msg "$idx")"
printf 'Subject: dots-i\n\ni-before\n.\n..two\ni-after\n' | "$sm" -oi dots@example.com
expect_sent "-oi" i-before
body=$(sink_body "$idx")
expect_has "-oi: the dot line is content" $'i-before\n.\n..two\ni-after' "$body"

# 6. mail(1) from s-nail and from GNU mailutils, both pointed at our sendmail
echo "snail-marker" | /usr/bin/s-nail -n -S mta="$sm" -S sendwait -s "s-nail subject" snail@example.com
expect_eq "s-nail: exit 0" 0 $?
expect_sent "s-nail" snail-marker
expect_has "s-nail: envelope" "to=<snail@example.com>" "$(sink_envelope "$idx")"
expect_has "s-nail: Subject" "Subject: s-nail subject" "$(sink_msg "$idx")"
echo "mailutils-marker" | /usr/bin/mail.mailutils --no-config -E "set sendmail=sendmail://$sm" \
	-s "mailutils subject" mu@example.com
expect_eq "mailutils: exit 0" 0 $?
expect_sent "mailutils" mailutils-marker
expect_has "mailutils: envelope" "to=<mu@example.com>" "$(sink_envelope "$idx")"
expect_has "mailutils: Subject" "Subject: mailutils subject" "$(sink_msg "$idx")"

# 7. -bs: a scripted SMTP dialogue on stdin/stdout (pipelined client)
out=$(printf 'EHLO script\r\nMAIL FROM:<bs@box.test>\r\nRCPT TO:<bs-to@example.com>\r\nDATA\r\nSubject: bs\r\n\r\nbs-marker\r\n..stuffed\r\n.\r\nQUIT\r\n' |
	"$sm" -bs)
expect_eq "-bs: exit 0" 0 $?
expect_has "-bs: greeting" "220 box.test ESMTP" "$out"
expect_has "-bs: queued" "250 2.0.0 Ok: queued as" "$out"
expect_has "-bs: 221 at QUIT" "221 2.0.0" "$out"
expect_sent "-bs" bs-marker
expect_eq "-bs: envelope" "from=<bs@box.test> to=<bs-to@example.com>" "$(sink_envelope "$idx")"
expect_has "-bs: dot-stuffing undone" $'bs-marker\n.stuffed' "$(sink_body "$idx")"

# 8. nanorelay sendmail ... is the same front end; newaliases is a no-op
printf 'Subject: sub\n\nsubcommand-marker\n' | "$bin" -c "$conf" sendmail -i sub@example.com
expect_eq "nanorelay sendmail: exit 0" 0 $?
expect_sent "nanorelay sendmail" subcommand-marker
out=$("$NR_TMP/bin/newaliases")
expect_eq "newaliases: exit 0" 0 $?
expect_has "newaliases explains" "aliases in its configuration" "$out"

# -C FILE instead of $NANORELAY_CONF; -f '<>' is the null sender
printf 'Subject: null sender\n\nnull-marker\n' | env -u NANORELAY_CONF "$sm" -C "$conf" -f '<>' null@example.com
expect_eq "-C and -f '<>': exit 0" 0 $?
expect_sent "-C and -f '<>'" null-marker
expect_eq "-f '<>': the null sender upstream" "from=<> to=<null@example.com>" "$(sink_envelope "$idx")"
env -u NANORELAY_CONF "$sm" -C "$NR_TMP/missing.conf" x@example.com </dev/null 2>"$NR_TMP/err"
expect_eq "-C with a missing file: exit 78" 78 $?
expect_has "-C with a missing file: named" "$NR_TMP/missing.conf" "$(cat "$NR_TMP/err")"

# 9. an ordinary user submits too: the socket is reachable, the uid recorded
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 0711 "$NR_TMP" "$NR_TMP/bin"
	chmod 0644 "$conf"
	printf 'Subject: as nobody\n\nnobody-marker\n' |
		setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$sm" -i user@example.com
	expect_eq "non-root: exit 0" 0 $?
	expect_sent "non-root" nobody-marker
	expect_eq "non-root: envelope from the user's name" \
		"from=<nobody@box.test> to=<user@example.com>" "$(sink_envelope "$idx")"
	expect_has "non-root: Received has the uid" "(local, uid $(id -u nobody))" "$(sink_msg "$idx")"
fi

# 10. usage errors: 64, nothing sent
"$sm" -X foo@example.com </dev/null 2>"$NR_TMP/err"
expect_eq "unknown option: exit 64" 64 $?
expect_has "unknown option named" "unknown option -X" "$(cat "$NR_TMP/err")"
echo x | "$sm" -oem -odb -oQ/tmp -i 2>"$NR_TMP/err"
expect_eq "-o options ignored; no recipient: exit 64" 64 $?
expect_has "no recipients said" "no recipients" "$(cat "$NR_TMP/err")"
sleep 1
expect_eq "nothing else arrived upstream" "$n" "$(sink_count)"
nr_stop_pid "$pid"
nr_done
