/*
 * config.c - mkv's settings, from the command line and the INI config file.
 *
 * One table, `settings`, names every setting with its kind, its field in
 * struct mkv_config and what a good value looks like; the flags, the file's
 * top-level keys and the error messages all come from it, so a setting is
 * added in one place. The flags are the Go minikeyvalue's, parsed the way
 * Go's flag package does ("-port 3001", "--port=3001", bare "-protect",
 * "-protect=false"), except that flags may also follow the command.
 *
 * Loading runs in an order that makes "a flag wins over the file" hold
 * whatever the order of the arguments:
 *   1. defaults;
 *   2. a first walk over argv checks its syntax (unknown flags, a missing
 *      value, the command) and finds -config and -h;
 *   3. the file: its top-level keys set values, its sections are kept
 *      verbatim for the backends;
 *   4. a second walk over argv sets the flags' values on top;
 *   5. checks that need everything: required settings, replicas <= volumes.
 * The first error stops loading; it is one line in err, naming the flag or
 * the file and line, the key and the bad value.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mkv/error.h>

#include "config.h"
#include "host.h"

#ifndef MKV_PLUGINDIR
#error "MKV_PLUGINDIR must be defined (Makefile.am passes it)"
#endif
#ifndef MKV_SYSCONFDIR
#error "MKV_SYSCONFDIR must be defined (Makefile.am passes it)"
#endif

const char mkv_config_usage[] =
	"usage: mkv [flags] server|rebuild|rebalance\n"
	"\n"
	"commands:\n"
	"  server      serve the HTTP API\n"
	"  rebuild     rebuild the index from the files on the volumes\n"
	"  rebalance   move every value to the replicas its key hashes to\n"
	"\n"
	"flags (each but -config is also a top-level key of the config file;\n"
	"a flag wins over the file):\n"
	"  -config FILE        INI config file (default " MKV_SYSCONFDIR
	"/mkv/mkv.conf, when present)\n"
	"  -db PATH            index location (required)\n"
	"  -volumes LIST       comma-separated volumes: host:port for nginx,\n"
	"                      directories for local (required)\n"
	"  -port N             listen port, 1-65535 (default 3000)\n"
	"  -replicas N         copies of each value, at most the number of volumes\n"
	"                      (default 3)\n"
	"  -subvolumes N       disks per volume server, 1-256 (default 10)\n"
	"  -protect            DELETE needs an UNLINK first (default false)\n"
	"  -fallback HOST:PORT redirect missing keys to this server (default none)\n"
	"  -md5sum             compute and store an MD5 of each value\n"
	"                      (default true; turn off with -md5sum=false)\n"
	"  -voltimeout DUR     how long a volume may take to answer a HEAD or GET\n"
	"                      before it counts as down, e.g. 500ms, 2s (default 1s)\n"
	"  -index NAME         index backend: a name or the path of a .so\n"
	"                      (default leveldb)\n"
	"  -volume NAME        volume backend: a name or the path of a .so\n"
	"                      (default nginx)\n"
	"  -plugindir DIR      where backends are found by name\n"
	"                      (default " MKV_PLUGINDIR ")\n"
	"  -strict             a PUT fails when a replica of its placement is down,\n"
	"                      as in the Go minikeyvalue (default false: the copy\n"
	"                      goes to the next live volume, to be moved home by\n"
	"                      rebalance)\n"
	"  -workers N          keys rebuild and rebalance work on at once, 1-1024\n"
	"                      (default 16)\n"
	"  -rehash             rebuild reads every value to record its MD5\n"
	"                      (default false, as the Go minikeyvalue)\n"
	"  -v                  verbose log (default false)\n"
	"  -h, -help           print this help\n"
	"\n"
	"Flags take \"-flag value\", \"-flag=value\" or two dashes; booleans take\n"
	"\"-flag\" or \"-flag=true|false\". Sections of the config file, such as\n"
	"[leveldb] or [nginx], hold the options of the backend of that name.\n";

/* What a setting holds, which says how its value is parsed. */
enum setting_kind {
	KIND_INT,      /* int in [min, max] */
	KIND_BOOL,     /* bool: Go's strconv.ParseBool words */
	KIND_STRING,   /* char *, not empty */
	KIND_OPTIONAL, /* char *, empty for NULL */
	KIND_LIST,     /* struct mkv_strlist, distinct non-empty items */
	KIND_DURATION, /* unsigned milliseconds from a Go duration */
	KIND_CONFIG,   /* -config: a flag only, read before everything else */
};

