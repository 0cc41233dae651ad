/*
 * conf_check.c - "did you mean" for a mistyped key, and the facts about a
 * parsed configuration that more than one module asks. What a
 * configuration needs from the machine (users, file modes) is checked by
 * the front end: src/app/check_system.c.
 */
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_int.h"
#include "core/ascii.h"

/* ---- the file probe ------------------------------------------------------------------ */

static nr_conf_file_probe_fn file_probe;

void nr_conf_set_file_probe(nr_conf_file_probe_fn probe)
{
	file_probe = probe;
}

int nr_conf_probe_file(const char *path, const char *user)
{
	return file_probe != NULL ? file_probe(path, user) : 0;
}

/* ---- did you mean ---------------------------------------------------------------- */

/* Edit distance (insert, delete, substitute), case ignored, for short
 * names; longer than a key can be: a large number. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[41];

	if (la > 40 || lb > 40)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t sub = diag + (nr_ascii_lower((unsigned char)a[i - 1]) !=
					     nr_ascii_lower((unsigned char)b[j - 1]));
			size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;

			row[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	return row[lb];
}

const char *nr_conf_key_suggest(const char *name)
{
	const char *best = NULL;
	size_t i, d, best_d = 3;

	for (i = 0; i < nr_conf_key_count; i++) {
		d = distance(name, nr_conf_keys[i].name);
		/* two edits in a four-letter word make another word */
		if (d < best_d && d * 2 < strlen(nr_conf_keys[i].name)) {
			best_d = d;
			best = nr_conf_keys[i].name;
		}
	}
	return best;
}

int nr_conf_uses_lan_tls(const struct nr_conf *c)
{
	size_t i;

	for (i = 0; i < c->listen_count; i++)
		if (c->listen[i].tls != NR_TLS_NONE)
			return 1;
	return 0;
}
