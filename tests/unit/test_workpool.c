/*
 * test_workpool.c - the pool that runs the jobs which wait on volumes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "workpool.h"

#define WAITERS 64

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_waiting_for_each_other_all_run),
		cmocka_unit_test(test_shutdown_waits_for_every_job),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
