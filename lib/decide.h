/* decide.h - the schedule of one record: a pure function of rules and record
 *
 * No clock, no I/O, no process-wide setting: everything the decision depends on is an
 * argument (the zone of its calendar arithmetic too), so the daemon, explain, plan and
 * the tests all see the same answer.
 */
#ifndef RTN_DECIDE_H
#define RTN_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "rtime.h"
#include "rules.h"

struct rtn_event {
	const char *name;
	rtn_time_t at;
};

enum rtn_attr_type { RTN_ATTR_NULL, RTN_ATTR_BOOL, RTN_ATTR_NUMBER, RTN_ATTR_STRING };

struct rtn_attr {
	const char *name;
	enum rtn_attr_type type;
	bool b;
	double n;
	const char *s;
};

/* What an anchor of the subject (latest/earliest(EVENT) of subject) reads besides the
 * record's own event: that event's latest (earliest) time over the other live records of
 * the record's subject, and the record it came from. */
struct rtn_subject_time {
	const char *event;
	bool latest;        /* latest, else earliest */
	rtn_time_t at;      /* RTN_TIME_NONE: no other record of the subject has the event */
	const char *record; /* the record at came from (with at) */
};

/* What the decision reads of a record. Nothing here is owned. */
struct rtn_record_view {
	const char *id;
	const char *category;
	const char *backend; /* the record's own backend, or NULL */
	const struct rtn_event *events;
	size_t nevents;
	const struct rtn_attr *attrs;
	size_t nattrs;
	const char *const *holds; /* names of the holds on the record */
	size_t nholds;
	rtn_time_t anonymized_at;    /* RTN_TIME_NONE unless already anonymised */
	rtn_time_t erasure_at;       /* RTN_TIME_NONE unless an erasure request covers it */
	const char *erasure_request; /* the request's id, with erasure_at */
	/* The subject's times for the anchors of the subject; a subject anchor without its
	 * entry here (a record without a subject) reads the record's own event. */
	const struct rtn_subject_time *subject_times;
	size_t nsubject_times;
};

enum rtn_dstate {
	RTN_DS_ACTIVE,    /* managed; schedule may be empty (kept, or anchors missing) */
	RTN_DS_UNMANAGED, /* no rule names the category */
	RTN_DS_HELD,      /* under a hold: nothing is done */
};

enum rtn_outcome { RTN_OUT_NONE, RTN_OUT_DELETE, RTN_OUT_ANONYMIZE, RTN_OUT_KEEP };

struct rtn_sched {
	enum rtn_action action; /* RTN_ACT_DELETE or RTN_ACT_ANONYMIZE */
	rtn_time_t at;
	const struct rtn_rule *rule;     /* the rule behind the deadline; NULL for an erasure */
	const struct rtn_rule *moved_by; /* the keep rule that postponed it, or NULL */
	bool review;                     /* wait for a human approval once due */
	const char *backend;             /* the rule's backend, else the record's (may be NULL) */
	/* "notify SPAN before": when the notice of this action is due (RTN_TIME_NONE: the
	 * rule sends none) and to which backend (notify-backend, else the action's) */
	rtn_time_t notice_at;
	const char *notice_backend;
};

struct rtn_rule_eval {
	const struct rtn_rule *rule;
	bool applies;
	char why[256];
	rtn_time_t
	    deadline; /* RTN_TIME_NONE: no deadline (anchor missing, forever, or not applying) */
	bool beyond;  /* the deadline would lie beyond the year 9999 */
	rtn_time_t anchor_at;      /* the anchor event's time used, RTN_TIME_NONE when none */
	const char *anchor_record; /* where anchor_at came from: another record of the subject
	                              (borrowed from the view), NULL for the record itself */
};

struct rtn_decision {
	enum rtn_dstate state;
	struct rtn_sched sched[2]; /* in time order: anonymize before delete */
	size_t nsched;
	/* The decision as explain shows it. */
	enum rtn_outcome outcome;
	rtn_time_t at;               /* RTN_TIME_NONE for keep forever / none */
	const struct rtn_rule *rule; /* NULL for none and for an erasure */
	const char *reason;          /* a sentence for explain, static or in reason_buf */
	char reason_buf[256];
	/* Retention, for erasure reports. */
	const struct rtn_rule *retained_by; /* keep rule that blocks or postpones deletion */
	rtn_time_t keep_until;              /* RTN_TIME_MAX when kept indefinitely/forever */
	bool quiet;                         /* made by rtn_decide_quick: no explanations */
	/* Every rule of the category, in load order. Owned; freed by rtn_decision_free. */
	struct rtn_rule_eval *evals;
	size_t nevals;
};

/* Decide one record's schedule against rs, its calendar arithmetic (and the times in
 * its explanations) in zone. Never fails; out must be freed with rtn_decision_free(). */
void rtn_decide(const struct rtn_ruleset *rs, const struct rtn_zone *zone,
                const struct rtn_record_view *rec, struct rtn_decision *out);
/* Like rtn_decide, for hot paths: the same state, schedule and outcome, but the
 * per-rule explanations (evals' why) and the reason are empty strings. */
void rtn_decide_quick(const struct rtn_ruleset *rs, const struct rtn_zone *zone,
                      const struct rtn_record_view *rec, struct rtn_decision *out);
/* When the notice of an action due at deadline is due under "notify SPAN before": span
 * counted back from deadline in zone (its hours, minutes and seconds as elapsed time, then
 * its days, weeks, months and years on the calendar), never after the deadline.
 * 0, or -ERANGE. */
int rtn_notice_time(const struct rtn_zone *zone, rtn_time_t deadline, const struct rtn_span *span,
                    rtn_time_t *out);
/* Free what rtn_decide allocated. */
void rtn_decision_free(struct rtn_decision *d);
/* True if the attribute counts as true: true, a non-zero number, or a non-empty string
 * other than "false", "no" and "0". */
bool rtn_attr_truthy(const struct rtn_attr *a);
/* The attribute as text, for NAME = VALUE ("true", "false", "3", "3.5", the string;
 * "" for null); writes into buf when it must. */
const char *rtn_attr_text(const struct rtn_attr *a, char *buf, size_t len);
/* "active", "unmanaged" or "held". */
const char *rtn_dstate_name(enum rtn_dstate s);
/* "none", "delete", "anonymize" or "keep". */
const char *rtn_outcome_name(enum rtn_outcome o);

#endif
