/*
 * stats.c - daemon counters and a small ring of recent final outcomes.
 */
#include <string.h>

#include "core/stats.h"

struct recent_outcome {
	uint64_t id;
	int kind; /* 0: slot unused */
	char text[160];
};

static uint64_t counters[NR_STAT_COUNT];
static struct recent_outcome recent[NR_STATS_RECENT];
static size_t recent_next;

static const char *const names[NR_STAT_COUNT] = {
    "accepted", "delivered", "deferred", "failed", "rejected", "auth_failed",
};

void nr_stats_inc(enum nr_stat which)
{
	if ((unsigned)which < NR_STAT_COUNT)
		counters[which]++;
}

uint64_t nr_stats_get(enum nr_stat which)
{
	return (unsigned)which < NR_STAT_COUNT ? counters[which] : 0;
}

const char *nr_stats_name(enum nr_stat which)
{
	return (unsigned)which < NR_STAT_COUNT ? names[which] : "?";
}

void nr_stats_reset(void)
{
	memset(counters, 0, sizeof(counters));
	memset(recent, 0, sizeof(recent));
	recent_next = 0;
}

void nr_stats_note_outcome(uint64_t id, enum nr_outcome_kind kind, const char *text)
{
	struct recent_outcome *r = &recent[recent_next];
	size_t n = text ? strlen(text) : 0;

	if (n >= sizeof(r->text))
		n = sizeof(r->text) - 1;
	r->id = id;
	r->kind = (int)kind;
	memcpy(r->text, text ? text : "", n);
	r->text[n] = '\0';
	recent_next = (recent_next + 1) % NR_STATS_RECENT;
}

int nr_stats_find_outcome(uint64_t id, char *dst, size_t size)
{
	size_t k;

	/* Newest first: walk backwards from the slot written last. */
	for (k = 1; k <= NR_STATS_RECENT; k++) {
		const struct recent_outcome *r =
		    &recent[(recent_next + NR_STATS_RECENT - k) % NR_STATS_RECENT];
		if (r->kind && r->id == id) {
			if (size) {
				size_t n = strlen(r->text);
				if (n >= size)
					n = size - 1;
				memcpy(dst, r->text, n);
				dst[n] = '\0';
			}
			return r->kind;
		}
	}
	if (size)
		dst[0] = '\0';
	return 0;
}
