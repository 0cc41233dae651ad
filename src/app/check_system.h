/*
 * check_system.h - what a configuration needs from this machine
 * (check_system.c): the front end's check after parsing.
 */
#ifndef NR_APP_CHECK_SYSTEM_H
#define NR_APP_CHECK_SYSTEM_H

#include <stddef.h>

#include "core/build.h"

struct nr_conf;

/*
 * What start-up needs from this machine, beyond the file's syntax: `user`
 * exists, ca_file exists, an explicit lan_cert/lan_key exists (it is never
 * silently replaced by a generated one), a file queue is not on a
 * read-only file system, every listen address is one of this machine's,
 * and `user` can read the secrets the daemon reads after the privilege
 * drop (password_file, oauth_token_file, users). Run by --check-config and
 * at the start of the daemon (as root, before anything is created). 0, or
 * NR_EINVAL with "FILE:LINE: key: what is wrong; the fix" in err.
 */
int nr_conf_check_system(const struct nr_conf *c, char *err, size_t err_size) NR_MUST_CHECK;

#endif /* NR_APP_CHECK_SYSTEM_H */
