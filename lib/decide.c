/* decide.c - the schedule of one record (SPEC §3 "How one record's schedule is decided")
 *
 * Pure: the result depends only on the rule set, the zone of its calendar arithmetic
 * and the record view. The steps:
 * holds stop everything; keep forever blocks every action; keep-until is the latest
 * applying keep deadline (a keep whose anchor has not happened keeps indefinitely);
 * delete-at and anonymize-at are the earliest applying deadlines, moved to keep-until
 * when earlier; an anonymize at or after delete-at is dropped; an erasure request is a
 * delete deadline at the request time under the same keep rules.
 */
#include "decide.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool rtn_attr_truthy(const struct rtn_attr *a)
{
	switch (a->type) {
	case RTN_ATTR_NULL:
		return false;
	case RTN_ATTR_BOOL:
		return a->b;
	case RTN_ATTR_NUMBER:
		return a->n != 0 && !isnan(a->n);
	case RTN_ATTR_STRING:
		return a->s[0] && strcmp(a->s, "false") != 0 && strcmp(a->s, "no") != 0 &&
		       strcmp(a->s, "0") != 0;
	}
	return false;
}

const char *rtn_attr_text(const struct rtn_attr *a, char *buf, size_t len)
{
	switch (a->type) {
	case RTN_ATTR_NULL:
		return "";
	case RTN_ATTR_BOOL:
		return a->b ? "true" : "false";
	case RTN_ATTR_NUMBER:
		if (a->n == floor(a->n) && fabs(a->n) < 1e17) {
			snprintf(buf, len, "%.0f", a->n);
			return buf;
		}
		/* The shortest text that reads back as the same number: 0.1, not 0.1000...1. */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, len, "%.*g", prec, a->n);
			if (strtod(buf, NULL) == a->n)
				break;
		}
		return buf;
	case RTN_ATTR_STRING:
		return a->s;
	}
	return "";
}

const char *rtn_dstate_name(enum rtn_dstate s)
{
	switch (s) {
	case RTN_DS_ACTIVE:
		return "active";
	case RTN_DS_UNMANAGED:
		return "unmanaged";
	case RTN_DS_HELD:
		return "held";
	}
	return "?";
}

const char *rtn_outcome_name(enum rtn_outcome o)
{
	static const char *const names[] = {"none", "delete", "anonymize", "keep"};
	return names[o];
}

static const struct rtn_attr *find_attr(const struct rtn_record_view *rec, const char *name)
{
	for (size_t i = 0; i < rec->nattrs; i++)
		if (strcmp(rec->attrs[i].name, name) == 0)
			return &rec->attrs[i];
	return NULL;
}

static rtn_time_t find_event(const struct rtn_record_view *rec, const char *name)
{
	rtn_time_t t = RTN_TIME_NONE;
	for (size_t i = 0; i < rec->nevents; i++)
		if (strcmp(rec->events[i].name, name) == 0 && rec->events[i].at > t)
			t = rec->events[i].at; /* duplicates cannot occur; the latest is safest */
	return t;
}

/* Does condition c hold? Writes the reason it does not into why. */
static bool cond_holds(const struct rtn_cond *c, const struct rtn_record_view *rec, char *why,
                       size_t len)
{
	const char *w = c->unless ? "unless" : "when";
	bool v;
	char buf[64];
	if (c->kind == RTN_COND_EVENT) {
		v = find_event(rec, c->name) != RTN_TIME_NONE;
		if (v == c->unless)
			snprintf(why, len, "%s event %s: the record %s that event", w, c->name,
			         v ? "has" : "does not have");
		return v != c->unless;
	}
	const struct rtn_attr *a = find_attr(rec, c->name);
	const char *text = a ? rtn_attr_text(a, buf, sizeof(buf)) : NULL;
	if (c->kind == RTN_COND_TRUE)
		v = a && rtn_attr_truthy(a);
	else if (c->kind == RTN_COND_EQ)
		v = text && strcmp(text, c->value) == 0;
	else
		v = !text || strcmp(text, c->value) != 0;
	if (v == c->unless) {
		if (c->kind == RTN_COND_TRUE)
			snprintf(why, len, "%s %s: %s is %s", w, c->name, c->name,
			         !a  ? "not set"
			         : v ? "true"
			             : "false");
		else
			snprintf(why, len, "%s %s %s %s: %s is %s%s%s", w, c->name,
			         c->kind == RTN_COND_EQ ? "=" : "!=", c->value, c->name,
			         text ? "\"" : "not set", text ? text : "", text ? "\"" : "");
	}
	return v != c->unless;
}

