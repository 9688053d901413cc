/*
 * replicate.c - stream one value to every replica at once.
 *
 * The ring buffer holds the last MKV_FANOUT_BUFFER bytes of the value (the
 * whole value when it is smaller: a small PUT does not pay for 4 MB). The
 * producer appends at `written`; each reader (a replica writer, or the
 * hasher that computes the MD5) has its own position and consumes the ring
 * on a pool thread: a writer through its backend's put() and a source
 * callback, the hasher straight from the ring. The producer waits (or, with
 * mkv_fanout_offer(), pauses) while the slowest live reader is a whole
 * buffer behind, and a reader waits while it has caught up with the
 * producer. Both wait for a batch (MKV_FANOUT_BATCH) rather than a byte,
 * so that threads wake once per batch, not once per network read. Copies
 * happen outside the lock: a region is only ever written
 * by the producer before `written` covers it and only read by readers after,
 * and the producer never reuses a region until every live reader has moved
 * past it.
 *
 * The first writer to fail stops the others (they see MKV_E_ABORTED from
 * their source), because the PUT as a whole has failed by then.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "host.h"
#include "replicate.h"
#include "workpool.h"

struct reader {
	struct mkv_fanout *f;
	const char *replica;   /* borrowed from the caller's lists; NULL for the hasher */
	bool done;
	uint64_t pos;          /* bytes consumed */
	int rc;
};

struct mkv_fanout {
	pthread_mutex_t mu;
	pthread_cond_t more_data;  /* producer -> readers */
	pthread_cond_t more_space; /* readers -> producer and finish: room, or a reader done */
	struct mkv_volume *vol;
	const char *path;          /* borrowed */
	const struct mkv_strlist *spares; /* borrowed; NULL for none */
	size_t next_spare;
	uint64_t length;
	uint64_t written;          /* bytes the producer appended */
	bool stopping;             /* a writer failed or the PUT was aborted */
	int rc;                    /* the first failure */
	char message[512];         /* and what it said */
	struct mkv_fanout_waiter waiter; /* a paused producer, when paused */
	bool paused;
	size_t running;            /* readers not done */
	size_t starving;           /* readers waiting with nothing to read */
	void (*when_done)(void *ctx); /* called by the last reader to finish, if set */
	void *when_done_ctx;
	EVP_MD_CTX *md5;           /* NULL when not wanted */
	bool small;                /* MKV_FANOUT_SMALL: the producer hashes (no hasher
				      reader), and the writers start once it is all in */
	char md5_hex[33];          /* the MD5, once every byte has been hashed */
	unsigned char *ring;
	size_t cap;                /* of ring */
	size_t n;                  /* replica writers; the hasher, if any, is r[n] */
	struct reader r[];
};

/* Whether r[n] is a hasher reader. */
static size_t has_hasher(const struct mkv_fanout *f)
{
	return f->md5 && !f->small;
}

/* The lowest position of a reader still running; `written` when none is. */
static uint64_t slowest(const struct mkv_fanout *f)
{
	uint64_t min = f->written;

	for (size_t i = 0; i < f->n + has_hasher(f); i++)
		if (!f->r[i].done && f->r[i].pos < min)
			min = f->r[i].pos;
	return min;
}

/*
 * What a party waiting on the ring waits for, from position pos: a whole
 * MKV_FANOUT_BATCH, or the rest of the value when less is left.
 */
static uint64_t batch(const struct mkv_fanout *f, uint64_t pos)
{
	uint64_t left = f->length - pos;

	return left < MKV_FANOUT_BATCH ? left : MKV_FANOUT_BATCH;
}

/* Free bytes in the ring for the producer. Locked. */
static uint64_t room_locked(const struct mkv_fanout *f)
{
	return f->cap - (f->written - slowest(f));
}

/* Whether a waiting producer has something to do: a batch of room, or an end. Locked. */
static bool producer_can_go_locked(const struct mkv_fanout *f)
{
	return f->stopping || f->running == 0 || room_locked(f) >= batch(f, f->written);
}

/* Wake the producer if it waits and can go on. Locked. */
static void notify_producer_locked(struct mkv_fanout *f)
{
	if (!producer_can_go_locked(f))
		return;
	pthread_cond_broadcast(&f->more_space);
	if (f->paused) {
		f->paused = false;
		f->waiter.wake(f->waiter.ctx);
	}
}

