/*
 * workpool.c - an elastic pool of threads for jobs that wait.
 *
 * Jobs never queue behind each other: mkv_work_run() hands the job to an
 * idle thread when there is one and starts a thread otherwise. That costs a
 * thread per job in flight at the peak, which is what thread-per-request
 * costs too, but threads are reused instead of created per request, and a
 * job that waits for other jobs cannot deadlock the pool.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "workpool.h"

/* Stack per pool thread: enough for libcurl, LevelDB and LMDB. */
#define WORK_STACK (512 * 1024)
/* A thread idle this long exits. */
#define IDLE_SECONDS 5

/*
 * A pool thread. While idle it sits on the idle stack and sleeps on its own
 * semaphore; mkv_work_run() takes it off the stack, gives it the job and
 * posts. So the job is handed over without a queue, the woken thread does
 * not contend for the pool's lock, and the thread idle the shortest time is
 * reused first (the others time out and exit after a burst).
 */
struct worker {
	sem_t ready;            /* posted when fn is set, or NULL to exit */
	void (*fn)(void *arg);
	void *arg;
	struct worker *next;    /* on the idle stack */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t gone;    /* a thread exited */
	struct worker *idle;    /* most recently idle first */
	size_t threads;         /* threads alive */
	bool stopping;
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.gone = PTHREAD_COND_INITIALIZER,
};

/* Take w off the idle stack; false when it was not on it (a job is on its way). Locked. */
static bool unlink_idle_locked(struct worker *w)
{
	for (struct worker **p = &pool.idle; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return true;
		}
	return false;
}

/* Wait, idle, for w's next job; false when the thread should exit instead. */
static bool next_job(struct worker *w)
{
	struct timespec until;
	bool unwanted;
	int rc;

	pthread_mutex_lock(&pool.mu);
	if (pool.stopping) {
		pthread_mutex_unlock(&pool.mu);
		return false;
	}
	w->fn = NULL;
	w->next = pool.idle;
	pool.idle = w;
	pthread_mutex_unlock(&pool.mu);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += IDLE_SECONDS;
	while ((rc = sem_timedwait(&w->ready, &until)) != 0 && errno == EINTR)
		;
	if (rc != 0) { /* timed out: exit, unless a job was handed over meanwhile */
		pthread_mutex_lock(&pool.mu);
		unwanted = unlink_idle_locked(w);
		pthread_mutex_unlock(&pool.mu);
		if (unwanted)
			return false;
		while (sem_wait(&w->ready) != 0)
			;
	}
	return w->fn != NULL; /* NULL: woken by mkv_work_shutdown() */
}

/* What a new thread is started for. */
struct job {
	void (*fn)(void *arg);
	void *arg;
};

static void *pool_thread(void *arg)
{
	struct job *first = arg;
	struct worker w = { .fn = first->fn, .arg = first->arg };

	free(first);
	sem_init(&w.ready, 0, 0);
	do
		w.fn(w.arg);
	while (next_job(&w));
	sem_destroy(&w.ready);
	pthread_mutex_lock(&pool.mu);
	pool.threads--;
	pthread_cond_broadcast(&pool.gone);
	pthread_mutex_unlock(&pool.mu);
	return NULL;
}

/* Start a thread whose first job is fn(arg). Returns 0 or MKV_E_NOMEM. Locked. */
static int start_thread_locked(void (*fn)(void *arg), void *arg)
{
	struct job *first = malloc(sizeof *first);
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (!first)
		return mkv_fail(MKV_E_NOMEM, "out of memory for a job");
	first->fn = fn;
	first->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORK_STACK);
	rc = pthread_create(&t, &attr, pool_thread, first);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(first);
		return mkv_fail(MKV_E_NOMEM, "cannot start a thread: %s", strerror(rc));
	}
	pool.threads++;
	return 0;
}

int mkv_work_run(void (*fn)(void *arg), void *arg)
{
	struct worker *w;
	int rc = 0;

	pthread_mutex_lock(&pool.mu);
	pool.stopping = false;
	w = pool.idle;
	if (w) {
		pool.idle = w->next;
		w->fn = fn;
		w->arg = arg;
	} else {
		rc = start_thread_locked(fn, arg);
	}
	pthread_mutex_unlock(&pool.mu);
	if (w)
		sem_post(&w->ready);
	return rc;
}

void mkv_work_shutdown(void)
{
	pthread_mutex_lock(&pool.mu);
	pool.stopping = true;
	while (pool.idle) { /* fn stays NULL: wake up and exit */
		struct worker *w = pool.idle;

		pool.idle = w->next;
		sem_post(&w->ready);
	}
	while (pool.threads > 0)
		pthread_cond_wait(&pool.gone, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
}
