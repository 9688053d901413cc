/*
 * store.c - what each request does to the index and the volumes.
 *
 * The index is kept honest across crashes by the order of writes, as in the
 * Go minikeyvalue: a PUT records the key as deleted with its replicas before
 * it writes any of them, and live with its MD5 only once every replica holds
 * the value; a DELETE marks the key deleted first, removes the replicas, and
 * removes the record last. A crash at any point leaves at worst a deleted
 * record that names files to clean up, never a live record without its data.
 *
 * Unlike the Go version, a PUT that fails removes what it wrote and puts the
 * index back as it found it, so a failed write leaves no trace for ?unlinked.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "host.h"
#include "record.h"
#include "replicate.h"
#include "store.h"

/* Records are short; a longer one is fetched again into a buffer of its size. */
#define RECORD_BUF 1024

struct mkv_put {
	struct mkv_store *s;
	void *key;
	size_t key_len;
	char path[MKV_PATH_MAX];
	struct mkv_strlist ranking;   /* every volume, best first: the placement, then spares */
	struct mkv_strlist placement; /* the first cfg->replicas of ranking (not owned) */
	struct mkv_strlist spares;    /* the rest, unless strict (not owned) */
	const char **where;           /* per placement replica: the replica written instead */
	char *previous;               /* the record it replaced (an unlinked key), or NULL */
	size_t previous_len;
	struct mkv_fanout *fanout;
	struct mkv_reply *r;          /* mkv_store_put_end_async(): the answer, */
	void (*done)(void *ctx);      /* and who is told once it is there */
	void *ctx;
	bool locked;                  /* this PUT holds the key's lock */
	bool *written;                /* per replica: holds the whole value */
};

void mkv_reply_init(struct mkv_reply *r)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
}

void mkv_reply_free(struct mkv_reply *r)
{
	free(r->key_volumes);
	free(r->body);
	if (r->fd >= 0)
		close(r->fd);
	mkv_reply_init(r);
}

void mkv_reply_error(struct mkv_reply *r, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	va_start(ap, fmt);
	n = vasprintf(&r->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->body = NULL;
		return;
	}
	r->body_len = (size_t)n;
	r->content_type = "text/plain; charset=utf-8";
}

int mkv_store_init(struct mkv_store *s, const struct mkv_config *cfg,
		   struct mkv_index *index, struct mkv_volume *volume)
{
	s->cfg = cfg;
	s->index = index;
	s->volume = volume;
	s->locks = mkv_keylock_new();
	s->checks = mkv_checks_new();
	if (!s->locks || !s->checks) {
		mkv_store_free(s);
		return MKV_E_NOMEM;
	}
	return 0;
}

void mkv_store_free(struct mkv_store *s)
{
	mkv_keylock_free(s->locks);
	s->locks = NULL;
	mkv_checks_free(s->checks);
	s->checks = NULL;
}

/*
 * The raw record of key, malloc'd into *raw. Returns 0, MKV_E_NOTFOUND, or
 * the index's error.
 */
static int fetch_raw(struct mkv_store *s, const void *key, size_t len,
		     char **raw, size_t *raw_len)
{
	const struct mkv_index *ix = s->index;
	size_t cap = RECORD_BUF;
	int rc;

	for (;;) {
		char *buf = malloc(cap);
		if (!buf)
			return mkv_fail(MKV_E_NOMEM, "out of memory reading a record");
		mkv_error_clear();
		rc = ix->ops->get(ix->h, key, len, buf, cap, raw_len);
		if (rc == 0 && *raw_len <= cap) {
			*raw = buf;
			return 0;
		}
		free(buf);
		/* A key longer than the index takes was never stored. */
		if (rc == MKV_E_TOOLONG)
			return MKV_E_NOTFOUND;
		if (rc < 0)
			return rc;
		cap = *raw_len;
	}
}

int mkv_store_load_record(struct mkv_store *s, const void *key, size_t len,
		       struct mkv_record *rec)
{
	char text[MKV_PRINTABLE_MAX], *raw;
	size_t raw_len;
	int rc = fetch_raw(s, key, len, &raw, &raw_len);

	if (rc < 0)
		return rc;
	rc = mkv_record_decode(raw, raw_len, rec);
	if (rc == MKV_E_CORRUPT)
		mkv_fail(rc, "corrupt index record '%s'", mkv_printable(raw, raw_len, text, sizeof text));
	free(raw);
	return rc;
}

