/* ops.c - what people do to records: holds, reviews, erasure requests, job retries */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "nextaction.h"
#include "util.h"

/* Re-decide every record of a selector; *count is the number now in state want (or
 * every live one when want is NULL). A hold stops what has not left yet: a job waiting
 * for its retry, or dead, is cancelled (rtn_engine_redecide); a record whose job is in
 * flight shows as held (the job cannot be called back; its result is still recorded).
 * Caller's transaction. */
static int redecide_selected(struct rtn_engine *e, const char *kind, const char *value,
                             rtn_time_t now, const char *want, size_t *count)
{
	int64_t *rids;
	int n = rtn_inv_select(e->inv, kind, value, &rids), r = 0;
	*count = 0;
	for (int i = 0; i < n && r == 0; i++) {
		bool changed;
		r = rtn_engine_redecide(e, rids[i], now, false, &changed, NULL);
		struct rtn_inv_row row;
		if (r == 0 && (r = rtn_inv_get_rid(e->inv, rids[i], &row)) == 0) {
			*count += !want || !strcmp(row.state, want);
			rtn_inv_row_fini(&row);
		}
	}
	if (n >= 0)
		free(rids);
	return n < 0 ? -EIO : r;
}

int rtn_ops_hold(struct rtn_engine *e, bool place, const char *kind, const char *value,
                 const char *hold, const char *reason, const char *by, rtn_time_t now,
                 size_t *count)
{
	*count = 0;
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	r = place ? rtn_inv_hold_add(e->inv, kind, value, hold, reason, by, now)
	          : rtn_inv_hold_remove(e->inv, kind, value, hold);
	if (r == 0) {
		rtn_engine_refresh(e);
		r = redecide_selected(e, kind, value, now, place ? "held" : NULL, count);
	}
	r = rtn_engine_end(e, r);
	rtn_engine_refresh(e);
	return r;
}

static int hold_row(const struct rtn_inv_hold *h, void *ctx)
{
	void **x = ctx;
	const struct rtn_engine *e = x[0];
	char ps[RTN_PSEUDONYM_LEN + 1];
	const char *value =
	    !strcmp(h->kind, "subject") ? rtn_engine_pseudonym(e, h->value, ps) : h->value;
	json_array_append_new(x[1],
	                      json_pack("{s:s, s:s, s:s, s:s?, s:o, s:s?}", "hold", h->hold,
	                                "selector", h->kind, "value", value, "reason", h->reason,
	                                "since", rtn_time_to_json(h->placed_at), "by", h->by));
	return 0;
}

int rtn_ops_holds_list(struct rtn_engine *e, const char *kind, const char *value, const char *hold,
                       json_t **result)
{
	json_t *a = json_array();
	void *x[2] = {e, a};
	if (rtn_inv_holds_list(e->inv, kind, value, hold, hold_row, x) < 0) {
		json_decref(a);
		return -EIO;
	}
	*result = json_pack("{s:o, s:I}", "holds", a, "count", (json_int_t)json_array_size(a));
	return 0;
}

/* The review of row's next action: the engine's round, or, when the current rules do not
 * say (they changed since it fell due), the stored schedule's action in its first round. */
static int review_of(struct rtn_engine *e, const struct rtn_inv_row *row, rtn_time_t now,
                     struct rtn_review *rv)
{
	int r = rtn_engine_review(e, row, now, rv);
	if (r != -ENOENT)
		return r; /* 0, or -EIO: holds unknown, so is the round */
	struct rtn_next next;
	rtn_next_action(&row->sched, row->sched.next_at, &next);
	memset(rv, 0, sizeof(*rv));
	rv->action = next.action;
	rv->rule = next.rule ? rtn_ruleset_find(e->rules, next.rule) : NULL;
	rv->due = rv->at = row->sched.next_at;
	rv->round = 1;
	rv->rejected = RTN_TIME_NONE;
	rv->every = NULL;
	rtn_job_id(row->rid, row->rec.id, next.action, next.rule ? next.rule : "",
	           row->sched.next_at, rv->job);
	rv->rule_name = next.rule;
	return 0;
}

