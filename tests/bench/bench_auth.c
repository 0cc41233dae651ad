/* bench_auth.c - what one LAN AUTH verification costs (issue 21): the time
 * of nr_users_verify_text (PBKDF2-HMAC-SHA256 through the TLS library) at
 * the default NR_USERS_ITERATIONS and at a few others, so the throttle's
 * defaults (auth_max_per_second) can be weighed on the target.
 * Usage: bench_auth [rounds] (default 20 verifications per row). Runs the
 * same under qemu-user for a cross build, for example armhf: mbedTLS built
 * static with arm-linux-gnueabihf-gcc, then this tree configured with
 * CC=arm-linux-gnueabihf-gcc, a defconfig without CONFIG_NR_DNS_CARES and
 * -DMBEDTLS_INCLUDE_DIR/-DMBEDTLS_LIB/-DMBEDX509_LIB/-DMBEDCRYPTO_LIB (as in
 * README "A static binary"), `ninja bench_auth`, and
 * `qemu-arm -L /usr/arm-linux-gnueabihf tests/bench/bench_auth 5`.
 * Measured (10,000 iterations): x86-64 18-33 ms, armhf under qemu-user on
 * the same host 154 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "users/users.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	/* the users line of "bench" with password "secret", 1,000 iterations;
	 * a wrong password costs the same work as a right one */
	static const unsigned iters[] = {1000, NR_USERS_ITERATIONS, 50000, 100000};
	if (rounds < 1)
		rounds = 1;
	printf("%-10s %12s %10s\n", "iterations", "ms/verify", "verify/s");
	for (size_t i = 0; i < sizeof(iters) / sizeof(iters[0]); i++) {
		char line[160];
		/* salt and hash need only be well formed: the work is the same */
		snprintf(line, sizeof(line),
			 "bench:pbkdf2-sha256:%u:AAAAAAAAAAAAAAAAAAAAAA==:"
			 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
			 iters[i]);
		double t0 = now_ms();
		for (int r = 0; r < rounds; r++) {
			int ret = nr_users_verify_text(line, strlen(line), "bench", "secret", 6);
			if (ret != NR_EAUTH) {
				fprintf(stderr, "bench_auth: verify returned %d\n", ret);
				return 1;
			}
		}
		double ms = (now_ms() - t0) / rounds;
		printf("%-10u %12.2f %10.1f\n", iters[i], ms, 1000.0 / ms);
	}
	return 0;
}
