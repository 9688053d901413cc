/*
 * rebuild.c - the index, regenerated from the volumes alone.
 *
 * Scan: a queue of directories to list, shared by cfg->workers threads. A
 * volume's root holds either svXX subvolume directories or the two levels of
 * hex directories (/5d/41/); below them every file is a value whose name is
 * the base64 of its key. Standard base64 may contain '/', so a long key can
 * sit deeper than the third level: the scan follows directories down and
 * joins the path back into the name. A file counts only when its key's path
 * is exactly where it was found, so strays are ignored.
 *
 * Write: the (key, replica) pairs found are sorted, grouped by key, turned
 * into records and written in batches, again by the workers. Nothing is
 * written unless every directory was listed: an index missing keys would
 * silently lose them.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "host.h"
#include "progress.h"
#include "rebuild.h"

#define LIST_TRIES 3
#define BATCH 512
/* Directory levels a base64 name may add under /xx/yy/ (255 bytes hold at most 127 '/'). */
#define MAX_DEPTH (2 + 128)

struct item {
	struct item *next;
	size_t replica;
	int depth;      /* 0 at the replica's root, 2 in /xx/yy/ */
	char dir[];     /* "/", "/5d/", "/5d/41/", ... */
};

struct found {
	unsigned char *key;
	size_t len;
	size_t replica; /* index into scan.replicas: configured order */
};

struct scan {
	struct mkv_store *s;
	struct mkv_progress *progress;
	struct mkv_strlist replicas;
	pthread_mutex_t mu;
	pthread_cond_t more;
	struct item *head;
	size_t pending;      /* items queued or being listed */
	int rc;              /* the first failure stops the scan */
	struct found *found;
	size_t nfound, capfound;
	/* The write phase. */
	size_t *groups;      /* start of each key's run in found, plus the end */
	size_t ngroups;
	_Atomic size_t next_group;
};

