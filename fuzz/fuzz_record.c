/*
 * fuzz_record.c - libFuzzer harness for the index record codec: any bytes
 * the index holds are decoded by mkv_record_decode(), and whatever decodes
 * must encode back to exactly the same bytes (an existing Go index is read
 * and rewritten unchanged: docs/format.md).
 *
 * Checked besides memory safety and leaks: encode(decode(x)) == x, a
 * decoded hash is empty or 32 lowercase hex digits, and a decode that
 * fails leaves the record empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mkv_record rec;
	size_t len = 0;
	char *encoded;
	int rc = mkv_record_decode(data, size, &rec);

	if (rc < 0) {
		if (rc != MKV_E_CORRUPT && rc != MKV_E_NOMEM)
			abort();
		if (rec.replicas.count != 0)
			abort();
		mkv_record_free(&rec);
		return 0;
	}
	if (rec.hash[0] && (strlen(rec.hash) != MKV_HASH_HEX_LEN ||
			    strspn(rec.hash, "0123456789abcdef") != MKV_HASH_HEX_LEN))
		abort();

	encoded = mkv_record_encode(&rec, &len);
	if (!encoded)
		abort();
	if (len != size || memcmp(encoded, data, size) != 0)
		abort(); /* encode(decode(x)) != x */
	free(encoded);
	mkv_record_free(&rec);
	return 0;
}
