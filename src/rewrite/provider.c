/* provider.c - which providers enforce the header From, and the policy
 * that follows from it (see provider.h). Pure: no I/O. */
#include <string.h>

#include "core/ascii.h"
#include "rewrite/provider.h"

struct known_host {
	const char *name;
	enum nr_provider provider;
};

/* The submission hosts the providers document for SMTP AUTH. */
static const struct known_host known[] = {
    {"smtp.office365.com", NR_PROVIDER_MICROSOFT},
    {"outlook.office365.com", NR_PROVIDER_MICROSOFT},
    {"smtp-mail.outlook.com", NR_PROVIDER_MICROSOFT},
    {"smtp.gmail.com", NR_PROVIDER_GOOGLE},
    {"smtp.googlemail.com", NR_PROVIDER_GOOGLE},
};

enum nr_provider nr_provider_of(const struct nr_conf_smarthost *sh)
{
	size_t i, len;

	if (!sh || !sh->host)
		return NR_PROVIDER_NONE;
	/* a built-in OAuth2 preset names its provider */
	if (sh->oauth2 && sh->oauth2->provider == NR_OAUTH2_MICROSOFT)
		return NR_PROVIDER_MICROSOFT;
	if (sh->oauth2 && sh->oauth2->provider == NR_OAUTH2_GOOGLE)
		return NR_PROVIDER_GOOGLE;
	len = strlen(sh->host);
	if (len > 0 && sh->host[len - 1] == '.')
		len--; /* an absolute name is the same host */
	for (i = 0; i < NR_ARRAY_LEN(known); i++)
		if (nr_ascii_ieq_word(sh->host, len, known[i].name))
			return known[i].provider;
	return NR_PROVIDER_NONE;
}

const char *nr_provider_name(enum nr_provider p)
{
	switch (p) {
	case NR_PROVIDER_MICROSOFT:
		return "Microsoft 365";
	case NR_PROVIDER_GOOGLE:
		return "Gmail";
	default:
		return "";
	}
}

int nr_from_rewrite_for(const struct nr_conf *conf, const struct nr_conf_smarthost *sh)
{
	if (sh && sh->from_rewrite != NR_FROM_REWRITE_AUTO)
		return sh->from_rewrite == NR_FROM_REWRITE_ON;
	if (conf && conf->from_rewrite != NR_FROM_REWRITE_AUTO)
		return conf->from_rewrite == NR_FROM_REWRITE_ON;
	/* Auto: only an account at a provider that refuses a foreign From. */
	return sh && sh->user && strchr(sh->user, '@') && nr_provider_of(sh) != NR_PROVIDER_NONE;
}
