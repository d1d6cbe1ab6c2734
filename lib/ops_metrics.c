/* ops_metrics.c - what metrics reads of the inventory beside status: jobs by backend, the
 * actions done by rule and outcome, the oldest overdue action and the oldest review */
#include <string.h>

#include "ops.h"

/* The states whose records wait on the daemon alone once their next_at has passed:
 * waiting ones the timer has not made due, due ones not yet sent (a backend down, a full
 * window), paused ones the guard holds back. Held records (a hold applies) and records
 * awaiting review (a person decides; rtn_ops_metrics gives their own age) are not
 * overdue. */
static const char *const waiting[] = {"active", "anonymized", "queued", "paused"};

static void earliest(rtn_time_t *acc, rtn_time_t t, rtn_time_t now)
{
	if (t != RTN_TIME_NONE && t <= now && (*acc == RTN_TIME_NONE || t < *acc))
		*acc = t;
}

/* The done jobs summed by rule and outcome, an erasure request's rule ("erasure:R-...",
 * one per request) as "erasure": labels name rules, never requests. */
static json_t *done_by_rule(json_t *rows)
{
	if (!rows)
		return NULL;
	json_t *out = json_array(), *r;
	size_t i;
	json_array_foreach(rows, i, r)
	{
		const char *rule = json_string_value(json_object_get(r, "rule"));
		const char *outcome = json_string_value(json_object_get(r, "outcome"));
		json_int_t n = json_integer_value(json_object_get(r, "jobs"));
		if (rule && strncmp(rule, "erasure:", 8) == 0)
			rule = "erasure";
		if (!outcome)
			outcome = "unknown";
		size_t j;
		json_t *o = NULL;
		json_array_foreach(out, j, o)
		{
			if (!strcmp(json_string_value(json_object_get(o, "rule")),
			            rule ? rule : "") &&
			    !strcmp(json_string_value(json_object_get(o, "outcome")), outcome))
				break;
			o = NULL;
		}
		if (o)
			json_object_set_new(
			    o, "jobs",
			    json_integer(json_integer_value(json_object_get(o, "jobs")) + n));
		else
			json_array_append_new(out,
			                      json_pack("{s:s, s:s, s:I}", "rule", rule ? rule : "",
			                                "outcome", outcome, "jobs", n));
	}
	json_decref(rows);
	return out;
}

void rtn_ops_metrics(struct rtn_engine *e, rtn_time_t now, struct rtn_ops_metrics *m)
{
	m->jobs = rtn_inv_count_jobs_by_backend(e->inv);
	m->done = done_by_rule(rtn_inv_count_done(e->inv));
	m->oldest_overdue = m->oldest_review = RTN_TIME_NONE;
	m->ok = true;
	rtn_time_t t;
	for (size_t i = 0; i < sizeof(waiting) / sizeof(waiting[0]); i++) {
		if (rtn_inv_oldest_in_state(e->inv, waiting[i], &t) < 0)
			m->ok = false;
		else
			earliest(&m->oldest_overdue, t, now);
	}
	/* The jobs of an action that is due and not done: out at a backend, waiting to be
	 * sent again, given up (dead). */
	if (rtn_inv_oldest_job(e->inv, &t) < 0)
		m->ok = false;
	else
		earliest(&m->oldest_overdue, t, now);
	if (rtn_inv_oldest_in_state(e->inv, "review", &t) < 0)
		m->ok = false;
	else
		earliest(&m->oldest_review, t, now);
}
