/*
 * fake_plugins.c - the in-memory index and volume backends of fake_plugins.h.
 *
 * The index is one array of entries sorted bytewise by key, guarded by one
 * mutex: lookups are binary searches, a batch applies all its writes under
 * the lock, and a cursor remembers the last key it returned and seeks past
 * it on every step, so it stays correct while other threads write. A test
 * can make every slot fail, as a broken disk would.
 *
 * The volume is a flat table of files, each named by its replica and path,
 * plus a table of per-replica faults (down, failing after N bytes, or slow).
 * A put pulls the whole value from the source before the file appears,
 * exactly as the contract of mkv/volume.h asks of a real backend. Both
 * fakes abort the test program when out of memory: a unit test has nothing
 * better to do.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_plugins.h"

/* Bytes a put asks of its source at a time, and a read hands its sink. */
#define FAKE_CHUNK (64u << 10)

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* A malloc'd copy of n bytes, NUL-terminated for convenience. */
static void *xmemdup(const void *data, size_t n)
{
	char *p = xmalloc(n + 1);

	if (n)
		memcpy(p, data, n);
	p[n] = '\0';
	return p;
}

/* ---- the index ------------------------------------------------------------ */

struct fake_entry {
	unsigned char *key;
	size_t key_len;
	unsigned char *value;
	size_t value_len;
};

struct fake_index {
	pthread_mutex_t lock;
	struct fake_entry *entries; /* sorted by key, bytewise */
	size_t count, cap;
	bool failing; /* every slot fails with MKV_E_IO */
	const struct mkv_host *host;
};

struct mkv_index_cursor {
	struct fake_index *ix;
	unsigned char *prefix;
	size_t prefix_len;
	unsigned char *first; /* where the walk begins: max(prefix, start) */
	size_t first_len;
	bool started;
	unsigned char *key; /* the entry last returned, owned by the cursor */
	size_t key_len;
	unsigned char *value;
	size_t value_len;
};

