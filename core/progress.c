/*
 * progress.c - the progress line of rebuild and rebalance.
 *
 * A reporter thread wakes up periodically and prints what the workers have
 * counted in the atomic fields: on a terminal, one line rewritten in place
 * five times a second (done of total, rate, ETA); otherwise a log line every
 * ten seconds, so a log file is not flooded. The summary at the end is always
 * a log line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "progress.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "done/total unit, rate/s, ETA" into buf. */
static void describe(struct mkv_progress *p, char *buf, size_t cap)
{
	uint64_t done = p->done, total = p->total;
	double elapsed = now() - p->started, rate = elapsed > 0 ? (double)done / elapsed : 0;

	if (total > done && rate > 0)
		snprintf(buf, cap, "%s: %llu/%llu %s, %.0f/s, %llu failed, ETA %.0fs",
			 p->what, (unsigned long long)done, (unsigned long long)total, p->unit,
			 rate, (unsigned long long)p->failed, (double)(total - done) / rate);
	else
		snprintf(buf, cap, "%s: %llu/%llu %s, %.0f/s, %llu failed", p->what,
			 (unsigned long long)done, (unsigned long long)total, p->unit, rate,
			 (unsigned long long)p->failed);
}

static void *report(void *arg)
{
	struct mkv_progress *p = arg;
	double period = p->tty ? 0.2 : 10.0;
	char line[256];

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec until;
		double t;

		clock_gettime(CLOCK_REALTIME, &until);
		t = (double)until.tv_nsec / 1e9 + period;
		until.tv_sec += (time_t)t;
		until.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
		if (pthread_cond_timedwait(&p->wake, &p->mu, &until) != ETIMEDOUT)
			continue;
		describe(p, line, sizeof line);
		if (p->tty)
			fprintf(stderr, "\r\033[K%s", line);
		else
			mkv_log(MKV_LOG_INFO, "%s", line);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int mkv_progress_start(struct mkv_progress *p, const char *what, const char *unit,
		       uint64_t total)
{
	memset(p, 0, sizeof *p);
	p->what = what;
	p->unit = unit;
	p->total = total;
	p->started = now();
	p->tty = isatty(STDERR_FILENO);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	return -pthread_create(&p->thread, NULL, report, p);
}

void mkv_progress_finish(struct mkv_progress *p)
{
	double elapsed;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	elapsed = now() - p->started;
	if (p->tty)
		fputs("\r\033[K", stderr);
	mkv_log(MKV_LOG_INFO, "%s done: %llu %s, %llu moved, %.1f MB copied, %llu failed, "
		"%.2f s (%.0f %s/s)", p->what, (unsigned long long)p->done, p->unit,
		(unsigned long long)p->moved, (double)p->bytes / 1048576.0,
		(unsigned long long)p->failed, elapsed,
		elapsed > 0 ? (double)p->done / elapsed : 0.0, p->unit);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->mu);
}
