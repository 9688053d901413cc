/*
 * lmdb_specific.c - what the LMDB index backend promises beyond the index
 * conformance suite: its map grows from a tiny map_size on demand, even while
 * sixteen threads read, write and list; a map held at map_max fills up with
 * MKV_E_FULL and keeps serving what it holds; an open cursor does not stop
 * the map from growing; keys LMDB cannot hold are refused, not crashed on;
 * its options are checked; a LevelDB index is not mistaken for an empty one;
 * and an index in use is MKV_E_BUSY to another process.
 *
 * The plugin is loaded by name from $MKV_TEST_PLUGINDIR through the core's
 * loader, as mkv loads it. Each test gets its own temporary directory.
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks.h"
#include "plugin.h"

#define VALUE_LEN 250
#define THREADS 16
#define KEYS_PER_THREAD 600
#define MAX_OPTIONS 4

/* What each test gets: a directory of its own and the loaded backend. */
struct fixture {
	struct mkv_plugin plugin;
	const struct mkv_index_ops *ops;
	char dir[PATH_MAX];
	struct mkv_option items[MAX_OPTIONS];
	struct mkv_options opts;
	struct mkv_index ix;
	struct mkv_index_cursor *cursor; /* closed by teardown if a test fails */
};

/* ---- helpers ------------------------------------------------------------- */

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* Add option key=value for the next open of f's index. */
static void set_option(struct fixture *f, const char *key, const char *value)
{
	assert_true(f->opts.count < MAX_OPTIONS);
	f->items[f->opts.count++] = (struct mkv_option){ key, value };
}

/* Open f's directory with f's options; returns the code. */
static int open_index(struct fixture *f)
{
	mkv_error_clear();
	return mkv_index_open(&f->ix, f->ops, f->dir, &f->opts);
}

/* The key of record i ("/k0000042") in key, and its VALUE_LEN-byte value in value. */
static size_t record(int i, char key[32], char value[VALUE_LEN])
{
	memset(value, 'a' + i % 26, VALUE_LEN);
	snprintf(value, VALUE_LEN, "value %d", i);
	return (size_t)snprintf(key, 32, "/k%07d", i);
}

static int put_record(struct fixture *f, int i)
{
	char key[32], value[VALUE_LEN];
	size_t key_len = record(i, key, value);

	mkv_error_clear();
	return f->ix.ops->put(f->ix.h, key, key_len, value, VALUE_LEN);
}

/* Assert that record i reads back whole. */
static void assert_record(struct fixture *f, int i)
{
	char key[32], value[VALUE_LEN], buf[VALUE_LEN];
	size_t key_len = record(i, key, value), len = 0;

	assert_ok(f->ix.ops->get(f->ix.h, key, key_len, buf, sizeof buf, &len));
	assert_int_equal(len, VALUE_LEN);
	assert_memory_equal(buf, value, VALUE_LEN);
}

static void assert_absent(struct fixture *f, const void *key, size_t key_len)
{
	size_t len;

	assert_code(f->ix.ops->get(f->ix.h, key, key_len, NULL, 0, &len), MKV_E_NOTFOUND);
}

/* The number of entries a cursor over prefix yields. */
static size_t count_keys(struct fixture *f, const char *prefix)
{
	const void *key, *value;
	size_t key_len, value_len, n = 0;
	int rc;

	assert_ok(f->ix.ops->cursor_open(f->ix.h, prefix, strlen(prefix), "", 0, &f->cursor));
	while ((rc = f->ix.ops->cursor_next(f->cursor, &key, &key_len, &value,
					    &value_len)) == 0)
		n++;
	assert_int_equal(rc, MKV_E_NOTFOUND);
	f->ix.ops->cursor_close(f->cursor);
	f->cursor = NULL;
	return n;
}

/* ---- setup and teardown -------------------------------------------------- */

static int setup(void **state)
{
	const char *plugindir = getenv("MKV_TEST_PLUGINDIR");
	struct fixture *f = calloc(1, sizeof *f);
	char err[MKV_PLUGIN_ERR_MAX];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/mkv-lmdb-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir) ||
	    mkv_plugin_load("lmdb", plugindir, MKV_PLUGIN_INDEX, &f->plugin, err) < 0) {
		print_error("lmdb_specific: %s\n", err);
		free(f);
		return -1;
	}
	f->ops = (const struct mkv_index_ops *)f->plugin.head;
	f->opts.items = f->items;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->cursor)
		f->ix.ops->cursor_close(f->cursor);
	mkv_index_close(&f->ix);
	mkv_plugin_unload(&f->plugin);
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* ---- growing the map ----------------------------------------------------- */

