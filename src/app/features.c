/* features.c - the compiled-in feature list for --version and the start log. */
#include "app/daemon.h"
#include "core/build.h"

#define NR_FEATURE(opt, name) (NR_ENABLED(opt) ? name " " : "")

const char *nr_app_features(void)
{
	static char line[256];

	if (!line[0]) {
		/* Built once; every piece is a string literal. */
		const char *parts[] = {
		    NR_FEATURE(CONFIG_NR_TLS, "tls"),
		    NR_FEATURE(CONFIG_NR_LAN_TLS, "lan-tls"),
		    NR_FEATURE(CONFIG_NR_IPV6, "ipv6"),
		    NR_FEATURE(CONFIG_NR_DNS_CARES, "c-ares"),
		    NR_FEATURE(CONFIG_NR_DNS_STUB, "dns-stub"),
		    NR_FEATURE(CONFIG_NR_DNS_PLATFORM, "dns-platform"),
		    NR_FEATURE(CONFIG_NR_AUTH_PLAIN, "auth-plain"),
		    NR_FEATURE(CONFIG_NR_AUTH_LOGIN, "auth-login"),
		    NR_FEATURE(CONFIG_NR_AUTH_CRAM_MD5, "cram-md5"),
		    NR_FEATURE(CONFIG_NR_XOAUTH2, "xoauth2"),
		    NR_FEATURE(CONFIG_NR_OAUTH2, "oauth2"),
		    NR_FEATURE(CONFIG_NR_SENDMAIL, "sendmail"),
		    NR_FEATURE(CONFIG_NR_CTL, "control"),
		    NR_FEATURE(CONFIG_NR_STORE_RAM, "store-ram"),
		    NR_FEATURE(CONFIG_NR_STORE_FILE, "store-file"),
		    NR_FEATURE(CONFIG_NR_STORE_MTD, "store-mtd"),
		    NR_FEATURE(CONFIG_NR_STORE_FLASH, "store-flash"),
		};
		size_t used = 0, i;

		for (i = 0; i < NR_ARRAY_LEN(parts); i++) {
			const char *p = parts[i];

			while (*p && used + 1 < sizeof(line))
				line[used++] = *p++;
		}
		if (used > 0)
			used--; /* the trailing space */
		line[used] = '\0';
	}
	return line;
}
