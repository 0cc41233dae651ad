/*
 * stats.h - counters for `nanorelay status`, and the latest recipient
 * outcomes (so `send-test` can tell delivered from bounced once the queue
 * has forgotten a finished message).
 *
 * One process, one thread: plain counters, no locking. They count since
 * the daemon started and are never reset by a reload.
 */
#ifndef NR_CORE_STATS_H
#define NR_CORE_STATS_H

#include <stddef.h>
#include <stdint.h>

enum nr_stat {
	NR_STAT_ACCEPTED = 0, /* messages committed to the queue */
	NR_STAT_DELIVERED,    /* recipients accepted upstream (2xx) */
	NR_STAT_DEFERRED,     /* recipient attempts that failed temporarily */
	NR_STAT_FAILED,       /* recipients refused permanently (5xx): bounced */
	NR_STAT_REJECTED,     /* inbound RCPTs refused by policy (relay denied) */
	NR_STAT_AUTH_FAILED,  /* inbound AUTH attempts with a wrong password */
	NR_STAT_COUNT
};

void nr_stats_inc(enum nr_stat which);
uint64_t nr_stats_get(enum nr_stat which);
/* Short name used in status output and JSON keys: "accepted", ... */
const char *nr_stats_name(enum nr_stat which);
/* Zero everything (tests; a daemon start). */
void nr_stats_reset(void);

/* Final outcome of one recipient: delivered or failed (not deferred). */
enum nr_outcome_kind { NR_OUTCOME_KIND_DELIVERED = 1, NR_OUTCOME_KIND_FAILED = 2 };

/* Remember the final outcome of a recipient of message id (the last
 * NR_STATS_RECENT outcomes are kept; text is cut to fit). */
void nr_stats_note_outcome(uint64_t id, enum nr_outcome_kind kind, const char *text);
/* The latest remembered outcome of message id: its kind (text copied into
 * dst), or 0 when none is remembered (dst is then ""). */
int nr_stats_find_outcome(uint64_t id, char *dst, size_t size);

#define NR_STATS_RECENT 16

#endif /* NR_CORE_STATS_H */
