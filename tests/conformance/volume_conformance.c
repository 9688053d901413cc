/*
 * volume_conformance.c - the volume conformance suite (volume_suite.c) over
 * one volume backend, as `make check` runs it:
 *
 *     volume_conformance [--good-option KEY=VALUE] [--bad-option KEY=VALUE]
 *                        PLUGIN.so REPLICA [DEAD_REPLICA]
 *
 * A volume backend needs a replica that works and one where nothing answers,
 * which only a script can set up (an nginx server, a directory): each bundled
 * backend has a runner, volume-NAME.sh, that prepares them and calls this.
 * The options name one the backend accepts and one value it must refuse.
 */
#include <stdio.h>
#include <string.h>

#include "suite.h"

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--good-option KEY=VALUE] [--bad-option KEY=VALUE] "
		"PLUGIN.so REPLICA [DEAD_REPLICA]\n", prog);
	return 2;
}

int main(int argc, char **argv)
{
	struct mkv_conformance_target t = { .plugindir = "." };
	int i = 1;

	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		struct mkv_option *o = strcmp(argv[i], "--good-option") == 0 ? &t.good_option
				     : strcmp(argv[i], "--bad-option") == 0  ? &t.bad_option
									     : NULL;
		if (!o || mkv_conformance_parse_option(argv[i + 1], o) < 0)
			return usage(argv[0]);
	}
	if (argc - i < 2 || argc - i > 3)
		return usage(argv[0]);
	t.plugin = argv[i];
	return mkv_conformance_volume_run(&t, argv[i + 1], argc - i == 3 ? argv[i + 2] : NULL)
		       ? 1 : 0;
}
