/* backend_scan.c - a backend's scans (protocol 2): def->scan on a thread of its own per
 * scan, its records cut into pages, the window, the end marker
 *
 * The scan thread encodes each record once and appends it to the page it builds as text
 * (the page line is never a jansson tree). A full page waits on the scan's condition
 * variable until the daemon acknowledged page seq - window, then goes on the scan's
 * queue of lines; uv_async wakes the loop thread, which writes the lines to the
 * connection. The scan holds a reference to its connection: when the thread ends, the
 * loop thread joins it, sends the end marker unless the scan was cancelled, and drops
 * the reference. A cancel (scan_cancel, the connection's end, SIGTERM) wakes the thread
 * and drops whatever it still queues.
 * What is under sc->mu: acked, cancelled, done, the queue of lines. The rest of the
 * struct is the scan thread's, or fixed before it starts.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_int.h"
#include "jsonw.h"
#include "util.h"

#define SKIPS_LOGGED 10 /* what a scan could not read, logged one by one; then only counted */

struct oline {
	struct oline *next;
	char *buf;
	size_t len;
};

struct rtn_scan_out {
	struct rtn_bserver *srv;
	struct rtn_bconn *conn; /* a reference: freed only after the thread was joined */
	struct rtn_scan_out *next;
	char id[72];
	int window;
	pthread_t thread;
	/* the scan thread's */
	struct rtn_jw page; /* the page being filled: its head and the records so far */
	size_t nrecords;
	long long seq; /* of the last page queued */
	long long count, skipped, future;
	/* under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long long acked;
	bool cancelled, done;
	struct oline *qhead, *qtail;
};

/* --- the scan thread ----------------------------------------------------------------- */

/* Queue buf (taken; NULL: nothing) for the loop thread; with last, the thread is done: in
 * the same step, so that the end marker and the scan's end are seen together (a scan
 * the daemon may start after reading the end marker is not refused as running). */
static void queue_line(struct rtn_scan_out *sc, char *buf, size_t len, bool last)
{
	struct oline *l = NULL;
	if (buf) {
		l = rtn_xmalloc(sizeof(*l));
		*l = (struct oline){NULL, buf, len};
	}
	pthread_mutex_lock(&sc->mu);
	if (l && sc->qtail)
		sc->qtail->next = l;
	else if (l)
		sc->qhead = l;
	if (l)
		sc->qtail = l;
	sc->done |= last;
	pthread_mutex_unlock(&sc->mu);
	uv_async_send(&sc->srv->async);
}

static bool cancelled(struct rtn_scan_out *sc)
{
	pthread_mutex_lock(&sc->mu);
	bool c = sc->cancelled;
	pthread_mutex_unlock(&sc->mu);
	return c;
}

/* Close the page being filled and queue it once the window allows. 0 or -ECANCELED. */
static int flush_page(struct rtn_scan_out *sc)
{
	if (!sc->nrecords)
		return 0;
	long long seq = sc->seq + 1;
	pthread_mutex_lock(&sc->mu);
	while (!sc->cancelled && seq - sc->window > sc->acked)
		pthread_cond_wait(&sc->cv, &sc->mu);
	bool c = sc->cancelled;
	pthread_mutex_unlock(&sc->mu);
	if (c)
		return -ECANCELED;
	JW_LIT(&sc->page, "]}\n");
	sc->seq = seq;
	sc->count += (long long)sc->nrecords;
	queue_line(sc, sc->page.p, sc->page.len, false);
	sc->page = (struct rtn_jw){0};
	sc->nrecords = 0;
	return 0;
}

/* The head of the next page: {"type":"scan_page","scan":ID,"seq":N,"records":[ */
static void page_head(struct rtn_scan_out *sc)
{
	JW_LIT(&sc->page, "{\"type\":\"scan_page\",\"scan\":");
	rtn_jw_string(&sc->page, sc->id, strlen(sc->id)); /* checked when the scan began */
	JW_LIT(&sc->page, ",\"seq\":");
	rtn_jw_int(&sc->page, sc->seq + 1);
	JW_LIT(&sc->page, ",\"records\":[");
}

int rtn_scan_emit_text(struct rtn_scan_out *out, const char *text, size_t n)
{
	if (cancelled(out))
		return -ECANCELED;
	size_t tail = sizeof("]}\n");
	if (memchr(text, '\n', n)) {
		rtn_scan_skip(out, "a record", "its JSON text is not on one line");
		return 0;
	}
	if (n + 160 + tail > RTN_BPROTO_LINE_MAX) { /* not even alone on a page */
		char what[80];
		snprintf(what, sizeof(what), "a record of %zu bytes", n);
		rtn_scan_skip(out, what, "larger than a line of the protocol");
		return 0;
	}
	if (out->nrecords && out->page.len + 1 + n + tail > RTN_SCAN_PAGE_BYTES) {
		int r = flush_page(out);
		if (r < 0)
			return r;
	}
	if (!out->nrecords)
		page_head(out);
	else
		JW_LIT(&out->page, ",");
	rtn_jw_put(&out->page, text, n);
	if (++out->nrecords == RTN_SCAN_PAGE_RECORDS)
		return flush_page(out);
	return 0;
}

int rtn_scan_emit(struct rtn_scan_out *out, json_t *record)
{
	char *txt = json_is_object(record) ? json_dumps(record, JSON_COMPACT) : NULL;
	json_decref(record);
	if (!txt) {
		if (cancelled(out))
			return -ECANCELED;
		rtn_scan_skip(out, "a record", "not a JSON object that can be encoded");
		return 0;
	}
	int r = rtn_scan_emit_text(out, txt, strlen(txt));
	free(txt);
	return r;
}

void rtn_scan_skip(struct rtn_scan_out *out, const char *what, const char *why)
{
	long long n = ++out->skipped;
	if (n <= SKIPS_LOGGED)
		rtn_warn("scan %s: skipped %s: %s%s", out->id, what, why,
		         n == SKIPS_LOGGED ? " (what else is skipped is only counted)" : "");
}

void rtn_scan_future(struct rtn_scan_out *out)
{
	out->future++;
}

static void *scan_main(void *arg)
{
	struct rtn_scan_out *sc = arg;
	struct rtn_bserver *s = sc->srv;
	char err[RTN_BACKEND_ERR_MAX] = "", *end = NULL;
	size_t len = 0;
	rtn_info("scan %s: started (window %d)", sc->id, sc->window);
	int rc = s->def->scan(s->ctx, sc, err, sizeof(err));
	if (rc < 0 && !err[0])
		snprintf(err, sizeof(err), "the scan could not list everything");
	if (flush_page(sc) == 0 && !cancelled(sc)) {
		end = rtn_bproto_scan_end(sc->id, rc == 0, sc->count, sc->skipped, sc->future,
		                          rc < 0 ? err : NULL, &len);
		if (rc < 0)
			rtn_warn("scan %s: incomplete after %lld records: %s", sc->id, sc->count,
			         err);
		else
			rtn_info("scan %s: complete, %lld records, %lld skipped, %lld in the "
			         "future",
			         sc->id, sc->count, sc->skipped, sc->future);
	} else {
		rtn_info("scan %s: cancelled after %lld records", sc->id, sc->count);
	}
	free(sc->page.p);
	sc->page = (struct rtn_jw){0};
	queue_line(sc, end, len, true); /* the last use of sc: the loop thread may join now */
	return NULL;
}

/* --- the loop thread ----------------------------------------------------------------- */

static void send_end(struct rtn_bconn *c, const char *id, const char *error)
{
	size_t len;
	char *line = rtn_bproto_scan_end(id, false, 0, 0, 0, error, &len);
	rtn_bconn_send(c, line, len);
}

static void start(struct rtn_bconn *c, const struct rtn_bscan_ctl *m)
{
	struct rtn_bserver *s = c->srv;
	char err[160];
	if (c->proto < 2) {
		rtn_warn("connection %u: ignoring scan %s: this connection speaks protocol %d, "
		         "which has no scans",
		         c->id, m->scan, c->proto);
		return;
	}
	if (!s->def->scan || !s->opts->scan) {
		snprintf(err, sizeof(err), "%s does not scan", s->def->name);
		rtn_warn("connection %u: scan %s: %s", c->id, m->scan, err);
		send_end(c, m->scan, err);
		return;
	}
	if (c->scan) {
		rtn_warn("connection %u: scan %s refused: scan %s is already running", c->id,
		         m->scan, c->scan->id);
		send_end(c, m->scan, "a scan is already running");
		return;
	}
	struct rtn_scan_out *sc = rtn_xcalloc(1, sizeof(*sc));
	sc->srv = s;
	sc->conn = c;
	sc->window = m->window;
	snprintf(sc->id, sizeof(sc->id), "%s", m->scan);
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cv, NULL);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals are the loop thread's */
	int r = pthread_create(&sc->thread, NULL, scan_main, sc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		rtn_err("scan %s: cannot start its thread: %s", m->scan, strerror(r));
		snprintf(err, sizeof(err), "cannot start a thread: %s", strerror(r));
		send_end(c, m->scan, err);
		pthread_mutex_destroy(&sc->mu);
		pthread_cond_destroy(&sc->cv);
		free(sc);
		return;
	}
	c->refs++;
	c->scan = sc;
	sc->next = s->scans;
	s->scans = sc;
	s->nscans++;
}

