/* fixture.h - an engine on an inventory in a temporary directory, rules from text, and a
 * journal that keeps the entries of committed transactions (and can refuse its sync):
 * shared by the unit tests of the engine, the jobs and the operations. Times are fixed
 * (FX_NOW), the zone is UTC: nothing depends on the clock. */
#ifndef RTN_FIXTURE_H
#define RTN_FIXTURE_H

#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "jobs.h"
#include "ops.h"
#include "rules.h"

#define FX_NOW ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define FX_DAY ((rtn_time_t)86400)
#define FX_DUE (FX_NOW + 3600) /* the "due" event of the records put by fx_doc */

/* The rules of most tests: every category one shape of schedule. */
static const char FX_RULES[] =
    "rule d { category t.doc; delete immediately after due; backend b1; basis \"doc basis\" }\n"
    "rule d2 { category t.two; delete immediately after due; backend b2 }\n"
    "rule a { category t.anon; anonymize immediately after due; backend b1 }\n"
    "rule ad { category t.anon; delete 30 days after due; backend b1 }\n"
    "rule rv { category t.rev; delete immediately after due; review; backend b1; "
    "basis \"review basis\" }\n"
    "rule k { category t.keep; keep 5 years after created; basis \"keep basis\" }\n"
    "rule kd { category t.keep; delete immediately after due; backend b1 }\n"
    "rule o { category t.orphan; delete immediately after due }\n"
    "rule f { category t.flag; delete immediately after due; when fast; backend b1 }\n"
    "rule fs { category t.flag; delete 30 days after due; backend b1 }\n";

/* An entry the journal was given, its strings copied. */
struct fx_entry {
	char *type, *record, *job, *rule, *detail;
};

static struct {
	char dir[64], db[96];
	struct rtn_inv *inv;
	struct rtn_ruleset *rules;
	struct rtn_engine eng;
	struct fx_entry *v; /* the entries, those of the open transaction last */
	size_t n, cap, mark;
	int marks, syncs, undos; /* transactions begun, syncs asked for, rollbacks */
	bool fail_sync;
} FX;

/* Two backends: b1 and b2, retrying from 1 minute to 1 hour, 3 attempts. */
static struct rtn_backend_conf fx_backends[2] = {{.name = (char *)"b1",
                                                  .max_inflight = 64,
                                                  .retry_min_ms = 60000,
                                                  .retry_max_ms = 3600000,
                                                  .max_attempts = 3},
                                                 {.name = (char *)"b2",
                                                  .max_inflight = 64,
                                                  .retry_min_ms = 60000,
                                                  .retry_max_ms = 3600000,
                                                  .max_attempts = 3}};
#define fx_b1  (fx_backends[0])
#define fx_b2  (fx_backends[1])
#define FX_ALL (RTN_BACT_DELETE | RTN_BACT_ANONYMIZE)

static inline char *fx_dup(const char *s)
{
	return s ? rtn_xstrdup(s) : NULL;
}

static inline void fx_entry_free(struct fx_entry *x)
{
	free(x->type);
	free(x->record);
	free(x->job);
	free(x->rule);
	free(x->detail);
}

static inline void fx_j_mark(void *ctx)
{
	(void)ctx;
	FX.marks++;
	FX.mark = FX.n;
}
static inline int fx_j_append(void *ctx, const struct rtn_audit_entry *e)
{
	(void)ctx;
	RTN_GROW(FX.v, FX.n + 1, FX.cap);
	struct fx_entry *x = &FX.v[FX.n++];
	x->type = fx_dup(e->type);
	x->record = fx_dup(e->record);
	x->job = fx_dup(e->job);
	x->rule = fx_dup(e->rule);
	x->detail = e->detail ? json_dumps(e->detail, JSON_SORT_KEYS | JSON_COMPACT)
	                      : fx_dup(e->detail_json);
	return 0;
}
static inline int fx_j_sync(void *ctx)
{
	(void)ctx;
	FX.syncs++;
	return FX.fail_sync ? -ENOSPC : 0;
}
static inline void fx_j_undo(void *ctx)
{
	(void)ctx;
	while (FX.n > FX.mark)
		fx_entry_free(&FX.v[--FX.n]);
	FX.undos++;
}
static const struct rtn_journal fx_journal = {fx_j_mark, fx_j_append, fx_j_sync, fx_j_undo, NULL};

/* A finished rule set from text, which must parse without an error (free with
 * rtn_ruleset_free, then free). */
static inline struct rtn_ruleset *fx_ruleset(const char *text)
{
	struct rtn_diags d;
	rtn_diags_init(&d);
	struct rtn_ruleset *rs = rtn_xcalloc(1, sizeof(*rs));
	rtn_ruleset_init(rs);
	int r = rtn_rules_parse("t.rules", text, strlen(text), rs, &d);
	if (r == 0)
		r = rtn_ruleset_finish(rs, &d);
	char *msg = rtn_test_diags_joined(&d);
	ck_assert_msg(r == 0, "rules: %s", msg);
	free(msg);
	rtn_diags_fini(&d);
	return rs;
}