/* A review in stages: the stage it waits on, its group, how many, who approved before. */
static void stage_json(json_t *x, const struct rtn_review *rv)
{
	json_t *by = json_array();
	for (unsigned i = 0; i < rv->napproved; i++) {
		char who[32];
		snprintf(who, sizeof(who), "uid:%u", (unsigned)rv->approved_by[i]);
		json_array_append_new(by, json_pack("{s:i, s:s, s:s, s:o}", "stage", (int)i + 1,
		                                    "group", rv->rule->review_groups[i], "by", who,
		                                    "at", rtn_time_to_json(rv->approved_at[i])));
	}
	json_object_set_new(x, "stage", json_integer(rv->stage));
	json_object_set_new(x, "stages", json_integer(rv->nstages));
	json_object_set_new(x, "group", json_string(rv->group));
	json_object_set_new(x, "approved", by);
	if (rv->restarted)
		json_object_set_new(x, "restarted", json_true());
}

static bool in_group(const struct rtn_reviewer *rw, gid_t g)
{
	if (!rw)
		return false;
	if (rw->gid == g)
		return true;
	for (size_t i = 0; i < rw->ngroups; i++)
		if (rw->groups[i] == g)
			return true;
	return false;
}

json_t *rtn_ops_review_list(struct rtn_engine *e, size_t limit)
{
	json_t *ids = rtn_inv_ids_in_state(e->inv, "review", limit), *a = json_array();
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id)
	{
		struct rtn_inv_row row;
		if (rtn_inv_get(e->inv, json_string_value(id), &row) < 0)
			continue;
		struct rtn_review rv;
		if (review_of(e, &row, row.sched.next_at, &rv) < 0) {
			rtn_inv_row_fini(&row);
			continue;
		}
		const char *rule = rv.rule_name;
		json_t *x =
		    json_pack("{s:s, s:s, s:s?, s:s, s:o, s:s?, s:s?, s:i}", "id", row.rec.id,
		              "category", row.rec.category, "subject", row.rec.subject, "action",
		              rv.action, "due", rtn_time_to_json(row.sched.next_at), "rule", rule,
		              "basis", rv.rule ? rv.rule->basis : NULL, "round", (int)rv.round);
		if (rv.rejected != RTN_TIME_NONE)
			json_object_set_new(x, "rejected", rtn_time_to_json(rv.rejected));
		if (rv.every) {
			char *every = rtn_span_format(rv.every);
			json_object_set_new(x, "every", json_string(every));
			free(every);
		}
		if (rv.nstages)
			stage_json(x, &rv);
		json_array_append_new(a, x);
		rtn_inv_row_fini(&row);
	}
	json_decref(ids);
	return a;
}

int rtn_ops_review(struct rtn_engine *e, const char *id, bool approve, rtn_time_t now,
                   json_t **result, char *job_out, char *err, size_t errlen)
{
	return rtn_ops_review_as(e, id, approve, NULL, now, result, job_out, err, errlen);
}

