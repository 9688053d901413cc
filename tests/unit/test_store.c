/*
 * test_store.c - the core's request logic (core/store.h) as a client sees it:
 * what GET, PUT, DELETE, UNLINK and the listings answer, and what they leave
 * in the index and on the volumes. The backends are the in-memory fakes of
 * fake_plugins.h, so a test can take a replica down, make a write fail part
 * way, read back the exact bytes of a record, or look at every file.
 *
 * Each test starts from an empty world: three volumes v1, v2, v3 and a
 * configuration chosen by its setup function (replicas, subvolumes, protect,
 * fallback, md5sum). Expected records and placements are computed with the
 * same hashing the Go minikeyvalue uses (core/hash.h), never hard-coded.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "fake_plugins.h"
#include "hash.h"
#include "plugin.h"
#include "replicate.h"
#include "store.h"
#include "strlist.h"

/* ---- the world a test runs in ---------------------------------------------- */

struct world {
	struct mkv_config cfg;
	struct mkv_index ix;
	struct mkv_volume vol;
	struct mkv_store st;
};

struct settings {
	int replicas;
	int subvolumes;
	bool protect;
	const char *fallback;
	bool md5sum;
	bool strict;
	const struct mkv_volume_ops *volume_ops; /* fake_volume_ops when NULL */
};

static int world_new(void **state, struct settings set)
{
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	assert_int_equal(mkv_strlist_split(&w->cfg.volumes, "v1,v2,v3", ','), 0);
	w->cfg.command = MKV_CMD_SERVER;
	w->cfg.port = 3000;
	w->cfg.replicas = set.replicas;
	w->cfg.subvolumes = set.subvolumes;
	w->cfg.protect = set.protect;
	w->cfg.fallback = set.fallback ? strdup(set.fallback) : NULL;
	w->cfg.md5sum = set.md5sum;
	w->cfg.strict = set.strict;
	w->cfg.voltimeout_ms = 1000;
	assert_int_equal(mkv_index_open(&w->ix, &fake_index_ops, "memory", NULL), 0);
	assert_int_equal(mkv_volume_open(&w->vol, set.volume_ops ? set.volume_ops : &fake_volume_ops,
					 1000, NULL), 0);
	assert_int_equal(mkv_store_init(&w->st, &w->cfg, &w->ix, &w->vol), 0);
	*state = w;
	return 0;
}

static int world_free(void **state)
{
	struct world *w = *state;

	mkv_store_free(&w->st);
	mkv_volume_close(&w->vol);
	mkv_index_close(&w->ix);
	mkv_strlist_free(&w->cfg.volumes);
	free(w->cfg.fallback);
	free(w);
	return 0;
}

/* Two replicas of three volumes, no subvolumes: the usual small cluster. */
static int setup_default(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .md5sum = true });
}

/* The same with strict placement: no spare for a replica that is down. */
static int setup_strict(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .md5sum = true, .strict = true });
}

static int setup_three_replicas_ten_subvolumes(void **state)
{
	return world_new(state, (struct settings){ .replicas = 3, .subvolumes = 10,
						   .md5sum = true });
}

static int setup_protect(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .protect = true, .md5sum = true });
}

static int setup_fallback(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .fallback = "fb:3000", .md5sum = true });
}

static int setup_no_md5(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .md5sum = false });
}

/* The usual cluster on a volume backend that checks replicas with stat_async. */
static int setup_async(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .md5sum = true,
						   .volume_ops = &fake_volume_async_ops });
}

/* The same with one replica of each key, so every GET of a key asks the same one. */
static int setup_async_one_replica(void **state)
{
	return world_new(state, (struct settings){ .replicas = 1, .subvolumes = 1,
						   .md5sum = true,
						   .volume_ops = &fake_volume_async_ops });
}

/* The usual cluster on a backend built for ABI 1.0, before stat_async. */
static int setup_abi_1_0(void **state)
{
	return world_new(state, (struct settings){ .replicas = 2, .subvolumes = 1,
						   .md5sum = true,
						   .volume_ops = &fake_volume_abi_1_0_ops });
}

/* ---- expectations, computed as the Go minikeyvalue does --------------------- */

/* The replicas key is placed on, in placement order. The caller frees them. */
static void placement(struct world *w, const char *key, struct mkv_strlist *out)
{
	memset(out, 0, sizeof *out);
	assert_int_equal(mkv_key_replicas(key, strlen(key), &w->cfg.volumes,
					  w->cfg.replicas, w->cfg.subvolumes, out), 0);
	assert_int_equal(out->count, (size_t)w->cfg.replicas);
}

/* The items of l joined by ',', malloc'd. */
static char *joined(const struct mkv_strlist *l)
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < l->count; i++)
		n += strlen(l->items[i]) + 1;
	s = calloc(1, n);
	assert_non_null(s);
	for (size_t i = 0; i < l->count; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, l->items[i]);
	}
	return s;
}

static void md5_hex(const void *data, size_t len, char hex[33])
{
	unsigned char sum[MKV_MD5_LEN];

	mkv_md5(data, len, sum);
	for (int i = 0; i < MKV_MD5_LEN; i++)
		sprintf(hex + 2 * i, "%02x", sum[i]);
}

static void key_path(const char *key, char path[MKV_PATH_MAX])
{
	assert_int_equal(mkv_key_path(key, strlen(key), path), 0);
}

/* The index record a successful PUT of data leaves: HASH + md5 + replicas. */
static char *expected_record(struct world *w, const char *key, const void *data,
			     size_t len)
{
	struct mkv_strlist reps;
	char hex[33], *list, *rec;

	placement(w, key, &reps);
	list = joined(&reps);
	md5_hex(data, len, hex);
	assert_true(asprintf(&rec, "%s%s%s", w->cfg.md5sum ? "HASH" : "",
			     w->cfg.md5sum ? hex : "", list) > 0);
	free(list);
	mkv_strlist_free(&reps);
	return rec;
}

/* The raw record of key (malloc'd), or NULL when the index has none. */
static char *record_of(struct world *w, const char *key)
{
	return fake_index_value(&w->ix, key, strlen(key), NULL);
}

static void assert_record(struct world *w, const char *key, const char *want)
{
	char *got = record_of(w, key);

	if (!got)
		fail_msg("no record for %s, expected \"%s\"", key, want);
	assert_string_equal(got, want);
	free(got);
}

static void assert_no_record(struct world *w, const char *key)
{
	char *got = record_of(w, key);

	if (got)
		fail_msg("record for %s is \"%s\", expected none", key, got);
}

/* The record of key is absent or marked deleted: the key is not live. */
static void assert_not_live(struct world *w, const char *key)
{
	char *got = record_of(w, key);

	if (got && strncmp(got, "DELETED", 7) != 0)
		fail_msg("record for %s is live: \"%s\"", key, got);
	free(got);
}

/* Deterministic bytes that differ at every offset and between seeds. */
static unsigned char *pattern(size_t len, uint32_t seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* Every replica of key holds exactly len bytes of data. */
static void assert_on_every_replica(struct world *w, const char *key,
				    const void *data, size_t len)
{
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX];

	placement(w, key, &reps);
	key_path(key, path);
	for (size_t i = 0; i < reps.count; i++) {
		size_t got_len = 0;
		void *got = fake_volume_contents(&w->vol, reps.items[i], path, &got_len);

		if (!got)
			fail_msg("%s%s is missing", reps.items[i], path);
		assert_int_equal(got_len, len);
		if (memcmp(got, data, len) != 0)
			fail_msg("%s%s differs from what was PUT", reps.items[i], path);
		free(got);
	}
	mkv_strlist_free(&reps);
}

/* ---- requests ---------------------------------------------------------------- */

/*
 * The server's side of a PUT, played by the test's thread: a body fed
 * without blocking (a full buffer pauses it until the replicas wake it), and
 * an end that the last replica writer signals.
 */
struct signal {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int raised;
};

#define SIGNAL_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }

static void raise_signal(void *ctx)
{
	struct signal *sig = ctx;

	pthread_mutex_lock(&sig->mu);
	sig->raised++;
	pthread_cond_signal(&sig->cv);
	pthread_mutex_unlock(&sig->mu);
}

