/*
 * logindex.c - an mkv index backend in one file, built outside mkv's tree
 * against the installed headers alone: the whole index lives in memory as a
 * sorted skip list, and every write is appended to one log file, which is
 * replayed when the index is opened.
 *
 * It suits an index that fits in memory (about 100 bytes a key for mkv's
 * records) and wants no library at all: a backup is a copy of one file, and
 * the format below is simple enough to read with a short script.
 *
 *     mkv -index /usr/local/lib/mkv/logindex.so -db /var/lib/mkv/logindex ...
 *
 * The index location is a directory holding two files:
 *
 *     LOCK     flock()ed while the index is open: a second mkv gets MKV_E_BUSY
 *     mkv.log  "mkvlog1\n", then records
 *
 * A record is one put, one delete or one whole batch: a little-endian u32
 * payload length, the CRC-32 of the payload, and the payload, a sequence of
 * operations (u8 type 1 = put or 2 = delete, u32 key length, for a put u32
 * value length, the key, for a put the value). A record is written with one
 * write(2), so a crash of mkv loses nothing acknowledged; the option sync
 * also fsyncs each record, so a crash of the machine loses nothing either.
 * A record torn by a crash can only be the last one: replay drops it (with a
 * warning) and cuts the log there. A damaged record followed by good ones is
 * not a crash but a damaged disk, and the index refuses to open.
 *
 * When the log has grown to more than twice what its live records need, the
 * open rewrites it (into mkv.log.tmp, fsynced, renamed over mkv.log).
 *
 * Concurrency: one rwlock per index. Lookups and cursor steps share it,
 * writes take it alone. A cursor copies each entry it exposes and holds no
 * lock between calls: each step finds the first key after the last one it
 * returned, so writes may go on while a listing runs.
 *
 * Options ([logindex] section of mkv.conf):
 *   sync   fsync the log after every write (true/false, default false)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mkv/mkv.h>

#define LOG_FILE "mkv.log"
#define LOG_TMP_FILE "mkv.log.tmp"
#define LOCK_FILE "LOCK"
#define LOG_MAGIC "mkvlog1\n"
#define LOG_MAGIC_LEN 8
#define RECORD_HEADER_LEN 8       /* u32 payload length, u32 CRC-32 */
#define OP_PUT 1
#define OP_DEL 2
#define COMPACT_MIN_BYTES (4 << 20) /* never rewrite a log smaller than this */
#define COMPACT_RECORD_BYTES (1 << 20)
#define MAX_LEVEL 20 /* a skip list of 4^20 keys stays fast */

/* One key of the skip list: one allocation, the key and value bytes after next[]. */
struct node {
	size_t key_len, value_len;
	unsigned char *key, *value;
	int level;
	struct node *next[]; /* level forward pointers */
};

/* One open index; the core allocates it zeroed (head.handle_size bytes). */
struct logindex {
	const struct mkv_host *host;
	pthread_rwlock_t lock;
	bool lock_ready; /* lock was initialised: close destroys it */
	bool sync;
	int dirfd, lockfd, logfd;
	char dir[PATH_MAX];
	off_t end;           /* where the next record goes: the end of the good records */
	uint64_t live_bytes; /* what the live keys take in the log */
	struct node *head;   /* MAX_LEVEL pointers, no key */
	int level;           /* levels in use: the highest level of any node */
};

/* A prefix cursor. Its key and value are copies, valid until the next call. */
struct mkv_index_cursor {
	struct logindex *ix;
	unsigned char *prefix;
	size_t prefix_len;
	unsigned char *key, *value; /* the last entry returned (key: where to go on) */
	size_t key_len, value_len, key_cap, value_cap;
	bool started; /* key holds the last entry returned, not the start */
	bool done;
};

