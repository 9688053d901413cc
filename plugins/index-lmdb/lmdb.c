/*
 * lmdb.c - the second index backend: mkv's key -> record map in one unnamed
 * LMDB database, through LMDB's C API.
 *
 * The directory given as the index location is created if missing and holds
 * LMDB's data.mdb and lock.mdb plus mkv.lock. LMDB lets many processes share
 * an environment, but an mkv index belongs to one master: open() takes an
 * exclusive flock() on mkv.lock and fails with MKV_E_BUSY while another
 * process holds it. The same lock keeps this process from opening one
 * environment twice, which LMDB forbids (closing the second would drop the
 * first one's fcntl locks).
 *
 * Writes are not fsynced unless the [lmdb] option sync is true (MDB_NOSYNC),
 * like the Go mkv's LevelDB. A commit writes its pages with pwrite(2) before
 * it returns, so a crash of the process loses nothing acknowledged: the OS
 * has the pages. A crash of the machine can lose the last commits (and, LMDB
 * warns, on a file system that reorders writes, damage the file; mkv rebuild
 * recreates an index from the volumes). close() flushes everything.
 *
 * Concurrency. LMDB serializes writers itself and readers never block. Every
 * transaction is begun and ended within one slot call, while the call holds
 * the map lock (a rwlock) shared. The environment is opened with MDB_NOTLS,
 * so a reader slot belongs to a transaction and is given back when it ends:
 * max_readers bounds the reads in flight, not the threads that ever read (a
 * thread-per-connection server may run more threads than there are slots).
 *
 * The map. LMDB maps the data file at a fixed size and a write that needs
 * more fails with MDB_MAP_FULL. The map then grows: the writer takes the map
 * lock exclusively, which waits for the transactions in flight (the lock
 * prefers writers, so a busy server cannot starve it) and guarantees none is
 * active, as mdb_env_set_mapsize() requires; it doubles the map up to the
 * option map_max and retries. A map that cannot grow is MKV_E_FULL with a
 * message naming the option to raise; nothing crashes.
 *
 * Cursors hold no transaction between calls, so an open cursor never blocks
 * the map from growing and never pins old pages. Each visit to the map copies
 * the next batch of entries into the cursor and remembers the last key; the
 * next visit resumes after it in a fresh snapshot. Keys come out strictly
 * ascending and never twice; keys written while a listing runs may or may
 * not appear in it.
 *
 * Options ([lmdb] section):
 *   map_size     initial size of the map (default 1G, at least 32K)
 *   map_max      the map never grows past this (default: no limit but the
 *                disk and the address space)
 *   sync         fsync every commit (true/false, default false)
 *   max_readers  concurrent read transactions (default 512)
 */
#define _GNU_SOURCE /* asprintf, pthread_rwlockattr_setkind_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include <mkv/error.h>
#include <mkv/index.h>
#include <mkv/plugin.h>

#define LMDB_MAP_SIZE_DEFAULT (1ULL << 30)
#define LMDB_MAP_SIZE_MIN (32ULL << 10)
#define LMDB_MAX_READERS_DEFAULT 512
#define LMDB_MAX_READERS_MAX (1U << 20)
#define LMDB_LOCK_FILE "mkv.lock"
#define LMDB_CURSOR_BATCH 64 /* entries a cursor copies per visit to the map */

/* The [lmdb] options, parsed. */
struct lmdb_config {
	uint64_t map_size;
	uint64_t map_max; /* 0: no limit */
	bool sync;
	unsigned max_readers;
};

/* One open index; the core allocates it zeroed (head.handle_size bytes). */
struct lmdb_index {
	const struct mkv_host *host;
	char *location;
	int lock_fd;           /* holds the flock on mkv.lock; -1 when not open */
	pthread_rwlock_t lock; /* the map lock: shared per transaction, exclusive to remap */
	bool lock_ready;
	MDB_env *env;
	bool env_open;         /* mdb_env_open() succeeded */
	MDB_dbi dbi;
	size_t max_key;        /* LMDB's key size limit */
	size_t map_max;        /* 0: no limit */
	size_t map_size;       /* the current map size; changes under the exclusive lock */
	bool broken;           /* a remap failed and left no map: every call fails */
};

