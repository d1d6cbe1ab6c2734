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
	ev->zone = e->zone;
	ev->notice_any = rtn_ruleset_any_notify(e->rules);
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

/* A reviewer's mark: "approve JOB", "reject JOB" or "reject JOB TIME ROUND" (rejected at
 * TIME in review round ROUND). False when it is none of them. */
static bool mark_parse(const char *mark, bool *approve, char job[RTN_JOB_ID_LEN], rtn_time_t *at,
                       unsigned *round)
{
	char verb[8];
	long long t = 0;
	unsigned n = 0;
	int k = mark ? sscanf(mark, "%7s %31s %lld %u", verb, job, &t, &n) : 0;
	if (k < 2 || (strcmp(verb, "approve") != 0 && strcmp(verb, "reject") != 0))
		return false;
	*approve = verb[0] == 'a';
	*at = k == 4 && n > 0 ? (rtn_time_t)t : RTN_TIME_NONE;
	*round = k == 4 && n > 0 ? n : 0;
	return true;
}

/* The head of a review in stages under way: "stage JOB ROUND REJECTED ..." (REJECTED 0:
 * none), then *rest the list of stages and the approvals. False when mark is not one. */
static bool stage_parse(const char *mark, char job[RTN_JOB_ID_LEN], unsigned *round,
                        rtn_time_t *rejected, const char **rest)
{
	long long t = 0;
	unsigned n = 0;
	int off = 0;
	if (!mark || sscanf(mark, "stage %31s %u %lld %n", job, &n, &t, &off) < 3 || !off || n == 0)
		return false;
	*round = n;
	*rejected = t ? (rtn_time_t)t : RTN_TIME_NONE;
	*rest = mark + off;
	return true;
}

char *rtn_engine_review_mark(bool approve, const char *job, rtn_time_t at, unsigned round)
{
	if (approve)
		return rtn_xasprintf("approve %s", job);
	return rtn_xasprintf("reject %s %lld %u", job, (long long)at, round);
}

/* The stages of rule r as a mark keeps them: "a,b,c". Caller frees. */
static char *stage_list(const struct rtn_rule *r)
{
	char *s = rtn_xstrdup("");
	for (size_t i = 0; i < r->nreview_groups; i++) {
		char *t = rtn_xasprintf("%s%s%s", s, i ? "," : "", r->review_groups[i]);
		free(s);
		s = t;
	}
	return s;
}

char *rtn_engine_review_stage_mark(const struct rtn_review *rv, uid_t uid, rtn_time_t at)
{
	char *list = stage_list(rv->rule);
	char *s =
	    rtn_xasprintf("stage %s %u %lld %s ", rv->job, rv->round,
	                  rv->rejected == RTN_TIME_NONE ? 0LL : (long long)rv->rejected, list);
	free(list);
	for (unsigned i = 0; i <= rv->napproved; i++) {
		uid_t u = i < rv->napproved ? rv->approved_by[i] : uid;
		rtn_time_t when = i < rv->napproved ? rv->approved_at[i] : at;
		char *t =
		    rtn_xasprintf("%s%s%u@%lld", s, i ? "," : "", (unsigned)u, (long long)when);
		free(s);
		s = t;
	}
	return s;
}

/* The approvals a stage mark's rest keeps ("GROUPS UID@TIME,..."), into rv when GROUPS is
 * the list of rv's rule: false (nothing kept) when it is another list or unreadable. */
static bool stage_approvals(const char *rest, struct rtn_review *rv)
{
	char *list = stage_list(rv->rule);
	size_t n = strlen(list);
	bool same = strncmp(rest, list, n) == 0 && rest[n] == ' ';
	free(list);
	if (!same)
		return false;
	const char *p = rest + n + 1;
	unsigned k = 0;
	while (*p) {
		unsigned long u;
		long long t;
		int off = 0;
		if (k >= rv->nstages - 1 || sscanf(p, "%lu@%lld%n", &u, &t, &off) < 2 || !off)
			return false;
		rv->approved_by[k] = (uid_t)u;
		rv->approved_at[k++] = (rtn_time_t)t;
		p += off;
		if (*p == ',')
			p++;
		else if (*p)
			return false;
	}
	if (!k)
		return false;
	rv->napproved = k;
	return true;
}

/* Schedule entry s under mark: false when a rejection skips it for good; else its time
 * (the next round's when rejected under "review every"), its round and last rejection. */
static bool entry_round(struct rtn_eval *ev, const struct rtn_sched *s, const char *mark,
                        rtn_time_t *at, unsigned *round, rtn_time_t *rejected)
{
	*at = s->at;
	*round = 1;
	*rejected = RTN_TIME_NONE;
	bool approve;
	char job[RTN_JOB_ID_LEN];
	rtn_time_t when;
	unsigned n;
	const char *rest;
	const struct rtn_span *every = s->rule ? &s->rule->review_every : NULL;
	if (s->review && stage_parse(mark, job, &n, &when, &rest) &&
	    strcmp(job, rtn_eval_job(ev, s)) == 0) {
		/* stages of a later round under way: that round's time, as its rejection set */
		if (n > 1 && when != RTN_TIME_NONE && every && !rtn_span_is_zero(every) &&
		    rtn_time_add(ev->zone, when, every, at) == 0) {
			*round = n;
			*rejected = when;
		}
		return true;
	}
	if (!s->review || !mark_parse(mark, &approve, job, &when, &n) || approve ||
	    strcmp(job, rtn_eval_job(ev, s)) != 0)
		return true;
	if (!every || rtn_span_is_zero(every) || when == RTN_TIME_NONE ||
	    rtn_time_add(ev->zone, when, every, at) < 0)
		return false; /* rejected for good */
	*round = n + 1;
	*rejected = when;
	return true;
}

