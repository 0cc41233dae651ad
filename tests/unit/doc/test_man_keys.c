/*
 * test_man_keys.c - doc/nanorelay.conf.5 documents exactly the keys of the
 * parser's table (nr_conf_keys[] in src/conf/conf_keys.c), so the manual
 * cannot drift from the parser.
 *
 * In the manual a key is a line ".It Ic KEY ..." and its entry runs to the
 * next such line. Checked: every table key has one entry, every entry is a
 * table key, each option of the key appears in its entry as "Cm OPT Ns =",
 * and a repeatable key says "repeatable".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "test.h"

#define MAX_ENTRIES 128

struct entry {
	char name[64];
	const char *start, *end; /* the entry's text in the page */
};

static char *page;
static struct entry entries[MAX_ENTRIES];
static int nentries;

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

/* Every ".It Ic NAME" line starts an entry. */
static void scan_entries(void)
{
	static const char mark[] = "\n.It Ic ";
	const char *p = page;

	while ((p = strstr(p, mark)) != NULL && nentries < MAX_ENTRIES) {
		struct entry *e = &entries[nentries];
		size_t len;

		p += strlen(mark);
		len = strcspn(p, " \n");
		if (len >= sizeof(e->name))
			len = sizeof(e->name) - 1;
		memcpy(e->name, p, len);
		e->name[len] = '\0';
		e->start = p;
		if (nentries > 0)
			entries[nentries - 1].end = p;
		nentries++;
	}
	if (nentries > 0)
		entries[nentries - 1].end = page + strlen(page);
}

static const struct entry *find_entry(const char *name)
{
	int i;

	for (i = 0; i < nentries; i++)
		if (strcmp(entries[i].name, name) == 0)
			return &entries[i];
	return NULL;
}

static int entry_has(const struct entry *e, const char *text)
{
	size_t n = strlen(text);
	const char *p;

	for (p = e->start; p + n <= e->end; p++)
		if (memcmp(p, text, n) == 0)
			return 1;
	return 0;
}

TEST(every_table_key_is_documented)
{
	size_t i;

	for (i = 0; i < nr_conf_key_count; i++)
		if (!find_entry(nr_conf_keys[i].name))
			NR_TEST_FAIL_("key %s is in the parser's table but not in nanorelay.conf.5",
				      nr_conf_keys[i].name);
}

TEST(every_documented_key_is_in_the_table)
{
	int i;
	size_t k;

	EXPECT_TRUE(nentries > 0);
	for (i = 0; i < nentries; i++) {
		for (k = 0; k < nr_conf_key_count; k++)
			if (strcmp(entries[i].name, nr_conf_keys[k].name) == 0)
				break;
		if (k == nr_conf_key_count)
			NR_TEST_FAIL_(
			    "nanorelay.conf.5 documents %s, which the parser does not know",
			    entries[i].name);
	}
}

TEST(keys_are_documented_once)
{
	int i, j;

	for (i = 0; i < nentries; i++)
		for (j = i + 1; j < nentries; j++)
			if (strcmp(entries[i].name, entries[j].name) == 0)
				NR_TEST_FAIL_("nanorelay.conf.5 documents %s twice",
					      entries[i].name);
}

TEST(every_option_is_documented)
{
	size_t i;

	for (i = 0; i < nr_conf_key_count; i++) {
		const struct entry *e = find_entry(nr_conf_keys[i].name);
		const char *const *o;
		char text[80];

		if (!e || !nr_conf_keys[i].opts)
			continue;
		for (o = nr_conf_keys[i].opts; *o; o++) {
			snprintf(text, sizeof(text), "Cm %s Ns =", *o);
			if (!entry_has(e, text))
				NR_TEST_FAIL_("option %s= of %s is not in nanorelay.conf.5", *o,
					      nr_conf_keys[i].name);
		}
	}
}

TEST(repeatable_keys_say_so)
{
	size_t i;

	for (i = 0; i < nr_conf_key_count; i++) {
		const struct entry *e = find_entry(nr_conf_keys[i].name);

		if (e && nr_conf_keys[i].repeatable && !entry_has(e, "epeatable"))
			NR_TEST_FAIL_("%s is repeatable but nanorelay.conf.5 does not say so",
				      nr_conf_keys[i].name);
	}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : NR_SRC_DIR "/doc/nanorelay.conf.5";

	page = read_file(path);
	if (!page) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	scan_entries();
	RUN(every_table_key_is_documented);
	RUN(every_documented_key_is_in_the_table);
	RUN(keys_are_documented_once);
	RUN(every_option_is_documented);
	RUN(repeatable_keys_say_so);
	free(page);
	return TEST_REPORT();
}
