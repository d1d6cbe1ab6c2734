/* commands_ops.c - holds, reviews, erasure requests, jobs and the guard's confirmation */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auditlog.h"
#include "commands_int.h"
#include "guard.h"
#include "log.h"
#include "ops.h"
#include "util.h"

/* The selector of a hold: exactly one of id, subject, category. */
static int selector(struct cmd_ctx *c, const char **kind, const char **value)
{
	static const char *const kinds[] = {"id", "subject", "category"};
	int found = 0;
	for (size_t i = 0; i < 3; i++) {
		const char *v = cmd_arg_string(c, kinds[i], false);
		if (c->err.code)
			return -1;
		if (v) {
			*kind = kinds[i];
			*value = v;
			found++;
		}
	}
	if (found != 1)
		return cmd_fail(c, RTN_E_BAD_REQUEST,
		                "name exactly one of \"id\", \"subject\" or \"category\"");
	if (!strcmp(*kind, "category") && !rtn_valid_name(*value))
		return cmd_fail(c, RTN_E_BAD_REQUEST, "\"category\" must be a category name");
	return 0;
}

static int hold(struct cmd_ctx *c, bool place)
{
	ARGS("id", "subject", "category", "hold", "reason");
	const char *kind = NULL, *value = NULL, *name, *reason = NULL;
	if (selector(c, &kind, &value) < 0 || !(name = cmd_arg_string(c, "hold", true)))
		return -1;
	if (!rtn_valid_name(name))
		return cmd_fail(
		    c, RTN_E_BAD_REQUEST,
		    "\"hold\" must be a name: lower-case letters, digits, '_', '.' and '-'");
	reason = cmd_arg_string(c, "reason", place);
	if (c->err.code)
		return -1;
	char who[32];
	size_t n;
	int r = rtn_ops_hold(&c->d->engine, place, kind, value, name, reason,
	                     cmd_peer_actor(c, who), daemon_now(), &n);
	if (r == -EEXIST)
		return cmd_fail(c, RTN_E_CONFLICT, "hold \"%s\" is already placed on %s %.128s",
		                name, kind, value);
	if (r == -ENOENT)
		return cmd_fail(c, RTN_E_NOT_FOUND, "no hold \"%s\" on %s %.128s", name, kind,
		                value);
	if (r < 0)
		return cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine));
	/* A subject is logged and audited only as its pseudonym. */
	char ps[RTN_PSEUDONYM_LEN + 1];
	bool by_subject = !strcmp(kind, "subject");
	const char *shown = by_subject ? rtn_engine_pseudonym(&c->d->engine, value, ps) : value;
	rtn_notice("%s: hold %s %s on %s %s (%zu record%s)", who, name,
	           place ? "placed" : "released", kind, shown, n, n == 1 ? "" : "s");
	json_t *detail = json_pack("{s:s, s:s, s:s?, s:I}", "hold", name, "selector", kind,
	                           "reason", reason, "records", (json_int_t)n);
	if (by_subject)
		json_object_set_new(detail, "subject", json_string(shown));
	audit_event(place ? "hold.place" : "hold.release", who, !strcmp(kind, "id") ? value : NULL,
	            !strcmp(kind, "category") ? value : NULL, NULL, NULL, NULL, detail);
	c->result = json_pack("{s:s, s:s, s:I}", "hold", name, kind, value,
	                      place ? "held" : "released", (json_int_t)n);
	cmd_changed();
	return 0;
}

int cmd_hold_place(struct cmd_ctx *c)
{
	return hold(c, true);
}

int cmd_hold_release(struct cmd_ctx *c)
{
	return hold(c, false);
}

/* hold.list: read only; at most one selector, and a hold name, narrow it. */
int cmd_hold_list(struct cmd_ctx *c)
{
	ARGS("id", "subject", "category", "hold");
	const char *kind = NULL, *value = NULL, *name = cmd_arg_string(c, "hold", false);
	if (c->err.code)
		return -1;
	if (json_object_get(c->args, "id") || json_object_get(c->args, "subject") ||
	    json_object_get(c->args, "category")) {
		if (selector(c, &kind, &value) < 0)
			return -1;
	}
	int r = rtn_ops_holds_list(&c->d->engine, kind, value, name, &c->result);
	return r < 0 ? cmd_engine_fail(c, r, "the holds cannot be read") : 0;
}