int mkv_store_save_record(struct mkv_store *s, const void *key, size_t len,
		       const struct mkv_record *rec)
{
	size_t raw_len;
	char *raw = mkv_record_encode(rec, &raw_len);
	int rc;

	if (!raw)
		return mkv_fail(MKV_E_NOMEM, "out of memory writing a record");
	mkv_error_clear();
	rc = s->index->ops->put(s->index->h, key, len, raw, raw_len);
	free(raw);
	return rc;
}

static int remove_record(struct mkv_store *s, const void *key, size_t len)
{
	mkv_error_clear();
	return s->index->ops->del(s->index->h, key, len);
}

/* The replicas joined by ',', malloc'd; NULL when out of memory. */
static char *join(const struct mkv_strlist *l)
{
	size_t n = 1;
	char *out, *p;

	for (size_t i = 0; i < l->count; i++)
		n += strlen(l->items[i]) + 1;
	out = p = malloc(n);
	if (!out)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < l->count; i++)
		p += sprintf(p, "%s%s", i ? "," : "", l->items[i]);
	return out;
}

/* Whether the record's replicas are exactly the key's placement, in order. */
static bool balanced(struct mkv_store *s, const void *key, size_t len,
		     const struct mkv_strlist *have)
{
	struct mkv_strlist want = { 0 };
	bool same;

	if (mkv_key_replicas(key, len, &s->cfg->volumes, s->cfg->replicas,
			     s->cfg->subvolumes, &want) < 0)
		return false;
	same = want.count == have->count;
	for (size_t i = 0; same && i < want.count; i++)
		same = strcmp(want.items[i], have->items[i]) == 0;
	mkv_strlist_free(&want);
	return same;
}

/* Write key into buf percent-encoded where a URL needs it. Returns false when it does not fit. */
static bool url_encode(const unsigned char *key, size_t len, char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = key[i];
		if (o + 4 > cap)
			return false;
		if (c > 0x20 && c < 0x7f && !strchr("%\"<>\\^`{|}#?", c)) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return true;
}

/* A missing (or unlinked) key: 404, or 302 to the fallback. */
static void reply_missing(struct mkv_store *s, const void *key, size_t len,
			  struct mkv_reply *r)
{
	char encoded[MKV_URL_MAX];

	if (s->cfg->fallback && url_encode(key, len, encoded, sizeof encoded) &&
	    snprintf(r->location, sizeof r->location, "http://%s%s", s->cfg->fallback,
		     encoded) < (int)sizeof r->location) {
		r->status = 302;
		return;
	}
	r->location[0] = '\0';
	r->status = 404;
}

/*
 * A random number for the order replicas are tried in: a splitmix64 sequence
 * shared by every thread (connections come and go with their threads, so a
 * per-thread seed would repeat itself).
 */
static unsigned next_random(void)
{
	static _Atomic uint64_t state;
	uint64_t z;

	if (state == 0) { /* seeded once; a race only seeds it twice */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec;
	}
	z = atomic_fetch_add(&state, 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (unsigned)(z ^ (z >> 31));
}

/* Fill order[0..n) with 0..n-1 in random order. */
static void shuffle(size_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = next_random() % (i + 1);
		order[i] = order[j];
		order[j] = i;
	}
}

/* Point r at the copy on replica, which stat() found. Returns 0 or locate's code. */
static int point_at(struct mkv_store *s, const char *replica, const char *path,
		    struct mkv_reply *r)
{
	const struct mkv_volume *v = s->volume;
	struct mkv_location loc = { .fd = -1 };
	int rc = v->ops->locate(v->h, replica, path, &loc);

	if (rc < 0)
		return rc;
	if (loc.kind == MKV_LOCATION_FILE) {
		r->status = 200;
		r->fd = loc.fd;
		r->size = loc.size;
	} else {
		r->status = 302;
		memcpy(r->location, loc.url, sizeof r->location);
	}
	return 0;
}

static void log_replica_miss(const char *path, const char *replica, int rc)
{
	mkv_log(MKV_LOG_DEBUG, "GET %s on %s: %s", path, replica, mkv_error_message(rc));
}

/* Point r at the first replica (in random order) that has the value. */
static void locate_live_replica(struct mkv_store *s, const char *path,
				const struct mkv_strlist *replicas, struct mkv_reply *r)
{
	const struct mkv_volume *v = s->volume;
	size_t n = replicas->count, order[n ? n : 1];

	shuffle(order, n);
	for (size_t i = 0; i < n; i++) {
		const char *replica = replicas->items[order[i]];
		int rc;

		mkv_error_clear();
		rc = v->ops->stat(v->h, replica, path, NULL);
		if (rc == 0 && (rc = point_at(s, replica, path, r)) == 0)
			return;
		log_replica_miss(path, replica, rc);
	}
	r->status = 404;
}

