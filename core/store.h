/*
 * store.h - mkv's request logic, independent of HTTP: what GET, PUT, DELETE,
 * UNLINK and the listings do to the index and the volumes, and the answer
 * (status and headers) each gives. server.c only translates HTTP to these
 * calls; the unit tests drive them against in-memory fake plugins.
 */
#ifndef MKV_STORE_H
#define MKV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mkv/mkv.h>

#include "checks.h"
#include "config.h"
#include "hash.h"
#include "keylock.h"
#include "plugin.h"
#include "record.h"
#include "replicate.h"

struct mkv_store {
	const struct mkv_config *cfg; /* borrowed */
	struct mkv_index *index;      /* borrowed, open */
	struct mkv_volume *volume;    /* borrowed, open */
	struct mkv_keylock *locks;    /* owned */
	struct mkv_checks *checks;    /* owned: replica checks in flight */
};

/* The answer to one request. Everything it points to is owned by it. */
struct mkv_reply {
	int status;                  /* HTTP status */
	char location[MKV_URL_MAX];  /* Location for a 302, "" otherwise */
	char md5[33];                /* Content-Md5 (hex), "" when none */
	char *key_volumes;           /* Key-Volumes, NULL when none */
	const char *key_balance;     /* Key-Balance: "balanced" or "unbalanced", or NULL */
	int fd;                      /* 200 served by the master: the file, else -1 */
	uint64_t size;               /* its size */
	char *body;                  /* a JSON listing or a one-line error, NULL for none */
	size_t body_len;
	const char *content_type;    /* of body */
};

/* Empty r (status 0, fd -1). */
void mkv_reply_init(struct mkv_reply *r);
/* Free what r owns (closing fd) and empty it. */
void mkv_reply_free(struct mkv_reply *r);

