/*
 * volume_suite.c - the behaviour every volume backend owes the core.
 *
 * Loads the backend through the core's loader, opens it with a 1 s timeout
 * and no options, and checks what the core relies on: values round-trip
 * byte for byte, a failed write leaves nothing behind, absent things are
 * MKV_E_NOTFOUND, listings show what was written, locate() points at the
 * value, subvolume replicas and base64 paths work, many threads may share
 * one handle, options are checked, and (given a dead replica, a place where
 * no volume answers) an unreachable volume fails fast instead of hanging.
 * A backend with the optional stat_async slot (ABI 1.1) must give stat()'s
 * answers through it, each done exactly once, with many calls in flight
 * and with done starting the next call; its tests are skipped, saying so,
 * for a backend without the slot.
 *
 * The suite is the same for every backend: make check runs it over each
 * bundled backend (volume_conformance.c and one runner script per backend,
 * volume-*.sh), mkv-plugin-check over any backend a third party builds.
 * Every test writes under its own paths, so runs never see each other.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks.h"
#include "plugin.h"
#include "suite.h"

#define TIMEOUT_MS 1000
#define PATH_MAX_LEN 256
/*
 * Larger than what the backends do in pieces (nginx sends values of 4 MB or
 * more in 1 MB chunks, local hands a value's pages to the disk every 8 MB),
 * and no multiple of any of them.
 */
#define BIG_VALUE (9 * 1024 * 1024 + 17)
#define THREADS 8
#define THREAD_ROUNDS 4
#define THREAD_VALUE (256 * 1024 + 3)
#define DONE_WAIT_MS (5 * TIMEOUT_MS) /* how long a test waits for its dones */
#define QUIET_MS 200                  /* then how long it watches for a done too many */
#define IN_FLIGHT 200
#define PRESENT_FILES 20
#define CHAIN_LINKS 3

static const struct mkv_conformance_target *target;
static const char *replica;      /* where the suite writes */
static const char *dead_replica; /* where no volume answers; NULL to skip */
static struct mkv_volume vol;

/* A path no other test or run uses: /cf/XX/TAGNUMBERxPID. */
static void unique_path(char *out, const char *tag)
{
	static unsigned counter;
	unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

	snprintf(out, PATH_MAX_LEN, "/cf/%02x/%s%ux%ld", n & 0xff, tag, n, (long)getpid());
}

/* len bytes of deterministic noise, different for every seed. malloc'd. */
static unsigned char *noise(size_t len, uint64_t seed)
{
	unsigned char *buf = malloc(len ? len : 1);
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
	return buf;
}

/* A value being written: hands out data in chunks, and may stop or fail early. */
struct source {
	const unsigned char *data;
	size_t len, pos;
	size_t stop_at; /* give no more than this many bytes in all */
	int fail_code;  /* at stop_at: 0 ends the value, negative aborts */
};