/* Where an entry a cursor copied sits in its buffer. */
struct lmdb_entry {
	size_t key_off, key_len, value_off, value_len;
};

/*
 * A prefix cursor. Between calls it holds copies of a batch of entries and
 * the key to resume after, never a transaction.
 */
struct mkv_index_cursor {
	struct lmdb_index *ix;
	struct lmdb_entry entries[LMDB_CURSOR_BATCH];
	size_t count, next; /* entries in the batch, the next to return */
	char *buf;          /* the batch's keys and values */
	size_t used, cap;
	bool end;           /* the map holds no further entry of the prefix */
	bool seek_past;     /* resume after seek, not at it */
	size_t seek_len;
	char *seek;         /* max_key bytes: where the next batch starts */
	size_t prefix_len;
	char prefix[];      /* then the seek buffer */
};

/* The [lmdb] options this backend knows. */
static const char *const known_options[] = {
	"map_size", "map_max", "sync", "max_readers", NULL,
};

/* ---- errors and options -------------------------------------------------- */

/*
 * Map an LMDB (or errno) code from doing what to an mkv code, recording a
 * message with mdb_strerror() in it. MDB_NOTFOUND is MKV_E_NOTFOUND, silently.
 */
static int fail_mdb(const struct lmdb_index *ix, const char *what, int rc)
{
	const struct mkv_host *host = ix->host;

	switch (rc) {
	case MDB_NOTFOUND:
		return MKV_E_NOTFOUND;
	case MDB_MAP_FULL:
	case ENOSPC:
		return host->fail(MKV_E_FULL, "lmdb: %s: %s", what, mdb_strerror(rc));
	case ENOMEM:
		return host->fail(MKV_E_NOMEM, "lmdb: %s: %s", what, mdb_strerror(rc));
	case MDB_BAD_VALSIZE:
		return host->fail(MKV_E_TOOLONG, "lmdb: %s: %s", what, mdb_strerror(rc));
	case MDB_READERS_FULL:
		return host->fail(MKV_E_IO, "lmdb: %s: %s: raise max_readers in [lmdb]",
				  what, mdb_strerror(rc));
	}
	return host->fail(MKV_E_IO, "lmdb: %s: %s", what, mdb_strerror(rc));
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
			return host->fail(MKV_E_INVAL, "lmdb: unknown option '%s'",
					  opts->items[i].key);
	}
	return 0;
}

/* Check the sizes of cfg. Returns 0 or MKV_E_INVAL naming the option. */
static int check_sizes(const struct mkv_host *host, const struct lmdb_config *cfg)
{
	if (cfg->map_size < LMDB_MAP_SIZE_MIN)
		return host->fail(MKV_E_INVAL, "lmdb: option map_size must be at least 32K");
	if ((size_t)cfg->map_size != cfg->map_size)
		return host->fail(MKV_E_INVAL, "lmdb: option map_size is too large");
	if ((size_t)cfg->map_max != cfg->map_max)
		return host->fail(MKV_E_INVAL, "lmdb: option map_max is too large");
	if (cfg->map_max && cfg->map_max < cfg->map_size)
		return host->fail(MKV_E_INVAL,
				  "lmdb: option map_max (%llu) is below map_size (%llu)",
				  (unsigned long long)cfg->map_max,
				  (unsigned long long)cfg->map_size);
	return 0;
}

/* Parse the [lmdb] section into *cfg. Returns 0 or MKV_E_INVAL naming the option. */
static int parse_options(const struct mkv_host *host, const struct mkv_options *opts,
			 struct lmdb_config *cfg)
{
	uint64_t readers;
	int rc;

