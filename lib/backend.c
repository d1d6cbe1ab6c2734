/* backend.c - serving the backend protocol: socket, connections, the job table (the
 * workers are backend_pool.c's)
 *
 * Everything but the handlers runs on the libuv loop thread. A job goes: line -> decoded
 * -> the job table (by id) -> the work queue -> a worker thread runs the handler -> the
 * done list -> uv_async wakes the loop -> one result line to every connection that asked.
 * Connections are refcounted: one reference while open, one per job waiting on it, so a
 * connection that goes away while its jobs run is freed when the last of them ends.
 * After the hello, a line that is not a job may be a scan message (backend_scan.c).
 */
#include "backend.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "backend_int.h"
#include "proto.h"
#include "util.h"

#define CONN_MAX_PENDING 4096 /* jobs one connection may have waiting before we stop reading */
#define JOB_PREFIX       "{\"type\":\"job\"" /* how the daemon starts a job's line */
#define JOB_PREFIX_LEN   (sizeof(JOB_PREFIX) - 1)

struct wreq {
	uv_write_t req;
	char *buf;
};

/* --- the job table ------------------------------------------------------------------- */

static size_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static struct rtn_bsjob *job_find(struct rtn_bserver *s, const char *id)
{
	if (!s->nbuckets)
		return NULL;
	for (struct rtn_bsjob *jb = s->buckets[hash(id) & (s->nbuckets - 1)]; jb; jb = jb->hnext)
		if (strcmp(jb->j.job, id) == 0)
			return jb;
	return NULL;
}

static void job_insert(struct rtn_bserver *s, struct rtn_bsjob *jb)
{
	if (s->njobs + 1 > s->nbuckets) {
		size_t n = s->nbuckets ? s->nbuckets * 2 : 256;
		struct rtn_bsjob **b = rtn_xcalloc(n, sizeof(*b));
		for (size_t i = 0; i < s->nbuckets; i++) {
			for (struct rtn_bsjob *x = s->buckets[i], *nx; x; x = nx) {
				nx = x->hnext;
				size_t k = hash(x->j.job) & (n - 1);
				x->hnext = b[k];
				b[k] = x;
			}
		}
		free(s->buckets);
		s->buckets = b;
		s->nbuckets = n;
	}
	size_t k = hash(jb->j.job) & (s->nbuckets - 1);
	jb->hnext = s->buckets[k];
	s->buckets[k] = jb;
	s->njobs++;
}

static void job_remove(struct rtn_bserver *s, struct rtn_bsjob *jb)
{
	struct rtn_bsjob **pp = &s->buckets[hash(jb->j.job) & (s->nbuckets - 1)];
	while (*pp != jb)
		pp = &(*pp)->hnext;
	*pp = jb->hnext;
	s->njobs--;
}

/* --- connections --------------------------------------------------------------------- */

static void process_lines(struct rtn_bconn *c);

static void conn_unref(struct rtn_bconn *c)
{
	if (--c->refs == 0)
		free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct rtn_bconn *c = (struct rtn_bconn *)h;
	struct rtn_bserver *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	rtn_bscan_cancel(c);
	rtn_linebuf_fini(&c->lb);
	conn_unref(c);
}

static void conn_close(struct rtn_bconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	rtn_debug("connection %u: closed", c->id);
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

/* Close after what was written has gone out. */
static void conn_shutdown(struct rtn_bconn *c)
{
	if (c->shut || c->closing)
		return;
	c->shut = true;
	c->shutdown.data = c;
	uv_read_stop((uv_stream_t *)&c->pipe);
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shutdown) < 0)
		conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct rtn_bconn *c = req->data;
	free(w->buf);
	free(w);
	if (status < 0 && status != UV_ECANCELED) {
		rtn_warn("connection %u: cannot write: %s", c->id, uv_strerror(status));
		conn_close(c);
	}
	conn_unref(c);
}

/* Write line (ownership taken) to c. */
static void conn_send(struct rtn_bconn *c, char *line, size_t len)
{
	if (!line || c->closing || c->shut) {
		free(line);
		return;
	}
	struct wreq *w = rtn_xmalloc(sizeof(*w));
	w->buf = line;
	w->req.data = c;
	uv_buf_t b = uv_buf_init(line, (unsigned)len);
	c->refs++;
	int r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written);
	if (r < 0) {
		rtn_warn("connection %u: cannot write: %s", c->id, uv_strerror(r));
		free(line);
		free(w);
		conn_unref(c);
		conn_close(c);
	}
}

void rtn_bconn_send(struct rtn_bconn *c, char *line, size_t len)
{
	conn_send(c, line, len);
}

void rtn_bconn_unref(struct rtn_bconn *c)
{
	conn_unref(c);
}

