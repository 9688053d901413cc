/*
 * url.c - decoding the key and the listing query out of a request URL.
 *
 * The HTTP server hands these functions the raw, still-escaped strings, so
 * that a key may hold any byte (%00 included) and a malformed escape is a
 * 400 rather than something passed on silently.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "url.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *mkv_url_decode(const char *s, bool plus_is_space, size_t *len)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '%') {
			int hi = hex_value(s[1]), lo = hi < 0 ? -1 : hex_value(s[2]);
			if (lo < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*o++ = plus_is_space && *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

void mkv_query_add(struct mkv_query *q, const char *key, const char *value)
{
	bool start = strcmp(key, "start") == 0, limit = strcmp(key, "limit") == 0;
	size_t len;
	char *decoded;

	/* As Go, the operation is the raw first argument: "?list=1" is none. */
	if (q->count++ == 0 &&
	    asprintf(&q->operation, "%s%s%s", key, value ? "=" : "", value ? value : "") < 0) {
		q->operation = NULL;
		q->bad = true;
	}
	if (!value || !(start || limit))
		return;
	decoded = mkv_url_decode(value, true, &len);
	if (!decoded) {
		q->bad = true;
	} else if (start && !q->start) {
		q->start = decoded;
		q->start_len = len;
	} else if (limit && !q->limit) {
		q->limit = decoded;
	} else {
		free(decoded);
	}
}

int mkv_query_limit(const struct mkv_query *q, long *limit)
{
	char *end;

	*limit = 0;
	if (!q->limit || !q->limit[0]) /* "&limit=" is no limit, as in Go */
		return 0;
	if (!isdigit((unsigned char)q->limit[0]) && q->limit[0] != '-' && q->limit[0] != '+')
		return MKV_E_INVAL;
	errno = 0;
	*limit = strtol(q->limit, &end, 10);
	return errno || end == q->limit || *end ? MKV_E_INVAL : 0;
}

void mkv_query_free(struct mkv_query *q)
{
	free(q->operation);
	free(q->start);
	free(q->limit);
	memset(q, 0, sizeof *q);
}
