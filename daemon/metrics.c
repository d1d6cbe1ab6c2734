/* metrics.c - the daemon's metrics: the figures gathered from the status reads, written
 * as the text exposition format (lib/metrics.c) to metrics-file every 15 s and served by
 * metrics-listen
 *
 * metrics-file: the text is written to a temporary file in the same directory, then
 * renamed over the file, so that a reader (node_exporter's textfile collector) sees the
 * old text or the new one, never part of one. One timer, none without metrics-file.
 *
 * metrics-listen: a small HTTP/1.0 and 1.1 server: GET /metrics (a query string is
 * ignored) is answered with the text, any other path 404, any other method 405, a
 * malformed request 400, a request larger than METRICS_REQ_MAX 431; each connection
 * answered once and closed, and closed METRICS_IDLE_MS after it was accepted whatever it
 * did (a client that sends no whole request, or reads no reply, holds nothing longer).
 * At most METRICS_CONNS at once; more are closed at once.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/metrics.h" /* the renderer: the same name as this module's header */
#include "auditlog.h"
#include "log.h"
#include "ops.h"
#include "util.h"

#define METRICS_FILE_MS 15000
#define METRICS_REQ_MAX 4096
#define METRICS_IDLE_MS 5000
#define METRICS_CONNS   16

static struct daemon *D;
static json_t *(*backends_of)(void);
static rtn_time_t last_verify = RTN_TIME_NONE;
static uv_timer_t file_timer;
static bool file_started;
static int file_errno; /* the last error writing the file, logged once until it changes */
static uv_tcp_t server;
static bool server_started;
static unsigned nconns;

/* --- the figures ------------------------------------------------------------------- */

static const char *const record_states[] = {"active", "anonymized", "queued",  "review",   "paused",
                                            "held",   "failed",     "deleted", "unmanaged"};
static const char *const job_states[] = {"sent", "retry", "done", "dead", "cancelled"};

struct counts {
	struct rtn_metrics_count *v;
	size_t n, cap;
};

static void add(struct counts *c, const char *a, const char *b, int64_t n)
{
	RTN_GROW(c->v, c->n + 1, c->cap);
	c->v[c->n++] = (struct rtn_metrics_count){a, b, n};
}

void metrics_verified(rtn_time_t t)
{
	last_verify = t;
}

char *metrics_text(size_t *len)
{
	rtn_time_t now = daemon_now();
	struct rtn_ops_status st;
	struct rtn_ops_metrics om;
	rtn_ops_status(&D->engine, now, &st);
	rtn_ops_metrics(&D->engine, now, &om);
	json_t *bk = backends_of ? backends_of() : json_array();
	json_t *audit = audit_status();
	char *text = NULL;
	struct counts rec = {0}, jobs = {0}, up = {0}, done = {0};
	if (!st.records || !st.erasures || !om.jobs || !om.done || !om.ok) {
		rtn_warn("metrics: the inventory cannot be read: %s",
		         rtn_engine_errmsg(&D->engine));
		goto out;
	}
	struct rtn_metrics m = {.version = RTN_VERSION,
	                        .now = now,
	                        .started = (rtn_time_t)D->started,
	                        .oldest_overdue = om.oldest_overdue,
	                        .oldest_review = om.oldest_review,
	                        .oldest_erasure = RTN_TIME_NONE,
	                        .next_erasure_deadline = RTN_TIME_NONE,
	                        .last_verify = last_verify};
	/* Records: every state named, 0 when none, so that a series does not vanish. */
	const char *k;
	json_t *v;
	for (size_t i = 0; i < sizeof(record_states) / sizeof(record_states[0]); i++) {
		v = json_object_get(st.records, record_states[i]);
		add(&rec, record_states[i], NULL, v ? json_integer_value(v) : 0);
	}
	json_object_foreach(st.records, k, v)
	{
		size_t i;
		for (i = 0; i < sizeof(record_states) / sizeof(record_states[0]); i++)
			if (!strcmp(k, record_states[i]))
				break;
		if (i == sizeof(record_states) / sizeof(record_states[0]) && strcmp(k, "total"))
			add(&rec, k, NULL, json_integer_value(v));
	}
	m.reviews = json_integer_value(json_object_get(st.records, "review"));
	/* Jobs: every configured backend with every state, then any other backend's. */
	for (size_t b = 0; b < D->cfg.nbackends; b++) {
		const char *name = D->cfg.backends[b].name;
		json_t *of = json_object_get(om.jobs, name);
		for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++)
			add(&jobs, name, job_states[i],
			    json_integer_value(json_object_get(of, job_states[i])));
	}
	json_object_foreach(om.jobs, k, v)
	{
		if (rtn_config_backend(&D->cfg, k))
			continue;
		const char *s;
		json_t *n;
		json_object_foreach(v, s, n) add(&jobs, k, s, json_integer_value(n));
	}
	size_t i;
	json_array_foreach(bk, i, v)
	{
		add(&up, json_string_value(json_object_get(v, "name")), NULL,
		    json_is_true(json_object_get(v, "connected")));
	}
	json_array_foreach(om.done, i, v)
	{
		add(&done, json_string_value(json_object_get(v, "rule")),
		    json_string_value(json_object_get(v, "outcome")),
		    json_integer_value(json_object_get(v, "jobs")));
	}
	json_array_foreach(st.erasures, i, v)
	{
		rtn_time_t req = RTN_TIME_NONE, dl = RTN_TIME_NONE;
		rtn_time_parse(json_string_value(json_object_get(v, "requested")), &req);
		rtn_time_parse(json_string_value(json_object_get(v, "deadline")), &dl);
		if (req != RTN_TIME_NONE &&
		    (m.oldest_erasure == RTN_TIME_NONE || req < m.oldest_erasure))
			m.oldest_erasure = req;
		if (dl != RTN_TIME_NONE &&
		    (m.next_erasure_deadline == RTN_TIME_NONE || dl < m.next_erasure_deadline))
			m.next_erasure_deadline = dl;
		m.erasures_at_risk += json_is_true(json_object_get(v, "at_risk"));
	}
	m.erasures = (int64_t)json_array_size(st.erasures);
	m.audit_entries = json_integer_value(json_object_get(audit, "entries"));
	m.audit_ok = json_is_true(json_object_get(audit, "ok"));
	m.records = rec.v, m.nrecords = rec.n;
	m.jobs = jobs.v, m.njobs = jobs.n;
	m.backends = up.v, m.nbackends = up.n;
	m.done = done.v, m.ndone = done.n;
	text = rtn_metrics_render(&m, len);
