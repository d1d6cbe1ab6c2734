/* auditlog.c - the daemon's side of the audit log: one entry per decision
 *
 * Entries are appended as decisions are made and handed to the kernel after each
 * request or batch of results; before any action is sent, the dispatcher calls
 * audit_sync(), so the entry of an action is on disk before the action leaves. The chain
 * head goes to the journal at start-up, at shutdown and once a day.
 *
 * The head is also recorded in STATE/audit.head (lib/audit_head.c) once it is on disk:
 * at start-up, at shutdown, after a rotation and every minute in which it moved. Before
 * the log is opened at start-up it is checked against that record: a log that lost the
 * recorded entry is not written to, unless the operator accepts the loss by naming the
 * recorded hash (--accept-audit-truncation), which is then the first entry written.
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
#include "audit_head.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"

#define DAY_MS  (24u * 3600u * 1000u)
#define HEAD_MS (60u * 1000u) /* the recorded head lags the log by at most this */

static struct rtn_audit *A;
static struct daemon *D;
static uv_timer_t daily, tick;
static bool started, broken, head_failed;
static struct rtn_audit_mark tx_mark;   /* where the open transaction's entries begin */
static bool tx_lost;                    /* an entry of it could not be appended */
static char *head_path;                 /* STATE/audit.head */
static struct rtn_audit_head recorded;  /* what it holds (seq 0: nothing yet) */
static const char *head_check = "none"; /* how the log compared with it at start-up */

/* Record the head in head_path once it is on disk, if it moved. */
static void record_head(void)
{
	char err[512];
	if (!A || rtn_audit_seq(A) == 0 || audit_sync() < 0)
		return;
	if (recorded.seq == rtn_audit_seq(A) && strcmp(recorded.hash, rtn_audit_head(A)) == 0 &&
	    recorded.file && strcmp(recorded.file, rtn_audit_path(A)) == 0)
		return;
	struct rtn_audit_head h = {.seq = rtn_audit_seq(A),
	                           .file = (char *)rtn_audit_path(A),
	                           .size = rtn_audit_size(A),
	                           .time = daemon_now()};
	memcpy(h.hash, rtn_audit_head(A), sizeof(h.hash));
	if (rtn_audit_head_write(head_path, &h, err, sizeof(err)) < 0) {
		if (!head_failed)
			rtn_err("audit: cannot record the head: %s", err);
		head_failed = true;
		return;
	}
	if (head_failed)
		rtn_notice("audit: the head is recorded in %s again", head_path);
	head_failed = false;
	rtn_audit_head_fini(&recorded);
	recorded = h;
	recorded.file = rtn_xstrdup(h.file);
}

static void on_daily(uv_timer_t *t)
{
	(void)t;
	if (A) {
		audit_sync();
		rtn_audit_log_head(A);
		record_head();
	}
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
	record_head();
}

/* The kernel's login uid of the process (who logged in, whatever sudo or su made of
 * the uid since), or -1 if it has none (a service started by systemd). */
static long long login_uid(void)
{
	char *text = NULL;
	size_t len;
	long long v = -1;
	if (rtn_read_file("/proc/self/loginuid", 64, &text, &len) == 0) {
		char *end;
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || v < 0 || v >= 4294967295LL)
			v = -1;
	}
	free(text);
	return v;
}

/* Compare the log with the head recorded in the state directory, before anything is
 * written to it. 0 to go on (with *accepted, the detail of the acceptance entry to
 * write, when the operator accepted a loss); -EILSEQ if the log lost the recorded head
 * or the record is unreadable; -errno if the log cannot be read. Logged. */
