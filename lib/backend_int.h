/* backend_int.h - what backend.c (socket, connections, the job table, on the loop thread),
 * backend_pool.c (the worker threads) and backend_scan.c (scans, each on its thread) share */
#ifndef RTN_BACKEND_INT_H
#define RTN_BACKEND_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "backend.h"
#include "proto.h"

#define RTN_BACKEND_READ_CHUNK 65536 /* bytes read from a connection at once */

/* A connection from the daemon (the loop thread's). */
struct rtn_bconn {
	uv_pipe_t pipe; /* first: a handle pointer is a conn pointer */
	struct rtn_bserver *srv;
	struct rtn_linebuf lb;
	struct rtn_bconn *prev, *next;
	unsigned refs;    /* one while open, one per job waiting on it, one for its scan */
	unsigned pending; /* jobs asked for on it whose result is not yet sent */
	unsigned id;      /* for the log */
	int proto;        /* the version the hellos agreed on */
	bool hello, paused, eof, shut, closing;
	uv_shutdown_t shutdown;
	struct rtn_scan_out *scan; /* the scan running for it, or NULL */
};

/* A job in hand, from its line to its result: in the job table by id, on the queue, with
 * a worker, on the done list. */
struct rtn_bsjob {
	struct rtn_bjob j;       /* owned; j.job is the id */
	struct rtn_bsjob *hnext; /* hash chain */
	struct rtn_bsjob *qnext; /* work queue or done list */
	struct rtn_bconn **waiters;
	size_t nwaiters, cap;
	int rc;       /* what the handler returned */
	bool dropped; /* handed back by handle_batch after the stop began: never run */
	char err[RTN_BACKEND_ERR_MAX];
};

/* One rtn_backend_serve: the loop, the listener, the connections, the job table, the pool. */
struct rtn_bserver {
	const struct rtn_backend_def *def;
	const struct rtn_backend_opts *opts;
	void *ctx;
	uv_loop_t loop;
	uv_pipe_t listener;
	uv_signal_t sigterm, sigint;
	uv_async_t async;
	/* the pool; the queue, the done list and quit are under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *threads;
	void **wctx;
	unsigned nworkers, nthreads;
	struct rtn_bsjob *qhead, *qtail, *dhead, *dtail;
	size_t nqueued; /* jobs on the work queue */
	bool quit;
	/* the loop thread's */
	struct rtn_bsjob **buckets;
	size_t nbuckets, njobs; /* every job that has not had its result sent */
	struct rtn_bconn *conns;
	unsigned nextconn;
	struct rtn_scan_out *scans; /* every scan whose thread was not joined yet */
	size_t nscans;
	bool stopping, finished;
	char *bound; /* the socket path we created, unlinked at the end */
	ino_t bound_ino;
	char rbuf[RTN_BACKEND_READ_CHUNK];
};

/* Write line (ownership taken; NULL is nothing) to c, unless it is closing (loop thread). */
void rtn_bconn_send(struct rtn_bconn *c, char *line, size_t len);
/* Drop a reference to c; the last one frees it (loop thread). */
void rtn_bconn_unref(struct rtn_bconn *c);

/* A scan message (decoded) that came on c (loop thread): start, ack or cancel. */
void rtn_bscan_ctl(struct rtn_bconn *c, const struct rtn_bscan_ctl *m);
/* End c's scan, if it has one: rtn_scan_emit returns -ECANCELED from now on, and what it
 * still sends is dropped (loop thread). */
void rtn_bscan_cancel(struct rtn_bconn *c);
/* Send what the scan threads queued; join the threads that ended (loop thread, on the
 * async wake-up). */
void rtn_bscan_drain(struct rtn_bserver *s);
/* The backend stops: cancel every scan (loop thread). */
void rtn_bscan_stop(struct rtn_bserver *s);

/* Queue jb for the workers (loop thread). */
void rtn_bpool_enqueue(struct rtn_bserver *s, struct rtn_bsjob *jb);
/* Start s->nworkers threads with s->wctx; 0 or -errno (logged). */
int rtn_bpool_start(struct rtn_bserver *s);
/* Tell the threads to quit and join them. */
void rtn_bpool_stop(struct rtn_bserver *s);

#endif
