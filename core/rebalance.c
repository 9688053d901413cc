/*
 * rebalance.c - moving each key's value to its placement.
 *
 * For one key: find which of its recorded replicas and placement replicas
 * hold the value (stat), copy it from one that does to the placement
 * replicas that lack it (streamed through the same fan-out as a PUT, with
 * the MD5 checked against the record), write the record with the placement
 * as its replicas, and only then remove the copies outside the placement.
 * Every step is safe to repeat, so a rebalance that was interrupted finishes
 * the job when run again, and a key whose data is missing everywhere keeps
 * its record and is reported.
 *
 * For the whole index: the keys are read in pages (no cursor stays open
 * while records are written) and handed to cfg->workers threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "host.h"
#include "rebalance.h"
#include "replicate.h"

/* Keys read from the index at a time. */
#define PAGE 512

/* One replica that may hold the value. */
struct copy {
	const char *replica; /* borrowed from the record or the placement */
	uint64_t size;
	bool checked;        /* stat'ed: present and size are known */
	bool present;
	bool wanted;         /* part of the placement */
};

static bool in_list(const struct mkv_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

static bool same_list(const struct mkv_strlist *a, const struct mkv_strlist *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	return true;
}

/* Whether c holds the value (stat'ing it the first time). Fails when its volume does not answer. */
static int check_copy(struct mkv_store *s, const char *path, struct copy *c)
{
	const struct mkv_volume *v = s->volume;
	int rc;

	if (c->checked)
		return 0;
	mkv_error_clear();
	rc = v->ops->stat(v->h, c->replica, path, &c->size);
	if (rc < 0 && rc != MKV_E_NOTFOUND)
		return mkv_fail(rc, "replica %s: %s", c->replica, mkv_error_message(rc));
	c->checked = true;
	c->present = rc == 0;
	return 0;
}

/*
 * Fill copies with the placement (stat'ed: each must be known to hold the
 * value) followed by the recorded replicas outside it (stat'ed only when a
 * source is needed, and removed in the end whether present or not).
 * Returns the number of copies, or a negative code when a placement
 * volume does not answer: then nothing can be decided safely.
 */
static int survey(struct mkv_store *s, const char *path, const struct mkv_strlist *recorded,
		  const struct mkv_strlist *want, struct copy *copies)
{
	int n = 0, rc = 0;

	for (size_t i = 0; i < want->count && rc == 0; i++) {
		copies[n] = (struct copy){ .replica = want->items[i], .wanted = true };
		rc = check_copy(s, path, &copies[n++]);
	}
	for (size_t i = 0; i < recorded->count; i++)
		if (!in_list(want, recorded->items[i]))
			copies[n++] = (struct copy){ .replica = recorded->items[i] };
	return rc < 0 ? rc : n;
}

static int sink_to_fanout(void *ctx, const void *data, size_t len)
{
	return mkv_fanout_write(ctx, data, len);
}

/*
 * Copy path from src (size bytes) to every replica of dests, checking the
 * MD5 against md5 when it is not empty. On failure removes what it wrote.
 */
static int copy_value(struct mkv_store *s, const char *path, const struct copy *src,
		      const struct mkv_strlist *dests, const char *md5)
{
	const struct mkv_volume *v = s->volume;
	bool written[dests->count];
	const char *where[dests->count];
	char got[33] = "";
	struct mkv_fanout *f;
	int rc, rc2;

	rc = mkv_fanout_start(&f, s->volume, dests, NULL, path, src->size, md5[0] != '\0');
	if (rc < 0)
		return rc;
	mkv_error_clear();
	rc = v->ops->read(v->h, src->replica, path, sink_to_fanout, f);
	if (rc < 0)
		rc = mkv_fail(rc, "reading %s from %s: %s", path, src->replica,
			      mkv_error_message(rc));
	rc2 = mkv_fanout_finish(f, rc < 0, got, written, where);
	if (rc == 0)
		rc = rc2;
	if (rc == 0 && md5[0] && strcmp(got, md5) != 0)
		rc = mkv_fail(MKV_E_CORRUPT, "the copy on %s has MD5 %s, the record says %s",
			      src->replica, got, md5);
	if (rc < 0) {
		struct mkv_strlist done = { 0 };
		for (size_t i = 0; i < dests->count; i++)
			if (written[i])
				mkv_strlist_append(&done, dests->items[i], strlen(dests->items[i]));
		mkv_store_remove_copies(s, path, &done);
		mkv_strlist_free(&done);
	}
	return rc;
}

/* The first copy that holds the value, placement first, or NULL (or a failure in *rc). */
static struct copy *find_source(struct mkv_store *s, const char *path, struct copy *copies,
				int n, int *rc)
{
	for (int i = 0; i < n && *rc == 0; i++) {
		*rc = check_copy(s, path, &copies[i]);
		if (*rc == 0 && copies[i].present)
			return &copies[i];
	}
	return NULL;
}

/* Copy the value to the wanted replicas that lack it, from the first present copy that is intact. */
static int fill_placement(struct mkv_store *s, const char *path, struct copy *copies, int n,
			  const char *md5, struct mkv_progress *p)
{
	struct mkv_strlist missing = { 0 };
	const struct copy *src;
	int rc = 0;

	src = find_source(s, path, copies, n, &rc);
	if (rc < 0)
		return rc;
	if (!src)
		return mkv_fail(MKV_E_NOTFOUND, "no volume holds a copy (record kept)");
	/* A wanted copy of another size is stale: it is written again. */
	for (int i = 0; i < n && rc == 0; i++)
		if (copies[i].wanted && (!copies[i].present || copies[i].size != src->size))
			rc = mkv_strlist_append(&missing, copies[i].replica, strlen(copies[i].replica));
	if (rc == 0 && missing.count) {
		rc = MKV_E_NOTFOUND;
		for (int i = 0; i < n && rc < 0; i++) {
			if (check_copy(s, path, &copies[i]) < 0 || !copies[i].present ||
			    copies[i].size != src->size)
				continue;
			rc = copy_value(s, path, &copies[i], &missing, md5);
			if (rc < 0)
				mkv_log(MKV_LOG_WARN, "%s", mkv_error_message(rc));
		}
		if (rc == 0 && p) {
			p->moved++;
			p->bytes += src->size * missing.count;
		}
	}
	mkv_strlist_free(&missing);
	return rc;
}

/* Remove the copies outside the placement; the record no longer names them. */
static int drop_extras(struct mkv_store *s, const char *path, const struct copy *copies, int n)
{
	struct mkv_strlist extra = { 0 };
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++)
		if (!copies[i].wanted)
			rc = mkv_strlist_append(&extra, copies[i].replica, strlen(copies[i].replica));
	if (rc == 0)
		rc = mkv_store_remove_copies(s, path, &extra);
	mkv_strlist_free(&extra);
	return rc < 0 ? mkv_fail(rc, "copies outside the placement could not all be removed") : 0;
}

