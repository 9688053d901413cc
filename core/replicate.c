/*
 * replicate.c - stream one value to every replica at once.
 *
 * The ring buffer holds the last MKV_FANOUT_BUFFER bytes of the value. The
 * producer appends at `written`; each writer thread has its own position and
 * copies from the ring into its backend's put() through a source callback.
 * The producer waits while the slowest live writer is a whole buffer behind,
 * and a writer waits while it has caught up with the producer. Copies happen
 * outside the lock: a region is only ever written by the producer before
 * `written` covers it and only read by writers after, and the producer never
 * reuses a region until every live writer has moved past it.
 *
 * The first writer to fail stops the others (they see MKV_E_ABORTED from
 * their source), because the PUT as a whole has failed by then.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "replicate.h"

struct writer {
	struct mkv_fanout *f;
	const char *replica;   /* borrowed from the caller's list */
	pthread_t thread;
	bool started;
	bool done;
	uint64_t pos;          /* bytes handed to the backend */
	int rc;
};

struct mkv_fanout {
	pthread_mutex_t mu;
	pthread_cond_t more_data;  /* producer -> writers */
	pthread_cond_t more_space; /* writers -> producer */
	struct mkv_volume *vol;
	const char *path;          /* borrowed */
	const struct mkv_strlist *spares; /* borrowed; NULL for none */
	size_t next_spare;
	uint64_t length;
	uint64_t written;          /* bytes the producer appended */
	bool stopping;             /* a writer failed or the PUT was aborted */
	int rc;                    /* the first failure */
	char message[512];         /* and what it said */
	EVP_MD_CTX *md5;           /* NULL when not wanted */
	unsigned char *ring;
	size_t n;
	struct writer w[];
};

/* The lowest position of a writer still running; `written` when none is. */
static uint64_t slowest(const struct mkv_fanout *f)
{
	uint64_t min = f->written;

	for (size_t i = 0; i < f->n; i++)
		if (!f->w[i].done && f->w[i].pos < min)
			min = f->w[i].pos;
	return min;
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
	pthread_cond_broadcast(&f->more_space);
}

/* Whether w can start the value again: the ring still holds its first byte. Locked. */
static bool can_rewind_locked(const struct writer *w)
{
	return w->pos == 0 || w->f->written <= MKV_FANOUT_BUFFER;
}

/* The backend's source: the next bytes of the ring for this writer (cap 0: rewind). */
static ssize_t writer_source(void *ctx, void *buf, size_t cap)
{
	struct writer *w = ctx;
	struct mkv_fanout *f = w->f;
	size_t off, n;

	pthread_mutex_lock(&f->mu);
	if (cap == 0) {
		int rc = can_rewind_locked(w) ? 0 : MKV_E_UNSUPPORTED;
		if (rc == 0)
			w->pos = 0;
		pthread_mutex_unlock(&f->mu);
		return rc;
	}
	while (!f->stopping && w->pos == f->written && w->pos < f->length)
		pthread_cond_wait(&f->more_data, &f->mu);
	if (f->stopping) {
		pthread_mutex_unlock(&f->mu);
		return MKV_E_ABORTED;
	}
	n = f->written - w->pos;
	pthread_mutex_unlock(&f->mu);
	if (n == 0)
		return 0; /* the whole value has been handed over */

	off = w->pos % MKV_FANOUT_BUFFER;
	if (n > MKV_FANOUT_BUFFER - off)
		n = MKV_FANOUT_BUFFER - off;
	if (n > cap)
		n = cap;
	memcpy(buf, f->ring + off, n);

	pthread_mutex_lock(&f->mu);
	w->pos += n;
	pthread_cond_signal(&f->more_space);
	pthread_mutex_unlock(&f->mu);
	return (ssize_t)n;
}

/*
 * The next spare replica for a writer whose replica did not answer, or NULL.
 * A writer can move while the ring still holds the value from its first
 * byte: it has taken none yet (the producer waits for every writer), or the
 * producer has not yet gone round the ring.
 */