static ssize_t source_read(void *ctx, void *buf, size_t cap)
{
	struct source *s = ctx;
	size_t end = s->stop_at < s->len ? s->stop_at : s->len;
	size_t n = end - s->pos;

	if (cap == 0) { /* rewind, as the ABI allows a backend to ask */
		s->pos = 0;
		return 0;
	}
	if (n == 0)
		return s->pos < s->len ? s->fail_code : 0;
	if (n > cap)
		n = cap;
	if (n > 65536)
		n = 65536; /* small chunks, so a stop lands mid-transfer */
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static struct source whole(const void *data, size_t len)
{
	return (struct source){ .data = data, .len = len, .stop_at = len };
}

static int put_bytes(const char *rep, const char *path, const void *data, size_t len)
{
	struct source s = whole(data, len);

	return vol.ops->put(vol.h, rep, path, len, source_read, &s);
}

/* A value being read, collected in a growing buffer. */
struct sink {
	unsigned char *data;
	size_t len, cap;
};

static int sink_write(void *ctx, const void *data, size_t len)
{
	struct sink *k = ctx;

	if (k->len + len > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;
		unsigned char *grown;

		while (cap < k->len + len)
			cap *= 2;
		grown = realloc(k->data, cap);
		if (!grown)
			return MKV_E_NOMEM;
		k->data = grown;
		k->cap = cap;
	}
	memcpy(k->data + k->len, data, len);
	k->len += len;
	return 0;
}

/* Read path back and check it holds exactly data. */
static void assert_holds(const char *rep, const char *path, const void *data, size_t len)
{
	struct sink k = { 0 };
	uint64_t size = 0;

	assert_ok(vol.ops->stat(vol.h, rep, path, &size));
	assert_int_equal(size, len);
	assert_ok(vol.ops->read(vol.h, rep, path, sink_write, &k));
	assert_int_equal(k.len, len);
	assert_memory_equal(k.data, data, len);
	free(k.data);
}

/* What a listing showed about one name. */
struct find {
	const char *name;
	int found, is_dir;
	uint64_t size;
	size_t entries;
};

static int find_entry(void *ctx, const struct mkv_volume_entry *e)
{
	struct find *f = ctx;

	f->entries++;
	if (strcmp(e->name, f->name) == 0) {
		f->found++;
		f->is_dir = e->is_dir;
		f->size = e->size;
	}
	return 0;
}

static struct find list_find(const char *rep, const char *dir, const char *name)
{
	struct find f = { .name = name };

	assert_ok(vol.ops->list(vol.h, rep, dir, find_entry, &f));
	return f;
}

static void put_then_stat_gives_the_size(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data = noise(12345, 1);
	uint64_t size = 0;

	(void)state;
	unique_path(path, "stat");
	assert_ok(put_bytes(replica, path, data, 12345));
	assert_ok(vol.ops->stat(vol.h, replica, path, &size));
	assert_int_equal(size, 12345);
	assert_ok(vol.ops->stat(vol.h, replica, path, NULL));
	free(data);
}

static void put_then_read_gives_back_identical_bytes(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data = noise(BIG_VALUE, 2);

	(void)state;
	unique_path(path, "big");
	assert_ok(put_bytes(replica, path, data, BIG_VALUE));
	assert_holds(replica, path, data, BIG_VALUE);
	free(data);
}

static void a_one_byte_value_round_trips(void **state)
{
	char path[PATH_MAX_LEN];

	(void)state;
	unique_path(path, "one");
	assert_ok(put_bytes(replica, path, "x", 1));
	assert_holds(replica, path, "x", 1);
}

static void put_replaces_an_existing_file(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *first = noise(100000, 3), *second = noise(777, 4);

	(void)state;
	unique_path(path, "replace");
	assert_ok(put_bytes(replica, path, first, 100000));
	assert_ok(put_bytes(replica, path, second, 777));
	assert_holds(replica, path, second, 777);
	free(first);
	free(second);
}

static void a_source_that_aborts_leaves_no_file_and_put_returns_its_code(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data = noise(BIG_VALUE, 5);
	struct source s = whole(data, BIG_VALUE);

	(void)state;
	unique_path(path, "abort");
	s.stop_at = BIG_VALUE / 2;
	s.fail_code = MKV_E_ABORTED;
	assert_code(vol.ops->put(vol.h, replica, path, BIG_VALUE, source_read, &s),
		    MKV_E_ABORTED);
	assert_code(vol.ops->stat(vol.h, replica, path, NULL), MKV_E_NOTFOUND);
	free(data);
}

static void an_aborted_put_keeps_the_previous_value(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data = noise(BIG_VALUE, 6);
	struct source s = whole(data, BIG_VALUE);

	(void)state;
	unique_path(path, "keep");
	assert_ok(put_bytes(replica, path, "old", 3));
	s.stop_at = BIG_VALUE / 3;
	s.fail_code = MKV_E_IO;
	assert_code(vol.ops->put(vol.h, replica, path, BIG_VALUE, source_read, &s), MKV_E_IO);
	assert_holds(replica, path, "old", 3);
	free(data);
}

static void a_source_that_ends_early_fails_and_leaves_no_file(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data = noise(BIG_VALUE, 7);
	struct source s = whole(data, BIG_VALUE);
	int rc;

	(void)state;
	unique_path(path, "short");
	s.stop_at = BIG_VALUE - 1000;
	s.fail_code = 0;
	mkv_error_clear();
	rc = vol.ops->put(vol.h, replica, path, BIG_VALUE, source_read, &s);
	print_message("short source: %d (%s)\n", rc, mkv_error_message(rc));
	assert_true(rc < 0);
	assert_code(vol.ops->stat(vol.h, replica, path, NULL), MKV_E_NOTFOUND);
	free(data);
}

static void del_removes_the_file(void **state)
{
	char path[PATH_MAX_LEN];

	(void)state;
	unique_path(path, "del");
	assert_ok(put_bytes(replica, path, "gone soon", 9));
	assert_ok(vol.ops->del(vol.h, replica, path));
	assert_code(vol.ops->stat(vol.h, replica, path, NULL), MKV_E_NOTFOUND);
	assert_code(vol.ops->del(vol.h, replica, path), MKV_E_NOTFOUND);
}

static void absent_files_are_not_found(void **state)
{
	char path[PATH_MAX_LEN];
	struct sink k = { 0 };
	uint64_t size = 42;

	(void)state;
	unique_path(path, "absent");
	assert_code(vol.ops->stat(vol.h, replica, path, &size), MKV_E_NOTFOUND);
	assert_code(vol.ops->read(vol.h, replica, path, sink_write, &k), MKV_E_NOTFOUND);
	assert_int_equal(k.len, 0);
	assert_code(vol.ops->del(vol.h, replica, path), MKV_E_NOTFOUND);
	free(k.data);
}

/* A sink that refuses everything. */
static int refusing_sink(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return MKV_E_ABORTED;
}

static void a_refusing_sink_stops_read_with_its_code(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data = noise(BIG_VALUE, 9);

	(void)state;
	unique_path(path, "refuse");
	assert_ok(put_bytes(replica, path, data, BIG_VALUE));
	assert_code(vol.ops->read(vol.h, replica, path, refusing_sink, NULL), MKV_E_ABORTED);
	/* The handle stays usable after an aborted transfer. */
	assert_holds(replica, path, data, BIG_VALUE);
	free(data);
}

static void listings_show_directories_and_files(void **state)
{
	struct find f;

	(void)state;
	assert_ok(put_bytes(replica, "/5d/41/aGVsbG8=", "hello world", 11));
	f = list_find(replica, "/", "5d");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.is_dir, 1);
	f = list_find(replica, "/5d/", "41");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.is_dir, 1);
	f = list_find(replica, "/5d/41/", "aGVsbG8=");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.is_dir, 0);
	assert_int_equal(f.size, 11);
}