static void a_32k_map_grows_to_hold_5mb_of_records(void **state)
{
	struct fixture *f = *state;
	const int n = 5 * 1024 * 1024 / VALUE_LEN;

	set_option(f, "map_size", "32K");
	assert_ok(open_index(f));
	for (int i = 0; i < n; i++)
		assert_ok(put_record(f, i));
	for (int i = 0; i < n; i++)
		assert_record(f, i);
	assert_int_equal(count_keys(f, "/k"), n);
}

static void a_grown_index_reopens_with_its_small_map_size_and_grows_again(void **state)
{
	struct fixture *f = *state;

	set_option(f, "map_size", "32K");
	assert_ok(open_index(f));
	for (int i = 0; i < 2000; i++)
		assert_ok(put_record(f, i));
	mkv_index_close(&f->ix);
	assert_ok(open_index(f));
	for (int i = 2000; i < 4000; i++)
		assert_ok(put_record(f, i));
	for (int i = 0; i < 4000; i++)
		assert_record(f, i);
}

static void a_batch_larger_than_twice_the_map_grows_it_as_often_as_needed(void **state)
{
	struct fixture *f = *state;
	enum { N = 4000 };
	static char keys[N][32], values[N][VALUE_LEN];
	static struct mkv_index_op ops[N];

	set_option(f, "map_size", "32K");
	assert_ok(open_index(f));
	for (int i = 0; i < N; i++) {
		size_t key_len = record(i, keys[i], values[i]);

		ops[i] = (struct mkv_index_op){ MKV_INDEX_PUT, keys[i], key_len, values[i],
						VALUE_LEN };
	}
	assert_ok(f->ix.ops->batch(f->ix.h, ops, N));
	for (int i = 0; i < N; i++)
		assert_record(f, i);
}

static void a_map_held_at_map_max_fills_with_full_and_keeps_its_records(void **state)
{
	struct fixture *f = *state;
	int rc = 0, written = 0;

	set_option(f, "map_size", "32K");
	set_option(f, "map_max", "32K");
	assert_ok(open_index(f));
	while (written < 100000 && (rc = put_record(f, written)) == 0)
		written++;
	assert_int_equal(rc, MKV_E_FULL);
	assert_contains(mkv_error_message(rc), "map full");
	assert_contains(mkv_error_message(rc), "map_max");
	assert_true(written > 0);

	assert_code(put_record(f, written), MKV_E_FULL); /* still full, still no crash */
	for (int i = 0; i < written; i++)
		assert_record(f, i);
	assert_absent(f, "/k9999999", 9);
	assert_int_equal(count_keys(f, "/k"), written);

	mkv_index_close(&f->ix);
	assert_ok(open_index(f));
	for (int i = 0; i < written; i++)
		assert_record(f, i);
}

static void a_batch_that_does_not_fit_under_map_max_writes_nothing(void **state)
{
	struct fixture *f = *state;
	enum { N = 400 };
	static char keys[N][32], values[N][VALUE_LEN];
	static struct mkv_index_op ops[N];

	set_option(f, "map_size", "32K");
	set_option(f, "map_max", "64K");
	assert_ok(open_index(f));
	for (int i = 0; i < N; i++) {
		size_t key_len = record(i, keys[i], values[i]);

		ops[i] = (struct mkv_index_op){ MKV_INDEX_PUT, keys[i], key_len, values[i],
						VALUE_LEN };
	}
	assert_code(f->ix.ops->batch(f->ix.h, ops, N), MKV_E_FULL);
	assert_int_equal(count_keys(f, ""), 0);
	assert_ok(put_record(f, 0)); /* the index still takes what fits */
	assert_record(f, 0);
}

static void an_open_cursor_does_not_stop_the_map_from_growing(void **state)
{
	struct fixture *f = *state;
	const void *key, *value;
	size_t key_len, value_len, seen = 1;
	int rc;

	set_option(f, "map_size", "32K");
	assert_ok(open_index(f));
	for (int i = 0; i < 100; i++)
		assert_ok(put_record(f, i));
	assert_ok(f->ix.ops->cursor_open(f->ix.h, "/k", 2, "", 0, &f->cursor));
	assert_ok(f->ix.ops->cursor_next(f->cursor, &key, &key_len, &value, &value_len));
	assert_memory_equal(key, "/k0000000", key_len);

	for (int i = 100; i < 4000; i++) /* needs several growths */
		assert_ok(put_record(f, i));

	while ((rc = f->ix.ops->cursor_next(f->cursor, &key, &key_len, &value,
					    &value_len)) == 0)
		seen++;
	assert_int_equal(rc, MKV_E_NOTFOUND);
	assert_true(seen >= 100 && seen <= 4000);
}

