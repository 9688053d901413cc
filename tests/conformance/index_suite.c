/*
 * index_suite.c - the behaviour every index backend owes the core.
 *
 * Every test runs against a fresh index in a temporary directory of its own
 * (removed afterwards), with the backend loaded through the core's loader
 * exactly as mkv loads it. make check runs the suite over each bundled
 * backend (index_conformance.c, one line per backend); mkv-plugin-check runs
 * it over any backend a third party builds.
 *
 * The tests state what the core relies on: the snprintf-like get, replacing
 * puts and idempotent deletes, arbitrary bytes in keys and values, ordered
 * atomic batches, durability across close and reopen, prefix cursors in
 * bytewise order that resume at a start key, concurrent use from many
 * threads, refusal to open an index another process holds, and option
 * checking. One test pins down what an index written by the Go minikeyvalue
 * looks like (URL paths as keys, its record format as values).
 *
 * The cross-process lock test re-executes the running program in a hidden
 * mode (see mkv_conformance_index_child) that opens the index and prints the
 * code: a plain fork() would inherit the parent's in-process view of the lock.
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
#include "suite.h"

/* The hidden mode of the second process: CHILD_FLAG PLUGIN PLUGINDIR DIR. */
#define CHILD_FLAG "--mkv-conformance-open-index"

#define THREADS 8
#define KEYS_PER_THREAD 500
#define LISTING_MAX 4096

/* One backend as loaded for its group of tests. */
struct suite {
	const struct mkv_conformance_target *target;
	struct mkv_plugin plugin;
	const struct mkv_index_ops *ops;
};

/* What each test gets: an open, empty index in a directory of its own. */
struct fixture {
	const struct suite *suite;
	char dir[PATH_MAX];
	struct mkv_options opts;
	struct mkv_index ix;
	struct mkv_index_cursor *cursor; /* open cursor, closed by teardown if a test fails */
	char listing[LISTING_MAX];
};

/* One entry a cursor exposed; owned by the cursor, valid until its next call. */
struct entry {
	const void *key, *value;
	size_t key_len, value_len;
};

static const char *self_exe;

/* ---- helpers --------------------------------------------------------------- */

static int open_index(struct fixture *f)
{
	mkv_error_clear();
	return mkv_index_open(&f->ix, f->suite->ops, f->dir, &f->opts);
}

static void reopen_index(struct fixture *f)
{
	mkv_index_close(&f->ix);
	assert_ok(open_index(f));
}

static void put_bytes(struct fixture *f, const void *key, size_t key_len,
		      const void *value, size_t value_len)
{
	assert_ok(f->ix.ops->put(f->ix.h, key, key_len, value, value_len));
}

static void put_str(struct fixture *f, const char *key, const char *value)
{
	put_bytes(f, key, strlen(key), value, strlen(value));
}

static void del_str(struct fixture *f, const char *key)
{
	assert_ok(f->ix.ops->del(f->ix.h, key, strlen(key)));
}

/* Assert that key holds exactly the value bytes. */
static void assert_value(struct fixture *f, const void *key, size_t key_len,
			 const void *value, size_t value_len)
{
	char buf[256];
	size_t len = 0;

	assert_true(value_len <= sizeof buf);
	assert_ok(f->ix.ops->get(f->ix.h, key, key_len, buf, sizeof buf, &len));
	assert_int_equal(len, value_len);
	assert_memory_equal(buf, value, value_len);
}

static void assert_str(struct fixture *f, const char *key, const char *value)
{
	assert_value(f, key, strlen(key), value, strlen(value));
}

static void assert_absent(struct fixture *f, const void *key, size_t key_len)
{
	char buf[16];
	size_t len = 0;

	assert_code(f->ix.ops->get(f->ix.h, key, key_len, buf, sizeof buf, &len),
		    MKV_E_NOTFOUND);
}

/* Open f's cursor over prefix from start (either may be ""). */
static void open_cursor(struct fixture *f, const char *prefix, const char *start)
{
	assert_null(f->cursor);
	assert_ok(f->ix.ops->cursor_open(f->ix.h, prefix, strlen(prefix), start,
					 strlen(start), &f->cursor));
}

/* Step f's cursor into *e; returns the slot's code. */
static int next_entry(struct fixture *f, struct entry *e)
{
	mkv_error_clear();
	return f->ix.ops->cursor_next(f->cursor, &e->key, &e->key_len, &e->value,
				      &e->value_len);
}

/* Assert that f's cursor yields key next, and return its entry. */
static struct entry assert_next_key(struct fixture *f, const char *key)
{
	struct entry e;