	if ((rc = check_known_options(host, opts)) < 0 ||
	    (rc = host->option_size(opts, "map_size", LMDB_MAP_SIZE_DEFAULT,
				    &cfg->map_size)) < 0 ||
	    (rc = host->option_size(opts, "map_max", 0, &cfg->map_max)) < 0 ||
	    (rc = host->option_bool(opts, "sync", false, &cfg->sync)) < 0 ||
	    (rc = host->option_size(opts, "max_readers", LMDB_MAX_READERS_DEFAULT,
				    &readers)) < 0)
		return rc;
	if (readers < 1 || readers > LMDB_MAX_READERS_MAX)
		return host->fail(MKV_E_INVAL,
				  "lmdb: option max_readers must be between 1 and %u",
				  LMDB_MAX_READERS_MAX);
	cfg->max_readers = (unsigned)readers;
	return check_sizes(host, cfg);
}

/* ---- opening and closing ------------------------------------------------- */

/*
 * Create directory path and its missing parents (mkdir -p). Returns 0, or
 * MKV_E_IO naming the directory that could not be made.
 */
static int make_dirs(const struct mkv_host *host, const char *path)
{
	char *copy = strdup(path);
	struct stat st;
	int rc = 0;

	if (!copy)
		return host->fail(MKV_E_NOMEM, "lmdb: out of memory");
	for (char *p = copy + 1; rc == 0; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			rc = host->fail(MKV_E_IO, "lmdb: mkdir %s: %s", copy, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	if (rc == 0 && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)))
		rc = host->fail(MKV_E_IO, "lmdb: %s is not a directory", path);
	return rc;
}

/* Whether dir/name exists; false also when that cannot be told. */
static bool exists_in(const char *dir, const char *name)
{
	struct stat st;
	char *path;
	bool found;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return false;
	found = stat(path, &st) == 0;
	free(path);
	return found;
}

/*
 * Refuse a directory that holds a LevelDB index (its CURRENT file) and no
 * LMDB data: opening it would start an empty index beside the real one, and
 * every key would look missing. Returns 0 or MKV_E_INVAL.
 */
static int check_not_leveldb(const struct lmdb_index *ix)
{
	if (exists_in(ix->location, "CURRENT") && !exists_in(ix->location, "data.mdb"))
		return ix->host->fail(MKV_E_INVAL,
				      "lmdb: %s holds a LevelDB index, not an LMDB one "
				      "(use index = leveldb)", ix->location);
	return 0;
}

/*
 * Take the exclusive flock on location/mkv.lock, keeping its descriptor in
 * ix->lock_fd. Fails with MKV_E_BUSY when another process (or another open
 * index of this one) holds it, MKV_E_IO or MKV_E_NOMEM otherwise.
 */
static int lock_index(struct lmdb_index *ix)
{
	char *path;
	int rc = 0;

	if (asprintf(&path, "%s/%s", ix->location, LMDB_LOCK_FILE) < 0)
		return ix->host->fail(MKV_E_NOMEM, "lmdb: out of memory");
	ix->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ix->lock_fd < 0)
		rc = ix->host->fail(MKV_E_IO, "lmdb: open %s: %s", path, strerror(errno));
	else if (flock(ix->lock_fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK
			     ? ix->host->fail(MKV_E_BUSY,
					      "lmdb: %s is in use by another process",
					      ix->location)
			     : ix->host->fail(MKV_E_IO, "lmdb: flock %s: %s", path,
					      strerror(errno));
	free(path);
	return rc;
}

/* Initialise the map lock, preferring the exclusive side. Returns 0 or MKV_E_NOMEM. */
static int init_map_lock(struct lmdb_index *ix)
{
	pthread_rwlockattr_t attr;
	int rc;

	if (pthread_rwlockattr_init(&attr))
		return ix->host->fail(MKV_E_NOMEM, "lmdb: out of memory");
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&ix->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc)
		return ix->host->fail(MKV_E_NOMEM, "lmdb: cannot create the map lock: %s",
				      strerror(rc));
	ix->lock_ready = true;
	return 0;
}