static void a_listing_holds_every_file_of_the_directory(void **state)
{
	char dir[PATH_MAX_LEN], path[PATH_MAX_LEN + 16];
	struct find f;

	(void)state;
	unique_path(dir, "many");
	strcat(dir, "/");
	for (unsigned i = 0; i < 20; i++) {
		snprintf(path, sizeof path, "%sf%02u", dir, i % 100);
		assert_ok(put_bytes(replica, path, "abc", 3));
	}
	f = list_find(replica, dir, "f07");
	assert_int_equal(f.entries, 20);
	assert_int_equal(f.found, 1);
	assert_int_equal(f.size, 3);
}

static void listing_an_absent_directory_is_not_found(void **state)
{
	char dir[PATH_MAX_LEN];
	struct find f = { .name = "" };

	(void)state;
	unique_path(dir, "nodir");
	strcat(dir, "/");
	assert_code(vol.ops->list(vol.h, replica, dir, find_entry, &f), MKV_E_NOTFOUND);
}

/* A listing callback that stops at the first entry. */
static int stop_listing(void *ctx, const struct mkv_volume_entry *e)
{
	(void)ctx;
	(void)e;
	return MKV_E_ABORTED;
}

static void a_listing_callback_stops_list_with_its_code(void **state)
{
	(void)state;
	assert_ok(put_bytes(replica, "/5d/41/aGVsbG8=", "hello world", 11));
	assert_code(vol.ops->list(vol.h, replica, "/5d/41/", stop_listing, NULL), MKV_E_ABORTED);
}

