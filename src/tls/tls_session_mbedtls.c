/*
 * tls_session_mbedtls.c - TLS sessions of tls.h on mbedTLS 2.28 and 3.6:
 * the non-blocking BIO over platform sockets, the handshake (with the
 * wall-clock check and client session resumption), record I/O, and what a
 * client learned about the server's certificate.
 */
#include "tls/tls_mbedtls_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>

#include "core/log.h"
#include "core/mem.h"

/* The TLS 1.2 master secret of a session: compared to tell a resumed
 * handshake (3.x has no public getter for it). */
#if NR_MBEDTLS3
#define NR_SESSION_MASTER(s) ((s)->MBEDTLS_PRIVATE(master))
#else
#define NR_SESSION_MASTER(s) ((s)->master)
#endif

#define NR_TLS_DN_MAX 160
#define NR_TLS_NAMES_MAX 256

struct nr_tls {
	struct nr_tls_ctx *ctx;
	mbedtls_ssl_context ssl;
	nr_sock_t sock;
	int is_server;
	int handshake_done;
	int clock_checked;
	int fatal;      /* sticky NR_E... after a failure */
	int io_err;     /* platform error seen by the BIO callbacks */
	unsigned wants; /* NR_POLL_IN / NR_POLL_OUT after NR_EAGAIN */
	size_t wpend;   /* length of a write that returned WANT_WRITE */
	uint32_t verify_flags;
	int top_depth; /* chain top seen by the verify callback */
	int top_self_signed;
	int resume_offered;
	int resumed;
	unsigned char offer_master[48];
	char top_issuer[128];
	char host[NR_TLS_HOST_MAX];
	/* The server's own certificate as the verify callback saw it: kept
	 * also when verification fails, so test-upstream can say what the
	 * certificate is for. */
	int leaf_seen;
	char leaf_subject[NR_TLS_DN_MAX];
	char leaf_issuer[NR_TLS_DN_MAX];
	char leaf_expires[16];
	char leaf_names[NR_TLS_NAMES_MAX];
};

static int bio_send(void *p, const unsigned char *buf, size_t len)
{
	struct nr_tls *t = p;
	long n = nr_plat_sock_write(t->sock, buf, NR_MIN(len, (size_t)0x7fffffff));

	if (n > 0)
		return (int)n;
	if (n == NR_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->io_err = n < 0 ? (int)n : NR_EIO;
	return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
	struct nr_tls *t = p;
	long n = nr_plat_sock_read(t->sock, buf, NR_MIN(len, (size_t)0x7fffffff));

	if (n > 0)
		return (int)n;
	if (n == NR_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n == NR_ECLOSED || n == 0)
		return 0; /* EOF */
	t->io_err = (int)n;
	return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static void dn_text(char *dst, size_t size, const mbedtls_x509_name *dn)
{
	if (mbedtls_x509_dn_gets(dst, size, dn) < 0)
		dst[0] = '\0';
}

/* The dNSName entries of subjectAltName, blank separated (cut at a whole
 * name); without any, the subject CN (RFC 6125 6.4.4). */
static void leaf_names(char *dst, size_t size, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_sequence *seq;
	const mbedtls_x509_name *n;
	size_t used = 0;

	dst[0] = '\0';
	for (seq = &crt->subject_alt_names; seq && seq->buf.p; seq = seq->next) {
		if (seq->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			continue;
		if (used + seq->buf.len + 2 > size)
			break;
		if (used)
			dst[used++] = ' ';
		memcpy(dst + used, seq->buf.p, seq->buf.len);
		used += seq->buf.len;
		dst[used] = '\0';
	}
	if (used)
		return;
	for (n = &crt->subject; n; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 && n->val.len + 1 <= size) {
			memcpy(dst, n->val.p, n->val.len);
			dst[n->val.len] = '\0';
		}
}

static void keep_leaf(struct nr_tls *t, const mbedtls_x509_crt *crt)
{
	size_t i;

	t->leaf_seen = 1;
	dn_text(t->leaf_subject, sizeof(t->leaf_subject), &crt->subject);
	dn_text(t->leaf_issuer, sizeof(t->leaf_issuer), &crt->issuer);
	snprintf(t->leaf_expires, sizeof(t->leaf_expires), "%04d-%02d-%02d", crt->valid_to.year,
		 crt->valid_to.mon, crt->valid_to.day);
	leaf_names(t->leaf_names, sizeof(t->leaf_names), crt);
	/* Peer text: keep it printable. */
	for (i = 0; t->leaf_names[i]; i++)
		if ((unsigned char)t->leaf_names[i] < 0x20 ||
		    (unsigned char)t->leaf_names[i] > 0x7e)
			t->leaf_names[i] = '?';
}

/* Remember the top of the verified chain: it tells a self-signed or
 * unknown root apart from a server that did not send its intermediate.
 * The leaf (depth 0) is kept for nr_tls_peer_cert(). */
static int verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct nr_tls *t = p;

	(void)flags;
	if (depth == 0)
		keep_leaf(t, crt);
	if (depth >= t->top_depth) {
		t->top_depth = depth;
		t->top_self_signed =
		    crt->issuer_raw.len == crt->subject_raw.len &&
		    memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->subject_raw.len) == 0;
		if (mbedtls_x509_dn_gets(t->top_issuer, sizeof(t->top_issuer), &crt->issuer) < 0)
			t->top_issuer[0] = '\0';
	}
	return 0;
}

static int session_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		       const mbedtls_ssl_config *conf)
{
	struct nr_tls *t;

	*out = NULL;
	t = nr_calloc(1, sizeof(*t));
	if (!t)
		return NR_ENOMEM;
	t->ctx = ctx;
	ctx->refs++; /* nr_tls_free drops it, also on the failure below */
	t->sock = sock;
	t->is_server = ctx->is_server;
	t->top_depth = -1;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, conf) != 0) {
		nr_tls_free(t);
		return NR_ENOMEM;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	*out = t;
	return 0;
}