/* ---- bytes ------------------------------------------------------------------ */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* The CRC-32 of zlib and PNG. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bytewise order, a shorter key first when it is a prefix of the longer. */
static int compare(const void *a, size_t a_len, const void *b, size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;
	int c = n ? memcmp(a, b, n) : 0;

	return c ? c : (a_len > b_len) - (a_len < b_len);
}

/* What one operation takes in a record. */
static size_t op_size(enum mkv_index_op_type type, size_t key_len, size_t value_len)
{
	return type == MKV_INDEX_PUT ? 9 + key_len + value_len : 5 + key_len;
}

/* ---- the skip list -------------------------------------------------------------- */

/* A random level, 1 with probability 3/4, 2 with 3/16, ... Thread-local state. */
static int random_level(void)
{
	static _Thread_local uint64_t x;
	int level = 1;

	if (!x)
		x = (uint64_t)(uintptr_t)&x ^ (uint64_t)time(NULL) << 20 ^ 0x9e3779b97f4a7c15u;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	for (uint64_t r = x; level < MAX_LEVEL && (r & 3) == 0; r >>= 2)
		level++;
	return level;
}

/* A node holding copies of key and value; NULL when out of memory. */
static struct node *node_new(const void *key, size_t key_len, const void *value,
			     size_t value_len, int level)
{
	struct node *n = malloc(sizeof *n + (size_t)level * sizeof n->next[0] + key_len +
				value_len + 1);

	if (!n)
		return NULL;
	n->level = level;
	n->key_len = key_len;
	n->value_len = value_len;
	n->key = (unsigned char *)&n->next[level];
	n->value = n->key + key_len;
	if (key_len)
		memcpy(n->key, key, key_len);
	if (value_len)
		memcpy(n->value, value, value_len);
	for (int i = 0; i < level; i++)
		n->next[i] = NULL;
	return n;
}

/*
 * The first node whose key is >= key (> key when !inclusive), or NULL. When
 * update is not NULL, update[i] is left at the last node before it on level i.
 */
static struct node *seek(const struct logindex *ix, const void *key, size_t key_len,
			 bool inclusive, struct node **update)
{
	struct node *x = ix->head;

	for (int i = MAX_LEVEL - 1; update && i >= ix->level; i--)
		update[i] = ix->head; /* levels no node uses yet */
	for (int i = ix->level - 1; i >= 0; i--) {
		while (x->next[i]) {
			int c = compare(x->next[i]->key, x->next[i]->key_len, key, key_len);

			if (c > 0 || (c == 0 && inclusive))
				break;
			x = x->next[i];
		}
		if (update)
			update[i] = x;
	}
	return x->next[0];
}

/* The node of key exactly, or NULL. */
static struct node *find(const struct logindex *ix, const void *key, size_t key_len)
{
	struct node *n = seek(ix, key, key_len, true, NULL);

	return n && compare(n->key, n->key_len, key, key_len) == 0 ? n : NULL;
}

/* Remove key; true when it was there. Never fails. */
static bool list_remove(struct logindex *ix, const void *key, size_t key_len)
{
	struct node *update[MAX_LEVEL];
	struct node *n = seek(ix, key, key_len, true, update);

	if (!n || compare(n->key, n->key_len, key, key_len) != 0)
		return false;
	for (int i = 0; i < n->level; i++)
		update[i]->next[i] = n->next[i];
	ix->live_bytes -= op_size(MKV_INDEX_PUT, n->key_len, n->value_len);
	free(n);
	return true;
}

/* Put n in the list, replacing the node of the same key. Never fails. */
static void list_insert(struct logindex *ix, struct node *n)
{
	struct node *update[MAX_LEVEL];

	list_remove(ix, n->key, n->key_len);
	seek(ix, n->key, n->key_len, true, update);
	for (int i = 0; i < n->level; i++) {
		n->next[i] = update[i]->next[i];
		update[i]->next[i] = n;
	}
	if (n->level > ix->level)
		ix->level = n->level;
	ix->live_bytes += op_size(MKV_INDEX_PUT, n->key_len, n->value_len);
}

