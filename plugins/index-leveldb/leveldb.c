/*
 * leveldb.c - the default index backend: mkv's key -> record map in LevelDB,
 * through LevelDB's C API.
 *
 * This is the store the Go minikeyvalue used (goleveldb with default options),
 * so the database is opened with default options too: the bytewise comparator,
 * no filter policy, snappy compression. An index the Go mkv wrote opens here
 * unchanged.
 *
 * Writes are not fsynced unless the [leveldb] option sync is true, again like
 * the Go mkv. LevelDB appends every write to its log with write(2) before it
 * returns, so a crash of the process loses nothing acknowledged; only a crash
 * of the machine can lose the last writes.
 *
 * LevelDB is safe for concurrent use of one database, so the slots take no
 * locks of their own. A cursor is a LevelDB iterator, which reads from the
 * implicit snapshot taken when it was created; it never fills the block cache,
 * so a listing of the whole index does not evict the records being served.
 *
 * LevelDB keeps process-wide state that outlives every database: its default
 * Env runs a background compaction thread that never exits. This plugin is
 * therefore linked with -z nodelete (Makefile.am): dlclose leaves it and
 * libleveldb mapped, so no code is pulled from under that thread.
 *
 * Options ([leveldb] section):
 *   sync               fsync every write (true/false, default false)
 *   cache_size         block cache size (default 8M)
 *   write_buffer_size  memtable size before it is written to a table (default 4M)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include <mkv/error.h>
#include <mkv/index.h>
#include <mkv/plugin.h>

#define LEVELDB_CACHE_SIZE_DEFAULT (8ULL << 20)
#define LEVELDB_WRITE_BUFFER_DEFAULT (4ULL << 20)

/* One open index; the core allocates it zeroed (head.handle_size bytes). */
struct ldb_index {
	const struct mkv_host *host;
	leveldb_t *db;
	leveldb_options_t *options;
	leveldb_cache_t *cache;
	leveldb_readoptions_t *read;  /* point lookups: fill the cache */
	leveldb_readoptions_t *scan;  /* cursors: leave the cache alone */
	leveldb_writeoptions_t *write;
};

/* A prefix cursor. The prefix is copied so the caller's buffer may go. */
struct mkv_index_cursor {
	leveldb_iterator_t *it;
	const struct mkv_host *host;
	bool positioned; /* the iterator sits on the entry the next call returns */
	bool done;       /* past the prefix: every further call is NOTFOUND */
	size_t prefix_len;
	char prefix[];
};

/* The [leveldb] options this backend knows. */
static const char *const known_options[] = {
	"sync", "cache_size", "write_buffer_size", NULL,
};

/*
 * Report a LevelDB error (a message from errptr, malloc'd by LevelDB) through
 * host->fail and free it. Returns MKV_E_IO.
 */
static int fail_leveldb(const struct mkv_host *host, const char *what, char *err)
{
	int rc = host->fail(MKV_E_IO, "leveldb: %s: %s", what, err);

	leveldb_free(err);
	return rc;
}

/* Returns MKV_E_INVAL naming the first option this backend does not know, or 0. */
static int check_known_options(const struct mkv_host *host,
			       const struct mkv_options *opts)
{
	for (size_t i = 0; opts && i < opts->count; i++) {
		size_t k = 0;

		while (known_options[k] && strcmp(known_options[k], opts->items[i].key))
			k++;
		if (!known_options[k])
			return host->fail(MKV_E_INVAL, "leveldb: unknown option '%s'",
					  opts->items[i].key);
	}
	return 0;
}

/*
 * Build the options, cache and read/write options from the [leveldb] section.
 * Returns 0, MKV_E_INVAL for a bad option or MKV_E_NOMEM; on failure whatever
 * was created stays in ix for ldb_close() to free.
 */
static int configure(struct ldb_index *ix, const struct mkv_options *opts)
{
	uint64_t cache_size, write_buffer;
	bool sync;
	int rc;

	if ((rc = check_known_options(ix->host, opts)) < 0 ||
	    (rc = ix->host->option_bool(opts, "sync", false, &sync)) < 0 ||
	    (rc = ix->host->option_size(opts, "cache_size",
					LEVELDB_CACHE_SIZE_DEFAULT, &cache_size)) < 0 ||
	    (rc = ix->host->option_size(opts, "write_buffer_size",
					LEVELDB_WRITE_BUFFER_DEFAULT, &write_buffer)) < 0)
		return rc;
	if ((size_t)cache_size != cache_size)
		return ix->host->fail(MKV_E_INVAL, "leveldb: option cache_size is too large");
	if (write_buffer == 0 || (size_t)write_buffer != write_buffer)
		return ix->host->fail(MKV_E_INVAL, "leveldb: bad value for option write_buffer_size");

	ix->options = leveldb_options_create();
	ix->cache = leveldb_cache_create_lru((size_t)cache_size);
	ix->read = leveldb_readoptions_create();
	ix->scan = leveldb_readoptions_create();
	ix->write = leveldb_writeoptions_create();
	if (!ix->options || !ix->cache || !ix->read || !ix->scan || !ix->write)
		return ix->host->fail(MKV_E_NOMEM, "leveldb: out of memory");
	leveldb_options_set_create_if_missing(ix->options, 1);
	leveldb_options_set_cache(ix->options, ix->cache);
	leveldb_options_set_write_buffer_size(ix->options, (size_t)write_buffer);
	leveldb_readoptions_set_fill_cache(ix->scan, 0);
	leveldb_writeoptions_set_sync(ix->write, sync);
	return 0;
}

