/*
 * rebalance.h - moving values to the replicas their keys hash to, after
 * volumes were added or removed: for one key (REBALANCE /key) or the whole
 * index (mkv rebalance).
 */
#ifndef MKV_REBALANCE_H
#define MKV_REBALANCE_H

#include "progress.h"
#include "store.h"

/*
 * mkv_rebalance_key - move key to its placement: copy the value to the
 * replicas that lack it (checking the MD5 when the record has one), record
 * the new replicas, then remove the copies outside them. A copy is never
 * removed before the new placement is written and recorded. Counts into p
 * when not NULL. Returns 0, MKV_E_NOTFOUND when the key has no record, or
 * the failure with its message in mkv_error_message() (the record is kept).
 * The caller holds the key's lock.
 */
int mkv_rebalance_key(struct mkv_store *s, const void *key, size_t len,
		      struct mkv_progress *p);

/* REBALANCE /key over HTTP: 204 done, 404 no record, 409 locked, 5xx failed. */
void mkv_store_rebalance(struct mkv_store *s, const void *key, size_t len,
			 struct mkv_reply *r);

/*
 * mkv_rebalance_all - rebalance every key of the index with cfg->workers
 * threads, showing progress, and print a summary. Every key that fails is
 * logged by name. Returns the number of keys that failed, or a negative
 * code when the index cannot be read.
 */
long mkv_rebalance_all(struct mkv_store *s);

#endif