/* Record the first failure; every waiter wakes up and gives up. Locked. */
static void stop_locked(struct mkv_fanout *f, int rc, const char *message)
{
	if (!f->stopping) {
		f->stopping = true;
		f->rc = rc;
		snprintf(f->message, sizeof f->message, "%s", message);
	}
	pthread_cond_broadcast(&f->more_data);
	notify_producer_locked(f);
}

/* Whether r can start the value again: the ring still holds its first byte. Locked. */
static bool can_rewind_locked(const struct reader *r)
{
	return r->pos == 0 || r->f->written <= r->f->cap;
}

/*
 * Wait for bytes past r's position. Returns how many lie contiguous in the
 * ring at *region, 0 once the whole value has been consumed, or
 * MKV_E_ABORTED when the PUT is stopping.
 */
static ssize_t ring_wait(struct reader *r, const unsigned char **region)
{
	struct mkv_fanout *f = r->f;
	size_t off = r->pos % f->cap;
	struct timespec until;
	bool stopping, timed = false;
	uint64_t n;

	pthread_mutex_lock(&f->mu);
	while (!f->stopping && f->written - r->pos < batch(f, r->pos)) {
		if (f->written == r->pos) { /* nothing at all: wake me on the next byte */
			f->starving++;
			pthread_cond_wait(&f->more_data, &f->mu);
			f->starving--;
			continue;
		}
		/* Some, but less than a batch: a slow client's bytes still go on soon. */
		if (!timed) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += MKV_FANOUT_BATCH_WAIT_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			timed = true;
		}
		if (pthread_cond_timedwait(&f->more_data, &f->mu, &until) == ETIMEDOUT)
			break;
	}
	stopping = f->stopping;
	n = f->written - r->pos;
	pthread_mutex_unlock(&f->mu);
	if (stopping)
		return MKV_E_ABORTED;
	*region = f->ring + off;
	return (ssize_t)(n < f->cap - off ? n : f->cap - off);
}

/* Mark n bytes at r's position consumed. */
static void ring_advance(struct reader *r, size_t n)
{
	struct mkv_fanout *f = r->f;

	pthread_mutex_lock(&f->mu);
	r->pos += n;
	notify_producer_locked(f);
	pthread_mutex_unlock(&f->mu);
}

/* The backend's source: the next bytes of the ring for this writer (cap 0: rewind). */
static ssize_t writer_source(void *ctx, void *buf, size_t cap)
{
	struct reader *r = ctx;
	const unsigned char *region;
	ssize_t n;

	if (cap == 0) {
		pthread_mutex_lock(&r->f->mu);
		n = can_rewind_locked(r) ? 0 : MKV_E_UNSUPPORTED;
		if (n == 0)
			r->pos = 0;
		pthread_mutex_unlock(&r->f->mu);
		return n;
	}
	n = ring_wait(r, &region);
	if (n <= 0)
		return n;
	if ((size_t)n > cap)
		n = (ssize_t)cap;
	memcpy(buf, region, (size_t)n);
	ring_advance(r, (size_t)n);
	return n;
}

/*
 * The next spare replica for a writer whose replica did not answer, or NULL.
 * A writer can move while the ring still holds the value from its first
 * byte: it has taken none yet (the producer waits for every writer), or the
 * producer has not yet gone round the ring.
 */
static const char *take_spare(struct reader *r, int rc)
{
	struct mkv_fanout *f = r->f;
	const char *spare = NULL;

	if (rc != MKV_E_UNAVAILABLE && rc != MKV_E_TIMEOUT)
		return NULL;
	pthread_mutex_lock(&f->mu);
	if (can_rewind_locked(r) && !f->stopping && f->spares && f->next_spare < f->spares->count) {
		spare = f->spares->items[f->next_spare++];
		r->pos = 0;
	}
	pthread_mutex_unlock(&f->mu);
	return spare;
}

