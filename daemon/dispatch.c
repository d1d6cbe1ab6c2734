/* dispatch.c - connections to backends: jobs out, results in
 *
 * One connection per configured backend, reconnected with backoff whenever it drops.
 * After the hello handshake (a protocol mismatch is logged, shown in status and never
 * guessed around) the dispatcher keeps up to max-inflight jobs outstanding: it asks the
 * engine for due work (committed as jobs before anything is written), writes the lines,
 * and feeds results back in one transaction per read. A job without a result in time is
 * failed for retry; a lost connection returns its jobs to the retry queue under the same
 * ids. One backend being down never blocks another or the control socket: all I/O is
 * asynchronous.
 */
#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bproto.h"
#include "erasures.h"
#include "residue.h"
#include "commands.h"
#include "scheduler.h"
#include "job.h"
#include "jobs.h"
#include "log.h"
#include "proto.h"
#include "reconcile.h"
#include "record.h"
#include "util.h"

#define RECONNECT_MIN_MS 200
#define RECONNECT_MAX_MS 30000
#define RETRY_POLL_MS    60000
#define FLUSH_MS         5 /* longest a result waits for others to share its commit */

enum bstate { B_DOWN, B_CONNECTING, B_HELLO, B_READY, B_MISMATCH };

/* The classes of rtn_job_error_class(), in the order status lists them. */
static const char *const error_classes[] = {"permission denied", "timeout", "other"};
#define NCLASSES (sizeof(error_classes) / sizeof(error_classes[0]))

/* A backend's failed attempts of one class since the daemon started, and the last one. */
struct errclass {
	uint64_t count;
	char last[256]; /* as kept: locator and subject scrubbed */
	char job[RTN_JOB_ID_LEN];
	rtn_time_t at;
};

struct inflight {
	struct rtn_outjob job; /* what was sent, without its line */
	uint64_t sent_ms;
	bool answered;                /* a result for it waits in the batch (counted once) */
	struct inflight *prev, *next; /* in send order, oldest first */
	struct inflight *hnext;       /* hash chain */
};

struct backend {
	const struct rtn_backend_conf *conf;
	uv_pipe_t pipe;
	bool pipe_open;
	uv_connect_t creq;
	uv_timer_t timer; /* reconnect, or the oldest job's timeout */
	enum bstate state;
	struct rtn_linebuf lb;
	unsigned actions, reconnect_ms;
	int protocol;
	char peer[64];
	char error[256];
	struct inflight *oldest, *newest, **hash;
	size_t nhash;
	unsigned inflight;
	char (*lost)[RTN_JOB_ID_LEN]; /* jobs of a lost connection not yet marked for re-sending */
	size_t nlost;
	uint64_t done, failed;
	struct errclass errors[NCLASSES]; /* the failed ones by class */
	struct rtn_job_result *res; /* decoded results waiting for the next flush (own strings) */
	size_t nres, capres;
	bool can_scan;                  /* its hello said "scan": true (protocol 2) */
	struct rtn_scan *scan;          /* the scan under way; NULL when none */
	int64_t pages;                  /* of the scan under way */
	uint64_t scan_ms;               /* when it started (monotonic) */
	uv_timer_t scan_timer;          /* "scan every" */
	struct sitem *fifo, *fifo_tail; /* the scan's messages, in the order they came */
	uint64_t gen;                   /* one more at every drop: older work is stale */
};

/* A scan message on its way: a page's decoding and checking go to the thread pool (it
 * needs only the line), and the messages are taken in the order they came. */
struct sitem {
	uv_work_t work;
	size_t bi; /* the backend's index */
	uint64_t gen;
	char *line; /* decoded on the pool (NULL: decoded already) */
	size_t len;
	char backend[64];
	int rc; /* of the decoding */
	char err[256];
	struct rtn_bmsg m;
	struct rtn_scan_prep *prep;
	bool ready, on_pool;
	struct sitem *next;
};

struct wreq {
	uv_write_t req;
	char *buf;
};

static struct daemon *D;
static struct backend *backends;
static size_t nbackends;
static uv_timer_t retry_timer, flush_timer, error_timer;
static unsigned error_ms; /* after a failed transaction: when to try again (0: all well) */
static bool flush_armed;
static bool stopping;
static void (*drained)(void);
static uv_timer_t drain_timer;
static uint64_t rng;

