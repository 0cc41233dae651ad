/* smtpd_limits.c - what one session may hold: TLS handshake slots (in
 * total and per client) and a NOOP/RSET loop's life. */
#include <string.h>

#include "core/fmt.h"
#include "core/log.h"
#include "smtpd/smtpd_int.h"

/* ---- TLS handshakes in flight (max_tls_handshakes) ---- */

/* Handshakes in flight from s's client address. */
static unsigned client_handshakes(const struct smtpd_session *s)
{
	uint8_t fam, ip[16], f2, ip2[16];
	unsigned n = 0;

	nr_acl_normalise(&s->peer, &fam, ip);
	for (const struct smtpd_session *o = s->d->sessions; o; o = o->next) {
		if (!(o->flags & SF_HANDSHAKING))
			continue;
		nr_acl_normalise(&o->peer, &f2, ip2);
		if (f2 == fam && memcmp(ip, ip2, 16) == 0)
			n++;
	}
	return n;
}

/* NULL when s may start a handshake, else the setting that says no and
 * its value: in total, or from this client (so one client cannot hold
 * every slot). */
const char *smtpd_handshake_limit(const struct smtpd_session *s, unsigned *limit)
{
	const struct nr_conf *conf = s->d->conf;

	*limit = conf->max_tls_handshakes;
	if (s->d->handshakes >= conf->max_tls_handshakes)
		return "max_tls_handshakes";
	*limit = conf->max_tls_handshakes_per_client;
	if (client_handshakes(s) >= conf->max_tls_handshakes_per_client)
		return "max_tls_handshakes_per_client";
	return NULL;
}

void smtpd_handshake_begin(struct smtpd_session *s)
{
	s->flags |= SF_HANDSHAKING;
	s->d->handshakes++;
}

void smtpd_handshake_end(struct smtpd_session *s)
{
	if (!(s->flags & SF_HANDSHAKING))
		return;
	s->flags &= ~SF_HANDSHAKING;
	s->d->handshakes--;
}

/* ---- idle sessions (max_idle_commands, max_idle_time) ---- */

/* A NOOP/RSET loop: more than max_idle_commands such commands, or one
 * after max_idle_time, since the session began or its last MAIL. Without
 * it NOOP keeps any session (and its slot) alive for ever. */
int smtpd_idle_too_long(struct smtpd_session *s)
{
	const struct nr_conf *conf = s->d->conf;
	uint64_t now = nr_loop_now(s->d->loop);

	if (++s->idle_cmds <= conf->max_idle_commands &&
	    now - s->idle_since <= conf->max_idle_time_ms)
		return 0;
	nr_info("smtpd[%u]: %s: idle too long (max_idle_commands %u, max_idle_time %ss), "
		"closing",
		s->id, s->peer_str, conf->max_idle_commands, NR_U64(conf->max_idle_time_ms / 1000));
	smtpd_close_with(s, 421, "4.4.2", "Error: too many commands without mail, closing");
	return 1;
}
