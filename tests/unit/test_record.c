/*
 * test_record.c - index records read and write exactly the bytes the Go
 * minikeyvalue stores, so an existing index keeps working; and the string
 * list the records are made of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mkv/error.h>

#include "record.h"

#define HELLO_MD5 "5d41402abc4b2a76b9719d911017c592"

static void decode(const char *bytes, struct mkv_record *rec)
{
	assert_int_equal(mkv_record_decode(bytes, strlen(bytes), rec), 0);
}

/* Encoding rec gives exactly bytes. */
static void assert_encodes_to(const struct mkv_record *rec, const char *bytes)
{
	size_t len = 0;
	char *out = mkv_record_encode(rec, &len);

	assert_non_null(out);
	assert_int_equal(len, strlen(bytes));
	assert_string_equal(out, bytes);
	free(out);
}

static void assert_round_trip(const char *bytes)
{
	struct mkv_record rec;

	decode(bytes, &rec);
	assert_encodes_to(&rec, bytes);
	mkv_record_free(&rec);
}

static void live_record_is_its_replicas(void **state)
{
	struct mkv_record rec;

	(void)state;
	decode("hello,world", &rec);
	assert_false(rec.deleted);
	assert_string_equal(rec.hash, "");
	assert_int_equal(rec.replicas.count, 2);
	assert_string_equal(rec.replicas.items[0], "hello");
	assert_string_equal(rec.replicas.items[1], "world");
	mkv_record_free(&rec);
}

static void deleted_prefix_marks_a_soft_deleted_record(void **state)
{
	struct mkv_record rec;

	(void)state;
	decode("DELETEDhello", &rec);
	assert_true(rec.deleted);
	assert_string_equal(rec.hash, "");
	assert_int_equal(rec.replicas.count, 1);
	assert_string_equal(rec.replicas.items[0], "hello");
	mkv_record_free(&rec);
}

static void deleted_record_may_carry_a_hash(void **state)
{
	struct mkv_record rec;

	(void)state;
	decode("DELETEDHASH" HELLO_MD5 "hello", &rec);
	assert_true(rec.deleted);
	assert_string_equal(rec.hash, HELLO_MD5);
	assert_int_equal(rec.replicas.count, 1);
	assert_string_equal(rec.replicas.items[0], "hello");
	mkv_record_free(&rec);
}

static void hash_prefix_is_32_hex_digits_before_the_replicas(void **state)
{
	struct mkv_record rec;

	(void)state;
	decode("HASH" HELLO_MD5 "hello", &rec);
	assert_false(rec.deleted);
	assert_string_equal(rec.hash, HELLO_MD5);
	assert_int_equal(rec.replicas.count, 1);
	assert_string_equal(rec.replicas.items[0], "hello");
	mkv_record_free(&rec);
}

static void go_vectors_reencode_byte_exactly(void **state)
{
	(void)state;
	assert_round_trip("hello,world");
	assert_round_trip("DELETEDhello");
	assert_round_trip("DELETEDHASH" HELLO_MD5 "hello");
	assert_round_trip("HASH" HELLO_MD5 "hello");
}

static void three_replica_record_with_subvolumes(void **state)
{
	const char *bytes = "HASH" HELLO_MD5 "localhost:3001/sv00,localhost:3002/sv07,localhost:3003/sv09";
	struct mkv_record rec;

	(void)state;
	decode(bytes, &rec);
	assert_int_equal(rec.replicas.count, 3);
	assert_string_equal(rec.replicas.items[0], "localhost:3001/sv00");
	assert_string_equal(rec.replicas.items[1], "localhost:3002/sv07");
	assert_string_equal(rec.replicas.items[2], "localhost:3003/sv09");
	assert_encodes_to(&rec, bytes);
	mkv_record_free(&rec);
}

static void built_record_encodes_in_go_order(void **state)
{
	struct mkv_record rec = { .deleted = true, .hash = HELLO_MD5 };

	(void)state;
	assert_int_equal(mkv_strlist_append(&rec.replicas, "a:1", 3), 0);
	assert_int_equal(mkv_strlist_append(&rec.replicas, "b:2", 3), 0);
	assert_encodes_to(&rec, "DELETEDHASH" HELLO_MD5 "a:1,b:2");
	mkv_record_free(&rec);
	assert_false(rec.deleted);
	assert_int_equal(rec.replicas.count, 0);
}

