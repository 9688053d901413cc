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

struct job {
	void (*fn)(void *arg);
	void *arg;
	struct job *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* a job was queued, or the pool is shutting down */
	pthread_cond_t gone; /* a thread exited */
	struct job *head, *tail; /* jobs handed to idle threads, not yet taken */
	size_t queued;
	size_t idle;    /* threads waiting for a job */
	size_t threads; /* threads alive */
	bool stopping;
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.gone = PTHREAD_COND_INITIALIZER,
};

/* The next queued job, waiting up to IDLE_SECONDS for one; NULL to exit. Locked. */
static struct job *next_job_locked(void)
{
	struct timespec until;
	struct job *j;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += IDLE_SECONDS;
	pool.idle++;
	while (!pool.head && !pool.stopping)
		if (pthread_cond_timedwait(&pool.wake, &pool.mu, &until) == ETIMEDOUT)
			break;
	pool.idle--;
	j = pool.head;
	if (j) {
		pool.head = j->next;
		if (!pool.head)
			pool.tail = NULL;
		pool.queued--;
	}
	return j;
}

static void *pool_thread(void *arg)
{
	struct job *j = arg;

	for (;;) {
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&pool.mu);
		j = next_job_locked();
		if (!j)
			break;
		pthread_mutex_unlock(&pool.mu);
	}
	pool.threads--;
	pthread_cond_broadcast(&pool.gone);
	pthread_mutex_unlock(&pool.mu);
	return NULL;
}

/* Start a thread whose first job is j. Returns 0 or MKV_E_NOMEM. Locked. */
static int start_thread_locked(struct job *j)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORK_STACK);
	rc = pthread_create(&t, &attr, pool_thread, j);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return mkv_fail(MKV_E_NOMEM, "cannot start a thread: %s", strerror(rc));
	pool.threads++;
	return 0;
}

int mkv_work_run(void (*fn)(void *arg), void *arg)
{
	struct job *j = malloc(sizeof *j);
	int rc = 0;

	if (!j)
		return mkv_fail(MKV_E_NOMEM, "out of memory for a job");
	*j = (struct job){ .fn = fn, .arg = arg };
	pthread_mutex_lock(&pool.mu);
	pool.stopping = false;
	if (pool.idle > pool.queued) {
		if (pool.tail)
			pool.tail->next = j;
		else
			pool.head = j;
		pool.tail = j;
		pool.queued++;
		pthread_cond_signal(&pool.wake);
	} else if ((rc = start_thread_locked(j)) < 0) {
		free(j);
	}
	pthread_mutex_unlock(&pool.mu);
	return rc;
}

void mkv_work_shutdown(void)
{
	pthread_mutex_lock(&pool.mu);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.wake);
	while (pool.threads > 0)
		pthread_cond_wait(&pool.gone, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
}
