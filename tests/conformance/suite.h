/*
 * suite.h - the plugin conformance suites as functions: one suite per
 * interface, run by `make check` over the bundled backends
 * (index_conformance, volume_conformance) and by the installed
 * mkv-plugin-check over any backend a third party builds.
 *
 * A suite loads the backend through the core's loader, exactly as mkv does,
 * runs every test of its interface with cmocka (output on stdout), unloads
 * it, and returns the number of failed tests (a load failure counts as one,
 * printed on stderr).
 */
#ifndef MKV_CONFORMANCE_SUITE_H
#define MKV_CONFORMANCE_SUITE_H

#include <mkv/mkv.h>

/* What a backend under test is, and what its options look like. */
struct mkv_conformance_target {
	const char *plugin;    /* a name looked up in plugindir, or a path to a .so */
	const char *plugindir; /* where names are looked up; "." when loading by path */

	/* An option open() accepts, and an option value it must refuse with
	 * MKV_E_INVAL naming the key. A NULL key skips the test that uses it. */
	struct mkv_option good_option;
	struct mkv_option bad_option;
};

/*
 * mkv_conformance_index_run - the index suite. Every test gets a fresh index
 * in a temporary directory of its own under $TMPDIR (or /tmp), removed after.
 * One test opens the index from a second process by running self_exe (the
 * calling program, which must hand its arguments to
 * mkv_conformance_index_child first). Returns the number of failures.
 */
int mkv_conformance_index_run(const struct mkv_conformance_target *t, const char *self_exe);

/*
 * mkv_conformance_index_child - the second process of the index suite. When
 * argv is the hidden mode the suite runs self_exe with, opens the index as
 * asked, prints "CODE MESSAGE" on stdout and returns the exit status (0);
 * otherwise returns -1 and the program goes on as usual.
 */
int mkv_conformance_index_child(int argc, char **argv);

/*
 * mkv_conformance_volume_run - the volume suite, writing under replica
 * (paths of its own, so runs never collide). dead_replica names a place
 * where no volume answers, to check that an unreachable volume fails fast;
 * NULL skips that test. Returns the number of failures.
 */
int mkv_conformance_volume_run(const struct mkv_conformance_target *t, const char *replica,
			       const char *dead_replica);

/*
 * mkv_conformance_parse_option - split "KEY=VALUE" (pointing into arg) into
 * out. Returns 0, or MKV_E_INVAL when there is no '=' or the key is empty.
 */
int mkv_conformance_parse_option(char *arg, struct mkv_option *out);

#endif