/* Wait until sig has been raised n times. */
static void await_signal(struct signal *sig, int n)
{
	pthread_mutex_lock(&sig->mu);
	while (sig->raised < n)
		pthread_cond_wait(&sig->cv, &sig->mu);
	pthread_mutex_unlock(&sig->mu);
}

static int pauses; /* how often feed() was paused, over the test */

static void count_pause(void *ctx)
{
	(void)ctx;
	pauses++;
}

/* Feed len bytes of body as the server does. Returns 0, or the PUT's failure. */
static int feed(struct mkv_put *p, const void *data, size_t len)
{
	struct signal woken = SIGNAL_INIT;
	const struct mkv_fanout_waiter waiter = { count_pause, raise_signal, &woken };
	const char *at = data;

	while (len > 0) {
		ssize_t n = mkv_store_put_offer(p, at, len, &waiter);

		if (n < 0)
			return (int)n;
		at += n;
		len -= (size_t)n;
		if (len > 0)
			await_signal(&woken, woken.raised + 1);
	}
	return 0;
}

/* End a PUT whose body is complete, as the server does; the answer goes to r. */
static void finish(struct mkv_put *p, struct mkv_reply *r)
{
	struct signal ended = SIGNAL_INIT;

	if (mkv_store_put_end_async(p, r, raise_signal, &ended))
		await_signal(&ended, 1);
	else
		mkv_store_put_end(p, true, r);
}

/* PUT len bytes of data in writes of at most chunk bytes; the status. */
static int put_chunked(struct world *w, const char *key, const void *data,
		       size_t len, size_t chunk)
{
	struct mkv_reply r;
	struct mkv_put *p;
	int status;

	mkv_reply_init(&r);
	p = mkv_store_put_begin(&w->st, key, strlen(key), len, &r);
	if (p) {
		assert_int_equal(r.status, 0);
		for (size_t off = 0; off < len; off += chunk)
			feed(p, (const char *)data + off, len - off < chunk ? len - off : chunk);
		finish(p, &r);
	}
	status = r.status;
	mkv_reply_free(&r);
	return status;
}

static int put(struct world *w, const char *key, const char *value)
{
	return put_chunked(w, key, value, strlen(value), 4096);
}

/*
 * GET key into r (initialised here; the caller frees it) as the server does:
 * asynchronously when the volume backend can, checking that the answer
 * comes exactly once.
 */
static void get(struct world *w, const char *key, struct mkv_reply *r)
{
	struct signal answered = SIGNAL_INIT;
	struct mkv_get g;

	mkv_reply_init(r);
	if (!mkv_store_get_lookup(&w->st, key, strlen(key), &g, r))
		return;
	if (!mkv_store_locates_async(&w->st)) {
		mkv_store_get_locate(&w->st, &g, r);
		return;
	}
	mkv_store_get_locate_async(&w->st, &g, r, raise_signal, &answered);
	await_signal(&answered, 1);
	usleep(1000); /* a second answer would come now */
	pthread_mutex_lock(&answered.mu);
	assert_int_equal(answered.raised, 1);
	pthread_mutex_unlock(&answered.mu);
}

static int get_status(struct world *w, const char *key)
{
	struct mkv_reply r;
	int status;

	get(w, key, &r);
	status = r.status;
	mkv_reply_free(&r);
	return status;
}

static int delete_status(struct world *w, const char *key, bool unlink)
{
	struct mkv_reply r;
	int status;

	mkv_reply_init(&r);
	mkv_store_delete(&w->st, key, strlen(key), unlink, &r);
	status = r.status;
	mkv_reply_free(&r);
	return status;
}

static void list(struct world *w, const char *prefix, enum mkv_list_kind kind,
		 const char *start, long limit, struct mkv_reply *r)
{
	mkv_reply_init(r);
	mkv_store_list(&w->st, prefix, strlen(prefix), kind, start ? start : "",
		       start ? strlen(start) : 0, limit, r);
}

/* The listing is 200 with exactly this body. */
static void assert_list_body(struct world *w, const char *prefix,
			     enum mkv_list_kind kind, const char *want)
{
	struct mkv_reply r;

	list(w, prefix, kind, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(r.body);
	assert_int_equal(r.body_len, strlen(want));
	assert_memory_equal(r.body, want, r.body_len);
	mkv_reply_free(&r);
}

/*
 * The listing is 200 with JSON whose next is want_next and whose keys are the
 * NULL-terminated want_keys, in order.
 */
static void assert_listing(const struct mkv_reply *r, const char *want_next,
			   const char *const *want_keys)
{
	json_error_t jerr;
	json_t *doc, *keys;
	size_t n = 0;

	assert_int_equal(r->status, 200);
	assert_non_null(r->body);
	doc = json_loadb(r->body, r->body_len, 0, &jerr);
	if (!doc)
		fail_msg("listing is not JSON (%s): %.*s", jerr.text, (int)r->body_len,
			 r->body);
	assert_true(json_is_string(json_object_get(doc, "next")));
	assert_string_equal(json_string_value(json_object_get(doc, "next")), want_next);
	keys = json_object_get(doc, "keys");
	assert_true(json_is_array(keys));
	while (want_keys[n])
		n++;
	if (json_array_size(keys) != n)
		fail_msg("listing has %zu keys, expected %zu: %.*s", json_array_size(keys),
			 n, (int)r->body_len, r->body);
	for (size_t i = 0; i < n; i++) {
		json_t *k = json_array_get(keys, i);

		assert_true(json_is_string(k));
		assert_string_equal(json_string_value(k), want_keys[i]);
	}
	json_decref(doc);
}

/* The list of kind under prefix is exactly the NULL-terminated keys, next "". */
static void assert_lists(struct world *w, const char *prefix,
			 enum mkv_list_kind kind, const char *const *keys)
{
	struct mkv_reply r;