/* ---- sixteen threads while the map grows --------------------------------- */

struct worker {
	struct fixture *f;
	int id;
	int failures;
};

/* Whether a cursor over this worker's prefix sees exactly n keys. */
static bool worker_counts(struct worker *w, const char *prefix, int n)
{
	const struct mkv_index_ops *ops = w->f->ix.ops;
	struct mkv_index_cursor *c;
	const void *key, *value;
	size_t key_len, value_len;
	int rc, seen = 0;

	if (ops->cursor_open(w->f->ix.h, prefix, strlen(prefix), "", 0, &c) != 0)
		return false;
	while ((rc = ops->cursor_next(c, &key, &key_len, &value, &value_len)) == 0)
		seen++;
	ops->cursor_close(c);
	return rc == MKV_E_NOTFOUND && seen == n;
}

/*
 * Put, read back and now and then list this worker's keys, counting failures
 * (cmocka's asserts are not thread-safe).
 */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct mkv_index_ops *ops = w->f->ix.ops;
	char prefix[16], key[48], value[VALUE_LEN], buf[VALUE_LEN];
	size_t len;

	snprintf(prefix, sizeof prefix, "/t%02d/", w->id);
	memset(value, 'v', sizeof value);
	for (int i = 0; i < KEYS_PER_THREAD; i++) {
		int kn = snprintf(key, sizeof key, "%sk%05d", prefix, i);

		memcpy(value, key, (size_t)kn);
		if (ops->put(w->f->ix.h, key, (size_t)kn, value, sizeof value) != 0 ||
		    ops->get(w->f->ix.h, key, (size_t)kn, buf, sizeof buf, &len) != 0 ||
		    len != sizeof value || memcmp(buf, value, len) != 0)
			w->failures++;
		if (i % 50 == 49 && !worker_counts(w, prefix, i + 1))
			w->failures++;
	}
	return NULL;
}

static void sixteen_threads_put_get_and_list_while_the_map_grows(void **state)
{
	struct fixture *f = *state;
	struct worker workers[THREADS];
	pthread_t threads[THREADS];

	set_option(f, "map_size", "32K");
	assert_ok(open_index(f));
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .f = f, .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(workers[i].failures, 0);
	assert_int_equal(count_keys(f, "/t"), THREADS * KEYS_PER_THREAD);
}

/* ---- keys, options, exclusivity ------------------------------------------ */

static void keys_lmdb_cannot_hold_are_refused(void **state)
{
	struct fixture *f = *state;
	char long_key[600];
	size_t len;

	assert_ok(open_index(f));
	memset(long_key, 'x', sizeof long_key);
	long_key[0] = '/';
	assert_code(f->ix.ops->put(f->ix.h, long_key, sizeof long_key, "v", 1), MKV_E_TOOLONG);
	assert_contains(mkv_error_message(MKV_E_TOOLONG), "600");
	assert_code(f->ix.ops->get(f->ix.h, long_key, sizeof long_key, NULL, 0, &len),
		    MKV_E_TOOLONG);
	assert_code(f->ix.ops->put(f->ix.h, "", 0, "v", 1), MKV_E_INVAL);
	assert_code(f->ix.ops->del(f->ix.h, "", 0), MKV_E_INVAL);
}

static void a_cursor_may_start_past_the_longest_key_lmdb_holds(void **state)
{
	struct fixture *f = *state;
	char start[600];
	const void *key, *value;
	size_t key_len, value_len;

	assert_ok(open_index(f));
	memset(start, 'm', sizeof start);
	start[0] = '/';
	assert_ok(f->ix.ops->put(f->ix.h, "/a", 2, "1", 1));
	assert_ok(f->ix.ops->put(f->ix.h, start, 511, "2", 1)); /* a prefix of start */
	assert_ok(f->ix.ops->put(f->ix.h, "/n", 2, "3", 1));
	assert_ok(f->ix.ops->cursor_open(f->ix.h, "/", 1, start, sizeof start, &f->cursor));
	assert_ok(f->ix.ops->cursor_next(f->cursor, &key, &key_len, &value, &value_len));
	assert_int_equal(key_len, 2);
	assert_memory_equal(key, "/n", 2);
	assert_code(f->ix.ops->cursor_next(f->cursor, &key, &key_len, &value, &value_len),
		    MKV_E_NOTFOUND);
}