/* Check a FILE location: a readable fd holding exactly data. */
static void assert_file_location(struct mkv_location *loc, const void *data, size_t len)
{
	struct stat st;
	char buf[64];

	assert_true(loc->fd >= 0);
	assert_int_equal(fstat(loc->fd, &st), 0);
	assert_int_equal(st.st_size, len);
	assert_int_equal(loc->size, len);
	assert_int_equal(pread(loc->fd, buf, sizeof buf, 0), len);
	assert_memory_equal(buf, data, len);
	close(loc->fd);
}

static void locate_points_at_the_value(void **state)
{
	char path[PATH_MAX_LEN];
	struct mkv_location loc;
	size_t n, p;

	(void)state;
	unique_path(path, "locate");
	assert_ok(put_bytes(replica, path, "located", 7));
	memset(&loc, 0, sizeof loc);
	loc.fd = -1;
	assert_ok(vol.ops->locate(vol.h, replica, path, &loc));
	if (loc.kind == MKV_LOCATION_FILE) {
		assert_file_location(&loc, "located", 7);
		return;
	}
	assert_int_equal(loc.kind, MKV_LOCATION_URL);
	n = strlen(loc.url);
	p = strlen(path);
	assert_true(n > p);
	assert_string_equal(loc.url + n - p, path);
	assert_true(strncmp(loc.url, "http://", 7) == 0 || strncmp(loc.url, "https://", 8) == 0);
}

static void a_subvolume_replica_works(void **state)
{
	char sub[PATH_MAX_LEN], path[PATH_MAX_LEN], dir[PATH_MAX_LEN];
	unsigned char *data = noise(300000, 10);
	struct find f;

	(void)state;
	snprintf(sub, sizeof sub, "%s/sv03", replica);
	unique_path(path, "sub");
	assert_ok(put_bytes(sub, path, data, 300000));
	assert_holds(sub, path, data, 300000);
	f = list_find(sub, "/", "cf");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.is_dir, 1);
	f = list_find(replica, "/", "sv03");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.is_dir, 1);
	/* The value lives under the subvolume only. */
	assert_code(vol.ops->stat(vol.h, replica, path, NULL), MKV_E_NOTFOUND);
	snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') + 1 - path), path);
	f = list_find(sub, dir, strrchr(path, '/') + 1);
	assert_int_equal(f.found, 1);
	assert_int_equal(f.size, 300000);
	free(data);
}