/*
 * LevelDB takes an fcntl lock on LOCK; when that fails its message starts
 * with "IO error: lock " (another process holds it, or this process already
 * has the database open).
 */
static bool is_lock_error(const char *err)
{
	return strncmp(err, "IO error: lock ", strlen("IO error: lock ")) == 0;
}

static void ldb_close(void *h)
{
	struct ldb_index *ix = h;

	/* The database first: it still uses the options and the cache. */
	if (ix->db)
		leveldb_close(ix->db);
	if (ix->options)
		leveldb_options_destroy(ix->options);
	if (ix->cache)
		leveldb_cache_destroy(ix->cache);
	if (ix->read)
		leveldb_readoptions_destroy(ix->read);
	if (ix->scan)
		leveldb_readoptions_destroy(ix->scan);
	if (ix->write)
		leveldb_writeoptions_destroy(ix->write);
	memset(ix, 0, sizeof *ix);
}

/*
 * Open the database in location with ix's options. Fails with MKV_E_BUSY when
 * it is locked, MKV_E_IO with LevelDB's message otherwise.
 */
static int open_database(struct ldb_index *ix, const char *location)
{
	char *err = NULL;
	int rc;

	ix->db = leveldb_open(ix->options, location, &err);
	if (!err)
		return 0;
	if (!is_lock_error(err))
		return fail_leveldb(ix->host, location, err);
	rc = ix->host->fail(MKV_E_BUSY, "leveldb: %s is in use by another process (%s)",
			    location, err);
	leveldb_free(err);
	return rc;
}

/*
 * Open (creating if absent) the LevelDB database in directory location.
 * Fails with MKV_E_INVAL for a bad option, MKV_E_BUSY when the database is
 * locked, MKV_E_IO with LevelDB's message otherwise; nothing stays allocated.
 */
static int ldb_open(void *h, const char *location, const struct mkv_host *host,
		    const struct mkv_options *opts)
{
	struct ldb_index *ix = h;
	int rc;

	ix->host = host;
	rc = configure(ix, opts);
	if (rc == 0)
		rc = open_database(ix, location);
	if (rc < 0)
		ldb_close(ix);
	return rc;
}

/*
 * Copy the value of key into buf (at most cap bytes) and store its full length
 * in *len. Fails with MKV_E_NOTFOUND when absent, MKV_E_IO on a read error.
 */
static int ldb_get(void *h, const void *key, size_t key_len, void *buf, size_t cap,
		   size_t *len)
{
	struct ldb_index *ix = h;
	char *err = NULL;
	size_t value_len = 0;
	char *value;

	value = leveldb_get(ix->db, ix->read, key, key_len, &value_len, &err);
	if (err)
		return fail_leveldb(ix->host, "get", err);
	if (!value)
		return MKV_E_NOTFOUND;
	if (cap)
		memcpy(buf, value, value_len < cap ? value_len : cap);
	*len = value_len;
	leveldb_free(value);
	return 0;
}

/* Store value under key. Fails with MKV_E_IO. */
static int ldb_put(void *h, const void *key, size_t key_len, const void *value,
		   size_t value_len)
{
	struct ldb_index *ix = h;
	char *err = NULL;

	leveldb_put(ix->db, ix->write, key, key_len, value, value_len, &err);
	return err ? fail_leveldb(ix->host, "put", err) : 0;
}

/* Remove key (absent is fine: LevelDB writes a tombstone). Fails with MKV_E_IO. */
static int ldb_del(void *h, const void *key, size_t key_len)
{
	struct ldb_index *ix = h;
	char *err = NULL;

	leveldb_delete(ix->db, ix->write, key, key_len, &err);
	return err ? fail_leveldb(ix->host, "delete", err) : 0;
}

/* Add op to wb. Returns 0, or MKV_E_INVAL for an unknown type. */
static int batch_add(const struct mkv_host *host, leveldb_writebatch_t *wb,
		     const struct mkv_index_op *op)
{
	switch (op->type) {
	case MKV_INDEX_PUT:
		leveldb_writebatch_put(wb, op->key, op->key_len, op->value, op->value_len);
		return 0;
	case MKV_INDEX_DELETE:
		leveldb_writebatch_delete(wb, op->key, op->key_len);
		return 0;
	}
	return host->fail(MKV_E_INVAL, "leveldb: unknown batch operation %d", (int)op->type);
}

