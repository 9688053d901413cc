/*
 * rebuild.h - regenerating a lost index from the files on the volumes.
 */
#ifndef MKV_REBUILD_H
#define MKV_REBUILD_H

#include "store.h"

/*
 * mkv_rebuild - list every configured volume (and its svXX subvolumes)
 * through the volume backend and write one live record per key found:
 * replicas in placement order, then copies found outside the placement, as
 * the Go minikeyvalue does; no MD5 unless cfg->rehash, which reads every
 * value. Refuses an index that already holds records, and writes nothing
 * when a volume cannot be listed completely. Returns 0, or a negative code
 * with the reason in mkv_error_message().
 */
int mkv_rebuild(struct mkv_store *s);

#endif
