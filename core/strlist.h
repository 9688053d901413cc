/*
 * strlist.h - a growable list of owned strings: volumes, replicas, keys.
 */
#ifndef MKV_STRLIST_H
#define MKV_STRLIST_H

#include <stddef.h>

struct mkv_strlist {
	size_t count;
	char **items; /* each owned by the list; NULL when count is 0 */
};

/* Append a copy of the first len bytes of s. Returns 0 or MKV_E_NOMEM. */
int mkv_strlist_append(struct mkv_strlist *l, const char *s, size_t len);

/*
 * Split s on sep into l (appending), skipping nothing: "a,,b" gives an empty
 * middle item. Returns 0 or MKV_E_NOMEM.
 */
int mkv_strlist_split(struct mkv_strlist *l, const char *s, char sep);

/* Free every item and the array; l is left empty and reusable. */
void mkv_strlist_free(struct mkv_strlist *l);

#endif
