/*
 * fuzz_nginx_list.c - libFuzzer harness for the nginx volume backend's
 * directory listing: the input is the body of a GET of a directory (nginx
 * `autoindex_format json`), parsed by list_entries() into the entries
 * rebuild walks.
 *
 * list_entries() is static, so the backend's source is compiled into this
 * harness; a transfer is set up as nginx_list() leaves it once the body
 * has arrived (no network is involved). Failures go to core/host.c's
 * mkv_host, as they would in the master.
 *
 * Checked besides memory safety and leaks: every entry handed to the
 * callback has a name, and the result is 0 or MKV_E_CORRUPT.
 */
#include "../plugins/volume-nginx/nginx.c"

#include "host.h"

/* The list callback: touch every field, as rebuild does. */
static int on_entry(void *ctx, const struct mkv_volume_entry *e)
{
	size_t *count = ctx;

	if (!e->name || (e->is_dir && e->size != 0))
		abort();
	if (strlen(e->name) == SIZE_MAX)
		abort();
	(*count)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nginx_volume nv = { .host = &mkv_host, .timeout_ms = 1000 };
	char url[] = "http://fuzz/00/";
	struct transfer t = { .nv = &nv, .method = "GET", .url = url };
	size_t count = 0;
	int rc;

	/* Exactly size bytes, not NUL-terminated: as list_write() leaves the body. */
	t.body = size ? malloc(size) : NULL;
	if (size && !t.body)
		return 0;
	if (size)
		memcpy(t.body, data, size);
	t.body_len = t.body_cap = size;

	rc = list_entries(&t, on_entry, &count);
	if (rc != 0 && rc != MKV_E_CORRUPT)
		abort();
	free(t.body);
	return 0;
}
