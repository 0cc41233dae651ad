/*
 * test_oauth2.c - the built-in OAuth2 client's pure parts: the HTTP
 * response (lengths, chunks, hostile framing), the JSON reply of real
 * providers' shapes, form encoding, the XOAUTH2 strings and the token
 * store's file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth2/oauth2.h"
#include "platform.h"
#include "test.h"

static struct nr_oauth2_reply reply;

static int http(const char *text, int eof, struct nr_oauth2_http *h, char *buf, size_t size)
{
	size_t n = strlen(text);

	if (n >= size)
		return -100;
	memcpy(buf, text, n + 1);
	return nr_oauth2_http_parse(buf, n, eof, h);
}

TEST(http_content_length_chunked_and_close)
{
	struct nr_oauth2_http h;
	char buf[1024];

	EXPECT_EQ(http("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		       "Content-Length: 2\r\n\r\n{}",
		       0, &h, buf, sizeof(buf)),
		  0);
	EXPECT_EQ(h.status, 200);
	EXPECT_EQ(h.body_len, 2);
	EXPECT_TRUE(memcmp(h.body, "{}", 2) == 0);
	/* not all there yet: wait; at the close: malformed */
	EXPECT_EQ(http("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", 0, &h, buf, sizeof(buf)),
		  NR_EAGAIN);
	EXPECT_EQ(http("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", 1, &h, buf, sizeof(buf)),
		  NR_EPROTO);
	EXPECT_EQ(http("HTTP/1.1 200 OK\r\nContent-Len", 0, &h, buf, sizeof(buf)), NR_EAGAIN);
	/* chunked, with an extension and a trailer, decoded in place */
	EXPECT_EQ(http("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "4;x=y\r\n{\"er\r\n"
		       "9\r\nror\":\"x\"}\r\n0\r\nX-Trailer: 1\r\n\r\n",
		       0, &h, buf, sizeof(buf)),
		  0);
	EXPECT_EQ(h.status, 400);
	EXPECT_EQ(h.body_len, 13);
	EXPECT_TRUE(memcmp(h.body, "{\"error\":\"x\"}", 13) == 0);
	/* an unfinished chunked body leaves the buffer untouched */
	EXPECT_EQ(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n1\r\n", 0,
		       &h, buf, sizeof(buf)),
		  NR_EAGAIN);
	EXPECT_TRUE(strstr(buf, "2\r\n{}\r\n1\r\n") != NULL);
	/* no length: the body ends at the close */
	EXPECT_EQ(http("HTTP/1.0 503 Service Unavailable\r\n\r\nbusy", 0, &h, buf, sizeof(buf)),
		  NR_EAGAIN);
	EXPECT_EQ(http("HTTP/1.0 503 Service Unavailable\r\n\r\nbusy", 1, &h, buf, sizeof(buf)), 0);
	EXPECT_EQ(h.status, 503);
	EXPECT_EQ(h.body_len, 4);
}

TEST(http_hostile_framing_is_refused)
{
	static const char *const bad[] = {
	    "HTTP/2 200\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 099 x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\001b\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
	};
	struct nr_oauth2_http h;
	char buf[1024];
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(bad); i++) {
		int rc = http(bad[i], 0, &h, buf, sizeof(buf));
		if (rc != NR_EPROTO)
			NR_TEST_FAIL_("case %zu: rc %d for %s", i, rc, bad[i]);
	}
}

static int json(const char *text)
{
	return nr_oauth2_reply_parse(text, strlen(text), &reply);
}

