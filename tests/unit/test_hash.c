/*
 * test_hash.c - a key's path and replicas are byte-for-byte those of the Go
 * minikeyvalue (the vectors of DESIGN.md), so an existing deployment's
 * volumes keep their files where mkv looks for them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mkv/error.h>

#include "hash.h"

static void assert_path(const char *key, const char *expected)
{
	char path[MKV_PATH_MAX];

	assert_int_equal(mkv_key_path(key, strlen(key), path), 0);
	assert_string_equal(path, expected);
}

/* The stooges of the Go test suite: larry, moe, curly. */
static struct mkv_strlist stooges(void)
{
	struct mkv_strlist l = { 0 };

	assert_int_equal(mkv_strlist_split(&l, "larry,moe,curly", ','), 0);
	return l;
}

/* The replicas of key as one comma-joined string, for readable asserts. */
static void assert_replicas(const char *key, const struct mkv_strlist *volumes,
			    int replicas, int subvolumes, const char *expected)
{
	struct mkv_strlist out = { 0 };
	char joined[512] = "";

	assert_int_equal(mkv_key_replicas(key, strlen(key), volumes, replicas,
					  subvolumes, &out), 0);
	assert_int_equal(out.count, (size_t)replicas);
	for (size_t i = 0; i < out.count; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, out.items[i]);
	}
	assert_string_equal(joined, expected);
	mkv_strlist_free(&out);
}

static void md5_of_hello_is_the_well_known_digest(void **state)
{
	static const unsigned char expected[MKV_MD5_LEN] = {
		0x5d, 0x41, 0x40, 0x2a, 0xbc, 0x4b, 0x2a, 0x76,
		0xb9, 0x71, 0x9d, 0x91, 0x10, 0x17, 0xc5, 0x92,
	};
	unsigned char md5[MKV_MD5_LEN];

	(void)state;
	mkv_md5("hello", 5, md5);
	assert_memory_equal(md5, expected, MKV_MD5_LEN);
}

static void path_is_two_md5_levels_then_padded_base64(void **state)
{
	(void)state;
	assert_path("hello", "/5d/41/aGVsbG8=");
	assert_path("helloworld", "/fc/5e/aGVsbG93b3JsZA==");
}

static void path_of_a_key_with_its_leading_slash(void **state)
{
	(void)state;
	assert_path("/hello", "/3e/d1/L2hlbGxv");
}

static void path_accepts_a_key_whose_base64_fits_255_bytes(void **state)
{
	char key[189], path[MKV_PATH_MAX];

	(void)state;
	memset(key, 'k', sizeof key);
	assert_int_equal(mkv_key_path(key, sizeof key, path), 0);
	/* 189 bytes are 252 base64 characters after "/xx/yy/". */
	assert_int_equal(strlen(path), 7 + 252);
}

static void path_refuses_a_key_whose_base64_exceeds_255_bytes(void **state)
{
	char key[192], path[MKV_PATH_MAX] = "untouched";

	(void)state;
	memset(key, 'k', sizeof key);
	/* 190 bytes already need 256 characters, as do 192. */
	assert_int_equal(mkv_key_path(key, 190, path), MKV_E_TOOLONG);
	assert_int_equal(mkv_key_path(key, sizeof key, path), MKV_E_TOOLONG);
	assert_string_equal(path, "untouched");
}

static void one_replica_over_three_subvolumes_matches_go(void **state)
{
	struct mkv_strlist v = stooges();

	(void)state;
	assert_replicas("hello", &v, 1, 3, "larry/sv00");
	assert_replicas("helloworld", &v, 1, 3, "curly/sv01");
	assert_replicas("world", &v, 1, 3, "moe/sv02");
	assert_replicas("blah", &v, 1, 3, "curly/sv01");
	mkv_strlist_free(&v);
}

static void three_replicas_of_three_volumes_are_all_of_them_by_score(void **state)
{
	struct mkv_strlist v = stooges();

	(void)state;
	assert_replicas("hello", &v, 3, 3, "larry/sv00,curly/sv01,moe/sv02");
	assert_replicas("helloworld", &v, 3, 3, "curly/sv01,larry/sv02,moe/sv00");
	assert_replicas("world", &v, 3, 3, "moe/sv02,curly/sv00,larry/sv02");
	mkv_strlist_free(&v);
}

static void one_subvolume_gives_bare_volume_names(void **state)
{
	struct mkv_strlist v = stooges();

	(void)state;
	assert_replicas("hello", &v, 3, 1, "larry,curly,moe");
	assert_replicas("blah", &v, 2, 1, "curly,larry");
	mkv_strlist_free(&v);
}

