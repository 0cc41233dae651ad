# shellcheck shell=bash
# nanorelay integration harness: a private DNS (dnsmasq) plus fault servers.
#
#   source lib/dns.sh
#   dns_start                     # then point nanorelay at 127.0.0.1:$DNS_PORT
#
# dnsmasq listens on 127.0.0.1 (and ::1 when IPv6 exists), UDP and TCP,
# port $DNS_PORT, with no upstream, no /etc/hosts, no cache. It answers:
#   smarthost.test          A 127.0.0.1, AAAA ::1   (DNS_HOST_RECORDS overrides:
#                           space-separated dnsmasq host-record values, e.g.
#                           "smarthost.test,127.0.0.1 v6only.test,::1")
#   mx.test                 MX 10 smarthost.test
#   servfail.test, *.servfail.test   SERVFAIL (forwarded to the SERVFAIL server)
#   timeout.test, *.timeout.test     no answer at all (forwarded to the silent server)
#   anything else           NXDOMAIN
# Names set with dns_set_host come from a hosts file that is re-read on SIGHUP.
#
# Exports: DNS_PORT, DNS_SERVER (127.0.0.1), DNS_DIR, DNS_LOG (dnsmasq log with
#   every query), DNS_SERVFAIL_PORT (a server answering SERVFAIL to anything),
#   DNS_TIMEOUT_PORT (a server that never answers), DNS_PID.
#
# Functions:
#   dns_start [DNSMASQ-OPTS...]   extra options go to dnsmasq unchanged
#                                 (e.g. --address=/other.test/127.0.0.2)
#   dns_stop
#   dns_query NAME [A|AAAA|MX] [PORT]  prints the RCODE then the answers
#                                 (lib/dnstool.py; TIMEOUT + exit 3 when silent)
#   dns_set_host NAME ADDR...     (re)define NAME in the hosts file, reload
#   dns_clear_hosts               forget all dns_set_host names, reload

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dns__fault_start() { # MODE VAR
	local port pid
	port=$(free_port udp) || return 1
	nr_spawn pid "$DNS_DIR/$1.log" "$NR_PY" "$NR_LIB/dnstool.py" serve "$port" "$1"
	printf -v "$2" '%s' "$port"
	export "${2?}"
}

dns_start() {
	nr_require dnsmasq
	DNS_DIR=$NR_TMP/dns
	DNS_LOG=$DNS_DIR/dnsmasq.log
	DNS_SERVER=127.0.0.1
	mkdir -p "$DNS_DIR"
	chmod 0755 "$DNS_DIR"
	: >"$DNS_DIR/hosts"
	chmod 0644 "$DNS_DIR/hosts"
	export DNS_DIR DNS_LOG DNS_SERVER
	dns__fault_start servfail DNS_SERVFAIL_PORT || return 1
	dns__fault_start silent DNS_TIMEOUT_PORT || return 1
	local listen=127.0.0.1 rec recs=() try
	[ "$NR_HAVE_IPV6" = 1 ] && listen=127.0.0.1,::1
	for rec in ${DNS_HOST_RECORDS:-smarthost.test,127.0.0.1,::1}; do recs+=("--host-record=$rec"); done
	for try in 1 2 3; do
		DNS_PORT=$(free_port both) || return 1
		export DNS_PORT
		nr_spawn DNS_PID "$DNS_LOG" dnsmasq --keep-in-foreground --log-facility=- \
			--conf-file=/dev/null --port="$DNS_PORT" --listen-address="$listen" \
			--bind-interfaces --no-resolv --no-hosts --no-poll --cache-size=0 \
			--pid-file="$DNS_DIR/dnsmasq.pid" --log-queries --user=nobody --group=nogroup \
			--addn-hosts="$DNS_DIR/hosts" "${recs[@]}" \
			--mx-host=mx.test,smarthost.test,10 \
			--server="/servfail.test/127.0.0.1#$DNS_SERVFAIL_PORT" \
			--server="/timeout.test/127.0.0.1#$DNS_TIMEOUT_PORT" \
			--address=/#/ "$@"
		export DNS_PID
		if wait_for 5 "dnsmasq on $DNS_PORT" dns__ready; then return 0; fi
		echo "# dns_start: attempt $try failed: $(tail -n 2 "$DNS_LOG")" >&2
		nr_stop_pid "$DNS_PID" 2
	done
	return 1
}
dns__ready() { kill -0 "$DNS_PID" && dns_query smarthost.test A | grep -q '^NOERROR'; }

dns_stop() { nr_stop_pid "$DNS_PID" 5; }

dns_query() {
	"$NR_PY" "$NR_LIB/dnstool.py" query "$DNS_SERVER" "${3:-$DNS_PORT}" "$1" "${2:-A}" --timeout 2
}

dns__reload() {
	kill -HUP "$DNS_PID"
	sleep 0.1
}
dns_set_host() {
	local name=$1 a
	shift
	grep -v "[[:space:]]$name\$" "$DNS_DIR/hosts" >"$DNS_DIR/hosts.new" || true
	for a in "$@"; do printf '%s\t%s\n' "$a" "$name" >>"$DNS_DIR/hosts.new"; done
	mv "$DNS_DIR/hosts.new" "$DNS_DIR/hosts"
	chmod 0644 "$DNS_DIR/hosts"
	dns__reload
}
dns_clear_hosts() {
	: >"$DNS_DIR/hosts"
	dns__reload
}