TEST(json_token_replies_of_real_shapes)
{
	/* Microsoft's client-credentials answer */
	EXPECT_EQ(json("{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
		       "\"access_token\":\"eyJ0eXAiOiJKV1Qi.eyJhdWQi.c2ln\"}"),
		  0);
	EXPECT_STREQ(reply.token_type, "Bearer");
	EXPECT_EQ(reply.expires_in, 3599);
	EXPECT_STREQ(reply.access_token, "eyJ0eXAiOiJKV1Qi.eyJhdWQi.c2ln");
	EXPECT_STREQ(reply.refresh_token, "");
	/* Microsoft's invalid_grant, with the nested parts it carries */
	EXPECT_EQ(json("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: The "
		       "refresh token has expired.\\r\\nTrace ID: 1\",\"error_codes\":[70008],"
		       "\"timestamp\":\"2026-12-06 23:00:00Z\",\"trace_id\":\"a-b\","
		       "\"correlation_id\":\"c\",\"x\":{\"y\":[true,false,null,-1.5e3]}}"),
		  0);
	EXPECT_STREQ(reply.error, "invalid_grant");
	EXPECT_STREQ(reply.error_description,
		     "AADSTS70008: The refresh token has expired.\r\nTrace ID: 1");
	/* Google's device answer says verification_url; a quoted expires_in */
	EXPECT_EQ(json(" {\"device_code\" : \"4/4-GMMhmHCXhWEzkobqIHGG\", \"user_code\":"
		       "\"GQVQ-JKEC\",\"verification_url\":\"https://www.google.com/device\","
		       "\"expires_in\":\"1800\",\"interval\":5} \r\n"),
		  0);
	EXPECT_STREQ(reply.device_code, "4/4-GMMhmHCXhWEzkobqIHGG");
	EXPECT_STREQ(reply.user_code, "GQVQ-JKEC");
	EXPECT_STREQ(reply.verification_uri, "https://www.google.com/device");
	EXPECT_EQ(reply.expires_in, 1800);
	EXPECT_EQ(reply.interval, 5);
	/* escapes: \/ and \u with a surrogate pair */
	EXPECT_EQ(json("{\"error_description\":\"a\\/b \\u00e9 \\ud83d\\ude00\"}"), 0);
	EXPECT_STREQ(reply.error_description, "a/b \xc3\xa9 \xf0\x9f\x98\x80");
	EXPECT_EQ(json("{\"refresh_token\":null,\"access_token\":\"t\"}"), 0);
	EXPECT_STREQ(reply.access_token, "t");
	EXPECT_EQ(json("{}"), 0);
}

TEST(json_refuses_what_is_not_strict)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{",
	    "{\"a\":1,}",
	    "{\"a\" 1}",
	    "{'a':1}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":tru}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\\ud800\"}",
	    "{\"a\":\"\\udc00\"}",
	    "{\"a\":\"\\u0000\"}",
	    "{\"a\":\"tab\there\"}",
	    "{\"a\":1} x",
	    "{\"a\":1}{}",
	    "{\"expires_in\":-1}",
	    "{\"expires_in\":1.5}",
	    "{\"expires_in\":\"12a\"}",
	    "{\"expires_in\":99999999999}",
	    "{\"a\":[[[[[[[[[[1]]]]]]]]]]}",
	    "{\"token_type\":\"much too long for sixteen\"}",
	};
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(bad); i++) {
		int rc = json(bad[i]);
		if (rc != NR_EPROTO)
			NR_TEST_FAIL_("case %zu: rc %d for %s", i, rc, bad[i]);
	}
}

TEST(form_and_request)
{
	char form[128] = "", req[512];
	size_t len;

	EXPECT_EQ(nr_oauth2_form_add(form, sizeof(form), "grant_type", "refresh_token"), 0);
	EXPECT_EQ(nr_oauth2_form_add(form, sizeof(form), "scope",
				     "https://outlook.office.com/SMTP.Send offline_access"),
		  0);
	EXPECT_STREQ(form, "grant_type=refresh_token&scope=https%3A%2F%2Foutlook.office.com%2F"
			   "SMTP.Send%20offline_access");
	/* what does not fit is not half-added */
	EXPECT_EQ(nr_oauth2_form_add(form, sizeof(form), "client_secret",
				     "0123456789012345678901234567890123456789"),
		  NR_ETOOBIG);
	EXPECT_STREQ(form, "grant_type=refresh_token&scope=https%3A%2F%2Foutlook.office.com%2F"
			   "SMTP.Send%20offline_access");
	EXPECT_EQ(
	    nr_oauth2_http_request(req, sizeof(req), "https://127.0.0.1:8443/t/token", "a=b", &len),
	    0);
	EXPECT_STREQ(req, "POST /t/token HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
			  "User-Agent: nanorelay\r\nAccept: application/json\r\n"
			  "Content-Type: application/x-www-form-urlencoded\r\n"
			  "Content-Length: 3\r\nConnection: close\r\n\r\na=b");
	EXPECT_EQ(len, strlen(req));
	{
		char host[64];
		uint16_t port;
		EXPECT_EQ(nr_oauth2_url_host("https://[::1]:9443/x", host, sizeof(host), &port), 0);
		EXPECT_STREQ(host, "::1");
		EXPECT_EQ(port, 9443);
		EXPECT_EQ(
		    nr_oauth2_url_host("https://login.microsoftonline.com/t/oauth2/v2.0/token",
				       host, sizeof(host), &port),
		    0);
		EXPECT_STREQ(host, "login.microsoftonline.com");
		EXPECT_EQ(port, 443);
		EXPECT_EQ(nr_oauth2_url_host("http://a/", host, sizeof(host), &port), NR_EINVAL);
		EXPECT_EQ(nr_oauth2_url_host("https://a:0/", host, sizeof(host), &port), NR_EINVAL);
		EXPECT_EQ(nr_oauth2_url_host("https://a:70000/", host, sizeof(host), &port),
			  NR_EINVAL);
	}
}