int rtn_ops_review_as(struct rtn_engine *e, const char *id, bool approve,
                      const struct rtn_reviewer *rw, rtn_time_t now, json_t **result, char *job_out,
                      char *err, size_t errlen)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(e->inv, id, &row);
	if (r == -ENOENT)
		snprintf(err, errlen, "no record \"%.128s\"", id);
	if (r < 0)
		return r;
	if (strcmp(row.state, "review") != 0) {
		snprintf(err, errlen, "record \"%.128s\" is %s, not waiting for review", id,
		         row.state);
		rtn_inv_row_fini(&row);
		return -EEXIST;
	}
	/* The action keeps its id through every round: the mark names it, and an approval
	 * sends it under it. */
	struct rtn_review rv;
	if (review_of(e, &row, now, &rv) < 0) {
		snprintf(err, errlen, "the holds of record \"%.128s\" cannot be read", id);
		rtn_inv_row_fini(&row);
		return -EIO;
	}
	const char *action = rv.action;
	const char *rule = rv.rule_name;
	snprintf(job_out, RTN_JOB_ID_LEN, "%s", rv.job);
	/* In stages: the peer's groups decide, before anything changes. */
	if (rv.nstages && !in_group(rw, rv.gid)) {
		snprintf(err, errlen,
		         "uid %u is not in group \"%s\": the review of record \"%.128s\" waits on "
		         "stage %u of %u, which a member of \"%s\" %s",
		         rw ? (unsigned)rw->uid : 0u, rv.group, id, rv.stage, rv.nstages, rv.group,
		         approve ? "approves" : "rejects");
		rtn_inv_row_fini(&row);
		return -EPERM;
	}
	for (unsigned i = 0; approve && rv.nstages && i < rv.napproved; i++) {
		if (rv.approved_by[i] != rw->uid)
			continue;
		snprintf(err, errlen,
		         "uid %u approved stage %u of the review of record \"%.128s\" already: "
		         "stage %u of %u needs another person",
		         (unsigned)rw->uid, i + 1, id, rv.stage, rv.nstages);
		rtn_inv_row_fini(&row);
		return -EPERM;
	}
	bool to_next = approve && rv.nstages && rv.stage < rv.nstages;
	rtn_time_t next_review = RTN_TIME_NONE;
	if (!approve && rv.every && rtn_time_add(e->zone, now, rv.every, &next_review) < 0)
		next_review = RTN_TIME_NONE; /* beyond the calendar: rejected for good */
	char *mark = to_next ? rtn_engine_review_stage_mark(&rv, rw->uid, now)
	                     : rtn_engine_review_mark(approve, rv.job, now, rv.round);
	r = rtn_engine_begin(e);
	bool changed;
	if (r == 0 && (rtn_inv_set_review_mark(e->inv, row.rid, mark) < 0 ||
	               rtn_engine_redecide(e, row.rid, now, false, &changed, NULL) < 0 ||
	               rtn_engine_commit(e) < 0))
		r = -EIO;
	if (r < 0) {
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		rtn_engine_rollback(e);
	} else {
		struct rtn_inv_row now_row;
		const char *state = "?";
		if (rtn_inv_get_rid(e->inv, row.rid, &now_row) == 0)
			state = now_row.state;
		*result =
		    json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:i}", "id", row.rec.id, "decision",
		              approve ? "approved" : "rejected", "action", action, "job", rv.job,
		              "rule", rule, "state", state, "round", (int)rv.round);
		if (next_review != RTN_TIME_NONE)
			json_object_set_new(*result, "next_review", rtn_time_to_json(next_review));
		if (rv.nstages) {
			json_object_set_new(*result, "stage", json_integer(rv.stage));
			json_object_set_new(*result, "stages", json_integer(rv.nstages));
			json_object_set_new(*result, "group", json_string(rv.group));
			if (rv.restarted)
				json_object_set_new(*result, "restarted", json_true());
		}
		if (to_next) {
			json_object_set_new(*result, "next_stage", json_integer(rv.stage + 1));
			json_object_set_new(*result, "next_group",
			                    json_string(rv.rule->review_groups[rv.stage]));
		}
		if (strcmp(state, "?") != 0)
			rtn_inv_row_fini(&now_row);
	}
	free(mark);
	rtn_inv_row_fini(&row);
	return r;
}

struct erase_ctx {
	struct rtn_engine *e;
	rtn_time_t now;
	json_t *scheduled, *retained, *anonymized;
	size_t pending;
};

/* Sort one record of an erasure's subject: scheduled (its deletion is due or set), retained
 * (a hold, which ends, so the request waits for it; a keep rule or keep forever, which the
 * request does not wait for; or no rule at all, a gap the request waits for), or already
 * anonymised (not covered: nothing left to erase). */