/* Bytewise order, a proper prefix sorting first, as LevelDB and LMDB do. */
static int key_cmp(const void *a, size_t a_len, const void *b, size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

/* The position of the first entry >= key. Call with the lock held. */
static size_t lower_bound(const struct fake_index *ix, const void *key,
			  size_t key_len)
{
	size_t lo = 0, hi = ix->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct fake_entry *e = &ix->entries[mid];

		if (key_cmp(e->key, e->key_len, key, key_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entry of key, or NULL. Call with the lock held. */
static struct fake_entry *find(struct fake_index *ix, const void *key,
			       size_t key_len)
{
	size_t i = lower_bound(ix, key, key_len);

	if (i < ix->count &&
	    key_cmp(ix->entries[i].key, ix->entries[i].key_len, key, key_len) == 0)
		return &ix->entries[i];
	return NULL;
}

static void put_locked(struct fake_index *ix, const void *key, size_t key_len,
		       const void *value, size_t value_len)
{
	size_t i = lower_bound(ix, key, key_len);
	struct fake_entry *e;

	if (i < ix->count &&
	    key_cmp(ix->entries[i].key, ix->entries[i].key_len, key, key_len) == 0) {
		e = &ix->entries[i];
		free(e->value);
	} else {
		if (ix->count == ix->cap) {
			ix->cap = ix->cap ? 2 * ix->cap : 64;
			ix->entries = xrealloc(ix->entries, ix->cap * sizeof *ix->entries);
		}
		memmove(&ix->entries[i + 1], &ix->entries[i],
			(ix->count - i) * sizeof *ix->entries);
		ix->count++;
		e = &ix->entries[i];
		e->key = xmemdup(key, key_len);
		e->key_len = key_len;
	}
	e->value = xmemdup(value, value_len);
	e->value_len = value_len;
}

static void del_locked(struct fake_index *ix, const void *key, size_t key_len)
{
	struct fake_entry *e = find(ix, key, key_len);
	size_t i;

	if (!e)
		return;
	i = (size_t)(e - ix->entries);
	free(e->key);
	free(e->value);
	memmove(&ix->entries[i], &ix->entries[i + 1],
		(ix->count - i - 1) * sizeof *ix->entries);
	ix->count--;
}

static int fake_index_open(void *h, const char *location,
			   const struct mkv_host *host,
			   const struct mkv_options *opts)
{
	struct fake_index *ix = h;

	(void)location, (void)opts;
	pthread_mutex_init(&ix->lock, NULL);
	ix->host = host;
	return 0;
}

static void fake_index_close(void *h)
{
	struct fake_index *ix = h;

	for (size_t i = 0; i < ix->count; i++) {
		free(ix->entries[i].key);
		free(ix->entries[i].value);
	}
	free(ix->entries);
	pthread_mutex_destroy(&ix->lock);
}

static int fake_index_get(void *h, const void *key, size_t key_len, void *buf,
			  size_t cap, size_t *len)
{
	struct fake_index *ix = h;
	struct fake_entry *e;
	int rc = 0;

	pthread_mutex_lock(&ix->lock);
	e = find(ix, key, key_len);
	if (ix->failing) {
		rc = MKV_E_IO;
	} else if (e) {
		memcpy(buf, e->value, e->value_len < cap ? e->value_len : cap);
		*len = e->value_len;
	} else {
		rc = MKV_E_NOTFOUND;
	}
	pthread_mutex_unlock(&ix->lock);
	return rc == MKV_E_IO ? ix->host->fail(rc, "fake index: failing") : rc;
}

static int fake_index_put(void *h, const void *key, size_t key_len,
			  const void *value, size_t value_len)
{
	struct fake_index *ix = h;
	int rc = 0;

	pthread_mutex_lock(&ix->lock);
	if (ix->failing)
		rc = MKV_E_IO;
	else
		put_locked(ix, key, key_len, value, value_len);
	pthread_mutex_unlock(&ix->lock);
	return rc ? ix->host->fail(rc, "fake index: failing") : 0;
}

static int fake_index_del(void *h, const void *key, size_t key_len)
{
	struct fake_index *ix = h;
	int rc = 0;

	pthread_mutex_lock(&ix->lock);
	if (ix->failing)
		rc = MKV_E_IO;
	else
		del_locked(ix, key, key_len);
	pthread_mutex_unlock(&ix->lock);
	return rc ? ix->host->fail(rc, "fake index: failing") : 0;
}

static int fake_index_batch(void *h, const struct mkv_index_op *ops, size_t n)
{
	struct fake_index *ix = h;

	for (size_t i = 0; i < n; i++)
		if (ops[i].type != MKV_INDEX_PUT && ops[i].type != MKV_INDEX_DELETE)
			return ix->host->fail(MKV_E_INVAL, "fake index: bad op type %d",
					      (int)ops[i].type);
	pthread_mutex_lock(&ix->lock);
	if (ix->failing) {
		pthread_mutex_unlock(&ix->lock);
		return ix->host->fail(MKV_E_IO, "fake index: failing");
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].type == MKV_INDEX_PUT)
			put_locked(ix, ops[i].key, ops[i].key_len, ops[i].value,
				   ops[i].value_len);
		else
			del_locked(ix, ops[i].key, ops[i].key_len);
	}
	pthread_mutex_unlock(&ix->lock);
	return 0;
}

static int fake_index_cursor_open(void *h, const void *prefix,
				  size_t prefix_len, const void *start,
				  size_t start_len, struct mkv_index_cursor **out)
{
	struct fake_index *ix = h;
	struct mkv_index_cursor *c;
	bool failing, from_start = start_len &&
				   key_cmp(start, start_len, prefix, prefix_len) > 0;

	pthread_mutex_lock(&ix->lock);
	failing = ix->failing;
	pthread_mutex_unlock(&ix->lock);
	if (failing)
		return ix->host->fail(MKV_E_IO, "fake index: failing");
	c = xmalloc(sizeof *c);
	memset(c, 0, sizeof *c);
	c->ix = h;
	c->prefix = xmemdup(prefix, prefix_len);
	c->prefix_len = prefix_len;
	/* Every key of the prefix sorts at or after the prefix itself. */
	c->first = xmemdup(from_start ? start : prefix,
			   from_start ? start_len : prefix_len);
	c->first_len = from_start ? start_len : prefix_len;
	*out = c;
	return 0;
}

static int fake_index_cursor_next(struct mkv_index_cursor *c, const void **key,
				  size_t *key_len, const void **value,
				  size_t *value_len)
{
	struct fake_index *ix = c->ix;
	const struct fake_entry *e;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&ix->lock);
	if (!c->started) {
		i = lower_bound(ix, c->first, c->first_len);
	} else {
		i = lower_bound(ix, c->key, c->key_len);
		if (i < ix->count &&
		    key_cmp(ix->entries[i].key, ix->entries[i].key_len, c->key,
			    c->key_len) == 0)
			i++;
	}
	e = i < ix->count ? &ix->entries[i] : NULL;
	if (!e || e->key_len < c->prefix_len ||
	    (c->prefix_len && memcmp(e->key, c->prefix, c->prefix_len) != 0)) {
		rc = MKV_E_NOTFOUND;
	} else {
		free(c->key);
		free(c->value);
		c->key = xmemdup(e->key, e->key_len);
		c->key_len = e->key_len;
		c->value = xmemdup(e->value, e->value_len);
		c->value_len = e->value_len;
		c->started = true;
	}
	pthread_mutex_unlock(&ix->lock);
	if (rc == 0) {
		*key = c->key;
		*key_len = c->key_len;
		*value = c->value;
		*value_len = c->value_len;
	}
	return rc;
}

static void fake_index_cursor_close(struct mkv_index_cursor *c)
{
	free(c->prefix);
	free(c->first);
	free(c->key);
	free(c->value);
	free(c);
}

const struct mkv_index_ops fake_index_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_INDEX,
		.name = "fake-index",
		.handle_size = sizeof(struct fake_index),
	},
	.open = fake_index_open,
	.close = fake_index_close,
	.get = fake_index_get,
	.put = fake_index_put,
	.del = fake_index_del,
	.batch = fake_index_batch,
	.cursor_open = fake_index_cursor_open,
	.cursor_next = fake_index_cursor_next,
	.cursor_close = fake_index_cursor_close,
};