TEST(xoauth2_strings)
{
	char s[128];

	EXPECT_EQ(nr_oauth2_xoauth2_string(s, sizeof(s), "me@example.com", "tok"), 37);
	EXPECT_TRUE(memcmp(s, "user=me@example.com\001auth=Bearer tok\001\001", 38) == 0);
	EXPECT_EQ(nr_oauth2_xoauth2_string(s, 10, "me@example.com", "tok"), NR_ETOOBIG);
	/* base64 of {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"} */
	{
		const char *c = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwcz"
				"ovL21haWwuZ29vZ2xlLmNvbS8ifQ==";
		EXPECT_EQ(nr_oauth2_xoauth2_challenge_is_auth_error(c, strlen(c)), 1);
		/* {"status":"500"} */
		EXPECT_EQ(nr_oauth2_xoauth2_challenge_is_auth_error("eyJzdGF0dXMiOiI1MDAifQ==", 24),
			  0);
		EXPECT_EQ(nr_oauth2_xoauth2_challenge_is_auth_error("not base64!", 11), 0);
	}
	EXPECT_EQ(nr_oauth2_needs_refresh(0, 1000), 1);
	EXPECT_EQ(nr_oauth2_needs_refresh(5000, 1000), 0);
	EXPECT_EQ(nr_oauth2_needs_refresh(5000, 5000 - NR_OAUTH2_REFRESH_AHEAD_S), 1);
}

TEST(store_round_trip_mode_and_refusals)
{
	static struct nr_oauth2_tokens t, u;
	char path[256];

	EXPECT_EQ(nr_oauth2_store_path(path, sizeof(path), ".", "SMTP.Office365.com", 587), 0);
	EXPECT_STREQ(path, "./oauth2-smtp.office365.com-587.tokens");
	EXPECT_EQ(nr_oauth2_store_path(path, sizeof(path), "/s", "2001:db8::1", 25), 0);
	EXPECT_STREQ(path, "/s/oauth2-2001_db8__1-25.tokens");
	EXPECT_EQ(nr_oauth2_store_path(path, 12, "/s", "a.example", 25), NR_ETOOBIG);

	strcpy(t.refresh_token, "0.AXEA-rot1");
	strcpy(t.access_token, "eyJ.a.b");
	t.expires_at = 1796601600;
	EXPECT_EQ(nr_oauth2_store_path(path, sizeof(path), ".", "t.example", 587), 0);
	/* (the mode, 0600, is the platform's nr_plat_file_write: the
	 * simulator under this test writes plain files) */
	EXPECT_EQ(nr_oauth2_store_save(path, &t), 0);
	EXPECT_EQ(nr_oauth2_store_load(path, &u), 0);
	EXPECT_STREQ(u.refresh_token, "0.AXEA-rot1");
	EXPECT_STREQ(u.access_token, "eyJ.a.b");
	EXPECT_EQ(u.expires_at, 1796601600);
	/* a rotation replaces the file */
	strcpy(t.refresh_token, "0.AXEA-rot2");
	EXPECT_EQ(nr_oauth2_store_save(path, &t), 0);
	EXPECT_EQ(nr_oauth2_store_load(path, &u), 0);
	EXPECT_STREQ(u.refresh_token, "0.AXEA-rot2");
	remove(path);
	EXPECT_EQ(nr_oauth2_store_load(path, &u), NR_ENOTFOUND);
	/* a token with a space or newline cannot be written or read */
	strcpy(t.access_token, "a b");
	EXPECT_EQ(nr_oauth2_store_save(path, &t), NR_EINVAL);
	EXPECT_EQ(nr_oauth2_store_parse("refresh_token a b\n", 18, &u), NR_EINVAL);
	EXPECT_EQ(nr_oauth2_store_parse("expires_at 12x\nrefresh_token r\n", 31, &u), NR_EINVAL);
	EXPECT_EQ(nr_oauth2_store_parse("other x\n", 8, &u), NR_EINVAL);
	EXPECT_EQ(nr_oauth2_store_parse("", 0, &u), NR_EINVAL);
	EXPECT_EQ(nr_oauth2_store_parse("refresh_token r", 15, &u), 0);
	EXPECT_STREQ(u.refresh_token, "r");
	EXPECT_EQ(u.expires_at, 0);
}

int main(void)
{
	RUN(http_content_length_chunked_and_close);
	RUN(http_hostile_framing_is_refused);
	RUN(json_token_replies_of_real_shapes);
	RUN(json_refuses_what_is_not_strict);
	RUN(form_and_request);
	RUN(xoauth2_strings);
	RUN(store_round_trip_mode_and_refusals);
	return TEST_REPORT();
}
