/*
 * mkv/index.h - the index interface: an ordered map from keys to small opaque
 * values (mkv's records), with prefix cursors and atomic batches.
 *
 * The core owns the record format and all policy; an index backend only stores
 * bytes. Keys and values are arbitrary bytes (keys never empty). All slots may
 * be called from many threads at once on one handle, except open and close.
 *
 * Every slot returns 0 on success or a negative code from mkv/error.h, after
 * recording a message with host->fail() where it has one worth logging.
 */
#ifndef MKV_INDEX_H
#define MKV_INDEX_H

#include <stddef.h>

#include <mkv/plugin.h>

/* An opaque cursor, allocated and freed by the backend. */
struct mkv_index_cursor;

enum mkv_index_op_type {
	MKV_INDEX_PUT = 1,
	MKV_INDEX_DELETE = 2,
};

/* One write of a batch. For DELETE, value and value_len are ignored. */
struct mkv_index_op {
	enum mkv_index_op_type type;
	const void *key;
	size_t key_len;
	const void *value;
	size_t value_len;
};

struct mkv_index_ops {
	struct mkv_plugin_head head; /* kind MKV_PLUGIN_INDEX */

	/*
	 * open - open (creating if absent) the index at location (a directory
	 * path for the bundled backends). h points to head.handle_size zeroed
	 * bytes owned by the core. host and opts stay valid until close().
	 * Fails with MKV_E_BUSY when another process holds the index,
	 * MKV_E_INVAL for a bad option, MKV_E_IO otherwise.
	 */
	int (*open)(void *h, const char *location, const struct mkv_host *host,
		    const struct mkv_options *opts);

	/* close - release everything open() acquired. Never fails. */
	void (*close)(void *h);

	/*
	 * get - copy the value of key into buf (at most cap bytes) and store its
	 * full length in *len, like snprintf: when *len > cap the caller retries
	 * with a larger buffer. Fails with MKV_E_NOTFOUND when the key is absent.
	 */
	int (*get)(void *h, const void *key, size_t key_len, void *buf,
		   size_t cap, size_t *len);

	/* put - store value under key, replacing any previous value. */
	int (*put)(void *h, const void *key, size_t key_len, const void *value,
		   size_t value_len);

	/* del - remove key. Removing an absent key succeeds. */
	int (*del)(void *h, const void *key, size_t key_len);

	/*
	 * batch - apply n writes atomically, in order: after a crash either all
	 * or none of them are visible.
	 */
	int (*batch)(void *h, const struct mkv_index_op *ops, size_t n);

	/*
	 * cursor_open - a cursor over the keys that start with prefix (all keys
	 * when prefix_len is 0), in ascending bytewise order, beginning at the
	 * first such key >= start (at the first key of the prefix when start_len
	 * is 0). On success *out is owned by the caller until cursor_close().
	 */
	int (*cursor_open)(void *h, const void *prefix, size_t prefix_len,
			   const void *start, size_t start_len,
			   struct mkv_index_cursor **out);

	/*
	 * cursor_next - step to the next entry and expose it. The key and value
	 * are owned by the cursor and stay valid until the next call on it.
	 * Fails with MKV_E_NOTFOUND past the last entry of the prefix.
	 */
	int (*cursor_next)(struct mkv_index_cursor *c, const void **key,
			   size_t *key_len, const void **value,
			   size_t *value_len);

	/* cursor_close - free the cursor. Never fails. */
	void (*cursor_close)(struct mkv_index_cursor *c);
};

#endif