static void a_path_with_base64_plus_and_slash_works(void **state)
{
	/* The key "???>>>" encodes as "Pz8/Pj4+": a '/' inside, a '+' at the end. */
	char dir[PATH_MAX_LEN], path[PATH_MAX_LEN + 16];
	struct find f;

	(void)state;
	unique_path(dir, "b64");
	snprintf(path, sizeof path, "%s/Pz8/Pj4+", dir);
	assert_ok(put_bytes(replica, path, "plus and slash", 14));
	assert_holds(replica, path, "plus and slash", 14);
	snprintf(path, sizeof path, "%s/Pz8/", dir);
	f = list_find(replica, path, "Pj4+");
	assert_int_equal(f.found, 1);
	assert_int_equal(f.size, 14);
	snprintf(path, sizeof path, "%s/Pz8/Pj4+", dir);
	assert_ok(vol.ops->del(vol.h, replica, path));
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void an_unreachable_volume_fails_within_the_timeout(void **state)
{
	struct timespec start;
	int rc;

	(void)state;
	if (!dead_replica)
		skip();
	clock_gettime(CLOCK_MONOTONIC, &start);
	mkv_error_clear();
	rc = vol.ops->stat(vol.h, dead_replica, "/5d/41/aGVsbG8=", NULL);
	print_message("unreachable: %d (%s) after %ld ms\n", rc, mkv_error_message(rc),
		      elapsed_ms(&start));
	assert_true(rc == MKV_E_UNAVAILABLE || rc == MKV_E_TIMEOUT);
	assert_true(elapsed_ms(&start) < 3 * TIMEOUT_MS);
	rc = put_bytes(dead_replica, "/5d/41/aGVsbG8=", "x", 1);
	assert_true(rc == MKV_E_UNAVAILABLE || rc == MKV_E_TIMEOUT);
}

/* Open a second handle with one option; returns the code (the handle is closed). */
static int open_with_option(const struct mkv_option *option)
{
	const struct mkv_options opts = { .items = option, .count = 1 };
	struct mkv_volume other;
	int rc;

	mkv_error_clear();
	rc = mkv_volume_open(&other, vol.ops, TIMEOUT_MS, &opts);
	if (rc == 0)
		mkv_volume_close(&other);
	return rc;
}

static void open_rejects_an_unknown_option(void **state)
{
	const struct mkv_option bogus = { .key = "no_such_option", .value = "1" };

	(void)state;
	assert_int_equal(open_with_option(&bogus), MKV_E_INVAL);
	assert_non_null(strstr(mkv_error_message(MKV_E_INVAL), "no_such_option"));
}

static void an_option_the_backend_knows_is_accepted(void **state)
{
	int rc;

	(void)state;
	if (!target->good_option.key)
		skip();
	rc = open_with_option(&target->good_option);
	if (rc != 0)
		print_error("%s=%s: %s\n", target->good_option.key, target->good_option.value,
			    mkv_error_message(rc));
	assert_int_equal(rc, 0);
}

static void a_bad_option_value_fails_with_inval_naming_the_key(void **state)
{
	(void)state;
	if (!target->bad_option.key)
		skip();
	assert_int_equal(open_with_option(&target->bad_option), MKV_E_INVAL);
	assert_non_null(strstr(mkv_error_message(MKV_E_INVAL), target->bad_option.key));
}

/* One thread's work: its own keys, written and read back; the first failure. */
struct worker {
	pthread_t thread;
	int id;
	int rc;
	char what[PATH_MAX_LEN + 64];
};

static int worker_round(struct worker *w, int round)
{
	char path[PATH_MAX_LEN];
	size_t len = THREAD_VALUE + (size_t)w->id * 1000 + (size_t)round;
	unsigned char *data = noise(len, 1000 + (uint64_t)w->id * 100 + (uint64_t)round);
	struct sink k = { 0 };
	uint64_t size = 0;
	int rc;

	unique_path(path, "thread");
	snprintf(w->what, sizeof w->what, "thread %d: %s", w->id, path);
	rc = put_bytes(replica, path, data, len);
	if (rc == 0)
		rc = vol.ops->stat(vol.h, replica, path, &size);
	if (rc == 0)
		rc = vol.ops->read(vol.h, replica, path, sink_write, &k);
	if (rc == 0 && (size != len || k.len != len || memcmp(k.data, data, len) != 0))
		rc = MKV_E_CORRUPT;
	if (rc < 0)
		snprintf(w->what, sizeof w->what, "thread %d: %s: %s", w->id, path,
			 mkv_error_message(rc));
	free(k.data);
	free(data);
	return rc;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int round = 0; round < THREAD_ROUNDS && w->rc == 0; round++)
		w->rc = worker_round(w, round);
	return NULL;
}

static void eight_threads_share_one_handle(void **state)
{
	struct worker w[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&w[i].thread, NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		if (w[i].rc != 0)
			print_error("%s\n", w[i].what);
		assert_int_equal(w[i].rc, 0);
	}
}

/* Skip the calling test, saying why, when the backend has no stat_async. */
static void require_stat_async(void)
{
	uint32_t abi = vol.ops->head.abi_version;

	if (mkv_volume_has_stat_async(&vol))
		return;
	print_message("%s, built for ABI %u.%u, has no stat_async (optional since ABI 1.1): "
		      "skipped\n",
		      vol.ops->head.name, MKV_ABI_MAJOR_OF(abi), MKV_ABI_MINOR_OF(abi));
	skip();
}

/*
 * stat_async calls a test has made, and the dones they received. A call may
 * start the next from inside its done (relaunch), so one call record can
 * count several launches; every launch owes exactly one done.
 */
