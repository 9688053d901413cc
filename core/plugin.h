/*
 * plugin.h - loading backends (dlopen'd shared objects) and opening them.
 */
#ifndef MKV_CORE_PLUGIN_H
#define MKV_CORE_PLUGIN_H

#include <mkv/mkv.h>

/* The longest one-line error the loader writes. */
#define MKV_PLUGIN_ERR_MAX 1024

/* A loaded shared object and its vtable. */
struct mkv_plugin {
	void *dl;                           /* dlopen handle, NULL for a built-in vtable */
	char *path;                         /* the file loaded, owned */
	const struct mkv_plugin_head *head; /* the vtable, owned by the shared object */
};

/*
 * mkv_plugin_load - load the backend of kind named name_or_path: a name
 * ("leveldb") is looked up as DIR/NAME.so in plugindir; anything containing
 * a '/' or ending in ".so" is a path. On failure everything is undone and
 * err holds one line naming the file and the reason (missing file, missing
 * entry symbol, wrong ABI major with both versions, wrong kind).
 * Returns 0, MKV_E_NOTFOUND, MKV_E_ABI or MKV_E_INVAL.
 */
int mkv_plugin_load(const char *name_or_path, const char *plugindir,
		    enum mkv_plugin_kind kind, struct mkv_plugin *out,
		    char err[MKV_PLUGIN_ERR_MAX]);

/* dlclose and free; p is left empty. Safe on an empty p. */
void mkv_plugin_unload(struct mkv_plugin *p);

/* An open index: its vtable and the handle the core allocated for it. */
struct mkv_index {
	const struct mkv_index_ops *ops;
	void *h;
};

/* An open volume backend. */
struct mkv_volume {
	const struct mkv_volume_ops *ops;
	void *h;
};

/*
 * Allocate the handle and call ops->open. Returns 0 or the slot's code, with
 * the reason in mkv_error_message(); ix is left empty on failure.
 */
int mkv_index_open(struct mkv_index *ix, const struct mkv_index_ops *ops,
		   const char *location, const struct mkv_options *opts);
void mkv_index_close(struct mkv_index *ix);

int mkv_volume_open(struct mkv_volume *v, const struct mkv_volume_ops *ops,
		    unsigned timeout_ms, const struct mkv_options *opts);
void mkv_volume_close(struct mkv_volume *v);

/*
 * Whether v's backend has stat_async (ABI 1.1): built for 1.1 or later, with
 * the slot set. The core reads no slot a backend's ABI version lacks.
 */
bool mkv_volume_has_stat_async(const struct mkv_volume *v);

#endif