static void list_free(struct logindex *ix)
{
	struct node *n = ix->head;

	while (n) {
		struct node *next = n->next[0];

		free(n);
		n = next;
	}
	ix->head = NULL;
}

/* ---- records ------------------------------------------------------------------ */

/* Write one operation at p (op_size() bytes); returns the byte after it. */
static unsigned char *encode_op(unsigned char *p, enum mkv_index_op_type type, const void *key,
				size_t key_len, const void *value, size_t value_len)
{
	*p++ = type == MKV_INDEX_PUT ? OP_PUT : OP_DEL;
	put_u32(p, (uint32_t)key_len);
	p += 4;
	if (type == MKV_INDEX_PUT) {
		put_u32(p, (uint32_t)value_len);
		p += 4;
	}
	memcpy(p, key, key_len);
	p += key_len;
	if (type == MKV_INDEX_PUT && value_len) {
		memcpy(p, value, value_len);
		p += value_len;
	}
	return p;
}

/* Fill in the header of the record in buf, whose payload is len bytes. */
static void seal(unsigned char *buf, size_t len)
{
	put_u32(buf, (uint32_t)len);
	put_u32(buf + 4, crc32_of(buf + RECORD_HEADER_LEN, len));
}

/*
 * A record of ops, ready to append: header and payload in one malloc'd
 * buffer (*out, freed by the caller), *len bytes. A put's node is made here
 * too, outside the lock, so applying a record can never fail: nodes[i] is
 * the node of op i (NULL for a delete). Fails with MKV_E_TOOLONG or
 * MKV_E_NOMEM.
 */
static int encode(struct logindex *ix, const struct mkv_index_op *ops, size_t n,
		  unsigned char **out, size_t *len, struct node **nodes)
{
	size_t payload = 0;
	unsigned char *buf, *p;

	for (size_t i = 0; i < n; i++) {
		if (ops[i].key_len > UINT32_MAX || ops[i].value_len > UINT32_MAX)
			return ix->host->fail(MKV_E_TOOLONG, "logindex: a key or value over 4 GB");
		payload += op_size(ops[i].type, ops[i].key_len, ops[i].value_len);
	}
	if (payload > UINT32_MAX)
		return ix->host->fail(MKV_E_TOOLONG, "logindex: a batch over 4 GB");
	buf = malloc(RECORD_HEADER_LEN + payload);
	if (!buf)
		return ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
	p = buf + RECORD_HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		const struct mkv_index_op *op = &ops[i];

		p = encode_op(p, op->type, op->key, op->key_len, op->value, op->value_len);
		nodes[i] = NULL;
		if (op->type != MKV_INDEX_PUT)
			continue;
		nodes[i] = node_new(op->key, op->key_len, op->value, op->value_len, random_level());
		if (!nodes[i]) {
			while (i--)
				free(nodes[i]);
			free(buf);
			return ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
		}
	}
	seal(buf, payload);
	*out = buf;
	*len = RECORD_HEADER_LEN + payload;
	return 0;
}

/* The code for a failed write: a full disk says so. */
static int write_error(struct logindex *ix, const char *what, int err)
{
	int code = err == ENOSPC || err == EDQUOT ? MKV_E_FULL : MKV_E_IO;

	return ix->host->fail(code, "logindex: %s %s/%s: %s", what, ix->dir, LOG_FILE,
			      strerror(err));
}

/* Write all of buf at offset; 0 or an errno value. */
static int write_all(int fd, const unsigned char *buf, size_t len, off_t offset)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		buf += n;
		len -= (size_t)n;
		offset += n;
	}
	return 0;
}

/*
 * Append a record of n ops and apply it. The record is on disk (and fsynced
 * with sync) before the writers' lock is let go; on failure the log is cut
 * back, so a half-written record never sits before later ones.
 */
