/*
 * replicate.h - one value streamed to several replicas at once through a
 * bounded buffer, with its MD5 computed on the way.
 *
 * The producer (the HTTP connection receiving the body) writes into a ring
 * buffer; one writer per replica, on a pool thread, pulls from it into the
 * volume backend's put(), and one more reader computes the MD5. The buffer
 * is reused once every reader has consumed a region, so memory stays at one
 * buffer per PUT whatever the value's size, and the PUT takes as long as the
 * slowest replica, not the sum of them.
 */
#ifndef MKV_REPLICATE_H
#define MKV_REPLICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plugin.h"
#include "strlist.h"

/* Bytes of buffer per PUT. */
#define MKV_FANOUT_BUFFER (4u << 20)

/*
 * Readers that have caught up wait for this many new bytes (or the end of
 * the value), and a producer waiting for room for this much, so that a
 * thread wakes once per batch rather than once per network read.
 */
#define MKV_FANOUT_BATCH (256u << 10)
/* A reader holding less than a batch passes it on after this long anyway. */
#define MKV_FANOUT_BATCH_WAIT_MS 20

/*
 * Values up to this size are received whole before the writers start, so
 * each writer wakes once and finds every byte (rather than waking to send
 * the headers, then again for the body), and they are hashed by the producer
 * as they arrive, which costs less than a thread switch. Larger values are
 * streamed as they come and hashed by a reader of their own.
 */
#define MKV_FANOUT_SMALL (256u << 10)

struct mkv_fanout;

/*
 * mkv_fanout_start - start writing length bytes to path on every replica
 * (the writers start now, or for a value of at most MKV_FANOUT_SMALL bytes
 * once its last byte is offered).
 * A replica that does not answer is replaced by the next of spares not yet
 * used (NULL or empty for none), as long as the ring still holds the value
 * from its first byte. With md5 true, the
 * MD5 of the bytes is computed on the way. Both lists must outlive f.
 * Returns 0 with *out set, or MKV_E_NOMEM.
 */
int mkv_fanout_start(struct mkv_fanout **out, struct mkv_volume *vol,
		     const struct mkv_strlist *replicas,
		     const struct mkv_strlist *spares, const char *path,
		     uint64_t length, bool md5);

/*
 * Pass len more bytes on, blocking while the slowest writer is a full buffer
 * behind. Returns 0, or the first writer's error once any write failed (the
 * rest of the value can then be dropped).
 */
int mkv_fanout_write(struct mkv_fanout *f, const void *data, size_t len);

/*
 * How a producer that must not block waits for room: pause(ctx) is called
 * when the buffer is full, under the fanout's lock (so it completes before
 * any wake), and wake(ctx) once, also under that lock, when there is room
 * again or the PUT has failed. Neither may call back into the fanout.
 */
struct mkv_fanout_waiter {
	void (*pause)(void *ctx);
	void (*wake)(void *ctx);
	void *ctx;
};

/*
 * mkv_fanout_offer - pass on as much of data as the buffer has room for,
 * without waiting. Returns the number of bytes taken; when that is less
 * than len, the waiter was paused and will be woken. Returns the first
 * writer's error once the PUT has failed, or MKV_E_INVAL for bytes past the
 * length. mkv_fanout_finish() cancels a pending wake.
 */
ssize_t mkv_fanout_offer(struct mkv_fanout *f, const void *data, size_t len,
			 const struct mkv_fanout_waiter *waiter);

/*
 * mkv_fanout_when_done - for a producer that has passed on the whole value:
 * arrange for done(ctx) to be called, from the last writer's thread, once
 * every writer has finished, so that nobody waits for them. Returns false,
 * arranging nothing, when they all have already or the value is not
 * complete (mkv_fanout_finish() then stops them). done may call
 * mkv_fanout_finish(), which then does not wait.
 */
bool mkv_fanout_when_done(struct mkv_fanout *f, void (*done)(void *ctx), void *ctx);

/*
 * mkv_fanout_finish - wait for every writer and free f. With abort true, or
 * when fewer than length bytes were written (MKV_E_INVAL), the writers are
 * stopped first. Returns 0 when every replica was written completely, else
 * the first error,
 * with its message (naming the replica) in mkv_error_message(). The lowercase
 * hex MD5 goes to md5_hex when it was requested and all went well. Per
 * replica of the list given to start, where[i] is the replica written in its
 * stead (itself, or a spare; a string of those lists) and written[i] whether
 * it now holds the whole value: a backend's put leaves nothing new behind
 * when it fails.
 */
int mkv_fanout_finish(struct mkv_fanout *f, bool abort, char md5_hex[33],
		      bool *written, const char **where);

#endif
