/*
 * config.h - mkv's settings, from the command line and the INI config file.
 *
 * Every top-level key of the file is also a flag of the same name (the Go
 * minikeyvalue's flags keep their names, defaults and meanings); a flag wins
 * over the file. Sections named after a backend ([leveldb], [nginx], ...)
 * hold that backend's options, handed to it untouched.
 */
#ifndef MKV_CONFIG_H
#define MKV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <mkv/plugin.h>

#include "strlist.h"

/* The options of one backend section, e.g. [lmdb]. */
struct mkv_config_section {
	char *name;
	struct mkv_option *items; /* keys and values owned by the section */
	size_t count;
	struct mkv_options view;  /* items/count as handed to a plugin */
};

enum mkv_command {
	MKV_CMD_NONE = 0,
	MKV_CMD_SERVER,
	MKV_CMD_REBUILD,
	MKV_CMD_REBALANCE,
};

struct mkv_config {
	bool help;                    /* -h given: print mkv_config_usage, exit 0;
	                                 nothing else is read or checked */
	enum mkv_command command;
	int port;                     /* port, 3000 */
	char *db;                     /* db, required */
	struct mkv_strlist volumes;   /* volumes, required */
	int replicas;                 /* replicas, 3 */
	int subvolumes;               /* subvolumes, 10 */
	bool protect;                 /* protect, false */
	char *fallback;               /* fallback host:port, NULL for none */
	bool md5sum;                  /* md5sum, true */
	unsigned voltimeout_ms;       /* voltimeout, 1s */
	char *index;                  /* index backend name or path, "leveldb" */
	char *volume;                 /* volume backend name or path, "nginx" */
	char *plugindir;              /* where backends are found by name */
	bool strict;                  /* strict, false: no spare replica for a dead one */
	int workers;                  /* workers, 16: parallel keys in rebuild and rebalance */
	bool rehash;                  /* rehash, false: rebuild computes each value's MD5 */
	bool verbose;                 /* v, false */
	char *config_file;            /* the file read, NULL when none */

	struct mkv_config_section *sections;
	size_t nsections;
};

/* The longest one-line error mkv_config_load() writes. */
#define MKV_CONFIG_ERR_MAX 512

/*
 * mkv_config_load - fill cfg from argv (argv[0] is the program name) and the
 * config file it names with -config, or default_file when that exists and
 * no -config is given (NULL for none). Flags are accepted as "-flag value",
 * "-flag=value", "--flag value" and "--flag=value"; boolean flags as "-flag"
 * or "-flag=true|false". The command may come before or after flags.
 * Returns 0, or MKV_E_INVAL with a one-line message naming the flag, key or
 * value in err (MKV_E_NOMEM, "out of memory", when allocation fails). cfg
 * need not be initialised and must be freed with mkv_config_free() either
 * way. When -h, -help or --help comes before any bad flag, returns 0 with
 * cfg->help set and nothing else read or checked.
 *
 * The file is read with libinih, reconfigured for mkv (process-wide, so call
 * this before starting threads): lines of any length, no multi-line values,
 * comments start a line with ';' or '#', or follow whitespace with ';'.
 */
int mkv_config_load(struct mkv_config *cfg, int argc, char **argv,
		    const char *default_file, char err[MKV_CONFIG_ERR_MAX]);

/* The options of backend section name, or an empty set when there is none. */
const struct mkv_options *mkv_config_options(const struct mkv_config *cfg,
					     const char *name);

/* Free everything cfg owns. */
void mkv_config_free(struct mkv_config *cfg);

/* The usage text printed by -h. */
extern const char mkv_config_usage[];

#endif
