/*
 * mkv/plugin.h - what every mkv plugin shares: the ABI version, the head that
 * starts every vtable, the host services the core hands a plugin, and the one
 * entry symbol a shared object exports.
 *
 * A plugin is a shared object that exports
 *
 *     const struct mkv_plugin_head *mkv_plugin_entry(void);
 *
 * returning the head of a static const vtable (struct mkv_index_ops or struct
 * mkv_volume_ops, whose first member is the head). The core checks the ABI
 * major version and the kind, allocates handle_size zeroed bytes for each
 * instance, and calls the slots. Plugins hold no policy: they store bytes.
 *
 * Plugins never link against the mkv binary. Everything they need from the
 * host (logging, error messages, option lookup) comes through the const
 * struct mkv_host passed to open(), which stays valid until close() returns.
 */
#ifndef MKV_PLUGIN_H
#define MKV_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mkv/error.h>

/*
 * The ABI version: a major change breaks plugins (the core refuses them), a
 * minor change only appends slots (the core checks the minor version and a
 * NULL slot before calling a slot a later minor version added).
 */
#define MKV_ABI_MAJOR 1
#define MKV_ABI_MINOR 1
#define MKV_ABI_VERSION ((uint32_t)(MKV_ABI_MAJOR << 16 | MKV_ABI_MINOR))
#define MKV_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define MKV_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffff)

/* The name of the entry symbol, for dlsym(). */
#define MKV_PLUGIN_ENTRY_SYMBOL "mkv_plugin_entry"

enum mkv_plugin_kind {
	MKV_PLUGIN_INDEX = 1,  /* the head starts a struct mkv_index_ops */
	MKV_PLUGIN_VOLUME = 2, /* the head starts a struct mkv_volume_ops */
};

/* The first member of every vtable. */
struct mkv_plugin_head {
	uint32_t abi_version;      /* MKV_ABI_VERSION the plugin was built with */
	uint32_t kind;             /* enum mkv_plugin_kind */
	const char *name;          /* short backend name, e.g. "leveldb" */
	size_t handle_size;        /* bytes the core allocates (zeroed) per instance */
};

/* One backend option: a key=value line of the config section named after the backend. */
struct mkv_option {
	const char *key;
	const char *value;
};

struct mkv_options {
	const struct mkv_option *items; /* owned by the core, valid until close() */
	size_t count;
};

enum mkv_log_level {
	MKV_LOG_ERROR = 0,
	MKV_LOG_WARN = 1,
	MKV_LOG_INFO = 2,
	MKV_LOG_DEBUG = 3, /* printed only with -v */
};

/* Services the core offers a plugin. All are thread-safe. */
struct mkv_host {
	uint32_t abi_version;

	/* Log one line; a plugin names itself at the start of the message. */
	void (*log)(enum mkv_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/*
	 * Record the message that explains a failure about to be returned, and
	 * return code unchanged: `return host->fail(MKV_E_IO, "open %s: %s", ...)`.
	 * The message belongs to the calling thread; the core reads it right
	 * after the slot returns a negative code.
	 */
	int (*fail)(int code, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/* The value of option key, or NULL when absent. Owned by the core. */
	const char *(*option)(const struct mkv_options *opts, const char *key);

	/*
	 * Parse option key as a size: a decimal number with an optional K, M, G
	 * or T suffix (powers of 1024). Returns 0 and stores def when absent,
	 * MKV_E_INVAL (with a message naming the key) when malformed.
	 */
	int (*option_size)(const struct mkv_options *opts, const char *key,
			   uint64_t def, uint64_t *out);

	/*
	 * Parse option key as a boolean: the words Go's strconv.ParseBool takes
	 * (1 t T true TRUE True, 0 f F false FALSE False). Returns 0 and stores
	 * def when absent, MKV_E_INVAL (with a message naming the key) otherwise.
	 */
	int (*option_bool)(const struct mkv_options *opts, const char *key,
			   bool def, bool *out);
};

/* The signature of the entry symbol. */
typedef const struct mkv_plugin_head *(*mkv_plugin_entry_fn)(void);

#endif
