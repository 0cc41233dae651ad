/* test_probe_advice.c - test-upstream's "likely fix" rules, one per cause. */
#include <string.h>

#include "app/test_upstream.h"
#include "rewrite/provider.h"
#include "test.h"

static char out[6][NR_PROBE_ADVICE_MAX];

static struct nr_probe_result base(enum nr_probe_step at)
{
	struct nr_probe_result r;
	memset(&r, 0, sizeof(r));
	r.host = "mail.example.com";
	r.port = 587;
	r.tls = NR_TLS_STARTTLS;
	r.user = "me@example.com";
	r.secret_file = "/etc/nanorelay/pw";
	r.failed = at;
	return r;
}

/* 1 when one of the n lines contains text. */
static int any(size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(out[i], text))
			return 1;
	return 0;
}

TEST(ok_gives_nothing)
{
	struct nr_probe_result r = base(NR_PROBE_OK);
	EXPECT_EQ(nr_probe_advice(&r, out, 6), 0);
}

TEST(wrong_tls_mode)
{
	struct nr_probe_result r = base(NR_PROBE_TLS);
	r.tls = NR_TLS_IMPLICIT;
	r.err = NR_ETLS;
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "port 587 needs tls=starttls"));
	r = base(NR_PROBE_GREETING);
	r.port = 465;
	r.err = NR_ETIMEDOUT;
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "port 465 needs tls=implicit"));
	r = base(NR_PROBE_STARTTLS);
	r.port = 465;
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "port 465 needs tls=implicit"));
}

TEST(certificates)
{
	struct nr_probe_result r = base(NR_PROBE_TLS);
	r.err = NR_ECERT;
	strcpy(r.verify, "hostname does not match mail.example.com");
	strcpy(r.cert_names, "smtp.example.net mx.example.net");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6),
			"certificate is for smtp.example.net mx.example.net; set the smarthost "
			"name to smtp.example.net"));
	strcpy(r.cert_names, "*.example.net");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "e.g. smtp.example.net"));
	strcpy(r.verify, "certificate has expired");
	strcpy(r.cert_expires, "2020-02-03");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "expired on 2020-02-03"));
	strcpy(r.verify, "issuer not trusted (self-signed or unknown CA)");
	r.ca_file = "/etc/ca.pem";
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "not in /etc/ca.pem: set ca_file"));
	r.err = NR_ECLOCK;
	strcpy(r.verify, "wall clock not set (cannot check certificate dates)");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "enable NTP"));
}

TEST(auth)
{
	struct nr_probe_result r = base(NR_PROBE_AUTH);
	size_t n;
	r.code = 535;
	n = nr_probe_advice(&r, out, 6);
	EXPECT_TRUE(any(n, "check user=me@example.com and the one line in /etc/nanorelay/pw"));
	EXPECT_TRUE(!any(n, "app password"));
	r.host = "smtp.GMAIL.com";
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6),
			"Gmail needs an app password for accounts with 2-step verification"));
	r.host = "smtp.office365.com";
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "SMTP AUTH must be enabled"));
	r = base(NR_PROBE_AUTH);
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "offers no AUTH on port 587"));
	r.auth_offered = 1;
	strcpy(r.mechs, "GSSAPI");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "offers GSSAPI"));
}

TEST(dns_and_tcp)
{
	struct nr_probe_result r = base(NR_PROBE_DNS);
	r.err = NR_ENOTFOUND;
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6),
			"DNS: name not found — check the spelling of mail.example.com"));
	r.err = NR_ETIMEDOUT;
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "check dns_server"));
	r = base(NR_PROBE_TCP);
	r.err = NR_ECONNREFUSED;
	EXPECT_TRUE(
	    any(nr_probe_advice(&r, out, 6), "nothing listens on mail.example.com port 587"));
	r.err = NR_ETIMEDOUT;
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "firewall"));
}

TEST(setup)
{
	struct nr_probe_result r = base(NR_PROBE_SETUP);
	r.err = NR_ENOTFOUND;
	strcpy(r.text, "cannot start the resolver or load the CA file /x.pem: not found");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "set ca_file to a readable PEM file"));
	strcpy(r.text, "cannot read /etc/nanorelay/pw: permission denied");
	EXPECT_TRUE(any(nr_probe_advice(&r, out, 6), "/etc/nanorelay/pw must exist, be readable"));
}

