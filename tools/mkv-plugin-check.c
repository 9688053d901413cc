/*
 * mkv-plugin-check.c - the conformance suite of mkv's plugin interfaces, as
 * one installed command a plugin author runs against a backend:
 *
 *     mkv-plugin-check [OPTIONS] PLUGIN.so [REPLICA]
 *
 * It reads the plugin's kind from the descriptor its entry symbol returns
 * and runs the suite of that kind (index_suite.c or volume_suite.c, the very
 * suites `make check` runs over the bundled backends), loading the plugin
 * through mkv's own loader. An index backend is tested in fresh temporary
 * directories. A volume backend writes under REPLICA; without one it gets a
 * fresh temporary directory, which is right for backends whose replicas are
 * directories (a network backend needs a REPLICA that answers).
 *
 * Exit status: 0 when every test passed, 1 when some failed, 2 for bad
 * arguments or a plugin that does not load.
 */
#include <dlfcn.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin.h"
#include "suite.h"

#ifndef MKV_PLUGINDIR
#error "MKV_PLUGINDIR must be defined (Makefile.am passes it)"
#endif

static const char usage_text[] =
	"usage: mkv-plugin-check [OPTIONS] PLUGIN [REPLICA]\n"
	"\n"
	"Runs mkv's conformance suite for the kind of PLUGIN (index or volume).\n"
	"PLUGIN is the path of a .so, or the name of a backend in the plugin\n"
	"directory. A volume backend is tested on REPLICA, by default a fresh\n"
	"temporary directory (right for backends whose replicas are directories).\n"
	"\n"
	"options:\n"
	"  --good-option KEY=VALUE  an option the backend must accept\n"
	"  --bad-option KEY=VALUE   an option value it must refuse (MKV_E_INVAL\n"
	"                           with a message naming KEY)\n"
	"  --dead-replica REPLICA   a volume replica where nothing answers: checks\n"
	"                           that an unreachable volume fails fast\n"
	"  --plugindir DIR          where backend names are looked up\n"
	"                           (default " MKV_PLUGINDIR ")\n"
	"  -h, --help               print this help\n";

/* What the command line asked for. */
struct request {
	struct mkv_conformance_target target;
	const char *plugin_arg;
	const char *replica;
	const char *dead_replica;
	char path[PATH_MAX]; /* the plugin's file, absolute when it exists */
};

static int usage_error(const char *fmt, const char *arg)
{
	fputs("mkv-plugin-check: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(mkv-plugin-check -h for help)\n", stderr);
	return 2;
}

/*
 * Parse argv into r; options may come before or after the operands.
 * Returns -1 to go on, or the exit status.
 */
static int parse_args(int argc, char **argv, struct request *r)
{
	const char *plugindir = MKV_PLUGINDIR, *operands[2];
	int count = 0;
	bool options_done = false;
	size_t n;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			if (count == 2)
				return usage_error("unexpected argument '%s'", arg);
			operands[count++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options_done = true;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (i + 1 >= argc) {
			return usage_error("%s needs a value", arg);
		} else if (strcmp(arg, "--good-option") == 0 || strcmp(arg, "--bad-option") == 0) {
			struct mkv_option *o = arg[2] == 'g' ? &r->target.good_option
							     : &r->target.bad_option;
			if (mkv_conformance_parse_option(argv[++i], o) < 0)
				return usage_error("bad option value '%s' (expected KEY=VALUE)", argv[i]);
		} else if (strcmp(arg, "--dead-replica") == 0) {
			r->dead_replica = argv[++i];
		} else if (strcmp(arg, "--plugindir") == 0) {
			plugindir = argv[++i];
		} else {
			return usage_error("unknown option %s", arg);
		}
	}
	if (count == 0)
		return usage_error("%s", "expected PLUGIN [REPLICA]");
	r->plugin_arg = operands[0];
	r->replica = count == 2 ? operands[1] : NULL;

	/* As mkv does: a '/' or a ".so" makes a path, anything else a name. */
	n = strlen(r->plugin_arg);
	if (strchr(r->plugin_arg, '/') || (n > 3 && strcmp(r->plugin_arg + n - 3, ".so") == 0)) {
		/* Absolute, so dlopen never searches the library path for "x.so". */
		if (!realpath(r->plugin_arg, r->path))
			snprintf(r->path, sizeof r->path, "%s", r->plugin_arg);
	} else {
		snprintf(r->path, sizeof r->path, "%s/%s.so", plugindir, r->plugin_arg);
	}
	r->target.plugin = r->path;
	r->target.plugindir = ".";
	return -1;
}