static int check_head(struct daemon *d, const char *accept, json_t **accepted)
{
	char err[512], t[RTN_TIME_FMT_LEN] = "", when[RTN_TIME_FMT_LEN + 8] = "at an unknown time";
	struct rtn_audit_head h;
	json_t *found = NULL;
	*accepted = NULL;
	int r = rtn_audit_head_read(head_path, &h, err, sizeof(err));
	if (r == -ENOENT) {
		if (accept)
			rtn_warn("--accept-audit-truncation: no head is recorded in %s, so nothing "
			         "is accepted; the option is ignored",
			         head_path);
		head_check = "none";
		return 0;
	}
	if (r < 0) {
		rtn_err("audit: %s", err);
		rtn_err(
		    "audit: not starting: the log cannot be checked against the head recorded "
		    "at the last stop. If the log is intact (retentiond --verify-audit with the "
		    "journal's last \"audit head:\" line), move %s away and start again",
		    head_path);
		return -EILSEQ;
	}
	if (h.time && rtn_time_format(h.time, t, sizeof(t)) == 0)
		snprintf(when, sizeof(when), "at %s", t);
	r = rtn_audit_head_check(d->cfg.audit_log, &h, &found, err, sizeof(err));
	if (r < 0 && r != -EILSEQ) {
		rtn_err("audit: cannot check the log against its recorded head: %s", err);
		rtn_audit_head_fini(&h);
		return r;
	}
	json_int_t after = json_integer_value(json_object_get(found, "entries_after"));
	const char *reason = json_string_value(json_object_get(found, "reason"));
	json_t *fseq = json_object_get(found, "seq");
	const char *fhash = json_string_value(json_object_get(found, "hash"));
	char *tail =
	    json_is_integer(fseq)
	        ? rtn_xasprintf("seq %lld hash %s", (long long)json_integer_value(fseq), fhash)
	        : rtn_xstrdup("an entry that is not valid");
	if (r == 0) {
		head_check = after ? "continued" : "matched";
		if (after)
			rtn_notice(
			    "audit: %lld entr%s follow the head recorded %s (seq %llu): the "
			    "daemon stopped without recording its head (a crash?); the chain "
			    "continues from it to %s",
			    (long long)after, after == 1 ? "y" : "ies", when,
			    (unsigned long long)h.seq, tail);
		if (strcmp(h.file, d->cfg.audit_log) != 0)
			rtn_notice("audit: the log was %s and is %s now; it continues the chain",
			           h.file, d->cfg.audit_log);
		if (accept)
			rtn_warn(
			    "--accept-audit-truncation %s: the log holds its recorded head, so "
			    "nothing is accepted; the option is ignored",
			    accept);
		rtn_audit_head_fini(&recorded);
		recorded = h;
	} else if (accept && strcmp(accept, h.hash) == 0) {
		rtn_warn("audit: %s does not hold the head recorded %s (seq %llu hash %s): %s",
		         d->cfg.audit_log, when, (unsigned long long)h.seq, h.hash, reason);
		rtn_warn("audit: uid %u accepts the loss (--accept-audit-truncation); the log "
		         "continues from %s, and the acceptance is its next entry",
		         (unsigned)getuid(), tail);
		head_check = "accepted";
		*accepted = json_pack("{s:{s:I,s:s,s:s,s:I,s:s},s:O}", "recorded", "seq",
		                      (json_int_t)h.seq, "hash", h.hash, "file", h.file, "size",
		                      (json_int_t)h.size, "time", t, "found", found);
		long long lu = login_uid();
		if (*accepted && lu >= 0)
			json_object_set_new(*accepted, "loginuid", json_integer((json_int_t)lu));
		r = *accepted ? 0 : -EINVAL; /* a path that is not UTF-8 */
		rtn_audit_head_fini(&h);
	} else {
		rtn_err("audit: %s does not hold the head recorded in %s %s: seq %llu hash %s, "
		        "ending at byte %lld of %s",
		        d->cfg.audit_log, head_path, when, (unsigned long long)h.seq, h.hash,
		        (long long)h.size, h.file);
		rtn_err("audit: %s; the log ends at %s (%lld bytes)", reason, tail,
		        (long long)json_integer_value(json_object_get(found, "size")));
		if (accept)
			rtn_err(
			    "audit: --accept-audit-truncation %s does not name the recorded head "
			    "%s, so it accepts nothing",
			    accept, h.hash);
		rtn_err(
		    "audit: not starting: entries were removed from the log or it was "
		    "replaced, and writing on would hide it. Compare it with the journal's "
		    "\"audit head:\" lines and your copies; to start anyway and record the loss "
		    "in the log, start once with --accept-audit-truncation %s",
		    h.hash);
		rtn_audit_head_fini(&h);
		r = -EILSEQ;
	}
	free(tail);
	json_decref(found);
	return r;
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

int auditlog_init(struct daemon *d, const char *accept)
{
	D = d;
	char err[512];
	json_t *accepted = NULL;
	char *dir = rtn_xstrdup(d->cfg.audit_log), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			rtn_warn("audit: cannot create %s: %s", dir, strerror(errno));
	}
	free(dir);
	head_path = rtn_xasprintf("%s/audit.head", d->cfg.state_directory);
	int r = check_head(d, accept, &accepted);
	if (r < 0)
		return r;
	r = rtn_audit_open(d->cfg.audit_log, daemon_now(), &A, err, sizeof(err));
	if (r < 0) {
		rtn_err("audit: cannot open %s: %s", d->cfg.audit_log, err);
		json_decref(accepted);
		return r;
	}
	rtn_audit_set_group(A, d->audit_gid); /* audit-group reads the files */
	if (accepted) {
		char actor[32];
		snprintf(actor, sizeof(actor), "uid:%u", (unsigned)getuid());
		struct rtn_audit_entry e = {
		    .type = "audit.truncation_accepted", .actor = actor, .detail = accepted};
		r = rtn_audit_append(A, daemon_now(), &e, RTN_AUDIT_SYNC);
		json_decref(accepted);
		if (r < 0) {
			rtn_err("audit: cannot write the acceptance of the loss: %s", strerror(-r));
			return r;
		}
	} else if (strcmp(head_check, "none") == 0 && rtn_audit_seq(A) > 0) {
		rtn_warn("audit: no head is recorded in %s (the first start of a version that "
		         "records it, or the file was removed): the log is taken as it is, up to "
		         "seq %llu, and its head recorded from now on",
		         head_path, (unsigned long long)rtn_audit_seq(A));
	}
	record_head();
	rtn_audit_log_head(A);
	uv_timer_init(d->loop, &daily);
	uv_timer_start(&daily, on_daily, DAY_MS, DAY_MS);
	uv_unref((uv_handle_t *)&daily);
	uv_timer_init(d->loop, &tick);
	uv_timer_start(&tick, on_tick, 0, HEAD_MS); /* 0: once the start-up entries are in */
	uv_unref((uv_handle_t *)&tick);
	uv_timer_init(d->loop, &fold);
	uv_unref((uv_handle_t *)&fold);
	started = true;
	return 0;
}