	list(w, prefix, kind, NULL, 0, &r);
	assert_listing(&r, "", keys);
	mkv_reply_free(&r);
}

#define KEYS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_KEYS ((const char *const[]){ NULL })

/* ---- PUT ------------------------------------------------------------------- */

static void test_put_writes_every_replica_and_records_hash_and_replicas(void **state)
{
	struct world *w = *state;
	size_t len = 1000;
	unsigned char *data = pattern(len, 1);
	char *want = expected_record(w, "/photos/cat.jpg", data, len);

	/* Odd-sized writes: the value is reassembled from any chunking. */
	assert_int_equal(put_chunked(w, "/photos/cat.jpg", data, len, 7), 201);
	assert_record(w, "/photos/cat.jpg", want);
	assert_on_every_replica(w, "/photos/cat.jpg", data, len);
	assert_int_equal(fake_volume_count(&w->vol), 2);
	free(want);
	free(data);
}

static void test_put_places_replicas_on_subvolumes(void **state)
{
	struct world *w = *state;
	const char *value = "three copies on subvolumes";
	char *want = expected_record(w, "/sv/key", value, strlen(value));

	assert_int_equal(put(w, "/sv/key", value), 201);
	assert_record(w, "/sv/key", want);
	assert_non_null(strstr(want, "/sv0"));
	assert_on_every_replica(w, "/sv/key", value, strlen(value));
	assert_int_equal(fake_volume_count(&w->vol), 3);
	free(want);
}

static void test_put_of_existing_live_key_is_forbidden_and_keeps_value(void **state)
{
	struct world *w = *state;
	char *want = expected_record(w, "/k", "first", 5);
	unsigned puts;

	assert_int_equal(put(w, "/k", "first"), 201);
	puts = fake_volume_puts(&w->vol);
	assert_int_equal(put(w, "/k", "second value"), 403);
	assert_record(w, "/k", want);
	assert_on_every_replica(w, "/k", "first", 5);
	assert_int_equal(fake_volume_puts(&w->vol), puts);
	free(want);
}

static void test_put_of_empty_value_is_length_required(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	mkv_reply_init(&r);
	assert_null(mkv_store_put_begin(&w->st, "/empty", 6, 0, &r));
	assert_int_equal(r.status, 411);
	mkv_reply_free(&r);
	assert_int_equal(fake_index_count(&w->ix), 0);
	assert_int_equal(fake_volume_puts(&w->vol), 0);
}

static void test_put_of_key_too_long_for_a_file_name_is_uri_too_long(void **state)
{
	struct world *w = *state;
	char key[191];

	/* 190 bytes encode to 256 base64 characters, one more than a file name. */
	memset(key, 'k', sizeof key - 1);
	key[0] = '/';
	key[sizeof key - 1] = '\0';
	assert_int_equal(put(w, key, "value"), 414);
	assert_int_equal(fake_index_count(&w->ix), 0);
	assert_int_equal(fake_volume_count(&w->vol), 0);
	assert_int_equal(fake_volume_puts(&w->vol), 0);
}

static void test_put_of_longest_key_that_fits_a_file_name_succeeds(void **state)
{
	struct world *w = *state;
	char key[190];

	/* 189 bytes encode to 252 base64 characters. */
	memset(key, 'k', sizeof key - 1);
	key[0] = '/';
	key[sizeof key - 1] = '\0';
	assert_int_equal(put(w, key, "value"), 201);
	assert_on_every_replica(w, key, "value", 5);
	assert_int_equal(get_status(w, key), 302);
}

static void test_second_put_of_key_in_progress_conflicts(void **state)
{
	struct world *w = *state;
	struct mkv_reply r1, r2;
	struct mkv_put *first, *second;

	mkv_reply_init(&r1);
	mkv_reply_init(&r2);
	first = mkv_store_put_begin(&w->st, "/busy", 5, 10, &r1);
	assert_non_null(first);
	assert_int_equal(feed(first, "01234", 5), 0);

	second = mkv_store_put_begin(&w->st, "/busy", 5, 3, &r2);
	assert_null(second);
	assert_int_equal(r2.status, 409);

	assert_int_equal(feed(first, "56789", 5), 0);
	finish(first, &r1);
	assert_int_equal(r1.status, 201);
	assert_on_every_replica(w, "/busy", "0123456789", 10);
	mkv_reply_free(&r1);
	mkv_reply_free(&r2);
}

static void test_delete_of_key_with_put_in_progress_conflicts(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;
	struct mkv_put *p;

	mkv_reply_init(&r);
	p = mkv_store_put_begin(&w->st, "/busy", 5, 4, &r);
	assert_non_null(p);
	assert_int_equal(delete_status(w, "/busy", false), 409);
	assert_int_equal(delete_status(w, "/busy", true), 409);
	assert_int_equal(feed(p, "data", 4), 0);
	finish(p, &r);
	assert_int_equal(r.status, 201);
	mkv_reply_free(&r);
	assert_int_equal(delete_status(w, "/busy", false), 204);
}

static void test_get_and_list_during_put_do_not_show_the_key(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;
	struct mkv_put *p;

	assert_int_equal(put(w, "/w/done", "x"), 201);
	mkv_reply_init(&r);
	p = mkv_store_put_begin(&w->st, "/w/pending", 10, 4, &r);
	assert_non_null(p);
	assert_int_equal(feed(p, "da", 2), 0);

	assert_int_equal(get_status(w, "/w/pending"), 404);
	assert_lists(w, "/w/", MKV_LIST_LIVE, KEYS("/w/done"));

	assert_int_equal(feed(p, "ta", 2), 0);
	finish(p, &r);
	assert_int_equal(r.status, 201);
	mkv_reply_free(&r);
	assert_lists(w, "/w/", MKV_LIST_LIVE, KEYS("/w/done", "/w/pending"));
}

static void test_strict_put_with_replica_down_leaves_no_live_record(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	int status;

	placement(w, "/down", &reps);
	fake_volume_set_down(&w->vol, reps.items[1], true);

	status = put(w, "/down", "value");
	assert_in_range(status, 500, 599);
	assert_not_live(w, "/down");
	assert_int_equal(get_status(w, "/down"), 404);
	assert_lists(w, "/", MKV_LIST_LIVE, NO_KEYS);
	/* The copy the live replica got is removed again. */
	assert_int_equal(fake_volume_count(&w->vol), 0);

	fake_volume_set_down(&w->vol, reps.items[1], false);
	assert_int_equal(put(w, "/down", "value"), 201);
	assert_on_every_replica(w, "/down", "value", 5);
	assert_int_equal(get_status(w, "/down"), 302);
	mkv_strlist_free(&reps);
}

static void test_strict_put_with_first_replica_down_leaves_no_files(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	size_t len = 300000;
	unsigned char *data = pattern(len, 2);

	placement(w, "/first-down", &reps);
	fake_volume_set_down(&w->vol, reps.items[0], true);
	assert_in_range(put_chunked(w, "/first-down", data, len, 65536), 500, 599);
	assert_not_live(w, "/first-down");
	assert_int_equal(fake_volume_count(&w->vol), 0);
	mkv_strlist_free(&reps);
	free(data);
}

static void test_put_failing_part_way_on_one_replica_leaves_no_files(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	size_t len = 200000;
	unsigned char *data = pattern(len, 3);

	placement(w, "/flaky", &reps);
	fake_volume_fail_put(&w->vol, reps.items[0], 100000);
	assert_in_range(put_chunked(w, "/flaky", data, len, 65536), 500, 599);
	assert_not_live(w, "/flaky");
	assert_int_equal(get_status(w, "/flaky"), 404);
	assert_int_equal(fake_volume_count(&w->vol), 0);

	fake_volume_fail_put(&w->vol, reps.items[0], -1);
	assert_int_equal(put_chunked(w, "/flaky", data, len, 65536), 201);
	assert_on_every_replica(w, "/flaky", data, len);
	mkv_strlist_free(&reps);
	free(data);
}

/* A dead replica must not hold the healthy one back once the buffer is full. */
static void test_strict_put_larger_than_buffer_with_replica_down_fails_without_hanging(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	size_t len = MKV_FANOUT_BUFFER + MKV_FANOUT_BUFFER / 2;
	unsigned char *data = pattern(len, 4);

	placement(w, "/big-down", &reps);
	fake_volume_set_down(&w->vol, reps.items[0], true);
	assert_in_range(put_chunked(w, "/big-down", data, len, 65536), 500, 599);
	assert_not_live(w, "/big-down");
	assert_int_equal(fake_volume_count(&w->vol), 0);
	mkv_strlist_free(&reps);
	free(data);
}

/* The volume of the three that is not in reps (two replicas of v1,v2,v3). */
static const char *third_volume(struct world *w, const struct mkv_strlist *reps)
{
	for (size_t i = 0; i < w->cfg.volumes.count; i++)
		if (strcmp(w->cfg.volumes.items[i], reps->items[0]) != 0 &&
		    strcmp(w->cfg.volumes.items[i], reps->items[1]) != 0)
			return w->cfg.volumes.items[i];
	fail_msg("no third volume");
	return NULL;
}

static void test_put_with_replica_down_writes_the_next_live_volume(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	struct mkv_reply r;
	char path[MKV_PATH_MAX], hex[33], *want;
	const char *spare;
	size_t len = 0;
	void *got;

	placement(w, "/spare", &reps);
	spare = third_volume(w, &reps);
	fake_volume_set_down(&w->vol, reps.items[1], true);

	assert_int_equal(put(w, "/spare", "value"), 201);
	/* The record names where the copies really are, the spare in the dead one's place. */
	md5_hex("value", 5, hex);
	assert_true(asprintf(&want, "HASH%s%s,%s", hex, reps.items[0], spare) > 0);
	assert_record(w, "/spare", want);
	key_path("/spare", path);
	got = fake_volume_contents(&w->vol, spare, path, &len);
	assert_non_null(got);
	assert_memory_equal(got, "value", 5);
	free(got);
	assert_false(fake_volume_exists(&w->vol, reps.items[1], path));

	get(w, "/spare", &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.key_balance, "unbalanced");
	mkv_reply_free(&r);
	free(want);
	mkv_strlist_free(&reps);
}

static void test_large_put_with_first_replica_down_arrives_intact_on_the_spare(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	size_t len = 3 * MKV_FANOUT_BUFFER, got_len = 0;
	unsigned char *data = pattern(len, 9);
	char path[MKV_PATH_MAX];
	const char *spare;
	void *got;

	placement(w, "/big-spare", &reps);
	spare = third_volume(w, &reps);
	fake_volume_set_down(&w->vol, reps.items[0], true);
	assert_int_equal(put_chunked(w, "/big-spare", data, len, 65536), 201);
	key_path("/big-spare", path);
	got = fake_volume_contents(&w->vol, spare, path, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	free(got);
	free(data);
	mkv_strlist_free(&reps);
}

static void test_put_with_no_live_spare_leaves_no_live_record(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;

	placement(w, "/no-spare", &reps);
	fake_volume_set_down(&w->vol, reps.items[1], true);
	fake_volume_set_down(&w->vol, third_volume(w, &reps), true);
	assert_in_range(put(w, "/no-spare", "value"), 500, 599);
	assert_not_live(w, "/no-spare");
	assert_int_equal(fake_volume_count(&w->vol), 0);
	mkv_strlist_free(&reps);
}

static void test_aborted_put_leaves_no_live_record_and_can_be_retried(void **state)
{
	struct world *w = *state;
	size_t len = 100000;
	unsigned char *data = pattern(len, 5);
	struct mkv_reply r;
	struct mkv_put *p;

	mkv_reply_init(&r);
	p = mkv_store_put_begin(&w->st, "/gone", 5, len, &r);
	assert_non_null(p);
	feed(p, data, len / 2);
	mkv_store_put_end(p, false, &r);
	assert_int_not_equal(r.status, 201);
	assert_int_not_equal(r.status, 0);
	mkv_reply_free(&r);

	assert_not_live(w, "/gone");
	assert_int_equal(get_status(w, "/gone"), 404);
	assert_lists(w, "/", MKV_LIST_LIVE, NO_KEYS);
	assert_int_equal(fake_volume_count(&w->vol), 0);

	assert_int_equal(put_chunked(w, "/gone", data, len, 65536), 201);
	assert_on_every_replica(w, "/gone", data, len);
	free(data);
}

static void test_put_ended_early_as_complete_is_not_written(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;
	struct mkv_put *p;

	/* The caller claims completion with 4 of 8 bytes: the replicas see a short value. */
	mkv_reply_init(&r);
	p = mkv_store_put_begin(&w->st, "/short", 6, 8, &r);
	assert_non_null(p);
	feed(p, "half", 4);
	mkv_store_put_end(p, true, &r);
	assert_int_not_equal(r.status, 201);
	mkv_reply_free(&r);
	assert_not_live(w, "/short");
	assert_int_equal(fake_volume_count(&w->vol), 0);
}

static void test_put_of_unlinked_key_writes_it_again(void **state)
{
	struct world *w = *state;
	char *want = expected_record(w, "/again", "new", 3);
	struct mkv_reply r;

	assert_int_equal(put(w, "/again", "old"), 201);
	assert_int_equal(delete_status(w, "/again", true), 204);
	assert_int_equal(put(w, "/again", "new"), 201);
	assert_record(w, "/again", want);
	assert_on_every_replica(w, "/again", "new", 3);
	get(w, "/again", &r);
	assert_int_equal(r.status, 302);
	mkv_reply_free(&r);
	free(want);
}

static void test_large_value_arrives_intact_on_every_replica(void **state)
{
	struct world *w = *state;
	size_t len = 10u << 20;
	unsigned char *data = pattern(len, 6);
	char *want = expected_record(w, "/big", data, len);

	assert_true(len > MKV_FANOUT_BUFFER);
	assert_int_equal(put_chunked(w, "/big", data, len, 64u << 10), 201);
	assert_record(w, "/big", want);
	assert_on_every_replica(w, "/big", data, len);
	free(want);
	free(data);
}

static void test_put_without_md5sum_records_no_hash(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	struct mkv_reply r;
	char *want;

	placement(w, "/nohash", &reps);
	want = joined(&reps);
	assert_int_equal(put(w, "/nohash", "value"), 201);
	assert_record(w, "/nohash", want);

	get(w, "/nohash", &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.md5, "");
	mkv_reply_free(&r);
	mkv_strlist_free(&reps);
	free(want);
}

struct writer {
	struct world *w;
	int id;
	int failures;
};

static void *write_keys(void *arg)
{
	struct writer *wr = arg;

	for (int i = 0; i < 5; i++) {
		char key[32], value[64];

		snprintf(key, sizeof key, "/t%d/k%d", wr->id, i);
		snprintf(value, sizeof value, "value of %s", key);
		if (put(wr->w, key, value) != 201)
			wr->failures++;
	}
	return NULL;
}

static void test_concurrent_puts_of_different_keys_all_succeed(void **state)
{
	struct world *w = *state;
	struct writer wr[8];
	pthread_t t[8];

	for (int i = 0; i < 8; i++) {
		wr[i] = (struct writer){ .w = w, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, write_keys, &wr[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(wr[i].failures, 0);
	}
	assert_int_equal(fake_index_count(&w->ix), 40);
	assert_int_equal(fake_volume_count(&w->vol), 80);
	for (int i = 0; i < 8; i++) {
		char key[32], value[64];

		snprintf(key, sizeof key, "/t%d/k%d", i, 4);
		snprintf(value, sizeof value, "value of %s", key);
		assert_on_every_replica(w, key, value, strlen(value));
	}
}

static void test_put_of_more_bytes_than_announced_never_records_a_wrong_hash(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX], *rec;
	struct mkv_reply r;
	struct mkv_put *p;

	/* The body runs past the announced length: the extra bytes go nowhere. */
	mkv_reply_init(&r);
	p = mkv_store_put_begin(&w->st, "/over", 5, 4, &r);
	assert_non_null(p);
	feed(p, "datamore", 8);
	finish(p, &r);
	rec = record_of(w, "/over");
	if (r.status == 201) {
		/* Accepted: then the record must describe what the replicas hold. */
		char *want = expected_record(w, "/over", "data", 4);

		assert_non_null(rec);
		assert_string_equal(rec, want);
		assert_on_every_replica(w, "/over", "data", 4);
		free(want);
	} else {
		assert_not_live(w, "/over");
		placement(w, "/over", &reps);
		key_path("/over", path);
		for (size_t i = 0; i < reps.count; i++)
			assert_false(fake_volume_exists(&w->vol, reps.items[i], path));
		mkv_strlist_free(&reps);
	}
	free(rec);
	mkv_reply_free(&r);
}

static void test_large_value_with_one_slow_replica_pauses_the_body_and_arrives_intact(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	size_t len = 3 * MKV_FANOUT_BUFFER + 12345;
	unsigned char *data = pattern(len, 7);

	/*
	 * The slow replica lags a full buffer behind: the body waits for it
	 * (the server's connection is paused), and the ring must not overrun it.
	 */
	placement(w, "/slow", &reps);
	fake_volume_set_delay(&w->vol, reps.items[1], 2000);
	pauses = 0;
	assert_int_equal(put_chunked(w, "/slow", data, len, 100000), 201);
	if (pauses == 0)
		fail_msg("a %zu-byte body never paused for a slow replica", len);
	assert_on_every_replica(w, "/slow", data, len);
	mkv_strlist_free(&reps);
	free(data);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_put_writes_replicas_in_parallel(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	size_t len = 10 * 65536;
	unsigned char *data = pattern(len, 8);
	double started, took;

	/* Each replica takes at least 10 x 50 ms; one after another would be 1.5 s. */
	placement(w, "/parallel", &reps);
	for (size_t i = 0; i < reps.count; i++)
		fake_volume_set_delay(&w->vol, reps.items[i], 50000);
	started = now_seconds();
	assert_int_equal(put_chunked(w, "/parallel", data, len, 65536), 201);
	took = now_seconds() - started;
	if (took > 1.0)
		fail_msg("PUT to 3 replicas took %.2f s: the replicas were not written at once",
			 took);
	assert_on_every_replica(w, "/parallel", data, len);
	mkv_strlist_free(&reps);
	free(data);
}

static void test_put_with_index_failing_answers_500_and_writes_nothing(void **state)
{
	struct world *w = *state;

	fake_index_set_failing(&w->ix, true);
	assert_int_equal(put(w, "/ix", "value"), 500);
	assert_int_equal(fake_volume_puts(&w->vol), 0);
	fake_index_set_failing(&w->ix, false);
	assert_int_equal(fake_index_count(&w->ix), 0);
	/* The key was not left locked. */
	assert_int_equal(put(w, "/ix", "value"), 201);
}

static void test_failed_put_over_unlinked_key_leaves_it_unlinked(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;

	placement(w, "/re", &reps);
	assert_int_equal(put(w, "/re", "old"), 201);
	assert_int_equal(delete_status(w, "/re", true), 204);
	fake_volume_fail_put(&w->vol, reps.items[0], 1);
	assert_in_range(put(w, "/re", "new value"), 500, 599);
	assert_not_live(w, "/re");
	assert_int_equal(get_status(w, "/re"), 404);
	assert_lists(w, "/", MKV_LIST_LIVE, NO_KEYS);
	assert_lists(w, "/", MKV_LIST_UNLINKED, KEYS("/re"));
	mkv_strlist_free(&reps);
}

/* ---- GET ------------------------------------------------------------------- */

/* Whether url is "http://" + one of reps + path. */
static bool is_replica_url(const char *url, const struct mkv_strlist *reps,
			   const char *path, const char *except)
{
	for (size_t i = 0; i < reps->count; i++) {
		char want[MKV_URL_MAX];

		snprintf(want, sizeof want, "http://%s%s", reps->items[i], path);
		if (strcmp(url, want) == 0)
			return !except || strcmp(reps->items[i], except) != 0;
	}
	return false;
}

static void test_get_of_live_key_redirects_to_a_replica(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX], hex[33], *volumes;
	struct mkv_reply r;

	assert_int_equal(put(w, "/hello", "world"), 201);
	placement(w, "/hello", &reps);
	key_path("/hello", path);
	md5_hex("world", 5, hex);
	volumes = joined(&reps);

	get(w, "/hello", &r);
	assert_int_equal(r.status, 302);
	if (!is_replica_url(r.location, &reps, path, NULL))
		fail_msg("Location %s is not a replica of /hello", r.location);
	assert_string_equal(r.md5, hex);
	assert_non_null(r.key_volumes);
	assert_string_equal(r.key_volumes, volumes);
	assert_non_null(r.key_balance);
	assert_string_equal(r.key_balance, "balanced");
	assert_int_equal(r.fd, -1);
	mkv_reply_free(&r);
	mkv_strlist_free(&reps);
	free(volumes);
}

static void test_get_spreads_reads_over_the_replicas(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX], first[MKV_URL_MAX];
	int chose_first = 0;

	assert_int_equal(put(w, "/spread", "value"), 201);
	placement(w, "/spread", &reps);
	key_path("/spread", path);
	snprintf(first, sizeof first, "http://%s%s", reps.items[0], path);
	for (int i = 0; i < 64; i++) {
		struct mkv_reply r;

		get(w, "/spread", &r);
		assert_int_equal(r.status, 302);
		chose_first += strcmp(r.location, first) == 0;
		mkv_reply_free(&r);
	}
	/* Random order: both replicas serve some of 64 reads (fails with p = 2^-63). */
	assert_in_range(chose_first, 1, 63);
	mkv_strlist_free(&reps);
}

static void test_get_with_one_replica_down_redirects_to_a_live_one(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX];

	assert_int_equal(put(w, "/hello", "world"), 201);
	placement(w, "/hello", &reps);
	key_path("/hello", path);
	for (size_t down = 0; down < reps.count; down++) {
		fake_volume_set_down(&w->vol, reps.items[down], true);
		for (int i = 0; i < 20; i++) {
			struct mkv_reply r;

			get(w, "/hello", &r);
			assert_int_equal(r.status, 302);
			if (!is_replica_url(r.location, &reps, path, reps.items[down]))
				fail_msg("Location %s with %s down", r.location,
					 reps.items[down]);
			mkv_reply_free(&r);
		}
		fake_volume_set_down(&w->vol, reps.items[down], false);
	}
	mkv_strlist_free(&reps);
}

static void test_get_with_file_missing_on_one_replica_redirects_to_the_other(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX];

