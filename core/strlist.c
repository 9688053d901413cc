/*
 * strlist.c - a growable list of owned strings.
 *
 * Volumes, replicas and keys are short lists of short strings; each item is
 * its own NUL-terminated allocation, and the array doubles when full. An
 * empty list holds no memory at all, so a zeroed struct is a valid list.
 */
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "strlist.h"

/*
 * Room for at least one more item. The capacity is implied by count (4, then
 * the next power of two), so the list needs no capacity field: it grows
 * exactly when count is 0 or a power of two of at least 4.
 * Returns 0 or MKV_E_NOMEM.
 */
static int grow(struct mkv_strlist *l)
{
	size_t n = l->count;
	char **items;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return 0;
	items = realloc(l->items, (n ? 2 * n : 4) * sizeof *items);
	if (!items)
		return MKV_E_NOMEM;
	l->items = items;
	return 0;
}

int mkv_strlist_append(struct mkv_strlist *l, const char *s, size_t len)
{
	char *copy;

	if (grow(l) < 0)
		return MKV_E_NOMEM;
	copy = malloc(len + 1);
	if (!copy)
		return MKV_E_NOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	l->items[l->count++] = copy;
	return 0;
}

int mkv_strlist_split(struct mkv_strlist *l, const char *s, char sep)
{
	for (;;) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (mkv_strlist_append(l, s, len) < 0)
			return MKV_E_NOMEM;
		if (!end)
			return 0;
		s = end + 1;
	}
}

void mkv_strlist_free(struct mkv_strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}
