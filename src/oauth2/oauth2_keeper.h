/*
 * oauth2_keeper.h - the daemon's side of built-in OAuth2: it gets a fresh
 * access token for an oauth2= smarthost when delivery needs one, without
 * ever blocking the loop.
 *
 * Delivery asks before it connects (nr_oauth2_keeper_want): 0 means the
 * store in state_dir holds an access token good for a while yet; NR_EAGAIN
 * means a token request is under way and done() follows from the loop;
 * any other answer comes with a sentence for status and the log. After an
 * XOAUTH2 refusal delivery calls nr_oauth2_keeper_expire() so the next
 * want() refreshes once.
 *
 * Grants: client_credentials (client id, secret, scope) and refresh_token
 * (the refresh token from the store, written by `nanorelay oauth2 login`
 * or a previous refresh). A rotated refresh token is saved at once, in
 * the same atomic write as the access token that came with it.
 */
#ifndef NR_OAUTH2_OAUTH2_KEEPER_H
#define NR_OAUTH2_OAUTH2_KEEPER_H

#include <stddef.h>
#include <stdint.h>

#include "core/build.h"

struct nr_loop;
struct nr_conf;
struct nr_oauth2_keeper;

#define NR_OAUTH2_TEXT_MAX 200

/* host: the index of the smarthost in conf; err 0: the store holds a
 * fresh token; else text says what went wrong and what fixes it
 * (permanent 1: retrying will not help until the user acts). */
typedef void (*nr_oauth2_done_fn)(void *arg, size_t host, int err, int permanent, const char *text);

#if NR_ENABLED(CONFIG_NR_OAUTH2)
/* *out NULL (and 0) when no smarthost uses oauth2=. NR_ENOMEM, a DNS or
 * CA file error. */
int nr_oauth2_keeper_new(struct nr_oauth2_keeper **out, struct nr_loop *loop,
			 const struct nr_conf *conf, nr_oauth2_done_fn done,
			 void *arg) NR_MUST_CHECK;
/* Cancels requests in flight (no done() follows). NULL is ignored. */
void nr_oauth2_keeper_free(struct nr_oauth2_keeper *k);

/* 0: a fresh token is stored; NR_EAGAIN: done() follows; else an error
 * described in text (size NR_OAUTH2_TEXT_MAX) with *permanent set. */
int nr_oauth2_keeper_want(struct nr_oauth2_keeper *k, size_t host, uint64_t now_wall, char *text,
			  int *permanent);
/* The stored access token was refused: the next want() fetches another. */
void nr_oauth2_keeper_expire(struct nr_oauth2_keeper *k, size_t host);
#else
/* Without CONFIG_NR_OAUTH2 there is never a keeper (conf refuses oauth2=). */
static inline int nr_oauth2_keeper_new(struct nr_oauth2_keeper **out, struct nr_loop *loop,
				       const struct nr_conf *conf, nr_oauth2_done_fn done,
				       void *arg)
{
	(void)loop, (void)conf, (void)done, (void)arg;
	*out = NULL;
	return 0;
}
static inline void nr_oauth2_keeper_free(struct nr_oauth2_keeper *k)
{
	(void)k;
}
static inline int nr_oauth2_keeper_want(struct nr_oauth2_keeper *k, size_t host, uint64_t now_wall,
					char *text, int *permanent)
{
	(void)k, (void)host, (void)now_wall, (void)text;
	*permanent = 0;
	return 0;
}
static inline void nr_oauth2_keeper_expire(struct nr_oauth2_keeper *k, size_t host)
{
	(void)k, (void)host;
}
#endif

#endif /* NR_OAUTH2_OAUTH2_KEEPER_H */