static int erase_row(const struct rtn_inv_row *row, void *ctx)
{
	struct erase_ctx *x = ctx;
	if (row->deleted_at != RTN_TIME_NONE)
		return 0;
	if (row->anonymized_at != RTN_TIME_NONE) {
		json_array_append_new(x->anonymized,
		                      json_pack("{s:s, s:s, s:o}", "id", row->rec.id, "category",
		                                row->rec.category, "at",
		                                rtn_time_to_json(row->anonymized_at)));
		return 0;
	}
	json_t *ex;
	if (rtn_engine_explain(x->e, row->rec.id, x->now, &ex) < 0)
		return 0;
	json_t *dec = json_object_get(ex, "decision"), *holds = json_object_get(ex, "holds");
	const char *kept_by = json_string_value(json_object_get(dec, "retained_by"));
	const struct rtn_rule *k = kept_by ? rtn_ruleset_find(x->e->rules, kept_by) : NULL;
	json_t *del = NULL, *ent;
	size_t i;
	json_array_foreach(json_object_get(ex, "schedule"), i, ent)
	{
		if (!strcmp(json_string_value(json_object_get(ent, "action")), "delete"))
			del = ent;
	}
	rtn_time_t at = RTN_TIME_NONE;
	if (del)
		rtn_time_parse(json_string_value(json_object_get(del, "at")), &at);
	if (json_array_size(holds)) {
		json_array_append_new(x->retained,
		                      json_pack("{s:s, s:s, s:s, s:s, s:O, s:b}", "id", row->rec.id,
		                                "category", row->rec.category, "rule", "hold",
		                                "basis", "a legal hold is in place", "holds", holds,
		                                "pending", 1));
		x->pending++;
	} else if (kept_by && (!del || at > x->now)) {
		json_array_append_new(x->retained,
		                      json_pack("{s:s, s:s, s:s, s:s?, s:O, s:b}", "id",
		                                row->rec.id, "category", row->rec.category, "rule",
		                                kept_by, "basis", k ? k->basis : NULL, "until",
		                                del ? json_object_get(del, "at") : json_null(),
		                                "pending", 0));
	} else if (del) {
		json_array_append_new(x->scheduled,
		                      json_pack("{s:s, s:O, s:O, s:b}", "id", row->rec.id, "at",
		                                json_object_get(del, "at"), "rule",
		                                json_object_get(del, "rule"), "review",
		                                !strcmp(row->state, "review")));
		x->pending++;
	} else {
		json_array_append_new(
		    x->retained,
		    json_pack("{s:s, s:s, s:n, s:s, s:s, s:b}", "id", row->rec.id, "category",
		              row->rec.category, "rule", "basis", "no rule deletes it", "reason",
		              json_string_value(json_object_get(dec, "reason")), "pending", 1));
		x->pending++;
	}
	json_decref(ex);
	return 0;
}

/* The deadline of an erasure request: the earliest of what applies to each record it
 * covers (its namespace's erasure-deadline, else the default), the default when it covers
 * none; a tie goes to the default, then to the first namespace by name. */
struct erase_deadline {
	const struct rtn_ruleset *rules;
	const struct rtn_zone *zone;
	rtn_time_t now, fallback, due;
	const char *set_by; /* a namespace's name (the rules'), or NULL: the default */
	bool any;
};

static rtn_time_t deadline_after(const struct rtn_zone *z, rtn_time_t now,
                                 const struct rtn_span *span)
{
	rtn_time_t due;
	return rtn_time_add(z, now, span, &due) < 0 ? now : due;
}

/* Whether (due, by) is stricter than what x holds; NULL by (the default) sorts first. */
static bool stricter(const struct erase_deadline *x, rtn_time_t due, const char *by)
{
	if (!x->any || due != x->due)
		return !x->any || due < x->due;
	if (!by || !x->set_by)
		return !by && x->set_by;
	return strcmp(by, x->set_by) < 0;
}