const char *auditlog_head_check(void)
{
	return head_check;
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
	if (tx_lost)
		return -EIO;
	int r = audit_sync();
	/* A recovery during the transaction dropped entries of it that were buffered. */
	return r == 0 && !(A && rtn_audit_mark_current(A, &tx_mark)) ? -EIO : r;
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

int audit_files(rtn_time_t since, rtn_time_t until, char ***paths, size_t *n, char *err,
                size_t errlen)
{
	return rtn_audit_files(audit_path(), since, until, paths, n, err, errlen) < 0 ? -1 : 0;
}

void audit_files_free(char **paths, size_t n)
{
	rtn_audit_files_free(paths, n);
}

int audit_rotate(const char *by, char **rotated)
{
	if (rotated)
		*rotated = NULL;
	if (!A)
		return -EIO;
	/* The local time in the daemon's zone (the format zone), digits only. */
	char t[RTN_TIME_FMT_LEN], stamp[16];
	rtn_time_t now = daemon_now();
	if (rtn_time_format(now, t, sizeof(t)) < 0)
		return -ERANGE;
	snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2sT%.2s%.2s%.2s", t, t + 5, t + 8, t + 11, t + 14,
	         t + 17);
	char *to = rtn_xasprintf("%s.%s", rtn_audit_path(A), stamp);
	int r = rtn_audit_rotate(A, now, to);
	if (r < 0)
		rtn_err("audit: cannot rotate to %s (asked by %s): %s", to, by, strerror(-r));
	else
		rtn_notice("audit: rotated to %s (asked by %s); verify the chain with retentiond "
		           "--verify-audit %s %s",
		           to, by, to, rtn_audit_path(A));
	if (r == 0 && rotated)
		*rotated = to;
	else
		free(to);
	rtn_audit_log_head(A);
	record_head();
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
		uv_timer_stop(&tick);
		uv_close((uv_handle_t *)&tick, NULL);
		uv_close((uv_handle_t *)&fold, NULL);
		started = false;
	}
	if (A) {
		audit_sync();
		rtn_audit_log_head(A);
		record_head();
		rtn_audit_close(A);
		A = NULL;
	}
	rtn_audit_head_fini(&recorded);
	free(head_path);
	head_path = NULL;
}
