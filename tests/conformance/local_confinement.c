/*
 * local_confinement.c - what the local volume backend promises beyond the
 * generic volume suite: no key reaches outside its volume directory, a
 * failed put leaves nothing behind, and a value lives at exactly replica +
 * path, as under an nginx volume's root.
 *
 * Loads $MKV_TEST_PLUGINDIR/local.so through the core's loader. Every test
 * gets a fresh sandbox:
 *
 *     BASE/vol/                  the replica
 *     BASE/x                     "precious": what "/../x" would reach
 *     BASE/outside/41/aGVsbG8=   "outside!": what a planted symlink would reach
 *
 * and ends by checking that everything outside BASE/vol is as it was:
 * nothing created, nothing changed, nothing removed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks.h"
#include "plugin.h"

#define BASE_LEN 256    /* the sandbox */
#define SANDBOX_LEN 512 /* its directories */
#define PATH_LEN 1024   /* anything under them */

static struct mkv_volume vol;

/* The sandbox of the running test. */
static char base[BASE_LEN], replica[SANDBOX_LEN], outside[SANDBOX_LEN];

/* Like assert_code, for refusals that may be either "invalid" or "not found". */
#define assert_refused(call)                                                        \
	do {                                                                        \
		int rc_;                                                            \
		mkv_error_clear();                                                  \
		rc_ = (call);                                                       \
		if (rc_ != MKV_E_INVAL && rc_ != MKV_E_NOTFOUND)                    \
			print_error("%s\n  returned %d (%s), expected a refusal\n", \
				    #call, rc_, mkv_error_message(rc_));            \
		assert_true(rc_ == MKV_E_INVAL || rc_ == MKV_E_NOTFOUND);           \
	} while (0)

/* Write base + "/" + rel into out and return out. */
static const char *in_base(char out[PATH_LEN], const char *rel)
{
	snprintf(out, PATH_LEN, "%s/%s", base, rel);
	return out;
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(close(fd), 0);
}

/* Check that path is a regular file holding exactly content. */
static void assert_file_holds(const char *path, const char *content)
{
	char buf[256];
	struct stat st;
	ssize_t n;
	int fd;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf);
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(content));
	assert_memory_equal(buf, content, (size_t)n);
}

/* The number of entries of dir, hidden ones included ("." and ".." not). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Check that nothing outside the replica was created, changed or removed. */
static void assert_outside_untouched(void)
{
	char p[PATH_LEN];

	assert_int_equal(count_entries(base), 3); /* vol, x, outside */
	assert_file_holds(in_base(p, "x"), "precious");
	assert_int_equal(count_entries(outside), 1);
	assert_int_equal(count_entries(in_base(p, "outside/41")), 1);
	assert_file_holds(in_base(p, "outside/41/aGVsbG8="), "outside!");
}

