/* backend_pool.c - the backend library's worker threads: the work queue, the handler of
 * one job or of a batch, the done list that uv_async hands back to the loop thread
 *
 * The queue, the done list, nqueued and quit are under s->mu; a job on the queue or
 * running belongs to the workers, on the done list to the loop thread again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_int.h"
#include "util.h"

void rtn_bpool_enqueue(struct rtn_bserver *s, struct rtn_bsjob *jb)
{
	pthread_mutex_lock(&s->mu);
	if (s->qtail)
		s->qtail->qnext = jb;
	else
		s->qhead = jb;
	s->qtail = jb;
	s->nqueued++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

struct worker_arg {
	struct rtn_bserver *s;
	void *wctx;
};

static void run_job(struct rtn_bserver *s, void *wctx, struct rtn_bsjob *jb)
{
	rtn_debug("job %s (%s %s): started", jb->j.job, jb->j.action, jb->j.id);
	jb->err[0] = '\0';
	int rc = s->def->handle(wctx, &jb->j, jb->err, sizeof(jb->err));
	if (rc != RTN_BST_DONE && rc != RTN_BST_GONE && rc != RTN_BACKEND_FAIL_RETRY &&
	    rc != RTN_BACKEND_FAIL_FINAL) {
		snprintf(jb->err, sizeof(jb->err), "internal error: the handler returned %d", rc);
		rc = RTN_BACKEND_FAIL_RETRY;
	}
	jb->rc = rc;
}

/* Put jb on the done list; the caller holds s->mu. */
static void done_locked(struct rtn_bserver *s, struct rtn_bsjob *jb)
{
	jb->qnext = NULL;
	if (s->dtail)
		s->dtail->qnext = jb;
	else
		s->dhead = jb;
	s->dtail = jb;
}

/* One turn of a batching worker, called with s->mu held and a job queued: take this
 * worker's share of the queue, run it unlocked, hand back what did not run. */
static void run_batch(struct rtn_bserver *s, void *wctx, struct rtn_backend_item *items,
                      struct rtn_bsjob **jobs)
{
	size_t max = s->opts->batch ? s->opts->batch : 1;
	size_t share = (s->nqueued + s->nworkers - 1) / s->nworkers, n = 0;
	if (share < max)
		max = share ? share : 1;
	while (n < max && s->qhead) {
		struct rtn_bsjob *jb = s->qhead;
		s->qhead = jb->qnext;
		jb->qnext = NULL;
		s->nqueued--;
		jobs[n] = jb;
		items[n].job = &jb->j;
		items[n].rc = RTN_BACKEND_NOT_RUN;
		items[n].err[0] = '\0';
		rtn_debug("job %s (%s %s): started", jb->j.job, jb->j.action, jb->j.id);
		n++;
	}
	if (!s->qhead)
		s->qtail = NULL;
	pthread_mutex_unlock(&s->mu);
	s->def->handle_batch(wctx, items, n);
	size_t ran = 0;
	for (size_t i = 0; i < n; i++)
		ran += items[i].rc != RTN_BACKEND_NOT_RUN;
	for (size_t i = 0; i < n; i++) {
		int rc = items[i].rc;
		if (rc == RTN_BACKEND_NOT_RUN && ran)
			continue;
		if (rc != RTN_BST_DONE && rc != RTN_BST_GONE && rc != RTN_BACKEND_FAIL_RETRY &&
		    rc != RTN_BACKEND_FAIL_FINAL) {
			snprintf(items[i].err, sizeof(items[i].err),
			         "internal error: the handler returned %d", rc);
			rc = RTN_BACKEND_FAIL_RETRY;
		}
		jobs[i]->rc = rc;
		memcpy(jobs[i]->err, items[i].err, sizeof(jobs[i]->err));
	}
	pthread_mutex_lock(&s->mu);
	/* What did not run goes back to the front, in its order; after the stop began,
	 * to the loop thread, which drops it as it dropped the rest of the queue. */
	for (size_t i = n; i-- > 0;) {
		if (items[i].rc != RTN_BACKEND_NOT_RUN || !ran)
			continue;
		if (s->quit) {
			jobs[i]->dropped = true;
			continue;
		}
		jobs[i]->qnext = s->qhead;
		s->qhead = jobs[i];
		if (!s->qtail)
			s->qtail = jobs[i];
		s->nqueued++;
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].rc != RTN_BACKEND_NOT_RUN || !ran || jobs[i]->dropped)
			done_locked(s, jobs[i]);
	if (s->qhead)
		pthread_cond_signal(&s->cv);
	uv_async_send(&s->async);
}

/* The deadline idle_ms from now on the pool's clock (CLOCK_MONOTONIC, see serve). */
static struct timespec idle_deadline(unsigned idle_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += idle_ms / 1000;
	ts.tv_nsec += (long)(idle_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Wait (s->mu held) for a job or the end; after jobs ran, once none came for idle_ms,
 * the worker's idle call. */
static void wait_for_work(struct rtn_bserver *s, void *wctx, bool *ran)
{
	while (!s->qhead && !s->quit) {
		if (!*ran || !s->def->idle) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		struct timespec until =
		    idle_deadline(s->def->idle_ms ? s->def->idle_ms : RTN_BACKEND_IDLE_MS);
		int r = 0;
		while (!s->qhead && !s->quit && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&s->cv, &s->mu, &until);
		if (s->qhead || s->quit)
			continue;
		*ran = false;
		pthread_mutex_unlock(&s->mu);
		s->def->idle(wctx);
		pthread_mutex_lock(&s->mu);
	}
}

static void *worker_main(void *arg)
{
	struct worker_arg *w = arg;
	struct rtn_bserver *s = w->s;
	struct rtn_backend_item *items = NULL;
	struct rtn_bsjob **jobs = NULL;
	if (s->def->handle_batch) {
		size_t max = s->opts->batch ? s->opts->batch : 1;
		items = rtn_xcalloc(max, sizeof(*items));
		jobs = rtn_xcalloc(max, sizeof(*jobs));
	}
	bool ran = false; /* a job since the last idle call */
	pthread_mutex_lock(&s->mu);
	for (;;) {
		wait_for_work(s, w->wctx, &ran);
		if (s->quit)
			break;
		ran = true;
		if (items) {
			run_batch(s, w->wctx, items, jobs);
			continue;
		}
		struct rtn_bsjob *jb = s->qhead;
		s->qhead = jb->qnext;
		if (!s->qhead)
			s->qtail = NULL;
		s->nqueued--;
		jb->qnext = NULL;
		pthread_mutex_unlock(&s->mu);
		run_job(s, w->wctx, jb);
		pthread_mutex_lock(&s->mu);
		done_locked(s, jb);
		uv_async_send(&s->async);
	}
	pthread_mutex_unlock(&s->mu);
	free(items);
	free(jobs);
	free(w);
	return NULL;
}

int rtn_bpool_start(struct rtn_bserver *s)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals are the loop thread's */
	s->threads = rtn_xcalloc(s->nworkers, sizeof(*s->threads));
	int r = 0;
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct worker_arg *w = rtn_xmalloc(sizeof(*w));
		w->s = s;
		w->wctx = s->wctx[i];
		if ((r = pthread_create(&s->threads[i], NULL, worker_main, w)) != 0) {
			free(w);
			rtn_err("cannot start worker thread %u: %s", i, strerror(r));
			break;
		}
		s->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r ? -r : 0;
}

void rtn_bpool_stop(struct rtn_bserver *s)
{
	pthread_mutex_lock(&s->mu);
	s->quit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
}