/* The time of r's anchor event for rec into e (anchor_at, anchor_record): the record's
 * own event, or for an anchor of the subject the latest (earliest) of it and the other
 * records' time the view carries. */
static rtn_time_t anchor_time(const struct rtn_rule *r, const struct rtn_record_view *rec,
                              struct rtn_rule_eval *e)
{
	rtn_time_t t = find_event(rec, r->anchor.event);
	e->anchor_record = NULL;
	if (RTN_ANCHOR_IS_SUBJECT(&r->anchor)) {
		bool latest = r->anchor.kind == RTN_ANCHOR_SUBJECT_LATEST;
		for (size_t i = 0; i < rec->nsubject_times; i++) {
			const struct rtn_subject_time *st = &rec->subject_times[i];
			if (st->latest != latest || strcmp(st->event, r->anchor.event) ||
			    st->at == RTN_TIME_NONE)
				continue;
			if (t == RTN_TIME_NONE || (latest ? st->at > t : st->at < t)) {
				t = st->at;
				e->anchor_record = st->record;
			}
		}
	}
	e->anchor_at = t;
	return t;
}

/* The rule's deadline for rec in zone, or RTN_TIME_NONE if its anchor event is missing;
 * RTN_TIME_MAX if the arithmetic leaves the representable range. */
static rtn_time_t rule_deadline(const struct rtn_zone *zone, const struct rtn_rule *r,
                                const struct rtn_record_view *rec, struct rtn_rule_eval *e)
{
	rtn_time_t t = anchor_time(r, rec, e), out;
	if (t == RTN_TIME_NONE)
		return RTN_TIME_NONE;
	if (r->anchor.kind == RTN_ANCHOR_END_OF &&
	    (r->anchor.period == RTN_PERIOD_FISCAL_YEAR
	         ? rtn_time_end_of_fiscal_year(zone, t, r->anchor.fiscal_start, &t)
	         : rtn_time_end_of(zone, t, r->anchor.period, &t)) < 0)
		return RTN_TIME_MAX;
	if (rtn_time_add(zone, t, &r->span, &out) < 0)
		return RTN_TIME_MAX;
	return out;
}

static void fmt_time(const struct rtn_zone *zone, rtn_time_t t, char *buf)
{
	if (t == RTN_TIME_MAX || rtn_time_format_in(zone, t, buf, RTN_TIME_FMT_LEN) < 0)
		snprintf(buf, RTN_TIME_FMT_LEN, "beyond 9999");
}

static void eval_rule(const struct rtn_zone *zone, const struct rtn_rule *r,
                      const struct rtn_record_view *rec, struct rtn_rule_eval *e, bool explain)
{
	e->rule = r;
	e->deadline = RTN_TIME_NONE;
	e->anchor_at = RTN_TIME_NONE;
	e->anchor_record = NULL;
	e->applies = true;
	for (size_t i = 0; i < r->nconds && e->applies; i++)
		if (!cond_holds(&r->conds[i], rec, e->why, sizeof(e->why)))
			e->applies = false;
	if (!e->applies)
		return;
	if (r->forever) {
		if (explain)
			snprintf(e->why, sizeof(e->why), "applies: keep forever");
		return;
	}
	e->deadline = rule_deadline(zone, r, rec, e);
	if (e->deadline == RTN_TIME_MAX) {
		/* Beyond the year 9999: no deadline a person can act on. A keep keeps
		 * indefinitely; a delete or anonymize gives no deadline. */
		e->deadline = RTN_TIME_NONE;
		e->beyond = true;
		if (explain)
			snprintf(e->why, sizeof(e->why),
			         "applies, but its deadline lies beyond the year 9999");
		return;
	}
	if (!explain)
		return;
	char *desc = rtn_rule_describe(r);
	bool subj = RTN_ANCHOR_IS_SUBJECT(&r->anchor);
	if (e->deadline == RTN_TIME_NONE) {
		snprintf(e->why, sizeof(e->why), "applies: %s; %s event %s yet%s", desc,
		         subj ? "no record of the subject has" : "the record has no",
		         r->anchor.event,
		         r->action == RTN_ACT_KEEP ? ", so it is kept until it has" : "");
	} else if (subj) {
		char at[RTN_TIME_FMT_LEN], from[RTN_TIME_FMT_LEN];
		fmt_time(zone, e->deadline, at);
		fmt_time(zone, e->anchor_at, from);
		if (e->anchor_record)
			snprintf(e->why, sizeof(e->why),
			         "applies: %s = %s (%s of record %.64s at %s)", desc, at,
			         r->anchor.event, e->anchor_record, from);
		else
			snprintf(e->why, sizeof(e->why),
			         "applies: %s = %s (%s of this record at %s)", desc, at,
			         r->anchor.event, from);
	} else {
		char at[RTN_TIME_FMT_LEN];
		fmt_time(zone, e->deadline, at);
		snprintf(e->why, sizeof(e->why), "applies: %s = %s", desc, at);
	}
	free(desc);
}