static int append(struct logindex *ix, const struct mkv_index_op *ops, size_t n)
{
	struct node *stack_nodes[1], **nodes = n > 1 ? calloc(n, sizeof *nodes) : stack_nodes;
	unsigned char *record = NULL;
	size_t len = 0;
	int rc, err;

	if (!nodes)
		return ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
	rc = encode(ix, ops, n, &record, &len, nodes);
	if (rc < 0)
		goto out;
	pthread_rwlock_wrlock(&ix->lock);
	err = write_all(ix->logfd, record, len, ix->end);
	if (!err && ix->sync && fdatasync(ix->logfd) < 0)
		err = errno;
	if (err) {
		if (ftruncate(ix->logfd, ix->end) < 0)
			ix->host->log(MKV_LOG_ERROR, "logindex: cannot cut %s/%s back: %s",
				      ix->dir, LOG_FILE, strerror(errno));
		pthread_rwlock_unlock(&ix->lock);
		for (size_t i = 0; i < n; i++)
			free(nodes[i]);
		rc = write_error(ix, "append to", err);
		goto out;
	}
	ix->end += (off_t)len;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i])
			list_insert(ix, nodes[i]);
		else
			list_remove(ix, ops[i].key, ops[i].key_len);
	}
	pthread_rwlock_unlock(&ix->lock);
out:
	free(record);
	if (nodes != stack_nodes)
		free(nodes);
	return rc;
}

/* ---- opening: replay and compaction ---------------------------------------------- */

/*
 * Apply the operations of the payload of the record at byte at. A record
 * whose checksum holds but whose operations do not parse was not torn by a
 * crash: MKV_E_CORRUPT.
 */
static int apply_payload(struct logindex *ix, const unsigned char *p, size_t len, off_t at)
{
	const unsigned char *end = p + len;

	while (p < end) {
		int type = *p++;
		size_t header = type == OP_PUT ? 8 : 4;
		uint32_t key_len, value_len = 0;
		struct node *n;

		if ((type != OP_PUT && type != OP_DEL) || (size_t)(end - p) < header)
			goto malformed;
		key_len = get_u32(p);
		if (type == OP_PUT)
			value_len = get_u32(p + 4);
		p += header;
		if ((size_t)(end - p) < (size_t)key_len + value_len)
			goto malformed;
		if (type == OP_DEL) {
			list_remove(ix, p, key_len);
		} else {
			n = node_new(p, key_len, p + key_len, value_len, random_level());
			if (!n)
				return ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
			list_insert(ix, n);
		}
		p += key_len + value_len;
	}
	return 0;
malformed:
	return ix->host->fail(MKV_E_CORRUPT, "logindex: %s/%s: malformed record at byte %lld",
			      ix->dir, LOG_FILE, (long long)at);
}

/* True when nothing but zero bytes follows offset: the tail a crash may leave. */
static bool only_zeros_after(FILE *f, off_t offset)
{
	int c;

	if (fseeko(f, offset, SEEK_SET) < 0)
		return false;
	while ((c = getc(f)) == 0)
		;
	return c == EOF && !ferror(f);
}

/*
 * Read the record at byte at (the stream f is there) into *payload (grown
 * as needed, capacity *cap) and its length into *len. Returns 0, MKV_E_NOMEM,
 * or MKV_E_CORRUPT when it is cut short or its checksum fails.
 */
static int read_record(FILE *f, off_t at, off_t size, unsigned char **payload, size_t *cap,
		       uint32_t *len)
{
	unsigned char header[RECORD_HEADER_LEN];

	*len = 0;
	if (fread(header, 1, sizeof header, f) != sizeof header)
		return MKV_E_CORRUPT;
	*len = get_u32(header);
	if (*len == 0 || (off_t)*len > size - at - RECORD_HEADER_LEN)
		return MKV_E_CORRUPT;
	if (*len > *cap) {
		unsigned char *grown = realloc(*payload, *len);

		if (!grown)
			return MKV_E_NOMEM;
		*payload = grown;
		*cap = *len;
	}
	if (fread(*payload, 1, *len, f) != *len || crc32_of(*payload, *len) != get_u32(header + 4))
		return MKV_E_CORRUPT;
	return 0;
}