	assert_int_equal(put(w, "/hello", "world"), 201);
	placement(w, "/hello", &reps);
	key_path("/hello", path);
	assert_int_equal(w->vol.ops->del(w->vol.h, reps.items[0], path), 0);
	for (int i = 0; i < 20; i++) {
		struct mkv_reply r;

		get(w, "/hello", &r);
		assert_int_equal(r.status, 302);
		assert_true(is_replica_url(r.location, &reps, path, reps.items[0]));
		mkv_reply_free(&r);
	}
	mkv_strlist_free(&reps);
}

static void test_get_with_all_replicas_down_is_not_found(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	struct mkv_reply r;

	assert_int_equal(put(w, "/hello", "world"), 201);
	placement(w, "/hello", &reps);
	for (size_t i = 0; i < reps.count; i++)
		fake_volume_set_down(&w->vol, reps.items[i], true);
	get(w, "/hello", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.location, "");
	mkv_reply_free(&r);
	mkv_strlist_free(&reps);
}

/* GETs started together, each answered asynchronously into its own reply. */
#define GETS_AT_ONCE 20

struct gets_at_once {
	struct mkv_get g[GETS_AT_ONCE];
	struct mkv_reply r[GETS_AT_ONCE];
	struct signal answered;
};

/* Start GETS_AT_ONCE GETs of key; they end in gs->answered. */
static void start_gets(struct world *w, const char *key, struct gets_at_once *gs)
{
	gs->answered = (struct signal)SIGNAL_INIT;
	for (int i = 0; i < GETS_AT_ONCE; i++) {
		mkv_reply_init(&gs->r[i]);
		assert_true(mkv_store_get_lookup(&w->st, key, strlen(key), &gs->g[i], &gs->r[i]));
		mkv_store_get_locate_async(&w->st, &gs->g[i], &gs->r[i], raise_signal,
					   &gs->answered);
	}
}

