/*
 * mkv/error.h - the error codes shared by the core and every plugin.
 *
 * Every function of the plugin ABI returns 0 on success and a negative code on
 * failure. The codes below sit in a block well clear of errno values, so a
 * function may also return a negated errno (-ENOENT, -EIO) when that says more,
 * and mkv_strerror() names both kinds. Codes are only ever appended; a value,
 * once released, never changes meaning.
 */
#ifndef MKV_ERROR_H
#define MKV_ERROR_H

#include <string.h>

enum mkv_error {
	MKV_OK = 0,
	MKV_E_NOTFOUND = -30900,   /* no such key, file or entry */
	MKV_E_IO = -30899,         /* the storage failed to read or write */
	MKV_E_NOMEM = -30898,      /* out of memory */
	MKV_E_INVAL = -30897,      /* a bad argument or option value */
	MKV_E_BUSY = -30896,       /* held by another process (an index in use) */
	MKV_E_FULL = -30895,       /* no space left (disk, LMDB map) */
	MKV_E_UNAVAILABLE = -30894, /* a volume did not answer or refused */
	MKV_E_TIMEOUT = -30893,    /* a volume did not answer in time */
	MKV_E_ABI = -30892,        /* a plugin built for another ABI */
	MKV_E_EXISTS = -30891,     /* already exists */
	MKV_E_CORRUPT = -30890,    /* stored data is malformed */
	MKV_E_UNSUPPORTED = -30889, /* the backend does not implement this */
	MKV_E_ABORTED = -30888,    /* the caller's callback asked to stop */
	MKV_E_TOOLONG = -30887,    /* a name or value exceeds a limit */
};

/* True when code is one of the enum above (as opposed to a negated errno). */
#define MKV_IS_MKV_ERROR(code) ((code) >= MKV_E_NOTFOUND && (code) <= MKV_E_TOOLONG)

/*
 * mkv_strerror - a static, human-readable name for an error code.
 * Understands 0, the codes above and negated errno values. The returned string
 * is never NULL and must not be freed.
 */
static inline const char *mkv_strerror(int code)
{
	switch (code) {
	case MKV_OK: return "success";
	case MKV_E_NOTFOUND: return "not found";
	case MKV_E_IO: return "I/O error";
	case MKV_E_NOMEM: return "out of memory";
	case MKV_E_INVAL: return "invalid argument";
	case MKV_E_BUSY: return "in use by another process";
	case MKV_E_FULL: return "no space left";
	case MKV_E_UNAVAILABLE: return "volume unavailable";
	case MKV_E_TIMEOUT: return "timed out";
	case MKV_E_ABI: return "incompatible plugin ABI";
	case MKV_E_EXISTS: return "already exists";
	case MKV_E_CORRUPT: return "corrupt data";
	case MKV_E_UNSUPPORTED: return "not supported by this backend";
	case MKV_E_ABORTED: return "aborted";
	case MKV_E_TOOLONG: return "too long";
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}

#endif