/* Replace the engine's rules with text, which must parse without an error. */
static inline void fx_rules(const char *text)
{
	struct rtn_ruleset *rs = fx_ruleset(text);
	rtn_engine_set_rules(&FX.eng, rs);
	if (FX.rules) {
		rtn_ruleset_free(FX.rules);
		free(FX.rules);
	}
	FX.rules = rs;
}

static inline void fx_setup(void)
{
	memset(&FX, 0, sizeof(FX));
	rtn_time_set_format_zone(rtn_zone_utc());
	strcpy(FX.dir, "/tmp/test_fixture.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(FX.dir));
	snprintf(FX.db, sizeof(FX.db), "%s/inventory.db", FX.dir);
	char err[256];
	ck_assert_int_eq(rtn_inv_open(FX.db, &FX.inv, err, sizeof(err)), 0);
	rtn_engine_init(&FX.eng, FX.inv, NULL);
	FX.eng.journal = &fx_journal;
	fx_rules(FX_RULES);
}

static inline void fx_teardown(void)
{
	ck_assert_int_eq(FX.eng.depth, 0); /* no test leaves a transaction open */
	rtn_engine_fini(&FX.eng);
	rtn_inv_close(FX.inv);
	rtn_ruleset_free(FX.rules);
	free(FX.rules);
	for (size_t i = 0; i < FX.n; i++)
		fx_entry_free(&FX.v[i]);
	free(FX.v);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", FX.dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* How many entries of type the journal holds (of record, unless NULL). */
static inline size_t fx_count(const char *type, const char *record)
{
	size_t k = 0;
	for (size_t i = 0; i < FX.n; i++)
		k += !strcmp(FX.v[i].type, type) &&
		     (!record || (FX.v[i].record && !strcmp(FX.v[i].record, record)));
	return k;
}

/* The last entry of type (of record, unless NULL), or NULL. */
static inline const struct fx_entry *fx_last(const char *type, const char *record)
{
	for (size_t i = FX.n; i-- > 0;)
		if (!strcmp(FX.v[i].type, type) &&
		    (!record || (FX.v[i].record && !strcmp(FX.v[i].record, record))))
			return &FX.v[i];
	return NULL;
}

/* The detail of the last entry of type, as compact JSON text with sorted keys (caller
 * frees), or NULL when there is none. */
static inline char *fx_detail(const char *type)
{
	const struct fx_entry *x = fx_last(type, NULL);
	json_t *d = x && x->detail ? json_loads(x->detail, 0, NULL) : NULL;
	char *text = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(d);
	return text;
}

/* record.put of the JSON text, at now: the return of rtn_engine_put_prepared (the text
 * must be valid). The result is dropped unless out is given. */
static inline int fx_put_json(const char *text, rtn_time_t now, json_t **out)
{
	char err[512];
	json_error_t je;
	json_t *args = json_loads(text, 0, &je), *details = NULL, *result = NULL;
	ck_assert_msg(args != NULL, "%s: %s", text, je.text);
	struct rtn_put *p = NULL;
	int r = rtn_put_prepare(args, now, &p, &details, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %s", text, err);
	r = rtn_engine_put_prepared(&FX.eng, p, now, &result, err, sizeof(err));
	rtn_put_free(p);
	json_decref(args);
	if (out)
		*out = result;
	else
		json_decref(result);
	return r;
}

/* Put a record of category with a "due" event at due, of subject and naming backend
 * (either may be NULL), at FX_NOW. Must succeed. */
static inline void fx_doc_at(const char *id, const char *category, const char *subject,
                             const char *backend, rtn_time_t due)
{
	json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:{s:s}, s:{s:I}}", "id", id, "category",
	                      category, "subject", subject, "backend", backend, "locator", "path",
	                      id, "events", "due", (json_int_t)due);
	char *text = json_dumps(o, JSON_COMPACT);
	ck_assert_int_eq(fx_put_json(text, FX_NOW, NULL), 0);
	free(text);
	json_decref(o);
}

static inline void fx_doc(const char *id, const char *category, const char *subject)
{
	fx_doc_at(id, category, subject, NULL, FX_DUE);
}

/* The stored row of id (must exist); free with rtn_inv_row_fini. */
static inline void fx_row(const char *id, struct rtn_inv_row *row)
{
	int r = rtn_inv_get(FX.inv, id, row);
	ck_assert_msg(r == 0, "record %s: %d", id, r);
}

/* The state of record id ("(none)" if there is no such record), in a static buffer. */
static inline const char *fx_state(const char *id)
{
	static char buf[16];
	struct rtn_inv_row row;
	if (rtn_inv_get(FX.inv, id, &row) < 0)
		return "(none)";
	snprintf(buf, sizeof(buf), "%s", row.state);
	rtn_inv_row_fini(&row);
	return buf;
}

/* The next_at of record id's stored schedule. */
static inline rtn_time_t fx_next_at(const char *id)
{
	struct rtn_inv_row row;
	fx_row(id, &row);
	rtn_time_t t = row.sched.next_at;
	rtn_inv_row_fini(&row);
	return t;
}

static inline int64_t fx_rid(const char *id)
{
	struct rtn_inv_row row;
	fx_row(id, &row);
	int64_t rid = row.rid;
	rtn_inv_row_fini(&row);
	return rid;
}

/* The job id the engine gives record id's action by rule due at due. */
static inline void fx_job_id(const char *id, const char *action, const char *rule, rtn_time_t due,
                             char out[RTN_JOB_ID_LEN])
{
	rtn_job_id(fx_rid(id), id, action, rule, due, out);
}

/* The state of job ("(none)" if there is none), in a static buffer. */
static inline const char *fx_job_state(const char *job)
{
	static char buf[16];
	struct rtn_inv_job j;
	if (rtn_inv_job_get(FX.inv, job, &j) < 0)
		return "(none)";
	snprintf(buf, sizeof(buf), "%s", j.state);
	rtn_inv_job_fini(&j);
	return buf;
}

/* The next_attempt of job, which must exist. */
static inline rtn_time_t fx_next_retry(const char *job)
{
	struct rtn_inv_job j;
	ck_assert_int_eq(rtn_inv_job_get(FX.inv, job, &j), 0);
	rtn_time_t t = j.next_attempt;
	rtn_inv_job_fini(&j);
	return t;
}

/* Move what is due at now to queued (or review); the number moved. */
static inline size_t fx_advance(rtn_time_t now)
{
	size_t n = 0;
	ck_assert_int_eq(rtn_engine_advance(&FX.eng, now, 1000, &n), 0);
	return n;
}

/* rtn_jobs_take for b at now, which must succeed; the number taken. */
static inline size_t fx_take(const struct rtn_backend_conf *b, unsigned actions, rtn_time_t now,
                             size_t max, struct rtn_outjob **out)
{
	size_t n = 99;
	ck_assert_int_eq(rtn_jobs_take(&FX.eng, b, actions, now, max, out, &n), 0);
	return n;
}

/* A backend's result in a transaction of its own, which must commit. */
static inline void fx_result(const struct rtn_backend_conf *b, const char *job, enum rtn_bstatus st,
                             bool retry, rtn_time_t now, uint64_t rnd,
                             const struct rtn_outjob *sent, struct rtn_job_outcome *o)
{
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_jobs_result(&FX.eng, b, job, st,
	                                 st == RTN_BST_FAILED ? "it broke" : NULL, retry, now, rnd,
	                                 sent, o),
	                 0);
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), 0);
}