/* The number of gs's GETs answered so far. */
static int answered(struct gets_at_once *gs)
{
	int n;

	pthread_mutex_lock(&gs->answered.mu);
	n = gs->answered.raised;
	pthread_mutex_unlock(&gs->answered.mu);
	return n;
}

/* gs's answers, all in: each a 302 to a replica of key other than except. */
static void expect_redirects(struct world *w, struct gets_at_once *gs, const char *key,
			     const char *except)
{
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX];

	placement(w, key, &reps);
	key_path(key, path);
	for (int i = 0; i < GETS_AT_ONCE; i++) {
		assert_int_equal(gs->r[i].status, 302);
		if (!is_replica_url(gs->r[i].location, &reps, path, except))
			fail_msg("GET %s: Location %s", key, gs->r[i].location);
		mkv_reply_free(&gs->r[i]);
	}
	mkv_strlist_free(&reps);
}

static void test_gets_of_one_key_at_once_share_one_replica_check(void **state)
{
	struct world *w = *state;
	struct gets_at_once *hot = calloc(1, sizeof *hot), *cold = calloc(1, sizeof *cold);
	unsigned before, checks;
	int early;

	assert_int_equal(put(w, "/hot", "value"), 201);
	assert_int_equal(put(w, "/cold", "other value"), 201);
	fake_volume_hold_stats(&w->vol, true);
	before = fake_volume_stat_asyncs(&w->vol);
	start_gets(w, "/hot", hot);
	start_gets(w, "/cold", cold);
	checks = fake_volume_stat_asyncs(&w->vol) - before;
	early = answered(hot) + answered(cold);
	fake_volume_hold_stats(&w->vol, false);
	await_signal(&hot->answered, GETS_AT_ONCE); /* before an assertion can end the test */
	await_signal(&cold->answered, GETS_AT_ONCE);
	/* One replica holds each key: one check of each was in flight, for 20 GETs each. */
	assert_int_equal(checks, 2);
	assert_int_equal(early, 0);
	expect_redirects(w, hot, "/hot", NULL);
	expect_redirects(w, cold, "/cold", NULL);

	/* A check is shared while in flight, never kept: the next GET asks again. */
	assert_int_equal(get_status(w, "/hot"), 302);
	assert_int_equal(fake_volume_stat_asyncs(&w->vol), before + 3);
	free(hot);
	free(cold);
}