TEST(bounded_output)
{
	struct nr_probe_result r = base(NR_PROBE_TLS);
	r.err = NR_ECERT;
	strcpy(r.verify, "certificate has expired; hostname does not match x; issuer not trusted");
	EXPECT_EQ(nr_probe_advice(&r, out, 1), 1);
	EXPECT_EQ(nr_probe_advice(&r, out, 0), 0);
}

/* Microsoft 365 and Exchange refuse a foreign header From after DATA;
 * send-test and test-upstream name from_rewrite (issue 19). The texts are
 * the providers' own. */
TEST(sender_rule_refusals_name_from_rewrite)
{
	static const char *const refused[] = {
	    ("host smtp.office365.com said: 554 5.2.252 SendAsDenied; scanner@contoso.com not "
	     "allowed to send as printer@lan; STOREDRV.Submission.Exception:"
	     "SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a "
	     "permanent exception with message [BeginDiagnosticData]Cannot submit message."),
	    "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
	    ("554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
	     "MapiExceptionSendAsDenied; Failed to process message"),
	};
	static const char *const others[] = {
	    "550 5.1.1 no such user", "550 5.7.601 something else", "451 4.5.2520 busy", "", NULL,
	};
	char fix[NR_PROBE_ADVICE_MAX];
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(refused); i++) {
		fix[0] = '\0';
		EXPECT_EQ(nr_sender_refusal_advice(refused[i], fix, sizeof(fix)), 1);
		EXPECT_TRUE(strstr(fix, "set `from_rewrite on` (or from_rewrite=on on the "
					"smarthost; drop any from_rewrite off)") != NULL);
		EXPECT_TRUE(strstr(fix, "Reply-To") != NULL);
	}
	for (i = 0; i < NR_ARRAY_LEN(others); i++) {
		strcpy(fix, "untouched");
		EXPECT_EQ(nr_sender_refusal_advice(others[i], fix, sizeof(fix)), 0);
		EXPECT_STREQ(fix, "untouched");
	}
	/* The same fix first when a probe step saw such a reply. */
	{
		struct nr_probe_result r = base(NR_PROBE_AUTH);
		r.code = 550;
		strcpy(r.text, "5.7.60 SMTP; Client does not have permissions to send as this "
			       "sender");
		EXPECT_TRUE(nr_probe_advice(&r, out, 6) >= 1);
		EXPECT_TRUE(
		    strstr(out[0], "(5.2.252 SendAsDenied / 5.7.60): set `from_rewrite on`") !=
		    NULL);
	}
}

/* A walk that passes still warns when the provider will refuse the mail. */
TEST(provider_note_after_a_good_walk)
{
	struct nr_probe_result r = base(NR_PROBE_OK);

	r.host = "smtp.office365.com";
	r.user = "scanner@contoso.com";
	r.provider = NR_PROVIDER_MICROSOFT;
	r.from_rewrite = 0;
	ASSERT_EQ(nr_probe_advice(&r, out, 6), 1);
	EXPECT_TRUE(strstr(out[0],
			   "Microsoft 365 refuses mail whose header From is not "
			   "scanner@contoso.com (554 5.2.252 SendAsDenied) and from_rewrite "
			   "is off here: set `from_rewrite on`") == out[0]);
	r.from_rewrite = 1;
	ASSERT_EQ(nr_probe_advice(&r, out, 6), 1);
	EXPECT_TRUE(strstr(out[0], "Microsoft 365 accepts only mail From the account") == out[0]);
	r.provider = NR_PROVIDER_NONE; /* an ordinary smarthost: nothing to say */
	EXPECT_EQ(nr_probe_advice(&r, out, 6), 0);
}

int main(void)
{
	RUN(ok_gives_nothing);
	RUN(wrong_tls_mode);
	RUN(certificates);
	RUN(auth);
	RUN(dns_and_tcp);
	RUN(setup);
	RUN(bounded_output);
	RUN(sender_rule_refusals_name_from_rewrite);
	RUN(provider_note_after_a_good_walk);
	return TEST_REPORT();
}