/*
 * Apply n writes as one LevelDB write batch: one log record, so all or none
 * survive a crash, applied in order. Fails with MKV_E_INVAL for an unknown
 * operation (nothing is written), MKV_E_NOMEM or MKV_E_IO.
 */
static int ldb_batch(void *h, const struct mkv_index_op *ops, size_t n)
{
	struct ldb_index *ix = h;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	char *err = NULL;
	int rc = 0;

	if (!wb)
		return ix->host->fail(MKV_E_NOMEM, "leveldb: out of memory");
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = batch_add(ix->host, wb, &ops[i]);
	if (rc == 0) {
		leveldb_write(ix->db, ix->write, wb, &err);
		if (err)
			rc = fail_leveldb(ix->host, "batch", err);
	}
	leveldb_writebatch_destroy(wb);
	return rc;
}

/*
 * Whether a sorts before b in LevelDB's bytewise order (on a common prefix,
 * the shorter first). Either may be empty (and then NULL).
 */
static bool bytes_less(const void *a, size_t a_len, const void *b, size_t b_len)
{
	size_t common = a_len < b_len ? a_len : b_len;
	int c = common ? memcmp(a, b, common) : 0;

	return c < 0 || (c == 0 && a_len < b_len);
}

/*
 * Open a cursor over the keys starting with prefix, positioned at the first
 * such key >= max(start, prefix). *out is freed by cursor_close(). Fails
 * with MKV_E_NOMEM.
 */
static int ldb_cursor_open(void *h, const void *prefix, size_t prefix_len,
			   const void *start, size_t start_len,
			   struct mkv_index_cursor **out)
{
	struct ldb_index *ix = h;
	struct mkv_index_cursor *c = calloc(1, sizeof *c + prefix_len);

	if (!c)
		return ix->host->fail(MKV_E_NOMEM, "leveldb: out of memory");
	c->it = leveldb_create_iterator(ix->db, ix->scan);
	if (!c->it) {
		free(c);
		return ix->host->fail(MKV_E_NOMEM, "leveldb: out of memory");
	}
	c->host = ix->host;
	c->prefix_len = prefix_len;
	if (prefix_len)
		memcpy(c->prefix, prefix, prefix_len);
	if (bytes_less(start, start_len, prefix, prefix_len)) {
		start = prefix;
		start_len = prefix_len;
	}
	leveldb_iter_seek(c->it, start, start_len);
	c->positioned = true;
	*out = c;
	return 0;
}

/*
 * Move to the next entry unless the iterator already sits on it. Returns 0
 * on an entry within the prefix, MKV_E_NOTFOUND past it, MKV_E_IO when the
 * iterator failed.
 */
static int cursor_advance(struct mkv_index_cursor *c)
{
	char *err = NULL;
	const char *key;
	size_t key_len;

	if (!c->positioned)
		leveldb_iter_next(c->it);
	c->positioned = false;
	if (!leveldb_iter_valid(c->it)) {
		c->done = true;
		leveldb_iter_get_error(c->it, &err);
		return err ? fail_leveldb(c->host, "cursor", err) : MKV_E_NOTFOUND;
	}
	key = leveldb_iter_key(c->it, &key_len);
	if (key_len < c->prefix_len || memcmp(key, c->prefix, c->prefix_len)) {
		c->done = true;
		return MKV_E_NOTFOUND;
	}
	return 0;
}

/*
 * Step to the next entry of the prefix and expose it; key and value are owned
 * by the iterator and valid until the next call. Fails with MKV_E_NOTFOUND
 * past the last entry (on every call from then on), MKV_E_IO on a read error.
 */
static int ldb_cursor_next(struct mkv_index_cursor *c, const void **key,
			   size_t *key_len, const void **value, size_t *value_len)
{
	int rc;

	if (c->done)
		return MKV_E_NOTFOUND;
	rc = cursor_advance(c);
	if (rc < 0)
		return rc;
	*key = leveldb_iter_key(c->it, key_len);
	*value = leveldb_iter_value(c->it, value_len);
	return 0;
}

static void ldb_cursor_close(struct mkv_index_cursor *c)
{
	if (!c)
		return;
	leveldb_iter_destroy(c->it);
	free(c);
}

static const struct mkv_index_ops leveldb_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_INDEX,
		.name = "leveldb",
		.handle_size = sizeof(struct ldb_index),
	},
	.open = ldb_open,
	.close = ldb_close,
	.get = ldb_get,
	.put = ldb_put,
	.del = ldb_del,
	.batch = ldb_batch,
	.cursor_open = ldb_cursor_open,
	.cursor_next = ldb_cursor_next,
	.cursor_close = ldb_cursor_close,
};

/* The entry symbol the core looks up with dlsym(). */
const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &leveldb_ops.head;
}