/* Store the map size LMDB actually uses (it rounds up to the data's size). */
static void read_map_size(struct lmdb_index *ix)
{
	MDB_envinfo info;

	if (mdb_env_info(ix->env, &info) == 0)
		ix->map_size = info.me_mapsize;
}

/* Open the environment's unnamed database, in a write transaction. */
static int open_database(struct lmdb_index *ix)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ix->env, NULL, 0, &txn);

	if (rc == 0) {
		rc = mdb_dbi_open(txn, NULL, 0, &ix->dbi);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	return rc ? fail_mdb(ix, ix->location, rc) : 0;
}

/*
 * Create and open the LMDB environment in ix->location as cfg says, and its
 * database. Returns 0 or MKV_E_IO (MKV_E_NOMEM, MKV_E_FULL) with LMDB's message.
 */
static int open_env(struct lmdb_index *ix, const struct lmdb_config *cfg)
{
	unsigned flags = MDB_NOTLS | (cfg->sync ? 0 : MDB_NOSYNC);
	int rc;

	if ((rc = mdb_env_create(&ix->env)) != 0)
		return fail_mdb(ix, "create environment", rc);
	if ((rc = mdb_env_set_maxreaders(ix->env, cfg->max_readers)) != 0 ||
	    (rc = mdb_env_set_mapsize(ix->env, (size_t)cfg->map_size)) != 0 ||
	    (rc = mdb_env_open(ix->env, ix->location, flags, 0644)) != 0)
		return fail_mdb(ix, ix->location, rc);
	ix->env_open = true;
	ix->max_key = (size_t)mdb_env_get_maxkeysize(ix->env);
	ix->map_max = (size_t)cfg->map_max;
	read_map_size(ix);
	return open_database(ix);
}

/* Release everything lmdb_open() acquired, in reverse order. Never fails. */
static void lmdb_close(void *h)
{
	struct lmdb_index *ix = h;

	if (ix->env) {
		/* Under MDB_NOSYNC the last commits may sit in the page cache. */
		if (ix->env_open && !ix->broken)
			mdb_env_sync(ix->env, 1);
		mdb_env_close(ix->env);
	}
	if (ix->lock_ready)
		pthread_rwlock_destroy(&ix->lock);
	if (ix->lock_fd >= 0)
		close(ix->lock_fd); /* drops the flock */
	free(ix->location);
	memset(ix, 0, sizeof *ix);
	ix->lock_fd = -1;
}

/*
 * Open (creating if absent) the LMDB index in directory location. Fails with
 * MKV_E_INVAL for a bad option or a directory holding a LevelDB index,
 * MKV_E_BUSY when another process holds the index, MKV_E_IO with the reason
 * otherwise; nothing stays allocated.
 */
static int lmdb_open(void *h, const char *location, const struct mkv_host *host,
		     const struct mkv_options *opts)
{
	struct lmdb_index *ix = h;
	struct lmdb_config cfg;
	int rc;

	ix->host = host;
	ix->lock_fd = -1;
	if ((rc = parse_options(host, opts, &cfg)) < 0)
		return rc;
	if (!location || !*location)
		return host->fail(MKV_E_INVAL, "lmdb: the index location is empty");
	if (!(ix->location = strdup(location)))
		return host->fail(MKV_E_NOMEM, "lmdb: out of memory");
	if ((rc = make_dirs(host, location)) == 0 && (rc = lock_index(ix)) == 0 &&
	    (rc = check_not_leveldb(ix)) == 0 && (rc = init_map_lock(ix)) == 0)
		rc = open_env(ix, &cfg);
	if (rc < 0)
		lmdb_close(ix);
	return rc;
}

/* ---- the map: transactions and growth ------------------------------------ */

/*
 * Try to reserve size bytes of address space, as remapping will need.
 * Returns 0 when that succeeds now, else the errno of the failure.
 */
static int probe_address_space(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, size);
	return 0;
}

/*
 * Remap the environment at size bytes (0: the size another process recorded).
 * Call with the map lock held exclusively. A failed remap leaves LMDB without
 * a map, so the index is marked broken. Returns 0 or MKV_E_IO.
 */