static void send_failed(struct rtn_bconn *c, const char *job, const char *err)
{
	size_t len;
	char *line = rtn_bproto_result(job, RTN_BST_FAILED, err, false, &len);
	conn_send(c, line, len);
}

static void conn_pause(struct rtn_bconn *c)
{
	c->paused = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct rtn_bconn *c = (struct rtn_bconn *)h;
	*buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct rtn_bconn *c = (struct rtn_bconn *)st;
	(void)buf;
	if (n == UV_EOF) {
		c->eof = true;
		uv_read_stop(st);
		rtn_bscan_cancel(c); /* no ack can come any more */
		if (rtn_linebuf_pending(&c->lb))
			rtn_warn("connection %u: %zu bytes after the last newline ignored", c->id,
			         rtn_linebuf_pending(&c->lb));
		if (!c->pending)
			conn_shutdown(c);
		return;
	}
	if (n < 0) {
		rtn_warn("connection %u: %s", c->id, uv_strerror((int)n));
		conn_close(c);
		return;
	}
	if (rtn_linebuf_feed(&c->lb, c->srv->rbuf, (size_t)n) < 0) {
		rtn_warn("connection %u: a line longer than %u bytes; closing", c->id,
		         RTN_BPROTO_LINE_MAX);
		conn_close(c);
		return;
	}
	process_lines(c);
}

/* After one of c's jobs got its result: read again, or close after a half-close. */
static void conn_job_ended(struct rtn_bconn *c)
{
	c->pending--;
	if (c->closing)
		return;
	if (c->paused && c->pending <= CONN_MAX_PENDING / 2 && !c->srv->stopping) {
		c->paused = false;
		process_lines(c);
		if (!c->paused && !c->closing && !c->eof && !c->shut)
			uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
	}
	if (c->eof && !c->pending)
		conn_shutdown(c);
}

/* --- jobs ---------------------------------------------------------------------------- */

static void add_waiter(struct rtn_bsjob *jb, struct rtn_bconn *c)
{
	for (size_t i = 0; i < jb->nwaiters; i++)
		if (jb->waiters[i] == c)
			return;
	RTN_GROW(jb->waiters, jb->nwaiters + 1, jb->cap);
	jb->waiters[jb->nwaiters++] = c;
	c->refs++;
	if (++c->pending >= CONN_MAX_PENDING)
		conn_pause(c);
}

static void job_free(struct rtn_bsjob *jb)
{
	rtn_bproto_job_fini(&jb->j);
	free(jb->waiters);
	free(jb);
}

/* Drop a job that never ran: nobody gets a result. */
static void job_drop(struct rtn_bserver *s, struct rtn_bsjob *jb)
{
	job_remove(s, jb);
	for (size_t i = 0; i < jb->nwaiters; i++) {
		jb->waiters[i]->pending--;
		conn_unref(jb->waiters[i]);
	}
	job_free(jb);
}

static void job_ended(struct rtn_bserver *s, struct rtn_bsjob *jb)
{
	enum rtn_bstatus st = RTN_BST_FAILED;
	bool retry = jb->rc == RTN_BACKEND_FAIL_RETRY;
	if (jb->rc == RTN_BST_DONE || jb->rc == RTN_BST_GONE)
		st = (enum rtn_bstatus)jb->rc;
	if (st == RTN_BST_FAILED)
		rtn_warn("job %s (%s %s): failed%s: %s", jb->j.job, jb->j.action, jb->j.id,
		         retry ? "" : " for good", jb->err[0] ? jb->err : "(no reason given)");
	else
		rtn_debug("job %s (%s %s): %s", jb->j.job, jb->j.action, jb->j.id,
		          rtn_bstatus_name(st));
	job_remove(s, jb);
	size_t len;
	char *line = rtn_bproto_result(jb->j.job, st, jb->err[0] ? jb->err : NULL, retry, &len);
	for (size_t i = 0; i < jb->nwaiters; i++) {
		struct rtn_bconn *c = jb->waiters[i];
		bool last = i + 1 == jb->nwaiters;
		conn_send(c, last || !line ? line : rtn_xstrndup(line, len), len);
		conn_job_ended(c);
		conn_unref(c);
	}
	if (!jb->nwaiters)
		free(line);
	job_free(jb);
}

