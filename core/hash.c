/*
 * hash.c - where a key lives, computed exactly as the Go minikeyvalue does.
 *
 * A key's file on a volume is named by the key itself in standard base64
 * (with '=' padding), under two directory levels taken from the first two
 * bytes of the key's MD5: "hello" lives at /5d/41/aGVsbG8=.
 *
 * The volumes holding a key are chosen by rendezvous hashing: every volume
 * gets the score md5(key + volume name), the highest scores win, and a
 * volume's subvolume (one of its disks) is the score's last four bytes modulo
 * the number of subvolumes. Adding a volume moves only the keys it now wins.
 * Any change here moves every key, so these functions are pinned by the
 * vectors in tests/unit/test_hash.c.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mkv/error.h>

#include "hash.h"

static EVP_MD *md5_fetched;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_fetch(void)
{
	md5_fetched = EVP_MD_fetch(NULL, "MD5", NULL);
}

const EVP_MD *mkv_md5_method(void)
{
	pthread_once(&md5_once, md5_fetch);
	return md5_fetched ? md5_fetched : EVP_md5();
}

void mkv_md5(const void *data, size_t len, unsigned char out[MKV_MD5_LEN])
{
	EVP_Digest(data, len, out, NULL, mkv_md5_method(), NULL);
}

uint32_t mkv_fnv1a(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The length of the padded base64 form of len bytes. */
static size_t base64_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

int mkv_key_path(const void *key, size_t key_len, char buf[MKV_PATH_MAX])
{
	unsigned char md5[MKV_MD5_LEN];
	int n;

	if (base64_len(key_len) > MKV_NAME_MAX)
		return MKV_E_TOOLONG;
	mkv_md5(key, key_len, md5);
	n = snprintf(buf, MKV_PATH_MAX, "/%02x/%02x/", md5[0], md5[1]);
	/* EVP_EncodeBlock writes standard base64 with padding, NUL-terminated. */
	EVP_EncodeBlock((unsigned char *)buf + n, key, (int)key_len);
	return 0;
}

/* A volume's rendezvous score for one key, and its place in the config. */
struct scored {
	unsigned char score[MKV_MD5_LEN];
	size_t volume;
};

/* md5(key followed by volume) into out, reusing ctx. Returns 0 or MKV_E_NOMEM. */
static int score_volume(EVP_MD_CTX *ctx, const void *key, size_t key_len,
			const char *volume, unsigned char out[MKV_MD5_LEN])
{
	if (!EVP_DigestInit_ex(ctx, mkv_md5_method(), NULL) ||
	    !EVP_DigestUpdate(ctx, key, key_len) ||
	    !EVP_DigestUpdate(ctx, volume, strlen(volume)) ||
	    !EVP_DigestFinal_ex(ctx, out, NULL))
		return MKV_E_NOMEM;
	return 0;
}

/*
 * Score every volume and sort by score, largest first. The insertion sort is
 * stable, so equal scores keep the configured order as Go's sort.Stable
 * does, and a few dozen volumes sort in no time. Returns 0 or MKV_E_NOMEM.
 */
static int rank_volumes(const void *key, size_t key_len,
			const struct mkv_strlist *volumes, struct scored *ranked)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = 0;

	if (!ctx)
		return MKV_E_NOMEM;
	for (size_t i = 0; i < volumes->count && rc == 0; i++) {
		struct scored s = { .volume = i };
		size_t j = i;

		rc = score_volume(ctx, key, key_len, volumes->items[i], s.score);
		while (j > 0 && memcmp(ranked[j - 1].score, s.score, MKV_MD5_LEN) < 0) {
			ranked[j] = ranked[j - 1];
			j--;
		}
		ranked[j] = s;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Append the replica name of a ranked volume to out. Returns 0 or MKV_E_NOMEM. */
static int append_replica(struct mkv_strlist *out, const char *volume,
			  const unsigned char score[MKV_MD5_LEN], int subvolumes)
{
	uint32_t tail;
	char *name;
	int n, rc;

	if (subvolumes == 1)
		return mkv_strlist_append(out, volume, strlen(volume));
	tail = (uint32_t)score[12] << 24 | (uint32_t)score[13] << 16 |
	       (uint32_t)score[14] << 8 | (uint32_t)score[15];
	n = asprintf(&name, "%s/sv%02X", volume, (unsigned)(tail % (uint32_t)subvolumes));
	if (n < 0)
		return MKV_E_NOMEM;
	rc = mkv_strlist_append(out, name, (size_t)n);
	free(name);
	return rc;
}

int mkv_key_replicas(const void *key, size_t key_len,
		     const struct mkv_strlist *volumes, int replicas,
		     int subvolumes, struct mkv_strlist *out)
{
	size_t first = out->count;
	struct scored *ranked;
	int rc;

	if (replicas < 1 || (size_t)replicas > volumes->count || subvolumes < 1)
		return MKV_E_INVAL;
	ranked = malloc(volumes->count * sizeof *ranked);
	if (!ranked)
		return MKV_E_NOMEM;
	rc = rank_volumes(key, key_len, volumes, ranked);
	for (int i = 0; i < replicas && rc == 0; i++)
		rc = append_replica(out, volumes->items[ranked[i].volume],
				    ranked[i].score, subvolumes);
	free(ranked);
	if (rc < 0) {
		/* Leave out as it was: no half answer. */
		while (out->count > first)
			free(out->items[--out->count]);
	}
	return rc;
}