const char *rtn_eval_derive(struct rtn_eval *ev, rtn_time_t anonymized_at, const char *mark,
                            rtn_time_t now, struct rtn_inv_sched *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->anon_at = sc->del_at = sc->next_at = RTN_TIME_NONE;
	sc->notice_at = sc->notice_for = RTN_TIME_NONE;
	sc->notice_any = ev->notice_any;
	ev->next = NULL;
	ev->next_at = ev->rejected = RTN_TIME_NONE;
	ev->round = 0;
	if (ev->d.state == RTN_DS_UNMANAGED)
		return "unmanaged";
	if (ev->d.state == RTN_DS_HELD)
		return "held";
	const struct rtn_sched *next = NULL;
	for (size_t i = 0; i < ev->d.nsched; i++) {
		const struct rtn_sched *s = &ev->d.sched[i];
		rtn_time_t at, rejected;
		unsigned round;
		bool live = entry_round(ev, s, mark, &at, &round, &rejected);
		if (s->action == RTN_ACT_ANONYMIZE) {
			sc->anon_at = at;
			sc->anon_rule = rtn_eval_rule(ev, s);
			sc->anon_review = s->review;
		} else {
			sc->del_at = at;
			sc->del_rule = rtn_eval_rule(ev, s);
			sc->del_review = s->review;
		}
		if (live && (!next || at < ev->next_at)) {
			next = s;
			ev->next_at = at;
			ev->round = round;
			ev->rejected = rejected;
		}
	}
	const char *idle = anonymized_at != RTN_TIME_NONE ? "anonymized" : "active";
	ev->next = next;
	if (!next)
		return idle;
	sc->next_at = ev->next_at;
	sc->next_backend = next->backend;
	/* The notice of the next action, at its own deadline (a review round's later time
	 * announces nothing new): a notice is for the promise, once per deadline. */
	if (next->notice_at != RTN_TIME_NONE && next->rule && ev->next_at == next->at) {
		sc->notice_at = next->notice_at;
		sc->notice_for = next->at;
		sc->notice_rule = next->rule->name;
		sc->notice_backend = next->notice_backend;
	}
	if (ev->next_at > now)
		return idle;
	/* Approved in whichever round: an approve mark replaced the rejection, so the action
	 * is due at its own deadline (long past), under the id the reviewer was shown. */
	bool approve = false;
	char job[RTN_JOB_ID_LEN];
	rtn_time_t when;
	unsigned n;
	bool approved = mark_parse(mark, &approve, job, &when, &n) && approve &&
	                strcmp(job, rtn_eval_job(ev, next)) == 0;
	return next->review && !approved ? "review" : "queued";
}

bool rtn_row_job_out(const struct rtn_inv_row *row)
{
	return (strcmp(row->state, "queued") == 0 && row->sched.next_at == RTN_TIME_NONE) ||
	       strcmp(row->state, "failed") == 0;
}

int rtn_engine_review(struct rtn_engine *e, const struct rtn_inv_row *row, rtn_time_t now,
                      struct rtn_review *out)
{
	memset(out, 0, sizeof(*out));
	if (row->deleted_at != RTN_TIME_NONE)
		return -ENOENT;
	struct rtn_eval ev;
	struct rtn_inv_sched sc;
	int r = rtn_eval_record(e, &row->rec, row->anonymized_at, &ev, false);
	ev.rid = row->rid;
	rtn_eval_derive(&ev, row->anonymized_at, row->review_mark, now, &sc);
	const struct rtn_sched *s = ev.next;
	if (r == 0 && (!s || !s->review || !s->rule))
		r = -ENOENT;
	if (r == 0) {
		snprintf(out->job, sizeof(out->job), "%s", rtn_eval_job(&ev, s));
		out->action = rtn_action_name(s->action);
		out->rule = s->rule;
		out->rule_name = s->rule->name;
		out->due = s->at;
		out->at = ev.next_at;
		out->round = ev.round;
		out->rejected = ev.rejected;
		out->every =
		    rtn_span_is_zero(&s->rule->review_every) ? NULL : &s->rule->review_every;
		out->nstages = (unsigned)s->rule->nreview_groups;
	}
	if (r == 0 && out->nstages) {
		char job[RTN_JOB_ID_LEN];
		unsigned n;
		rtn_time_t when;
		const char *rest;
		if (stage_parse(row->review_mark, job, &n, &when, &rest)) {
			bool kept = strcmp(job, out->job) == 0 && n == out->round &&
			            stage_approvals(rest, out);
			out->restarted = !kept;
		}
		out->stage = out->napproved + 1;
		out->group = s->rule->review_groups[out->stage - 1];
		out->gid = s->rule->review_gids[out->stage - 1];
	}
	rtn_eval_fini(&ev);
	return r;
}