/*
 * Read every record of the log, of size bytes, into the list. A bad record
 * is a write torn by a crash when nothing follows it (its length runs to or
 * past the end, or only zeros follow, as a crash can leave): the log is cut
 * there, with a warning. A bad record before more data is damage:
 * MKV_E_CORRUPT.
 */
static int replay(struct logindex *ix, off_t size)
{
	unsigned char *payload = NULL;
	size_t cap = 0;
	off_t at = LOG_MAGIC_LEN;
	int fd = dup(ix->logfd), rc = 0;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");

	if (!f || fseeko(f, at, SEEK_SET) < 0) {
		rc = ix->host->fail(MKV_E_IO, "logindex: read %s/%s: %s", ix->dir, LOG_FILE,
				    strerror(errno));
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		return rc;
	}
	while (at < size) {
		uint32_t len;

		rc = read_record(f, at, size, &payload, &cap, &len);
		if (rc == 0 && (rc = apply_payload(ix, payload, len, at)) < 0)
			break;
		if (rc == 0) {
			at += RECORD_HEADER_LEN + (off_t)len;
			continue;
		}
		if (rc == MKV_E_NOMEM) {
			rc = ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
			break;
		}
		if ((off_t)len < size - at - RECORD_HEADER_LEN &&
		    !only_zeros_after(f, at + RECORD_HEADER_LEN + (off_t)len)) {
			rc = ix->host->fail(MKV_E_CORRUPT,
					    "logindex: %s/%s is damaged at byte %lld, before "
					    "good records: restore it from a backup",
					    ix->dir, LOG_FILE, (long long)at);
			break;
		}
		ix->host->log(MKV_LOG_WARN, "logindex: %s/%s: dropping %lld bytes at byte %lld, "
			      "a write torn by a crash", ix->dir, LOG_FILE,
			      (long long)(size - at), (long long)at);
		rc = 0;
		if (ftruncate(ix->logfd, at) < 0)
			rc = ix->host->fail(MKV_E_IO, "logindex: cut %s/%s: %s", ix->dir,
					    LOG_FILE, strerror(errno));
		break;
	}
	ix->end = at;
	free(payload);
	fclose(f);
	return rc;
}

/* Write the live keys to a fresh log at fd, in records of about 1 MB; 0 or errno. */
static int write_live(struct logindex *ix, int fd, off_t *end)
{
	unsigned char *buf = NULL;
	size_t cap = 0, used = RECORD_HEADER_LEN;
	off_t at = LOG_MAGIC_LEN;
	int err = write_all(fd, (const unsigned char *)LOG_MAGIC, LOG_MAGIC_LEN, 0);

	for (struct node *n = ix->head->next[0]; !err && n; n = n->next[0]) {
		size_t need = used + op_size(MKV_INDEX_PUT, n->key_len, n->value_len);

		if (need > cap) {
			unsigned char *grown = realloc(buf, need);

			if (!grown) {
				err = ENOMEM;
				break;
			}
			buf = grown;
			cap = need;
		}
		encode_op(buf + used, MKV_INDEX_PUT, n->key, n->key_len, n->value, n->value_len);
		used = need;
		if (used >= COMPACT_RECORD_BYTES || !n->next[0]) {
			seal(buf, used - RECORD_HEADER_LEN);
			err = write_all(fd, buf, used, at);
			at += (off_t)used;
			used = RECORD_HEADER_LEN;
		}
	}
	free(buf);
	if (!err && fsync(fd) < 0)
		err = errno;
	*end = at;
	return err;
}

/*
 * Rewrite the log with only the live keys when it has grown to more than
 * twice their size. A failure is logged and leaves the old log in use.
 */
