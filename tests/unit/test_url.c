/*
 * test_url.c - decoding keys and listing queries out of request URLs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mkv/error.h>

#include "url.h"

static void expect_decoded(const char *raw, bool plus, const char *want, size_t want_len)
{
	size_t len = 999;
	char *got = mkv_url_decode(raw, plus, &len);

	assert_non_null(got);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
}

static void test_a_path_decodes_escapes_and_keeps_plus(void **state)
{
	(void)state;
	expect_decoded("/a%20b/100%25/a+b", false, "/a b/100%/a+b", 13);
	expect_decoded("/h%C3%A9", false, "/h\xc3\xa9", 4);
}

static void test_a_nul_escape_is_part_of_the_key(void **state)
{
	(void)state;
	expect_decoded("/a%00b", false, "/a\0b", 4);
}

static void test_a_query_value_turns_plus_into_space(void **state)
{
	(void)state;
	expect_decoded("a+b%2B", true, "a b+", 4);
}

static void test_malformed_escapes_are_refused(void **state)
{
	static const char *const bad[] = { "/bad%zz", "/bad%4", "/bad%", "/%g0" };
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_null(mkv_url_decode(bad[i], false, &len));
}

static void test_the_first_argument_names_the_operation(void **state)
{
	struct mkv_query q = { 0 };
	long limit;

	(void)state;
	mkv_query_add(&q, "list", NULL);
	mkv_query_add(&q, "start", "%2Fa+b");
	mkv_query_add(&q, "limit", "10");
	mkv_query_add(&q, "start", "/ignored");
	assert_string_equal(q.operation, "list");
	assert_int_equal(q.start_len, 4);
	assert_memory_equal(q.start, "/a b", 4);
	assert_int_equal(mkv_query_limit(&q, &limit), 0);
	assert_int_equal(limit, 10);
	assert_false(q.bad);
	mkv_query_free(&q);
}

static void test_a_bad_limit_or_escape_is_reported(void **state)
{
	struct mkv_query q = { 0 };
	long limit;

	(void)state;
	mkv_query_add(&q, "list", NULL);
	mkv_query_add(&q, "limit", "abc");
	assert_int_equal(mkv_query_limit(&q, &limit), MKV_E_INVAL);
	mkv_query_add(&q, "start", "%zz");
	assert_true(q.bad);
	mkv_query_free(&q);
}

static void test_the_operation_is_the_raw_first_argument(void **state)
{
	struct mkv_query q = { 0 }, r = { 0 };

	(void)state;
	mkv_query_add(&q, "list", "1");
	assert_string_equal(q.operation, "list=1");
	mkv_query_add(&r, "%6Cist", NULL);
	assert_string_equal(r.operation, "%6Cist");
	mkv_query_free(&q);
	mkv_query_free(&r);
}

static void test_an_empty_limit_is_no_limit_and_a_spaced_one_is_bad(void **state)
{
	struct mkv_query q = { 0 }, r = { 0 };
	long limit = 5;

	(void)state;
	mkv_query_add(&q, "list", NULL);
	mkv_query_add(&q, "limit", "");
	assert_int_equal(mkv_query_limit(&q, &limit), 0);
	assert_int_equal(limit, 0);
	mkv_query_add(&r, "list", NULL);
	mkv_query_add(&r, "limit", "%205");
	assert_int_equal(mkv_query_limit(&r, &limit), MKV_E_INVAL);
	mkv_query_free(&q);
	mkv_query_free(&r);
}

static void test_no_limit_means_zero(void **state)
{
	struct mkv_query q = { 0 };
	long limit = 5;

	(void)state;
	mkv_query_add(&q, "unlinked", NULL);
	assert_int_equal(mkv_query_limit(&q, &limit), 0);
	assert_int_equal(limit, 0);
	mkv_query_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_path_decodes_escapes_and_keeps_plus),
		cmocka_unit_test(test_a_nul_escape_is_part_of_the_key),
		cmocka_unit_test(test_a_query_value_turns_plus_into_space),
		cmocka_unit_test(test_malformed_escapes_are_refused),
		cmocka_unit_test(test_the_first_argument_names_the_operation),
		cmocka_unit_test(test_a_bad_limit_or_escape_is_reported),
		cmocka_unit_test(test_the_operation_is_the_raw_first_argument),
		cmocka_unit_test(test_an_empty_limit_is_no_limit_and_a_spaced_one_is_bad),
		cmocka_unit_test(test_no_limit_means_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