static void on_job_line(struct rtn_bconn *c, const char *line, size_t len)
{
	struct rtn_bserver *s = c->srv;
	struct rtn_bjob j;
	char err[RTN_BACKEND_ERR_MAX];
	if (rtn_bproto_decode_job(line, len, &j, err, sizeof(err)) < 0) {
		if (j.job) {
			rtn_warn("connection %u: %s", c->id, err);
			send_failed(c, j.job, err);
		} else {
			rtn_warn("connection %u: ignoring a line that is not a job: %s", c->id,
			         err);
		}
		rtn_bproto_job_fini(&j);
		return;
	}
	if (!(s->opts->actions & j.act)) {
		snprintf(err, sizeof(err), "%s does not %s", s->def->name, j.action);
		rtn_warn("job %s: %s", j.job, err);
		send_failed(c, j.job, err);
		rtn_bproto_job_fini(&j);
		return;
	}
	struct rtn_bsjob *jb = job_find(s, j.job);
	if (jb) {
		rtn_debug("job %s: already in hand; connection %u waits for it too", j.job, c->id);
		add_waiter(jb, c);
		rtn_bproto_job_fini(&j);
		return;
	}
	jb = rtn_xcalloc(1, sizeof(*jb));
	jb->j = j;
	add_waiter(jb, c);
	job_insert(s, jb);
	rtn_bpool_enqueue(s, jb);
}

static void on_hello_line(struct rtn_bconn *c, const char *line, size_t len)
{
	struct rtn_bserver *s = c->srv;
	struct rtn_bhello h;
	char err[256];
	if (rtn_bproto_decode_hello(line, len, false, &h, err, sizeof(err)) < 0) {
		rtn_warn("connection %u: expected a hello: %s; closing", c->id, err);
		rtn_bproto_hello_fini(&h);
		conn_close(c);
		return;
	}
	int proto = h.highest, theirs = h.protocol;
	rtn_bproto_hello_fini(&h);
	size_t n;
	char *ours =
	    rtn_bproto_hello(s->def->name, s->opts->actions, proto ? proto : RTN_BACKEND_PROTOCOL,
	                     s->def->scan != NULL, &n);
	conn_send(c, ours, n);
	if (!proto) {
		rtn_warn("connection %u: the peer speaks protocol %d, we speak %d to %d; closing",
		         c->id, theirs, RTN_BACKEND_PROTOCOL_MIN, RTN_BACKEND_PROTOCOL);
		conn_shutdown(c);
		return;
	}
	c->hello = true;
	c->proto = proto;
	rtn_info("connection %u: hello, protocol %d", c->id, proto);
}

/* A line after the hello that is not a job's: a scan message, or what on_job_line says. */
static void on_other_line(struct rtn_bconn *c, const char *line, size_t len)
{
	struct rtn_bscan_ctl m;
	char err[256];
	int r = rtn_bproto_decode_scan_ctl(line, len, &m, err, sizeof(err));
	if (r == 0)
		rtn_bscan_ctl(c, &m);
	else if (r == -EINVAL && m.root)
		rtn_warn("connection %u: ignoring a scan message: %s", c->id, err);
	else
		on_job_line(c, line, len);
	rtn_bproto_scan_ctl_fini(&m);
}

static void process_lines(struct rtn_bconn *c)
{
	while (!c->closing && !c->shut && !c->paused && !c->srv->stopping) {
		size_t len;
		char *line = rtn_linebuf_next(&c->lb, &len);
		if (!line)
			return;
		if (len > RTN_BPROTO_LINE_MAX) {
			rtn_warn("connection %u: a line longer than %u bytes; closing", c->id,
			         RTN_BPROTO_LINE_MAX);
			conn_close(c);
			return;
		}
		if (len == 0)
			continue;
		if (c->hello && len >= JOB_PREFIX_LEN &&
		    memcmp(line, JOB_PREFIX, JOB_PREFIX_LEN) == 0)
			on_job_line(c, line, len);
		else if (c->hello)
			on_other_line(c, line, len);
		else
			on_hello_line(c, line, len);
	}
}

static void on_connection(uv_stream_t *l, int status)
{
	struct rtn_bserver *s = l->data;
	if (status < 0) {
		rtn_warn("accept: %s", uv_strerror(status));
		return;
	}
	struct rtn_bconn *c = rtn_xcalloc(1, sizeof(*c));
	c->srv = s;
	c->refs = 1;
	c->id = ++s->nextconn;
	rtn_linebuf_init(&c->lb, RTN_BPROTO_LINE_MAX);
	uv_pipe_init(&s->loop, &c->pipe, 0);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (uv_accept(l, (uv_stream_t *)&c->pipe) < 0) {
		conn_close(c);
		return;
	}
	rtn_debug("connection %u: accepted", c->id);
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
}

/* --- stopping ------------------------------------------------------------------------ */