int cmd_review_list(struct cmd_ctx *c)
{
	ARGS("limit");
	size_t limit;
	if (cmd_arg_limit(c, 1000, 100000, &limit) < 0)
		return -1;
	json_t *a = rtn_ops_review_list(&c->d->engine, limit);
	c->result = json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(a), "records", a);
	return 0;
}

static int review(struct cmd_ctx *c, bool approve)
{
	ARGS("id", "reason");
	const char *id = cmd_arg_string(c, "id", true);
	const char *reason = id ? cmd_arg_string(c, "reason", true) : NULL;
	if (!reason)
		return -1;
	char err[512], job[RTN_JOB_ID_LEN], who[32];
	struct rtn_reviewer rw = {c->peer->uid, c->peer->gid, c->peer->groups, c->peer->ngroups};
	int r = rtn_ops_review_as(&c->d->engine, id, approve, &rw, daemon_now(), &c->result, job,
	                          err, sizeof(err));
	if (r == -EPERM) { /* not this peer's stage: refused as any forbidden request */
		rtn_notice("%s: review %s of %s refused: %s", cmd_peer_actor(c, who),
		           approve ? "approval" : "rejection", id, err);
		c->refused = true;
		return cmd_fail(c, RTN_E_FORBIDDEN, "%s", err);
	}
	if (r < 0)
		return cmd_engine_fail(c, r, err);
	rtn_notice("%s: review %s %s (job %s): %s", cmd_peer_actor(c, who),
	           approve ? "approved" : "rejected", id, job, reason);
	const char *rule = json_string_value(json_object_get(c->result, "rule"));
	const struct rtn_rule *rr = rule ? rtn_ruleset_find(&c->d->rules, rule) : NULL;
	/* A rejection under "review every" says when the action comes back for review. */
	json_t *detail = json_pack("{s:s, s:O, s:O}", "reason", reason, "action",
	                           json_object_get(c->result, "action"), "round",
	                           json_object_get(c->result, "round"));
	json_t *next = json_object_get(c->result, "next_review");
	if (next)
		json_object_set(detail, "next_review", next);
	/* In stages: which one this decided; one before the last is a review.stage entry (the
	 * action still waits), the last a review.approve as a plain review's. */
	static const char *const staged[] = {"stage",      "stages",    "group", "next_stage",
	                                     "next_group", "restarted", NULL};
	for (size_t i = 0; staged[i]; i++) {
		json_t *v = json_object_get(c->result, staged[i]);
		if (v)
			json_object_set(detail, staged[i], v);
	}
	const char *type = !approve                                   ? "review.reject"
	                   : json_object_get(c->result, "next_stage") ? "review.stage"
	                                                              : "review.approve";
	audit_event(type, who, id, NULL, rule, rr ? rr->basis : NULL, job, detail);
	json_object_set_new(c->result, "reason", json_string(reason));
	cmd_changed();
	return 0;
}

int cmd_review_approve(struct cmd_ctx *c)
{
	return review(c, true);
}

int cmd_review_reject(struct cmd_ctx *c)
{
	return review(c, false);
}

int cmd_erase(struct cmd_ctx *c)
{
	ARGS("subject", "reason");
	const char *subject = cmd_arg_string(c, "subject", true);
	const char *reason = subject ? cmd_arg_string(c, "reason", true) : NULL;
	if (!reason)
		return -1;
	char who[32];
	int r = rtn_ops_erase(&c->d->engine, subject, reason, cmd_peer_actor(c, who),
	                      &c->d->cfg.erasure_deadline, daemon_now(), &c->result);
	if (r < 0)
		return cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine));
	const char *request = json_string_value(json_object_get(c->result, "request"));
	json_t *retained = json_object_get(c->result, "retained");
	char ps[RTN_PSEUDONYM_LEN + 1];
	subject = rtn_engine_pseudonym(&c->d->engine, subject, ps); /* logged and audited so */
	rtn_notice("%s: erasure request %s for %s: %zu scheduled, %zu retained, deadline set by "
	           "%s",
	           who, request, subject, json_array_size(json_object_get(c->result, "scheduled")),
	           json_array_size(retained),
	           json_string_value(json_object_get(c->result, "deadline_set_by")));
	audit_event("erase.request", who, NULL, NULL, NULL, NULL, NULL,
	            json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:I, s:I}", "subject", subject,
	                      "request", request, "reason", reason, "deadline",
	                      json_object_get(c->result, "deadline"), "deadline_set_by",
	                      json_object_get(c->result, "deadline_set_by"), "records",
	                      json_object_get(c->result, "records"), "pending",
	                      json_object_get(c->result, "pending"), "scheduled",
	                      (json_int_t)json_array_size(json_object_get(c->result, "scheduled")),
	                      "retained", (json_int_t)json_array_size(retained)));
	size_t i;
	json_t *x;
	json_array_foreach(retained, i, x)
	{
		audit_event("erase.retained", who, json_string_value(json_object_get(x, "id")),
		            json_string_value(json_object_get(x, "category")),
		            json_string_value(json_object_get(x, "rule")),
		            json_string_value(json_object_get(x, "basis")), NULL,
		            json_pack("{s:s, s:s, s:O?, s:O}", "subject", subject, "request",
		                      request, "until", json_object_get(x, "until"), "pending",
		                      json_object_get(x, "pending")));
	}
	cmd_changed();
	return 0;
}