static void test_shared_check_that_fails_sends_every_get_to_the_next_replica(void **state)
{
	struct world *w = *state;
	struct gets_at_once *gs = calloc(1, sizeof *gs);
	struct mkv_strlist reps;
	unsigned before, checks;

	assert_int_equal(put(w, "/hello", "world"), 201);
	placement(w, "/hello", &reps);
	fake_volume_hold_stats(&w->vol, true);
	before = fake_volume_stat_asyncs(&w->vol);
	start_gets(w, "/hello", gs);
	checks = fake_volume_stat_asyncs(&w->vol) - before;
	fake_volume_set_down(&w->vol, reps.items[0], true);
	fake_volume_hold_stats(&w->vol, false);
	await_signal(&gs->answered, GETS_AT_ONCE);
	/* 20 GETs, each trying one of two replicas first: at most two checks. */
	assert_in_range(checks, 1, 2);
	expect_redirects(w, gs, "/hello", reps.items[0]);
	mkv_strlist_free(&reps);
	free(gs);
}

static void test_backend_built_for_abi_1_0_is_never_asked_for_stat_async(void **state)
{
	struct world *w = *state;

	assert_false(mkv_store_locates_async(&w->st));
	/* The trap in the 1.0 table aborts the test if the core reads past its end. */
	test_get_of_live_key_redirects_to_a_replica(state);
}

static void test_get_of_missing_key_is_not_found(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	get(w, "/missing", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.location, "");
	mkv_reply_free(&r);
}

static void test_get_of_missing_key_with_fallback_redirects_there(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	get(w, "/missing/file.txt", &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.location, "http://fb:3000/missing/file.txt");
	mkv_reply_free(&r);
}

static void test_get_of_unlinked_key_with_fallback_redirects_there(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	assert_int_equal(put(w, "/old", "value"), 201);
	assert_int_equal(delete_status(w, "/old", true), 204);
	get(w, "/old", &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.location, "http://fb:3000/old");
	mkv_reply_free(&r);
}

static void test_get_of_live_key_with_fallback_still_redirects_to_a_replica(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX];
	struct mkv_reply r;

	assert_int_equal(put(w, "/here", "value"), 201);
	placement(w, "/here", &reps);
	key_path("/here", path);
	get(w, "/here", &r);
	assert_int_equal(r.status, 302);
	assert_true(is_replica_url(r.location, &reps, path, NULL));
	mkv_reply_free(&r);
	mkv_strlist_free(&reps);
}

static void test_get_of_misplaced_key_reports_unbalanced(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps, where = { 0 };
	char path[MKV_PATH_MAX], hex[33], *rec;
	const char *other = NULL;
	struct mkv_reply r;

	/* The record names the volume the placement left out, then the first replica. */
	placement(w, "/moved", &reps);
	for (size_t i = 0; i < w->cfg.volumes.count; i++)
		if (strcmp(w->cfg.volumes.items[i], reps.items[0]) != 0 &&
		    strcmp(w->cfg.volumes.items[i], reps.items[1]) != 0)
			other = w->cfg.volumes.items[i];
	assert_non_null(other);
	key_path("/moved", path);
	md5_hex("value", 5, hex);
	assert_true(asprintf(&rec, "HASH%s%s,%s", hex, other, reps.items[0]) > 0);
	fake_index_set(&w->ix, "/moved", 6, rec, strlen(rec));
	fake_volume_add(&w->vol, other, path, "value", 5);
	fake_volume_add(&w->vol, reps.items[0], path, "value", 5);
	assert_int_equal(mkv_strlist_append(&where, other, strlen(other)), 0);
	assert_int_equal(mkv_strlist_append(&where, reps.items[0], strlen(reps.items[0])), 0);

	get(w, "/moved", &r);
	assert_int_equal(r.status, 302);
	assert_true(is_replica_url(r.location, &where, path, NULL));
	assert_string_equal(r.key_balance, "unbalanced");
	assert_string_equal(r.key_volumes, rec + strlen("HASH") + 32);
	assert_string_equal(r.md5, hex);
	mkv_reply_free(&r);
	mkv_strlist_free(&where);
	mkv_strlist_free(&reps);
	free(rec);
}

static void test_get_of_replicas_in_other_order_is_unbalanced(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX], *rec;
	struct mkv_reply r;

	/* As in the Go mkv, the order of the replicas is part of the placement. */
	placement(w, "/swapped", &reps);
	key_path("/swapped", path);
	assert_true(asprintf(&rec, "%s,%s", reps.items[1], reps.items[0]) > 0);
	fake_index_set(&w->ix, "/swapped", 8, rec, strlen(rec));
	fake_volume_add(&w->vol, reps.items[0], path, "v", 1);
	fake_volume_add(&w->vol, reps.items[1], path, "v", 1);
	get(w, "/swapped", &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.key_balance, "unbalanced");
	assert_string_equal(r.key_volumes, rec);
	mkv_reply_free(&r);
	mkv_strlist_free(&reps);
	free(rec);
}

static void test_get_of_record_without_hash_redirects_without_md5(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char path[MKV_PATH_MAX], *rec;
	struct mkv_reply r;

	/* Records written by an older Go mkv carry no HASH. */
	placement(w, "/legacy", &reps);
	key_path("/legacy", path);
	rec = joined(&reps);
	fake_index_set(&w->ix, "/legacy", 7, rec, strlen(rec));
	for (size_t i = 0; i < reps.count; i++)
		fake_volume_add(&w->vol, reps.items[i], path, "old", 3);
	get(w, "/legacy", &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.md5, "");
	assert_string_equal(r.key_volumes, rec);
	assert_string_equal(r.key_balance, "balanced");
	mkv_reply_free(&r);
	mkv_strlist_free(&reps);
	free(rec);
}

static void test_get_with_index_failing_answers_500(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/hello", "world"), 201);
	fake_index_set_failing(&w->ix, true);
	assert_int_equal(get_status(w, "/hello"), 500);
	fake_index_set_failing(&w->ix, false);
	assert_int_equal(get_status(w, "/hello"), 302);
}

/* ---- DELETE and UNLINK ----------------------------------------------------- */

static void test_delete_of_live_key_removes_files_and_record(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/del", "value"), 201);
	assert_int_equal(fake_volume_count(&w->vol), 2);
	assert_int_equal(delete_status(w, "/del", false), 204);
	assert_int_equal(fake_volume_count(&w->vol), 0);
	assert_no_record(w, "/del");
	assert_int_equal(get_status(w, "/del"), 404);
	assert_lists(w, "/", MKV_LIST_UNLINKED, NO_KEYS);
}

static void test_delete_of_missing_key_is_not_found(void **state)
{
	struct world *w = *state;

	assert_int_equal(delete_status(w, "/missing", false), 404);
	assert_int_equal(fake_index_count(&w->ix), 0);
}

static void test_unlink_hides_key_but_keeps_files(void **state)
{
	struct world *w = *state;
	char *live = expected_record(w, "/u/key", "value", 5), *unlinked;

	assert_int_equal(put(w, "/u/key", "value"), 201);
	assert_int_equal(delete_status(w, "/u/key", true), 204);

	assert_int_equal(get_status(w, "/u/key"), 404);
	assert_lists(w, "/u/", MKV_LIST_LIVE, NO_KEYS);
	assert_lists(w, "/u/", MKV_LIST_UNLINKED, KEYS("/u/key"));
	assert_on_every_replica(w, "/u/key", "value", 5);
	assert_true(asprintf(&unlinked, "DELETED%s", live) > 0);
	assert_record(w, "/u/key", unlinked);
	free(unlinked);
	free(live);
}

static void test_unlink_of_unlinked_key_is_not_found(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/twice", "value"), 201);
	assert_int_equal(delete_status(w, "/twice", true), 204);
	assert_int_equal(delete_status(w, "/twice", true), 404);
	assert_on_every_replica(w, "/twice", "value", 5);
}

static void test_unlink_of_missing_key_is_not_found(void **state)
{
	struct world *w = *state;

	assert_int_equal(delete_status(w, "/missing", true), 404);
	assert_int_equal(fake_index_count(&w->ix), 0);
}

static void test_delete_after_unlink_removes_files_and_record(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/ud", "value"), 201);
	assert_int_equal(delete_status(w, "/ud", true), 204);
	assert_int_equal(fake_volume_count(&w->vol), 2);
	assert_int_equal(delete_status(w, "/ud", false), 204);
	assert_int_equal(fake_volume_count(&w->vol), 0);
	assert_no_record(w, "/ud");
	assert_lists(w, "/", MKV_LIST_UNLINKED, NO_KEYS);
}

