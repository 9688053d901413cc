/*
 * mkv/volume.h - the volume interface: how the core stores, finds, streams and
 * lists value files on volume servers (nginx over HTTP, local directories, ...).
 *
 * A replica names one place values live: a volume as configured ("host:port"
 * for nginx, a directory for local volumes) optionally followed by a subvolume
 * ("host:port/sv0A"). A path is the value's file under it, starting with '/':
 * "/5d/41/aGVsbG8=". The core computes both; the backend only moves bytes.
 * Every value file lives at exactly that place, in the same layout for every
 * backend, so a volume directory moves between backends without conversion.
 *
 * All slots may be called from many threads at once on one handle, except
 * open and close. Every slot returns 0 on success or a negative code from
 * mkv/error.h, after recording a message with host->fail() where it has one.
 */
#ifndef MKV_VOLUME_H
#define MKV_VOLUME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mkv/plugin.h>

/* The largest URL locate() may produce, terminating NUL included. */
#define MKV_URL_MAX 2048

/*
 * The source of a value being written: fills at most cap bytes of buf and
 * returns how many (> 0), 0 at the end of the value, or a negative code to
 * abort the write. May block until data is available.
 *
 * Called with cap 0, it is asked to start the value again (a transport that
 * must send it again, say on a fresh connection): it returns 0 when the next
 * call gives the first byte again, or a negative code when it cannot go
 * back (the bytes are gone), and the put then fails.
 */
typedef ssize_t (*mkv_volume_source_fn)(void *ctx, void *buf, size_t cap);

/* Receives consecutive bytes of a value being read; 0 to go on, negative to abort. */
typedef int (*mkv_volume_sink_fn)(void *ctx, const void *data, size_t len);

/* One directory entry. name is owned by the backend, valid during the call. */
struct mkv_volume_entry {
	const char *name;
	int is_dir;    /* 1 for a directory, 0 for a file */
	uint64_t size; /* file size in bytes, 0 for directories */
};

/*
 * Receives the answer of stat_async(): what stat() would have returned, and
 * the size when rc is 0. Called on the thread that recorded the failure's
 * message (host->fail), so mkv_error_message() there tells why.
 */
typedef void (*mkv_volume_stat_fn)(void *ctx, int rc, uint64_t size);

/* Receives each entry of a listing; 0 to go on, negative to stop with that code. */
typedef int (*mkv_volume_list_fn)(void *ctx, const struct mkv_volume_entry *e);

enum mkv_location_kind {
	MKV_LOCATION_URL = 1,  /* redirect the client to url */
	MKV_LOCATION_FILE = 2, /* the core serves fd itself (sendfile, Range) */
};

/* Where a client reads a value from, filled in by locate(). */
struct mkv_location {
	enum mkv_location_kind kind;
	char url[MKV_URL_MAX]; /* MKV_LOCATION_URL: absolute URL */
	int fd;                /* MKV_LOCATION_FILE: open for reading, owned by the caller */
	uint64_t size;         /* MKV_LOCATION_FILE: the file's size */
};

struct mkv_volume_ops {
	struct mkv_plugin_head head; /* kind MKV_PLUGIN_VOLUME */

	/*
	 * open - prepare to talk to volumes. timeout_ms bounds how long a volume
	 * may take to answer stat() before it counts as down, and how long any
	 * transfer may wait to connect or stall. h points to head.handle_size
	 * zeroed bytes owned by the core; host and opts stay valid until close().
	 * Fails with MKV_E_INVAL for a bad option.
	 */
	int (*open)(void *h, unsigned timeout_ms, const struct mkv_host *host,
		    const struct mkv_options *opts);

	/* close - release everything open() acquired. Never fails. */
	void (*close)(void *h);

	/*
	 * put - write a value of exactly length bytes, pulled from src, to path
	 * on replica, creating directories as needed and replacing any file
	 * there. The file appears under path only complete: on any failure
	 * (src aborts or ends early, the volume fails) the previous state is
	 * kept. Fails with MKV_E_UNAVAILABLE when the volume cannot be reached,
	 * MKV_E_FULL when it is out of space, MKV_E_IO otherwise, or with the
	 * code src returned.
	 */
	int (*put)(void *h, const char *replica, const char *path,
		   uint64_t length, mkv_volume_source_fn src, void *ctx);

	/* del - remove path on replica. Fails with MKV_E_NOTFOUND when absent. */
	int (*del)(void *h, const char *replica, const char *path);

	/*
	 * stat - whether path exists on replica, answering within timeout_ms.
	 * On success stores the size in *size (when size is not NULL). Fails
	 * with MKV_E_NOTFOUND when absent, MKV_E_UNAVAILABLE or MKV_E_TIMEOUT
	 * when the volume does not answer.
	 */
	int (*stat)(void *h, const char *replica, const char *path,
		    uint64_t *size);

	/*
	 * read - stream the whole value at path on replica into sink. Fails with
	 * MKV_E_NOTFOUND when absent, or with the code sink returned.
	 */
	int (*read)(void *h, const char *replica, const char *path,
		    mkv_volume_sink_fn sink, void *ctx);

	/*
	 * list - call fn for every entry of directory dir ("/" or "/5d/41/") on
	 * replica, in no particular order. Fails with MKV_E_NOTFOUND when the
	 * directory does not exist, or with the code fn returned.
	 */
	int (*list)(void *h, const char *replica, const char *dir,
		    mkv_volume_list_fn fn, void *ctx);

	/*
	 * locate - where a client reads path on replica from. Does not check
	 * that the value exists (stat does) unless it must open it: a backend
	 * answering MKV_LOCATION_FILE fails with MKV_E_NOTFOUND when absent.
	 */
	int (*locate)(void *h, const char *replica, const char *path,
		      struct mkv_location *loc);

	/* Added in ABI 1.1; may be NULL. */

	/*
	 * stat_async - stat() without making the caller wait: returns 0 once the
	 * check is under way, and done(ctx, ...) is then called exactly once
	 * with stat()'s answer, from a thread of the backend's (or from this
	 * call itself, before it returns). Fails at once, without calling done,
	 * with MKV_E_NOMEM or MKV_E_UNAVAILABLE (the handle is closing). done
	 * may call stat_async again; close() waits for every pending done. The
	 * core checks replicas this way, when a backend has it, so that a
	 * thousand GETs in flight need no thousand threads.
	 */
	int (*stat_async)(void *h, const char *replica, const char *path,
			  mkv_volume_stat_fn done, void *ctx);
};

#endif