static bool is_hex2(const char *name)
{
	return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* Queue a directory to list. Locked. */
static int push_locked(struct scan *sc, size_t replica, const char *dir, int depth)
{
	struct item *it = malloc(sizeof *it + strlen(dir) + 1);

	if (!it)
		return mkv_fail(MKV_E_NOMEM, "out of memory");
	it->replica = replica;
	it->depth = depth;
	strcpy(it->dir, dir);
	it->next = sc->head;
	sc->head = it;
	sc->pending++;
	sc->progress->total++;
	pthread_cond_signal(&sc->more);
	return 0;
}

/* Record a value file found at path on replica, if its name decodes to a key that lives there. */
static int add_found_locked(struct scan *sc, size_t replica, const char *path)
{
	const char *name = path + 7; /* after "/xx/yy/" */
	size_t n = strlen(name), pad = 0;
	unsigned char key[MKV_NAME_MAX];
	char where[MKV_PATH_MAX];
	int len;

	if (n == 0 || n > MKV_NAME_MAX || n % 4)
		return 0;
	len = EVP_DecodeBlock(key, (const unsigned char *)name, (int)n);
	while (pad < 2 && name[n - 1 - pad] == '=')
		pad++;
	if (len < 0 || (size_t)len < pad ||
	    mkv_key_path(key, (size_t)len - pad, where) < 0 || strcmp(where, path) != 0) {
		mkv_log(MKV_LOG_DEBUG, "rebuild: ignoring %s%s: not a value file",
			sc->replicas.items[replica], path);
		return 0;
	}
	if (sc->nfound == sc->capfound) {
		size_t cap = sc->capfound ? 2 * sc->capfound : 1024;
		struct found *f = realloc(sc->found, cap * sizeof *f);
		if (!f)
			return mkv_fail(MKV_E_NOMEM, "out of memory");
		sc->found = f;
		sc->capfound = cap;
	}
	sc->found[sc->nfound] = (struct found){ .len = (size_t)len - pad, .replica = replica };
	sc->found[sc->nfound].key = malloc((size_t)len - pad + 1);
	if (!sc->found[sc->nfound].key)
		return mkv_fail(MKV_E_NOMEM, "out of memory");
	memcpy(sc->found[sc->nfound++].key, key, (size_t)len - pad);
	return 0;
}

struct listing {
	struct scan *sc;
	const struct item *it;
};

/* One entry of a listed directory: a deeper directory to queue, or a value. */
static int on_entry(void *ctx, const struct mkv_volume_entry *e)
{
	struct listing *l = ctx;
	struct scan *sc = l->sc;
	const struct item *it = l->it;
	char path[MKV_PATH_MAX + MKV_NAME_MAX];
	int rc = 0;

	if (snprintf(path, sizeof path, "%s%s%s", it->dir, e->name, e->is_dir ? "/" : "") >=
	    (int)sizeof path)
		return 0;
	pthread_mutex_lock(&sc->mu);
	if (e->is_dir && (it->depth >= 2 ? it->depth < MAX_DEPTH : is_hex2(e->name)))
		rc = push_locked(sc, it->replica, path, it->depth + 1);
	else if (!e->is_dir && it->depth >= 2)
		rc = add_found_locked(sc, it->replica, path);
	pthread_mutex_unlock(&sc->mu);
	return rc;
}

/* List one directory, retrying a volume that fails. */
static int list_item(struct scan *sc, const struct item *it)
{
	const struct mkv_volume *v = sc->s->volume;
	struct listing l = { sc, it };
	int rc = 0;

	for (int i = 0; i < LIST_TRIES; i++) {
		mkv_error_clear();
		rc = v->ops->list(v->h, sc->replicas.items[it->replica], it->dir, on_entry, &l);
		if (rc == 0 || rc == MKV_E_NOTFOUND || rc == MKV_E_NOMEM)
			break;
	}
	if (rc == MKV_E_NOTFOUND) /* removed since its parent was listed */
		return 0;
	if (rc < 0)
		rc = mkv_fail(rc, "listing %s%s: %s", sc->replicas.items[it->replica], it->dir,
			      mkv_error_message(rc));
	return rc;
}

static void *scan_worker(void *arg)
{
	struct scan *sc = arg;

	pthread_mutex_lock(&sc->mu);
	for (;;) {
		struct item *it;
		int rc;

		while (!sc->head && sc->pending && sc->rc == 0)
			pthread_cond_wait(&sc->more, &sc->mu);
		if (!sc->head || sc->rc < 0)
			break;
		it = sc->head;
		sc->head = it->next;
		pthread_mutex_unlock(&sc->mu);
		rc = list_item(sc, it);
		if (rc < 0)
			mkv_log(MKV_LOG_ERROR, "rebuild: %s", mkv_error_message(rc));
		free(it);
		pthread_mutex_lock(&sc->mu);
		if (rc < 0 && sc->rc == 0)
			sc->rc = rc;
		sc->progress->done++;
		if (--sc->pending == 0 || sc->rc < 0)
			pthread_cond_broadcast(&sc->more);
	}
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

struct root {
	bool subvolumes;
	struct mkv_strlist names;
};

static int on_root_entry(void *ctx, const struct mkv_volume_entry *e)
{
	struct root *r = ctx;

	if (!e->is_dir || strlen(e->name) != 4 || strncmp(e->name, "sv", 2) != 0)
		return 0;
	r->subvolumes = true;
	return mkv_strlist_append(&r->names, e->name, 4);
}

/* Queue the roots of volume: its svXX subvolumes when it has any, else itself. */
static int queue_volume(struct scan *sc, const char *volume)
{
	const struct mkv_volume *v = sc->s->volume;
	struct root r = { 0 };
	char replica[1024];
	int rc;

	mkv_error_clear();
	rc = v->ops->list(v->h, volume, "/", on_root_entry, &r);
	if (rc < 0)
		rc = mkv_fail(rc, "listing volume %s: %s", volume, mkv_error_message(rc));
	for (size_t i = 0; rc == 0 && i < (r.subvolumes ? r.names.count : 1); i++) {
		snprintf(replica, sizeof replica, "%s%s%s", volume, r.subvolumes ? "/" : "",
			 r.subvolumes ? r.names.items[i] : "");
		rc = mkv_strlist_append(&sc->replicas, replica, strlen(replica));
		if (rc == 0)
			rc = push_locked(sc, sc->replicas.count - 1, "/", 0);
	}
	mkv_strlist_free(&r.names);
	return rc;
}

/* Run fn on cfg->workers threads (or on this one when none starts). */
static void run_workers(struct mkv_store *s, void *(*fn)(void *), void *arg)
{
	int n = s->cfg->workers, started = 0;
	pthread_t threads[n];

	for (int i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, fn, arg) == 0)
			started++;
	if (started == 0)
		fn(arg);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

static int compare_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->replica > y->replica) - (x->replica < y->replica);
}