static int deadline_row(const struct rtn_inv_row *row, void *ctx)
{
	struct erase_deadline *x = ctx;
	if (row->deleted_at != RTN_TIME_NONE || row->anonymized_at != RTN_TIME_NONE)
		return 0; /* not covered (what rtn_inv_erasure_add covers) */
	const struct rtn_namespace *ns = rtn_ruleset_namespace(x->rules, row->rec.category);
	const char *by = ns && ns->has_erasure_deadline ? ns->name : NULL;
	rtn_time_t due = by ? deadline_after(x->zone, x->now, &ns->erasure_deadline) : x->fallback;
	if (stricter(x, due, by)) {
		x->due = due;
		x->set_by = by;
	}
	x->any = true;
	return 0;
}

int rtn_ops_erase_deadline(struct rtn_engine *e, const char *subject, const struct rtn_span *deflt,
                           rtn_time_t now, rtn_time_t *due, const char **set_by)
{
	struct erase_deadline x = {e->rules, e->zone, now,  deadline_after(e->zone, now, deflt),
	                           0,        NULL,    false};
	int r = rtn_inv_foreach_subject(e->inv, subject, deadline_row, &x);
	*due = x.any ? x.due : x.fallback;
	*set_by = x.any ? x.set_by : NULL;
	return r < 0 ? -EIO : 0;
}

int rtn_ops_erase(struct rtn_engine *e, const char *subject, const char *reason, const char *by,
                  const struct rtn_span *deadline, rtn_time_t now, json_t **result)
{
	char request[32];
	rtn_time_t due = now;
	const char *set_by = NULL;
	int r = rtn_engine_begin(e);
	size_t n = 0, covered = 0;
	/* in the request's transaction: the records read are the ones it covers */
	if (r == 0)
		r = rtn_ops_erase_deadline(e, subject, deadline, now, &due, &set_by);
	if (r == 0)
		r = rtn_inv_erasure_add(e->inv, subject, reason, by, now, due, set_by, request,
		                        &covered);
	if (r == 0) {
		rtn_engine_refresh(e);
		r = redecide_selected(e, "subject", subject, now, NULL, &n);
	}
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0) {
		rtn_engine_rollback(e);
		rtn_engine_refresh(e);
		return -EIO;
	}
	struct erase_ctx x = {e, now, json_array(), json_array(), json_array(), 0};
	rtn_inv_foreach_subject(e->inv, subject, erase_row, &x);
	*result = json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:o, s:o, s:o}", "request",
	                    request, "subject", subject, "requested", rtn_time_to_json(now),
	                    "deadline", rtn_time_to_json(due), "deadline_set_by",
	                    set_by ? set_by : RTN_OPS_DEADLINE_DEFAULT, "records",
	                    (json_int_t)covered, "pending", (json_int_t)x.pending, "scheduled",
	                    x.scheduled, "retained", x.retained, "anonymized", x.anonymized);
	return 0;
}

json_t *rtn_ops_erasures_status(struct rtn_engine *e, rtn_time_t now)
{
	json_t *open = rtn_inv_erasures_open(e->inv);
	if (!open)
		return NULL;
	json_t *out = json_array(), *req;
	size_t i;
	json_array_foreach(open, i, req)
	{
		rtn_time_t deadline = RTN_TIME_NONE;
		rtn_time_parse(json_string_value(json_object_get(req, "deadline")), &deadline);
		const char *set_by = json_string_value(json_object_get(req, "deadline_set_by"));
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O, s:s, s:O, s:O, s:b}",
		                                     "request", json_object_get(req, "request"),
		                                     "subject", json_object_get(req, "subject"),
		                                     "requested", json_object_get(req, "requested"),
		                                     "deadline", json_object_get(req, "deadline"),
		                                     "deadline_set_by",
		                                     set_by ? set_by : RTN_OPS_DEADLINE_DEFAULT,
		                                     "reason", json_object_get(req, "reason"),
		                                     "pending", json_object_get(req, "pending"),
		                                     "at_risk", deadline - now < 86400));
	}
	json_decref(open);
	return out;
}

