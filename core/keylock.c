/*
 * keylock.c - which keys have a write in progress.
 *
 * A fixed array of stripes, each a mutex and a short list of held keys, picked
 * by a hash of the key. Writers of different keys rarely share a stripe, and a
 * stripe's list holds only the keys being written at this instant, so a lookup
 * is a few comparisons under an uncontended lock.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "keylock.h"

#define STRIPES 64

struct held {
	struct held *next;
	size_t len;
	unsigned char key[];
};

struct stripe {
	pthread_mutex_t mu;
	struct held *keys;
};

struct mkv_keylock {
	struct stripe stripes[STRIPES];
};

static struct stripe *stripe_of(struct mkv_keylock *kl, const void *key, size_t len)
{
	return &kl->stripes[mkv_fnv1a(MKV_FNV1A_INIT, key, len) % STRIPES];
}

struct mkv_keylock *mkv_keylock_new(void)
{
	struct mkv_keylock *kl = calloc(1, sizeof *kl);

	for (size_t i = 0; kl && i < STRIPES; i++)
		pthread_mutex_init(&kl->stripes[i].mu, NULL);
	return kl;
}

void mkv_keylock_free(struct mkv_keylock *kl)
{
	if (!kl)
		return;
	for (size_t i = 0; i < STRIPES; i++) {
		while (kl->stripes[i].keys) {
			struct held *h = kl->stripes[i].keys;
			kl->stripes[i].keys = h->next;
			free(h);
		}
		pthread_mutex_destroy(&kl->stripes[i].mu);
	}
	free(kl);
}

/* The link pointing at key's entry in s, or at the list's NULL end. */
static struct held **find(struct stripe *s, const void *key, size_t len)
{
	struct held **at = &s->keys;

	while (*at && ((*at)->len != len || memcmp((*at)->key, key, len) != 0))
		at = &(*at)->next;
	return at;
}

bool mkv_keylock_try(struct mkv_keylock *kl, const void *key, size_t len)
{
	struct stripe *s = stripe_of(kl, key, len);
	struct held **at, *h;
	bool locked = false;

	pthread_mutex_lock(&s->mu);
	at = find(s, key, len);
	if (!*at && (h = malloc(sizeof *h + len))) {
		h->next = NULL;
		h->len = len;
		memcpy(h->key, key, len);
		*at = h;
		locked = true;
	}
	pthread_mutex_unlock(&s->mu);
	return locked;
}

void mkv_keylock_release(struct mkv_keylock *kl, const void *key, size_t len)
{
	struct stripe *s = stripe_of(kl, key, len);
	struct held **at, *h;

	pthread_mutex_lock(&s->mu);
	at = find(s, key, len);
	h = *at;
	if (h)
		*at = h->next;
	pthread_mutex_unlock(&s->mu);
	free(h);
}
