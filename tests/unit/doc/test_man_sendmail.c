/*
 * test_man_sendmail.c - doc/nanorelay-sendmail.8 names exactly the options
 * the sendmail parser (nr_sendmail_parse_opts) accepts.
 *
 * Forward: every letter X for which "-X" is accepted (and every -bX mode)
 * appears in the page as "Fl X". Backward: every "Fl WORD" of the page,
 * given as "-WORD", is accepted. The parser is the contract, so an option
 * added to it without a line in the page, or a page line for an option it
 * refuses, fails here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail/sendmail.h"
#include "test.h"

static char *page;

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Does the parser accept "-word" (followed by one address)? */
static int accepted(const char *word)
{
	char opt[32], addr[] = "user@example.com", prog[] = "sendmail";
	char *argv[] = {prog, opt, addr, NULL};
	struct nr_sm_opts o;
	char err[128];

	snprintf(opt, sizeof(opt), "-%s", word);
	return nr_sendmail_parse_opts(3, argv, &o, err, sizeof(err)) == 0;
}

/* Is "Fl word" in the page, as a whole word? */
static int documented(const char *word)
{
	size_t n = strlen(word);
	const char *p = page;

	while ((p = strstr(p, "Fl ")) != NULL) {
		p += 3;
		if (strncmp(p, word, n) == 0 && !isalnum((unsigned char)p[n]))
			return 1;
	}
	return 0;
}

TEST(every_accepted_option_is_documented)
{
	char w[3] = {0};
	int c, m;

	for (c = 0; c < 128; c++) {
		if (!isalpha(c))
			continue;
		w[0] = (char)c;
		w[1] = '\0';
		if (c == 'b') {
			for (m = 0; m < 128; m++) {
				w[1] = (char)m;
				if (isalpha(m) && accepted(w) && !documented(w))
					NR_TEST_FAIL_(
					    "sendmail accepts -%s but the page does not name it",
					    w);
			}
			continue;
		}
		if (accepted(w) && !documented(w))
			NR_TEST_FAIL_("sendmail accepts -%s but the page does not name it", w);
	}
}

TEST(every_documented_option_is_accepted)
{
	const char *p = page;
	int seen = 0;

	while ((p = strstr(p, "Fl ")) != NULL) {
		char w[16];
		size_t n = 0;

		p += 3;
		while (isalnum((unsigned char)p[n]) && n < sizeof(w) - 1) {
			w[n] = p[n];
			n++;
		}
		w[n] = '\0';
		if (n == 0) /* "Fl -", "Fl --": the end of the options */
			continue;
		if (strcmp(w, "c") == 0) /* nanorelay's own -c, in "nanorelay -c FILE sendmail" */
			continue;
		seen++;
		if (!accepted(w))
			NR_TEST_FAIL_("the page names -%s but sendmail refuses it", w);
	}
	EXPECT_TRUE(seen > 10);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : NR_SRC_DIR "/doc/nanorelay-sendmail.8";

	page = read_file(path);
	if (!page) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	RUN(every_accepted_option_is_documented);
	RUN(every_documented_option_is_accepted);
	free(page);
	return TEST_REPORT();
}
