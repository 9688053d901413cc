/*
 * fake_plugins.h - in-memory index and volume backends for the unit tests of
 * the core's request logic.
 *
 * fake_index_ops is an ordered map kept in one sorted array behind a mutex,
 * with the cursor and batch semantics of include/mkv/index.h. fake_volume_ops
 * keeps every file in memory, keyed by replica and path; its put() really
 * pulls length bytes from the source, and a test can mark a replica down or
 * make its next writes fail part way, to see what the core does about it.
 *
 * Both are opened like any backend (mkv_index_open, mkv_volume_open); the
 * helpers below take the opened struct and let a test arrange and inspect
 * what a real deployment would hold on its disks.
 */
#ifndef MKV_TEST_FAKE_PLUGINS_H
#define MKV_TEST_FAKE_PLUGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mkv/mkv.h>

#include "plugin.h"

extern const struct mkv_index_ops fake_index_ops;
extern const struct mkv_volume_ops fake_volume_ops;
/* The same with stat_async, answering from a thread per call. */
extern const struct mkv_volume_ops fake_volume_async_ops;
/* Built for ABI 1.0, whose table has no stat_async: calling it aborts. */
extern const struct mkv_volume_ops fake_volume_abi_1_0_ops;

/*
 * The raw value stored under key, malloc'd and NUL-terminated (the caller
 * frees it), its length without the NUL in *len when len is not NULL; NULL
 * when the key is absent.
 */
char *fake_index_value(struct mkv_index *ix, const void *key, size_t key_len,
		       size_t *len);

/* Store value under key directly, bypassing the core (a hand-made record). */
void fake_index_set(struct mkv_index *ix, const void *key, size_t key_len,
		    const void *value, size_t value_len);

/* How many keys the index holds, whatever their records say. */
size_t fake_index_count(struct mkv_index *ix);

/* Make every slot fail with MKV_E_IO (true) or work again (false). */
void fake_index_set_failing(struct mkv_index *ix, bool failing);

/*
 * Mark replica down (put, del, stat, read and list on it fail with
 * MKV_E_UNAVAILABLE at once, without reading the source) or up again.
 */
void fake_volume_set_down(struct mkv_volume *v, const char *replica, bool down);

/*
 * Make every later put() to replica fail with MKV_E_IO after pulling
 * `after` bytes of the source, keeping nothing; a negative `after` lifts it.
 */
void fake_volume_fail_put(struct mkv_volume *v, const char *replica,
			  int64_t after);

/* Make put() to replica sleep usec before each pull from its source: a slow disk. */
void fake_volume_set_delay(struct mkv_volume *v, const char *replica,
			   unsigned usec);

/*
 * Make the answers of stat_async wait (true) until lifted (false); each is
 * computed when it goes out. fake_volume_async_ops only.
 */
void fake_volume_hold_stats(struct mkv_volume *v, bool hold);

/* How many times stat_async was called. */
unsigned fake_volume_stat_asyncs(struct mkv_volume *v);

/* How many files all replicas hold together. */
size_t fake_volume_count(struct mkv_volume *v);

/* Whether path exists on replica (regardless of the down flag). */
bool fake_volume_exists(struct mkv_volume *v, const char *replica,
			const char *path);

/*
 * A malloc'd copy of the file at path on replica (the caller frees it), its
 * size in *len; NULL when absent. A 0-byte file gives a non-NULL pointer.
 */
void *fake_volume_contents(struct mkv_volume *v, const char *replica,
			   const char *path, size_t *len);

/* Create or replace the file at path on replica with len bytes of data. */
void fake_volume_add(struct mkv_volume *v, const char *replica,
		     const char *path, const void *data, size_t len);

/* How many put() calls the volume has seen, successful or not. */
unsigned fake_volume_puts(struct mkv_volume *v);

#endif