struct setting {
	const char *name;
	enum setting_kind kind;
	size_t offset; /* of the field in struct mkv_config */
	int min, max;  /* KIND_INT */
	const char *expected;
};

#define FIELD(f) offsetof(struct mkv_config, f)

static const struct setting settings[] = {
	{ "port", KIND_INT, FIELD(port), 1, 65535, "a number 1-65535" },
	{ "db", KIND_STRING, FIELD(db), 0, 0, "a path" },
	{ "volumes", KIND_LIST, FIELD(volumes), 0, 0,
	  "a comma-separated list of distinct volumes, no empty items" },
	{ "replicas", KIND_INT, FIELD(replicas), 1, INT_MAX, "a number of at least 1" },
	{ "subvolumes", KIND_INT, FIELD(subvolumes), 1, 256, "a number 1-256" },
	{ "protect", KIND_BOOL, FIELD(protect), 0, 0, "true or false" },
	{ "fallback", KIND_OPTIONAL, FIELD(fallback), 0, 0, "host:port" },
	{ "md5sum", KIND_BOOL, FIELD(md5sum), 0, 0, "true or false" },
	{ "voltimeout", KIND_DURATION, FIELD(voltimeout_ms), 0, 0,
	  "a positive duration such as 1s, 500ms or 1m30s" },
	{ "index", KIND_STRING, FIELD(index), 0, 0, "a backend name or path" },
	{ "volume", KIND_STRING, FIELD(volume), 0, 0, "a backend name or path" },
	{ "plugindir", KIND_STRING, FIELD(plugindir), 0, 0, "a directory" },
	{ "strict", KIND_BOOL, FIELD(strict), 0, 0, "true or false" },
	{ "workers", KIND_INT, FIELD(workers), 1, 1024, "a number 1-1024" },
	{ "rehash", KIND_BOOL, FIELD(rehash), 0, 0, "true or false" },
	{ "v", KIND_BOOL, FIELD(verbose), 0, 0, "true or false" },
	{ "config", KIND_CONFIG, FIELD(config_file), 0, 0, "a readable file" },
};

#define NSETTINGS (sizeof settings / sizeof *settings)

/* Where a value came from, for the error message. */
struct origin {
	const char *file; /* NULL for the command line */
	int line;
};

/* The state of one mkv_config_load() call. */
struct loader {
	struct mkv_config *cfg;
	char *err;
	int argc;
	char **argv;
	const char *config_path; /* -config, or NULL */
	const char *command;     /* the positional argument, or NULL */

	/* Reading the file. */
	FILE *file;
	const char *path;
	int line;           /* of the line being parsed */
	bool at_line_start; /* the next chunk read starts a new line */
	bool in_file[NSETTINGS];
	int rc;             /* the first error in the file */
};

static int fail(struct loader *ld, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write the one-line error and return code. */
static int fail(struct loader *ld, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ld->err, MKV_CONFIG_ERR_MAX, fmt, ap);
	va_end(ap);
	return code;
}

static int no_memory(struct loader *ld)
{
	return fail(ld, MKV_E_NOMEM, "out of memory");
}

static const struct setting *find_setting(const char *name, size_t len)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].name) == len &&
		    memcmp(settings[i].name, name, len) == 0)
			return &settings[i];
	return NULL;
}

/* ---- values ---------------------------------------------------------------- */