static void compact(struct logindex *ix)
{
	off_t end = 0;
	int fd, err;

	if (ix->end < COMPACT_MIN_BYTES || (uint64_t)ix->end / 2 < ix->live_bytes)
		return;
	fd = openat(ix->dirfd, LOG_TMP_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	err = write_live(ix, fd, &end);
	if (!err && renameat(ix->dirfd, LOG_TMP_FILE, ix->dirfd, LOG_FILE) < 0)
		err = errno;
	if (!err && fsync(ix->dirfd) < 0)
		err = errno;
	if (err) {
		close(fd);
		unlinkat(ix->dirfd, LOG_TMP_FILE, 0);
		goto fail;
	}
	ix->host->log(MKV_LOG_INFO, "logindex: %s/%s compacted from %lld to %lld bytes",
		      ix->dir, LOG_FILE, (long long)ix->end, (long long)end);
	close(ix->logfd);
	ix->logfd = fd;
	ix->end = end;
	return;
fail:
	ix->host->log(MKV_LOG_WARN, "logindex: cannot compact %s/%s: %s", ix->dir, LOG_FILE,
		      strerror(err));
}

/* ---- the slots ------------------------------------------------------------------ */

static void li_close(void *h);
static void li_cursor_close(struct mkv_index_cursor *c);

/* MKV_E_INVAL naming the first option this backend does not know, or 0. */
static int check_options(const struct mkv_host *host, const struct mkv_options *opts)
{
	for (size_t i = 0; opts && i < opts->count; i++)
		if (strcmp(opts->items[i].key, "sync") != 0)
			return host->fail(MKV_E_INVAL, "logindex: unknown option '%s'",
					  opts->items[i].key);
	return 0;
}

/*
 * A directory that holds files but no log is some other index (LevelDB,
 * LMDB): refuse it rather than start an empty index beside it.
 */
static int check_not_foreign(struct logindex *ix)
{
	int fd = dup(ix->dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	bool log = false, other = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return ix->host->fail(MKV_E_IO, "logindex: list %s: %s", ix->dir, strerror(errno));
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, LOG_FILE) == 0)
			log = true;
		else if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			 strcmp(e->d_name, LOCK_FILE) && strcmp(e->d_name, LOG_TMP_FILE))
			other = true;
	}
	closedir(d);
	if (other && !log)
		return ix->host->fail(MKV_E_INVAL, "logindex: %s holds files but no %s: "
				      "not a logindex index", ix->dir, LOG_FILE);
	return 0;
}

/* Open (creating) the log, check its magic or write it, and replay it. */
static int open_log(struct logindex *ix)
{
	char magic[LOG_MAGIC_LEN];
	struct stat st;
	int err;

	ix->logfd = openat(ix->dirfd, LOG_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ix->logfd < 0 || fstat(ix->logfd, &st) < 0)
		return ix->host->fail(MKV_E_IO, "logindex: open %s/%s: %s", ix->dir, LOG_FILE,
				      strerror(errno));
	if (st.st_size == 0) {
		err = write_all(ix->logfd, (const unsigned char *)LOG_MAGIC, LOG_MAGIC_LEN, 0);
		if (!err && fsync(ix->logfd) < 0)
			err = errno;
		ix->end = LOG_MAGIC_LEN;
		return err ? write_error(ix, "create", err) : 0;
	}
	if (pread(ix->logfd, magic, sizeof magic, 0) != (ssize_t)sizeof magic ||
	    memcmp(magic, LOG_MAGIC, LOG_MAGIC_LEN) != 0)
		return ix->host->fail(MKV_E_CORRUPT, "logindex: %s/%s is not a logindex log",
				      ix->dir, LOG_FILE);
	return replay(ix, st.st_size);
}