static void test_protect_forbids_delete_of_live_key(void **state)
{
	struct world *w = *state;
	char *want = expected_record(w, "/keep", "value", 5);

	assert_int_equal(put(w, "/keep", "value"), 201);
	assert_int_equal(delete_status(w, "/keep", false), 403);
	assert_record(w, "/keep", want);
	assert_on_every_replica(w, "/keep", "value", 5);
	assert_int_equal(get_status(w, "/keep"), 302);
	free(want);
}

static void test_protect_allows_delete_after_unlink(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/keep", "value"), 201);
	assert_int_equal(delete_status(w, "/keep", true), 204);
	assert_int_equal(delete_status(w, "/keep", false), 204);
	assert_int_equal(fake_volume_count(&w->vol), 0);
	assert_no_record(w, "/keep");
}

static void test_delete_with_replica_down_fails_and_can_be_retried(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;

	assert_int_equal(put(w, "/dd", "value"), 201);
	placement(w, "/dd", &reps);
	fake_volume_set_down(&w->vol, reps.items[0], true);
	assert_in_range(delete_status(w, "/dd", false), 500, 599);
	/* Marked deleted first: the key is gone for readers, not yet from the index. */
	assert_int_equal(get_status(w, "/dd"), 404);
	assert_not_live(w, "/dd");
	assert_lists(w, "/", MKV_LIST_LIVE, NO_KEYS);

	fake_volume_set_down(&w->vol, reps.items[0], false);
	assert_int_equal(delete_status(w, "/dd", false), 204);
	assert_int_equal(fake_volume_count(&w->vol), 0);
	assert_no_record(w, "/dd");
	mkv_strlist_free(&reps);
}

static void test_delete_of_record_left_by_crashed_put_succeeds(void **state)
{
	struct world *w = *state;
	struct mkv_strlist reps;
	char *rec, *list;

	/* A crash between the first record and the replica writes leaves this behind. */
	placement(w, "/crashed", &reps);
	list = joined(&reps);
	assert_true(asprintf(&rec, "DELETED%s", list) > 0);
	fake_index_set(&w->ix, "/crashed", 8, rec, strlen(rec));
	assert_int_equal(get_status(w, "/crashed"), 404);
	assert_int_equal(delete_status(w, "/crashed", false), 204);
	assert_no_record(w, "/crashed");
	assert_int_equal(put(w, "/crashed", "value"), 201);
	mkv_strlist_free(&reps);
	free(list);
	free(rec);
}

/* ---- listings -------------------------------------------------------------- */

static void test_list_answers_exactly_the_go_json(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	assert_int_equal(put(w, "/a/2", "two"), 201);
	assert_int_equal(put(w, "/b/1", "other"), 201);
	assert_int_equal(put(w, "/a/1", "one"), 201);
	assert_list_body(w, "/a/", MKV_LIST_LIVE, "{\"next\":\"\",\"keys\":[\"/a/1\",\"/a/2\"]}");
	list(w, "/a/", MKV_LIST_LIVE, NULL, 0, &r);
	assert_non_null(r.content_type);
	assert_string_equal(r.content_type, "application/json");
	mkv_reply_free(&r);
}

static void test_list_of_prefix_without_keys_is_empty(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/a/1", "one"), 201);
	assert_list_body(w, "/nothing/", MKV_LIST_LIVE, "{\"next\":\"\",\"keys\":[]}");
	assert_list_body(w, "/a/", MKV_LIST_UNLINKED, "{\"next\":\"\",\"keys\":[]}");
}

static void test_list_is_bytewise_sorted_and_bounded_by_prefix(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/ab", "x"), 201);
	assert_int_equal(put(w, "/a/z", "x"), 201);
	assert_int_equal(put(w, "/a", "x"), 201);
	assert_int_equal(put(w, "/a/B", "x"), 201);
	assert_int_equal(put(w, "/a/a", "x"), 201);
	assert_int_equal(put(w, "/b", "x"), 201);
	assert_lists(w, "/a/", MKV_LIST_LIVE, KEYS("/a/B", "/a/a", "/a/z"));
	assert_lists(w, "/a", MKV_LIST_LIVE, KEYS("/a", "/a/B", "/a/a", "/a/z", "/ab"));
	assert_lists(w, "/", MKV_LIST_LIVE,
		     KEYS("/a", "/a/B", "/a/a", "/a/z", "/ab", "/b"));
}

static void test_list_pages_with_limit_and_resumes_with_start(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	for (int i = 1; i <= 5; i++) {
		char key[16];

		snprintf(key, sizeof key, "/p/%d", i);
		assert_int_equal(put(w, key, "v"), 201);
	}
	list(w, "/p/", MKV_LIST_LIVE, NULL, 2, &r);
	assert_listing(&r, "/p/3", KEYS("/p/1", "/p/2"));
	mkv_reply_free(&r);
	list(w, "/p/", MKV_LIST_LIVE, "/p/3", 2, &r);
	assert_listing(&r, "/p/5", KEYS("/p/3", "/p/4"));
	mkv_reply_free(&r);
	list(w, "/p/", MKV_LIST_LIVE, "/p/5", 2, &r);
	assert_listing(&r, "", KEYS("/p/5"));
	mkv_reply_free(&r);
	/* A limit that the keys fit in exactly leaves next empty. */
	list(w, "/p/", MKV_LIST_LIVE, NULL, 5, &r);
	assert_listing(&r, "", KEYS("/p/1", "/p/2", "/p/3", "/p/4", "/p/5"));
	mkv_reply_free(&r);
	/* start need not be a key: the listing resumes at the next one. */
	list(w, "/p/", MKV_LIST_LIVE, "/p/25", 0, &r);
	assert_listing(&r, "", KEYS("/p/3", "/p/4", "/p/5"));
	mkv_reply_free(&r);
}

static void test_list_next_is_the_first_listed_key_of_the_next_page(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	assert_int_equal(put(w, "/n/1", "v"), 201);
	assert_int_equal(put(w, "/n/2", "v"), 201);
	assert_int_equal(put(w, "/n/3", "v"), 201);
	assert_int_equal(put(w, "/n/4", "v"), 201);
	assert_int_equal(delete_status(w, "/n/3", true), 204);
	list(w, "/n/", MKV_LIST_LIVE, NULL, 2, &r);
	assert_listing(&r, "/n/4", KEYS("/n/1", "/n/2"));
	mkv_reply_free(&r);
	list(w, "/n/", MKV_LIST_UNLINKED, NULL, 1, &r);
	assert_listing(&r, "", KEYS("/n/3"));
	mkv_reply_free(&r);
}

static void test_list_excludes_unlinked_and_unlinked_lists_only_them(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/x/1", "v"), 201);
	assert_int_equal(put(w, "/x/2", "v"), 201);
	assert_int_equal(put(w, "/x/3", "v"), 201);
	assert_int_equal(delete_status(w, "/x/2", true), 204);
	assert_lists(w, "/x/", MKV_LIST_LIVE, KEYS("/x/1", "/x/3"));
	assert_lists(w, "/x/", MKV_LIST_UNLINKED, KEYS("/x/2"));
	assert_list_body(w, "/x/", MKV_LIST_UNLINKED, "{\"next\":\"\",\"keys\":[\"/x/2\"]}");
}

static void test_list_excludes_records_marked_deleted(void **state)
{
	struct world *w = *state;
	const char *rec = "DELETEDHASH5d41402abc4b2a76b9719d911017c592v1,v2";

	/* A record a crashed DELETE (or PUT) left marked deleted. */
	assert_int_equal(put(w, "/d/live", "v"), 201);
	fake_index_set(&w->ix, "/d/dying", 8, rec, strlen(rec));
	fake_index_set(&w->ix, "/d/bare", 7, "DELETEDv3", 9);
	assert_lists(w, "/d/", MKV_LIST_LIVE, KEYS("/d/live"));
	assert_int_equal(get_status(w, "/d/dying"), 404);
	assert_int_equal(get_status(w, "/d/bare"), 404);
}

