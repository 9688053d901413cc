/*
 * checks.h - what every conformance test program shares: the assertion on a
 * slot's return code (showing the backend's message when it is wrong), and
 * the removal of a test's directory tree. Include after <cmocka.h>.
 */
#ifndef MKV_CONFORMANCE_CHECKS_H
#define MKV_CONFORMANCE_CHECKS_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include <mkv/mkv.h>

#include "host.h"

/* Call a slot with a fresh error message and check its code, showing the message. */
#define assert_code(call, want)                                                     \
	do {                                                                        \
		int rc_;                                                            \
		mkv_error_clear();                                                  \
		rc_ = (call);                                                       \
		if (rc_ != (want))                                                  \
			print_error("%s\n  returned %d (%s), expected %d (%s)\n",   \
				    #call, rc_, mkv_error_message(rc_), (int)(want), \
				    mkv_strerror(want));                            \
		assert_int_equal(rc_, (want));                                      \
	} while (0)

#define assert_ok(call) assert_code(call, 0)

static inline int remove_tree_entry(const char *path, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Remove dir and everything under it, never following a symlink. Returns 0 or -1. */
static inline int remove_tree(const char *dir)
{
	return nftw(dir, remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
