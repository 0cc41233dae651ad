/*
 * test_users.c - the LAN users file (add, verify, wrong password, update,
 * comments kept, mode 0600, malformed lines) and base64 (RFC 4648 vectors).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base64.h"
#include "test.h"
#include "tls/tls.h"
#include "users/users.h"

static char dir[256];
static char path[300];

TEST(base64_rfc4648_vectors)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char buf[32];
	for (size_t i = 0; i < 7; i++) {
		EXPECT_EQ(nr_base64_encode(plain[i], strlen(plain[i]), buf, sizeof(buf)),
			  (long)strlen(enc[i]));
		EXPECT_STREQ(buf, enc[i]);
		EXPECT_EQ(nr_base64_decode(enc[i], strlen(enc[i]), buf, sizeof(buf)),
			  (long)strlen(plain[i]));
		EXPECT_MEMEQ(buf, plain[i], strlen(plain[i]));
	}
	EXPECT_EQ(nr_base64_decode("Zm9", 3, buf, sizeof(buf)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("Zm=v", 4, buf, sizeof(buf)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("Z===", 4, buf, sizeof(buf)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("Zg==Zg==", 8, buf, sizeof(buf)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("Zm 9", 4, buf, sizeof(buf)), NR_EINVAL);
	EXPECT_EQ(nr_base64_decode("Zm9v", 4, buf, 2), NR_EFULL);
	EXPECT_EQ(nr_base64_encode("f", 1, buf, 4), NR_EFULL);
}

TEST(users_add_verify_update)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;

	unlink(path);
	EXPECT_EQ(nr_users_verify(path, "printer", "secret", 6), NR_ENOTFOUND);
	ASSERT_EQ(nr_users_set(path, "printer", "secret", 6, 0), 0);
	ASSERT_EQ(stat(path, &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600);
	EXPECT_EQ(nr_users_verify(path, "printer", "secret", 6), 0);
	EXPECT_EQ(nr_users_verify(path, "printer", "secreT", 6), NR_EAUTH);
	EXPECT_EQ(nr_users_verify(path, "printer", "secret", 5), NR_EAUTH);
	EXPECT_EQ(nr_users_verify(path, "Printer", "secret", 6), NR_EAUTH);
	EXPECT_EQ(nr_users_verify(path, "nobody", "secret", 6), NR_EAUTH);
	EXPECT_EQ(nr_users_verify(path, "print", "secret", 6), NR_EAUTH);

	/* the password is not in the file; the format is as documented */
	ASSERT_EQ(nr_plat_file_read(path, 1 << 16, &text, &len), 0);
	EXPECT_TRUE(strstr(text, "secret") == NULL);
	EXPECT_TRUE(strncmp(text, "printer:pbkdf2-sha256:10000:", 28) == 0);
	EXPECT_EQ(text[len - 1], '\n');
	free(text);

	ASSERT_EQ(nr_users_set(path, "cam@lan", "pw two", 6, 2000), 0);
	EXPECT_EQ(nr_users_verify(path, "cam@lan", "pw two", 6), 0);
	EXPECT_EQ(nr_users_verify(path, "printer", "secret", 6), 0);

	/* update in place: old password gone, other users and order kept */
	ASSERT_EQ(nr_users_set(path, "printer", "new-secret", 10, 0), 0);
	EXPECT_EQ(nr_users_verify(path, "printer", "secret", 6), NR_EAUTH);
	EXPECT_EQ(nr_users_verify(path, "printer", "new-secret", 10), 0);
	EXPECT_EQ(nr_users_verify(path, "cam@lan", "pw two", 6), 0);
	ASSERT_EQ(nr_plat_file_read(path, 1 << 16, &text, &len), 0);
	EXPECT_TRUE(strncmp(text, "printer:", 8) == 0);
	EXPECT_TRUE(strstr(text, "\ncam@lan:pbkdf2-sha256:2000:") != NULL);
	free(text);
}

TEST(users_rejects_bad_input)
{
	EXPECT_EQ(nr_users_set(path, "a:b", "x", 1, 0), NR_EINVAL);
	EXPECT_EQ(nr_users_set(path, "a b", "x", 1, 0), NR_EINVAL);
	EXPECT_EQ(nr_users_set(path, "", "x", 1, 0), NR_EINVAL);
	EXPECT_EQ(nr_users_set(path, "#x", "x", 1, 0), NR_EINVAL);
	EXPECT_EQ(nr_users_set(path, "ok", "", 0, 0), NR_EINVAL);
	EXPECT_EQ(nr_users_set(path, "ok", "x", 1, 10), NR_EINVAL);
	EXPECT_EQ(nr_users_verify(path, "a:b", "x", 1), NR_EAUTH);
}

TEST(users_text_comments_and_malformed)
{
	/* PBKDF2-SHA256("passwd", "salt", 1000) computed independently with
	 * `openssl kdf`; comments, CRLF and other users around it. */
	const char *good = "# LAN users\r\n"
			   "\n"
			   "alice:pbkdf2-sha256:1000:c2FsdHNhbHQ=:"
			   "ALICE_HASH\r\n"
			   "bob:pbkdf2-sha256:1000:!!!!:AAAAAAAAAAAAAAAAAAAAAA==\n"
			   "carol:md5:1000:c2FsdHNhbHQ=:AAAAAAAAAAAAAAAAAAAAAA==\n"
			   "dave:pbkdf2-sha256:99:c2FsdHNhbHQ=:AAAAAAAAAAAAAAAAAAAAAA==\n";
	char text[512];
	uint8_t h[32];
	char h64[64];

	ASSERT_EQ(
	    nr_tls_pbkdf2_sha256("wonderland", 10, (const uint8_t *)"saltsalt", 8, 1000, h, 32), 0);
	ASSERT_TRUE(nr_base64_encode(h, 32, h64, sizeof(h64)) > 0);
	const char *mark = strstr(good, "ALICE_HASH");
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(mark - good), good, h64, mark + 10);
	EXPECT_EQ(nr_users_verify_text(text, strlen(text), "alice", "wonderland", 10), 0);
	EXPECT_EQ(nr_users_verify_text(text, strlen(text), "alice", "wonderlanD", 10), NR_EAUTH);
	EXPECT_EQ(nr_users_verify_text(text, strlen(text), "bob", "x", 1), NR_ECORRUPT);
	EXPECT_EQ(nr_users_verify_text(text, strlen(text), "carol", "x", 1), NR_ECORRUPT);
	EXPECT_EQ(nr_users_verify_text(text, strlen(text), "dave", "x", 1), NR_ECORRUPT);
	EXPECT_EQ(nr_users_verify_text(text, strlen(text), "erin", "x", 1), NR_EAUTH);

	/* rewriting keeps comments and the other lines byte for byte */
	FILE *f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs("# LAN users\n\nbob:pbkdf2-sha256:1000:!!!!:AAAA\n", f);
	fclose(f);
	ASSERT_EQ(nr_users_set(path, "zed", "pw", 2, 0), 0);
	char *got = NULL;
	size_t len = 0;
	ASSERT_EQ(nr_plat_file_read(path, 1 << 16, &got, &len), 0);
	EXPECT_TRUE(strncmp(got, "# LAN users\n\nbob:pbkdf2-sha256:1000:!!!!:AAAA\nzed:", 50) == 0);
	free(got);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nr-users-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/users", dir);
	RUN(base64_rfc4648_vectors);
	RUN(users_add_verify_update);
	RUN(users_rejects_bad_input);
	RUN(users_text_comments_and_malformed);
	unlink(path);
	rmdir(dir);
	return TEST_REPORT();
}
