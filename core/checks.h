/*
 * checks.h - replica checks in flight, shared by the GETs that ask the same
 * question at once.
 *
 * A GET of a live key asks a replica whether it holds the value (a HEAD for
 * nginx volumes). When many GETs of one key arrive together, each would send
 * its own HEAD for the same answer. Here a GET that asks while the same check
 * is in flight waits for that check's answer instead of sending another. A
 * check is shared only until its answer arrives and is never kept afterwards,
 * so every answer a GET gets was given after the GET asked: the freshness a
 * HEAD of its own would have.
 */
#ifndef MKV_CHECKS_H
#define MKV_CHECKS_H

#include <stdbool.h>

struct mkv_checks;

/* One asker, embedded in the caller's state for the GET. */
struct mkv_check {
	const char *replica, *path; /* the question: set by the caller, borrowed */
	struct mkv_check *next;     /* in the table (a leader) or in a list of askers */
	struct mkv_check *joined;   /* a leader: those that wait for its answer */
};

/* A new, empty table, or NULL when out of memory. */
struct mkv_checks *mkv_checks_new(void);
/* Free the table; no check may be in flight. */
void mkv_checks_free(struct mkv_checks *cs);

/*
 * Ask c's question. True: c leads, and the caller makes the check, then
 * passes its answer to mkv_checks_end(). False: c joined the same check,
 * already in flight, and comes back from that check's mkv_checks_end().
 */
bool mkv_checks_ask(struct mkv_checks *cs, struct mkv_check *c);

/*
 * The answer to the check that c leads has arrived: the check leaves the
 * table (a later ask leads a new one). Returns every asker to give the answer
 * to, linked through next: c, and those that joined it.
 */
struct mkv_check *mkv_checks_end(struct mkv_checks *cs, struct mkv_check *c);

#endif
