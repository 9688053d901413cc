/*
 * index_conformance.c - the index conformance suite (index_suite.c) over
 * every bundled index backend, as `make check` runs it.
 *
 * Backends are loaded by name from $MKV_TEST_PLUGINDIR through the core's
 * loader, exactly as mkv loads them, so a new backend is tested by adding one
 * line to the table below: its name, one option it accepts and one option
 * value it must refuse (with MKV_E_INVAL naming the key).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "suite.h"

static const struct mkv_conformance_target backends[] = {
	{ "leveldb", NULL, { "cache_size", "16M" }, { "sync", "maybe" } },
	{ "lmdb", NULL, { "map_size", "64M" }, { "map_size", "lots" } },
};

int main(int argc, char **argv)
{
	char self_exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	const char *plugindir = getenv("MKV_TEST_PLUGINDIR");
	int failed = 0, rc;

	if ((rc = mkv_conformance_index_child(argc, argv)) >= 0)
		return rc;
	if (!plugindir || n < 0) {
		fprintf(stderr, "index_conformance: set MKV_TEST_PLUGINDIR to the built plugins\n");
		return 99; /* automake's "hard error" */
	}
	self_exe[n] = '\0';
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		struct mkv_conformance_target t = backends[i];

		t.plugindir = plugindir;
		failed += mkv_conformance_index_run(&t, self_exe);
	}
	return failed ? 1 : 0;
}