int nr_tls_server_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock, int legacy_ok)
{
	*out = NULL;
	if (!ctx || !ctx->is_server)
		return NR_EINVAL;
	return session_new(out, ctx, sock,
			   legacy_ok && ctx->have_legacy ? &ctx->conf_legacy : &ctx->conf);
}

static struct nr_tls_saved *saved_find(struct nr_tls_ctx *ctx, const char *host)
{
	for (size_t i = 0; i < NR_TLS_SAVED_SESSIONS; i++)
		if (ctx->saved[i].used && strcmp(ctx->saved[i].host, host) == 0)
			return &ctx->saved[i];
	return NULL;
}

int nr_tls_client_new(struct nr_tls **out, struct nr_tls_ctx *ctx, nr_sock_t sock,
		      const char *hostname)
{
	struct nr_tls *t = NULL;
	struct nr_tls_saved *s;
	int ret;

	*out = NULL;
	if (!ctx || ctx->is_server || !hostname || !*hostname ||
	    strlen(hostname) >= NR_TLS_HOST_MAX)
		return NR_EINVAL;
	ret = session_new(&t, ctx, sock, &ctx->conf);
	if (ret != 0)
		return ret;
	memcpy(t->host, hostname, strlen(hostname) + 1);
	/* SNI and the certificate name check (2.28 checks no name without it). */
	ret = mbedtls_ssl_set_hostname(&t->ssl, hostname);
	if (ret != 0) {
		nr_tls_mbedtls_log("setting the hostname", ret);
		nr_tls_free(t);
		return NR_EINVAL;
	}
	mbedtls_ssl_set_verify(&t->ssl, verify_cb, t);
	s = saved_find(ctx, hostname);
	if (s && mbedtls_ssl_set_session(&t->ssl, &s->session) == 0) {
		t->resume_offered = 1;
		memcpy(t->offer_master, NR_SESSION_MASTER(&s->session), sizeof(t->offer_master));
	}
	*out = t;
	return 0;
}

static int is_tls13(const struct nr_tls *t)
{
#if NR_MBEDTLS3
	return mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
	(void)t;
	return 0;
#endif
}

static void save_session(struct nr_tls *t);

void nr_tls_free(struct nr_tls *t)
{
	struct nr_tls_ctx *ctx;

	if (!t)
		return;
	/* A TLS 1.3 ticket arrives after the handshake: keep it now. */
	if (!t->is_server && t->handshake_done && !t->fatal && is_tls13(t))
		save_session(t);
	ctx = t->ctx;
	mbedtls_ssl_free(&t->ssl);
	mbedtls_platform_zeroize(t, sizeof(*t));
	nr_free(t);
	nr_tls_ctx_free(ctx); /* the session's reference */
}