int cmd_jobs_list(struct cmd_ctx *c)
{
	ARGS("state", "limit");
	size_t limit;
	const char *state = cmd_arg_string(c, "state", false);
	if (c->err.code || cmd_arg_limit(c, 100, 100000, &limit) < 0)
		return -1;
	static const char *const states[] = {"sent", "retry", "done", "dead", "cancelled", NULL};
	size_t i;
	for (i = 0; state && states[i] && strcmp(states[i], state); i++)
		;
	if (state && !states[i])
		return cmd_fail(c, RTN_E_BAD_REQUEST,
		                "unknown job state \"%.32s\"; expected sent, retry, done, dead or "
		                "cancelled",
		                state);
	json_t *a = rtn_ops_jobs_list(&c->d->engine, state, limit);
	c->result = json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(a), "jobs", a);
	return 0;
}

int cmd_jobs_retry(struct cmd_ctx *c)
{
	ARGS("job");
	const char *job = cmd_arg_string(c, "job", true);
	if (!job)
		return -1;
	size_t n;
	const char **names = rtn_config_backend_names(&c->d->cfg);
	int r = rtn_ops_jobs_retry(&c->d->engine, strcmp(job, "dead") ? job : NULL, names,
	                           c->d->cfg.nbackends, daemon_now(), &n);
	free(names);
	if (r < 0)
		return cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine));
	if (n == 0 && strcmp(job, "dead") != 0)
		return cmd_fail(c, RTN_E_NOT_FOUND, "no dead job \"%.64s\"", job);
	char who[32];
	rtn_notice("%s: %zu dead job%s requeued", cmd_peer_actor(c, who), n, n == 1 ? "" : "s");
	audit_event("jobs.retry", who, NULL, NULL, NULL, NULL, strcmp(job, "dead") ? job : NULL,
	            json_pack("{s:I}", "requeued", (json_int_t)n));
	c->result = json_pack("{s:I}", "requeued", (json_int_t)n);
	cmd_changed();
	return 0;
}

/* guard.confirm and its alias rules.confirm: every paused record released, whatever
 * paused it; the entry is named after the command used and counts them by cause. */
static int guard_confirm(struct cmd_ctx *c, const char *cmd)
{
	NOARGS();
	json_t *causes;
	int n = rtn_guard_confirm(&c->d->engine, daemon_now(), &causes);
	if (n < 0)
		return cmd_engine_fail(c, -EIO, rtn_engine_errmsg(&c->d->engine));
	char who[32];
	rtn_notice("%s: guard confirmed; %d paused record%s released", cmd_peer_actor(c, who), n,
	           n == 1 ? "" : "s");
	audit_event(cmd, who, NULL, NULL, NULL, NULL, NULL,
	            json_pack("{s:i, s:s, s:O}", "released", n, "rules_hash", c->d->rules.hash,
	                      "causes", causes));
	c->result = json_pack("{s:i, s:o}", "released", n, "causes", causes);
	cmd_changed();
	return 0;
}

int cmd_rules_confirm(struct cmd_ctx *c)
{
	return guard_confirm(c, "rules.confirm");
}

int cmd_guard_confirm(struct cmd_ctx *c)
{
	return guard_confirm(c, "guard.confirm");
}
