/*
 * hash.h - where a key lives: its file path on a volume and its replicas,
 * byte-for-byte as the Go minikeyvalue computes them.
 */
#ifndef MKV_HASH_H
#define MKV_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "strlist.h"

#define MKV_MD5_LEN 16
/* The longest file name a volume accepts (the base64 form of a key). */
#define MKV_NAME_MAX 255
/* Room for any path mkv_key_path() produces, NUL included. */
#define MKV_PATH_MAX (sizeof "/xx/yy/" + MKV_NAME_MAX)

/*
 * OpenSSL's MD5, fetched once: EVP_md5() makes every digest look the
 * algorithm up again, under a lock that all threads share.
 */
const EVP_MD *mkv_md5_method(void);

/*
 * FNV-1a of len bytes at data, continuing from h (MKV_FNV1A_INIT to start):
 * cheap, and good enough to spread keys over lock stripes. Not for placement.
 */
#define MKV_FNV1A_INIT 2166136261u
uint32_t mkv_fnv1a(uint32_t h, const void *data, size_t len);

/* md5 of len bytes at data into out (OpenSSL EVP). */
void mkv_md5(const void *data, size_t len, unsigned char out[MKV_MD5_LEN]);

/*
 * mkv_key_path - the path of key's file on a volume, "/5d/41/aGVsbG8=" for
 * "hello", written NUL-terminated into buf (MKV_PATH_MAX bytes). Returns 0,
 * or MKV_E_TOOLONG (buf untouched) when the base64 name would exceed
 * MKV_NAME_MAX bytes.
 */
int mkv_key_path(const void *key, size_t key_len, char buf[MKV_PATH_MAX]);

/*
 * mkv_key_replicas - the replicas of key by rendezvous hashing over volumes:
 * the first `replicas` volumes by md5(key + volume), largest first, ties in
 * configured order, each suffixed "/svXX" when subvolumes > 1. Appends the
 * names to out (owned by the caller). Returns 0, MKV_E_INVAL when replicas
 * exceeds the number of volumes (or replicas or subvolumes is below 1), or
 * MKV_E_NOMEM; on failure out is left as it was.
 */
int mkv_key_replicas(const void *key, size_t key_len,
		     const struct mkv_strlist *volumes, int replicas,
		     int subvolumes, struct mkv_strlist *out);

#endif