void rtn_bscan_ctl(struct rtn_bconn *c, const struct rtn_bscan_ctl *m)
{
	struct rtn_scan_out *sc = c->scan;
	if (m->kind == RTN_BSCAN_START) {
		start(c, m);
		return;
	}
	if (!sc || strcmp(sc->id, m->scan) != 0) {
		rtn_debug("connection %u: %s for scan %s, which is not running here; ignored",
		          c->id, m->kind == RTN_BSCAN_ACK ? "an ack" : "a cancel", m->scan);
		return;
	}
	if (m->kind == RTN_BSCAN_CANCEL) {
		rtn_bscan_cancel(c);
		return;
	}
	pthread_mutex_lock(&sc->mu);
	if (m->seq > sc->acked) {
		sc->acked = m->seq;
		pthread_cond_signal(&sc->cv);
	}
	pthread_mutex_unlock(&sc->mu);
}

static void cancel(struct rtn_scan_out *sc)
{
	pthread_mutex_lock(&sc->mu);
	sc->cancelled = true;
	pthread_cond_signal(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
}

void rtn_bscan_cancel(struct rtn_bconn *c)
{
	if (!c->scan)
		return;
	rtn_debug("connection %u: scan %s cancelled", c->id, c->scan->id);
	cancel(c->scan);
	c->scan = NULL; /* another scan may start; this one is on s->scans until joined */
}

void rtn_bscan_stop(struct rtn_bserver *s)
{
	for (struct rtn_scan_out *sc = s->scans; sc; sc = sc->next)
		cancel(sc);
}

void rtn_bscan_drain(struct rtn_bserver *s)
{
	for (struct rtn_scan_out **pp = &s->scans, *sc; (sc = *pp);) {
		pthread_mutex_lock(&sc->mu);
		struct oline *q = sc->qhead;
		sc->qhead = sc->qtail = NULL;
		bool done = sc->done, gone = sc->cancelled;
		pthread_mutex_unlock(&sc->mu);
		for (struct oline *nx; q; q = nx) {
			nx = q->next;
			if (gone)
				free(q->buf);
			else
				rtn_bconn_send(sc->conn, q->buf, q->len);
			free(q);
		}
		if (!done) {
			pp = &sc->next;
			continue;
		}
		pthread_join(sc->thread, NULL);
		*pp = sc->next;
		s->nscans--;
		if (sc->conn->scan == sc)
			sc->conn->scan = NULL;
		rtn_bconn_unref(sc->conn);
		pthread_mutex_destroy(&sc->mu);
		pthread_cond_destroy(&sc->cv);
		free(sc);
	}
}
