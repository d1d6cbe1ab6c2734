/* ops.c - what people do to records: holds, reviews, erasure requests, job retries */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0)
		rtn_engine_rollback(e);
	rtn_engine_refresh(e);
	return r;
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
		bool anon = row.sched.anon_at == row.sched.next_at;
		const char *rule = anon ? row.sched.anon_rule : row.sched.del_rule;
		const struct rtn_rule *rr = rule ? rtn_ruleset_find(e->rules, rule) : NULL;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s, s:o, s:s?, s:s?}", "id",
		                                   row.rec.id, "category", row.rec.category,
		                                   "subject", row.rec.subject, "action",
		                                   anon ? "anonymize" : "delete", "due",
		                                   rtn_time_to_json(row.sched.next_at), "rule",
		                                   rule, "basis", rr ? rr->basis : NULL));
		rtn_inv_row_fini(&row);
	}
	json_decref(ids);
	return a;
}

int rtn_ops_review(struct rtn_engine *e, const char *id, bool approve, rtn_time_t now,
                   json_t **result, char *job_out, char *err, size_t errlen)
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
	bool anon = row.sched.anon_at == row.sched.next_at;
	const char *action = anon ? "anonymize" : "delete";
	const char *rule = anon ? row.sched.anon_rule : row.sched.del_rule;
	char job[RTN_JOB_ID_LEN];
	rtn_job_id(row.rid, row.rec.id, action, rule ? rule : "", row.sched.next_at, job);
	snprintf(job_out, RTN_JOB_ID_LEN, "%s", job);
	char *mark = rtn_xasprintf("%s %s", approve ? "approve" : "reject", job);
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
		*result = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s}", "id", row.rec.id, "decision",
		                    approve ? "approved" : "rejected", "action", action, "job", job,
		                    "rule", rule, "state", state);
		if (strcmp(state, "?") != 0)
			rtn_inv_row_fini(&now_row);
	}
	free(mark);
	rtn_inv_row_fini(&row);
	return r;
}

struct erase_ctx {
	struct rtn_engine *e;
	json_t *scheduled, *retained;
	size_t pending;
};

/* Sort one record of an erasure's subject into scheduled (to be deleted; pending until
 * it is) or retained (a hold, a keep rule, or no rule at all), with the reason. */
static int erase_row(const struct rtn_inv_row *row, void *ctx)
{
	struct erase_ctx *x = ctx;
	if (row->deleted_at != RTN_TIME_NONE)
		return 0;
	json_t *ex;
	if (rtn_engine_explain(x->e, row->rec.id, 0, &ex) < 0)
		return 0;
	json_t *dec = json_object_get(ex, "decision"), *holds = json_object_get(ex, "holds");
	const char *action = json_string_value(json_object_get(dec, "action"));
	const char *rule = json_string_value(json_object_get(dec, "rule"));
	const char *kept_by = json_string_value(json_object_get(dec, "retained_by"));
	const struct rtn_rule *k = kept_by ? rtn_ruleset_find(x->e->rules, kept_by) : NULL;
	if (json_array_size(holds)) {
		json_array_append_new(
		    x->retained, json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", row->rec.id,
		                           "category", row->rec.category, "rule", "hold", "basis",
		                           "a legal hold is in place", "holds", holds));
	} else if (kept_by) {
		json_t *until =
		    action && !strcmp(action, "delete") ? json_object_get(dec, "at") : NULL;
		json_array_append_new(x->retained,
		                      json_pack("{s:s, s:s, s:s, s:s?, s:O}", "id", row->rec.id,
		                                "category", row->rec.category, "rule", kept_by,
		                                "basis", k ? k->basis : NULL, "until",
		                                until ? until : json_null()));
	} else if (action && !strcmp(action, "delete")) {
		json_array_append_new(x->scheduled,
		                      json_pack("{s:s, s:O, s:s?, s:b}", "id", row->rec.id, "at",
		                                json_object_get(dec, "at"), "rule", rule, "review",
		                                !strcmp(row->state, "review")));
		x->pending++;
	} else {
		json_array_append_new(x->retained,
		                      json_pack("{s:s, s:s, s:n, s:s, s:s}", "id", row->rec.id,
		                                "category", row->rec.category, "rule", "basis",
		                                "no rule deletes it", "reason",
		                                json_string_value(json_object_get(dec, "reason"))));
	}
	json_decref(ex);
	return 0;
}

int rtn_ops_erase(struct rtn_engine *e, const char *subject, const char *reason, const char *by,
                  const struct rtn_span *deadline, rtn_time_t now, json_t **result)
{
	char request[32];
	rtn_time_t due;
	if (rtn_time_add(now, deadline, &due) < 0)
		due = now;
	int r = rtn_engine_begin(e);
	size_t n = 0;
	if (r == 0)
		r = rtn_inv_erasure_add(e->inv, subject, reason, by, now, due, request);
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
	struct erase_ctx x = {e, json_array(), json_array(), 0};
	rtn_inv_foreach_subject(e->inv, subject, erase_row, &x);
	*result =
	    json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "request", request, "subject", subject,
	              "requested", rtn_time_to_json(now), "deadline", rtn_time_to_json(due),
	              "scheduled", x.scheduled, "retained", x.retained);
	return 0;
}

json_t *rtn_ops_erasures_status(struct rtn_engine *e, rtn_time_t now)
{
	json_t *open = rtn_inv_erasures_open(e->inv), *out = json_array();
	size_t i;
	json_t *req;
	json_array_foreach(open, i, req)
	{
		const char *subject = json_string_value(json_object_get(req, "subject"));
		struct erase_ctx x = {e, json_array(), json_array(), 0};
		rtn_inv_foreach_subject(e->inv, subject, erase_row, &x);
		json_decref(x.scheduled);
		json_decref(x.retained);
		rtn_time_t deadline;
		rtn_time_parse(json_string_value(json_object_get(req, "deadline")), &deadline);
		if (x.pending == 0) {
			rtn_inv_erasure_complete(
			    e->inv, json_string_value(json_object_get(req, "request")), now);
			continue;
		}
		json_t *o = json_deep_copy(req);
		json_object_set_new(o, "pending", json_integer((json_int_t)x.pending));
		json_object_set_new(o, "at_risk", json_boolean(deadline - now < 86400));
		json_array_append_new(out, o);
	}
	json_decref(open);
	return out;
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
