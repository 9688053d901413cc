/*
 * fuzz_range.c - libFuzzer harness for mkv_range_parse(), the Range header
 * of a GET the master answers itself (local volumes).
 *
 * The input is the value's size (the first 8 bytes, little-endian; fewer
 * bytes give a small size) followed by the header value. Checked besides
 * memory safety and undefined behaviour: a partial answer is a non-empty
 * range inside the value, which is what the Content-Range and the sendfile
 * offset in core/server.c rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t value_size = 0, offset = 0, length = 0;
	size_t n = size < 8 ? size : 8;
	char *header;

	for (size_t i = 0; i < n; i++)
		value_size |= (uint64_t)data[i] << (8 * i);
	header = malloc(size - n + 1);
	if (!header)
		return 0;
	memcpy(header, data + n, size - n);
	header[size - n] = '\0';

	switch (mkv_range_parse(header, value_size, &offset, &length)) {
	case MKV_RANGE_PARTIAL:
		if (length == 0 || offset >= value_size || length > value_size - offset)
			abort();
		break;
	case MKV_RANGE_UNSATISFIABLE:
	case MKV_RANGE_WHOLE:
		break;
	default:
		abort();
	}
	if (mkv_range_parse(NULL, value_size, &offset, &length) != MKV_RANGE_WHOLE)
		abort();
	free(header);
	return 0;
}