static int md5_sink(void *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx, data, len) ? 0 : MKV_E_NOMEM;
}

/* The MD5 of key's value, read from replica, as lowercase hex into hex. */
static int rehash(struct scan *sc, const struct found *f, const char *replica, char hex[33])
{
	const struct mkv_volume *v = sc->s->volume;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	char path[MKV_PATH_MAX];
	unsigned dlen = 0;
	int rc = md && EVP_DigestInit_ex(md, mkv_md5_method(), NULL) ? 0 : MKV_E_NOMEM;

	if (rc == 0)
		rc = mkv_key_path(f->key, f->len, path);
	if (rc == 0) {
		mkv_error_clear();
		rc = v->ops->read(v->h, replica, path, md5_sink, md);
	}
	if (rc == 0 && EVP_DigestFinal_ex(md, digest, &dlen))
		for (unsigned i = 0; i < 16 && i < dlen; i++)
			sprintf(hex + 2 * i, "%02x", digest[i]);
	EVP_MD_CTX_free(md);
	return rc;
}

/*
 * The record of the key found at found[from..to): the replicas it is on,
 * those of its placement first, in placement order, then the others.
 */
static int build_record(struct scan *sc, size_t from, size_t to, struct mkv_record *rec)
{
	const struct mkv_config *cfg = sc->s->cfg;
	const struct found *f = &sc->found[from];
	struct mkv_strlist want = { 0 };
	bool placed[to - from];
	int rc = mkv_key_replicas(f->key, f->len, &cfg->volumes, cfg->replicas,
				  cfg->subvolumes, &want);

	memset(placed, 0, sizeof placed);
	for (size_t w = 0; rc == 0 && w < want.count; w++)
		for (size_t i = from; i < to; i++)
			if (!placed[i - from] &&
			    strcmp(sc->replicas.items[sc->found[i].replica], want.items[w]) == 0) {
				placed[i - from] = true;
				rc = mkv_strlist_append(&rec->replicas, want.items[w], strlen(want.items[w]));
			}
	for (size_t i = from; rc == 0 && i < to; i++)
		if (!placed[i - from]) {
			const char *r = sc->replicas.items[sc->found[i].replica];
			rc = mkv_strlist_append(&rec->replicas, r, strlen(r));
		}
	mkv_strlist_free(&want);
	if (rc == 0 && cfg->rehash)
		rc = rehash(sc, f, rec->replicas.items[0], rec->hash);
	return rc;
}

/* Write the records of groups [g, end) in one batch. */
static int write_groups(struct scan *sc, size_t g, size_t end)
{
	const struct mkv_index *ix = sc->s->index;
	struct mkv_index_op ops[BATCH];
	char text[MKV_PRINTABLE_MAX];
	size_t n = 0;
	int rc = 0;

	for (; rc == 0 && g < end; g++, n++) {
		struct mkv_record rec = { 0 };
		const struct found *f = &sc->found[sc->groups[g]];
		size_t len = 0;

		rc = build_record(sc, sc->groups[g], sc->groups[g + 1], &rec);
		ops[n] = (struct mkv_index_op){ .type = MKV_INDEX_PUT, .key = f->key,
						.key_len = f->len };
		if (rc == 0 && !(ops[n].value = mkv_record_encode(&rec, &len)))
			rc = mkv_fail(MKV_E_NOMEM, "out of memory");
		ops[n].value_len = len;
		mkv_record_free(&rec);
		if (rc < 0)
			mkv_log(MKV_LOG_ERROR, "rebuild %s: %s",
				mkv_printable(f->key, f->len, text, sizeof text), mkv_error_message(rc));
	}
	if (rc == 0) {
		mkv_error_clear();
		rc = ix->ops->batch(ix->h, ops, n);
	}
	for (size_t i = 0; i < n; i++)
		free((void *)ops[i].value);
	return rc;
}