static void maybe_finish(struct rtn_bserver *s)
{
	if (!s->stopping || s->finished || s->njobs || s->nscans)
		return;
	s->finished = true;
	rtn_bpool_stop(s);
	uv_close((uv_handle_t *)&s->async, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	signal(SIGTERM, SIG_IGN); /* we are on our way out; a second signal changes nothing */
	signal(SIGINT, SIG_IGN);
	for (struct rtn_bconn *c = s->conns; c; c = c->next)
		conn_shutdown(c);
	rtn_info("stopped");
}

static void on_async(uv_async_t *a)
{
	struct rtn_bserver *s = a->data;
	pthread_mutex_lock(&s->mu);
	struct rtn_bsjob *done = s->dhead;
	s->dhead = s->dtail = NULL;
	pthread_mutex_unlock(&s->mu);
	while (done) {
		struct rtn_bsjob *next = done->qnext;
		if (done->dropped)
			job_drop(s, done);
		else
			job_ended(s, done);
		done = next;
	}
	rtn_bscan_drain(s);
	maybe_finish(s);
}

static void unlink_bound(struct rtn_bserver *s)
{
	rtn_backend_unlisten(s->bound, s->bound_ino);
	free(s->bound);
	s->bound = NULL;
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct rtn_bserver *s = sig->data;
	if (s->stopping) {
		rtn_warn("signal %d again: exiting without waiting for running jobs", signum);
		unlink_bound(s);
		_exit(1);
	}
	s->stopping = true;
	sd_notify(0, "STOPPING=1");
	rtn_bscan_stop(s);
	uv_close((uv_handle_t *)&s->listener, NULL);
	unlink_bound(s);
	for (struct rtn_bconn *c = s->conns; c; c = c->next)
		if (!c->closing)
			uv_read_stop((uv_stream_t *)&c->pipe);
	pthread_mutex_lock(&s->mu);
	struct rtn_bsjob *q = s->qhead;
	s->qhead = s->qtail = NULL;
	s->nqueued = 0;
	s->quit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	size_t dropped = 0;
	for (struct rtn_bsjob *next; q; q = next, dropped++) {
		next = q->qnext;
		job_drop(s, q);
	}
	rtn_info("signal %d: stopping; answering the %zu jobs already started, leaving %zu queued "
	         "jobs for the daemon to send again",
	         signum, s->njobs, dropped);
	maybe_finish(s);
}

/* --- the socket ---------------------------------------------------------------------- */

static int listen_socket(struct rtn_bserver *s)
{
	uv_pipe_init(&s->loop, &s->listener, 0);
	s->listener.data = s;
	int r, fd = rtn_backend_listen(s->opts->socket, s->opts->socket_mode, &s->bound_ino);
	if (fd < 0)
		return fd;
	if (s->bound_ino)
		s->bound = rtn_xstrdup(s->opts->socket);
	if ((r = uv_pipe_open(&s->listener, fd)) < 0)
		close(fd);
	else
		r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	if (r < 0)
		rtn_err("cannot listen: %s", uv_strerror(r));
	return r;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int rtn_backend_serve(const struct rtn_backend_def *def, void *ctx,
                      const struct rtn_backend_opts *o)
{
	struct rtn_bserver *s = rtn_xcalloc(1, sizeof(*s));
	s->def = def;
	s->opts = o;
	s->ctx = ctx;
	s->nworkers = o->workers ? o->workers : 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* idle waits ignore clock steps */
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&s->loop);

	int r = 0;
	unsigned made = 0;
	s->wctx = rtn_xcalloc(s->nworkers, sizeof(*s->wctx));
	for (; made < s->nworkers; made++) {
		char err[RTN_BACKEND_ERR_MAX] = "";
		if (!def->worker_init) {
			s->wctx[made] = ctx;
		} else if (!(s->wctx[made] = def->worker_init(ctx, made, err, sizeof(err)))) {
			rtn_err("worker %u: %s", made, err[0] ? err : "cannot start");
			r = -EIO;
			goto out;
		}
	}
	if ((r = listen_socket(s)) < 0)
		goto out;
	uv_async_init(&s->loop, &s->async, on_async);
	s->async.data = s;
	uv_signal_init(&s->loop, &s->sigterm);
	uv_signal_init(&s->loop, &s->sigint);
	s->sigterm.data = s->sigint.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	if ((r = rtn_bpool_start(s)) < 0)
		goto out;
	rtn_info("%s %s: serving with %u worker%s", def->name, RTN_VERSION, s->nworkers,
	         s->nworkers == 1 ? "" : "s");
	sd_notify(0, "READY=1");
	uv_run(&s->loop, UV_RUN_DEFAULT);

out:
	rtn_bpool_stop(s);
	uv_walk(&s->loop, close_walk, NULL);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&s->loop) != 0)
		rtn_warn("event loop closed with handles still open");
	for (unsigned i = 0; i < made; i++)
		if (def->worker_fini && def->worker_init)
			def->worker_fini(s->wctx[i]);
	/* Jobs left only on an error path: free them. */
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct rtn_bsjob *jb = s->buckets[i], *nx; jb; jb = nx) {
			nx = jb->hnext;
			job_free(jb);
		}
	unlink_bound(s);
	free(s->buckets);
	free(s->wctx);
	free(s->threads);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	return r;
}