static int sandbox_setup(void **state)
{
	char p[PATH_LEN];

	(void)state;
	snprintf(base, sizeof base, "%s/mkv-confine.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base))
		return -1;
	snprintf(replica, sizeof replica, "%s/vol", base);
	snprintf(outside, sizeof outside, "%s/outside", base);
	if (mkdir(replica, 0755) < 0 || mkdir(outside, 0755) < 0 ||
	    mkdir(in_base(p, "outside/41"), 0755) < 0)
		return -1;
	write_file(in_base(p, "x"), "precious");
	write_file(in_base(p, "outside/41/aGVsbG8="), "outside!");
	return 0;
}

static int sandbox_teardown(void **state)
{
	(void)state;
	return remove_tree(base);
}

/* A value source handing out a string, then optionally failing instead of ending. */
struct source {
	const char *data;
	size_t len, pos;
	int fail_code; /* returned once data is used up, when nonzero */
};

static ssize_t source_read(void *ctx, void *buf, size_t cap)
{
	struct source *s = ctx;
	size_t n = s->len - s->pos;

	if (cap == 0) { /* rewind, as the ABI allows a backend to ask */
		s->pos = 0;
		return 0;
	}
	if (n == 0)
		return s->fail_code;
	if (n > cap)
		n = cap;
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static int put_string(const char *rep, const char *path, const char *data)
{
	struct source s = { .data = data, .len = strlen(data) };

	return vol.ops->put(vol.h, rep, path, s.len, source_read, &s);
}

static int discard_sink(void *ctx, const void *data, size_t len)
{
	(void)data;
	*(size_t *)ctx += len;
	return 0;
}

static int count_listed(void *ctx, const struct mkv_volume_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

/* Expect every slot to refuse path on rep with code want (0: INVAL or NOTFOUND). */
static void assert_every_slot_refuses(const char *rep, const char *path, int want)
{
	struct mkv_location loc = { .fd = -1 };
	size_t got = 0;
	int listed = 0;
	uint64_t size = 42;

	print_message("path \"%s\" on %s\n", path, rep);
	if (want) {
		assert_code(put_string(rep, path, "evil"), want);
		assert_code(vol.ops->stat(vol.h, rep, path, &size), want);
		assert_code(vol.ops->read(vol.h, rep, path, discard_sink, &got), want);
		assert_code(vol.ops->locate(vol.h, rep, path, &loc), want);
		assert_code(vol.ops->del(vol.h, rep, path), want);
		assert_code(vol.ops->list(vol.h, rep, path, count_listed, &listed), want);
	} else {
		assert_refused(put_string(rep, path, "evil"));
		assert_refused(vol.ops->stat(vol.h, rep, path, &size));
		assert_refused(vol.ops->read(vol.h, rep, path, discard_sink, &got));
		assert_refused(vol.ops->locate(vol.h, rep, path, &loc));
		assert_refused(vol.ops->del(vol.h, rep, path));
		assert_refused(vol.ops->list(vol.h, rep, path, count_listed, &listed));
	}
	assert_int_equal(size, 42);
	assert_int_equal(got, 0);
	assert_int_equal(listed, 0);
	assert_int_equal(loc.fd, -1);
}

static void paths_that_could_leave_the_volume_are_invalid(void **state)
{
	static const char *const bad[] = {
		"/../x", "/a/../../x", "/..", "/./x", "/5d/./41/x", "//x", "/5d//x",
		"x", "../x", "", "/5d/41/..", "/5d/41/.",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_every_slot_refuses(replica, bad[i], MKV_E_INVAL);
	/* A value's path names a file: it cannot end in '/' (a listed directory can). */
	assert_code(put_string(replica, "/5d/41/x/", "evil"), MKV_E_INVAL);
	assert_code(vol.ops->stat(vol.h, replica, "/5d/41/x/", NULL), MKV_E_INVAL);
	assert_outside_untouched();
	assert_int_equal(count_entries(replica), 0);
}

static void a_replica_must_be_an_absolute_path_without_dotdot(void **state)
{
	char rep[PATH_LEN];

	(void)state;
	snprintf(rep, sizeof rep, "%s/vol/../outside", base);
	assert_every_slot_refuses(rep, "/41/aGVsbG8=", MKV_E_INVAL);
	snprintf(rep, sizeof rep, "%s/vol/..", base);
	assert_every_slot_refuses(rep, "/x", MKV_E_INVAL);
	assert_every_slot_refuses("relative/vol", "/5d/41/aGVsbG8=", MKV_E_INVAL);
	assert_outside_untouched();
}

static void a_symlinked_directory_inside_the_volume_is_never_followed(void **state)
{
	char link[PATH_LEN];
	struct stat st;

	(void)state;
	snprintf(link, sizeof link, "%s/5d", replica);
	assert_int_equal(symlink(outside, link), 0);
	assert_every_slot_refuses(replica, "/5d/41/aGVsbG8=", 0);
	assert_every_slot_refuses(replica, "/5d/new/aGVsbG8=", 0);
	assert_every_slot_refuses(replica, "/5d/41", 0);
	/* Listing the link itself shows nothing outside either. */
	assert_refused(vol.ops->list(vol.h, replica, "/5d/", count_listed, &(int){ 0 }));
	assert_outside_untouched();
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void a_symlinked_value_is_never_followed(void **state)
{
	char dir[PATH_LEN], link[PATH_LEN], target[PATH_LEN];
	struct mkv_location loc = { .fd = -1 };
	struct stat st;
	size_t got = 0;

	(void)state;
	snprintf(dir, sizeof dir, "%s/ab", replica);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(link, sizeof link, "%s/ab/bGluaw==", replica);
	assert_int_equal(symlink(in_base(target, "x"), link), 0);

	assert_refused(vol.ops->stat(vol.h, replica, "/ab/bGluaw==", NULL));
	assert_refused(vol.ops->read(vol.h, replica, "/ab/bGluaw==", discard_sink, &got));
	assert_refused(vol.ops->locate(vol.h, replica, "/ab/bGluaw==", &loc));
	assert_refused(vol.ops->del(vol.h, replica, "/ab/bGluaw=="));
	assert_int_equal(got, 0);
	assert_int_equal(loc.fd, -1);
	assert_outside_untouched();

	/* A put replaces the link itself and never writes through it. */
	assert_ok(put_string(replica, "/ab/bGluaw==", "new value"));
	assert_outside_untouched();
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file_holds(link, "new value");
}

static void a_listing_does_not_follow_or_show_symlinks(void **state)
{
	char link[PATH_LEN];
	int listed = 0;

	(void)state;
	assert_ok(put_string(replica, "/5d/41/aGVsbG8=", "hello world"));
	snprintf(link, sizeof link, "%s/5d/41/b3V0", replica);
	assert_int_equal(symlink(outside, link), 0);
	assert_ok(vol.ops->list(vol.h, replica, "/5d/41/", count_listed, &listed));
	assert_int_equal(listed, 1);
	assert_outside_untouched();
}

/* Check that directory dir of the replica holds exactly n entries, hidden ones included. */
static void assert_replica_dir_entries(const char *dir, int n)
{
	char p[PATH_LEN];

	snprintf(p, sizeof p, "%s%s", replica, dir);
	assert_int_equal(count_entries(p), n);
}

static void an_aborted_put_leaves_no_file_and_no_temporary_file(void **state)
{
	char *big = malloc(1024 * 1024 + 1);
	struct source s;

	(void)state;
	assert_non_null(big);
	memset(big, 'v', 1024 * 1024);
	big[1024 * 1024] = '\0';
	s = (struct source){ .data = big, .len = 1024 * 1024, .fail_code = MKV_E_ABORTED };
	assert_code(vol.ops->put(vol.h, replica, "/ab/cd/YWJvcnQ=", 4 * 1024 * 1024,
				 source_read, &s), MKV_E_ABORTED);
	assert_replica_dir_entries("/ab/cd", 0);

	s = (struct source){ .data = big, .len = 1024 * 1024 };
	assert_code(vol.ops->put(vol.h, replica, "/ab/cd/c2hvcnQ=", 4 * 1024 * 1024,
				 source_read, &s), MKV_E_IO);
	assert_replica_dir_entries("/ab/cd", 0);
	free(big);
}

static void an_aborted_put_leaves_only_the_previous_file(void **state)
{
	char p[PATH_LEN];
	struct source s = { .data = "partial", .len = 7, .fail_code = MKV_E_IO };

	(void)state;
	assert_ok(put_string(replica, "/ab/cd/b2xk", "old value"));
	assert_code(vol.ops->put(vol.h, replica, "/ab/cd/b2xk", 1000, source_read, &s),
		    MKV_E_IO);
	assert_replica_dir_entries("/ab/cd", 1);
	snprintf(p, sizeof p, "%s/ab/cd/b2xk", replica);
	assert_file_holds(p, "old value");
}

static void a_value_lives_at_exactly_replica_plus_path(void **state)
{
	char p[PATH_LEN], sub[PATH_LEN];
	struct stat st;

	(void)state;
	assert_ok(put_string(replica, "/5d/41/aGVsbG8=", "hello world"));
	snprintf(p, sizeof p, "%s/5d/41/aGVsbG8=", replica);
	assert_file_holds(p, "hello world");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0022, 0); /* 0644 at most: only the owner writes */
	assert_replica_dir_entries("/5d/41", 1);
	assert_replica_dir_entries("/5d", 1);
	assert_replica_dir_entries("", 1);

	/* A '/' inside the base64 is one more directory, as under nginx. */
	assert_ok(put_string(replica, "/d5/91/Pz8/Pj4+", "plus and slash"));
	snprintf(p, sizeof p, "%s/d5/91/Pz8/Pj4+", replica);
	assert_file_holds(p, "plus and slash");

	/* A subvolume is a directory of the volume, made on its first put. */
	snprintf(sub, sizeof sub, "%s/sv0A", replica);
	assert_ok(put_string(sub, "/fc/5e/aGVsbG93b3JsZA==", "helloworld"));
	snprintf(p, sizeof p, "%s/sv0A/fc/5e/aGVsbG93b3JsZA==", replica);
	assert_file_holds(p, "helloworld");
	assert_outside_untouched();
}

static void a_file_placed_as_nginx_would_is_read_back(void **state)
{
	char p[PATH_LEN];
	uint64_t size = 0;
	size_t got = 0;
	int listed = 0;

	(void)state;
	snprintf(p, sizeof p, "%s/fc", replica);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/fc/5e", replica);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/fc/5e/aGVsbG93b3JsZA==", replica);
	write_file(p, "from nginx");
	assert_ok(vol.ops->stat(vol.h, replica, "/fc/5e/aGVsbG93b3JsZA==", &size));
	assert_int_equal(size, 10);
	assert_ok(vol.ops->read(vol.h, replica, "/fc/5e/aGVsbG93b3JsZA==", discard_sink, &got));
	assert_int_equal(got, 10);
	assert_ok(vol.ops->list(vol.h, replica, "/fc/5e/", count_listed, &listed));
	assert_int_equal(listed, 1);
	assert_ok(vol.ops->del(vol.h, replica, "/fc/5e/aGVsbG93b3JsZA=="));
	assert_replica_dir_entries("/fc/5e", 0);
}

static void listings_hide_temporary_files(void **state)
{
	char p[PATH_LEN];
	int listed = 0;

	(void)state;
	assert_ok(put_string(replica, "/5d/41/aGVsbG8=", "hello world"));
	snprintf(p, sizeof p, "%s/5d/41/.mkv-tmp.1.1", replica);
	write_file(p, "half a value");
	assert_ok(vol.ops->list(vol.h, replica, "/5d/41/", count_listed, &listed));
	assert_int_equal(listed, 1);
}

static void a_directory_is_not_a_value(void **state)
{
	(void)state;
	assert_ok(put_string(replica, "/5d/41/aGVsbG8=", "hello world"));
	assert_code(vol.ops->stat(vol.h, replica, "/5d/41", NULL), MKV_E_NOTFOUND);
	assert_code(vol.ops->read(vol.h, replica, "/5d/41", discard_sink, &(size_t){ 0 }),
		    MKV_E_NOTFOUND);
	assert_code(vol.ops->del(vol.h, replica, "/5d/41"), MKV_E_NOTFOUND);
	assert_replica_dir_entries("/5d/41", 1);
}

static void a_missing_volume_directory_is_unavailable_and_not_created(void **state)
{
	char rep[PATH_LEN], p[PATH_LEN];

	(void)state;
	snprintf(rep, sizeof rep, "%s/gone/vol", base);
	assert_code(put_string(rep, "/5d/41/aGVsbG8=", "x"), MKV_E_UNAVAILABLE);
	assert_code(vol.ops->stat(vol.h, rep, "/5d/41/aGVsbG8=", NULL), MKV_E_UNAVAILABLE);
	assert_int_equal(access(in_base(p, "gone"), F_OK), -1);
	assert_outside_untouched();
}

static void open_takes_the_fsync_option_only(void **state)
{
	const struct mkv_option off = { .key = "fsync", .value = "false" };
	const struct mkv_option bad = { .key = "fsync", .value = "sometimes" };
	const struct mkv_option unknown = { .key = "timeout", .value = "1" };
	struct source s = { .data = "unsynced", .len = 8 };
	struct mkv_volume other;
	char p[PATH_LEN];

	(void)state;
	assert_ok(mkv_volume_open(&other, vol.ops, 1000, &(struct mkv_options){ &off, 1 }));
	assert_ok(other.ops->put(other.h, replica, "/5d/41/aGVsbG8=", 8, source_read, &s));
	mkv_volume_close(&other);
	snprintf(p, sizeof p, "%s/5d/41/aGVsbG8=", replica);
	assert_file_holds(p, "unsynced");

	assert_code(mkv_volume_open(&other, vol.ops, 1000, &(struct mkv_options){ &bad, 1 }),
		    MKV_E_INVAL);
	assert_non_null(strstr(mkv_error_message(MKV_E_INVAL), "sometimes"));
	assert_code(mkv_volume_open(&other, vol.ops, 1000,
				    &(struct mkv_options){ &unknown, 1 }), MKV_E_INVAL);
	assert_non_null(strstr(mkv_error_message(MKV_E_INVAL), "unknown option 'timeout'"));
}

#define sandboxed(test) cmocka_unit_test_setup_teardown(test, sandbox_setup, sandbox_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		sandboxed(paths_that_could_leave_the_volume_are_invalid),
		sandboxed(a_replica_must_be_an_absolute_path_without_dotdot),
		sandboxed(a_symlinked_directory_inside_the_volume_is_never_followed),
		sandboxed(a_symlinked_value_is_never_followed),
		sandboxed(a_listing_does_not_follow_or_show_symlinks),
		sandboxed(an_aborted_put_leaves_no_file_and_no_temporary_file),
		sandboxed(an_aborted_put_leaves_only_the_previous_file),
		sandboxed(a_value_lives_at_exactly_replica_plus_path),
		sandboxed(a_file_placed_as_nginx_would_is_read_back),
		sandboxed(listings_hide_temporary_files),
		sandboxed(a_directory_is_not_a_value),
		sandboxed(a_missing_volume_directory_is_unavailable_and_not_created),
		sandboxed(open_takes_the_fsync_option_only),
	};
	const struct mkv_options no_options = { 0 };
	const char *plugindir = getenv("MKV_TEST_PLUGINDIR");
	char path[PATH_LEN], err[MKV_PLUGIN_ERR_MAX];
	struct mkv_plugin plugin;
	int rc;

	if (!plugindir || !*plugindir) {
		fprintf(stderr, "local_confinement: set MKV_TEST_PLUGINDIR to the built plugins\n");
		return 99; /* automake's "hard error" */
	}
	snprintf(path, sizeof path, "%s/local.so", plugindir);
	if (mkv_plugin_load(path, plugindir, MKV_PLUGIN_VOLUME, &plugin, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 99;
	}
	rc = mkv_volume_open(&vol, (const struct mkv_volume_ops *)plugin.head, 1000,
			     &no_options);
	if (rc < 0) {
		fprintf(stderr, "%s: open: %s\n", path, mkv_error_message(rc));
		mkv_plugin_unload(&plugin);
		return 99;
	}
	rc = cmocka_run_group_tests_name("local volume", tests, NULL, NULL);
	mkv_volume_close(&vol);
	mkv_plugin_unload(&plugin);
	return rc;
}
