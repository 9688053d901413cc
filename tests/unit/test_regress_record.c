/*
 * test_regress_record.c - index records the fuzzer (fuzz/fuzz_record.c)
 * found mishandled, kept as tests so they stay fixed.
 *
 * The codec's promise is encode(decode(x)) == x for every x that decodes:
 * a record is read and rewritten (UNLINK, DELETE, rebalance) without
 * changing what it says. A replica is a C string, so bytes with a NUL in
 * the replica part cannot survive the trip; such a record must not decode
 * (it is corrupt: no volume name holds a NUL), rather than decode to a
 * shorter replica name and be rewritten truncated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mkv/error.h>

#include "record.h"

/* The record of the size bytes at data either does not decode, or encodes back to them. */
static void assert_decodes_only_to_itself(const void *data, size_t size)
{
	struct mkv_record rec;
	size_t len = 0;
	char *encoded;
	int rc = mkv_record_decode(data, size, &rec);

	if (rc < 0) {
		assert_int_equal(rc, MKV_E_CORRUPT);
		mkv_record_free(&rec);
		return;
	}
	encoded = mkv_record_encode(&rec, &len);
	assert_non_null(encoded);
	assert_int_equal(len, size);
	assert_memory_equal(encoded, data, size);
	free(encoded);
	mkv_record_free(&rec);
}

/* fuzz_record crash-29e24643a6328cb4ea893738b89c63b842ce24e7: hex 0800000000000000 */
static void replica_of_control_bytes_and_nuls_is_not_truncated(void **state)
{
	const unsigned char bytes[] = { 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };

	(void)state;
	assert_decodes_only_to_itself(bytes, sizeof bytes);
}

static void nul_inside_a_replica_name_is_not_truncated(void **state)
{
	const char bytes[] = "localhost:3001/sv00,local\0host:3002/sv01";

	(void)state;
	assert_decodes_only_to_itself(bytes, sizeof bytes - 1);
}

static void nul_after_a_hash_is_not_dropped(void **state)
{
	const char bytes[] = "DELETEDHASH5d41402abc4b2a76b9719d911017c592\0";

	(void)state;
	assert_decodes_only_to_itself(bytes, sizeof bytes - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replica_of_control_bytes_and_nuls_is_not_truncated),
		cmocka_unit_test(nul_inside_a_replica_name_is_not_truncated),
		cmocka_unit_test(nul_after_a_hash_is_not_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