struct stat_call {
	struct stat_batch *batch;
	const char *replica;
	char path[PATH_MAX_LEN];
	unsigned relaunch; /* launches done still has to make */
	unsigned launches, dones;
	int rc;            /* the last done's answer */
	uint64_t size;
	int launch_rc;     /* a launch that failed at once */
	char why[256];     /* the message of a failed answer or relaunch */
};

struct stat_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled on every done */
	struct timespec started;
	unsigned dones;
	size_t count;
	struct stat_call calls[];
};

/* A batch of count calls, none started yet; its clock starts now. */
static struct stat_batch *batch_new(size_t count)
{
	struct stat_batch *b = calloc(1, sizeof *b + count * sizeof b->calls[0]);
	pthread_condattr_t attr;

	assert_non_null(b);
	assert_int_equal(pthread_mutex_init(&b->lock, NULL), 0);
	assert_int_equal(pthread_condattr_init(&attr), 0);
	assert_int_equal(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
	assert_int_equal(pthread_cond_init(&b->cond, &attr), 0);
	pthread_condattr_destroy(&attr);
	b->count = count;
	for (size_t i = 0; i < count; i++)
		b->calls[i].batch = b;
	clock_gettime(CLOCK_MONOTONIC, &b->started);
	return b;
}

/* Only for a batch whose dones have all arrived: a late done would write into it. */
static void batch_free(struct stat_batch *b)
{
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int launch(struct stat_call *c);

static void stat_done(void *ctx, int rc, uint64_t size)
{
	struct stat_call *c = ctx;
	struct stat_batch *b = c->batch;
	int again;

	pthread_mutex_lock(&b->lock);
	c->rc = rc;
	c->size = size;
	if (rc < 0)
		snprintf(c->why, sizeof c->why, "%s", mkv_error_message(rc));
	c->dones++;
	b->dones++;
	again = c->relaunch > 0;
	if (again)
		c->relaunch--;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	if (again)
		launch(c);
}

/* Start one stat_async of c->path on c->replica. Returns its code, also kept in c. */
static int launch(struct stat_call *c)
{
	int rc;

	pthread_mutex_lock(&c->batch->lock);
	c->launches++;
	pthread_mutex_unlock(&c->batch->lock);
	mkv_error_clear();
	rc = vol.ops->stat_async(vol.h, c->replica, c->path, stat_done, c);
	if (rc < 0) {
		pthread_mutex_lock(&c->batch->lock);
		c->launches--;
		c->launch_rc = rc;
		snprintf(c->why, sizeof c->why, "%s", mkv_error_message(rc));
		pthread_mutex_unlock(&c->batch->lock);
	}
	return rc;
}

/* Start call i of b: stat_async of path on rep, done relaunching it relaunch times. */
static void batch_start(struct stat_batch *b, size_t i, const char *rep, const char *path,
			unsigned relaunch)
{
	struct stat_call *c = &b->calls[i];

	c->replica = rep;
	snprintf(c->path, sizeof c->path, "%s", path);
	c->relaunch = relaunch;
	if (launch(c) < 0)
		print_error("stat_async(%s, %s) failed at once: %s\n", rep, path, c->why);
	assert_int_equal(c->launch_rc, 0);
}

/* Wait, at most until ms after the batch started, for b->dones to reach want. Locked. */
static bool wait_dones(struct stat_batch *b, unsigned want, long ms)
{
	struct timespec deadline = b->started;

	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (b->dones < want)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &deadline) != 0)
			return b->dones >= want;
	return true;
}

/*
 * Wait for want dones, then QUIET_MS more to catch a done too many, and
 * check that every launch got exactly one. Returns the milliseconds the
 * dones took to arrive; shows the calls still owed a done when some never do.
 */