bool mkv_store_get_lookup(struct mkv_store *s, const void *key, size_t key_len,
			  struct mkv_get *g, struct mkv_reply *r)
{
	int rc;

	memset(&g->rec, 0, sizeof g->rec);
	rc = mkv_store_load_record(s, key, key_len, &g->rec);
	if (rc == MKV_E_NOTFOUND || (rc == 0 && g->rec.deleted))
		reply_missing(s, key, key_len, r);
	else if (rc < 0)
		mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc));
	else if (mkv_key_path(key, key_len, g->path) < 0)
		r->status = 404;
	if (r->status) {
		mkv_record_free(&g->rec);
		return false;
	}
	snprintf(r->md5, sizeof r->md5, "%s", g->rec.hash);
	r->key_volumes = join(&g->rec.replicas);
	r->key_balance = balanced(s, key, key_len, &g->rec.replicas) ? "balanced" : "unbalanced";
	return true;
}

void mkv_store_get_locate(struct mkv_store *s, struct mkv_get *g, struct mkv_reply *r)
{
	locate_live_replica(s, g->path, &g->rec.replicas, r);
	mkv_record_free(&g->rec);
}

bool mkv_store_locates_async(const struct mkv_store *s)
{
	return mkv_volume_has_stat_async(s->volume);
}

static void locate_async_end(struct mkv_get *g)
{
	mkv_record_free(&g->rec);
	free(g->order);
	g->order = NULL;
	g->done(g->ctx); /* g may be gone from here on */
}

static void check_answered(void *ctx, int rc, uint64_t size);

/*
 * Ask the next replica in g's order, sharing a check of it already in flight;
 * 404 once none is left.
 */
static void locate_next_async(struct mkv_get *g)
{
	const struct mkv_volume *v = g->s->volume;
	int rc;

	if (g->next == g->rec.replicas.count) {
		g->r->status = 404;
		locate_async_end(g);
		return;
	}
	g->check.replica = g->rec.replicas.items[g->order[g->next++]];
	g->check.path = g->path;
	if (!mkv_checks_ask(g->s->checks, &g->check))
		return;
	mkv_error_clear();
	rc = v->ops->stat_async(v->h, g->check.replica, g->path, check_answered, g);
	if (rc < 0)
		check_answered(g, rc, 0);
}

/* The answer to g's check, for g and every GET that joined it. */
static void check_answered(void *ctx, int rc, uint64_t size)
{
	struct mkv_get *leader = ctx;
	struct mkv_check *c = mkv_checks_end(leader->s->checks, &leader->check), *next;

	(void)size;
	for (; c; c = next) {
		struct mkv_get *g = (struct mkv_get *)((char *)c - offsetof(struct mkv_get, check));
		int grc = rc;

		next = c->next; /* g may be gone once answered */
		if (grc == 0 && (grc = point_at(g->s, c->replica, g->path, g->r)) == 0) {
			locate_async_end(g);
			continue;
		}
		log_replica_miss(g->path, c->replica, grc);
		locate_next_async(g);
	}
}

void mkv_store_get_locate_async(struct mkv_store *s, struct mkv_get *g, struct mkv_reply *r,
				void (*done)(void *ctx), void *ctx)
{
	size_t n = g->rec.replicas.count;

	g->s = s;
	g->r = r;
	g->done = done;
	g->ctx = ctx;
	g->next = 0;
	g->order = malloc((n ? n : 1) * sizeof *g->order);
	if (!g->order) {
		mkv_reply_error(r, 500, "out of memory");
		locate_async_end(g);
		return;
	}
	shuffle(g->order, n);
	locate_next_async(g);
}

/* The 5xx that best describes a failed volume operation. */
static int volume_status(int rc)
{
	switch (rc) {
	case MKV_E_UNAVAILABLE:
	case MKV_E_TIMEOUT:
		return 503;
	case MKV_E_FULL:
		return 507;
	default:
		return 500;
	}
}

int mkv_store_remove_copies(struct mkv_store *s, const char *path,
			 const struct mkv_strlist *replicas)
{
	const struct mkv_volume *v = s->volume;
	int first = 0;

	for (size_t i = 0; i < replicas->count; i++) {
		int rc;

		mkv_error_clear();
		rc = v->ops->del(v->h, replicas->items[i], path);
		if (rc < 0 && rc != MKV_E_NOTFOUND) {
			mkv_log(MKV_LOG_ERROR, "delete %s on %s: %s", path,
				replicas->items[i], mkv_error_message(rc));
			if (!first)
				first = rc;
		}
	}
	return first;
}

