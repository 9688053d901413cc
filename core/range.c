/*
 * range.c - parsing a Range header into the one byte range to send.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "range.h"

/* Parse decimal digits at *s into *out, advancing *s. False without a digit or on overflow. */
static bool parse_number(const char **s, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = *s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = n;
	return true;
}

enum mkv_range mkv_range_parse(const char *header, uint64_t size,
			       uint64_t *offset, uint64_t *length)
{
	const char *p = header;
	uint64_t first, last = UINT64_MAX;
	bool suffix;

	if (!p || strncmp(p, "bytes=", 6) != 0)
		return MKV_RANGE_WHOLE;
	p += 6;
	while (*p == ' ')
		p++;
	suffix = *p == '-';
	if (suffix)
		p++;
	if (!parse_number(&p, &first))
		return MKV_RANGE_WHOLE;
	if (!suffix && *p++ != '-')
		return MKV_RANGE_WHOLE;
	if (!suffix && isdigit((unsigned char)*p) && !parse_number(&p, &last))
		return MKV_RANGE_WHOLE;
	while (*p == ' ')
		p++;
	if (*p != '\0' || (!suffix && last < first))
		return MKV_RANGE_WHOLE; /* malformed, or several ranges */

	if (suffix) { /* the last `first` bytes */
		if (first == 0 || size == 0)
			return MKV_RANGE_UNSATISFIABLE;
		*length = first < size ? first : size;
		*offset = size - *length;
		return MKV_RANGE_PARTIAL;
	}
	if (first >= size)
		return MKV_RANGE_UNSATISFIABLE;
	*offset = first;
	*length = (last < size - 1 ? last : size - 1) - first + 1;
	return MKV_RANGE_PARTIAL;
}