static void save_session(struct nr_tls *t)
{
	struct nr_tls_ctx *ctx = t->ctx;
	struct nr_tls_saved *s = saved_find(ctx, t->host);

	if (!s) {
		s = &ctx->saved[0];
		for (size_t i = 0; i < NR_TLS_SAVED_SESSIONS; i++) {
			if (!ctx->saved[i].used) {
				s = &ctx->saved[i];
				break;
			}
			if (ctx->saved[i].stamp < s->stamp)
				s = &ctx->saved[i];
		}
	}
	mbedtls_ssl_session_free(&s->session);
	mbedtls_ssl_session_init(&s->session);
	s->used = mbedtls_ssl_get_session(&t->ssl, &s->session) == 0;
	s->stamp = ++ctx->stamp;
	memcpy(s->host, t->host, sizeof(s->host));
	/* TLS 1.2 resumption keeps the master secret of the offered session. */
	if (s->used && t->resume_offered && !is_tls13(t))
		t->resumed = memcmp(NR_SESSION_MASTER(&s->session), t->offer_master,
				    sizeof(t->offer_master)) == 0;
}

/* Translate an mbedTLS failure; NR_EAGAIN keeps the session usable. */
static int fail(struct nr_tls *t, int ret, const char *what)
{
	switch (ret) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		t->wants = NR_POLL_IN;
		return NR_EAGAIN;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		t->wants = NR_POLL_OUT;
		return NR_EAGAIN;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED: {
		char why[256];
		t->verify_flags = mbedtls_ssl_get_verify_result(&t->ssl);
		nr_warn("tls: %s: certificate rejected: %s", t->host,
			nr_tls_verify_text(t, why, sizeof(why)));
		t->fatal = NR_ECERT;
		return t->fatal;
	}
	case MBEDTLS_ERR_SSL_CONN_EOF:
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		t->fatal = NR_ECLOSED;
		return t->fatal;
	default:
		break;
	}
	if (t->io_err) {
		t->fatal = t->io_err;
		return t->fatal;
	}
	nr_tls_mbedtls_log(what, ret);
	t->fatal = NR_ETLS;
	return t->fatal;
}

static int handshake_step(struct nr_tls *t)
{
	int ret;

	if (t->fatal)
		return t->fatal;
	if (t->handshake_done)
		return 0;
	if (!t->is_server && !t->clock_checked) {
		int64_t now = 0;
		/* Expiry cannot be checked at 1970: defer, never skip it. */
		if (nr_plat_wall_time(&now) != 0 || now < NR_TLS_MIN_WALL) {
			nr_warn("tls: %s: wall clock not set, cannot verify certificates", t->host);
			t->fatal = NR_ECLOCK;
			return t->fatal;
		}
		t->clock_checked = 1;
	}
	ret = mbedtls_ssl_handshake(&t->ssl);
	if (ret != 0)
		return fail(t, ret, "handshake");
	t->handshake_done = 1;
	t->wants = 0;
	if (!t->is_server && !is_tls13(t))
		save_session(t);
	nr_debug("tls: %s %s %s%s", t->is_server ? "server" : t->host, nr_tls_version(t),
		 nr_tls_ciphersuite(t), t->resumed ? " (resumed)" : "");
	return 0;
}

int nr_tls_handshake(struct nr_tls *t)
{
	return handshake_step(t);
}

long nr_tls_read(struct nr_tls *t, void *buf, size_t len)
{
	int ret = handshake_step(t);

	if (ret != 0)
		return ret;
	if (len == 0)
		return 0;
	for (;;) {
		ret = mbedtls_ssl_read(&t->ssl, buf, NR_MIN(len, (size_t)0x7fffffff));
		if (ret > 0)
			return ret;
		if (ret == 0) {
			t->fatal = NR_ECLOSED;
			return NR_ECLOSED;
		}
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
		/* TLS 1.3 ticket after the handshake: keep it for resumption. */
		if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
#endif
		return fail(t, ret, "read");
	}
}

long nr_tls_write(struct nr_tls *t, const void *buf, size_t len)
{
	int ret = handshake_step(t);
	size_t n;

	if (ret != 0)
		return ret;
	if (len == 0)
		return 0;
	/* After WANT_WRITE mbedTLS must see the same length again: it already
	 * encrypted that record and only reports its size. */
	if (t->wpend) {
		if (len < t->wpend)
			return NR_ESTATE;
		n = t->wpend;
	} else {
		int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
		n = NR_MIN(len, max > 0 ? (size_t)max : (size_t)1024);
	}
	ret = mbedtls_ssl_write(&t->ssl, buf, n);
	if (ret > 0) {
		t->wpend = 0;
		return ret;
	}
	if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
		t->wpend = n;
	return fail(t, ret, "write");
}

size_t nr_tls_pending(const struct nr_tls *t)
{
	return t && t->handshake_done ? mbedtls_ssl_get_bytes_avail(&t->ssl) : 0;
}

unsigned nr_tls_wants(const struct nr_tls *t)
{
	return t->wants ? t->wants : NR_POLL_IN;
}