static long batch_wait(struct stat_batch *b, unsigned want)
{
	bool arrived;
	long took;

	pthread_mutex_lock(&b->lock);
	arrived = wait_dones(b, want, DONE_WAIT_MS);
	took = elapsed_ms(&b->started);
	if (arrived)
		wait_dones(b, want + 1, took + QUIET_MS);
	else
		print_error("%u of %u dones after %ld ms\n", b->dones, want, took);
	pthread_mutex_unlock(&b->lock);
	for (size_t i = 0; i < b->count; i++) {
		const struct stat_call *c = &b->calls[i];

		if (c->dones != c->launches || c->launch_rc != 0)
			print_error("%s: %u launches, %u dones, failed launch %d, "
				    "last rc %d (%s)\n",
				    c->path, c->launches, c->dones, c->launch_rc, c->rc, c->why);
		assert_int_equal(c->launch_rc, 0);
		assert_int_equal(c->dones, c->launches);
	}
	assert_int_equal(b->dones, want);
	return took;
}

/* Check the answer one call received. */
static void assert_answer(const struct stat_call *c, int rc, uint64_t size)
{
	if (c->rc != rc || (rc == 0 && c->size != size))
		print_error("stat_async(%s) answered %d (%s) size %llu, "
			    "expected %d (%s) size %llu\n",
			    c->path, c->rc, c->rc ? c->why : "ok", (unsigned long long)c->size, rc,
			    rc ? mkv_strerror(rc) : "ok", (unsigned long long)size);
	assert_int_equal(c->rc, rc);
	if (rc == 0)
		assert_int_equal(c->size, size);
}

static void stat_async_of_a_file_put_gives_its_size_exactly_once(void **state)
{
	char path[PATH_MAX_LEN];
	unsigned char *data;
	struct stat_batch *b;

	(void)state;
	require_stat_async();
	data = noise(12345, 12);
	unique_path(path, "astat");
	assert_ok(put_bytes(replica, path, data, 12345));
	free(data);
	b = batch_new(1);
	batch_start(b, 0, replica, path, 0);
	batch_wait(b, 1);
	assert_answer(&b->calls[0], 0, 12345);
	batch_free(b);
}

static void stat_async_of_an_absent_file_is_not_found(void **state)
{
	char path[PATH_MAX_LEN];
	struct stat_batch *b;

	(void)state;
	require_stat_async();
	unique_path(path, "aabsent");
	b = batch_new(1);
	batch_start(b, 0, replica, path, 0);
	batch_wait(b, 1);
	assert_answer(&b->calls[0], MKV_E_NOTFOUND, 0);
	batch_free(b);
}

static void stat_async_on_an_unreachable_volume_fails_within_the_timeout(void **state)
{
	struct stat_batch *b;
	long took;
	int rc;

	(void)state;
	require_stat_async();
	if (!dead_replica)
		skip();
	b = batch_new(1);
	batch_start(b, 0, dead_replica, "/5d/41/aGVsbG8=", 0);
	took = batch_wait(b, 1);
	rc = b->calls[0].rc;
	print_message("unreachable: %d (%s) after %ld ms\n", rc, b->calls[0].why, took);
	assert_true(rc == MKV_E_UNAVAILABLE || rc == MKV_E_TIMEOUT);
	assert_true(took < 3 * TIMEOUT_MS);
	batch_free(b);
}

static void many_stat_async_calls_in_flight_each_get_their_own_answer_once(void **state)
{
	char present[PRESENT_FILES][PATH_MAX_LEN], absent[PATH_MAX_LEN];
	unsigned char *data;
	struct stat_batch *b;

	(void)state;
	require_stat_async();
	data = noise(PRESENT_FILES, 13);
	/* File f holds f + 1 bytes, so an answer given to the wrong call shows. */
	for (size_t f = 0; f < PRESENT_FILES; f++) {
		unique_path(present[f], "apresent");
		assert_ok(put_bytes(replica, present[f], data, f + 1));
	}
	free(data);
	b = batch_new(IN_FLIGHT);
	for (size_t i = 0; i < IN_FLIGHT; i++) {
		unique_path(absent, "anone");
		batch_start(b, i, replica, i % 2 ? absent : present[i / 2 % PRESENT_FILES], 0);
	}
	batch_wait(b, IN_FLIGHT);
	for (size_t i = 0; i < IN_FLIGHT; i++)
		assert_answer(&b->calls[i], i % 2 ? MKV_E_NOTFOUND : 0, i / 2 % PRESENT_FILES + 1);
	batch_free(b);
}