static int li_open(void *h, const char *location, const struct mkv_host *host,
		   const struct mkv_options *opts)
{
	struct logindex *ix = h;
	int rc;

	ix->host = host;
	ix->dirfd = ix->lockfd = ix->logfd = -1;
	pthread_once(&crc_once, crc_init);
	if ((rc = check_options(host, opts)) < 0 ||
	    (rc = host->option_bool(opts, "sync", false, &ix->sync)) < 0)
		return rc;
	if (snprintf(ix->dir, sizeof ix->dir, "%s", location) >= (int)sizeof ix->dir)
		return host->fail(MKV_E_TOOLONG, "logindex: path too long: %s", location);
	if (mkdir(location, 0755) < 0 && errno != EEXIST)
		return host->fail(MKV_E_IO, "logindex: mkdir %s: %s", location, strerror(errno));
	if (pthread_rwlock_init(&ix->lock, NULL) != 0)
		return host->fail(MKV_E_NOMEM, "logindex: cannot make a lock");
	ix->lock_ready = true;
	ix->head = node_new(NULL, 0, NULL, 0, MAX_LEVEL);
	ix->dirfd = open(location, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ix->head || ix->dirfd < 0) {
		rc = ix->head ? host->fail(MKV_E_IO, "logindex: open %s: %s", location,
					   strerror(errno))
			      : host->fail(MKV_E_NOMEM, "logindex: out of memory");
		goto fail;
	}
	ix->lockfd = openat(ix->dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ix->lockfd < 0) {
		rc = host->fail(MKV_E_IO, "logindex: open %s/%s: %s", location, LOCK_FILE,
				strerror(errno));
		goto fail;
	}
	if (flock(ix->lockfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK
			     ? host->fail(MKV_E_BUSY, "logindex: %s is in use by another process",
					  location)
			     : host->fail(MKV_E_IO, "logindex: lock %s: %s", location, strerror(errno));
		goto fail;
	}
	if ((rc = check_not_foreign(ix)) < 0 || (rc = open_log(ix)) < 0)
		goto fail;
	compact(ix);
	return 0;
fail:
	li_close(ix);
	return rc;
}

/* Also undoes a failed open: every field is either set or still -1 / NULL / false. */
static void li_close(void *h)
{
	struct logindex *ix = h;

	if (ix->logfd >= 0) {
		fsync(ix->logfd);
		close(ix->logfd);
	}
	if (ix->lockfd >= 0)
		close(ix->lockfd); /* releases the flock */
	if (ix->dirfd >= 0)
		close(ix->dirfd);
	list_free(ix);
	if (ix->lock_ready)
		pthread_rwlock_destroy(&ix->lock);
	ix->logfd = ix->lockfd = ix->dirfd = -1;
	ix->lock_ready = false;
}

static int li_get(void *h, const void *key, size_t key_len, void *buf, size_t cap,
		  size_t *len)
{
	struct logindex *ix = h;
	struct node *n;

	pthread_rwlock_rdlock(&ix->lock);
	n = find(ix, key, key_len);
	if (n) {
		*len = n->value_len;
		if (buf && cap)
			memcpy(buf, n->value, n->value_len < cap ? n->value_len : cap);
	}
	pthread_rwlock_unlock(&ix->lock);
	return n ? 0 : MKV_E_NOTFOUND;
}

static int li_put(void *h, const void *key, size_t key_len, const void *value,
		  size_t value_len)
{
	const struct mkv_index_op op = { MKV_INDEX_PUT, key, key_len, value, value_len };

	return append(h, &op, 1);
}

static int li_del(void *h, const void *key, size_t key_len)
{
	const struct mkv_index_op op = { MKV_INDEX_DELETE, key, key_len, NULL, 0 };
	struct logindex *ix = h;
	bool present;

	/* Deleting an absent key writes nothing; a racing put is ordered either way. */
	pthread_rwlock_rdlock(&ix->lock);
	present = find(ix, key, key_len) != NULL;
	pthread_rwlock_unlock(&ix->lock);
	return present ? append(ix, &op, 1) : 0;
}

static int li_batch(void *h, const struct mkv_index_op *ops, size_t n)
{
	return n ? append(h, ops, n) : 0;
}

/* ---- cursors ---------------------------------------------------------------------- */

/* Copy len bytes of src into *buf (grown as needed, capacity *cap). */
static int copy_into(unsigned char **buf, size_t *cap, const void *src, size_t len)
{
	if (len > *cap || !*buf) {
		unsigned char *grown = realloc(*buf, len ? len : 1);

		if (!grown)
			return MKV_E_NOMEM;
		*buf = grown;
		*cap = len ? len : 1;
	}
	if (len)
		memcpy(*buf, src, len);
	return 0;
}

static int li_cursor_open(void *h, const void *prefix, size_t prefix_len,
			  const void *start, size_t start_len, struct mkv_index_cursor **out)
{
	struct logindex *ix = h;
	struct mkv_index_cursor *c = calloc(1, sizeof *c);
	bool from_start = start_len && compare(start, start_len, prefix, prefix_len) > 0;
	size_t prefix_cap = 0;

	/* The first step looks for the first key >= max(prefix, start). */
	if (!c || copy_into(&c->prefix, &prefix_cap, prefix, prefix_len) < 0 ||
	    copy_into(&c->key, &c->key_cap, from_start ? start : prefix,
		      from_start ? start_len : prefix_len) < 0) {
		if (c)
			li_cursor_close(c);
		return ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
	}
	c->ix = ix;
	c->prefix_len = prefix_len;
	c->key_len = from_start ? start_len : prefix_len;
	*out = c;
	return 0;
}

static int li_cursor_next(struct mkv_index_cursor *c, const void **key, size_t *key_len,
			  const void **value, size_t *value_len)
{
	struct logindex *ix = c->ix;
	struct node *n;
	int rc = MKV_E_NOTFOUND;

	if (c->done)
		return MKV_E_NOTFOUND;
	pthread_rwlock_rdlock(&ix->lock);
	n = seek(ix, c->key, c->key_len, !c->started, NULL);
	if (n && n->key_len >= c->prefix_len &&
	    (c->prefix_len == 0 || memcmp(n->key, c->prefix, c->prefix_len) == 0)) {
		rc = copy_into(&c->key, &c->key_cap, n->key, n->key_len);
		if (rc == 0)
			rc = copy_into(&c->value, &c->value_cap, n->value, n->value_len);
		if (rc == 0) {
			c->key_len = n->key_len;
			c->value_len = n->value_len;
		}
	}
	pthread_rwlock_unlock(&ix->lock);
	if (rc == MKV_E_NOMEM)
		return ix->host->fail(MKV_E_NOMEM, "logindex: out of memory");
	if (rc == MKV_E_NOTFOUND) {
		c->done = true;
		return rc;
	}
	c->started = true;
	*key = c->key;
	*key_len = c->key_len;
	*value = c->value;
	*value_len = c->value_len;
	return 0;
}

static void li_cursor_close(struct mkv_index_cursor *c)
{
	free(c->prefix);
	free(c->key);
	free(c->value);
	free(c);
}

static const struct mkv_index_ops logindex_ops = {
	.head = {
		.abi_version = MKV_ABI_VERSION,
		.kind = MKV_PLUGIN_INDEX,
		.name = "logindex",
		.handle_size = sizeof(struct logindex),
	},
	.open = li_open,
	.close = li_close,
	.get = li_get,
	.put = li_put,
	.del = li_del,
	.batch = li_batch,
	.cursor_open = li_cursor_open,
	.cursor_next = li_cursor_next,
	.cursor_close = li_cursor_close,
};

/* The one symbol mkv looks for. */
const struct mkv_plugin_head *mkv_plugin_entry(void)
{
	return &logindex_ops.head;
}