static void set_reason(struct rtn_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(struct rtn_decision *d, const char *fmt, ...)
{
	if (d->quiet) {
		d->reason = "";
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->reason_buf, sizeof(d->reason_buf), fmt, ap);
	va_end(ap);
	d->reason = d->reason_buf;
}

/* What the applying rules ask for, each with its rule: the first keep forever; the
 * keep-until (the latest keep deadline) or an indefinite keep; the earliest delete
 * (or the erasure request's time) and anonymize deadlines. */
struct wants {
	const struct rtn_rule *forever, *keep_rule, *del_rule, *anon_rule;
	const struct rtn_rule *del_any, *anon_any; /* the first applying, deadline or not */
	rtn_time_t keep_until, del, anon;
	bool keep_indefinite;
	bool erasure; /* del is the erasure request's */
};

/* Deadline t of rule r, if it is one, replaces *at (and *rule) when earlier. */
static void take_earlier(rtn_time_t *at, const struct rtn_rule **rule, const struct rtn_rule *r,
                         rtn_time_t t)
{
	if (t != RTN_TIME_NONE && t != RTN_TIME_MAX && (*at == RTN_TIME_NONE || t < *at)) {
		*at = t;
		*rule = r;
	}
}

/* Fold one applying rule with deadline t (RTN_TIME_NONE: none) into w. */
static void want(struct wants *w, const struct rtn_rule *r, rtn_time_t t)
{
	if (r->forever) {
		if (!w->forever)
			w->forever = r;
		return;
	}
	switch (r->action) {
	case RTN_ACT_KEEP:
		if (t == RTN_TIME_NONE) {
			if (!w->keep_indefinite)
				w->keep_rule = r;
			w->keep_indefinite = true;
		} else if (!w->keep_indefinite &&
		           (w->keep_until == RTN_TIME_NONE || t > w->keep_until)) {
			w->keep_until = t;
			w->keep_rule = r;
		}
		break;
	case RTN_ACT_DELETE:
		if (!w->del_any)
			w->del_any = r;
		take_earlier(&w->del, &w->del_rule, r, t);
		break;
	case RTN_ACT_ANONYMIZE:
		if (!w->anon_any)
			w->anon_any = r;
		take_earlier(&w->anon, &w->anon_rule, r, t);
		break;
	}
}

/* Evaluate every rule of the category into evals and gather what they ask for; an
 * erasure request earlier than every delete deadline becomes the delete deadline. */
static void gather(const struct rtn_zone *zone, const struct rtn_rule *const *rules, size_t n,
                   const struct rtn_record_view *rec, struct rtn_rule_eval *evals, bool explain,
                   struct wants *w)
{
	*w = (struct wants){
	    .keep_until = RTN_TIME_NONE, .del = RTN_TIME_NONE, .anon = RTN_TIME_NONE};
	for (size_t i = 0; i < n; i++) {
		eval_rule(zone, rules[i], rec, &evals[i], explain);
		if (evals[i].applies)
			want(w, rules[i], evals[i].deadline);
	}
	rtn_time_t del = w->del;
	if (rec->erasure_at != RTN_TIME_NONE && (del == RTN_TIME_NONE || rec->erasure_at < del)) {
		del = rec->erasure_at;
		w->del_rule = NULL;
		w->erasure = true;
	}
	w->del = del;
}

/* A keep forever, or a keep whose deadline is not known, blocks every action: true
 * if one decided the record. */
static bool kept_indefinitely(struct rtn_decision *out, const struct wants *w)
{
	const struct rtn_rule *r = w->forever ? w->forever : w->keep_rule;
	if (!w->forever && !w->keep_indefinite)
		return false;
	out->outcome = RTN_OUT_KEEP;
	out->rule = r;
	out->retained_by = r;
	out->keep_until = RTN_TIME_MAX;
	if (w->forever) {
		set_reason(out, "kept forever by rule %s", r->name);
		return true;
	}
	bool beyond = false;
	for (size_t i = 0; i < out->nevals; i++)
		if (out->evals[i].rule == r)
			beyond = out->evals[i].beyond;
	if (beyond)
		set_reason(out,
		           "kept indefinitely by rule %s: its deadline lies beyond the year 9999",
		           r->name);
	else
		set_reason(out, "kept by rule %s until the record has event %s", r->name,
		           r->anchor.event);
	return true;
}

/* Where an erasure request's deletion goes: the record's own backend, else where the
 * category's deletions go (its first applying delete rule's backend), else where its
 * anonymisations go; NULL when none names one. */
static const char *erasure_backend(const struct rtn_record_view *rec, const struct wants *w)
{
	if (rec->backend)
		return rec->backend;
	if (w->del_any && w->del_any->backend)
		return w->del_any->backend;
	return w->anon_any ? w->anon_any->backend : NULL;
}

/* The schedule: deadlines earlier than keep-until move to it; an anonymize is dropped
 * once done, or when at or after the delete; anonymize first, then delete. */
static void schedule(struct rtn_decision *out, const struct rtn_record_view *rec,
                     const struct wants *w)
{
	rtn_time_t del = w->del, anon = w->anon, keep_until = w->keep_until;
	const struct rtn_rule *del_moved = NULL, *anon_moved = NULL;
	if (keep_until != RTN_TIME_NONE) {
		out->keep_until = keep_until;
		if (del != RTN_TIME_NONE && del < keep_until) {
			del = keep_until;
			del_moved = w->keep_rule;
			out->retained_by = w->keep_rule;
		}
		if (anon != RTN_TIME_NONE && anon < keep_until) {
			anon = keep_until;
			anon_moved = w->keep_rule;
		}
	}
	if (rec->anonymized_at != RTN_TIME_NONE)
		anon = RTN_TIME_NONE;
	if (anon != RTN_TIME_NONE && del != RTN_TIME_NONE && anon >= del)
		anon = RTN_TIME_NONE;

	if (anon != RTN_TIME_NONE) {
		struct rtn_sched *s = &out->sched[out->nsched++];
		s->action = RTN_ACT_ANONYMIZE;
		s->at = anon;
		s->rule = w->anon_rule;
		s->moved_by = anon_moved;
		s->review = w->anon_rule->review;
		s->backend = w->anon_rule->backend ? w->anon_rule->backend : rec->backend;
	}
	if (del != RTN_TIME_NONE) {
		const struct rtn_rule *r = w->del_rule;
		struct rtn_sched *s = &out->sched[out->nsched++];
		s->action = RTN_ACT_DELETE;
		s->at = del;
		s->rule = r;
		s->moved_by = del_moved;
		s->review = r ? r->review : false;
		s->backend = r && r->backend ? r->backend : rec->backend;
		if (!r)
			s->backend = erasure_backend(rec, w);
	}
}

/* The outcome explain shows: the first scheduled action, else the keep-until, else
 * none, each with its reason. */
static void set_outcome(struct rtn_decision *out, const struct rtn_record_view *rec,
                        const struct wants *w)
{
	const char *request = rec->erasure_request ? rec->erasure_request : "";
	if (out->nsched) {
		const struct rtn_sched *s = &out->sched[0];
		out->outcome = s->action == RTN_ACT_DELETE ? RTN_OUT_DELETE : RTN_OUT_ANONYMIZE;
		out->at = s->at;
		out->rule = s->rule;
		if (w->erasure && s->moved_by)
			set_reason(out,
			           "erasure request %s, postponed to the end of the minimum "
			           "retention of rule %s",
			           request, s->moved_by->name);
		else if (s->rule == NULL && w->erasure)
			set_reason(out, "erasure request %s", request);
		else if (s->moved_by)
			set_reason(out,
			           "%s by rule %s, postponed to the end of the minimum retention "
			           "of rule %s",
			           rtn_action_name(s->action),
			           s->rule ? s->rule->name : "(erasure)", s->moved_by->name);
		else
			set_reason(out, "%s by rule %s", rtn_action_name(s->action), s->rule->name);
	} else if (w->keep_until != RTN_TIME_NONE) {
		out->outcome = RTN_OUT_KEEP;
		out->at = w->keep_until;
		out->rule = w->keep_rule;
		set_reason(out,
		           "kept at least until the deadline of rule %s; no delete deadline yet",
		           w->keep_rule->name);
	} else if (rec->anonymized_at != RTN_TIME_NONE) {
		set_reason(out, "anonymized; no delete deadline yet");
	} else {
		size_t applying = 0, first_not = out->nevals;
		for (size_t i = 0; i < out->nevals; i++) {
			applying += out->evals[i].applies;
			if (!out->evals[i].applies && first_not == out->nevals)
				first_not = i;
		}
		if (!applying && first_not < out->nevals)
			set_reason(out, "no rule applies (%s: %s)",
			           out->evals[first_not].rule->name, out->evals[first_not].why);
		else
			set_reason(out, "no deadline yet: no applying rule has its anchor event");
	}
}

int rtn_notice_time(const struct rtn_zone *zone, rtn_time_t deadline, const struct rtn_span *span,
                    rtn_time_t *out)
{
	/* The inverse of the action's own span: elapsed time first, then the calendar. A local
	 * time shown twice (DST overlap) may resolve to its later instant: a notice may come
	 * an hour late there, never early. */
	rtn_time_t t =
	    deadline - ((int64_t)span->hours * 3600 + (int64_t)span->minutes * 60 + span->seconds);
	struct rtn_span cal = {.years = -span->years,
	                       .months = -span->months,
	                       .weeks = -span->weeks,
	                       .days = -span->days};
	if (!rtn_span_is_zero(&cal) && rtn_time_add(zone, t, &cal, &t) < 0)
		return -ERANGE;
	if (t < RTN_TIME_MIN)
		return -ERANGE;
	*out = t > deadline ? deadline : t;
	return 0;
}

/* Each scheduled action of a rule with "notify SPAN before": its notice's time and
 * backend. */
static void notices(const struct rtn_zone *zone, struct rtn_decision *out)
{
	for (size_t i = 0; i < out->nsched; i++) {
		struct rtn_sched *s = &out->sched[i];
		s->notice_at = RTN_TIME_NONE;
		s->notice_backend = NULL;
		if (!s->rule || !s->rule->notify ||
		    rtn_notice_time(zone, s->at, &s->rule->notify_span, &s->notice_at) < 0)
			continue;
		s->notice_backend = s->rule->notify_backend ? s->rule->notify_backend : s->backend;
	}
}

/* SPEC §3, in its order: the rules of the category, what they ask for, holds, keeps
 * that block everything, the schedule, the outcome. */
static void decide(const struct rtn_ruleset *rs, const struct rtn_zone *zone,
                   const struct rtn_record_view *rec, struct rtn_decision *out, bool explain)
{
	memset(out, 0, sizeof(*out));
	out->quiet = !explain;
	out->at = RTN_TIME_NONE;
	out->keep_until = RTN_TIME_NONE;
	out->outcome = RTN_OUT_NONE;

	size_t n;
	const struct rtn_rule *const *rules = rtn_ruleset_for_category(rs, rec->category, &n);
	if (n == 0) {
		out->state = RTN_DS_UNMANAGED;
		set_reason(out, "no rule names category %s: unmanaged, never acted on",
		           rec->category);
		return;
	}
	out->evals = rtn_xcalloc(n, sizeof(*out->evals));
	out->nevals = n;
	struct wants w;
	gather(zone, rules, n, rec, out->evals, explain, &w);

	if (rec->nholds > 0) {
		out->state = RTN_DS_HELD;
		set_reason(out, "held (%s%s): nothing is done while a hold is in place",
		           rec->holds[0], rec->nholds > 1 ? ", ..." : "");
		return;
	}
	out->state = RTN_DS_ACTIVE;
	if (kept_indefinitely(out, &w))
		return;
	schedule(out, rec, &w);
	notices(zone, out);
	set_outcome(out, rec, &w);
}

void rtn_decide(const struct rtn_ruleset *rs, const struct rtn_zone *zone,
                const struct rtn_record_view *rec, struct rtn_decision *out)
{
	decide(rs, zone, rec, out, true);
}

void rtn_decide_quick(const struct rtn_ruleset *rs, const struct rtn_zone *zone,
                      const struct rtn_record_view *rec, struct rtn_decision *out)
{
	decide(rs, zone, rec, out, false);
}

void rtn_decision_free(struct rtn_decision *d)
{
	free(d->evals);
	d->evals = NULL;
	d->nevals = 0;
}
