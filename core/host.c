/*
 * host.c - the services mkv offers its plugins, and its own logging.
 *
 * Log lines go to stderr, one per call, with a UTC timestamp and a level.
 * Failures carry a message as well as a code: whoever fails (a plugin through
 * host->fail, or the core through mkv_fail) stores the message in a buffer
 * private to the calling thread, and the caller that sees the negative code
 * picks it up with mkv_error_message(). Calls into plugins are synchronous,
 * so the message read is always the one that goes with the code.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"

static bool log_verbose;
static _Thread_local char last_error[1024];

void mkv_log_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

static void log_va(enum mkv_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[2048], stamp[32];
	struct timespec now;
	struct tm tm;

	if (level == MKV_LOG_DEBUG && !log_verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof line, fmt, ap);
	/* One fprintf per line so concurrent lines never interleave. */
	fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, now.tv_nsec / 1000000,
		names[level], line);
}

void mkv_log(enum mkv_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
}

int mkv_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return code;
}

const char *mkv_error_message(int code)
{
	return last_error[0] ? last_error : mkv_strerror(code);
}

void mkv_error_clear(void)
{
	last_error[0] = '\0';
}

const char *mkv_printable(const void *data, size_t len, char *buf, size_t cap)
{
	const unsigned char *p = data;
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 <= cap; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			buf[o++] = (char)p[i];
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", p[i]);
	}
	if (cap)
		buf[o < cap ? o : cap - 1] = '\0';
	return buf;
}

const char *mkv_options_get(const struct mkv_options *opts, const char *key)
{
	const char *found = NULL;

	/* The last occurrence wins, as in the config file. */
	for (size_t i = 0; opts && i < opts->count; i++)
		if (strcmp(opts->items[i].key, key) == 0)
			found = opts->items[i].value;
	return found;
}

int mkv_options_size(const struct mkv_options *opts, const char *key,
		     uint64_t def, uint64_t *out)
{
	const char *value = mkv_options_get(opts, key);
	unsigned shift = 0;
	uint64_t n;
	char *end;

	if (!value) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoull(value, &end, 10);
	if (end == value || errno || !isdigit((unsigned char)value[0]))
		goto bad;
	switch (toupper((unsigned char)*end)) {
	case 'T': shift += 10; /* fall through */
	case 'G': shift += 10; /* fall through */
	case 'M': shift += 10; /* fall through */
	case 'K': shift += 10; end++; break;
	case '\0': break;
	default: goto bad;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && n > (UINT64_MAX >> shift)))
		goto bad;
	*out = n << shift;
	return 0;
bad:
	return mkv_fail(MKV_E_INVAL, "bad value for option %s: '%s' (expected a size like 64M)",
			key, value);
}

int mkv_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };

	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return MKV_E_INVAL;
}

int mkv_options_bool(const struct mkv_options *opts, const char *key, bool def,
		     bool *out)
{
	const char *value = mkv_options_get(opts, key);

	*out = def;
	if (!value || mkv_parse_bool(value, out) == 0)
		return 0;
	return mkv_fail(MKV_E_INVAL, "bad value for option %s: '%s' (expected true or false)",
			key, value);
}

const struct mkv_host mkv_host = {
	.abi_version = MKV_ABI_VERSION,
	.log = mkv_log,
	.fail = mkv_fail,
	.option = mkv_options_get,
	.option_size = mkv_options_size,
	.option_bool = mkv_options_bool,
};
