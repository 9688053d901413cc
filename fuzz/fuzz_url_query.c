/*
 * fuzz_url_query.c - libFuzzer harness for the query of a listing
 * (?list&start=...&limit=...), fed to mkv_query_add() argument by argument
 * the way microhttpd splits a query string ('&' between arguments, the
 * first '=' between name and value, no '=' for a NULL value), then read as
 * serve_query() in core/server.c reads it.
 *
 * Checked besides memory safety and leaks: a query that is not bad has its
 * operation; start is NUL-terminated at start_len; only a limit that is
 * there can be bad, and an absent one reads as 0; freeing empties q.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "url.h"

/* Hand each argument of the NUL-terminated query string s to q (s is cut up). */
static void add_arguments(struct mkv_query *q, char *s)
{
	char *saveptr = NULL;

	for (char *arg = strtok_r(s, "&", &saveptr); arg; arg = strtok_r(NULL, "&", &saveptr)) {
		char *eq = strchr(arg, '=');

		if (eq)
			*eq = '\0';
		mkv_query_add(q, arg, eq ? eq + 1 : NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mkv_query q = { 0 };
	char *s = malloc(size + 1);
	long limit = -1;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	add_arguments(&q, s);

	if (q.count > 0 && !q.bad && !q.operation)
		abort();
	if (q.start && q.start[q.start_len] != '\0')
		abort();
	if (mkv_query_limit(&q, &limit) == 0) {
		if (!q.limit && limit != 0)
			abort();
	} else if (!q.limit) {
		abort(); /* only a limit that is there can be bad */
	}

	mkv_query_free(&q);
	if (q.operation || q.start || q.limit || q.count)
		abort(); /* freed and emptied */
	free(s);
	return 0;
}