/* Open requests of which nothing is pending (an empty array when there are none), or NULL
 * when they cannot be read. */
static json_t *settled(struct rtn_inv *inv)
{
	json_t *open = rtn_inv_erasures_open(inv), *req;
	if (!open)
		return NULL;
	json_t *done = json_array();
	size_t i;
	json_array_foreach(open, i, req)
	{
		if (json_integer_value(json_object_get(req, "pending")) <= 0)
			json_array_append(done, req);
	}
	json_decref(open);
	return done;
}

/* The erase.completed entry of a request, through the engine's journal. */
static int audit_completed(struct rtn_engine *e, const json_t *q)
{
	static const char *const keys[] = {"records", "deleted", "anonymized", "retained",
	                                   "forgotten"};
	json_int_t n[5];
	for (size_t k = 0; k < 5; k++)
		n[k] = json_integer_value(json_object_get(q, keys[k]));
	char ps[RTN_PSEUDONYM_LEN + 1];
	const char *subject =
	    rtn_engine_pseudonym(e, json_string_value(json_object_get(q, "subject")), ps);
	json_t *detail = json_pack("{s:O, s:s?, s:O, s:O, s:I, s:I, s:I, s:I, s:I}", "request",
	                           json_object_get(q, "request"), "subject", subject, "requested",
	                           json_object_get(q, "requested"), "deadline",
	                           json_object_get(q, "deadline"), "records", n[0], "deleted", n[1],
	                           "anonymized", n[2], "retained", n[3], "forgotten", n[4]);
	if (!detail)
		return -EIO;
	struct rtn_audit_entry entry = {
	    .type = "erase.completed", .actor = "daemon", .detail = detail};
	int r = rtn_engine_audit(e, &entry);
	json_decref(detail);
	return r;
}

int rtn_ops_erasures_settle(struct rtn_engine *e, rtn_time_t now, json_t **completed)
{
	if (completed)
		*completed = NULL;
	/* Most calls find nothing to close: a read, no transaction of its own. */
	json_t *done = settled(e->inv);
	if (!done)
		return -EIO; /* unknown: nothing is closed, the next pass looks again */
	if (json_array_size(done) == 0) {
		json_decref(done);
		return 0;
	}
	/* What the read found is what closes: nothing else writes the inventory between it
	 * and the transaction (the daemon is its only writer, on one thread). */
	int r = rtn_engine_begin(e);
	if (r < 0) {
		json_decref(done);
		return r;
	}
	size_t i;
	json_t *req;
	json_array_foreach(done, i, req)
	{
		if (r == 0) {
			char ps[RTN_PSEUDONYM_LEN + 1];
			const char *subject = json_string_value(json_object_get(req, "subject"));
			r = rtn_inv_erasure_complete(
			    e->inv, json_string_value(json_object_get(req, "request")),
			    rtn_engine_pseudonym(e, subject, ps), now);
		}
		if (r == 0)
			r = audit_completed(e, req);
	}
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0) {
		rtn_engine_rollback(e);
		json_decref(done);
		return -EIO;
	}
	rtn_engine_refresh(e);
	size_t n = json_array_size(done);
	if (completed)
		*completed = done;
	else
		json_decref(done);
	return (int)n;
}