	assert_ok(next_entry(f, &e));
	assert_int_equal(e.key_len, strlen(key));
	assert_memory_equal(e.key, key, e.key_len);
	return e;
}

static void close_cursor(struct fixture *f)
{
	if (f->cursor)
		f->ix.ops->cursor_close(f->cursor);
	f->cursor = NULL;
}

/* Store each key with the value "value of KEY", the value list_keys() checks. */
static void put_keys(struct fixture *f, const char *const *keys)
{
	char value[128];

	for (; *keys; keys++) {
		snprintf(value, sizeof value, "value of %s", *keys);
		put_str(f, *keys, value);
	}
}

/*
 * The keys a cursor over prefix from start yields, space separated, after
 * checking that each comes with the value put_keys() stored. Owned by f.
 */
static const char *list_keys(struct fixture *f, const char *prefix, const char *start)
{
	struct entry e;
	size_t used = 0;
	char want[128];
	int rc;

	open_cursor(f, prefix, start);
	while ((rc = next_entry(f, &e)) == 0) {
		snprintf(want, sizeof want, "value of %.*s", (int)e.key_len, (const char *)e.key);
		assert_int_equal(e.value_len, strlen(want));
		assert_memory_equal(e.value, want, e.value_len);
		assert_true(used + e.key_len + 2 < sizeof f->listing);
		if (used)
			f->listing[used++] = ' ';
		memcpy(f->listing + used, e.key, e.key_len);
		used += e.key_len;
	}
	close_cursor(f);
	assert_int_equal(rc, MKV_E_NOTFOUND);
	f->listing[used] = '\0';
	return f->listing;
}

/* ---- setup and teardown ---------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	int rc = MKV_E_IO;

	if (!f)
		return -1;
	f->suite = *state;
	snprintf(f->dir, sizeof f->dir, "%s/mkv-index-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir) || (rc = open_index(f)) < 0) {
		print_error("cannot open a %s index in %s: %s\n", f->suite->target->plugin,
			    f->dir, mkv_error_message(rc));
		remove_tree(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close_cursor(f); /* a cursor must not outlive its index */
	mkv_index_close(&f->ix);
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* ---- get, put, del ----------------------------------------------------------- */

static void get_of_an_absent_key_is_notfound(void **state)
{
	struct fixture *f = *state;

	assert_absent(f, "/nothing", 8);
}

static void put_then_get_returns_the_bytes(void **state)
{
	struct fixture *f = *state;

	put_str(f, "/hello", "world");
	assert_str(f, "/hello", "world");
}

static void get_into_a_small_buffer_reports_the_full_length_and_copies_a_prefix(void **state)
{
	struct fixture *f = *state;
	char buf[8];
	size_t len = 0;

	memset(buf, '#', sizeof buf);
	put_str(f, "/k", "0123456789abcdef");
	assert_ok(f->ix.ops->get(f->ix.h, "/k", 2, buf, 4, &len));
	assert_int_equal(len, 16);
	assert_memory_equal(buf, "0123####", 8);
}

static void get_with_no_buffer_reports_the_length(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;

	put_str(f, "/k", "0123456789");
	assert_ok(f->ix.ops->get(f->ix.h, "/k", 2, NULL, 0, &len));
	assert_int_equal(len, 10);
}

static void an_empty_value_is_stored_and_found(void **state)
{
	struct fixture *f = *state;

	put_str(f, "/empty", "");
	assert_str(f, "/empty", "");
}

static void put_replaces_the_previous_value(void **state)
{
	struct fixture *f = *state;

	put_str(f, "/k", "a long first value");
	put_str(f, "/k", "short");
	assert_str(f, "/k", "short");
}

static void del_removes_the_key(void **state)
{
	struct fixture *f = *state;

	put_str(f, "/k", "v");
	put_str(f, "/k2", "v2");
	del_str(f, "/k");
	assert_absent(f, "/k", 2);
	assert_str(f, "/k2", "v2");
}

static void del_of_an_absent_key_succeeds(void **state)
{
	struct fixture *f = *state;

	del_str(f, "/never-written");
	assert_absent(f, "/never-written", 14);
}