int mkv_rebalance_key(struct mkv_store *s, const void *key, size_t len,
		      struct mkv_progress *p)
{
	const struct mkv_config *cfg = s->cfg;
	struct mkv_record rec = { 0 }, moved;
	struct mkv_strlist want = { 0 };
	char path[MKV_PATH_MAX];
	struct copy *copies = NULL;
	int rc, n = 0;

	rc = mkv_store_load_record(s, key, len, &rec);
	if (rc == 0)
		rc = mkv_key_path(key, len, path);
	if (rc == 0)
		rc = mkv_key_replicas(key, len, &cfg->volumes, cfg->replicas, cfg->subvolumes, &want);
	if (rc == 0 && !(copies = calloc(rec.replicas.count + want.count, sizeof *copies)))
		rc = mkv_fail(MKV_E_NOMEM, "out of memory");
	if (rc == 0)
		rc = n = survey(s, path, &rec.replicas, &want, copies);
	if (rc >= 0)
		rc = fill_placement(s, path, copies, n, rec.hash, p);
	if (rc == 0 && !same_list(&rec.replicas, &want)) {
		moved = rec;
		moved.replicas = want;
		rc = mkv_store_save_record(s, key, len, &moved);
	}
	if (rc == 0)
		rc = drop_extras(s, path, copies, n);
	free(copies);
	mkv_strlist_free(&want);
	mkv_record_free(&rec);
	return rc;
}

void mkv_store_rebalance(struct mkv_store *s, const void *key, size_t len,
			 struct mkv_reply *r)
{
	struct mkv_record rec = { 0 };
	bool recorded;
	int rc;

	if (!mkv_keylock_try(s->locks, key, len)) {
		r->status = 409;
		return;
	}
	/* Told apart from a key whose copies are all gone, which is a failure. */
	rc = mkv_store_load_record(s, key, len, &rec);
	recorded = rc != MKV_E_NOTFOUND;
	mkv_record_free(&rec);
	if (rc == 0)
		rc = mkv_rebalance_key(s, key, len, NULL);
	mkv_keylock_release(s->locks, key, len);
	if (rc == 0) {
		r->status = 204;
	} else if (!recorded) {
		r->status = 404;
	} else {
		mkv_reply_error(r, rc == MKV_E_UNAVAILABLE || rc == MKV_E_TIMEOUT ? 503 : 500,
				"rebalance failed: %s", mkv_error_message(rc));
	}
}