/* Answer status with a one-line text body saying why. */
void mkv_reply_error(struct mkv_reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns 0 or MKV_E_NOMEM. index and volume must stay open until mkv_store_free(). */
int mkv_store_init(struct mkv_store *s, const struct mkv_config *cfg,
		   struct mkv_index *index, struct mkv_volume *volume);
void mkv_store_free(struct mkv_store *s);

/* A GET between its two halves. */
struct mkv_get {
	struct mkv_record rec;
	char path[MKV_PATH_MAX];
	/* mkv_store_get_locate_async() only: */
	struct mkv_store *s;
	struct mkv_reply *r;
	void (*done)(void *ctx);
	void *ctx;
	size_t *order;  /* the replicas' indexes in the order they are tried */
	size_t next;    /* in order: the next to try */
	struct mkv_check check; /* the replica being asked */
};

/*
 * A GET or HEAD of key answers 302 to a replica that answered stat()
 * (replicas tried in random order), 200 with fd for a backend that serves
 * files itself, 404 when missing, unlinked or on no live replica, 302 to the
 * fallback when set. It comes in two halves, so that only the second waits.
 *
 * mkv_store_get_lookup - the half of a GET that reads the index and does not
 * wait on volumes. Returns false with the whole answer in r (404, the
 * fallback's 302, 500), or true for a live key, with its headers in r and
 * what mkv_store_get_locate() needs in g.
 */
bool mkv_store_get_lookup(struct mkv_store *s, const void *key, size_t key_len,
			  struct mkv_get *g, struct mkv_reply *r);

/* mkv_store_get_locate - the half that asks the replicas; frees what g holds. */
void mkv_store_get_locate(struct mkv_store *s, struct mkv_get *g, struct mkv_reply *r);

/* Whether the volume backend can ask replicas without a thread waiting (stat_async). */
bool mkv_store_locates_async(const struct mkv_store *s);

/*
 * mkv_store_get_locate_async - mkv_store_get_locate() without waiting, when
 * mkv_store_locates_async(): r gets the answer, then done(ctx) is called,
 * from a volume backend's thread or before this returns. g and r must stay
 * valid until then; g's hold is freed by then. GETs that ask the same replica
 * about the same key while its check is in flight share that check (checks.h).
 */
void mkv_store_get_locate_async(struct mkv_store *s, struct mkv_get *g, struct mkv_reply *r,
				void (*done)(void *ctx), void *ctx);

/* DELETE (unlink false) or UNLINK (unlink true) of key: 204, 403, 404, 409, 500. */
void mkv_store_delete(struct mkv_store *s, const void *key, size_t key_len,
		      bool unlink, struct mkv_reply *r);

enum mkv_list_kind { MKV_LIST_LIVE, MKV_LIST_UNLINKED };

/* The most keys a listing without a limit returns before answering 413. */
#define MKV_LIST_MAX 1000000

/*
 * ?list or ?unlinked under prefix: 200 with {"next":"...","keys":[...]} in
 * body, resuming at start (start_len 0 for none), at most limit keys when
 * limit > 0; 413 when over MKV_LIST_MAX keys without a limit.
 */
void mkv_store_list(struct mkv_store *s, const void *prefix, size_t prefix_len,
		    enum mkv_list_kind kind, const void *start, size_t start_len,
		    long limit, struct mkv_reply *r);

/* The decoded record of key. Returns 0, MKV_E_NOTFOUND, or the index's error. */
int mkv_store_load_record(struct mkv_store *s, const void *key, size_t len,
			  struct mkv_record *rec);

/* Write rec as the record of key. Returns 0 or the index's error. */
int mkv_store_save_record(struct mkv_store *s, const void *key, size_t len,
			  const struct mkv_record *rec);

/*
 * Remove path from every replica of the list. Returns 0 (absent files are
 * fine), or the first failure after trying them all (each one logged).
 */
int mkv_store_remove_copies(struct mkv_store *s, const char *path,
			    const struct mkv_strlist *replicas);

/* A PUT in progress: its body streams to every replica at once. */
struct mkv_put;

/*
 * mkv_store_put_begin - start writing a value of length bytes to key. On
 * success returns the PUT and leaves r->status 0: feed the body with
 * mkv_store_put_offer() and end with mkv_store_put_end_async() or
 * mkv_store_put_end(). Otherwise returns
 * NULL with the final answer in r: 411 for length 0, 414 for a key too long
 * for a volume file name, 409 when another write holds the key, 403 when the
 * key exists, 500 when the index fails.
 */
struct mkv_put *mkv_store_put_begin(struct mkv_store *s, const void *key,
				    size_t key_len, uint64_t length,
				    struct mkv_reply *r);

/*
 * Pass the next len bytes of the body on, without blocking. Returns the
 * bytes taken, fewer than len when the replicas are a full buffer behind
 * (waiter is then paused, and woken when there is room), or a negative code
 * once the PUT has failed (the caller drops the rest of the body and ends it).
 */
ssize_t mkv_store_put_offer(struct mkv_put *p, const void *data, size_t len,
			    const struct mkv_fanout_waiter *waiter);

/*
 * mkv_store_put_end - finish the PUT and free p. complete is false when the
 * client went away before sending the whole body. Answers 201 when every
 * replica holds the value and the record is live; otherwise the partial
 * copies are removed, the record is put back as it was, and the answer is
 * 400 for an incomplete body or 5xx for a failed replica or index.
 */
void mkv_store_put_end(struct mkv_put *p, bool complete, struct mkv_reply *r);

/*
 * mkv_store_put_end_async - mkv_store_put_end() for a complete body, run by
 * the last replica writer when it finishes, then done(ctx) from that thread:
 * nobody waits for the writers. Returns false, doing nothing, when they have
 * all finished already or the body is not complete (call mkv_store_put_end()). r must stay valid until done.
 */
bool mkv_store_put_end_async(struct mkv_put *p, struct mkv_reply *r,
			     void (*done)(void *ctx), void *ctx);

#endif