static int remap(struct lmdb_index *ix, size_t size)
{
	int rc = mdb_env_set_mapsize(ix->env, size);

	if (rc) {
		ix->broken = true;
		return ix->host->fail(MKV_E_IO, "lmdb: remapping the index failed: %s; "
				      "reopen it", mdb_strerror(rc));
	}
	read_map_size(ix);
	ix->host->log(MKV_LOG_INFO, "lmdb: index map is now %zu bytes", ix->map_size);
	return 0;
}

/*
 * Double the map, up to map_max. Call with the map lock held exclusively.
 * Returns 0, or MKV_E_FULL (with a message naming the option to raise) when
 * it is at map_max or the address space has no room.
 */
static int grow(struct lmdb_index *ix)
{
	size_t size = ix->map_size > SIZE_MAX / 2 ? SIZE_MAX : ix->map_size * 2;
	int err;

	if (ix->map_max && size > ix->map_max)
		size = ix->map_max;
	if (size <= ix->map_size)
		return ix->host->fail(MKV_E_FULL,
				      "lmdb: index map full (map_size %zu): raise map_max "
				      "(now %zu) in [lmdb]", ix->map_size, ix->map_max);
	if ((err = probe_address_space(size)) != 0)
		return ix->host->fail(MKV_E_FULL,
				      "lmdb: index map full (map_size %zu) and it cannot "
				      "grow to %zu: %s", ix->map_size, size, strerror(err));
	return remap(ix, size);
}

/*
 * A transaction begun while the map was seen bytes found it too small (why is
 * MDB_MAP_FULL) or resized by another process (MDB_MAP_RESIZED). Grow or adopt
 * the map, unless another thread already changed it since. Call without the
 * map lock. Returns 0 when the caller should retry, or a failure code.
 */
static int change_map(struct lmdb_index *ix, size_t seen, int why)
{
	int rc = 0;

	pthread_rwlock_wrlock(&ix->lock);
	if (ix->broken)
		rc = ix->host->fail(MKV_E_IO, "lmdb: the index lost its map; reopen it");
	else if (ix->map_size == seen)
		rc = why == MDB_MAP_RESIZED ? remap(ix, 0) : grow(ix);
	pthread_rwlock_unlock(&ix->lock);
	return rc;
}

/*
 * Begin a transaction (flags 0 or MDB_RDONLY) and take the map lock shared;
 * the caller ends the transaction, then calls pthread_rwlock_unlock(). Stores
 * the map size it runs with in *seen when seen is not NULL. Returns 0, or a
 * failure code with the lock released.
 */
static int begin(struct lmdb_index *ix, unsigned flags, MDB_txn **txn, size_t *seen)
{
	for (;;) {
		size_t size;
		int rc;

		pthread_rwlock_rdlock(&ix->lock);
		if (ix->broken) {
			pthread_rwlock_unlock(&ix->lock);
			return ix->host->fail(MKV_E_IO, "lmdb: the index lost its map; reopen it");
		}
		size = ix->map_size;
		rc = mdb_txn_begin(ix->env, NULL, flags, txn);
		if (rc == 0) {
			if (seen)
				*seen = size;
			return 0;
		}
		pthread_rwlock_unlock(&ix->lock);
		if (rc != MDB_MAP_RESIZED)
			return fail_mdb(ix, "begin transaction", rc);
		if ((rc = change_map(ix, size, rc)) < 0)
			return rc;
	}
}

/* ---- keys and writes ----------------------------------------------------- */

/* Returns 0 for a key LMDB can store, MKV_E_INVAL (empty) or MKV_E_TOOLONG. */
static int check_key(const struct lmdb_index *ix, size_t key_len)
{
	if (key_len == 0)
		return ix->host->fail(MKV_E_INVAL, "lmdb: empty key");
	if (key_len > ix->max_key)
		return ix->host->fail(MKV_E_TOOLONG,
				      "lmdb: key of %zu bytes exceeds LMDB's limit of %zu",
				      key_len, ix->max_key);
	return 0;
}

