/* acl_allow.c - relay classification by the `allow` networks (its own file
 * so that users of the accounting alone do not pull in the conf module). */
#include "acl/acl.h"
#include "conf/conf.h"

int nr_acl_allowed(const struct nr_cidr *nets, size_t n, const struct nr_addr *addr)
{
	struct nr_addr a = *addr;
	nr_acl_normalise(addr, &a.family, a.ip);
	for (size_t i = 0; i < n; i++)
		if (nr_cidr_contains(&nets[i], &a))
			return 1;
	return 0;
}
