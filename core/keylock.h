/*
 * keylock.h - the set of keys with a write in progress (PUT, DELETE, UNLINK).
 * A second writer of a locked key is refused at once (409), never queued.
 */
#ifndef MKV_KEYLOCK_H
#define MKV_KEYLOCK_H

#include <stdbool.h>
#include <stddef.h>

struct mkv_keylock;

/* A new, empty lock set, or NULL when out of memory. */
struct mkv_keylock *mkv_keylock_new(void);
void mkv_keylock_free(struct mkv_keylock *kl);

/* Lock key; false when it is already locked (or out of memory). */
bool mkv_keylock_try(struct mkv_keylock *kl, const void *key, size_t len);

/* Unlock a key this caller locked with mkv_keylock_try(). */
void mkv_keylock_release(struct mkv_keylock *kl, const void *key, size_t len);

#endif