/* Parse a decimal int in [min, max]. Returns 0 or MKV_E_INVAL. */
static int parse_int(const char *s, int min, int max, int *out)
{
	long n;
	char *end;

	if (!isdigit((unsigned char)s[0]) && !(s[0] == '-' && isdigit((unsigned char)s[1])))
		return MKV_E_INVAL;
	errno = 0;
	n = strtol(s, &end, 10);
	if (*end || errno || n < min || n > max)
		return MKV_E_INVAL;
	*out = (int)n;
	return 0;
}

/* The nanoseconds of a unit spelled at s, and its length in *len; 0 if none. */
static uint64_t duration_unit(const char *s, size_t *len)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
		{ "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000 },
		{ "h", 3600000000000 },
	};
	size_t n = 0;

	/* A unit runs up to the next digit or '.', as in Go. */
	while (s[n] && s[n] != '.' && !isdigit((unsigned char)s[n]))
		n++;
	*len = n;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, s, n) == 0)
			return units[i].ns;
	return 0;
}

/*
 * Parse a Go duration ("300ms", "1.5h", "2h45m") into nanoseconds, as
 * time.ParseDuration does: a sequence of decimal numbers, each with an
 * optional fraction and a required unit, or the bare "0". Returns 0 or
 * MKV_E_INVAL (also for a negative duration, which no mkv setting allows).
 */
static int parse_go_duration(const char *s, uint64_t *out)
{
	const uint64_t limit = (uint64_t)1 << 63;
	uint64_t total = 0;

	if (*s == '+')
		s++;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return MKV_E_INVAL;
	while (*s) {
		uint64_t v = 0, f = 0, unit;
		double scale = 1;
		bool digits = false;
		size_t len;

		for (; isdigit((unsigned char)*s); s++, digits = true) {
			if (v > (limit - 9) / 10)
				return MKV_E_INVAL;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			/* Digits past what a uint64 holds only lose precision. */
			for (s++; isdigit((unsigned char)*s); s++, digits = true) {
				if (f > (limit - 9) / 10)
					continue;
				f = f * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
		unit = duration_unit(s, &len);
		if (!digits || !unit || v > limit / unit)
			return MKV_E_INVAL;
		s += len;
		v = v * unit + (uint64_t)((double)f * ((double)unit / scale));
		if (v > limit || total > limit - v)
			return MKV_E_INVAL;
		total += v;
	}
	*out = total;
	return 0;
}

/* A positive Go duration as whole milliseconds, rounded up. */
static int parse_duration_ms(const char *s, unsigned *out)
{
	uint64_t ns, ms;

	if (parse_go_duration(s, &ns) < 0 || ns == 0)
		return MKV_E_INVAL;
	ms = ns / 1000000 + (ns % 1000000 != 0);
	if (ms > UINT_MAX)
		return MKV_E_INVAL;
	*out = (unsigned)ms;
	return 0;
}

static bool has_edge_space(const char *s)
{
	size_t n = strlen(s);

	return n && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]));
}

/*
 * Split a volume list into out (emptied first): items must be non-empty,
 * distinct and free of surrounding spaces, since each is hashed as written.
 * Returns 0, MKV_E_INVAL or MKV_E_NOMEM.
 */
static int parse_list(const char *s, struct mkv_strlist *out)
{
	struct mkv_strlist l = { 0 };

	if (mkv_strlist_split(&l, s, ',') < 0) {
		mkv_strlist_free(&l);
		return MKV_E_NOMEM;
	}
	for (size_t i = 0; i < l.count; i++) {
		bool bad = !l.items[i][0] || has_edge_space(l.items[i]);

		for (size_t j = 0; j < i && !bad; j++)
			bad = strcmp(l.items[i], l.items[j]) == 0;
		if (bad) {
			mkv_strlist_free(&l);
			return MKV_E_INVAL;
		}
	}
	mkv_strlist_free(out);
	*out = l;
	return 0;
}