void nr_tls_close_notify(struct nr_tls *t)
{
	if (!t || t->fatal || !t->handshake_done)
		return;
	(void)mbedtls_ssl_close_notify(&t->ssl);
}

const char *nr_tls_version(const struct nr_tls *t)
{
	return mbedtls_ssl_get_version(&t->ssl);
}

const char *nr_tls_ciphersuite(const struct nr_tls *t)
{
	const char *s = mbedtls_ssl_get_ciphersuite(&t->ssl);
	return s ? s : "none";
}

int nr_tls_resumed(const struct nr_tls *t)
{
	return t->resumed;
}

static void add_reason(char *dst, size_t size, size_t *used, const char *text)
{
	int n;

	if (*used >= size)
		return;
	n = snprintf(dst + *used, size - *used, "%s%s", *used ? "; " : "", text);
	if (n > 0)
		*used = NR_MIN(size - 1, *used + (size_t)n);
}

const char *nr_tls_verify_text(const struct nr_tls *t, char *dst, size_t size)
{
	uint32_t f = t->verify_flags;
	size_t used = 0;
	char buf[NR_TLS_HOST_MAX + 160];

	if (!dst || size == 0)
		return "";
	dst[0] = '\0';
	if (t->fatal == NR_ECLOCK) {
		add_reason(dst, size, &used, "wall clock not set (cannot check certificate dates)");
		return dst;
	}
	if (f == 0) {
		add_reason(dst, size, &used, t->fatal == NR_ECERT ? "certificate rejected" : "ok");
		return dst;
	}
	if (f & MBEDTLS_X509_BADCERT_EXPIRED)
		add_reason(dst, size, &used, "certificate has expired");
	if (f & MBEDTLS_X509_BADCERT_FUTURE)
		add_reason(dst, size, &used, "certificate is not yet valid");
	if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		snprintf(buf, sizeof(buf), "hostname does not match %s", t->host);
		add_reason(dst, size, &used, buf);
	}
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
		if (t->top_depth >= 0 && !t->top_self_signed) {
			snprintf(buf, sizeof(buf),
				 "chain incomplete (issuer %s not sent by the server and not "
				 "trusted)",
				 t->top_issuer[0] ? t->top_issuer : "unknown");
			add_reason(dst, size, &used, buf);
		} else {
			add_reason(dst, size, &used,
				   "issuer not trusted (self-signed or unknown CA)");
		}
	}
	if (f & MBEDTLS_X509_BADCERT_REVOKED)
		add_reason(dst, size, &used, "certificate has been revoked");
	if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
		 MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
		add_reason(dst, size, &used, "certificate is not for TLS servers");
	if (f & MBEDTLS_X509_BADCERT_BAD_MD)
		add_reason(dst, size, &used, "weak signature algorithm");
	if (f & (MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
		add_reason(dst, size, &used, "unacceptable key type or size");
	if (used == 0) {
		snprintf(buf, sizeof(buf), "verification failed (flags 0x%05lx)", (unsigned long)f);
		add_reason(dst, size, &used, buf);
	}
	return dst;
}

int nr_tls_peer_cert(const struct nr_tls *t, char *subject, size_t ssize, char *issuer,
		     size_t isize, char *expires, size_t esize)
{
	const mbedtls_x509_crt *crt;

	if (t->leaf_seen) { /* also after a failed verification */
		if (subject && ssize)
			snprintf(subject, ssize, "%s", t->leaf_subject);
		if (issuer && isize)
			snprintf(issuer, isize, "%s", t->leaf_issuer);
		if (expires && esize)
			snprintf(expires, esize, "%s", t->leaf_expires);
		return 0;
	}
	crt = mbedtls_ssl_get_peer_cert(&t->ssl); /* a resumed session */
	if (!crt)
		return NR_ENOTFOUND;
	if (subject && ssize)
		dn_text(subject, ssize, &crt->subject);
	if (issuer && isize)
		dn_text(issuer, isize, &crt->issuer);
	if (expires && esize)
		snprintf(expires, esize, "%04d-%02d-%02d", crt->valid_to.year, crt->valid_to.mon,
			 crt->valid_to.day);
	return 0;
}

const char *nr_tls_peer_names(const struct nr_tls *t, char *dst, size_t size)
{
	const mbedtls_x509_crt *crt;

	if (!dst || size == 0)
		return "";
	dst[0] = '\0';
	if (t->leaf_seen) {
		snprintf(dst, size, "%s", t->leaf_names);
		return dst;
	}
	crt = mbedtls_ssl_get_peer_cert(&t->ssl);
	if (crt)
		leaf_names(dst, size, crt);
	return dst;
}