static void subvolume_is_the_score_tail_modulo_the_count(void **state)
{
	struct mkv_strlist v = stooges();

	(void)state;
	assert_replicas("hello", &v, 2, 10, "larry/sv09,curly/sv03");
	assert_replicas("helloworld", &v, 2, 10, "curly/sv05,larry/sv05");
	mkv_strlist_free(&v);
}

static void first_replica_does_not_depend_on_the_replica_count(void **state)
{
	struct mkv_strlist v = stooges();
	static const char *const keys[] = { "hello", "world", "blah", "/a/b", "" };

	(void)state;
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		struct mkv_strlist one = { 0 }, all = { 0 };
		const char *key = keys[k];

		assert_int_equal(mkv_key_replicas(key, strlen(key), &v, 1, 10, &one), 0);
		assert_int_equal(mkv_key_replicas(key, strlen(key), &v, 3, 10, &all), 0);
		assert_string_equal(one.items[0], all.items[0]);
		mkv_strlist_free(&one);
		mkv_strlist_free(&all);
	}
	mkv_strlist_free(&v);
}

static void replicas_do_not_depend_on_the_configured_order(void **state)
{
	struct mkv_strlist v = stooges(), w = { 0 };

	(void)state;
	assert_int_equal(mkv_strlist_split(&w, "curly,larry,moe", ','), 0);
	assert_replicas("hello", &w, 3, 3, "larry/sv00,curly/sv01,moe/sv02");
	assert_replicas("world", &w, 3, 3, "moe/sv02,curly/sv00,larry/sv02");
	mkv_strlist_free(&v);
	mkv_strlist_free(&w);
}

static void a_new_volume_takes_only_the_keys_it_wins(void **state)
{
	struct mkv_strlist v = stooges(), more = stooges();

	(void)state;
	assert_int_equal(mkv_strlist_append(&more, "shemp", 5), 0);
	for (int i = 0; i < 200; i++) {
		struct mkv_strlist before = { 0 }, after = { 0 };
		char key[32];
		int n = snprintf(key, sizeof key, "/key%d", i);

		assert_int_equal(mkv_key_replicas(key, (size_t)n, &v, 1, 1, &before), 0);
		assert_int_equal(mkv_key_replicas(key, (size_t)n, &more, 1, 1, &after), 0);
		if (strcmp(after.items[0], "shemp") != 0)
			assert_string_equal(after.items[0], before.items[0]);
		mkv_strlist_free(&before);
		mkv_strlist_free(&after);
	}
	mkv_strlist_free(&v);
	mkv_strlist_free(&more);
}

static void replicas_are_appended_to_what_the_list_holds(void **state)
{
	struct mkv_strlist v = stooges(), out = { 0 };

	(void)state;
	assert_int_equal(mkv_strlist_append(&out, "first", 5), 0);
	assert_int_equal(mkv_key_replicas("hello", 5, &v, 1, 3, &out), 0);
	assert_int_equal(out.count, 2);
	assert_string_equal(out.items[0], "first");
	assert_string_equal(out.items[1], "larry/sv00");
	mkv_strlist_free(&out);
	mkv_strlist_free(&v);
}

static void more_replicas_than_volumes_is_invalid(void **state)
{
	struct mkv_strlist v = stooges(), out = { 0 };

	(void)state;
	assert_int_equal(mkv_key_replicas("hello", 5, &v, 4, 3, &out), MKV_E_INVAL);
	assert_int_equal(mkv_key_replicas("hello", 5, &v, 0, 3, &out), MKV_E_INVAL);
	assert_int_equal(mkv_key_replicas("hello", 5, &v, 1, 0, &out), MKV_E_INVAL);
	assert_int_equal(out.count, 0);
	mkv_strlist_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(md5_of_hello_is_the_well_known_digest),
		cmocka_unit_test(path_is_two_md5_levels_then_padded_base64),
		cmocka_unit_test(path_of_a_key_with_its_leading_slash),
		cmocka_unit_test(path_accepts_a_key_whose_base64_fits_255_bytes),
		cmocka_unit_test(path_refuses_a_key_whose_base64_exceeds_255_bytes),
		cmocka_unit_test(one_replica_over_three_subvolumes_matches_go),
		cmocka_unit_test(three_replicas_of_three_volumes_are_all_of_them_by_score),
		cmocka_unit_test(one_subvolume_gives_bare_volume_names),
		cmocka_unit_test(subvolume_is_the_score_tail_modulo_the_count),
		cmocka_unit_test(first_replica_does_not_depend_on_the_replica_count),
		cmocka_unit_test(replicas_do_not_depend_on_the_configured_order),
		cmocka_unit_test(a_new_volume_takes_only_the_keys_it_wins),
		cmocka_unit_test(replicas_are_appended_to_what_the_list_holds),
		cmocka_unit_test(more_replicas_than_volumes_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