static void done_may_call_stat_async_again(void **state)
{
	char path[PATH_MAX_LEN];
	struct stat_batch *b;

	(void)state;
	require_stat_async();
	unique_path(path, "achain");
	assert_ok(put_bytes(replica, path, "chain", 5));
	b = batch_new(1);
	batch_start(b, 0, replica, path, CHAIN_LINKS - 1);
	batch_wait(b, CHAIN_LINKS);
	assert_int_equal(b->calls[0].launches, CHAIN_LINKS);
	assert_answer(&b->calls[0], 0, 5);
	batch_free(b);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(put_then_stat_gives_the_size),
	cmocka_unit_test(put_then_read_gives_back_identical_bytes),
	cmocka_unit_test(a_one_byte_value_round_trips),
	cmocka_unit_test(put_replaces_an_existing_file),
	cmocka_unit_test(a_source_that_aborts_leaves_no_file_and_put_returns_its_code),
	cmocka_unit_test(an_aborted_put_keeps_the_previous_value),
	cmocka_unit_test(a_source_that_ends_early_fails_and_leaves_no_file),
	cmocka_unit_test(del_removes_the_file),
	cmocka_unit_test(absent_files_are_not_found),
	cmocka_unit_test(a_refusing_sink_stops_read_with_its_code),
	cmocka_unit_test(listings_show_directories_and_files),
	cmocka_unit_test(a_listing_holds_every_file_of_the_directory),
	cmocka_unit_test(listing_an_absent_directory_is_not_found),
	cmocka_unit_test(a_listing_callback_stops_list_with_its_code),
	cmocka_unit_test(locate_points_at_the_value),
	cmocka_unit_test(a_subvolume_replica_works),
	cmocka_unit_test(a_path_with_base64_plus_and_slash_works),
	cmocka_unit_test(an_unreachable_volume_fails_within_the_timeout),
	cmocka_unit_test(eight_threads_share_one_handle),
	cmocka_unit_test(stat_async_of_a_file_put_gives_its_size_exactly_once),
	cmocka_unit_test(stat_async_of_an_absent_file_is_not_found),
	cmocka_unit_test(stat_async_on_an_unreachable_volume_fails_within_the_timeout),
	cmocka_unit_test(many_stat_async_calls_in_flight_each_get_their_own_answer_once),
	cmocka_unit_test(done_may_call_stat_async_again),
	cmocka_unit_test(open_rejects_an_unknown_option),
	cmocka_unit_test(an_option_the_backend_knows_is_accepted),
	cmocka_unit_test(a_bad_option_value_fails_with_inval_naming_the_key),
};

int mkv_conformance_volume_run(const struct mkv_conformance_target *t, const char *rep,
			       const char *dead)
{
	const struct mkv_options no_options = { 0 };
	char err[MKV_PLUGIN_ERR_MAX];
	struct mkv_plugin plugin;
	int rc;

	if (mkv_plugin_load(t->plugin, t->plugindir, MKV_PLUGIN_VOLUME, &plugin, err) < 0) {
		fprintf(stderr, "volume suite: %s\n", err);
		return 1;
	}
	mkv_error_clear();
	rc = mkv_volume_open(&vol, (const struct mkv_volume_ops *)plugin.head, TIMEOUT_MS,
			     &no_options);
	if (rc < 0) {
		fprintf(stderr, "volume suite: %s: open: %s\n", plugin.path, mkv_error_message(rc));
		mkv_plugin_unload(&plugin);
		return 1;
	}
	target = t;
	replica = rep;
	dead_replica = dead;
	printf("volume backend: %s (%s), replica %s\n", plugin.head->name, plugin.path, rep);
	fflush(stdout);
	rc = cmocka_run_group_tests_name(plugin.head->name, tests, NULL, NULL);
	mkv_volume_close(&vol);
	mkv_plugin_unload(&plugin);
	return rc;
}