char *fake_index_value(struct mkv_index *ix_, const void *key, size_t key_len,
		       size_t *len)
{
	struct fake_index *ix = ix_->h;
	struct fake_entry *e;
	char *copy = NULL;

	pthread_mutex_lock(&ix->lock);
	e = find(ix, key, key_len);
	if (e) {
		copy = xmemdup(e->value, e->value_len);
		if (len)
			*len = e->value_len;
	}
	pthread_mutex_unlock(&ix->lock);
	return copy;
}

void fake_index_set(struct mkv_index *ix, const void *key, size_t key_len,
		    const void *value, size_t value_len)
{
	fake_index_put(ix->h, key, key_len, value, value_len);
}

void fake_index_set_failing(struct mkv_index *ix_, bool failing)
{
	struct fake_index *ix = ix_->h;

	pthread_mutex_lock(&ix->lock);
	ix->failing = failing;
	pthread_mutex_unlock(&ix->lock);
}

size_t fake_index_count(struct mkv_index *ix_)
{
	struct fake_index *ix = ix_->h;
	size_t n;

	pthread_mutex_lock(&ix->lock);
	n = ix->count;
	pthread_mutex_unlock(&ix->lock);
	return n;
}

/* ---- the volume ----------------------------------------------------------- */

struct fake_file {
	char *replica;
	char *path;
	unsigned char *data;
	size_t len;
};

struct fake_fault {
	char *replica;
	bool down;
	int64_t fail_after; /* negative: puts succeed */
	unsigned delay_us;  /* put sleeps this long before each pull */
};

struct fake_volume {
	pthread_mutex_t lock;
	struct fake_file *files;
	size_t nfiles, cap;
	struct fake_fault *faults;
	size_t nfaults;
	unsigned puts;
	unsigned stat_asyncs;    /* stat_async calls so far */
	bool hold_stats;         /* stat_async answers wait until lifted */
	pthread_cond_t released; /* hold_stats lifted */
	const struct mkv_host *host;
};

