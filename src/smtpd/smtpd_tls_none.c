/* smtpd_tls_none.c - builds without LAN TLS: STARTTLS is never offered and
 * tls=implicit listeners cannot start. */
#include "smtpd/smtpd_int.h"

const nr_smtpd_tls_fn smtpd_default_tls = NULL;
