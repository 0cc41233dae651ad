/*
 * users.h - the LAN users file: who may AUTH PLAIN/LOGIN on our listeners.
 *
 * File format (config key `users`, default /etc/nanorelay/users), one user
 * per line, mode 0600:
 *
 *     name:pbkdf2-sha256:ITERATIONS:SALT_B64:HASH_B64
 *
 *   name        1..64 bytes, printable ASCII without ':' or space (an
 *               e-mail address is fine); compared exactly (case matters)
 *   ITERATIONS  decimal, 1000..10000000 (new entries: NR_USERS_ITERATIONS)
 *   SALT_B64    base64 (RFC 4648, padded) of 8..64 random bytes (16 written)
 *   HASH_B64    base64 of PBKDF2-HMAC-SHA256(password, salt, ITERATIONS),
 *               16..64 bytes long (32 written)
 *
 * Empty lines and lines starting with '#' are comments and are kept when
 * the file is rewritten. CRLF line ends are accepted. Passwords never
 * appear in the file or in logs.
 *
 * Cost: verification runs PBKDF2 in the caller: 18-33 ms per check at
 * 10,000 iterations on x86-64, 154 ms for armhf under qemu-user
 * (tests/bench/bench_auth), up to ~0.5 s on a slow MIPS router. The SMTP
 * server runs one per loop turn and throttles AUTH (acl.h), so the caller
 * is never asked for a burst of them.
 */
#ifndef NR_USERS_USERS_H
#define NR_USERS_USERS_H

#include <stddef.h>

#include "core/build.h"
#include "platform.h"

#define NR_USERS_NAME_MAX 64
#define NR_USERS_ITERATIONS 10000u
#define NR_USERS_FILE_MAX (256u * 1024u)

/* 1 when name may appear in the users file, else 0. */
int nr_users_name_ok(const char *name);

/* Check name/password against users-file text (len bytes, need not be
 * NUL-terminated). Runs in time independent of whether the user exists and
 * compares in constant time. 0 on a match; NR_EAUTH for an unknown user or a
 * wrong password; NR_ECORRUPT when the user's line is malformed (logged with
 * its line number, without the hash); NR_ENOTSUP without TLS support. */
int nr_users_verify_text(const char *text, size_t len, const char *name, const void *password,
			 size_t pwlen) NR_MUST_CHECK;

/* The same on the file at path (read on every call, so `nanorelay passwd`
 * takes effect at once). Also NR_ENOTFOUND, NR_EPERM, NR_ETOOBIG, NR_EIO. */
int nr_users_verify(const char *path, const char *name, const void *password,
		    size_t pwlen) NR_MUST_CHECK;

/* Add name, or replace its line in place, with a fresh 16-byte salt
 * (nr_plat_entropy) and iterations (0: NR_USERS_ITERATIONS). The file is
 * replaced atomically with mode 0600 and created when missing. NR_EINVAL
 * (bad name, empty password, iterations out of range), NR_ECORRUPT (the
 * existing file is not text), NR_EIO, NR_ETOOBIG. */
int nr_users_set(const char *path, const char *name, const void *password, size_t pwlen,
		 unsigned iterations) NR_MUST_CHECK;

#endif /* NR_USERS_USERS_H */
