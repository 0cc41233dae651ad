/*
 * addr.h - IP address literals: parse, compare and print a struct nr_addr
 * (platform.h) without the OS (src/ may not use inet_pton/inet_ntop).
 *
 * Parsing is strict, so a typo cannot widen an allow list or redirect a
 * connection: an IPv4 address is exactly four decimal parts 0..255 with no
 * leading zeros ("010.1.1.1" and "0x7f.1" are refused, never read as octal
 * or hex); an IPv6 address is RFC 4291 section 2.2 text (1..4 hex digits a
 * group, one "::" for a run of at least one zero group, optionally a
 * dotted quad as the last 32 bits), with no zone ("%eth0") and no
 * brackets. Ports, brackets and CIDR prefixes belong to the callers
 * (conf, dns, the test sim). Nothing here allocates or blocks.
 */
#ifndef NR_CORE_ADDR_H
#define NR_CORE_ADDR_H

#include <stddef.h>

#include "platform.h"

/* Parse the address in exactly s[0..len) into *out: NR_AF_INET6 when the
 * text has a ':', else NR_AF_INET4; port and scope_id 0. Returns 0, or
 * NR_EINVAL (out untouched) when it is not one address. It does not look
 * at CONFIG_NR_IPV6: whether an IPv6 address is usable is the caller's
 * policy. */
int nr_addr_parse(const char *s, size_t len, struct nr_addr *out);

/* 1 when a and b are the same family, address, port and scope, else 0. */
int nr_addr_same(const struct nr_addr *a, const struct nr_addr *b);

/* Text form of an address without its port into dst (always terminated,
 * truncated to size): "1.2.3.4"; IPv6 as RFC 5952 ("2001:db8::1", lower
 * case, the longest run of two or more zero groups compressed, the first
 * on a tie, "::ffff:1.2.3.4" for a mapped IPv4 address); "local" for
 * NR_AF_LOCAL; "(none)" for anything else or a NULL a. Returns dst. */
const char *nr_addr_ntop(const struct nr_addr *a, char *dst, size_t size);

#endif /* NR_CORE_ADDR_H */