static void keys_and_values_may_hold_nul_and_0xff_bytes(void **state)
{
	struct fixture *f = *state;
	static const char k1[] = { '/', 'a', '\0', 'b' }, k2[] = { '/', 'a', '\0', 'c' };
	static const char k3[] = { '/', (char)0xff, (char)0xff };
	static const char v1[] = { '\0', '\0', 'x' }, v3[] = { (char)0xff, '\0', (char)0xff };

	put_bytes(f, k1, sizeof k1, v1, sizeof v1);
	put_bytes(f, k2, sizeof k2, "2", 1);
	put_bytes(f, k3, sizeof k3, v3, sizeof v3);
	assert_value(f, k1, sizeof k1, v1, sizeof v1);
	assert_value(f, k2, sizeof k2, "2", 1);
	assert_value(f, k3, sizeof k3, v3, sizeof v3);
	assert_absent(f, "/a", 2);
	assert_absent(f, k1, 3); /* "/a\0" is a key of its own */
}

/* ---- batches and durability -------------------------------------------------- */

static void batch_applies_puts_and_deletes_in_order(void **state)
{
	struct fixture *f = *state;
	const struct mkv_index_op ops[] = {
		{ MKV_INDEX_PUT, "/a", 2, "1", 1 },
		{ MKV_INDEX_DELETE, "/a", 2, NULL, 0 },
		{ MKV_INDEX_PUT, "/b", 2, "first", 5 },
		{ MKV_INDEX_PUT, "/b", 2, "second", 6 },
		{ MKV_INDEX_DELETE, "/old", 4, NULL, 0 },
		{ MKV_INDEX_DELETE, "/absent", 7, NULL, 0 },
		{ MKV_INDEX_PUT, "/c", 2, "3", 1 },
	};

	put_str(f, "/old", "gone after the batch");
	assert_ok(f->ix.ops->batch(f->ix.h, ops, sizeof ops / sizeof ops[0]));
	assert_absent(f, "/a", 2);
	assert_str(f, "/b", "second");
	assert_absent(f, "/old", 4);
	assert_str(f, "/c", "3");
}

static void an_empty_batch_succeeds(void **state)
{
	struct fixture *f = *state;

	assert_ok(f->ix.ops->batch(f->ix.h, NULL, 0));
}

static void data_survives_close_and_reopen(void **state)
{
	struct fixture *f = *state;
	const struct mkv_index_op ops[] = {
		{ MKV_INDEX_PUT, "/batched", 8, "b", 1 },
		{ MKV_INDEX_DELETE, "/deleted", 8, NULL, 0 },
	};

	put_str(f, "/kept", "k");
	put_str(f, "/deleted", "d");
	assert_ok(f->ix.ops->batch(f->ix.h, ops, 2));
	reopen_index(f);
	assert_str(f, "/kept", "k");
	assert_str(f, "/batched", "b");
	assert_absent(f, "/deleted", 8);
}

/* ---- cursors ------------------------------------------------------------------ */

static const char *const prefix_keys[] = {
	"/", "/`", "/a", "/a/b", "/ab", "/a\xff", "/b", "/b/a", NULL,
};

static void a_cursor_yields_exactly_the_keys_with_its_prefix_in_bytewise_order(void **state)
{
	struct fixture *f = *state;

	put_keys(f, prefix_keys);
	assert_string_equal(list_keys(f, "/a", ""), "/a /a/b /ab /a\xff");
	assert_string_equal(list_keys(f, "/a/", ""), "/a/b");
	assert_string_equal(list_keys(f, "/b", ""), "/b /b/a");
	assert_string_equal(list_keys(f, "/c", ""), "");
}

static void a_cursor_with_a_start_resumes_at_the_first_key_not_below_it(void **state)
{
	struct fixture *f = *state;

	put_keys(f, prefix_keys);
	assert_string_equal(list_keys(f, "/a", "/ab"), "/ab /a\xff");
	assert_string_equal(list_keys(f, "/a", "/a/c"), "/ab /a\xff");
	assert_string_equal(list_keys(f, "/a", "/"), "/a /a/b /ab /a\xff");
	assert_string_equal(list_keys(f, "/a", "/b"), "");
	assert_string_equal(list_keys(f, "", "/ab"), "/ab /a\xff /b /b/a");
}

static void a_cursor_with_an_empty_prefix_walks_every_key(void **state)
{
	struct fixture *f = *state;

	put_keys(f, prefix_keys);
	assert_string_equal(list_keys(f, "", ""), "/ /` /a /a/b /ab /a\xff /b /b/a");
}

