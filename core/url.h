/*
 * url.h - the parts of a request URL mkv reads itself: the key (the path,
 * percent-decoded) and the query of a listing.
 */
#ifndef MKV_URL_H
#define MKV_URL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * mkv_url_decode - percent-decode s into a malloc'd buffer, NUL-terminated,
 * its length (which may count NUL bytes decoded from %00) in *len. With
 * plus_is_space, '+' becomes ' ' as in query strings. NULL when an escape is
 * malformed ("%zz", "%4") or memory runs out.
 */
char *mkv_url_decode(const char *s, bool plus_is_space, size_t *len);

/* The query of a GET: its first argument names the operation (?list, ?unlinked). */
struct mkv_query {
	int count;         /* arguments seen */
	char *operation;   /* the first argument as it came: "list", "list=1", "%6Cist" */
	char *start;       /* start=, decoded; NULL when absent */
	size_t start_len;
	char *limit;       /* limit=, decoded; NULL when absent */
	bool bad;          /* an argument had a malformed escape */
};

/*
 * Take one argument as it came (key and value still escaped; value NULL for
 * "?list"). The first occurrence of start and limit wins.
 */
void mkv_query_add(struct mkv_query *q, const char *key, const char *value);

/* The limit as a number (0 when absent). Returns 0, or MKV_E_INVAL when it is not a number. */
int mkv_query_limit(const struct mkv_query *q, long *limit);

/* Free what q holds. */
void mkv_query_free(struct mkv_query *q);

#endif
