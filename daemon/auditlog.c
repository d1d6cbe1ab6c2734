/* auditlog.c - the daemon's side of the audit log: one entry per decision
 *
 * Entries are appended as decisions are made and handed to the kernel after each
 * request or batch of results; before any action is sent, the dispatcher calls
 * audit_sync(), so the entry of an action is on disk before the action leaves. The chain
 * head goes to the journal at start-up, at shutdown and once a day.
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
static struct rtn_audit_mark tx_mark; /* where the open transaction's entries begin */
static bool tx_lost;                  /* an entry of it could not be appended */

static void on_daily(uv_timer_t *t)
{
	(void)t;
	if (A) {
		audit_sync();
		rtn_audit_log_head(A);
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
	started = true;
	return 0;
}

void audit_entry(const struct rtn_audit_entry *e)
{
	if (!A) {
		tx_lost = true;
		return;
	}
	int r = rtn_audit_append(A, daemon_now(), e, 0);
	if (r < 0) {
		rtn_err("audit: cannot append a %s entry: %s", e->type, strerror(-r));
		broken = true;
		tx_lost = true;
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
		tx_lost = true;
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

/* --- the engine's journal: entries commit with the inventory, or are taken back ------ */

static void j_mark(void *ctx)
{
	(void)ctx;
	tx_lost = false;
	if (A)
		rtn_audit_mark(A, &tx_mark);
}

static int j_append(void *ctx, const struct rtn_audit_entry *e)
{
	(void)ctx;
	audit_entry(e);
	return tx_lost ? -EIO : 0;
}

static int j_sync(void *ctx)
{
	(void)ctx;
	return tx_lost ? -EIO : audit_sync();
}

static void j_undo(void *ctx)
{
	(void)ctx;
	if (A && rtn_audit_undo(A, &tx_mark) < 0)
		broken = true;
	tx_lost = false;
}

static const struct rtn_journal journal = {j_mark, j_append, j_sync, j_undo, NULL};

const struct rtn_journal *audit_journal(void)
{
	return &journal;
}

bool audit_ok(void)
{
	return A && !broken;
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
	if (started) {
		uv_timer_stop(&daily);
		uv_close((uv_handle_t *)&daily, NULL);
		started = false;
	}
	if (A) {
		audit_sync();
		rtn_audit_log_head(A);
		rtn_audit_close(A);
		A = NULL;
	}
}