/* The body of DELETE and UNLINK, with the key locked. */
static void delete_locked(struct mkv_store *s, const void *key, size_t key_len,
			  bool unlink, struct mkv_reply *r)
{
	struct mkv_record rec = { 0 };
	char path[MKV_PATH_MAX];
	int rc = mkv_store_load_record(s, key, key_len, &rec);

	if (rc == MKV_E_NOTFOUND || (rc == 0 && unlink && rec.deleted)) {
		r->status = 404;
	} else if (rc < 0) {
		mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc));
	} else if (!unlink && !rec.deleted && s->cfg->protect) {
		mkv_reply_error(r, 403, "protect is on: UNLINK the key before DELETE");
	} else if (!rec.deleted && (rec.deleted = true, rc = mkv_store_save_record(s, key, key_len, &rec)) < 0) {
		mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc));
	} else if (unlink) {
		r->status = 204;
	} else if (mkv_key_path(key, key_len, path) == 0 &&
		   (rc = mkv_store_remove_copies(s, path, &rec.replicas)) < 0) {
		mkv_reply_error(r, volume_status(rc), "not every replica could be deleted; "
			    "the key stays unlinked, DELETE it again");
	} else if ((rc = remove_record(s, key, key_len)) < 0) {
		mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc));
	} else {
		r->status = 204;
	}
	mkv_record_free(&rec);
}

void mkv_store_delete(struct mkv_store *s, const void *key, size_t key_len,
		      bool unlink, struct mkv_reply *r)
{
	if (!mkv_keylock_try(s->locks, key, key_len)) {
		mkv_reply_error(r, 409, "another write to this key is in progress");
		return;
	}
	delete_locked(s, key, key_len, unlink, r);
	mkv_keylock_release(s->locks, key, key_len);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
		   : s[0] >= 0xe0 && s[0] < 0xf0 ? 3 : s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong three- and four-byte forms, surrogates, and past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/*
 * A key as a JSON string. Keys are bytes; as Go's encoder does, each byte
 * that does not start valid UTF-8 becomes U+FFFD. NULL when out of memory.
 */
static json_t *json_key(const void *key, size_t len)
{
	const unsigned char *k = key;
	unsigned char *clean = malloc(3 * len + 1);
	size_t o = 0;
	json_t *s;

	if (!clean)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(k + i, len - i);
		if (n) {
			memcpy(clean + o, k + i, n);
			o += n;
			i += n;
		} else {
			memcpy(clean + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	s = json_stringn((const char *)clean, o);
	free(clean);
	return s;
}

/* Add a listed key to keys; false when out of memory. */
static bool list_append(json_t *keys, const void *key, size_t len)
{
	json_t *k = json_key(key, len);

	return k && json_array_append_new(keys, k) == 0;
}

/* Walk the cursor into keys; returns the status (200, 413, 500) and sets *next. */
static int list_walk(struct mkv_store *s, struct mkv_index_cursor *c,
		     enum mkv_list_kind kind, long limit, json_t *keys, json_t **next)
{
	const struct mkv_index_ops *ops = s->index->ops;
	const void *k, *v;
	size_t klen, vlen;
	int rc;

	while ((rc = ops->cursor_next(c, &k, &klen, &v, &vlen)) == 0) {
		struct mkv_record rec = { 0 };
		bool wanted = mkv_record_decode(v, vlen, &rec) == 0 &&
			      rec.deleted == (kind == MKV_LIST_UNLINKED);

		mkv_record_free(&rec);
		if (!wanted)
			continue;
		if (json_array_size(keys) > MKV_LIST_MAX)
			return 413;
		if (limit > 0 && json_array_size(keys) == (size_t)limit) {
			*next = json_key(k, klen);
			return *next ? 200 : 500;
		}
		if (!list_append(keys, k, klen))
			return 500;
	}
	return rc == MKV_E_NOTFOUND ? 200 : 500;
}

void mkv_store_list(struct mkv_store *s, const void *prefix, size_t prefix_len,
		    enum mkv_list_kind kind, const void *start, size_t start_len,
		    long limit, struct mkv_reply *r)
{
	const struct mkv_index_ops *ops = s->index->ops;
	struct mkv_index_cursor *c;
	json_t *keys = json_array(), *next = NULL, *answer;
	int rc;

	mkv_error_clear();
	rc = ops->cursor_open(s->index->h, prefix, prefix_len, start, start_len, &c);
	if (rc < 0 || !keys) {
		mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc ? rc : MKV_E_NOMEM));
		json_decref(keys);
		return;
	}
	r->status = list_walk(s, c, kind, limit, keys, &next);
	ops->cursor_close(c);
	if (r->status == 200) {
		answer = json_pack("{s:o,s:o}", "next", next ? next : json_string(""), "keys", keys);
		r->body = answer ? json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(answer);
		if (r->body) {
			r->body_len = strlen(r->body);
			r->content_type = "application/json";
		} else {
			mkv_reply_error(r, 500, "out of memory for a listing");
		}
	} else {
		json_decref(keys);
		json_decref(next);
		if (r->status == 413)
			mkv_reply_error(r, 413, "more than %d keys: page with &limit=N", MKV_LIST_MAX);
		else
			mkv_reply_error(r, 500, "index: listing failed");
	}
}

static void put_free(struct mkv_put *p)
{
	if (p->locked)
		mkv_keylock_release(p->s->locks, p->key, p->key_len);
	mkv_strlist_free(&p->ranking);
	free(p->where);
	free(p->written);
	free(p->previous);
	free(p->key);
	free(p);
}

/*
 * Take the key for a PUT: lock it, refuse a live key, remember an unlinked
 * one's record. Returns the status that ends the request, or 0 to go on.
 */
static int put_claim(struct mkv_put *p, struct mkv_reply *r)
{
	int rc;

	p->locked = mkv_keylock_try(p->s->locks, p->key, p->key_len);
	if (!p->locked) {
		mkv_reply_error(r, 409, "another write to this key is in progress");
		return 409;
	}
	rc = fetch_raw(p->s, p->key, p->key_len, &p->previous, &p->previous_len);
	if (rc == 0) {
		struct mkv_record rec = { 0 };
		rc = mkv_record_decode(p->previous, p->previous_len, &rec);
		if (rc == 0 && !rec.deleted)
			mkv_reply_error(r, 403, "the key exists: DELETE it first");
		mkv_record_free(&rec);
		if (r->status)
			return r->status;
	}
	if (rc < 0 && rc != MKV_E_NOTFOUND) {
		mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc));
		return 500;
	}
	return 0;
}