out:
	free(rec.v);
	free(jobs.v);
	free(up.v);
	free(done.v);
	json_decref(st.records);
	json_decref(st.unmanaged);
	json_decref(st.next_deadline);
	json_decref(st.jobs);
	json_decref(st.jobs_by_backend);
	json_decref(st.paused_by_rule);
	json_decref(st.erasures);
	json_decref(om.jobs);
	json_decref(om.done);
	json_decref(bk);
	json_decref(audit);
	return text;
}

/* --- metrics-file ------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The text to a temporary file beside the file, then renamed over it. 0 or -errno. */
static int write_file(const char *path)
{
	size_t len;
	char *text = metrics_text(&len);
	if (!text)
		return -EIO;
	char *tmp = rtn_xasprintf("%s.XXXXXX", path);
	int r = 0, fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
	} else {
		/* Readable by the collector, as any metrics file: it holds counts only. */
		if (fchmod(fd, 0644) < 0 || (r = write_all(fd, text, len)) < 0)
			r = r ? r : -errno;
		if (close(fd) < 0 && !r)
			r = -errno;
		if (!r && rename(tmp, path) < 0)
			r = -errno;
		if (r)
			unlink(tmp);
	}
	free(tmp);
	free(text);
	return r;
}

static void on_file_timer(uv_timer_t *t)
{
	(void)t;
	int r = write_file(D->cfg.metrics_file);
	if (r < 0 && -r != file_errno)
		rtn_warn("metrics: cannot write %s: %s; trying again every %d s",
		         D->cfg.metrics_file, strerror(-r), METRICS_FILE_MS / 1000);
	else if (r == 0 && file_errno)
		rtn_notice("metrics: %s written again", D->cfg.metrics_file);
	file_errno = r < 0 ? -r : 0;
}

/* --- metrics-listen ---------------------------------------------------------------- */

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sd;
	char req[METRICS_REQ_MAX];
	size_t n;
	char head[256];
	char *body;
	bool answered;
	int closing; /* handles still to close */
	struct conn *prev, *next;
};

static struct conn *conns; /* every open connection, for metrics_fini */

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->closing == 0) {
		if (c->prev)
			c->prev->next = c->next;
		else
			conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		free(c->body);
		free(c);
		nconns--;
	}
}

static void conn_close(struct conn *c)
{
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	if (status < 0 || uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
}

static void reply(struct conn *c, int code, const char *reason, const char *type, char *body,
                  size_t len, const char *extra)
{
	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->body = body;
	int hl = snprintf(c->head, sizeof(c->head),
	                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	                  "Connection: close\r\n\r\n",
	                  code, reason, type, len, extra ? extra : "");
	uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)hl), uv_buf_init(body, (unsigned)len)};
	c->wr.data = c;
	c->sd.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, len ? 2 : 1, on_written) < 0)
		conn_close(c);
}

static void reply_text(struct conn *c, int code, const char *reason, const char *extra)
{
	char *body = rtn_xasprintf("%s\n", reason);
	reply(c, code, reason, "text/plain; charset=utf-8", body, strlen(body), extra);
}