/* The file at path on replica, or NULL. Call with the lock held. */
static struct fake_file *file_find(struct fake_volume *v, const char *replica,
				   const char *path)
{
	for (size_t i = 0; i < v->nfiles; i++)
		if (strcmp(v->files[i].replica, replica) == 0 &&
		    strcmp(v->files[i].path, path) == 0)
			return &v->files[i];
	return NULL;
}

/* Take ownership of data as the file at path on replica. Lock held. */
static void file_store(struct fake_volume *v, const char *replica,
		       const char *path, unsigned char *data, size_t len)
{
	struct fake_file *f = file_find(v, replica, path);

	if (!f) {
		if (v->nfiles == v->cap) {
			v->cap = v->cap ? 2 * v->cap : 16;
			v->files = xrealloc(v->files, v->cap * sizeof *v->files);
		}
		f = &v->files[v->nfiles++];
		f->replica = xmemdup(replica, strlen(replica));
		f->path = xmemdup(path, strlen(path));
	} else {
		free(f->data);
	}
	f->data = data;
	f->len = len;
}

/* The fault entry of replica, created when create is true. Lock held. */
static struct fake_fault *fault_of(struct fake_volume *v, const char *replica,
				   bool create)
{
	struct fake_fault *f;

	for (size_t i = 0; i < v->nfaults; i++)
		if (strcmp(v->faults[i].replica, replica) == 0)
			return &v->faults[i];
	if (!create)
		return NULL;
	v->faults = xrealloc(v->faults, (v->nfaults + 1) * sizeof *v->faults);
	f = &v->faults[v->nfaults++];
	f->replica = xmemdup(replica, strlen(replica));
	f->down = false;
	f->fail_after = -1;
	f->delay_us = 0;
	return f;
}

/* Whether replica is marked down. Takes the lock. */
static bool is_down(struct fake_volume *v, const char *replica)
{
	struct fake_fault *f;
	bool down;

	pthread_mutex_lock(&v->lock);
	f = fault_of(v, replica, false);
	down = f && f->down;
	pthread_mutex_unlock(&v->lock);
	return down;
}

static int unavailable(struct fake_volume *v, const char *replica)
{
	return v->host->fail(MKV_E_UNAVAILABLE, "fake volume: %s is down", replica);
}

static int fake_volume_open(void *h, unsigned timeout_ms,
			    const struct mkv_host *host,
			    const struct mkv_options *opts)
{
	struct fake_volume *v = h;

	(void)timeout_ms, (void)opts;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->released, NULL);
	v->host = host;
	return 0;
}

static void fake_volume_close(void *h)
{
	struct fake_volume *v = h;

	for (size_t i = 0; i < v->nfiles; i++) {
		free(v->files[i].replica);
		free(v->files[i].path);
		free(v->files[i].data);
	}
	free(v->files);
	for (size_t i = 0; i < v->nfaults; i++)
		free(v->faults[i].replica);
	free(v->faults);
	pthread_cond_destroy(&v->released);
	pthread_mutex_destroy(&v->lock);
}