static void empty_record_is_live_with_no_replicas(void **state)
{
	struct mkv_record rec;

	(void)state;
	decode("", &rec);
	assert_false(rec.deleted);
	assert_string_equal(rec.hash, "");
	assert_int_equal(rec.replicas.count, 0);
	assert_encodes_to(&rec, "");
	mkv_record_free(&rec);
}

static void deleted_record_without_replicas(void **state)
{
	struct mkv_record rec;

	(void)state;
	decode("DELETED", &rec);
	assert_true(rec.deleted);
	assert_int_equal(rec.replicas.count, 0);
	assert_encodes_to(&rec, "DELETED");
	mkv_record_free(&rec);
}

static void record_is_read_from_its_length_not_a_nul(void **state)
{
	const char bytes[] = "hello,worldGARBAGE";
	struct mkv_record rec;

	(void)state;
	assert_int_equal(mkv_record_decode(bytes, 11, &rec), 0);
	assert_int_equal(rec.replicas.count, 2);
	assert_string_equal(rec.replicas.items[1], "world");
	mkv_record_free(&rec);
}

static void truncated_hash_is_corrupt(void **state)
{
	const char *bytes = "HASH5d41402abc4b2a76";
	struct mkv_record rec;

	(void)state;
	assert_int_equal(mkv_record_decode(bytes, strlen(bytes), &rec), MKV_E_CORRUPT);
	mkv_record_free(&rec);
}

static void non_hex_hash_is_corrupt(void **state)
{
	const char *upper = "HASH5D41402ABC4B2A76B9719D911017C592hello";
	const char *junk = "DELETEDHASH5d41402abc4b2a76b9719d911017c59zhello";
	struct mkv_record rec;

	(void)state;
	assert_int_equal(mkv_record_decode(upper, strlen(upper), &rec), MKV_E_CORRUPT);
	mkv_record_free(&rec);
	assert_int_equal(mkv_record_decode(junk, strlen(junk), &rec), MKV_E_CORRUPT);
	mkv_record_free(&rec);
}

static void strlist_split_keeps_empty_items(void **state)
{
	struct mkv_strlist l = { 0 };

	(void)state;
	assert_int_equal(mkv_strlist_split(&l, "a,,b,", ','), 0);
	assert_int_equal(l.count, 4);
	assert_string_equal(l.items[0], "a");
	assert_string_equal(l.items[1], "");
	assert_string_equal(l.items[2], "b");
	assert_string_equal(l.items[3], "");
	mkv_strlist_free(&l);
	assert_int_equal(l.count, 0);
	assert_null(l.items);
}

static void strlist_grows_and_copies(void **state)
{
	struct mkv_strlist l = { 0 };
	char s[16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(s, sizeof s, "item%d", i);

		assert_int_equal(mkv_strlist_append(&l, s, (size_t)n), 0);
	}
	strcpy(s, "changed");
	assert_int_equal(l.count, 1000);
	assert_string_equal(l.items[0], "item0");
	assert_string_equal(l.items[999], "item999");
	mkv_strlist_free(&l);
	/* Freed lists are reusable. */
	assert_int_equal(mkv_strlist_append(&l, "again", 3), 0);
	assert_string_equal(l.items[0], "aga");
	mkv_strlist_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(live_record_is_its_replicas),
		cmocka_unit_test(deleted_prefix_marks_a_soft_deleted_record),
		cmocka_unit_test(deleted_record_may_carry_a_hash),
		cmocka_unit_test(hash_prefix_is_32_hex_digits_before_the_replicas),
		cmocka_unit_test(go_vectors_reencode_byte_exactly),
		cmocka_unit_test(three_replica_record_with_subvolumes),
		cmocka_unit_test(built_record_encodes_in_go_order),
		cmocka_unit_test(empty_record_is_live_with_no_replicas),
		cmocka_unit_test(deleted_record_without_replicas),
		cmocka_unit_test(record_is_read_from_its_length_not_a_nul),
		cmocka_unit_test(truncated_hash_is_corrupt),
		cmocka_unit_test(non_hex_hash_is_corrupt),
		cmocka_unit_test(strlist_split_keeps_empty_items),
		cmocka_unit_test(strlist_grows_and_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
