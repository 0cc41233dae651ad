# nanorelay log -> the shape pflogsumm (and logwatch's postfix service) parse.
#
#   sed -E -f nanorelay-pflogsumm.sed /var/log/mail.log | pflogsumm --syslog-name=nanorelay
#   nanorelay ... 2>&1 | sed -E -f nanorelay-pflogsumm.sed | pflogsumm --syslog-name=nanorelay
#
# nanorelay logs as one program ("nanorelay[PID]: ..."); the tools want
# Postfix's "NAME/smtpd[PID]" for acceptance, rejects and SASL warnings, and
# any other "NAME/PROGRAM[PID]" for the rest. Lines that are already in a
# syslog file keep their timestamp and host; the stderr form (RFC 3339 time,
# no host) gets the host field "localhost".
s/^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z) nanorelay\[/\1 localhost nanorelay[/
s/ nanorelay\[([0-9]+)\]: ((NOQUEUE|[0-9A-Fa-f]+): (client=|reject:)|warning: [^ ]+: SASL )/ nanorelay\/smtpd[\1]: \2/
s/ nanorelay\[([0-9]+)\]: / nanorelay\/smtp[\1]: /
