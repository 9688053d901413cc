/*
 * workpool.h - threads for work that waits: volume requests, replica writers.
 *
 * The HTTP server's threads each serve many connections and must never wait
 * on a volume; whatever does is handed to this pool. The pool is elastic: a
 * job runs at once on an idle thread or on a new one, so a job may wait for
 * other jobs (a PUT waits for its replica writers) without any risk of the
 * pool running dry. Threads that stay idle for a while exit, so the pool
 * shrinks back after a burst.
 */
#ifndef MKV_WORKPOOL_H
#define MKV_WORKPOOL_H

/*
 * mkv_work_run - run fn(arg) on a pool thread, now. Returns 0, or
 * MKV_E_NOMEM when no idle thread was free and no new one could be started
 * (fn is then not called).
 */
int mkv_work_run(void (*fn)(void *arg), void *arg);

/*
 * mkv_work_shutdown - wait until every job has returned and every pool
 * thread has exited. For the end of the program (and of tests that check
 * for leaks); jobs may be run again afterwards.
 */
void mkv_work_shutdown(void);

#endif