static const char *take_spare(struct writer *w, int rc)
{
	struct mkv_fanout *f = w->f;
	const char *spare = NULL;

	if (rc != MKV_E_UNAVAILABLE && rc != MKV_E_TIMEOUT)
		return NULL;
	pthread_mutex_lock(&f->mu);
	if (can_rewind_locked(w) && !f->stopping && f->spares && f->next_spare < f->spares->count) {
		spare = f->spares->items[f->next_spare++];
		w->pos = 0;
	}
	pthread_mutex_unlock(&f->mu);
	return spare;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct mkv_fanout *f = w->f;
	const char *spare;
	char message[512];
	int rc;

	for (;;) {
		mkv_error_clear();
		rc = f->vol->ops->put(f->vol->h, w->replica, f->path, f->length,
				      writer_source, w);
		if (rc < 0)
			snprintf(message, sizeof message, "replica %s: %s", w->replica,
				 mkv_error_message(rc));
		if (rc == 0 || !(spare = take_spare(w, rc)))
			break;
		mkv_log(MKV_LOG_WARN, "%s; writing %s to %s instead", message, f->path, spare);
		w->replica = spare;
	}
	pthread_mutex_lock(&f->mu);
	w->done = true;
	w->rc = rc;
	/* A writer stopped by another's failure does not mask that failure. */
	if (rc < 0 && rc != MKV_E_ABORTED)
		stop_locked(f, rc, message);
	pthread_cond_signal(&f->more_space);
	pthread_mutex_unlock(&f->mu);
	return NULL;
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

int mkv_fanout_start(struct mkv_fanout **out, struct mkv_volume *vol,
		     const struct mkv_strlist *replicas,
		     const struct mkv_strlist *spares, const char *path,
		     uint64_t length, bool md5)
{
	struct mkv_fanout *f = calloc(1, sizeof *f + replicas->count * sizeof f->w[0]);

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
	f->ring = malloc(MKV_FANOUT_BUFFER);
	if (md5 && (f->md5 = EVP_MD_CTX_new()) && !EVP_DigestInit_ex(f->md5, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(f->md5);
		f->md5 = NULL;
	}
	if (!f->ring || (md5 && !f->md5)) {
		fanout_free(f);
		return mkv_fail(MKV_E_NOMEM, "out of memory for a PUT");
	}
	for (size_t i = 0; i < f->n; i++) {
		struct writer *w = &f->w[i];
		w->f = f;
		w->replica = replicas->items[i];
		w->started = pthread_create(&w->thread, NULL, writer_main, w) == 0;
		if (!w->started) {
			w->done = true;
			pthread_mutex_lock(&f->mu);
			stop_locked(f, MKV_E_NOMEM, "cannot start a replica writer thread");
			pthread_mutex_unlock(&f->mu);
		}
	}
	*out = f;
	return 0;
}

int mkv_fanout_write(struct mkv_fanout *f, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		size_t off, n;

		pthread_mutex_lock(&f->mu);
		while (!f->stopping && f->written - slowest(f) == MKV_FANOUT_BUFFER)
			pthread_cond_wait(&f->more_space, &f->mu);
		if (f->stopping) {
			int rc = f->rc;
			pthread_mutex_unlock(&f->mu);
			return rc;
		}
		n = MKV_FANOUT_BUFFER - (f->written - slowest(f));
		pthread_mutex_unlock(&f->mu);

		off = f->written % MKV_FANOUT_BUFFER;
		if (n > MKV_FANOUT_BUFFER - off)
			n = MKV_FANOUT_BUFFER - off;
		if (n > len)
			n = len;
		if (n > f->length - f->written)
			n = f->length - f->written;
		if (n == 0) {
			pthread_mutex_lock(&f->mu);
			stop_locked(f, MKV_E_INVAL, "the body is longer than its Content-Length");
			pthread_mutex_unlock(&f->mu);
			return MKV_E_INVAL;
		}
		memcpy(f->ring + off, p, n);
		if (f->md5)
			EVP_DigestUpdate(f->md5, p, n);
		p += n;
		len -= n;

		pthread_mutex_lock(&f->mu);
		f->written += n;
		pthread_cond_broadcast(&f->more_data);
		pthread_mutex_unlock(&f->mu);
	}
	return 0;
}

int mkv_fanout_finish(struct mkv_fanout *f, bool abort, char md5_hex[33],
		      bool *written, const char **where)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	int rc;

	pthread_mutex_lock(&f->mu);
	if (abort)
		stop_locked(f, MKV_E_ABORTED, "the PUT was abandoned");
	else if (f->written < f->length)
		stop_locked(f, MKV_E_INVAL, "the body is shorter than its Content-Length");
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < f->n; i++) {
		if (f->w[i].started)
			pthread_join(f->w[i].thread, NULL);
		written[i] = f->w[i].started && f->w[i].rc == 0;
		where[i] = f->w[i].replica;
	}

	rc = f->stopping ? f->rc : 0;
	if (rc < 0)
		mkv_fail(rc, "%s", f->message);
	else if (f->md5 && md5_hex && EVP_DigestFinal_ex(f->md5, digest, &dlen))
		for (unsigned i = 0; i < dlen && i < 16; i++)
			sprintf(md5_hex + 2 * i, "%02x", digest[i]);
	fanout_free(f);
	return rc;
}
