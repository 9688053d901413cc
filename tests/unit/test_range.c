/*
 * test_range.c - the Range header of GETs the master serves itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "range.h"

static void expect_partial(const char *header, uint64_t size, uint64_t offset,
			   uint64_t length)
{
	uint64_t o = 12345, l = 12345;

	assert_int_equal(mkv_range_parse(header, size, &o, &l), MKV_RANGE_PARTIAL);
	assert_int_equal(o, offset);
	assert_int_equal(l, length);
}

static void test_no_header_sends_the_whole_value(void **state)
{
	uint64_t o, l;

	(void)state;
	assert_int_equal(mkv_range_parse(NULL, 100, &o, &l), MKV_RANGE_WHOLE);
}

static void test_closed_range_sends_those_bytes(void **state)
{
	(void)state;
	expect_partial("bytes=0-0", 100, 0, 1);
	expect_partial("bytes=10-19", 100, 10, 10);
	expect_partial("bytes=90-99", 100, 90, 10);
}

static void test_range_past_the_end_is_cut_to_the_value(void **state)
{
	(void)state;
	expect_partial("bytes=90-1000", 100, 90, 10);
	expect_partial("bytes=50-", 100, 50, 50);
}

static void test_suffix_range_sends_the_last_bytes(void **state)
{
	(void)state;
	expect_partial("bytes=-10", 100, 90, 10);
	expect_partial("bytes=-1000", 100, 0, 100);
}

static void test_range_starting_past_the_end_is_unsatisfiable(void **state)
{
	uint64_t o, l;

	(void)state;
	assert_int_equal(mkv_range_parse("bytes=100-", 100, &o, &l), MKV_RANGE_UNSATISFIABLE);
	assert_int_equal(mkv_range_parse("bytes=100-200", 100, &o, &l), MKV_RANGE_UNSATISFIABLE);
	assert_int_equal(mkv_range_parse("bytes=-0", 100, &o, &l), MKV_RANGE_UNSATISFIABLE);
}

static void test_malformed_or_multiple_ranges_send_the_whole_value(void **state)
{
	static const char *const ignored[] = {
		"bytes=", "bytes=a-b", "bytes=5-2", "items=0-1", "bytes=0-1,5-6",
		"bytes=--1", "bytes=1", "bytes=99999999999999999999999-",
	};
	uint64_t o, l;

	(void)state;
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		assert_int_equal(mkv_range_parse(ignored[i], 100, &o, &l), MKV_RANGE_WHOLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_header_sends_the_whole_value),
		cmocka_unit_test(test_closed_range_sends_those_bytes),
		cmocka_unit_test(test_range_past_the_end_is_cut_to_the_value),
		cmocka_unit_test(test_suffix_range_sends_the_last_bytes),
		cmocka_unit_test(test_range_starting_past_the_end_is_unsatisfiable),
		cmocka_unit_test(test_malformed_or_multiple_ranges_send_the_whole_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