/*
 * Undo a failed PUT: remove the copies it completed, put back the record it
 * replaced. A replica whose write failed holds nothing new, so a dead volume
 * does not keep the undo from finishing.
 */
static void put_undo(struct mkv_put *p)
{
	struct mkv_store *s = p->s;
	struct mkv_strlist done = { 0 };
	int rc = 0;

	for (size_t i = 0; i < p->placement.count && rc == 0; i++)
		if (p->written[i])
			rc = mkv_strlist_append(&done, p->where[i], strlen(p->where[i]));
	if (rc == 0)
		rc = mkv_store_remove_copies(s, p->path, &done);
	mkv_strlist_free(&done);
	/* Copies that could not be removed stay named by the deleted record. */
	if (rc < 0)
		return;
	mkv_error_clear();
	if (p->previous)
		rc = s->index->ops->put(s->index->h, p->key, p->key_len, p->previous,
					p->previous_len);
	else
		rc = remove_record(s, p->key, p->key_len);
	if (rc < 0)
		mkv_log(MKV_LOG_ERROR, "index: undoing a failed PUT: %s",
			mkv_error_message(rc));
}

/*
 * Where a PUT writes: every volume ranked for the key, the first
 * cfg->replicas its placement, the others spares for placement replicas that
 * are down (none when cfg->strict). Returns 0 or MKV_E_NOMEM.
 */
static int put_plan(struct mkv_put *p)
{
	const struct mkv_config *cfg = p->s->cfg;
	size_t n = (size_t)cfg->replicas;
	int rc = mkv_key_replicas(p->key, p->key_len, &cfg->volumes, (int)cfg->volumes.count,
				  cfg->subvolumes, &p->ranking);

	if (rc < 0)
		return rc;
	p->placement = (struct mkv_strlist){ .count = n, .items = p->ranking.items };
	if (!cfg->strict)
		p->spares = (struct mkv_strlist){ .count = p->ranking.count - n,
						  .items = p->ranking.items + n };
	p->written = calloc(n, sizeof *p->written);
	p->where = calloc(n, sizeof *p->where);
	return p->written && p->where ? 0 : mkv_fail(MKV_E_NOMEM, "out of memory");
}

