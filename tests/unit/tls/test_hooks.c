/* test_hooks.c - a fault switch in front of the platform's entropy source.
 *
 * test_tls links with -Wl,--wrap=nr_plat_entropy, so the TLS adapter's calls
 * land here: each is counted (the test checks that the adapter really asks
 * the platform) and, while nr_test_entropy_fail is set, fails with NR_EIO as
 * a device without a working TRNG would. Otherwise the real Linux source
 * (getrandom) answers. */
#include <stddef.h>

#include "platform.h"

int nr_test_entropy_calls;
int nr_test_entropy_fail;

int __real_nr_plat_entropy(void *buf, size_t len);
int __wrap_nr_plat_entropy(void *buf, size_t len);

int __wrap_nr_plat_entropy(void *buf, size_t len)
{
	nr_test_entropy_calls++;
	if (nr_test_entropy_fail)
		return NR_EIO;
	return __real_nr_plat_entropy(buf, len);
}