/* Returns 0 when every op of ops is valid, else the code of the first bad one. */
static int check_ops(const struct lmdb_index *ix, const struct mkv_index_op *ops,
		     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = check_key(ix, ops[i].key_len);

		if (rc < 0)
			return rc;
		if (ops[i].type != MKV_INDEX_PUT && ops[i].type != MKV_INDEX_DELETE)
			return ix->host->fail(MKV_E_INVAL, "lmdb: unknown batch operation %d",
					      (int)ops[i].type);
	}
	return 0;
}

/* Apply ops in txn, in order. Returns 0 or an LMDB code. */
static int apply(const struct lmdb_index *ix, MDB_txn *txn,
		 const struct mkv_index_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		MDB_val k = { .mv_size = ops[i].key_len, .mv_data = (void *)ops[i].key };
		MDB_val v = { .mv_size = ops[i].value_len,
			      .mv_data = ops[i].value_len ? (void *)ops[i].value : "" };
		int rc;

		if (ops[i].type == MKV_INDEX_PUT)
			rc = mdb_put(txn, ix->dbi, &k, &v, 0);
		else if ((rc = mdb_del(txn, ix->dbi, &k, NULL)) == MDB_NOTFOUND)
			rc = 0; /* deleting an absent key succeeds */
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Apply n valid ops in one write transaction: all or none. When the map is
 * full, grow it and start over. Returns 0, MKV_E_FULL when it cannot grow,
 * or the mapped LMDB failure of doing what.
 */
static int write_ops(struct lmdb_index *ix, const struct mkv_index_op *ops, size_t n,
		     const char *what)
{
	for (;;) {
		MDB_txn *txn;
		size_t seen;
		int rc = begin(ix, 0, &txn, &seen);

		if (rc < 0)
			return rc;
		rc = apply(ix, txn, ops, n);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		pthread_rwlock_unlock(&ix->lock);
		if (rc != MDB_MAP_FULL)
			return rc ? fail_mdb(ix, what, rc) : 0;
		if ((rc = change_map(ix, seen, MDB_MAP_FULL)) < 0)
			return rc;
	}
}

/* ---- the slots ----------------------------------------------------------- */

/*
 * Copy the value of key into buf (at most cap bytes) and store its full length
 * in *len. Fails with MKV_E_NOTFOUND when absent, MKV_E_INVAL or MKV_E_TOOLONG
 * for a key LMDB cannot hold, MKV_E_IO on a read error.
 */
static int lmdb_get(void *h, const void *key, size_t key_len, void *buf, size_t cap,
		    size_t *len)
{
	struct lmdb_index *ix = h;
	MDB_val k = { .mv_size = key_len, .mv_data = (void *)key }, v;
	MDB_txn *txn;
	int rc;

	if ((rc = check_key(ix, key_len)) < 0 || (rc = begin(ix, MDB_RDONLY, &txn, NULL)) < 0)
		return rc;
	rc = mdb_get(txn, ix->dbi, &k, &v);
	if (rc == 0) {
		if (cap)
			memcpy(buf, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
		*len = v.mv_size;
	}
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&ix->lock);
	return rc ? fail_mdb(ix, "get", rc) : 0;
}

/* Store value under key. Fails like batch(). */
static int lmdb_put(void *h, const void *key, size_t key_len, const void *value,
		    size_t value_len)
{
	struct mkv_index_op op = { MKV_INDEX_PUT, key, key_len, value, value_len };
	struct lmdb_index *ix = h;
	int rc = check_key(ix, key_len);

	return rc < 0 ? rc : write_ops(ix, &op, 1, "put");
}

/* Remove key (absent is fine). Fails like batch(). */
static int lmdb_del(void *h, const void *key, size_t key_len)
{
	struct mkv_index_op op = { MKV_INDEX_DELETE, key, key_len, NULL, 0 };
	struct lmdb_index *ix = h;
	int rc = check_key(ix, key_len);

	return rc < 0 ? rc : write_ops(ix, &op, 1, "delete");
}

/*
 * Apply n writes in one LMDB write transaction: all or none, in order. Fails
 * with MKV_E_INVAL (empty key, unknown operation) or MKV_E_TOOLONG before
 * writing anything, MKV_E_FULL when the map is full and cannot grow,
 * MKV_E_IO otherwise.
 */
static int lmdb_batch(void *h, const struct mkv_index_op *ops, size_t n)
{
	struct lmdb_index *ix = h;
	int rc;

	if (n == 0)
		return 0;
	rc = check_ops(ix, ops, n);
	return rc < 0 ? rc : write_ops(ix, ops, n, "batch");
}

/* ---- cursors ------------------------------------------------------------- */

/*
 * Whether a sorts before b in LMDB's default order (bytewise; on a common
 * prefix, the shorter first). Either may be empty (and then NULL).
 */
static bool bytes_less(const void *a, size_t a_len, const void *b, size_t b_len)
{
	size_t common = a_len < b_len ? a_len : b_len;
	int c = common ? memcmp(a, b, common) : 0;

	return c < 0 || (c == 0 && a_len < b_len);
}

/*
 * Make c start at from. A from longer than any key LMDB holds is cut to
 * max_key bytes T, and then the keys >= from are exactly the keys > T.
 */
static void cursor_start_at(struct mkv_index_cursor *c, const void *from, size_t from_len)
{
	size_t max_key = c->ix->max_key;

	c->seek_past = from_len > max_key;
	c->seek_len = c->seek_past ? max_key : from_len;
	if (c->seek_len)
		memcpy(c->seek, from, c->seek_len);
}

/*
 * Open a cursor over the keys starting with prefix, from the first such key
 * >= max(start, prefix). *out is freed by cursor_close(). Fails with
 * MKV_E_NOMEM; it reads nothing yet.
 */
static int lmdb_cursor_open(void *h, const void *prefix, size_t prefix_len,
			    const void *start, size_t start_len,
			    struct mkv_index_cursor **out)
{
	struct lmdb_index *ix = h;
	struct mkv_index_cursor *c = calloc(1, sizeof *c + prefix_len + ix->max_key);

	if (!c)
		return ix->host->fail(MKV_E_NOMEM, "lmdb: out of memory");
	c->ix = ix;
	c->prefix_len = prefix_len;
	if (prefix_len)
		memcpy(c->prefix, prefix, prefix_len);
	c->seek = c->prefix + prefix_len;
	c->end = prefix_len > ix->max_key; /* no key is that long */
	if (bytes_less(start, start_len, prefix, prefix_len))
		cursor_start_at(c, prefix, prefix_len);
	else
		cursor_start_at(c, start, start_len);
	*out = c;
	return 0;
}

/* Whether key k starts with c's prefix. */
static bool has_prefix(const struct mkv_index_cursor *c, const MDB_val *k)
{
	return k->mv_size >= c->prefix_len &&
	       (c->prefix_len == 0 || memcmp(k->mv_data, c->prefix, c->prefix_len) == 0);
}

/* Position mc at c's resume point. Returns 0 or an LMDB code (MDB_NOTFOUND). */
static int cursor_seek(const struct mkv_index_cursor *c, MDB_cursor *mc, MDB_val *k,
		       MDB_val *v)
{
	int rc;

	if (c->seek_len == 0)
		return mdb_cursor_get(mc, k, v, MDB_FIRST);
	k->mv_size = c->seek_len;
	k->mv_data = c->seek;
	rc = mdb_cursor_get(mc, k, v, MDB_SET_RANGE);
	if (rc == 0 && c->seek_past && k->mv_size == c->seek_len &&
	    memcmp(k->mv_data, c->seek, c->seek_len) == 0)
		rc = mdb_cursor_get(mc, k, v, MDB_NEXT);
	return rc;
}

/* Append a copy of one entry to c's batch. Returns 0 or ENOMEM. */
static int cursor_keep(struct mkv_index_cursor *c, const MDB_val *k, const MDB_val *v)
{
	size_t need = c->used + k->mv_size + v->mv_size;
	struct lmdb_entry *e;

	if (need > c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4096;
		char *buf;

		if (cap < need)
			cap = need;
		if (!(buf = realloc(c->buf, cap)))
			return ENOMEM;
		c->buf = buf;
		c->cap = cap;
	}
	e = &c->entries[c->count++];
	e->key_off = c->used;
	e->key_len = k->mv_size;
	memcpy(c->buf + c->used, k->mv_data, k->mv_size);
	c->used += k->mv_size;
	e->value_off = c->used;
	e->value_len = v->mv_size;
	if (v->mv_size)
		memcpy(c->buf + c->used, v->mv_data, v->mv_size);
	c->used += v->mv_size;
	return 0;
}

/* Copy the next batch of the prefix's entries from a read transaction. */
static int cursor_read(struct mkv_index_cursor *c, MDB_txn *txn)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, c->ix->dbi, &mc);

	if (rc)
		return rc;
	for (rc = cursor_seek(c, mc, &k, &v); rc == 0;
	     rc = mdb_cursor_get(mc, &k, &v, MDB_NEXT)) {
		if (!has_prefix(c, &k)) {
			c->end = true;
			break;
		}
		if (c->count == LMDB_CURSOR_BATCH || (rc = cursor_keep(c, &k, &v)) != 0)
			break;
	}
	mdb_cursor_close(mc);
	if (rc == MDB_NOTFOUND) {
		c->end = true;
		rc = 0;
	}
	return rc;
}