/* Hands out the keys of the index, a page at a time, to the workers. */
struct feeder {
	struct mkv_store *s;
	struct mkv_progress *progress;
	pthread_mutex_t mu;
	struct mkv_strlist page; /* keys, as byte strings with their lengths below */
	size_t *lens;
	size_t next;
	char *after;             /* the last key handed out, NULL at the start */
	size_t after_len;
	bool end;
	int rc;                  /* an index failure stops everything */
	long failed;
};

/* Read the next page of keys after f->after. Locked. */
static int read_page(struct feeder *f)
{
	const struct mkv_index *ix = f->s->index;
	struct mkv_index_cursor *c;
	const void *k, *v;
	size_t klen, vlen, n = 0;
	char *start = NULL;
	int rc;

	mkv_strlist_free(&f->page);
	f->next = 0;
	/* The smallest key after `after` is `after` followed by a NUL byte. */
	if (f->after && !(start = calloc(1, f->after_len + 1)))
		return mkv_fail(MKV_E_NOMEM, "out of memory");
	if (start)
		memcpy(start, f->after, f->after_len);
	mkv_error_clear();
	rc = ix->ops->cursor_open(ix->h, "", 0, start, start ? f->after_len + 1 : 0, &c);
	free(start);
	if (rc < 0)
		return rc;
	while (n < PAGE && (rc = ix->ops->cursor_next(c, &k, &klen, &v, &vlen)) == 0) {
		rc = mkv_strlist_append(&f->page, k, klen);
		if (rc < 0)
			break;
		f->lens[n++] = klen;
	}
	ix->ops->cursor_close(c);
	f->end = n == 0;
	return rc == MKV_E_NOTFOUND ? 0 : rc;
}

/* The next key (copied into *key, malloc'd), false at the end or on failure. */
static bool next_key(struct feeder *f, char **key, size_t *len)
{
	bool got = false;

	pthread_mutex_lock(&f->mu);
	if (f->next == f->page.count && !f->end && f->rc == 0)
		f->rc = read_page(f);
	if (f->rc == 0 && f->next < f->page.count) {
		*len = f->lens[f->next];
		*key = malloc(*len ? *len : 1);
		if (*key) {
			memcpy(*key, f->page.items[f->next++], *len);
			free(f->after);
			f->after = malloc(*len ? *len : 1);
			if (f->after)
				memcpy(f->after, *key, *len);
			f->after_len = *len;
			got = f->after != NULL;
		}
		if (!got)
			f->rc = mkv_fail(MKV_E_NOMEM, "out of memory");
	}
	pthread_mutex_unlock(&f->mu);
	return got;
}

static void *rebalance_worker(void *arg)
{
	struct feeder *f = arg;
	char *key;
	size_t len;

	while (next_key(f, &key, &len)) {
		int rc = mkv_rebalance_key(f->s, key, len, f->progress);
		if (rc < 0) {
			char text[MKV_PRINTABLE_MAX];
			mkv_log(MKV_LOG_ERROR, "rebalance %s: %s",
				mkv_printable(key, len, text, sizeof text), mkv_error_message(rc));
			f->progress->failed++;
		}
		f->progress->done++;
		free(key);
	}
	return NULL;
}

/* The number of keys in the index, or a negative code. */
static long count_keys(struct mkv_store *s)
{
	const struct mkv_index *ix = s->index;
	struct mkv_index_cursor *c;
	const void *k, *v;
	size_t klen, vlen;
	long n = 0;
	int rc;

	mkv_error_clear();
	rc = ix->ops->cursor_open(ix->h, "", 0, "", 0, &c);
	if (rc < 0)
		return rc;
	while ((rc = ix->ops->cursor_next(c, &k, &klen, &v, &vlen)) == 0)
		n++;
	ix->ops->cursor_close(c);
	return rc == MKV_E_NOTFOUND ? n : rc;
}

long mkv_rebalance_all(struct mkv_store *s)
{
	struct mkv_progress progress;
	struct feeder f = { .s = s, .progress = &progress };
	int workers = s->cfg->workers;
	pthread_t threads[workers];
	long total = count_keys(s);
	int started = 0;

	if (total < 0)
		return total;
	f.lens = calloc(PAGE, sizeof *f.lens);
	if (!f.lens)
		return mkv_fail(MKV_E_NOMEM, "out of memory");
	pthread_mutex_init(&f.mu, NULL);
	mkv_progress_start(&progress, "rebalance", "keys", (uint64_t)total);
	for (int i = 0; i < workers; i++)
		if (pthread_create(&threads[i], NULL, rebalance_worker, &f) == 0)
			started++;
	if (started == 0)
		rebalance_worker(&f);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	mkv_progress_finish(&progress);
	pthread_mutex_destroy(&f.mu);
	mkv_strlist_free(&f.page);
	free(f.lens);
	free(f.after);
	if (f.rc < 0)
		return mkv_fail(f.rc, "reading the index: %s", mkv_error_message(f.rc));
	return (long)progress.failed;
}