/*
 * The kind the plugin's descriptor declares, or 0 when it cannot be read
 * (check_loads() then says why). Only reads the head: every check is left
 * to mkv's loader.
 */
static uint32_t plugin_kind(const char *path)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	const struct mkv_plugin_head *head;
	mkv_plugin_entry_fn entry;
	uint32_t kind = 0;

	if (!dl)
		return 0;
	*(void **)&entry = dlsym(dl, MKV_PLUGIN_ENTRY_SYMBOL);
	if (entry && (head = entry()) != NULL)
		kind = head->kind;
	dlclose(dl);
	return kind;
}

/*
 * Whether mkv would load the plugin as a backend of kind (an unknown kind is
 * tried as an index, for the loader's message): 0, or 2 after printing the
 * loader's one-line reason.
 */
static int check_loads(const char *path, uint32_t kind)
{
	char err[MKV_PLUGIN_ERR_MAX];
	struct mkv_plugin p;

	if (kind != MKV_PLUGIN_VOLUME)
		kind = MKV_PLUGIN_INDEX;
	if (mkv_plugin_load(path, ".", kind, &p, err) < 0) {
		fprintf(stderr, "mkv-plugin-check: %s\n", err);
		return 2;
	}
	mkv_plugin_unload(&p);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* The volume suite on r->replica, or on a temporary directory made here. */
static int check_volume(const struct request *r)
{
	char dir[PATH_MAX], replica[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int failed;

	if (r->replica)
		return mkv_conformance_volume_run(&r->target, r->replica, r->dead_replica);
	snprintf(dir, sizeof dir, "%s/mkv-plugin-check.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		perror("mkv-plugin-check: cannot make a temporary directory");
		return 1;
	}
	snprintf(replica, sizeof replica, "%s/volume", dir);
	if (mkdir(replica, 0755) < 0) {
		perror("mkv-plugin-check: cannot make a temporary directory");
		rmdir(dir);
		return 1;
	}
	printf("no REPLICA given: testing on the temporary directory %s\n"
	       "(right for backends whose replicas are directories)\n", replica);
	failed = mkv_conformance_volume_run(&r->target, replica, r->dead_replica);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed;
}

int main(int argc, char **argv)
{
	struct request r = { 0 };
	char self_exe[PATH_MAX];
	uint32_t kind;
	ssize_t n;
	int rc, failed;

	if ((rc = mkv_conformance_index_child(argc, argv)) >= 0)
		return rc;
	if ((rc = parse_args(argc, argv, &r)) >= 0)
		return rc;
	kind = plugin_kind(r.path);
	if (check_loads(r.path, kind) != 0)
		return 2;
	switch (kind) {
	case MKV_PLUGIN_INDEX:
		if (r.replica)
			return usage_error("%s is an index backend: it takes no REPLICA",
					   r.plugin_arg);
		n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
		if (n < 0) {
			perror("mkv-plugin-check: /proc/self/exe");
			return 2;
		}
		self_exe[n] = '\0';
		failed = mkv_conformance_index_run(&r.target, self_exe);
		break;
	default:
		failed = check_volume(&r);
		break;
	}
	printf("%s: %s\n", r.plugin_arg, failed ? "FAILED" : "passed");
	return failed ? 1 : 0;
}