struct mkv_put *mkv_store_put_begin(struct mkv_store *s, const void *key,
				    size_t key_len, uint64_t length,
				    struct mkv_reply *r)
{
	struct mkv_record rec = { .deleted = true };
	struct mkv_put *p;
	int rc;

	if (length == 0) {
		mkv_reply_error(r, 411, "a value needs a body with a Content-Length");
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->key = malloc(key_len ? key_len : 1))) {
		free(p);
		mkv_reply_error(r, 500, "out of memory");
		return NULL;
	}
	p->s = s;
	memcpy(p->key, key, key_len);
	p->key_len = key_len;
	if (mkv_key_path(key, key_len, p->path) < 0) {
		mkv_reply_error(r, 414, "key too long: its volume file name would exceed %d bytes",
			    MKV_NAME_MAX);
		free(p->key);
		free(p);
		return NULL;
	}
	/* nginx merges "//" and refuses a trailing '/': such a file could not be found again. */
	if (strstr(p->path + 7, "//") || p->path[strlen(p->path) - 1] == '/') {
		mkv_reply_error(r, 400, "this key cannot be stored: its volume file name %s "
				"would contain '//' or end in '/'", p->path + 7);
		free(p->key);
		free(p);
		return NULL;
	}
	if (put_claim(p, r)) {
		put_free(p);
		return NULL;
	}
	rc = put_plan(p);
	/*
	 * Recorded as deleted first, naming every replica it may write: a crash
	 * from here on leaves no live key, and a DELETE finds every copy.
	 */
	rec.replicas = s->cfg->strict ? p->placement : p->ranking;
	if (rc == 0)
		rc = mkv_store_save_record(s, key, key_len, &rec);
	if (rc < 0) {
		mkv_reply_error(r, 500, "%s", mkv_error_message(rc));
		put_free(p);
		return NULL;
	}
	rc = mkv_fanout_start(&p->fanout, s->volume, &p->placement, &p->spares, p->path,
			      length, s->cfg->md5sum);
	if (rc < 0) {
		mkv_reply_error(r, 500, "%s", mkv_error_message(rc));
		put_undo(p);
		put_free(p);
		return NULL;
	}
	return p;
}

ssize_t mkv_store_put_offer(struct mkv_put *p, const void *data, size_t len,
			    const struct mkv_fanout_waiter *waiter)
{
	return mkv_fanout_offer(p->fanout, data, len, waiter);
}

void mkv_store_put_end(struct mkv_put *p, bool complete, struct mkv_reply *r)
{
	struct mkv_record rec = { .deleted = false };
	int rc;

	rc = mkv_fanout_finish(p->fanout, !complete, rec.hash, p->written, p->where);
	/* Where the copies really are: a spare in place of a dead replica shows as unbalanced. */
	for (size_t i = 0; rc == 0 && i < p->placement.count; i++)
		rc = mkv_strlist_append(&rec.replicas, p->where[i], strlen(p->where[i]));
	if (rc == 0) {
		rc = mkv_store_save_record(p->s, p->key, p->key_len, &rec);
		if (rc == 0)
			r->status = 201;
		else
			mkv_reply_error(r, 500, "index: %s", mkv_error_message(rc));
	} else if (!complete || rc == MKV_E_INVAL) {
		mkv_reply_error(r, 400, "the request body does not match its Content-Length");
	} else {
		char key[MKV_PRINTABLE_MAX];
		mkv_log(MKV_LOG_ERROR, "PUT %s: %s",
			mkv_printable(p->key, p->key_len, key, sizeof key), mkv_error_message(rc));
		mkv_reply_error(r, volume_status(rc), "write failed: %s", mkv_error_message(rc));
	}
	if (r->status != 201)
		put_undo(p);
	mkv_strlist_free(&rec.replicas);
	put_free(p);
}

/* The last writer of an mkv_store_put_end_async() PUT has finished. */
static void put_writers_done(void *arg)
{
	struct mkv_put *p = arg;
	struct mkv_reply *r = p->r;
	void (*done)(void *ctx) = p->done;
	void *ctx = p->ctx;

	mkv_store_put_end(p, true, r);
	done(ctx);
}

bool mkv_store_put_end_async(struct mkv_put *p, struct mkv_reply *r,
			     void (*done)(void *ctx), void *ctx)
{
	p->r = r;
	p->done = done;
	p->ctx = ctx;
	return mkv_fanout_when_done(p->fanout, put_writers_done, p);
}