static void bad_sizes_fail_with_inval_naming_the_option(void **state)
{
	struct fixture *f = *state;
	static const struct mkv_option bad[][2] = {
		{ { "map_size", "16K" }, { NULL, NULL } },
		{ { "map_size", "1M" }, { "map_max", "512K" } },
		{ { "max_readers", "0" }, { NULL, NULL } },
		{ { "sync", "sometimes" }, { NULL, NULL } },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *named = bad[i][1].key ? bad[i][1].key : bad[i][0].key;

		f->opts.count = 0;
		set_option(f, bad[i][0].key, bad[i][0].value);
		if (bad[i][1].key)
			set_option(f, bad[i][1].key, bad[i][1].value);
		assert_int_equal(open_index(f), MKV_E_INVAL);
		assert_contains(mkv_error_message(MKV_E_INVAL), named);
		assert_null(f->ix.h);
	}
}

static void every_option_is_accepted(void **state)
{
	struct fixture *f = *state;

	set_option(f, "map_size", "1M");
	set_option(f, "map_max", "1G");
	set_option(f, "sync", "true");
	set_option(f, "max_readers", "64");
	assert_ok(open_index(f));
	assert_ok(put_record(f, 1));
	assert_record(f, 1);
}

static void a_missing_directory_is_created_with_its_parents(void **state)
{
	struct fixture *f = *state;

	strncat(f->dir, "/a/b/c", sizeof f->dir - strlen(f->dir) - 1);
	assert_ok(open_index(f));
	assert_ok(put_record(f, 1));
	assert_record(f, 1);
	mkv_index_close(&f->ix);
	f->dir[strlen(f->dir) - strlen("/a/b/c")] = '\0'; /* teardown removes the tree */
}

static void a_directory_holding_a_leveldb_index_is_refused(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16];
	FILE *current;

	snprintf(path, sizeof path, "%s/CURRENT", f->dir);
	assert_non_null(current = fopen(path, "w"));
	fputs("MANIFEST-000002\n", current);
	fclose(current);
	assert_int_equal(open_index(f), MKV_E_INVAL);
	assert_contains(mkv_error_message(MKV_E_INVAL), "LevelDB");
	assert_null(f->ix.h);
}

/*
 * In a forked child, open f's index and write "CODE MESSAGE" to fd. The
 * answer goes through a pipe, not the exit status, which a leak checker
 * following the fork may change.
 */
static void open_in_child(struct fixture *f, int fd)
{
	struct mkv_index ix;
	int rc = mkv_index_open(&ix, f->ops, f->dir, &f->opts);

	dprintf(fd, "%d %s", rc, rc ? mkv_error_message(rc) : "opened");
	_exit(0);
}

static void a_second_open_from_a_forked_process_is_busy(void **state)
{
	struct fixture *f = *state;
	char answer[1024] = "";
	int fds[2], code = 0;
	ssize_t n;
	pid_t pid;

	assert_ok(open_index(f));
	assert_ok(put_record(f, 7));
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		open_in_child(f, fds[1]);
	}
	close(fds[1]);
	n = read(fds[0], answer, sizeof answer - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_true(n > 0 && sscanf(answer, "%d", &code) == 1);
	assert_int_equal(code, MKV_E_BUSY);
	assert_contains(answer, f->dir);
	assert_contains(answer, "in use by another process");
	assert_record(f, 7); /* the holder is unaffected */
}

/* ---- running ------------------------------------------------------------- */

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		TEST(a_32k_map_grows_to_hold_5mb_of_records),
		TEST(a_grown_index_reopens_with_its_small_map_size_and_grows_again),
		TEST(a_batch_larger_than_twice_the_map_grows_it_as_often_as_needed),
		TEST(a_map_held_at_map_max_fills_with_full_and_keeps_its_records),
		TEST(a_batch_that_does_not_fit_under_map_max_writes_nothing),
		TEST(an_open_cursor_does_not_stop_the_map_from_growing),
		TEST(sixteen_threads_put_get_and_list_while_the_map_grows),
		TEST(keys_lmdb_cannot_hold_are_refused),
		TEST(a_cursor_may_start_past_the_longest_key_lmdb_holds),
		TEST(bad_sizes_fail_with_inval_naming_the_option),
		TEST(every_option_is_accepted),
		TEST(a_missing_directory_is_created_with_its_parents),
		TEST(a_directory_holding_a_leveldb_index_is_refused),
		TEST(a_second_open_from_a_forked_process_is_busy),
	};

	if (!getenv("MKV_TEST_PLUGINDIR")) {
		fprintf(stderr, "lmdb_specific: set MKV_TEST_PLUGINDIR to the built plugins\n");
		return 99; /* automake's "hard error" */
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