int rtn_ops_jobs_retry(struct rtn_engine *e, const char *job, const char *const *backends,
                       size_t nbackends, rtn_time_t now, size_t *count)
{
	char **ids;
	*count = 0;
	int n = rtn_inv_jobs_dead(e->inv, job, &ids), r = n < 0 ? -EIO : 0;
	if (r == 0)
		r = rtn_engine_begin(e);
	for (int i = 0; i < n && r == 0; i++) {
		struct rtn_inv_job j;
		if (rtn_inv_job_get(e->inv, ids[i], &j) < 0) {
			r = -EIO;
			break;
		}
		/* A job for a backend the configuration lacks stays dead: retrying cannot
		 * reach anyone. */
		bool known = false;
		for (size_t k = 0; k < nbackends && !known; k++)
			known = !strcmp(backends[k], j.backend);
		if (!known) {
			rtn_inv_job_fini(&j);
			continue;
		}
		free(j.state);
		j.state = rtn_xstrdup("retry");
		j.attempts = 0;
		j.next_attempt = now;
		j.updated = now;
		/* Requeued only if the current decision still wants it: a hold or a changed
		 * rule cancels it instead (rtn_engine_redecide), and it is not counted. */
		bool changed;
		struct rtn_inv_job now_j;
		if (!strcmp(j.action, "notice")) {
			/* A notice: its record is not touched; whether it still goes is told
			 * when it is taken (moot, moved or held: cancelled then). */
			if (rtn_inv_job_put(e->inv, &j) < 0)
				r = -EIO;
			else
				*count += 1;
			rtn_inv_job_fini(&j);
			continue;
		}
		if (rtn_inv_job_put(e->inv, &j) < 0 ||
		    rtn_inv_mark(e->inv, j.rid, "queued", RTN_TIME_NONE, now) < 0 ||
		    rtn_engine_redecide(e, j.rid, now, false, &changed, NULL) < 0 ||
		    rtn_inv_job_get(e->inv, j.job, &now_j) < 0) {
			r = -EIO;
		} else {
			*count += !strcmp(now_j.state, "retry");
			rtn_inv_job_fini(&now_j);
		}
		rtn_inv_job_fini(&j);
	}
	if (n >= 0 && r == 0)
		r = rtn_engine_commit(e);
	if (n >= 0 && r < 0)
		rtn_engine_rollback(e);
	for (int i = 0; i < n; i++)
		free(ids[i]);
	if (n >= 0)
		free(ids);
	return r;
}