/*
 * Replace c's batch with the next one, then resume after its last key.
 * Returns 0 (no entries when the prefix is exhausted) or a failure code.
 */
static int cursor_fill(struct mkv_index_cursor *c)
{
	struct lmdb_entry *last;
	MDB_txn *txn;
	int rc = begin(c->ix, MDB_RDONLY, &txn, NULL);

	if (rc < 0)
		return rc;
	c->count = c->next = c->used = 0;
	rc = cursor_read(c, txn);
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&c->ix->lock);
	if (rc) {
		c->count = 0;
		return fail_mdb(c->ix, "cursor", rc);
	}
	if (c->count) {
		last = &c->entries[c->count - 1];
		memcpy(c->seek, c->buf + last->key_off, last->key_len);
		c->seek_len = last->key_len;
		c->seek_past = true;
	}
	return 0;
}

/*
 * Step to the next entry of the prefix and expose it; key and value are owned
 * by the cursor and valid until the next call on it. Fails with
 * MKV_E_NOTFOUND past the last entry (on every call from then on), MKV_E_NOMEM
 * or MKV_E_IO.
 */
static int lmdb_cursor_next(struct mkv_index_cursor *c, const void **key,
			    size_t *key_len, const void **value, size_t *value_len)
{
	const struct lmdb_entry *e;
	int rc;

	if (c->next == c->count) {
		if (c->end)
			return MKV_E_NOTFOUND;
		if ((rc = cursor_fill(c)) < 0)
			return rc;
		if (c->count == 0)
			return MKV_E_NOTFOUND;
	}
	e = &c->entries[c->next++];
	*key = c->buf + e->key_off;
	*key_len = e->key_len;
	*value = c->buf + e->value_off;
	*value_len = e->value_len;
	return 0;
}

/* Free the cursor and its batch; it holds nothing of LMDB's. Never fails. */
static void lmdb_cursor_close(struct mkv_index_cursor *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c);
}

static const struct mkv_index_ops lmdb_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_INDEX,
		.name = "lmdb",
		.handle_size = sizeof(struct lmdb_index),
	},
	.open = lmdb_open,
	.close = lmdb_close,
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.batch = lmdb_batch,
	.cursor_open = lmdb_cursor_open,
	.cursor_next = lmdb_cursor_next,
	.cursor_close = lmdb_cursor_close,
};

/* The entry symbol the core looks up with dlsym(). */
const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &lmdb_ops.head;
}
