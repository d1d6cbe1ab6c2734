/* auditlog.c - the daemon's side of the audit log: one entry per decision
 *
 * Entries are appended as decisions are made and handed to the kernel after each
 * request or batch of results; before any action is sent, the dispatcher calls
 * audit_sync(), so the entry of an action is on disk before the action leaves. The chain
 * head goes to the journal at start-up, at shutdown and once a day.
 *
 * Refused control requests are folded: the first refusal of a uid is written at once, the
 * ones after it are counted and written as one entry with their count at the end of each
 * control-refusal-interval in which they went on (and before the daemon stops), so that a
 * flood of them costs a counter, not the disk.
 */
#include "auditlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"

#define DAY_MS (24u * 3600u * 1000u)

static struct rtn_audit *A;
static struct daemon *D;
static uv_timer_t daily;
static bool started, broken;

static void on_daily(uv_timer_t *t)
{
	(void)t;
	if (A) {
		audit_sync();
		rtn_audit_log_head(A);
	}
}

/* The refusals of one uid since its last entry. Few uids are refused at once: a list. */
struct refusals {
	uid_t uid;
	gid_t gid;
	pid_t pid;               /* of the last one */
	uint64_t pending;        /* refused since the last entry, not written yet */
	rtn_time_t since, until; /* the first and the last of them */
};
static struct refusals *refs;
static size_t nrefs, caprefs;
static uv_timer_t fold; /* ends each control-refusal-interval while refusals go on */
static bool folding;

static void write_fold(struct refusals *r)
{
	char who[32];
	snprintf(who, sizeof(who), "uid:%u", (unsigned)r->uid);
	audit_event("request.forbidden", who, NULL, NULL, NULL, NULL, NULL,
	            json_pack("{s:I, s:I, s:i, s:I, s:I}", "count", (json_int_t)r->pending, "gid",
	                      (json_int_t)r->gid, "pid", (int)r->pid, "since", (json_int_t)r->since,
	                      "until", (json_int_t)r->until));
	rtn_notice("control: uid %u was refused %llu more time%s in %lld s (last pid %d); "
	           "written as one audit entry",
	           (unsigned)r->uid, (unsigned long long)r->pending, r->pending == 1 ? "" : "s",
	           (long long)(r->until - r->since), (int)r->pid);
	r->pending = 0;
}

static void on_fold(uv_timer_t *t)
{
	(void)t;
	size_t k = 0;
	for (size_t i = 0; i < nrefs; i++) {
		/* A uid quiet for a whole interval is dropped: its next refusal is written at
		 * once again. */
		if (!refs[i].pending)
			continue;
		write_fold(&refs[i]);
		refs[k++] = refs[i];
	}
	nrefs = k;
	audit_flush();
	if (!nrefs) {
		uv_timer_stop(&fold);
		folding = false;
	}
}

void audit_refusal(uid_t uid, gid_t gid, pid_t pid, const char *cmd)
{
	rtn_time_t now = daemon_now();
	for (size_t i = 0; i < nrefs; i++) {
		struct refusals *r = &refs[i];
		if (r->uid != uid)
			continue;
		if (!r->pending++)
			r->since = now;
		r->until = now;
		r->gid = gid;
		r->pid = pid;
		return;
	}
	RTN_GROW(refs, nrefs + 1, caprefs);
	refs[nrefs++] = (struct refusals){.uid = uid, .gid = gid, .pid = pid};
	char who[32];
	snprintf(who, sizeof(who), "uid:%u", (unsigned)uid);
	json_t *detail = json_pack("{s:I, s:I, s:i}", "count", (json_int_t)1, "gid",
	                           (json_int_t)gid, "pid", (int)pid);
	if (cmd)
		json_object_set_new(detail, "cmd", json_string(cmd));
	audit_event("request.forbidden", who, NULL, NULL, NULL, NULL, NULL, detail);
	long long secs = (long long)(D->cfg.control_refusal_interval_ms / 1000);
	rtn_notice("control: refused %s to uid %u (pid %d); its further refusals are counted "
	           "and written as one audit entry every %lld s (control-refusal-interval)",
	           cmd ? cmd : "a request", (unsigned)uid, (int)pid, secs);
	if (started && !folding) {
		uint64_t ms = (uint64_t)D->cfg.control_refusal_interval_ms;
		uv_timer_start(&fold, on_fold, ms, ms);
		folding = true;
	}
}

void audit_refusals_flush(void)
{
	for (size_t i = 0; i < nrefs; i++)
		if (refs[i].pending)
			write_fold(&refs[i]);
	nrefs = 0;
	if (folding) {
		uv_timer_stop(&fold);
		folding = false;
	}
}

