/*
 * checks.c - the replica checks in flight, by question.
 *
 * The keylock layout: a fixed array of stripes, each a mutex and a short
 * list, picked by a hash of the question. A stripe's list holds only the
 * checks in flight at this instant, so a lookup is a few comparisons under an
 * uncontended lock. Nothing is allocated: a check lives in its leader.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "hash.h"

#define STRIPES 64

struct stripe {
	pthread_mutex_t mu;
	struct mkv_check *leaders;
};

struct mkv_checks {
	struct stripe stripes[STRIPES];
};

/* The stripe of c's question, by a hash of "replica\0path". */
static struct stripe *stripe_of(struct mkv_checks *cs, const struct mkv_check *c)
{
	uint32_t h = mkv_fnv1a(MKV_FNV1A_INIT, c->replica, strlen(c->replica) + 1);

	return &cs->stripes[mkv_fnv1a(h, c->path, strlen(c->path)) % STRIPES];
}

struct mkv_checks *mkv_checks_new(void)
{
	struct mkv_checks *cs = calloc(1, sizeof *cs);

	for (size_t i = 0; cs && i < STRIPES; i++)
		pthread_mutex_init(&cs->stripes[i].mu, NULL);
	return cs;
}

void mkv_checks_free(struct mkv_checks *cs)
{
	if (!cs)
		return;
	for (size_t i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&cs->stripes[i].mu);
	free(cs);
}

bool mkv_checks_ask(struct mkv_checks *cs, struct mkv_check *c)
{
	struct stripe *s = stripe_of(cs, c);
	struct mkv_check *l;

	c->joined = NULL;
	pthread_mutex_lock(&s->mu);
	for (l = s->leaders; l; l = l->next)
		if (strcmp(l->path, c->path) == 0 && strcmp(l->replica, c->replica) == 0)
			break;
	if (l) {
		c->next = l->joined;
		l->joined = c;
	} else {
		c->next = s->leaders;
		s->leaders = c;
	}
	pthread_mutex_unlock(&s->mu);
	return !l;
}

struct mkv_check *mkv_checks_end(struct mkv_checks *cs, struct mkv_check *c)
{
	struct stripe *s = stripe_of(cs, c);
	struct mkv_check **at;

	pthread_mutex_lock(&s->mu);
	for (at = &s->leaders; *at != c; at = &(*at)->next)
		;
	*at = c->next;
	c->next = c->joined;
	c->joined = NULL;
	pthread_mutex_unlock(&s->mu);
	return c;
}
