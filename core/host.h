/*
 * host.h - the services the core hands to plugins (struct mkv_host), and the
 * core's own logging and per-thread error message built on the same calls.
 */
#ifndef MKV_HOST_H
#define MKV_HOST_H

#include <stdbool.h>

#include <mkv/plugin.h>

/* The one host table every plugin receives. */
extern const struct mkv_host mkv_host;

/* Print debug lines (MKV_LOG_DEBUG) too; set once at startup. */
void mkv_log_set_verbose(bool verbose);

/* Log one line to stderr with a timestamp and level. */
void mkv_log(enum mkv_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record msg as this thread's last error and return code (as host->fail). */
int mkv_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The message of this thread's last failure recorded with mkv_fail() or
 * host->fail(), or mkv_strerror(code) when none was recorded since the last
 * mkv_error_clear(). Owned by the thread; valid until its next failure.
 */
const char *mkv_error_message(int code);

/* Forget this thread's last message; call before a slot whose message you want. */
void mkv_error_clear(void);

/* Room for any key mkv_printable() writes in full. */
#define MKV_PRINTABLE_MAX 1024

/*
 * The len bytes at data as text for a log line: bytes outside printable
 * ASCII (and backslash) become \xHH, so a key cannot forge log lines.
 * Written NUL-terminated into buf (cut short at cap); returns buf.
 */
const char *mkv_printable(const void *data, size_t len, char *buf, size_t cap);

/* Look up key in opts: the value, or NULL when absent. */
const char *mkv_options_get(const struct mkv_options *opts, const char *key);

/* The words Go's strconv.ParseBool takes. Returns 0 with *out set, or MKV_E_INVAL. */
int mkv_parse_bool(const char *s, bool *out);

/* Parse a boolean option (see struct mkv_host). */
int mkv_options_bool(const struct mkv_options *opts, const char *key, bool def,
		     bool *out);

/* Parse "64M"-style sizes (see struct mkv_host). */
int mkv_options_size(const struct mkv_options *opts, const char *key,
		     uint64_t def, uint64_t *out);

#endif
