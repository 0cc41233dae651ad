/*
 * conf_int.h - shared between the files of the conf module only.
 *
 * The public helpers in conf.h answer 0 / NR_EINVAL; the parser needs to
 * know *why* a value was refused to say so in its FILE:LINE message, so
 * these variants return one of the reasons below.
 */
#ifndef NR_CONF_CONF_INT_H
#define NR_CONF_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define NR_CONF_DEFAULT_STATE_DIR "/var/lib/nanorelay"

/* The defaults of nr_conf_init() are static strings; these tell them apart
 * from allocated ones (conf.c). free_str frees only allocated ones. */
int nr_conf_is_default_str(const char *s);
void nr_conf_free_str(char **s);

enum nr_conf_why {
	NR_CONF_WHY_OK = 0,
	NR_CONF_WHY_SYNTAX,   /* not the expected form */
	NR_CONF_WHY_RANGE,    /* a number too large (overflow, prefix, port) */
	NR_CONF_WHY_HOSTBITS, /* CIDR with bits set beyond the prefix */
	NR_CONF_WHY_NO_IPV6,  /* an IPv6 address in a build without CONFIG_NR_IPV6 */
	NR_CONF_WHY_BRACKETS, /* an IPv6 address with a port but no [brackets] */
	NR_CONF_WHY_NO_PORT,  /* a port is required and missing */
};

/* One IP address of exactly len bytes (no port, no brackets, no prefix):
 * strict dotted quad (no leading zeros, no octal/hex) or RFC 4291 text. */
enum nr_conf_why nr_conf_ip_parse(const char *s, size_t len, struct nr_addr *out);
enum nr_conf_why nr_conf_hostport_parse(const char *s, struct nr_addr *out, uint16_t default_port);
enum nr_conf_why nr_conf_cidr_parse(const char *s, struct nr_cidr *out);
/* Decimal digits only, no sign, no leading zeros unless "0", at most max. */
enum nr_conf_why nr_conf_uint_parse(const char *s, size_t len, uint64_t max, uint64_t *out);

#endif /* NR_CONF_CONF_INT_H */
