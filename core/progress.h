/*
 * progress.h - progress and summary of a long operation (rebuild, rebalance):
 * a live line on a terminal, plain log lines otherwise.
 */
#ifndef MKV_PROGRESS_H
#define MKV_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct mkv_progress {
	const char *what;        /* "rebuild", "rebalance" */
	const char *unit;        /* what total counts: "keys", "directories" */
	_Atomic uint64_t total;  /* may grow while running */
	_Atomic uint64_t done;
	_Atomic uint64_t moved;  /* keys whose data moved */
	_Atomic uint64_t bytes;  /* bytes copied */
	_Atomic uint64_t failed;
	double started;          /* seconds, monotonic */
	bool tty;
	bool stop;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	pthread_t thread;
};

/* Start reporting on stderr. Returns 0 or a negative errno when no thread starts. */
int mkv_progress_start(struct mkv_progress *p, const char *what, const char *unit,
		       uint64_t total);

/* Stop reporting and print the one-line summary. */
void mkv_progress_finish(struct mkv_progress *p);

#endif