int rtn_ops_preview(struct rtn_engine *e, struct rtn_put *p, long guard, rtn_time_t until,
                    rtn_time_t now, json_t **result, char *err, size_t errlen)
{
	*result = NULL;
	if (e->depth) {
		snprintf(err, errlen, "a preview cannot run inside another transaction");
		return -EBUSY;
	}
	size_t n;
	rtn_put_id(p, 0, &n);
	const char **ids = rtn_xcalloc(n ? n : 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = rtn_put_id(p, i, &n);
	json_t *before = NULL, *after = NULL, *put = NULL;
	int r = rtn_engine_begin(e);
	if (r < 0) {
		free(ids);
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		return -EIO;
	}
	/* The put runs as it would (no entries: no hook), and the plan of its records is read
	 * before and after; then all of it is rolled back. */
	if (rtn_engine_plan_ids(e, ids, n, until, &before) < 0)
		r = -EIO;
	if (r == 0)
		r = rtn_engine_put_prepared(e, p, now, &put, err, errlen);
	if (r == 0 && rtn_engine_plan_ids(e, ids, n, until, &after) < 0)
		r = -EIO;
	int64_t live = r == 0 ? rtn_inv_live_count(e->inv) : 0;
	rtn_engine_rollback(e);
	free(ids);
	if (r == -EIO)
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
	if (r < 0) {
		json_decref(before);
		json_decref(after);
		json_decref(put);
		return r;
	}
	size_t ndue;
	rtn_put_due(p, &ndue);
	json_object_del(put, "records");
	json_object_set_new(put, "due_now", json_integer((json_int_t)ndue));
	json_object_set_new(put, "guard_limit",
	                    guard > 0 ? json_integer(rtn_guard_limit(guard, live)) : json_null());
	json_object_set_new(put, "until", rtn_time_to_json(until));
	json_object_set_new(put, "before", before);
	json_object_set_new(put, "after", after);
	*result = put;
	return 0;
}

int rtn_ops_run(struct rtn_engine *e, rtn_time_t now, int (*fn)(void *ctx, bool *settle), void *ctx,
                int *fn_r, json_t **completed)
{
	*fn_r = 0;
	if (completed)
		*completed = NULL;
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	bool settle = false;
	json_t *done = NULL;
	*fn_r = fn(ctx, &settle);
	/* The erasure requests it ended close in the same transaction, after its own
	 * entries (a failure to write that fails the commit). */
	if (*fn_r == 0 && settle)
		rtn_ops_erasures_settle(e, now, &done);
	r = rtn_engine_end(e, *fn_r == 0 ? 0 : -ECANCELED);
	if (r < 0) {
		json_decref(done);
		return -EIO;
	}
	if (completed)
		*completed = done;
	else
		json_decref(done);
	return 0;
}

/* The record whose action is the next to fall due: {"at", "record", "action", "rule"},
 * or null when none waits. */
static json_t *next_deadline(struct rtn_engine *e)
{
	rtn_time_t next;
	char *id = NULL;
	json_t *j = json_null();
	if (rtn_inv_next_wake(e->inv, &next, &id) == 0 && next != RTN_TIME_NONE && id) {
		struct rtn_inv_row row;
		if (rtn_inv_get(e->inv, id, &row) == 0) {
			struct rtn_next n;
			rtn_next_action(&row.sched, next, &n);
			json_decref(j);
			j = json_pack("{s:o, s:s, s:s, s:s?}", "at", rtn_time_to_json(next),
			              "record", id, "action", n.action, "rule", n.rule);
			rtn_inv_row_fini(&row);
		}
	}
	free(id);
	return j;
}

/* Jobs by state, every state named (0 when none); NULL when they cannot be counted. */
static json_t *job_counts(struct rtn_engine *e)
{
	static const char *const states[] = {"sent", "retry", "done", "dead", "cancelled"};
	json_t *got = rtn_inv_count_jobs(e->inv);
	if (!got)
		return NULL; /* status fails rather than show zeros it does not know */
	json_t *o = json_object();
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_object_get(got, states[i]);
		json_object_set_new(o, states[i], json_integer(v ? json_integer_value(v) : 0));
	}
	json_decref(got);
	return o;
}

void rtn_ops_status(struct rtn_engine *e, rtn_time_t now, struct rtn_ops_status *st)
{
	st->records = rtn_inv_count_states(e->inv);
	st->unmanaged = rtn_inv_unmanaged(e->inv);
	st->next_deadline = next_deadline(e);
	st->jobs = job_counts(e);
	st->jobs_by_backend = rtn_inv_count_jobs_by_backend(e->inv);
	st->paused_by_rule = rtn_inv_paused_by_rule(e->inv);
	st->paused = 0;
	size_t i;
	json_t *v;
	json_array_foreach(st->paused_by_rule, i, v) st->paused +=
	    json_integer_value(json_object_get(v, "records"));
	st->erasures = rtn_ops_erasures_status(e, now);
}

json_t *rtn_ops_unmanaged(struct rtn_engine *e)
{
	return rtn_inv_unmanaged(e->inv);
}

json_t *rtn_ops_deleted_between(struct rtn_engine *e, rtn_time_t since, rtn_time_t until,
                                const char *category, json_int_t *total)
{
	json_t *tomb = rtn_inv_deleted_between(e->inv, since, until, category), *r;
	size_t i;
	*total = 0;
	json_array_foreach(tomb, i, r) *total += json_integer_value(json_object_get(r, "deleted"));
	return tomb;
}

json_t *rtn_ops_jobs_list(struct rtn_engine *e, const char *state, size_t limit)
{
	return rtn_inv_jobs_list(e->inv, state, limit);
}