static void *write_worker(void *arg)
{
	struct scan *sc = arg;
	size_t g;

	while ((g = atomic_fetch_add(&sc->next_group, BATCH)) < sc->ngroups) {
		size_t end = g + BATCH < sc->ngroups ? g + BATCH : sc->ngroups;
		int rc = write_groups(sc, g, end);

		pthread_mutex_lock(&sc->mu);
		if (rc < 0 && sc->rc == 0)
			sc->rc = rc;
		pthread_mutex_unlock(&sc->mu);
		sc->progress->done += end - g;
		if (rc < 0)
			sc->progress->failed += end - g;
	}
	return NULL;
}

/* Sort what was found and mark where each key's run starts. */
static int group_found(struct scan *sc)
{
	qsort(sc->found, sc->nfound, sizeof *sc->found, compare_found);
	sc->groups = malloc((sc->nfound + 1) * sizeof *sc->groups);
	if (!sc->groups)
		return mkv_fail(MKV_E_NOMEM, "out of memory");
	for (size_t i = 0; i < sc->nfound; i++)
		if (i == 0 || compare_found(&(struct found){ sc->found[i].key, sc->found[i].len, 0 },
					    &(struct found){ sc->found[i - 1].key, sc->found[i - 1].len, 0 }))
			sc->groups[sc->ngroups++] = i;
	sc->groups[sc->ngroups] = sc->nfound;
	return 0;
}

/* 0 when the index holds no record, MKV_E_EXISTS when it does. */
static int check_empty(struct mkv_store *s)
{
	const struct mkv_index *ix = s->index;
	struct mkv_index_cursor *c;
	const void *k, *v;
	size_t klen, vlen;
	int rc;

	mkv_error_clear();
	rc = ix->ops->cursor_open(ix->h, "", 0, "", 0, &c);
	if (rc < 0)
		return rc;
	rc = ix->ops->cursor_next(c, &k, &klen, &v, &vlen);
	ix->ops->cursor_close(c);
	if (rc == 0)
		return mkv_fail(MKV_E_EXISTS, "the index %s already holds records: "
				"rebuild into a new -db directory", s->cfg->db);
	return rc == MKV_E_NOTFOUND ? 0 : rc;
}

static void scan_free(struct scan *sc)
{
	while (sc->head) {
		struct item *it = sc->head;
		sc->head = it->next;
		free(it);
	}
	for (size_t i = 0; i < sc->nfound; i++)
		free(sc->found[i].key);
	free(sc->found);
	free(sc->groups);
	mkv_strlist_free(&sc->replicas);
	pthread_cond_destroy(&sc->more);
	pthread_mutex_destroy(&sc->mu);
}

int mkv_rebuild(struct mkv_store *s)
{
	struct mkv_progress progress;
	struct scan sc = { .s = s, .progress = &progress };
	int rc = check_empty(s);

	if (rc < 0)
		return rc;
	pthread_mutex_init(&sc.mu, NULL);
	pthread_cond_init(&sc.more, NULL);
	mkv_progress_start(&progress, "rebuild: scanning", "directories", 0);
	for (size_t i = 0; rc == 0 && i < s->cfg->volumes.count; i++)
		rc = queue_volume(&sc, s->cfg->volumes.items[i]);
	if (rc == 0) {
		run_workers(s, scan_worker, &sc);
		rc = sc.rc;
	}
	mkv_progress_finish(&progress);
	if (rc == 0)
		rc = group_found(&sc);
	if (rc == 0) {
		mkv_log(MKV_LOG_INFO, "rebuild: %zu keys in %zu files on %zu replicas",
			sc.ngroups, sc.nfound, sc.replicas.count);
		mkv_progress_start(&progress, "rebuild: writing", "keys", sc.ngroups);
		run_workers(s, write_worker, &sc);
		mkv_progress_finish(&progress);
		rc = sc.rc;
	}
	scan_free(&sc);
	return rc;
}