/* Bring record id (of backend b1) due, send its job and have it done at its deadline:
 * the one job's id in job (may be NULL). */
static inline void fx_act(const char *id, rtn_time_t at, char *job)
{
	fx_advance(at);
	struct rtn_outjob *out;
	size_t n = fx_take(&fx_b1, FX_ALL, at, 1, &out);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(out[0].record, id);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, out[0].job, RTN_BST_DONE, false, at, 0, &out[0], &o);
	ck_assert(o.finished);
	if (job)
		snprintf(job, RTN_JOB_ID_LEN, "%s", out[0].job);
	rtn_outjobs_free(out, n);
}

/* The time of a JSON time (an RFC 3339 string); RTN_TIME_NONE for anything else. */
static inline rtn_time_t fx_jtime(const json_t *j)
{
	rtn_time_t t = RTN_TIME_NONE;
	if (!json_is_string(j) || rtn_time_parse(json_string_value(j), &t) < 0)
		return RTN_TIME_NONE;
	return t;
}

/* A string member of a JSON object ("(none)" when it is not a string). */
static inline const char *fx_jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(none)";
}

/* Put the t.doc record id of subject (may be NULL), bring it due and send its job: the
 * job's id in job. */
static inline void fx_send(const char *id, const char *subject, char job[RTN_JOB_ID_LEN])
{
	fx_doc(id, "t.doc", subject);
	ck_assert_int_eq(fx_advance(FX_DUE), 1);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	ck_assert_str_eq(out[0].record, id);
	snprintf(job, RTN_JOB_ID_LEN, "%s", out[0].job);
	rtn_outjobs_free(out, 1);
}

/* fx_send(), then the job fails at FX_DUE: to be retried, or for good. */
static inline void fx_send_failed(const char *id, bool retry, char job[RTN_JOB_ID_LEN])
{
	fx_send(id, NULL, job);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, job, RTN_BST_FAILED, retry, FX_DUE, 0, NULL, &o);
	ck_assert(retry ? o.retry : o.dead);
}

/* The deleted_at of record id (RTN_TIME_NONE while it is live). */
static inline rtn_time_t fx_deleted_at(const char *id)
{
	struct rtn_inv_row row;
	fx_row(id, &row);
	rtn_time_t t = row.deleted_at;
	rtn_inv_row_fini(&row);
	return t;
}

/* Place a hold through the inventory alone: no record is decided again (as
 * if it were placed while a job was out). */
static inline void fx_raw_hold(const char *kind, const char *value, const char *hold)
{
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_inv_hold_add(FX.inv, kind, value, hold, "test", "uid:0", FX_NOW), 0);
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), 0);
	rtn_engine_refresh(&FX.eng);
}

#endif
