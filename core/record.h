/*
 * record.h - the index record of a key, in the Go minikeyvalue's bytes:
 * optional "DELETED", optional "HASH" + 32 hex digits, then the replicas
 * joined by ','.
 */
#ifndef MKV_RECORD_H
#define MKV_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "strlist.h"

#define MKV_HASH_HEX_LEN 32

struct mkv_record {
	bool deleted;                      /* soft-deleted: unlinked, or a write in progress */
	char hash[MKV_HASH_HEX_LEN + 1];   /* lowercase hex MD5, "" when not stored */
	struct mkv_strlist replicas;       /* owned by the record */
};

/*
 * mkv_record_decode - parse len bytes of an index value into rec (which the
 * caller frees with mkv_record_free). An empty replica part gives no
 * replicas. Returns 0, MKV_E_CORRUPT when a HASH is cut short or not hex or
 * the replicas hold a NUL byte, or MKV_E_NOMEM.
 */
int mkv_record_decode(const void *data, size_t len, struct mkv_record *rec);

/*
 * mkv_record_encode - the index value of rec, NUL-terminated, malloc'd (the
 * caller frees it); its length without the NUL goes to *len. NULL when out
 * of memory.
 */
char *mkv_record_encode(const struct mkv_record *rec, size_t *len);

/* Free what rec owns; rec is left empty. */
void mkv_record_free(struct mkv_record *rec);

#endif