/* A reader has finished with rc; a real failure stops the PUT. */
static void reader_done(struct reader *r, int rc, const char *message)
{
	struct mkv_fanout *f = r->f;
	void (*done)(void *ctx) = NULL;
	void *ctx = NULL;

	pthread_mutex_lock(&f->mu);
	r->done = true;
	r->rc = rc;
	/* A reader stopped by another's failure does not mask that failure. */
	if (rc < 0 && rc != MKV_E_ABORTED)
		stop_locked(f, rc, message);
	if (--f->running == 0) {
		done = f->when_done;
		ctx = f->when_done_ctx;
	}
	notify_producer_locked(f);
	pthread_mutex_unlock(&f->mu);
	/* f may be gone from here on. */
	if (done)
		done(ctx);
}

static void writer_main(void *arg)
{
	struct reader *r = arg;
	struct mkv_fanout *f = r->f;
	const char *spare;
	char message[512] = "";
	int rc;

	for (;;) {
		mkv_error_clear();
		rc = f->vol->ops->put(f->vol->h, r->replica, f->path, f->length,
				      writer_source, r);
		if (rc < 0)
			snprintf(message, sizeof message, "replica %s: %s", r->replica,
				 mkv_error_message(rc));
		if (rc == 0 || !(spare = take_spare(r, rc)))
			break;
		mkv_log(MKV_LOG_WARN, "%s; writing %s to %s instead", message, f->path, spare);
		r->replica = spare;
	}
	reader_done(r, rc, message);
}

/* Write the MD5 of every byte hashed to f->md5_hex. */
static void md5_final(struct mkv_fanout *f)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(f->md5, digest, &len))
		for (unsigned i = 0; i < len && i < 16; i++)
			sprintf(f->md5_hex + 2 * i, "%02x", digest[i]);
}

/* The MD5 of a large value, computed off the producer's thread. */
static void hasher_main(void *arg)
{
	struct reader *r = arg;
	struct mkv_fanout *f = r->f;
	const unsigned char *region;
	ssize_t n;

	while ((n = ring_wait(r, &region)) > 0) {
		EVP_DigestUpdate(f->md5, region, (size_t)n);
		ring_advance(r, (size_t)n);
	}
	if (n == 0)
		md5_final(f);
	reader_done(r, (int)n, "");
}

static void fanout_free(struct mkv_fanout *f)
{
	EVP_MD_CTX_free(f->md5);
	free(f->ring);
	pthread_cond_destroy(&f->more_data);
	pthread_cond_destroy(&f->more_space);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Start reader r on a pool thread; a reader that cannot start stops the PUT. */
static void start_reader(struct mkv_fanout *f, struct reader *r)
{
	const char *replica = r->replica;

	r->f = f;
	pthread_mutex_lock(&f->mu);
	f->running++;
	pthread_mutex_unlock(&f->mu);
	if (mkv_work_run(replica ? writer_main : hasher_main, r) == 0)
		return;
	pthread_mutex_lock(&f->mu);
	r->done = true;
	r->rc = MKV_E_NOMEM;
	f->running--;
	stop_locked(f, MKV_E_NOMEM, "cannot start a replica writer thread");
	pthread_mutex_unlock(&f->mu);
}

/* Start every writer, and the hasher if there is one. */
static void start_readers(struct mkv_fanout *f)
{
	for (size_t i = 0; i < f->n; i++)
		start_reader(f, &f->r[i]);
	if (has_hasher(f))
		start_reader(f, &f->r[f->n]);
}

int mkv_fanout_start(struct mkv_fanout **out, struct mkv_volume *vol,
		     const struct mkv_strlist *replicas,
		     const struct mkv_strlist *spares, const char *path,
		     uint64_t length, bool md5)
{
	struct mkv_fanout *f = calloc(1, sizeof *f + (replicas->count + 1) * sizeof f->r[0]);

	if (!f)
		return mkv_fail(MKV_E_NOMEM, "out of memory for a PUT");
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->more_data, NULL);
	pthread_cond_init(&f->more_space, NULL);
	f->vol = vol;
	f->spares = spares;
	f->path = path;
	f->length = length;
	f->n = replicas->count;
	f->small = length <= MKV_FANOUT_SMALL;
	f->cap = length == 0 ? 1 : length < MKV_FANOUT_BUFFER ? (size_t)length : MKV_FANOUT_BUFFER;
	f->ring = malloc(f->cap);
	if (md5 && (f->md5 = EVP_MD_CTX_new()) && !EVP_DigestInit_ex(f->md5, mkv_md5_method(), NULL)) {
		EVP_MD_CTX_free(f->md5);
		f->md5 = NULL;
	}
	if (!f->ring || (md5 && !f->md5)) {
		fanout_free(f);
		return mkv_fail(MKV_E_NOMEM, "out of memory for a PUT");
	}
	for (size_t i = 0; i < f->n; i++)
		f->r[i].replica = replicas->items[i];
	if (!f->small || length == 0)
		start_readers(f);
	*out = f;
	return 0;
}

