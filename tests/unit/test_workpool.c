/*
 * test_workpool.c - the pool that runs the jobs which wait on volumes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "workpool.h"

#define WAITERS 64
#define JOBS_IN_TURN 200

/* A latch every job waits on until all of them have started. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started;
	int finished;
} latch = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

static void wait_for_all(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&latch.mu);
	latch.started++;
	pthread_cond_broadcast(&latch.cv);
	while (latch.started < WAITERS)
		pthread_cond_wait(&latch.cv, &latch.mu);
	latch.finished++;
	pthread_cond_broadcast(&latch.cv);
	pthread_mutex_unlock(&latch.mu);
}

/* Jobs that wait for each other all run at once: none waits in a queue behind another. */
static void test_jobs_waiting_for_each_other_all_run(void **state)
{
	(void)state;
	for (int i = 0; i < WAITERS; i++)
		assert_int_equal(mkv_work_run(wait_for_all, NULL), 0);
	pthread_mutex_lock(&latch.mu);
	while (latch.finished < WAITERS)
		pthread_cond_wait(&latch.cv, &latch.mu);
	pthread_mutex_unlock(&latch.mu);
	assert_int_equal(latch.finished, WAITERS);
	mkv_work_shutdown();
}

static atomic_int counted;

static void count(void *arg)
{
	(void)arg;
	counted++;
}

/* Shutdown returns once every job has run, and the pool works again after it. */
static void test_shutdown_waits_for_every_job(void **state)
{
	(void)state;
	for (int round = 1; round <= 2; round++) {
		for (int i = 0; i < 1000; i++)
			assert_int_equal(mkv_work_run(count, NULL), 0);
		mkv_work_shutdown();
		assert_int_equal(counted, 1000 * round);
	}
}

/* The threads each job ran on, and a way to wait for the job. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t seen[JOBS_IN_TURN];
	size_t distinct;
	bool done;
} runs = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void note_thread(void *arg)
{
	pthread_t self = pthread_self();
	size_t i;

	(void)arg;
	pthread_mutex_lock(&runs.mu);
	for (i = 0; i < runs.distinct && !pthread_equal(runs.seen[i], self); i++)
		;
	if (i == runs.distinct && i < sizeof runs.seen / sizeof runs.seen[0])
		runs.seen[runs.distinct++] = self;
	runs.done = true;
	pthread_cond_broadcast(&runs.cv);
	pthread_mutex_unlock(&runs.mu);
}

/* Jobs run one after another reuse the thread that went idle: no thread per job. */
static void test_idle_thread_is_reused(void **state)
{
	(void)state;
	for (int i = 0; i < JOBS_IN_TURN; i++) {
		runs.done = false;
		assert_int_equal(mkv_work_run(note_thread, NULL), 0);
		pthread_mutex_lock(&runs.mu);
		while (!runs.done)
			pthread_cond_wait(&runs.cv, &runs.mu);
		pthread_mutex_unlock(&runs.mu);
	}
	mkv_work_shutdown();
	/*
	 * A job's last act wakes the test before its thread is idle again, so
	 * the next job may start another thread now and then (more often under
	 * a sanitizer's slow scheduling); a thread for every other job would
	 * mean the pool does not reuse its threads.
	 */
	assert_in_range(runs.distinct, 1, JOBS_IN_TURN / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_waiting_for_each_other_all_run),
		cmocka_unit_test(test_shutdown_waits_for_every_job),
		cmocka_unit_test(test_idle_thread_is_reused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