/* A failed attempt of job on b (error: the text kept, or NULL), counted by its class. */
static void count_failure(struct backend *b, const char *error, const char *job, rtn_time_t at)
{
	const char *cls = rtn_job_error_class(error);
	size_t i = 0;
	while (i < NCLASSES - 1 && strcmp(error_classes[i], cls) != 0)
		i++;
	struct errclass *e = &b->errors[i];
	e->count++;
	snprintf(e->last, sizeof(e->last), "%s", error ? error : "no reason given");
	snprintf(e->job, sizeof(e->job), "%s", job);
	e->at = at;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rnd(void)
{
	rng ^= rng << 13; /* xorshift64: jitter only, not secrets */
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t hash_of(const char *job)
{
	size_t h = 5381;
	for (const char *p = job; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h;
}

static struct inflight **find_slot(struct backend *b, const char *job)
{
	struct inflight **p = &b->hash[hash_of(job) % b->nhash];
	while (*p && strcmp((*p)->job.job, job) != 0)
		p = &(*p)->hnext;
	return p;
}

/* j was sent: the in-flight set takes its strings (not its line). */
static void inflight_add(struct backend *b, struct rtn_outjob *j)
{
	struct inflight **slot = find_slot(b, j->job);
	if (*slot)
		return; /* the same job again: it is the same job */
	struct inflight *f = rtn_xcalloc(1, sizeof(*f));
	rtn_outjob_move(&f->job, j);
	f->sent_ms = now_ms();
	f->prev = b->newest;
	if (b->newest)
		b->newest->next = f;
	else
		b->oldest = f;
	b->newest = f;
	*slot = f;
	b->inflight++;
}

static bool inflight_remove(struct backend *b, const char *job)
{
	struct inflight **slot = find_slot(b, job), *f = *slot;
	if (!f)
		return false;
	*slot = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		b->oldest = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		b->newest = f->prev;
	rtn_outjobs_free(&f->job, 1);
	b->inflight--;
	return true;
}

static void inflight_clear(struct backend *b)
{
	while (b->oldest)
		inflight_remove(b, b->oldest->job.job);
}

static void check_drained(void)
{
	if (stopping && drained && dispatch_inflight() == 0) {
		void (*cb)(void) = drained;
		drained = NULL;
		uv_timer_stop(&drain_timer);
		cb();
	}
}

static void connect_backend(struct backend *b);
static void scan_stop(struct backend *b, const char *why, bool cancel);
static void fifo_clear(struct backend *b);
static void scan_arm(struct backend *b);
static void on_timer(uv_timer_t *t);
static void arm_retry(void);
static void flush(struct backend *b);
static void pump(struct backend *b);
static void dispatch_failed(void);

#define ERROR_MIN_MS 250
#define ERROR_MAX_MS 30000

/* After a failed transaction (a full disk, the audit log unable to take entries): try
 * again by ourselves, with backoff, until it works; never a busy loop, and never a wait
 * for some client to come by. */
static void on_error_timer(uv_timer_t *t)
{
	(void)t;
	if (stopping)
		return;
	for (size_t i = 0; i < nbackends; i++) {
		struct backend *b = &backends[i];
		/* Only the jobs of the lost connection: those of a new one are out for real. */
		if (b->nlost &&
		    rtn_jobs_resend(&D->engine, NULL, (const char(*)[RTN_JOB_ID_LEN])b->lost,
		                    b->nlost, daemon_now()) == 0)
			b->nlost = 0;
		if (b->nlost)
			dispatch_failed();
	}
	dispatch_kick();
	for (size_t i = 0; i < nbackends; i++) {
		if (backends[i].nres)
			flush(&backends[i]);
		if (backends[i].state == B_READY)
			on_timer(&backends[i].timer); /* timeouts that could not be recorded */
	}
}

static void dispatch_failed(void)
{
	error_ms =
	    error_ms ? (error_ms * 2 > ERROR_MAX_MS ? ERROR_MAX_MS : error_ms * 2) : ERROR_MIN_MS;
	if (!stopping)
		uv_timer_start(&error_timer, on_error_timer, error_ms, 0);
}

static void dispatch_worked(void)
{
	if (error_ms) {
		rtn_notice("dispatch: the inventory and the audit log take changes again");
		error_ms = 0;
	}
}

static void on_retry_timer(uv_timer_t *t)
{
	(void)t;
	dispatch_kick();
}

static void arm_timeout(struct backend *b)
{
	if (b->state != B_READY)
		return;
	if (!b->oldest) {
		uv_timer_stop(&b->timer);
		return;
	}
	uint64_t due = b->oldest->sent_ms + (uint64_t)b->conf->timeout_ms, now = now_ms();
	uint64_t ms = due > now ? due - now : 0;
	if (ms < error_ms)
		ms = error_ms; /* timeouts that could not be recorded wait for the retry */
	uv_timer_start(&b->timer, on_timer, ms, 0);
}

static size_t closing; /* handles in the backends array whose close callback is due */

/* The backends array lives until the close callback of the last handle in it. */
static void handle_closed(void)
{
	if (closing && --closing == 0) {
		free(backends);
		backends = NULL;
		nbackends = 0;
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	(void)h;
	handle_closed();
}

static void on_pipe_closed(uv_handle_t *h)
{
	struct backend *b = h->data;
	b->pipe_open = false;
	if (closing) {
		handle_closed();
		return;
	}
	if (stopping)
		return;
	uv_timer_start(&b->timer, on_timer, b->reconnect_ms, 0);
	b->reconnect_ms =
	    b->reconnect_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : b->reconnect_ms * 2;
}

/* The connection is gone: its jobs go back to the retry queue under the same ids. */
static void drop(struct backend *b, const char *why)
{
	if (b->nres) {
		enum bstate st = b->state;
		b->state = B_DOWN; /* record what arrived; send nothing more */
		flush(b);
		b->state = st;
	}
	if (b->state == B_READY || b->state == B_HELLO)
		rtn_warn("backend %s: connection lost: %s", b->conf->name, why);
	b->can_scan = false; /* until its next hello says so */
	fifo_clear(b);
	scan_stop(b, "the connection to the backend was lost", false);
	if (why != b->error)
		snprintf(b->error, sizeof(b->error), "%s", why);
	if (b->inflight) {
		int n = rtn_jobs_resend(&D->engine, b->conf->name, NULL, 0, daemon_now());
		if (n < 0) {
			rtn_err("backend %s: cannot mark %u job%s without a result for re-sending: "
			        "%s; tried again",
			        b->conf->name, b->inflight, b->inflight == 1 ? "" : "s",
			        rtn_engine_errmsg(&D->engine));
			b->lost =
			    rtn_xreallocarray(b->lost, b->nlost + b->inflight, sizeof(*b->lost));
			for (struct inflight *f = b->oldest; f; f = f->next)
				snprintf(b->lost[b->nlost++], RTN_JOB_ID_LEN, "%s", f->job.job);
			dispatch_failed();
		} else {
			rtn_notice("backend %s: %d job%s without a result will be sent again",
			           b->conf->name, n, n == 1 ? "" : "s");
		}
		inflight_clear(b);
		arm_retry();
	}
	if (b->state != B_MISMATCH)
		b->state = B_DOWN;
	uv_timer_stop(&b->timer);
	rtn_linebuf_fini(&b->lb);
	if (b->pipe_open && !uv_is_closing((uv_handle_t *)&b->pipe))
		uv_close((uv_handle_t *)&b->pipe, on_pipe_closed);
	check_drained();
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	free(w->buf);
	free(w);
	(void)status; /* a failed write shows as a lost connection on the read side */
}

static int send_line(struct backend *b, char *line, size_t len)
{
	struct wreq *w = rtn_xcalloc(1, sizeof(*w));
	w->buf = line;
	uv_buf_t buf = uv_buf_init(line, (unsigned)len);
	int r = uv_write(&w->req, (uv_stream_t *)&b->pipe, &buf, 1, on_written);
	if (r < 0) {
		free(line);
		free(w);
	}
	return r;
}

static void free_results(struct backend *b)
{
	for (size_t i = 0; i < b->nres; i++) {
		free((char *)b->res[i].job);
		free((char *)b->res[i].error);
	}
	b->nres = 0;
}

/* One transaction: record the results waiting, then take as many due jobs as there is
 * room for. Only after the commit do answered jobs leave the in-flight set, counters move
 * and new jobs get written: a job is committed before it is sent, a result before
 * anything relies on it. The audit entries of both (written by the jobs code through the
 * engine's journal) are on disk before the commit, and taken back if it fails. Results
 * arriving close together share one commit (one fsync), which is what makes dispatch
 * fast; a crash before the commit only means the same job ids are sent again. A failed
 * transaction keeps the results and tries again by itself (dispatch_failed). */
static void flush(struct backend *b)
{
	/* Room: what max-inflight leaves beside the jobs still out once the results waiting
	 * are recorded; a result counts only for a job that is out, and only once. */
	size_t answered = 0;
	for (size_t i = 0; i < b->nres; i++) {
		struct inflight *f = *find_slot(b, b->res[i].job);
		if (f && !f->answered) {
			f->answered = true;
			answered++;
		}
	}
	for (size_t i = 0; i < b->nres; i++) {
		struct inflight *f = *find_slot(b, b->res[i].job);
		if (f)
			f->answered = false;
	}
	size_t out_after = b->inflight - answered;
	size_t room = b->conf->max_inflight > out_after ? b->conf->max_inflight - out_after : 0;
	/* Nothing new goes out while some records may still carry the old rules' schedule. */
	bool may_send = !stopping && b->state == B_READY && !D->rules_stale;
	if (!b->nres && (!may_send || room == 0))
		return;
	rtn_time_t now = daemon_now();
	uint64_t t0 = now_ms();
	size_t nres = b->nres;
	for (size_t i = 0; i < nres; i++) {
		struct inflight *f = *find_slot(b, b->res[i].job);
		b->res[i].rnd = rnd();
		b->res[i].sent = f ? &f->job : NULL;
	}
	struct rtn_job_outcome *oc = rtn_xcalloc(nres ? nres : 1, sizeof(*oc));
	struct rtn_outjob *out = NULL;
	size_t n = 0;
	json_t *completed = NULL;
	int r = rtn_jobs_batch(&D->engine, b->conf, b->actions, b->res, nres, may_send ? room : 0,
	                       now, oc, &out, &n, &completed);
	if (r < 0) {
		rtn_err("backend %s: %zu result%s not recorded, no job sent: %s; tried again",
		        b->conf->name, b->nres, b->nres == 1 ? "" : "s",
		        rtn_engine_errmsg(&D->engine));
		free(oc);
		dispatch_failed();
		return;
	}
	erasures_log(completed);
	dispatch_worked();
	size_t deleted = 0;
	for (size_t i = 0; i < b->nres; i++) {
		const struct rtn_job_result *x = &b->res[i];
		const struct rtn_job_outcome *o = &oc[i];
		if (o->ignored) {
			rtn_notice("backend %s: result for %s ignored (unknown, or already final)",
			           b->conf->name, x->job);
		} else if (o->finished) {
			b->done++;
			deleted += !strcmp(o->action, "delete");
			rtn_info("%s %s: %s by rule %s (job %s)", o->action, o->record,
			         rtn_bstatus_name(x->status), o->rule, x->job);
		} else {
			b->failed++;
			count_failure(b, x->error ? o->error : NULL, x->job, now);
			if (o->dead)
				rtn_warn("%s %s failed for good (job %s): %s", o->action, o->record,
				         x->job, x->error ? o->error : "no reason given");
			else
				rtn_notice("%s %s failed (job %s): %s; retry in %llds", o->action,
				           o->record, x->job,
				           x->error ? o->error : "no reason given",
				           (long long)(o->next_attempt - now));
		}
		inflight_remove(b, x->job);
	}
	residue_deleted(deleted);
	free(oc);
	free_results(b);
	/* All lines of the batch in one write. */
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += out[i].len;
	char *buf = n ? rtn_xmalloc(total) : NULL, *p = buf;
	for (size_t i = 0; i < n; i++) {
		rtn_debug("backend %s: sent %s (%s %s, attempt %d)", b->conf->name, out[i].job,
		          out[i].action, out[i].record, out[i].attempt);
		memcpy(p, out[i].line, out[i].len);
		p += out[i].len;
		inflight_add(b, &out[i]);
	}
	rtn_outjobs_free(out, n);
	rtn_debug("backend %s: flush: %zu results, %zu jobs sent, %llu ms", b->conf->name, nres, n,
	          (unsigned long long)(now_ms() - t0));
	if (buf && send_line(b, buf, total) < 0) {
		drop(b, "write failed");
		return;
	}
	arm_timeout(b);
}

/* Send as many due jobs as the backend has room for (a full batch when it can). */
static void pump(struct backend *b)
{
	while (!stopping && b->state == B_READY) {
		unsigned before = b->inflight;
		flush(b);
		if (b->inflight == before || b->inflight >= b->conf->max_inflight)
			return;
	}
}

static void on_flush_timer(uv_timer_t *t)
{
	(void)t;
	flush_armed = false;
	for (size_t i = 0; i < nbackends; i++)
		if (backends[i].nres)
			flush(&backends[i]);
	arm_retry();
	check_drained();
}

/* --- scans ------------------------------------------------------------------------ */

/* The scan under way ends without its end marker: "scan.failed" (why), the backend told
 * to stop when cancel. */
static void scan_stop(struct backend *b, const char *why, bool cancel)
{
	if (!b->scan)
		return;
	if (cancel && b->state == B_READY) {
		size_t len;
		char *line = rtn_bproto_scan_cancel(rtn_scan_id(b->scan), &len);
		if (line)
			send_line(b, line, len);
	}
	rtn_warn("backend %s: scan %s failed: %s", b->conf->name, rtn_scan_id(b->scan), why);
	rtn_scan_abort(b->scan, why, daemon_now());
	rtn_scan_free(b->scan);
	b->scan = NULL;
	scan_arm(b);
}

/* A page or the end marker of the scan under way. */
static void scan_message(struct backend *b, struct rtn_bmsg *m, struct rtn_scan_prep *prep)
{
	if (!b->scan || strcmp(m->scan, rtn_scan_id(b->scan)) != 0) {
		rtn_warn("backend %s: ignoring a message of a scan not under way (%.40s)",
		         b->conf->name, m->scan);
		return;
	}
	if (m->kind == RTN_BMSG_SCAN_PAGE) {
		if (m->seq != b->pages + 1) {
			scan_stop(b, "the backend sent a page out of order", true);
			return;
		}
		D->engine.put_hook = commands_put_hook;
		D->engine.hook_ctx = (void *)rtn_scan_actor(b->scan);
		int r = prep ? rtn_scan_page_prepared(b->scan, prep, daemon_now())
		             : rtn_scan_page(b->scan, m->records, daemon_now());
		D->engine.put_hook = NULL;
		if (r < 0) {
			char why[200];
			snprintf(why, sizeof(why), "page %lld could not be stored: %s", m->seq,
			         rtn_engine_errmsg(&D->engine));
			scan_stop(b, why, true);
			return;
		}
		b->pages = m->seq;
		size_t len;
		char *line = rtn_bproto_scan_ack(rtn_scan_id(b->scan), m->seq, &len);
		if (!line || send_line(b, line, len) < 0)
			drop(b, "write failed");
		scheduler_kick();
		return;
	}
	struct rtn_scan *s = b->scan;
	b->scan = NULL;
	int r =
	    rtn_scan_end(s, m->complete, m->count, m->skipped, m->future, m->error, daemon_now());
	const struct rtn_scan_stats *st = rtn_scan_stats(s);
	if (r < 0)
		rtn_err("backend %s: scan %s: its outcome could not be stored: %s", b->conf->name,
		        rtn_scan_id(s), rtn_engine_errmsg(&D->engine));
	else
		rtn_notice("backend %s: scan %s %s in %llu ms: %lld received, %lld added, "
		           "%lld changed, %lld unchanged, %lld left, %lld reappeared, %lld "
		           "skipped, %lld paused",
		           b->conf->name, rtn_scan_id(s),
		           m->complete && m->count == st->received ? "completed" : "failed",
		           (unsigned long long)(now_ms() - b->scan_ms), (long long)st->received,
		           (long long)st->added, (long long)st->changed, (long long)st->unchanged,
		           (long long)st->left, (long long)st->reappeared, (long long)st->skipped,
		           (long long)st->paused);
	if (st->left_withheld)
		rtn_warn("backend %s: scan %s did not see %lld records, more than the guard "
		         "allows at once; none is marked as having left (is a root not mounted?)",
		         b->conf->name, rtn_scan_id(s), (long long)st->left_withheld);
	if (st->reappeared)
		rtn_warn("backend %s: scan %s found %lld deleted record%s again; they are acted "
		         "on again",
		         b->conf->name, rtn_scan_id(s), (long long)st->reappeared,
		         st->reappeared == 1 ? "" : "s");
	rtn_scan_free(s);
	scan_arm(b);
	scheduler_kick();
	dispatch_kick();
}

int dispatch_scan(const char *name, const char *by, char id[RTN_SCAN_ID_MAX], char *err,
                  size_t errlen)
{
	struct backend *b = NULL;
	for (size_t i = 0; i < nbackends && !b; i++)
		if (!strcmp(backends[i].conf->name, name))
			b = &backends[i];
	if (!b) {
		snprintf(err, errlen, "no backend \"%.64s\" is configured", name);
		return -ENOENT;
	}
	if (b->state != B_READY || stopping) {
		snprintf(err, errlen, "backend %s is not connected", name);
		return -ENOTCONN;
	}
	if (!b->can_scan) {
		snprintf(err, errlen, "backend %s (%s, protocol %d) cannot scan", name, b->peer,
		         b->protocol);
		return -ENOTSUP;
	}
	if (b->scan) {
		snprintf(err, errlen, "backend %s is already scanning (%s)", name,
		         rtn_scan_id(b->scan));
		return -EBUSY;
	}
	struct rtn_scan *s;
	if (rtn_scan_begin(&D->engine, name, by, (long)D->cfg.guard, daemon_now(), &s) < 0) {
		snprintf(err, errlen, "the scan could not be started: %s",
		         rtn_engine_errmsg(&D->engine));
		return -EIO;
	}
	size_t len;
	char *line = rtn_bproto_scan(rtn_scan_id(s), RTN_SCAN_WINDOW, &len);
	b->scan = s;
	b->pages = 0;
	b->scan_ms = now_ms();
	snprintf(id, RTN_SCAN_ID_MAX, "%s", rtn_scan_id(s));
	rtn_info("backend %s: scan %s started by %s", name, id, by);
	if (!line || send_line(b, line, len) < 0) {
		drop(b, "write failed");
		return 0; /* started, and failed visibly */
	}
	return 0;
}

/* The timer of "scan every" is armed only while no scan is under way (a scan's end arms
 * it again), so when it fires a scan is due. */
static void on_scan_timer(uv_timer_t *t)
{
	struct backend *b = t->data;
	char id[RTN_SCAN_ID_MAX], err[200];
	if (b->state == B_READY && b->can_scan && !b->scan &&
	    dispatch_scan(b->conf->name, "scheduler", id, err, sizeof(err)) < 0) {
		rtn_warn("backend %s: the scan every %llds did not start: %s", b->conf->name,
		         (long long)(b->conf->scan_every_ms / 1000), err);
		scan_arm(b);
	}
}

/* "scan every": the next one a span after the last one started (at once when it never
 * scanned or the span has passed), while the backend is connected, can scan and is not
 * scanning. */
static void scan_arm(struct backend *b)
{
	uv_timer_stop(&b->scan_timer);
	if (!b->conf->scan_every_ms || !b->can_scan || b->scan || stopping)
		return;
	int64_t every = b->conf->scan_every_ms / 1000, wait = 0;
	json_t *last = rtn_scan_last(&D->engine, b->conf->name);
	json_t *started = json_object_get(last, "started");
	if (json_is_integer(started)) {
		int64_t due = (int64_t)json_integer_value(started) + every;
		wait = due - (int64_t)daemon_now();
	}
	json_decref(last);
	if (wait < 0)
		wait = 0;
	if (wait > every)
		wait = every; /* a clock set back does not postpone it beyond one span */
	uv_timer_start(&b->scan_timer, on_scan_timer, (uint64_t)wait * 1000 + 100, 0);
}

static json_t *scan_status(const struct backend *b)
{
	json_t *o = json_pack("{s:b, s:I}", "can", b->can_scan, "every",
	                      (json_int_t)(b->conf->scan_every_ms / 1000));
	if (b->scan) {
		const struct rtn_scan_stats *st = rtn_scan_stats(b->scan);
		json_object_set_new(o, "running",
		                    json_pack("{s:s, s:I, s:I, s:I}", "scan", rtn_scan_id(b->scan),
		                              "pages", (json_int_t)b->pages, "received",
		                              (json_int_t)st->received, "ms",
		                              (json_int_t)(now_ms() - b->scan_ms)));
	}
	json_t *last = rtn_scan_last(&D->engine, b->conf->name);
	if (last) {
		json_t *st = json_object_get(last, "started"),
		       *fin = json_object_get(last, "finished");
		if (json_is_integer(st))
			json_object_set_new(last, "started",
			                    rtn_time_to_json(json_integer_value(st)));
		if (json_is_integer(fin))
			json_object_set_new(last, "finished",
			                    rtn_time_to_json(json_integer_value(fin)));
		json_object_set_new(o, "last", last);
	}
	return o;
}

/* --- the scan's messages, in order ----------------------------------------------------- */

/* A message's decoded trees. */
static void sitem_trees_free(struct sitem *it)
{
	rtn_bproto_bmsg_fini(&it->m);
	rtn_scan_prep_free(it->prep);
}

static void sitem_shell_free(struct sitem *it)
{
	free(it->line);
	free(it);
}

static void sitem_free(struct sitem *it)
{
	sitem_trees_free(it);
	sitem_shell_free(it);
}

/* A page's trees are freed on the pool too: it is as much work as decoding them. */
static void sitem_free_work(uv_work_t *w)
{
	sitem_trees_free(w->data);
}

static void sitem_free_done(uv_work_t *w, int status)
{
	(void)status;
	sitem_shell_free(w->data);
}

static void sitem_release(struct sitem *it)
{
	it->work.data = it;
	if (!it->prep || uv_queue_work(D->loop, &it->work, sitem_free_work, sitem_free_done) < 0)
		sitem_free(it);
}

/* The messages of a connection that is gone: those on the pool free themselves. */
static void fifo_clear(struct backend *b)
{
	struct sitem *it = b->fifo;
	while (it) {
		struct sitem *next = it->next;
		it->next = NULL;
		if (!it->on_pool)
			sitem_free(it);
		it = next;
	}
	b->fifo = b->fifo_tail = NULL;
	b->gen++;
}

static void fifo_push(struct backend *b, struct sitem *it)
{
	if (b->fifo_tail)
		b->fifo_tail->next = it;
	else
		b->fifo = it;
	b->fifo_tail = it;
}

static void after_lines(struct backend *b);

/* A result, kept for the next flush (with strings of its own). */
static void take_result(struct backend *b, const struct rtn_bresult *res)
{
	RTN_GROW(b->res, b->nres + 1, b->capres);
	b->res[b->nres++] = (struct rtn_job_result){.job = rtn_xstrdup(res->job),
	                                            .status = res->status,
	                                            .error = rtn_xstrdup(res->error),
	                                            .retry = res->retry};
}

/* Take the messages at the head that are ready (a long line found to be a result is
 * taken as one). */
static void fifo_run(struct backend *b)
{
	uint64_t gen = b->gen;
	while (b->fifo && b->fifo->ready && b->gen == gen && b->state == B_READY) {
		struct sitem *it = b->fifo;
		b->fifo = it->next;
		if (!b->fifo)
			b->fifo_tail = NULL;
		if (it->rc < 0)
			rtn_warn("backend %s: ignoring a malformed message (%s)", b->conf->name,
			         it->err);
		else if (it->m.kind == RTN_BMSG_RESULT)
			take_result(b, &it->m.result);
		else
			scan_message(b, &it->m, it->prep);
		sitem_release(it);
	}
}

/* On the pool: decode the line; a page's records are checked and hashed. */
static void sitem_work(uv_work_t *w)
{
	struct sitem *it = w->data;
	it->rc = rtn_bproto_decode_bmsg(it->line, it->len, &it->m, it->err, sizeof(it->err));
	if (it->rc == 0 && it->m.kind == RTN_BMSG_SCAN_PAGE)
		it->prep = rtn_scan_prepare(json_incref(it->m.records), it->backend);
}

static void sitem_done(uv_work_t *w, int status)
{
	struct sitem *it = w->data;
	(void)status;
	it->on_pool = false;
	if (!backends || it->bi >= nbackends || backends[it->bi].gen != it->gen || stopping) {
		sitem_free(it); /* the connection it came on is gone */
		return;
	}
	struct backend *b = &backends[it->bi];
	free(it->line);
	it->line = NULL;
	it->ready = true;
	fifo_run(b);
	after_lines(b);
}

/* A line that is most likely a page of a scan: long, and its type said at once. */
static bool looks_like_page(const char *line, size_t len)
{
	static const char pat[] = "\"scan_page\"";
	size_t head = len < 48 ? len : 48;
	return len > 8192 && memmem(line, head, pat, sizeof(pat) - 1) != NULL;
}

static void scan_line(struct backend *b, const char *line, size_t len)
{
	struct sitem *it = rtn_xcalloc(1, sizeof(*it));
	it->bi = (size_t)(b - backends);
	it->gen = b->gen;
	it->line = rtn_xmalloc(len);
	memcpy(it->line, line, len);
	it->len = len;
	snprintf(it->backend, sizeof(it->backend), "%s", b->conf->name);
	it->work.data = it;
	it->on_pool = true;
	fifo_push(b, it);
	if (uv_queue_work(D->loop, &it->work, sitem_work, sitem_done) < 0) {
		it->on_pool = false; /* decoded here, then */
		sitem_work(&it->work);
		it->ready = true;
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char readbuf[65536];
	(void)h;
	(void)suggested;
	buf->base = readbuf;
	buf->len = sizeof(readbuf);
}

static void warn_no_notices(const struct backend *b);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct backend *b = s->data;
	if (nread < 0) {
		drop(b, nread == UV_EOF ? "the backend closed the connection"
		                        : uv_strerror((int)nread));
		return;
	}
	if (nread == 0)
		return;
	if (rtn_linebuf_feed(&b->lb, buf->base, (size_t)nread) < 0) {
		drop(b, "the backend sent a line longer than the protocol allows");
		return;
	}
	char *line;
	size_t len;
	while ((line = rtn_linebuf_next(&b->lb, &len))) {
		if (b->state == B_HELLO) {
			struct rtn_bhello h;
			char err[256];
			if (rtn_bproto_decode_hello(line, len, true, &h, err, sizeof(err)) < 0) {
				rtn_bproto_hello_fini(&h);
				drop(b, err);
				return;
			}
			if (h.protocol < RTN_BACKEND_PROTOCOL_MIN ||
			    h.protocol > RTN_BACKEND_PROTOCOL) {
				snprintf(b->error, sizeof(b->error),
				         "protocol mismatch: the backend speaks version %d, this "
				         "retentiond speaks %d to %d",
				         h.protocol, RTN_BACKEND_PROTOCOL_MIN,
				         RTN_BACKEND_PROTOCOL);
				rtn_err("backend %s: %s; nothing is sent to it", b->conf->name,
				        b->error);
				b->protocol = h.protocol;
				b->state = B_MISMATCH;
				b->reconnect_ms = RECONNECT_MAX_MS;
				rtn_bproto_hello_fini(&h);
				drop(b, b->error);
				return;
			}
			b->protocol = h.protocol;
			b->actions = h.actions;
			if (!(h.actions & RTN_BACT_NOTICE))
				warn_no_notices(b);
			b->can_scan = h.scan;
			snprintf(b->peer, sizeof(b->peer), "%s", h.name);
			rtn_bproto_hello_fini(&h);
			b->state = B_READY;
			b->reconnect_ms = RECONNECT_MIN_MS;
			b->error[0] = '\0';
			rtn_info("backend %s: connected to %s (protocol %d%s)", b->conf->name,
			         b->peer, b->protocol, b->can_scan ? ", can scan" : "");
			scan_arm(b);
			continue;
		}
		if (looks_like_page(line, len)) {
			scan_line(b, line, len);
			continue;
		}
		struct rtn_bmsg m;
		char err[256];
		if (rtn_bproto_decode_bmsg(line, len, &m, err, sizeof(err)) < 0) {
			rtn_warn("backend %s: ignoring a malformed message (%s): %.200s",
			         b->conf->name, err, line);
			rtn_bproto_bmsg_fini(&m);
			continue;
		}
		if (m.kind == RTN_BMSG_RESULT) {
			take_result(b, &m.result);
		} else {
			struct sitem *it = rtn_xcalloc(1, sizeof(*it));
			it->m = m; /* taken */
			it->ready = true;
			fifo_push(b, it);
			fifo_run(b);
			if (b->state != B_READY)
				return; /* the connection was dropped on the way */
			continue;
		}
		rtn_bproto_bmsg_fini(&m);
	}
	after_lines(b);
}

/* After lines were taken: the results recorded, more jobs sent. */
static void after_lines(struct backend *b)
{
	/* Flush now when half the window has answered or nothing else is out; otherwise
	 * within FLUSH_MS, so that results close together share one commit. */
	if (b->nres && (b->nres >= (b->conf->max_inflight + 1) / 2 || b->nres >= b->inflight)) {
		flush(b);
	} else if (b->nres && !flush_armed) {
		flush_armed = true;
		uv_timer_start(&flush_timer, on_flush_timer, FLUSH_MS, 0);
	}
	if (b->state == B_READY) {
		pump(b);
		arm_timeout(b);
	}
	arm_retry();
	check_drained();
}

static void on_connect(uv_connect_t *req, int status)
{
	struct backend *b = req->data;
	if (status < 0) {
		snprintf(b->error, sizeof(b->error), "cannot connect to %s: %s", b->conf->socket,
		         uv_strerror(status));
		rtn_debug("backend %s: %s", b->conf->name, b->error);
		drop(b, b->error);
		return;
	}
	if (stopping) {
		drop(b, "stopping");
		return;
	}
	b->state = B_HELLO;
	rtn_linebuf_init(&b->lb, RTN_BPROTO_LINE_MAX);
	size_t len;
	char *hello = rtn_bproto_hello(NULL, 0, 0, false, &len);
	if (send_line(b, hello, len) < 0 ||
	    uv_read_start((uv_stream_t *)&b->pipe, alloc_cb, on_read) < 0)
		drop(b, "cannot talk to the backend");
}

static void connect_backend(struct backend *b)
{
	if (stopping || b->pipe_open)
		return;
	uv_pipe_init(D->loop, &b->pipe, 0);
	b->pipe.data = b;
	b->pipe_open = true;
	b->state = B_CONNECTING;
	b->creq.data = b;
	uv_pipe_connect(&b->creq, &b->pipe, b->conf->socket, on_connect);
}

/* The backend's timer: reconnect when down, time out the oldest jobs when up. The jobs
 * leave the in-flight set only once their timeouts are committed; if that fails they
 * stay, and are timed out again after the error backoff. */
static void on_timer(uv_timer_t *t)
{
	struct backend *b = t->data;
	if (b->state != B_READY) {
		connect_backend(b);
		return;
	}
	uint64_t now = now_ms();
	rtn_time_t wall = daemon_now();
	size_t k = 0;
	for (struct inflight *f = b->oldest; f && f->sent_ms + (uint64_t)b->conf->timeout_ms <= now;
	     f = f->next)
		k++;
	if (k) {
		char(*jobs)[RTN_JOB_ID_LEN] = rtn_xcalloc(k, sizeof(*jobs));
		char why[96];
		snprintf(why, sizeof(why), "no result within %lld s",
		         (long long)(b->conf->timeout_ms / 1000));
		struct inflight *f = b->oldest;
		for (size_t i = 0; i < k; i++, f = f->next)
			snprintf(jobs[i], sizeof(jobs[i]), "%s", f->job.job);
		struct rtn_job_outcome *oc = rtn_xcalloc(k, sizeof(*oc));
		if (rtn_jobs_timeouts(&D->engine, b->conf, (const char(*)[RTN_JOB_ID_LEN])jobs, k,
		                      why, wall, rnd(), oc) < 0) {
			rtn_err("backend %s: cannot record %zu timeout%s: %s; tried again",
			        b->conf->name, k, k == 1 ? "" : "s", rtn_engine_errmsg(&D->engine));
			dispatch_failed();
		} else {
			dispatch_worked();
			for (size_t i = 0; i < k; i++) {
				if (!oc[i].ignored)
					rtn_notice("backend %s: job %s (%s %s): %s", b->conf->name,
					           jobs[i], oc[i].action, oc[i].record, why);
				b->failed++;
				count_failure(b, why, jobs[i], wall);
				inflight_remove(b, jobs[i]);
			}
		}
		free(oc);
		free(jobs);
	}
	pump(b);
	arm_timeout(b);
	arm_retry();
	check_drained();
}

/* Sleep until the earliest job waiting for a retry; no timer at all when none waits. */
static void arm_retry(void)
{
	rtn_time_t next, now = daemon_now();
	if (stopping)
		return;
	if (rtn_jobs_next_retry(&D->engine, &next) < 0) {
		rtn_err("dispatch: cannot read the next retry: %s", rtn_engine_errmsg(&D->engine));
		dispatch_failed();
		return;
	}
	if (next == RTN_TIME_NONE) {
		uv_timer_stop(&retry_timer);
		return;
	}
	uint64_t ms = next <= now ? 1000 : (uint64_t)(next - now) * 1000;
	uv_timer_start(&retry_timer, on_retry_timer, ms > RETRY_POLL_MS ? RETRY_POLL_MS : ms, 0);
}

void dispatch_kick(void)
{
	if (stopping)
		return;
	int orphans = rtn_jobs_fail_orphans(&D->engine, &D->cfg, daemon_now());
	if (orphans < 0) {
		rtn_err("dispatch: cannot fail due records no backend can take: %s",
		        rtn_engine_errmsg(&D->engine));
		dispatch_failed();
	}
	if (orphans > 0)
		rtn_warn("%d due record%s cannot be acted on: no configured backend (see jobs "
		         "list --state dead)",
		         orphans, orphans == 1 ? "" : "s");
	for (size_t i = 0; i < nbackends; i++)
		pump(&backends[i]);
	arm_retry();
}

int dispatch_init(struct daemon *d)
{
	D = d;
	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng)
		rng = (uint64_t)time(NULL) * 2654435761u + 1;
	uv_timer_init(d->loop, &retry_timer);
	uv_timer_init(d->loop, &drain_timer);
	uv_timer_init(d->loop, &flush_timer);
	uv_timer_init(d->loop, &error_timer);
	nbackends = d->cfg.nbackends;
	backends = rtn_xcalloc(nbackends ? nbackends : 1, sizeof(*backends));
	for (size_t i = 0; i < nbackends; i++) {
		struct backend *b = &backends[i];
		b->conf = &d->cfg.backends[i];
		b->reconnect_ms = RECONNECT_MIN_MS;
		b->nhash = 2 * (size_t)b->conf->max_inflight + 1;
		b->hash = rtn_xcalloc(b->nhash, sizeof(*b->hash));
		uv_timer_init(d->loop, &b->timer);
		b->timer.data = b;
		uv_timer_init(d->loop, &b->scan_timer);
		b->scan_timer.data = b;
		connect_backend(b);
	}
	dispatch_kick();
	return 0;
}

unsigned dispatch_inflight(void)
{
	unsigned n = 0;
	for (size_t i = 0; i < nbackends; i++)
		n += backends[i].inflight;
	return n;
}

static void on_drain_timer(uv_timer_t *t)
{
	(void)t;
	if (drained) {
		rtn_notice(
		    "stopping with %u job%s still in flight; they are sent again at the next "
		    "start under the same ids",
		    dispatch_inflight(), dispatch_inflight() == 1 ? "" : "s");
		void (*cb)(void) = drained;
		drained = NULL;
		cb();
	}
}

void dispatch_drain(unsigned grace_ms, void (*done)(void))
{
	stopping = true;
	drained = done;
	for (size_t i = 0; i < nbackends; i++) {
		scan_stop(&backends[i], "the daemon is stopping", true);
		uv_timer_stop(&backends[i].scan_timer);
	}
	uv_timer_stop(&retry_timer);
	uv_timer_stop(&error_timer);
	uv_timer_start(&drain_timer, on_drain_timer, grace_ms, 0);
	check_drained();
}

/* A backend that a rule sends notices to ("notify-backend", or the rule's own backend) and
 * whose hello does not name "notice": said at once; each of its notices is dead when it
 * falls due (jobs list), and the actions go ahead all the same. */
static void warn_no_notices(const struct backend *b)
{
	for (size_t i = 0; i < D->rules.n; i++) {
		const struct rtn_rule *r = &D->rules.rules[i];
		const char *to = r->notify_backend ? r->notify_backend : r->backend;
		if (r->notify && to && !strcmp(to, b->conf->name)) {
			rtn_warn(
			    "backend %s does not take notices (its hello does not name "
			    "\"notice\"), but rule %s sends it notices: they are dead when due, "
			    "and the actions go ahead at their deadlines",
			    b->conf->name, r->name);
			return;
		}
	}
}

json_t *dispatch_status(void)
{
	static const char *const names[] = {"down", "connecting", "handshake", "ready",
	                                    "protocol mismatch"};
	json_t *a = json_array();
	for (size_t i = 0; i < nbackends; i++) {
		struct backend *b = &backends[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I}", "name", b->conf->name,
		                      "socket", b->conf->socket, "connected", b->state == B_READY,
		                      "state", names[b->state], "inflight", (json_int_t)b->inflight,
		                      "done", (json_int_t)b->done, "failed", (json_int_t)b->failed);
		if (b->protocol)
			json_object_set_new(o, "protocol", json_integer(b->protocol));
		if (b->peer[0])
			json_object_set_new(o, "peer", json_string(b->peer));
		if (b->state == B_READY) {
			json_t *acts = json_array();
			static const struct {
				unsigned bit;
				const char *name;
			} names[] = {{RTN_BACT_DELETE, "delete"},
			             {RTN_BACT_ANONYMIZE, "anonymize"},
			             {RTN_BACT_NOTICE, "notice"}};
			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
				if (b->actions & names[k].bit)
					json_array_append_new(acts, json_string(names[k].name));
			json_object_set_new(o, "actions", acts);
		}
		if (b->error[0])
			json_object_set_new(o, "error", json_string(b->error));
		json_object_set_new(o, "scan", scan_status(b));
		json_t *errs = json_array();
		for (size_t k = 0; k < NCLASSES; k++) {
			const struct errclass *e = &b->errors[k];
			if (e->count)
				json_array_append_new(
				    errs, json_pack("{s:s, s:I, s:s, s:s, s:o}", "class",
				                    error_classes[k], "count", (json_int_t)e->count,
				                    "last", e->last, "job", e->job, "at",
				                    rtn_time_to_json(e->at)));
		}
		json_object_set_new(o, "errors", errs);
		json_array_append_new(a, o);
	}
	return a;
}

void dispatch_fini(void)
{
	if (!D)
		return; /* never started */
	stopping = true;
	for (size_t i = 0; i < nbackends; i++) {
		struct backend *b = &backends[i];
		if (b->nres)
			flush(b); /* results that arrived are recorded, not dropped */
		fifo_clear(b);
		scan_stop(b, "the daemon is stopping", false);
		free_results(b);
		free(b->res);
		b->res = NULL;
		free(b->lost);
		b->lost = NULL;
		b->nlost = 0;
		inflight_clear(b);
		free(b->hash);
		b->hash = NULL;
		rtn_linebuf_fini(&b->lb);
		closing += 2 + b->pipe_open; /* a closing pipe's callback is still due, too */
	}
	for (size_t i = 0; i < nbackends; i++) {
		struct backend *b = &backends[i];
		uv_close((uv_handle_t *)&b->timer, on_timer_closed);
		uv_close((uv_handle_t *)&b->scan_timer, on_timer_closed);
		if (b->pipe_open && !uv_is_closing((uv_handle_t *)&b->pipe))
			uv_close((uv_handle_t *)&b->pipe, on_pipe_closed);
	}
	if (!nbackends) {
		free(backends);
		backends = NULL;
	}
	uv_close((uv_handle_t *)&retry_timer, NULL);
	uv_close((uv_handle_t *)&drain_timer, NULL);
	uv_close((uv_handle_t *)&flush_timer, NULL);
	uv_close((uv_handle_t *)&error_timer, NULL);
	D = NULL;
}