static void test_list_escapes_keys_as_json(void **state)
{
	struct world *w = *state;

	assert_int_equal(put(w, "/q/\"quoted\"", "v"), 201);
	assert_int_equal(put(w, "/q/back\\slash", "v"), 201);
	assert_int_equal(put(w, "/q/tab\there", "v"), 201);
	assert_int_equal(put(w, "/q/caf\xc3\xa9", "v"), 201);
	assert_lists(w, "/q/", MKV_LIST_LIVE,
		     KEYS("/q/\"quoted\"", "/q/back\\slash", "/q/caf\xc3\xa9",
			  "/q/tab\there"));
}

static void test_list_of_key_with_invalid_utf8_answers_like_go(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	/* A URL may carry any byte (%E9); Go's JSON encoder writes U+FFFD for it. */
	assert_int_equal(put(w, "/bin/\xe9", "v"), 201);
	assert_int_equal(put(w, "/bin/ok", "v"), 201);
	list(w, "/bin/", MKV_LIST_LIVE, NULL, 0, &r);
	/* Sorted by the stored bytes: 0xe9 after "o". */
	assert_listing(&r, "", KEYS("/bin/ok", "/bin/\xef\xbf\xbd"));
	mkv_reply_free(&r);
}

static void test_list_of_over_a_million_keys_needs_a_limit(void **state)
{
	struct world *w = *state;
	const char *rec = "HASH5d41402abc4b2a76b9719d911017c592v1,v2";
	struct mkv_reply r;

	/* Records made directly: the listing reads only the index. */
	for (int i = 0; i < MKV_LIST_MAX + 2; i++) {
		char key[32];
		int n = snprintf(key, sizeof key, "/m/%07d", i);

		fake_index_set(&w->ix, key, (size_t)n, rec, strlen(rec));
	}
	list(w, "/m/", MKV_LIST_LIVE, NULL, 0, &r);
	assert_int_equal(r.status, 413);
	mkv_reply_free(&r);
	list(w, "/m/", MKV_LIST_LIVE, "/m/0999999", 2, &r);
	assert_listing(&r, "/m/1000001", KEYS("/m/0999999", "/m/1000000"));
	mkv_reply_free(&r);
}

static void test_list_with_index_failing_answers_500(void **state)
{
	struct world *w = *state;
	struct mkv_reply r;

	assert_int_equal(put(w, "/a/1", "v"), 201);
	fake_index_set_failing(&w->ix, true);
	list(w, "/a/", MKV_LIST_LIVE, NULL, 0, &r);
	assert_int_equal(r.status, 500);
	mkv_reply_free(&r);
}

int main(void)
{
#define T(name, setup) cmocka_unit_test_setup_teardown(name, setup, world_free)
	const struct CMUnitTest tests[] = {
		T(test_put_writes_every_replica_and_records_hash_and_replicas, setup_default),
		T(test_put_places_replicas_on_subvolumes, setup_three_replicas_ten_subvolumes),
		T(test_put_of_existing_live_key_is_forbidden_and_keeps_value, setup_default),
		T(test_put_of_empty_value_is_length_required, setup_default),
		T(test_put_of_key_too_long_for_a_file_name_is_uri_too_long, setup_default),
		T(test_put_of_longest_key_that_fits_a_file_name_succeeds, setup_default),
		T(test_second_put_of_key_in_progress_conflicts, setup_default),
		T(test_delete_of_key_with_put_in_progress_conflicts, setup_default),
		T(test_get_and_list_during_put_do_not_show_the_key, setup_default),
		T(test_strict_put_with_replica_down_leaves_no_live_record, setup_strict),
		T(test_strict_put_with_first_replica_down_leaves_no_files, setup_strict),
		T(test_put_failing_part_way_on_one_replica_leaves_no_files, setup_default),
		T(test_strict_put_larger_than_buffer_with_replica_down_fails_without_hanging, setup_strict),
		T(test_put_with_replica_down_writes_the_next_live_volume, setup_default),
		T(test_large_put_with_first_replica_down_arrives_intact_on_the_spare, setup_default),
		T(test_put_with_no_live_spare_leaves_no_live_record, setup_default),
		T(test_aborted_put_leaves_no_live_record_and_can_be_retried, setup_default),
		T(test_put_ended_early_as_complete_is_not_written, setup_default),
		T(test_put_of_unlinked_key_writes_it_again, setup_default),
		T(test_large_value_arrives_intact_on_every_replica, setup_three_replicas_ten_subvolumes),
		T(test_put_without_md5sum_records_no_hash, setup_no_md5),
		T(test_concurrent_puts_of_different_keys_all_succeed, setup_default),
		T(test_put_of_more_bytes_than_announced_never_records_a_wrong_hash, setup_default),
		T(test_large_value_with_one_slow_replica_pauses_the_body_and_arrives_intact, setup_default),
		T(test_put_writes_replicas_in_parallel, setup_three_replicas_ten_subvolumes),
		T(test_put_with_index_failing_answers_500_and_writes_nothing, setup_default),
		T(test_failed_put_over_unlinked_key_leaves_it_unlinked, setup_default),
		T(test_get_of_live_key_redirects_to_a_replica, setup_default),
		T(test_get_spreads_reads_over_the_replicas, setup_default),
		T(test_get_with_one_replica_down_redirects_to_a_live_one, setup_default),
		T(test_get_with_file_missing_on_one_replica_redirects_to_the_other, setup_default),
		T(test_get_with_all_replicas_down_is_not_found, setup_default),
		T(test_get_of_live_key_redirects_to_a_replica, setup_async),
		T(test_get_spreads_reads_over_the_replicas, setup_async),
		T(test_get_with_one_replica_down_redirects_to_a_live_one, setup_async),
		T(test_get_with_file_missing_on_one_replica_redirects_to_the_other, setup_async),
		T(test_get_with_all_replicas_down_is_not_found, setup_async),
		T(test_gets_of_one_key_at_once_share_one_replica_check, setup_async_one_replica),
		T(test_shared_check_that_fails_sends_every_get_to_the_next_replica, setup_async),
		T(test_backend_built_for_abi_1_0_is_never_asked_for_stat_async, setup_abi_1_0),
		T(test_get_of_missing_key_is_not_found, setup_default),
		T(test_get_of_missing_key_with_fallback_redirects_there, setup_fallback),
		T(test_get_of_unlinked_key_with_fallback_redirects_there, setup_fallback),
		T(test_get_of_live_key_with_fallback_still_redirects_to_a_replica, setup_fallback),
		T(test_get_of_misplaced_key_reports_unbalanced, setup_default),
		T(test_get_of_replicas_in_other_order_is_unbalanced, setup_default),
		T(test_get_of_record_without_hash_redirects_without_md5, setup_default),
		T(test_get_with_index_failing_answers_500, setup_default),
		T(test_delete_of_live_key_removes_files_and_record, setup_default),
		T(test_delete_of_missing_key_is_not_found, setup_default),
		T(test_unlink_hides_key_but_keeps_files, setup_default),
		T(test_unlink_of_unlinked_key_is_not_found, setup_default),
		T(test_unlink_of_missing_key_is_not_found, setup_default),
		T(test_delete_after_unlink_removes_files_and_record, setup_default),
		T(test_protect_forbids_delete_of_live_key, setup_protect),
		T(test_protect_allows_delete_after_unlink, setup_protect),
		T(test_delete_with_replica_down_fails_and_can_be_retried, setup_default),
		T(test_delete_of_record_left_by_crashed_put_succeeds, setup_default),
		T(test_list_answers_exactly_the_go_json, setup_default),
		T(test_list_of_prefix_without_keys_is_empty, setup_default),
		T(test_list_is_bytewise_sorted_and_bounded_by_prefix, setup_default),
		T(test_list_pages_with_limit_and_resumes_with_start, setup_default),
		T(test_list_next_is_the_first_listed_key_of_the_next_page, setup_default),
		T(test_list_excludes_unlinked_and_unlinked_lists_only_them, setup_default),
		T(test_list_excludes_records_marked_deleted, setup_default),
		T(test_list_escapes_keys_as_json, setup_default),
		T(test_list_of_key_with_invalid_utf8_answers_like_go, setup_default),
		T(test_list_of_over_a_million_keys_needs_a_limit, setup_default),
		T(test_list_with_index_failing_answers_500, setup_default),
	};
#undef T

	/* A hung PUT must fail the suite, not stall `make check` forever. */
	alarm(900);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