static int fake_volume_put(void *h, const char *replica, const char *path,
			   uint64_t length, mkv_volume_source_fn src, void *ctx)
{
	struct fake_volume *v = h;
	struct fake_fault *fault;
	unsigned char *data = NULL;
	uint64_t got = 0, limit;
	unsigned delay_us;
	size_t cap = 0;
	bool down;

	pthread_mutex_lock(&v->lock);
	v->puts++;
	fault = fault_of(v, replica, false);
	down = fault && fault->down;
	limit = fault && fault->fail_after >= 0 ? (uint64_t)fault->fail_after : UINT64_MAX;
	delay_us = fault ? fault->delay_us : 0;
	pthread_mutex_unlock(&v->lock);
	if (down)
		return unavailable(v, replica);

	while (got < length) {
		size_t want = length - got < FAKE_CHUNK ? (size_t)(length - got) : FAKE_CHUNK;
		ssize_t n;

		if (got >= limit) {
			free(data);
			return v->host->fail(MKV_E_IO, "fake volume: %s%s: failing after %llu bytes",
					     replica, path, (unsigned long long)got);
		}
		if (limit - got < want)
			want = (size_t)(limit - got);
		if (got + want > cap) {
			cap = cap ? 2 * cap : FAKE_CHUNK;
			if (cap > length)
				cap = (size_t)length;
			data = xrealloc(data, cap);
		}
		if (delay_us)
			usleep(delay_us);
		n = src(ctx, data + got, want);
		if (n < 0) {
			free(data);
			return (int)n;
		}
		if (n == 0) {
			free(data);
			return v->host->fail(MKV_E_IO,
					     "fake volume: %s%s: source ended after %llu of %llu bytes",
					     replica, path, (unsigned long long)got,
					     (unsigned long long)length);
		}
		got += (uint64_t)n;
	}
	pthread_mutex_lock(&v->lock);
	file_store(v, replica, path, data, (size_t)length);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int fake_volume_del(void *h, const char *replica, const char *path)
{
	struct fake_volume *v = h;
	struct fake_file *f;

	if (is_down(v, replica))
		return unavailable(v, replica);
	pthread_mutex_lock(&v->lock);
	f = file_find(v, replica, path);
	if (f) {
		free(f->replica);
		free(f->path);
		free(f->data);
		*f = v->files[--v->nfiles];
	}
	pthread_mutex_unlock(&v->lock);
	if (!f)
		return v->host->fail(MKV_E_NOTFOUND, "fake volume: %s%s: no such file",
				     replica, path);
	return 0;
}

static int fake_volume_stat(void *h, const char *replica, const char *path,
			    uint64_t *size)
{
	struct fake_volume *v = h;
	struct fake_file *f;
	uint64_t len = 0;

	if (is_down(v, replica))
		return unavailable(v, replica);
	pthread_mutex_lock(&v->lock);
	f = file_find(v, replica, path);
	if (f)
		len = f->len;
	pthread_mutex_unlock(&v->lock);
	if (!f)
		return MKV_E_NOTFOUND;
	if (size)
		*size = len;
	return 0;
}

static int fake_volume_read(void *h, const char *replica, const char *path,
			    mkv_volume_sink_fn sink, void *ctx)
{
	struct fake_volume *v = h;
	unsigned char *data;
	size_t len;
	int rc = 0;

	if (is_down(v, replica))
		return unavailable(v, replica);
	data = fake_volume_contents(&(struct mkv_volume){ .h = v }, replica, path, &len);
	if (!data)
		return v->host->fail(MKV_E_NOTFOUND, "fake volume: %s%s: no such file",
				     replica, path);
	for (size_t off = 0; off < len && rc == 0; off += FAKE_CHUNK)
		rc = sink(ctx, data + off, len - off < FAKE_CHUNK ? len - off : FAKE_CHUNK);
	free(data);
	return rc;
}

struct listing {
	struct mkv_volume_entry *items;
	char **names;
	size_t count;
};

/* Add name to l unless a directory of that name is already there. */
static void listing_add(struct listing *l, const char *name, size_t len,
			bool is_dir, uint64_t size)
{
	if (is_dir)
		for (size_t i = 0; i < l->count; i++)
			if (l->items[i].is_dir && strlen(l->names[i]) == len &&
			    memcmp(l->names[i], name, len) == 0)
				return;
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->names = xrealloc(l->names, (l->count + 1) * sizeof *l->names);
	l->names[l->count] = xmemdup(name, len);
	l->items[l->count] = (struct mkv_volume_entry){
		.name = l->names[l->count], .is_dir = is_dir, .size = is_dir ? 0 : size,
	};
	l->count++;
}

static int fake_volume_list(void *h, const char *replica, const char *dir,
			    mkv_volume_list_fn fn, void *ctx)
{
	struct fake_volume *v = h;
	struct listing l = { 0 };
	size_t dlen = strlen(dir);
	char *base;
	int rc = 0;

	if (is_down(v, replica))
		return unavailable(v, replica);
	base = xmalloc(dlen + 2);
	memcpy(base, dir, dlen + 1);
	if (!dlen || base[dlen - 1] != '/')
		base[dlen++] = '/', base[dlen] = '\0';

	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->nfiles; i++) {
		const struct fake_file *f = &v->files[i];
		const char *rest, *slash;

		if (strcmp(f->replica, replica) != 0 || strncmp(f->path, base, dlen) != 0)
			continue;
		rest = f->path + dlen;
		slash = strchr(rest, '/');
		if (slash)
			listing_add(&l, rest, (size_t)(slash - rest), true, 0);
		else
			listing_add(&l, rest, strlen(rest), false, f->len);
	}
	pthread_mutex_unlock(&v->lock);

	if (l.count == 0 && strcmp(base, "/") != 0)
		rc = v->host->fail(MKV_E_NOTFOUND, "fake volume: %s%s: no such directory",
				   replica, base);
	for (size_t i = 0; i < l.count && rc == 0; i++)
		rc = fn(ctx, &l.items[i]);
	for (size_t i = 0; i < l.count; i++)
		free(l.names[i]);
	free(l.names);
	free(l.items);
	free(base);
	return rc;
}

