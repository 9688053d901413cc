/*
 * record.c - the index record codec, in the Go minikeyvalue's bytes.
 *
 * A record is what the index stores for a key:
 *
 *     [DELETED][HASH<32 lowercase hex digits>]replica,replica,...
 *
 * "DELETED" marks a key soft-deleted (unlinked, or a write still in
 * progress), the HASH is the MD5 of the value when -md5sum is on, and the
 * replicas are the volumes (with their "/svXX" subvolume) that hold it.
 * decode(encode(r)) == r and encode(decode(b)) == b for every record Go
 * writes, so an existing LevelDB index reads and rewrites unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "record.h"

#define DELETED_TAG "DELETED"
#define HASH_TAG "HASH"

/* True when the n bytes at p start with the NUL-terminated tag. */
static bool starts_with(const char *p, size_t n, const char *tag)
{
	size_t len = strlen(tag);

	return n >= len && memcmp(p, tag, len) == 0;
}

static bool is_lower_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* Split the n bytes at p on ',' into l; no bytes give no items. */
static int split_replicas(struct mkv_strlist *l, const char *p, size_t n)
{
	const char *end = p + n;

	if (n == 0)
		return 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		if (mkv_strlist_append(l, p, (size_t)(stop - p)) < 0)
			return MKV_E_NOMEM;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int mkv_record_decode(const void *data, size_t len, struct mkv_record *rec)
{
	const char *p = data;
	int rc;

	memset(rec, 0, sizeof *rec);
	if (starts_with(p, len, DELETED_TAG)) {
		rec->deleted = true;
		p += strlen(DELETED_TAG);
		len -= strlen(DELETED_TAG);
	}
	if (starts_with(p, len, HASH_TAG)) {
		p += strlen(HASH_TAG);
		len -= strlen(HASH_TAG);
		if (len < MKV_HASH_HEX_LEN || !is_lower_hex(p, MKV_HASH_HEX_LEN))
			return MKV_E_CORRUPT;
		memcpy(rec->hash, p, MKV_HASH_HEX_LEN);
		rec->hash[MKV_HASH_HEX_LEN] = '\0';
		p += MKV_HASH_HEX_LEN;
		len -= MKV_HASH_HEX_LEN;
	}
	if (memchr(p, '\0', len))
		return MKV_E_CORRUPT; /* no replica name holds a NUL; it would not survive encoding */
	rc = split_replicas(&rec->replicas, p, len);
	if (rc < 0)
		mkv_record_free(rec);
	return rc;
}

char *mkv_record_encode(const struct mkv_record *rec, size_t *len)
{
	/* As Go, a hash is written only when it is a whole one. */
	bool has_hash = strlen(rec->hash) == MKV_HASH_HEX_LEN;
	size_t n = 0;
	char *out, *p;

	if (rec->deleted)
		n += strlen(DELETED_TAG);
	if (has_hash)
		n += strlen(HASH_TAG) + MKV_HASH_HEX_LEN;
	for (size_t i = 0; i < rec->replicas.count; i++)
		n += (i ? 1 : 0) + strlen(rec->replicas.items[i]);
	out = p = malloc(n + 1);
	if (!out)
		return NULL;
	if (rec->deleted)
		p = stpcpy(p, DELETED_TAG);
	if (has_hash)
		p = stpcpy(stpcpy(p, HASH_TAG), rec->hash);
	for (size_t i = 0; i < rec->replicas.count; i++) {
		if (i)
			*p++ = ',';
		p = stpcpy(p, rec->replicas.items[i]);
	}
	*p = '\0';
	*len = n;
	return out;
}

void mkv_record_free(struct mkv_record *rec)
{
	mkv_strlist_free(&rec->replicas);
	rec->deleted = false;
	rec->hash[0] = '\0';
}
