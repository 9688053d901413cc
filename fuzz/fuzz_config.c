/*
 * fuzz_config.c - libFuzzer harness for the config file: the input is the
 * file's contents, read by mkv_config_load() as `mkv -config FILE server`
 * would read it (libinih, then mkv's own value parsers: ints, booleans, Go
 * durations, volume lists, backend sections).
 *
 * The file is a memfd, rewritten for each input and opened by its
 * /proc/self/fd path, so nothing touches the disk. mkv_config_load()
 * reconfigures libinih process-wide, which is harmless here: this process
 * only ever loads configs.
 *
 * The same bytes are then read as a command line, one argument a line
 * ("-port\n3001\n-protect=false\nserver"), which fuzzes the flag syntax and
 * the same value parsers without libinih (a -config argument is dropped:
 * it would read whatever file it names).
 *
 * Checked besides memory safety and leaks: the result is 0 or one of the
 * documented codes, an error is one line, and a config that loads has what
 * validate() in core/config.c promises (a db, volumes, replicas <= volumes).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mkv/error.h>

#include "config.h"

static int config_fd = -1;
static char config_path[64];

/* Make the memfd the config file is read from; once per process. */
static void open_config_file(void)
{
	config_fd = memfd_create("mkv-fuzz-config", MFD_CLOEXEC);
	if (config_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(config_path, sizeof config_path, "/proc/self/fd/%d", config_fd);
}

/* Replace the file's contents with the size bytes at data. */
static void write_config_file(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (ftruncate(config_fd, 0) < 0)
		abort();
	while (done < size) {
		ssize_t n = pwrite(config_fd, data + done, size - done, (off_t)done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
}

/* Load argv and check what came out, as the file comment says. */
static void load(int argc, char **argv)
{
	char err[MKV_CONFIG_ERR_MAX];
	struct mkv_config cfg;
	int rc = mkv_config_load(&cfg, argc, argv, NULL, err);

	if (rc == 0 && cfg.help) {
		/* -h: nothing else was read or checked */
	} else if (rc == 0) {
		if (!cfg.db || cfg.volumes.count == 0 || cfg.replicas < 1 ||
		    (size_t)cfg.replicas > cfg.volumes.count || cfg.command == MKV_CMD_NONE)
			abort();
		for (size_t i = 0; i < cfg.nsections; i++)
			if (mkv_config_options(&cfg, cfg.sections[i].name)->count != cfg.sections[i].count)
				abort();
	} else {
		if (rc != MKV_E_INVAL && rc != MKV_E_NOMEM)
			abort();
		if (!err[0] || strnlen(err, sizeof err) == sizeof err || strchr(err, '\n'))
			abort(); /* the error is one non-empty line */
	}
	mkv_config_free(&cfg);
}

/* True when arg is a -config flag, in any of its spellings. */
static bool is_config_flag(const char *arg)
{
	const char *name = arg + (arg[1] == '-' ? 2 : 1);

	return arg[0] == '-' && strncmp(name, "config", 6) == 0 &&
	       (name[6] == '\0' || name[6] == '=');
}

/* Load the size bytes at data as a command line, one argument a line. */
static void load_args(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), **argv = malloc((size + 2) * sizeof *argv);
	char arg0[] = "mkv", *line, *saveptr = NULL;
	int argc = 0;

	if (!copy || !argv)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = arg0;
	for (line = strtok_r(copy, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr))
		if (!is_config_flag(line))
			argv[argc++] = line;
	argv[argc] = NULL;
	load(argc, argv);
	free(argv);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char arg0[] = "mkv", arg1[] = "-config", arg3[] = "server";
	char *argv[] = { arg0, arg1, config_path, arg3, NULL };

	if (config_fd < 0)
		open_config_file();
	write_config_file(data, size);
	load(4, argv);
	load_args(data, size);
	return 0;
}
