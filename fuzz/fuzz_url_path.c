/*
 * fuzz_url_path.c - libFuzzer harness for the key of a request: the URL
 * path as microhttpd hands it over (a C string, still escaped), decoded by
 * mkv_url_decode() and turned into a volume path by mkv_key_path().
 *
 * Checked besides memory safety: a decoded key is never longer than its
 * escaped form and is NUL-terminated at its length; escaping every byte of
 * it again and decoding gives the same bytes back; a path that fits is at
 * most MKV_PATH_MAX - 1 bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "hash.h"
#include "url.h"

/* Every byte of the len bytes at s as %XX, NUL-terminated, malloc'd. */
static char *escape_all(const char *s, size_t len)
{
	char *out = malloc(3 * len + 1);

	if (!out)
		abort();
	for (size_t i = 0; i < len; i++)
		snprintf(out + 3 * i, 4, "%%%02X", (unsigned char)s[i]);
	out[3 * len] = '\0';
	return out;
}

static void check_path(const char *url, bool plus_is_space)
{
	size_t len = 0, again_len = 0;
	char *key = mkv_url_decode(url, plus_is_space, &len), *escaped, *again;
	char path[MKV_PATH_MAX];

	if (!key)
		return;
	if (len > strlen(url) || key[len] != '\0')
		abort();
	if (!strchr(url, '%') && !(plus_is_space && strchr(url, '+')) &&
	    (len != strlen(url) || memcmp(key, url, len) != 0))
		abort(); /* nothing to decode: the key is the path as it came */

	escaped = escape_all(key, len);
	again = mkv_url_decode(escaped, false, &again_len);
	if (!again || again_len != len || memcmp(again, key, len) != 0)
		abort();

	memset(path, 0, sizeof path);
	if (mkv_key_path(key, len, path) == 0 &&
	    (path[0] != '/' || strnlen(path, sizeof path) >= sizeof path))
		abort();

	free(again);
	free(escaped);
	free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);

	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0'; /* the server sees a C string: a NUL ends the path */
	check_path(url, false);
	check_path(url, true);
	free(url);
	return 0;
}