/* The text served over HTTP, made at most once a second (a client polling in a loop costs
 * the daemon its reads once a second, not once a request); a copy for the reply to own. */
static char *served;
static size_t served_len;
static uint64_t served_at;

static char *served_text(size_t *len)
{
	uint64_t now = uv_now(D->loop);
	if (!served || now - served_at >= 1000) {
		size_t n;
		char *t = metrics_text(&n);
		if (!t)
			return NULL;
		free(served);
		served = t;
		served_len = n;
		served_at = now;
	}
	*len = served_len;
	char *copy = rtn_xmalloc(served_len + 1);
	memcpy(copy, served, served_len + 1);
	return copy;
}

/* The request line of a whole request head: METHOD SP TARGET SP HTTP/1.x. */
static void answer(struct conn *c)
{
	char *eol = memchr(c->req, '\n', c->n);
	if (!eol) {
		reply_text(c, 400, "Bad Request", NULL);
		return;
	}
	*eol = 0;
	if (eol > c->req && eol[-1] == '\r')
		eol[-1] = 0;
	char *sp1 = strchr(c->req, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == c->req || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ') ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		reply_text(c, 400, "Bad Request", NULL);
		return;
	}
	*sp1 = *sp2 = 0;
	const char *target = sp1 + 1;
	size_t tl = strcspn(target, "?");
	if (tl != strlen("/metrics") || strncmp(target, "/metrics", tl) != 0) {
		reply_text(c, 404, "Not Found", NULL);
		return;
	}
	if (strcmp(c->req, "GET") != 0) {
		reply_text(c, 405, "Method Not Allowed", "Allow: GET\r\n");
		return;
	}
	size_t len;
	char *text = served_text(&len);
	if (!text) {
		reply_text(c, 500, "Internal Server Error", NULL);
		return;
	}
	reply(c, 200, "OK", RTN_METRICS_CONTENT_TYPE, text, len, NULL);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	struct conn *c = h->data;
	*buf = uv_buf_init(c->req + c->n, (unsigned)(sizeof(c->req) - c->n));
}

/* The end of the request head: an empty line. */
static bool head_done(const struct conn *c)
{
	for (size_t i = 1; i < c->n; i++)
		if (c->req[i] == '\n' &&
		    (c->req[i - 1] == '\n' ||
		     (i >= 2 && c->req[i - 1] == '\r' && c->req[i - 2] == '\n')))
			return true;
	return false;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct conn *c = s->data;
	if (c->answered)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->n += (size_t)nread;
	if (head_done(c))
		answer(c);
	else if (c->n == sizeof(c->req))
		reply_text(c, 431, "Request Header Fields Too Large", NULL);
}

static void on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_connection(uv_stream_t *srv, int status)
{
	if (status < 0) {
		rtn_warn("metrics: accept: %s", uv_strerror(status));
		return;
	}
	struct conn *c = rtn_xcalloc(1, sizeof(*c));
	uv_tcp_init(D->loop, &c->tcp);
	uv_timer_init(D->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->closing = 2;
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0 || nconns > METRICS_CONNS) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_idle, METRICS_IDLE_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static int listen_init(void)
{
	const char *host = D->cfg.metrics_listen_host;
	unsigned port = D->cfg.metrics_listen_port;
	struct sockaddr_storage sa;
	int r = strchr(host, ':') ? uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&sa)
	                          : uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&sa);
	if (r == 0 && (r = uv_tcp_init(D->loop, &server)) == 0) {
		server_started = true;
		if ((r = uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0)) == 0)
			r = uv_listen((uv_stream_t *)&server, 16, on_connection);
	}
	if (r < 0) {
		rtn_err("metrics: cannot listen on %s%s%s:%u: %s", strchr(host, ':') ? "[" : "",
		        host, strchr(host, ':') ? "]" : "", port, uv_strerror(r));
		return -1;
	}
	rtn_info("metrics: serving GET /metrics on %s%s%s:%u", strchr(host, ':') ? "[" : "", host,
	         strchr(host, ':') ? "]" : "", port);
	return 0;
}

int metrics_init(struct daemon *d, json_t *(*backends)(void))
{
	D = d;
	backends_of = backends;
	if (d->cfg.metrics_file) {
		if (uv_timer_init(d->loop, &file_timer) < 0)
			return -1;
		file_started = true;
		uv_timer_start(&file_timer, on_file_timer, 0, METRICS_FILE_MS);
	}
	if (d->cfg.metrics_listen_port && listen_init() < 0)
		return -1;
	return 0;
}

void metrics_fini(void)
{
	free(served);
	served = NULL;
	if (file_started) {
		uv_timer_stop(&file_timer);
		uv_close((uv_handle_t *)&file_timer, NULL);
		file_started = false;
	}
	if (server_started) {
		uv_close((uv_handle_t *)&server, NULL);
		server_started = false;
		for (struct conn *c = conns; c; c = c->next)
			conn_close(c);
	}
}