static int fake_volume_locate(void *h, const char *replica, const char *path,
			      struct mkv_location *loc)
{
	struct fake_volume *v = h;
	int n = snprintf(loc->url, sizeof loc->url, "http://%s%s", replica, path);

	if (n < 0 || (size_t)n >= sizeof loc->url)
		return v->host->fail(MKV_E_TOOLONG, "fake volume: URL of %s%s too long",
				     replica, path);
	loc->kind = MKV_LOCATION_URL;
	loc->fd = -1;
	loc->size = 0;
	return 0;
}

/* A stat_async in flight: answered from a thread of its own. */
struct fake_stat {
	struct fake_volume *v;
	char *replica, *path;
	mkv_volume_stat_fn done;
	void *ctx;
};

static void *fake_stat_thread(void *arg)
{
	struct fake_stat *fs = arg;
	uint64_t size = 0;
	int rc;

	pthread_mutex_lock(&fs->v->lock);
	while (fs->v->hold_stats)
		pthread_cond_wait(&fs->v->released, &fs->v->lock);
	pthread_mutex_unlock(&fs->v->lock);
	rc = fake_volume_stat(fs->v, fs->replica, fs->path, &size);

	fs->done(fs->ctx, rc, size);
	free(fs->replica);
	free(fs->path);
	free(fs);
	return NULL;
}

static int fake_volume_stat_async(void *h, const char *replica, const char *path,
				  mkv_volume_stat_fn done, void *ctx)
{
	struct fake_stat *fs = xmalloc(sizeof *fs);
	struct fake_volume *v = h;
	pthread_t t;

	pthread_mutex_lock(&v->lock);
	v->stat_asyncs++;
	pthread_mutex_unlock(&v->lock);

	*fs = (struct fake_stat){ .v = h, .replica = xmemdup(replica, strlen(replica) + 1),
				  .path = xmemdup(path, strlen(path) + 1), .done = done, .ctx = ctx };
	if (pthread_create(&t, NULL, fake_stat_thread, fs) != 0)
		abort();
	pthread_detach(t);
	return 0;
}

/* Fails the test: the core called a slot the backend's ABI version lacks. */
static int stat_async_of_abi_1_0(void *h, const char *replica, const char *path,
				 mkv_volume_stat_fn done, void *ctx)
{
	(void)h, (void)replica, (void)path, (void)done, (void)ctx;
	fprintf(stderr, "stat_async called on a backend built for ABI 1.0\n");
	abort();
}

#define FAKE_VOLUME_SLOTS                                \
	.open = fake_volume_open,                        \
	.close = fake_volume_close,                      \
	.put = fake_volume_put,                          \
	.del = fake_volume_del,                          \
	.stat = fake_volume_stat,                        \
	.read = fake_volume_read,                        \
	.list = fake_volume_list,                        \
	.locate = fake_volume_locate

