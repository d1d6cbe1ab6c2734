/* engine_eval.c - one record decided against its holds and erasure requests, and the
 * stored state and schedule that follow */
#include "engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The times the rules of rec's category anchored on its subject read: one indexed query
 * per event and direction, over the subject's other live records. 0 or -EIO. */
static int subject_times(struct rtn_engine *e, const struct rtn_record *rec, struct rtn_eval *ev)
{
	if (!rec->subject || !e->rules)
		return 0;
	size_t n;
	const struct rtn_rule *const *rules = rtn_ruleset_for_category(e->rules, rec->category, &n);
	for (size_t i = 0; i < n; i++) {
		const struct rtn_rule *r = rules[i];
		if (r->forever || !RTN_ANCHOR_IS_SUBJECT(&r->anchor))
			continue;
		bool latest = r->anchor.kind == RTN_ANCHOR_SUBJECT_LATEST, seen = false;
		for (size_t k = 0; k < ev->nsubject_times && !seen; k++)
			seen = ev->subject_times[k].latest == latest &&
			       !strcmp(ev->subject_times[k].event, r->anchor.event);
		if (seen)
			continue;
		rtn_time_t at;
		char *from = NULL;
		int k = rtn_inv_subject_event(e->inv, rec->subject, r->anchor.event, latest,
		                              rec->id, &at, &from);
		if (k < 0 && k != -ENOENT)
			return -EIO;
		ev->subject_times = rtn_xreallocarray(ev->subject_times, ev->nsubject_times + 1,
		                                      sizeof(*ev->subject_times));
		ev->subject_times[ev->nsubject_times++] =
		    (struct rtn_subject_time){r->anchor.event, latest, at, from};
	}
	ev->v.subject_times = ev->subject_times;
	ev->v.nsubject_times = ev->nsubject_times;
	return 0;
}

int rtn_eval_record(struct rtn_engine *e, const struct rtn_record *rec, rtn_time_t anonymized_at,
                    struct rtn_eval *ev, bool explain)
{
	static const char *const unknown[] = {"(holds cannot be read)"};
	int r = 0;
	memset(ev, 0, sizeof(*ev));
	rtn_record_view(rec, &e->vb, &ev->v);
	ev->v.anonymized_at = anonymized_at;
	if (e->holds_exist) {
		r = rtn_inv_holds_for(e->inv, rec->id, rec->subject, rec->category, &ev->holds);
		size_t n = json_array_size(ev->holds);
		for (size_t i = 0; i < n && i < 8; i++)
			ev->holdnames[i] = json_string_value(
			    json_object_get(json_array_get(ev->holds, i), "hold"));
		ev->v.holds = ev->holdnames;
		ev->v.nholds = n < 8 ? n : 8;
	} else {
		ev->holds = json_array();
	}
	/* An erasure request covers the records it was made for, until they are anonymised:
	 * looked up by record, never by subject (a record put later is not covered). A lookup
	 * that fails leaves the record held (below), never without its request. */
	if (e->erasures_exist && anonymized_at == RTN_TIME_NONE && r == 0) {
		rtn_time_t at;
		int k = rtn_inv_erasure_for(e->inv, rec->id, &at, &ev->erasure_request);
		if (k == 0) {
			ev->v.erasure_at = at;
			ev->v.erasure_request = ev->erasure_request;
			snprintf(ev->erasure_rule, sizeof(ev->erasure_rule), "erasure:%s",
			         ev->erasure_request);
		} else if (k != -ENOENT) {
			r = -EIO;
		}
	}
	/* A subject's times that cannot be read leave it held too: read without them, an
	 * anchor of the subject could fall due early. */
	if (r == 0 && subject_times(e, rec, ev) < 0)
		r = -EIO;
	if (r < 0) {
		ev->v.holds = (const char **)unknown;
		ev->v.nholds = 1;
	}
	if (explain)
		rtn_decide(e->rules, e->zone, &ev->v, &ev->d);
	else
		rtn_decide_quick(e->rules, e->zone, &ev->v, &ev->d);
	return r;
}

void rtn_eval_fini(struct rtn_eval *ev)
{
	rtn_decision_free(&ev->d);
	json_decref(ev->holds);
	free(ev->erasure_request);
	for (size_t i = 0; i < ev->nsubject_times; i++)
		free((char *)ev->subject_times[i].record);
	free(ev->subject_times);
}

const char *rtn_eval_rule(const struct rtn_eval *ev, const struct rtn_sched *s)
{
	return s->rule ? s->rule->name : ev->erasure_rule;
}

const char *rtn_eval_job(struct rtn_eval *ev, const struct rtn_sched *s)
{
	size_t i = (size_t)(s - ev->d.sched);
	if (!ev->job_ids[i][0])
		rtn_job_id(ev->rid, ev->v.id, rtn_action_name(s->action), rtn_eval_rule(ev, s),
		           s->at, ev->job_ids[i]);
	return ev->job_ids[i];
}

const char *rtn_eval_derive(struct rtn_eval *ev, rtn_time_t anonymized_at, const char *mark,
                            rtn_time_t now, struct rtn_inv_sched *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->anon_at = sc->del_at = sc->next_at = RTN_TIME_NONE;
	if (ev->d.state == RTN_DS_UNMANAGED)
		return "unmanaged";
	if (ev->d.state == RTN_DS_HELD)
		return "held";
	const struct rtn_sched *next = NULL;
	for (size_t i = 0; i < ev->d.nsched; i++) {
		const struct rtn_sched *s = &ev->d.sched[i];
		if (s->action == RTN_ACT_ANONYMIZE) {
			sc->anon_at = s->at;
			sc->anon_rule = rtn_eval_rule(ev, s);
			sc->anon_review = s->review;
		} else {
			sc->del_at = s->at;
			sc->del_rule = rtn_eval_rule(ev, s);
			sc->del_review = s->review;
		}
		if (!next && !(mark && s->review && strncmp(mark, "reject ", 7) == 0 &&
		               strcmp(mark + 7, rtn_eval_job(ev, s)) == 0))
			next = s;
	}
	const char *idle = anonymized_at != RTN_TIME_NONE ? "anonymized" : "active";
	ev->next = next;
	if (!next)
		return idle;
	sc->next_at = next->at;
	sc->next_backend = next->backend;
	if (next->at > now)
		return idle;
	bool approved = mark && strncmp(mark, "approve ", 8) == 0 &&
	                strcmp(mark + 8, rtn_eval_job(ev, next)) == 0;
	return next->review && !approved ? "review" : "queued";
}

bool rtn_row_job_out(const struct rtn_inv_row *row)
{
	return (strcmp(row->state, "queued") == 0 && row->sched.next_at == RTN_TIME_NONE) ||
	       strcmp(row->state, "failed") == 0;
}