static void a_cursor_past_its_end_keeps_returning_notfound(void **state)
{
	struct fixture *f = *state;
	static const char *const keys[] = { "/a", "/b", NULL };
	struct entry e;

	put_keys(f, keys);
	open_cursor(f, "/a", "");
	assert_next_key(f, "/a");
	for (int i = 0; i < 3; i++)
		assert_code(next_entry(f, &e), MKV_E_NOTFOUND);
	close_cursor(f);

	open_cursor(f, "", "/z");
	for (int i = 0; i < 3; i++)
		assert_code(next_entry(f, &e), MKV_E_NOTFOUND);
	close_cursor(f);
}

static void a_cursor_on_an_empty_index_finds_nothing(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(list_keys(f, "", ""), "");
	assert_string_equal(list_keys(f, "/a", "/a/b"), "");
}

/* ---- compatibility with the Go minikeyvalue ------------------------------------ */

static void records_of_the_go_minikeyvalue_round_trip_and_sort_by_url_path(void **state)
{
	struct fixture *f = *state;
	const char *record = "HASH5d41402abc4b2a76b9719d911017c592localhost:3001/sv05";
	const char *deleted = "DELETEDlocalhost:3001/sv05,localhost:3002/sv01";
	struct entry e;

	put_str(f, "/hello", record);
	assert_str(f, "/hello", record);

	put_str(f, "/b", deleted);
	put_str(f, "/a/b", record);
	put_str(f, "/a", record);
	open_cursor(f, "/", "/a");
	assert_next_key(f, "/a");
	assert_next_key(f, "/a/b");
	e = assert_next_key(f, "/b");
	assert_int_equal(e.value_len, strlen(deleted));
	assert_memory_equal(e.value, deleted, e.value_len);
	close_cursor(f);
}

/* ---- concurrency ---------------------------------------------------------------- */

struct worker {
	struct fixture *f;
	int id;
	int failures;
};

/* Put then read back this worker's keys; counts failures (cmocka asserts are not thread-safe). */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct mkv_index_ops *ops = w->f->ix.ops;
	char key[64], value[64], buf[64];
	size_t len;

	for (int i = 0; i < KEYS_PER_THREAD; i++) {
		int kn = snprintf(key, sizeof key, "/t%d/k%05d", w->id, i);
		int vn = snprintf(value, sizeof value, "value %d of thread %d", i, w->id);

		if (ops->put(w->f->ix.h, key, (size_t)kn, value, (size_t)vn) != 0 ||
		    ops->get(w->f->ix.h, key, (size_t)kn, buf, sizeof buf, &len) != 0 ||
		    len != (size_t)vn || memcmp(buf, value, len) != 0)
			w->failures++;
	}
	return NULL;
}

static void eight_threads_put_and_get_distinct_keys_concurrently(void **state)
{
	struct fixture *f = *state;
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	size_t count = 0;
	struct entry e;

	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .f = f, .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
	open_cursor(f, "/t", "");
	while (next_entry(f, &e) == 0)
		count++;
	close_cursor(f);
	assert_int_equal(count, THREADS * KEYS_PER_THREAD);
}

/* ---- opening ---------------------------------------------------------------------- */

/*
 * Open f's directory with f's backend in another process: runs the calling
 * program in the hidden mode, which prints "CODE MESSAGE". Asserts the code
 * is want (showing the message when it is not).
 */