int auditlog_init(struct daemon *d)
{
	D = d;
	char err[512];
	char *dir = rtn_xstrdup(d->cfg.audit_log), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			rtn_warn("audit: cannot create %s: %s", dir, strerror(errno));
	}
	free(dir);
	int r = rtn_audit_open(d->cfg.audit_log, daemon_now(), &A, err, sizeof(err));
	if (r < 0) {
		rtn_err("audit: cannot open %s: %s", d->cfg.audit_log, err);
		return r;
	}
	rtn_audit_log_head(A);
	uv_timer_init(d->loop, &daily);
	uv_timer_start(&daily, on_daily, DAY_MS, DAY_MS);
	uv_unref((uv_handle_t *)&daily);
	uv_timer_init(d->loop, &fold);
	uv_unref((uv_handle_t *)&fold);
	started = true;
	return 0;
}

void audit_entry(const struct rtn_audit_entry *e)
{
	if (!A)
		return;
	int r = rtn_audit_append(A, daemon_now(), e, 0);
	if (r < 0) {
		rtn_err("audit: cannot append a %s entry: %s", e->type, strerror(-r));
		broken = true;
	}
}

void audit_entry_written(struct rtn_audit_entry *e, struct rtn_jw *detail, int r)
{
	if (r < 0) {
		rtn_err("audit: the %s entry of %s cannot be written: a string is not UTF-8",
		        e->type,
		        e->job      ? e->job
		        : e->record ? e->record
		                    : "(none)");
	} else {
		e->detail_json = detail->p;
		audit_entry(e);
	}
	free(detail->p);
	detail->p = NULL;
}

void audit_event(const char *type, const char *actor, const char *record, const char *category,
                 const char *rule, const char *basis, const char *job, json_t *detail)
{
	struct rtn_audit_entry e = {
	    .type = type,
	    .actor = actor,
	    .record = record,
	    .category = category,
	    .rule = rule,
	    .basis = basis,
	    .job = job,
	    .detail = detail,
	};
	audit_entry(&e);
	json_decref(detail);
}

int audit_sync(void)
{
	if (!A)
		return -EIO;
	int r = rtn_audit_sync(A);
	if (r < 0) {
		if (!broken)
			rtn_err("audit: cannot sync %s: %s; no action is sent until it can",
			        rtn_audit_path(A), strerror(-r));
		broken = true;
		return r;
	}
	if (broken)
		rtn_notice("audit: %s takes entries again", rtn_audit_path(A));
	broken = false;
	return 0;
}

void audit_flush(void)
{
	if (A && rtn_audit_flush(A) < 0 && !broken) {
		rtn_err("audit: cannot write %s", rtn_audit_path(A));
		broken = true;
	}
}

json_t *audit_status(void)
{
	if (!A)
		return json_pack("{s:I, s:n, s:s, s:b}", "entries", (json_int_t)0, "head", "path",
		                 D ? D->cfg.audit_log : "", "ok", 0);
	return json_pack("{s:I, s:s, s:s, s:b}", "entries", (json_int_t)rtn_audit_seq(A), "head",
	                 rtn_audit_head(A), "path", rtn_audit_path(A), "ok", !broken);
}

const char *audit_path(void)
{
	return A ? rtn_audit_path(A) : D->cfg.audit_log;
}

int audit_rotate(void)
{
	if (!A)
		return -EIO;
	char stamp[32];
	time_t now = (time_t)daemon_now();
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	char *to = rtn_xasprintf("%s.%s", rtn_audit_path(A), stamp);
	int r = rtn_audit_rotate(A, daemon_now(), to);
	if (r < 0)
		rtn_err("audit: cannot rotate to %s: %s", to, strerror(-r));
	else
		rtn_notice("audit: rotated to %s; verify the chain with retentiond --verify-audit "
		           "%s %s",
		           to, to, rtn_audit_path(A));
	free(to);
	rtn_audit_log_head(A);
	return r;
}

void auditlog_fini(void)
{
	audit_refusals_flush();
	free(refs);
	refs = NULL;
	nrefs = caprefs = 0;
	if (started) {
		uv_timer_stop(&daily);
		uv_close((uv_handle_t *)&daily, NULL);
		uv_close((uv_handle_t *)&fold, NULL);
		started = false;
	}
	if (A) {
		audit_sync();
		rtn_audit_log_head(A);
		rtn_audit_close(A);
		A = NULL;
	}
}
