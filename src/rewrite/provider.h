/*
 * provider.h - mail providers whose sender rules the relay must follow.
 *
 * Microsoft 365 and Gmail accept mail from an authenticated account only
 * when the header From is that account (or an address it may send as).
 * Microsoft refuses the rest after DATA with `554 5.2.252 SendAsDenied`
 * (Exchange: `5.7.60 ... does not have permissions to send as this
 * sender`); Gmail replaces the From itself. A printer's `From:
 * printer@lan` is therefore lost unless the relay rewrites it, so for these
 * providers from_rewrite is on unless the configuration says otherwise.
 *
 * Detection is by the smarthost's `oauth2=microsoft|google` preset, else
 * by its host name.
 */
#ifndef NR_REWRITE_PROVIDER_H
#define NR_REWRITE_PROVIDER_H

#include "conf/conf.h"

enum nr_provider {
	NR_PROVIDER_NONE = 0,
	NR_PROVIDER_MICROSOFT = 1, /* Microsoft 365, Outlook.com */
	NR_PROVIDER_GOOGLE = 2,    /* Gmail, Google Workspace */
};

/* The provider behind the smarthost sh: its oauth2= preset (microsoft,
 * google), else its host name (exact, case
 * insensitive, a trailing dot allowed): smtp.office365.com,
 * outlook.office365.com, smtp-mail.outlook.com; smtp.gmail.com,
 * smtp.googlemail.com. NR_PROVIDER_NONE for anything else. */
enum nr_provider nr_provider_of(const struct nr_conf_smarthost *sh);

/* "Microsoft 365", "Gmail", or "" for NR_PROVIDER_NONE. */
const char *nr_provider_name(enum nr_provider p);

/*
 * Whether mail through smarthost sh gets its header From rewritten (1) or
 * not (0). The most specific explicit setting wins: the smarthost's
 * from_rewrite=on|off, then the global `from_rewrite on|off`. Left at auto
 * (the default), it is on when sh logs in as an account (user= is an
 * address) at a provider that enforces the header From, and off otherwise.
 */
int nr_from_rewrite_for(const struct nr_conf *conf, const struct nr_conf_smarthost *sh);

#endif /* NR_REWRITE_PROVIDER_H */