/* Contiguous room in the ring at `written` for the rest of the value. Locked. */
static size_t contiguous_room_locked(const struct mkv_fanout *f)
{
	size_t off = f->written % f->cap;
	uint64_t n = room_locked(f);

	if (n > f->cap - off)
		n = f->cap - off;
	if (n > f->length - f->written)
		n = f->length - f->written;
	return (size_t)n;
}

ssize_t mkv_fanout_offer(struct mkv_fanout *f, const void *data, size_t len,
			 const struct mkv_fanout_waiter *waiter)
{
	const unsigned char *p = data;
	size_t taken = 0;

	while (taken < len) {
		bool all_in;
		size_t n;
		int rc;

		pthread_mutex_lock(&f->mu);
		if (!f->stopping && f->written == f->length)
			stop_locked(f, MKV_E_INVAL, "the body is longer than its Content-Length");
		if (f->stopping) {
			rc = f->rc;
			pthread_mutex_unlock(&f->mu);
			return rc;
		}
		n = contiguous_room_locked(f);
		if (n == 0) {
			if (waiter) {
				f->waiter = *waiter;
				f->paused = true;
				waiter->pause(waiter->ctx);
			}
			pthread_mutex_unlock(&f->mu);
			break;
		}
		pthread_mutex_unlock(&f->mu);

		if (n > len - taken)
			n = len - taken;
		memcpy(f->ring + f->written % f->cap, p + taken, n);
		if (f->md5 && f->small)
			EVP_DigestUpdate(f->md5, p + taken, n);
		taken += n;
		pthread_mutex_lock(&f->mu);
		f->written += n;
		all_in = f->written == f->length;
		/* Readers wait for a batch: wake them as the value crosses one. */
		if (f->written / MKV_FANOUT_BATCH != (f->written - n) / MKV_FANOUT_BATCH ||
		    all_in || f->starving > 0)
			pthread_cond_broadcast(&f->more_data);
		pthread_mutex_unlock(&f->mu);
		if (f->small && all_in)
			start_readers(f);
	}
	return (ssize_t)taken;
}

int mkv_fanout_write(struct mkv_fanout *f, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = mkv_fanout_offer(f, p, len, NULL);

		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
		pthread_mutex_lock(&f->mu);
		while (len > 0 && !producer_can_go_locked(f))
			pthread_cond_wait(&f->more_space, &f->mu);
		pthread_mutex_unlock(&f->mu);
	}
	return 0;
}

bool mkv_fanout_when_done(struct mkv_fanout *f, void (*done)(void *ctx), void *ctx)
{
	bool pending;

	pthread_mutex_lock(&f->mu);
	pending = f->running > 0 && f->written == f->length;
	if (pending) {
		f->when_done = done;
		f->when_done_ctx = ctx;
	}
	pthread_mutex_unlock(&f->mu);
	return pending;
}

int mkv_fanout_finish(struct mkv_fanout *f, bool abort, char md5_hex[33],
		      bool *written, const char **where)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	f->paused = false;
	if (abort)
		stop_locked(f, MKV_E_ABORTED, "the PUT was abandoned");
	else if (f->written < f->length)
		stop_locked(f, MKV_E_INVAL, "the body is shorter than its Content-Length");
	while (f->running > 0)
		pthread_cond_wait(&f->more_space, &f->mu);
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < f->n; i++) {
		written[i] = f->r[i].done && f->r[i].rc == 0;
		where[i] = f->r[i].replica;
	}
	rc = f->stopping ? f->rc : 0;
	if (rc == 0 && f->md5 && f->small)
		md5_final(f);
	if (rc < 0)
		mkv_fail(rc, "%s", f->message);
	else if (f->md5 && md5_hex)
		memcpy(md5_hex, f->md5_hex, sizeof f->md5_hex);
	fanout_free(f);
	return rc;
}