static void assert_open_in_another_process(struct fixture *f, int want)
{
	char out[1024] = "";
	int fds[2], code = 1, status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(self_exe, self_exe, CHILD_FLAG, f->suite->target->plugin,
		      f->suite->target->plugindir, f->dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof out - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(n > 0 && sscanf(out, "%d", &code) == 1);
	if (code != want)
		print_error("the other process got: %s", out);
	assert_int_equal(code, want);
}

static void a_second_open_from_another_process_is_busy(void **state)
{
	struct fixture *f = *state;

	put_str(f, "/k", "v");
	assert_open_in_another_process(f, MKV_E_BUSY);
	assert_str(f, "/k", "v");
	mkv_index_close(&f->ix);
	assert_open_in_another_process(f, 0);
	assert_ok(open_index(f));
	assert_str(f, "/k", "v");
}

/* Open f's directory again (closed first) with one option; returns the code. */
static int open_with_option(struct fixture *f, const struct mkv_option *option)
{
	mkv_index_close(&f->ix);
	f->opts = (struct mkv_options){ .items = option, .count = 1 };
	return open_index(f);
}

static void an_option_the_backend_knows_is_accepted(void **state)
{
	struct fixture *f = *state;

	put_str(f, "/k", "v");
	if (!f->suite->target->good_option.key)
		skip();
	assert_ok(open_with_option(f, &f->suite->target->good_option));
	assert_str(f, "/k", "v");
}

static void a_bad_option_value_fails_with_inval_naming_the_key(void **state)
{
	struct fixture *f = *state;
	const struct mkv_option *bad = &f->suite->target->bad_option;

	if (!bad->key)
		skip();
	assert_int_equal(open_with_option(f, bad), MKV_E_INVAL);
	assert_non_null(strstr(mkv_error_message(MKV_E_INVAL), bad->key));
	assert_null(f->ix.h);
}

static void an_unknown_option_fails_with_inval_naming_it(void **state)
{
	struct fixture *f = *state;
	static const struct mkv_option unknown = { "no_such_option", "1" };

	assert_int_equal(open_with_option(f, &unknown), MKV_E_INVAL);
	assert_non_null(strstr(mkv_error_message(MKV_E_INVAL), "no_such_option"));
	assert_null(f->ix.h);
}

/* ---- running -------------------------------------------------------------------- */

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static const struct CMUnitTest tests[] = {
	TEST(get_of_an_absent_key_is_notfound),
	TEST(put_then_get_returns_the_bytes),
	TEST(get_into_a_small_buffer_reports_the_full_length_and_copies_a_prefix),
	TEST(get_with_no_buffer_reports_the_length),
	TEST(an_empty_value_is_stored_and_found),
	TEST(put_replaces_the_previous_value),
	TEST(del_removes_the_key),
	TEST(del_of_an_absent_key_succeeds),
	TEST(keys_and_values_may_hold_nul_and_0xff_bytes),
	TEST(batch_applies_puts_and_deletes_in_order),
	TEST(an_empty_batch_succeeds),
	TEST(data_survives_close_and_reopen),
	TEST(a_cursor_yields_exactly_the_keys_with_its_prefix_in_bytewise_order),
	TEST(a_cursor_with_a_start_resumes_at_the_first_key_not_below_it),
	TEST(a_cursor_with_an_empty_prefix_walks_every_key),
	TEST(a_cursor_past_its_end_keeps_returning_notfound),
	TEST(a_cursor_on_an_empty_index_finds_nothing),
	TEST(records_of_the_go_minikeyvalue_round_trip_and_sort_by_url_path),
	TEST(eight_threads_put_and_get_distinct_keys_concurrently),
	TEST(a_second_open_from_another_process_is_busy),
	TEST(an_option_the_backend_knows_is_accepted),
	TEST(a_bad_option_value_fails_with_inval_naming_the_key),
	TEST(an_unknown_option_fails_with_inval_naming_it),
};

#define NTESTS (sizeof tests / sizeof tests[0])

/* Load t into s; returns 0 or prints why not and returns -1. */
static int load_backend(const struct mkv_conformance_target *t, struct suite *s)
{
	char err[MKV_PLUGIN_ERR_MAX];

	s->target = t;
	if (mkv_plugin_load(t->plugin, t->plugindir, MKV_PLUGIN_INDEX, &s->plugin, err) < 0) {
		fprintf(stderr, "index suite: %s\n", err);
		return -1;
	}
	s->ops = (const struct mkv_index_ops *)s->plugin.head;
	return 0;
}

int mkv_conformance_index_run(const struct mkv_conformance_target *t, const char *exe)
{
	struct CMUnitTest group[NTESTS];
	struct suite s;
	int failed;

	if (load_backend(t, &s) < 0)
		return 1;
	self_exe = exe;
	printf("index backend: %s (%s)\n", s.ops->head.name, s.plugin.path);
	fflush(stdout);
	for (size_t i = 0; i < NTESTS; i++) {
		group[i] = tests[i];
		group[i].initial_state = &s;
	}
	failed = _cmocka_run_group_tests(s.ops->head.name, group, NTESTS, NULL, NULL);
	mkv_plugin_unload(&s.plugin);
	return failed;
}

int mkv_conformance_index_child(int argc, char **argv)
{
	struct mkv_conformance_target t = { 0 };
	struct mkv_options opts = { 0 };
	struct mkv_index ix;
	struct suite s;
	int rc;

	if (argc != 5 || strcmp(argv[1], CHILD_FLAG) != 0)
		return -1;
	t.plugin = argv[2];
	t.plugindir = argv[3];
	if (load_backend(&t, &s) < 0)
		return 1;
	mkv_error_clear();
	rc = mkv_index_open(&ix, s.ops, argv[4], &opts);
	printf("%d %s\n", rc, rc ? mkv_error_message(rc) : "opened");
	if (rc == 0)
		mkv_index_close(&ix);
	mkv_plugin_unload(&s.plugin);
	return 0;
}
