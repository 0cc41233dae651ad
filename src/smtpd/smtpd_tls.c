/* smtpd_tls.c - server-side TLS on a session's connection (src/tls). */
#include "smtpd/smtpd_int.h"
#include "tls/tls_conn.h"

static int tls_wrap(void *arg, struct nr_conn *c, int legacy_ok)
{
	struct nr_tls_ctx *ctx = arg;
	struct nr_tls *t = NULL;

	if (!ctx)
		return NR_ENOTSUP;
	int ret = nr_tls_server_new(&t, ctx, nr_conn_sock(c), legacy_ok);
	if (ret < 0)
		return ret;
	nr_conn_set_transport(c, &nr_tls_transport, t);
	return 0;
}

const nr_smtpd_tls_fn smtpd_default_tls = tls_wrap;