/* Replace the string at *field with a copy of s, or NULL when s is NULL. */
static int set_string(char **field, const char *s)
{
	char *copy = NULL;

	if (s && !(copy = strdup(s)))
		return MKV_E_NOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/*
 * Store value into the field of setting s. Returns 0, MKV_E_INVAL when the
 * value is bad (the caller says where it came from) or MKV_E_NOMEM.
 */
static int store(struct mkv_config *cfg, const struct setting *s, const char *value)
{
	void *field = (char *)cfg + s->offset;

	switch (s->kind) {
	case KIND_INT:
		return parse_int(value, s->min, s->max, field);
	case KIND_BOOL:
		return mkv_parse_bool(value, field);
	case KIND_STRING:
	case KIND_CONFIG:
		return value[0] ? set_string(field, value) : MKV_E_INVAL;
	case KIND_OPTIONAL:
		return set_string(field, value[0] ? value : NULL);
	case KIND_LIST:
		return parse_list(value, field);
	case KIND_DURATION:
		return parse_duration_ms(value, field);
	}
	return MKV_E_INVAL;
}

/* Store a value, turning a bad one into the error message of its origin. */
static int apply(struct loader *ld, const struct setting *s, const char *value,
		 struct origin from)
{
	int rc = store(ld->cfg, s, value);

	if (rc == MKV_E_NOMEM)
		return no_memory(ld);
	if (rc == 0)
		return 0;
	if (from.file)
		return fail(ld, rc, "%s:%d: bad value for %s: '%s' (expected %s)",
			    from.file, from.line, s->name, value, s->expected);
	return fail(ld, rc, "bad value for -%s: '%s' (expected %s)", s->name, value,
		    s->expected);
}

/* ---- the command line -------------------------------------------------------- */

static int set_command(struct loader *ld, const char *word)
{
	if (ld->command)
		return fail(ld, MKV_E_INVAL, "unexpected argument '%s' after command '%s'",
			    word, ld->command);
	ld->command = word;
	if (strcmp(word, "server") == 0)
		ld->cfg->command = MKV_CMD_SERVER;
	else if (strcmp(word, "rebuild") == 0)
		ld->cfg->command = MKV_CMD_REBUILD;
	else if (strcmp(word, "rebalance") == 0)
		ld->cfg->command = MKV_CMD_REBALANCE;
	else
		return fail(ld, MKV_E_INVAL,
			    "unknown command '%s' (expected server, rebuild or rebalance)", word);
	return 0;
}

/*
 * Walk argv once. The first walk (set_values false) checks the syntax, sets
 * the command, finds -config and stops at -h; the second sets every flag's
 * value. Returns 0 or the error.
 */
static int walk_args(struct loader *ld, bool set_values)
{
	bool flags_done = false;

	for (int i = 1; i < ld->argc; i++) {
		const char *arg = ld->argv[i], *name, *eq, *value;
		const struct setting *s;
		size_t len;
		int rc;

		if (flags_done || arg[0] != '-' || arg[1] == '\0') {
			rc = set_values ? 0 : set_command(ld, arg);
			if (rc < 0)
				return rc;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			flags_done = true;
			continue;
		}
		name = arg + (arg[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (len == 0 || name[0] == '-' || name[0] == '=')
			return fail(ld, MKV_E_INVAL, "bad flag syntax: %s", arg);
		if ((len == 1 && name[0] == 'h') || (len == 4 && !memcmp(name, "help", 4))) {
			ld->cfg->help = true;
			return 0;
		}
		s = find_setting(name, len);
		if (!s)
			return fail(ld, MKV_E_INVAL, "unknown flag -%.*s", (int)len, name);
		if (eq)
			value = eq + 1;
		else if (s->kind == KIND_BOOL)
			value = "true";
		else if (i + 1 < ld->argc)
			value = ld->argv[++i];
		else
			return fail(ld, MKV_E_INVAL, "flag -%s needs a value (expected %s)", s->name,
				    s->expected);
		if (s->kind == KIND_CONFIG)
			ld->config_path = value;
		else if (set_values && (rc = apply(ld, s, value, (struct origin){ 0 })) < 0)
			return rc;
	}
	return 0;
}

/* ---- the config file -------------------------------------------------------- */

/* The section called name, created when missing; NULL when out of memory. */
static struct mkv_config_section *section(struct mkv_config *cfg, const char *name)
{
	struct mkv_config_section *sections, *sec;

	for (size_t i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	sections = realloc(cfg->sections, (cfg->nsections + 1) * sizeof *sections);
	if (!sections)
		return NULL;
	cfg->sections = sections;
	sec = &sections[cfg->nsections];
	*sec = (struct mkv_config_section){ .name = strdup(name) };
	if (!sec->name)
		return NULL;
	cfg->nsections++;
	return sec;
}

/* Add key = value to a backend section. Returns 0 or the error. */
static int add_option(struct loader *ld, const char *name, const char *key,
		      const char *value)
{
	struct mkv_config_section *sec = section(ld->cfg, name);
	struct mkv_option *items;
	char *k, *v;

	if (!sec)
		return no_memory(ld);
	for (size_t i = 0; i < sec->count; i++)
		if (strcmp(sec->items[i].key, key) == 0)
			return fail(ld, MKV_E_INVAL, "%s:%d: duplicate key '%s' in section [%s]",
				    ld->path, ld->line, key, name);
	items = realloc(sec->items, (sec->count + 1) * sizeof *items);
	if (!items)
		return no_memory(ld);
	sec->items = items;
	sec->view.items = items;
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return no_memory(ld);
	}
	items[sec->count++] = (struct mkv_option){ .key = k, .value = v };
	sec->view.count = sec->count;
	return 0;
}

/* Set a top-level key of the file. Returns 0 or the error. */
static int set_key(struct loader *ld, const char *key, const char *value)
{
	const struct setting *s = find_setting(key, strlen(key));

	if (!s || s->kind == KIND_CONFIG)
		return fail(ld, MKV_E_INVAL, "%s:%d: unknown key '%s'", ld->path, ld->line, key);
	if (ld->in_file[s - settings])
		return fail(ld, MKV_E_INVAL, "%s:%d: duplicate key '%s'", ld->path, ld->line, key);
	ld->in_file[s - settings] = true;
	return apply(ld, s, value, (struct origin){ ld->path, ld->line });
}

/* inih's handler: one key = value line. Returns 0 to report an error. */
static int on_key(void *user, const char *section_name, const char *key, const char *value)
{
	struct loader *ld = user;

	if (ld->rc == 0)
		ld->rc = section_name[0] ? add_option(ld, section_name, key, value)
					 : set_key(ld, key, value);
	return ld->rc == 0;
}

/*
 * inih's reader: fgets that counts lines, since this inih's handler is not
 * told the line number. inih may read a long line in several chunks; only
 * a chunk that follows a newline starts a line.
 */
static char *read_chunk(char *buf, int size, void *user)
{
	struct loader *ld = user;

	if (!fgets(buf, size, ld->file))
		return NULL;
	if (ld->at_line_start)
		ld->line++;
	ld->at_line_start = strchr(buf, '\n') != NULL;
	return buf;
}

/* Let inih read lines of any length as single lines, as mkv's volume lists are. */
static void configure_inih(void)
{
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 1 << 20;
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
}

/* The file at path cannot be read, for reason. Returns MKV_E_INVAL. */
static int unreadable(struct loader *ld, const char *path, const char *reason)
{
	if (ld->config_path)
		return fail(ld, MKV_E_INVAL, "bad value for -config: '%s' (%s)", path, reason);
	return fail(ld, MKV_E_INVAL, "cannot read config file '%s': %s", path, reason);
}

/*
 * Read the config file: path from -config (which must exist) or the default
 * file (read only when it exists). Returns 0 or the error.
 */
static int read_file(struct loader *ld, const char *default_file)
{
	const char *path = ld->config_path ? ld->config_path : default_file;
	int rc;

	if (!path)
		return 0;
	ld->file = fopen(path, "r");
	if (!ld->file)
		return !ld->config_path && errno == ENOENT ? 0 : unreadable(ld, path, strerror(errno));
	if (set_string(&ld->cfg->config_file, path) < 0) {
		fclose(ld->file);
		return no_memory(ld);
	}
	ld->path = path;
	ld->at_line_start = true;
	configure_inih();
	rc = ini_parse_stream(read_chunk, ld, on_key, ld);
	if (ld->rc == 0 && ferror(ld->file))
		ld->rc = unreadable(ld, path, strerror(errno));
	else if (ld->rc == 0 && rc == -2)
		ld->rc = no_memory(ld);
	else if (ld->rc == 0 && rc != 0)
		ld->rc = fail(ld, MKV_E_INVAL, "%s:%d: syntax error (expected key = value or [section])",
			      path, rc);
	fclose(ld->file);
	return ld->rc;
}

/* ---- loading ----------------------------------------------------------------- */

static int set_defaults(struct loader *ld)
{
	struct mkv_config *cfg = ld->cfg;

	cfg->port = 3000;
	cfg->replicas = 3;
	cfg->subvolumes = 10;
	cfg->md5sum = true;
	cfg->voltimeout_ms = 1000;
	cfg->workers = 16;
	if (set_string(&cfg->index, "leveldb") < 0 || set_string(&cfg->volume, "nginx") < 0 ||
	    set_string(&cfg->plugindir, MKV_PLUGINDIR) < 0)
		return no_memory(ld);
	return 0;
}

/* The checks that need every value in place. Returns 0 or MKV_E_INVAL. */
static int validate(struct loader *ld)
{
	struct mkv_config *cfg = ld->cfg;

	if (cfg->command == MKV_CMD_NONE)
		return fail(ld, MKV_E_INVAL, "missing command (expected server, rebuild or rebalance)");
	if (!cfg->db)
		return fail(ld, MKV_E_INVAL, "missing required flag -db");
	if (cfg->volumes.count == 0)
		return fail(ld, MKV_E_INVAL, "missing required flag -volumes");
	if ((size_t)cfg->replicas > cfg->volumes.count)
		return fail(ld, MKV_E_INVAL, "replicas (%d) exceeds the number of volumes (%zu)",
			    cfg->replicas, cfg->volumes.count);
	return 0;
}

int mkv_config_load(struct mkv_config *cfg, int argc, char **argv,
		    const char *default_file, char err[MKV_CONFIG_ERR_MAX])
{
	struct loader ld = { .cfg = cfg, .err = err, .argc = argc, .argv = argv };
	int rc;

	memset(cfg, 0, sizeof *cfg);
	err[0] = '\0';
	if ((rc = set_defaults(&ld)) < 0 || (rc = walk_args(&ld, false)) < 0 || cfg->help)
		return rc;
	if ((rc = read_file(&ld, default_file)) < 0 || (rc = walk_args(&ld, true)) < 0)
		return rc;
	return validate(&ld);
}

const struct mkv_options *mkv_config_options(const struct mkv_config *cfg, const char *name)
{
	static const struct mkv_options none = { NULL, 0 };

	for (size_t i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i].view;
	return &none;
}

void mkv_config_free(struct mkv_config *cfg)
{
	for (size_t i = 0; i < cfg->nsections; i++) {
		struct mkv_config_section *sec = &cfg->sections[i];

		for (size_t j = 0; j < sec->count; j++) {
			free((char *)sec->items[j].key);
			free((char *)sec->items[j].value);
		}
		free(sec->items);
		free(sec->name);
	}
	free(cfg->sections);
	free(cfg->db);
	free(cfg->fallback);
	free(cfg->index);
	free(cfg->volume);
	free(cfg->plugindir);
	free(cfg->config_file);
	mkv_strlist_free(&cfg->volumes);
	memset(cfg, 0, sizeof *cfg);
}