const struct mkv_volume_ops fake_volume_async_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_VOLUME,
		.name = "fake-volume-async",
		.handle_size = sizeof(struct fake_volume),
	},
	FAKE_VOLUME_SLOTS,
	.stat_async = fake_volume_stat_async,
};

const struct mkv_volume_ops fake_volume_abi_1_0_ops = {
	.head = {
		.abi_version = 1u << 16 | 0,
		.kind = MKV_PLUGIN_VOLUME,
		.name = "fake-volume-1.0",
		.handle_size = sizeof(struct fake_volume),
	},
	FAKE_VOLUME_SLOTS,
	/* Where a 1.0 backend's table ends, memory holds anything: here, a trap. */
	.stat_async = stat_async_of_abi_1_0,
};

const struct mkv_volume_ops fake_volume_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_VOLUME,
		.name = "fake-volume",
		.handle_size = sizeof(struct fake_volume),
	},
	FAKE_VOLUME_SLOTS,
};

void fake_volume_set_down(struct mkv_volume *vol, const char *replica, bool down)
{
	struct fake_volume *v = vol->h;

	pthread_mutex_lock(&v->lock);
	fault_of(v, replica, true)->down = down;
	pthread_mutex_unlock(&v->lock);
}

void fake_volume_fail_put(struct mkv_volume *vol, const char *replica,
			  int64_t after)
{
	struct fake_volume *v = vol->h;

	pthread_mutex_lock(&v->lock);
	fault_of(v, replica, true)->fail_after = after < 0 ? -1 : after;
	pthread_mutex_unlock(&v->lock);
}

void fake_volume_set_delay(struct mkv_volume *vol, const char *replica,
			   unsigned usec)
{
	struct fake_volume *v = vol->h;

	pthread_mutex_lock(&v->lock);
	fault_of(v, replica, true)->delay_us = usec;
	pthread_mutex_unlock(&v->lock);
}

void fake_volume_hold_stats(struct mkv_volume *vol, bool hold)
{
	struct fake_volume *v = vol->h;

	pthread_mutex_lock(&v->lock);
	v->hold_stats = hold;
	pthread_cond_broadcast(&v->released);
	pthread_mutex_unlock(&v->lock);
}

unsigned fake_volume_stat_asyncs(struct mkv_volume *vol)
{
	struct fake_volume *v = vol->h;
	unsigned n;

	pthread_mutex_lock(&v->lock);
	n = v->stat_asyncs;
	pthread_mutex_unlock(&v->lock);
	return n;
}

size_t fake_volume_count(struct mkv_volume *vol)
{
	struct fake_volume *v = vol->h;
	size_t n;

	pthread_mutex_lock(&v->lock);
	n = v->nfiles;
	pthread_mutex_unlock(&v->lock);
	return n;
}

bool fake_volume_exists(struct mkv_volume *vol, const char *replica,
			const char *path)
{
	struct fake_volume *v = vol->h;
	bool found;

	pthread_mutex_lock(&v->lock);
	found = file_find(v, replica, path) != NULL;
	pthread_mutex_unlock(&v->lock);
	return found;
}

void *fake_volume_contents(struct mkv_volume *vol, const char *replica,
			   const char *path, size_t *len)
{
	struct fake_volume *v = vol->h;
	struct fake_file *f;
	void *copy = NULL;

	pthread_mutex_lock(&v->lock);
	f = file_find(v, replica, path);
	if (f) {
		copy = xmemdup(f->data, f->len);
		*len = f->len;
	}
	pthread_mutex_unlock(&v->lock);
	return copy;
}

void fake_volume_add(struct mkv_volume *vol, const char *replica,
		     const char *path, const void *data, size_t len)
{
	struct fake_volume *v = vol->h;

	pthread_mutex_lock(&v->lock);
	file_store(v, replica, path, xmemdup(data, len), len);
	pthread_mutex_unlock(&v->lock);
}

unsigned fake_volume_puts(struct mkv_volume *vol)
{
	struct fake_volume *v = vol->h;
	unsigned n;

	pthread_mutex_lock(&v->lock);
	n = v->puts;
	pthread_mutex_unlock(&v->lock);
	return n;
}
