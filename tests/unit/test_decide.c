/* test_decide.c - the schedule of one record (lib/decide.c), SPEC §3 "How one record's
 * schedule is decided", with small inline rule sets in the zone Europe/Oslo (CET +01:00,
 * CEST +02:00 from 2025-03-30).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "diag.h"
#include "rtime.h"
#include "rules.h"
#include "util.h"

#include "testutil.h"

#define CREATED "2025-03-01T09:30"

static struct rtn_ruleset rs;
static struct rtn_zone *oslo; /* the zone of every decision here but test_zone_argument's */

struct rec {
	struct rtn_event ev[8];
	struct rtn_attr at[8];
	const char *holds[4];
	struct rtn_record_view v;
	struct rtn_decision d;
	bool decided;
};

static struct rec R;

static void rec_reset(const char *category)
{
	if (R.decided)
		rtn_decision_free(&R.d);
	memset(&R, 0, sizeof(R));
	R.v.id = "t/1";
	R.v.category = category;
	R.v.events = R.ev;
	R.v.attrs = R.at;
	R.v.holds = R.holds;
	R.v.anonymized_at = RTN_TIME_NONE;
	R.v.erasure_at = RTN_TIME_NONE;
}

static void setup(void)
{
	oslo = rtn_zone_open("Europe/Oslo");
	ck_assert_ptr_nonnull(oslo);
	rtn_ruleset_init(&rs);
	rec_reset("c");
}

static void teardown(void)
{
	if (R.decided)
		rtn_decision_free(&R.d);
	R.decided = false;
	rtn_ruleset_free(&rs);
	rtn_zone_free(oslo);
	oslo = NULL;
}

/* Replace the rule set with text, which must parse without a word. */
static void load(const char *text)
{
	struct rtn_diags d;
	rtn_diags_init(&d);
	rtn_ruleset_free(&rs);
	rtn_ruleset_init(&rs);
	int r = rtn_rules_parse("t.rules", text, strlen(text), &rs, &d);
	if (r == 0)
		r = rtn_ruleset_finish(&rs, &d);
	if (d.n)
		rtn_diags_print(&d, stderr);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(d.n, 0);
	rtn_diags_fini(&d);
}

/* A local time in the zone. */
static rtn_time_t T(const char *s)
{
	rtn_time_t t = RTN_TIME_NONE;
	ck_assert_msg(rtn_time_parse_local(oslo, s, &t) == 0, "cannot parse %s", s);
	return t;
}

/* t as RFC 3339; "(none)" and "(max)" for the special values. */
static const char *fmt(rtn_time_t t)
{
	static char bufs[8][RTN_TIME_FMT_LEN];
	static unsigned next;
	char *b = bufs[next++ % 8];
	if (t == RTN_TIME_NONE)
		return "(none)";
	if (t == RTN_TIME_MAX)
		return "(max)";
	if (rtn_time_format_in(oslo, t, b, RTN_TIME_FMT_LEN) < 0)
		snprintf(b, RTN_TIME_FMT_LEN, "(bad %lld)", (long long)t);
	return b;
}

static void ev(const char *name, const char *at)
{
	R.ev[R.v.nevents].name = name;
	R.ev[R.v.nevents].at = T(at);
	R.v.nevents++;
}

static struct rtn_attr *attr(const char *name, enum rtn_attr_type type)
{
	struct rtn_attr *a = &R.at[R.v.nattrs++];
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->type = type;
	return a;
}

/* rtn_decide_quick must agree with rtn_decide on everything but the explanations. */
static void check_quick(const struct rtn_decision *d)
{
	struct rtn_decision q;
	rtn_decide_quick(&rs, oslo, &R.v, &q);
	ck_assert(q.quiet && !d->quiet);
	ck_assert_int_eq(q.state, d->state);
	ck_assert_uint_eq(q.nsched, d->nsched);
	for (size_t i = 0; i < d->nsched; i++) {
		const struct rtn_sched *a = &q.sched[i], *b = &d->sched[i];
		ck_assert(a->action == b->action && a->at == b->at && a->rule == b->rule &&
		          a->moved_by == b->moved_by && a->review == b->review &&
		          a->backend == b->backend && a->notice_at == b->notice_at &&
		          a->notice_backend == b->notice_backend);
	}
	ck_assert_int_eq(q.outcome, d->outcome);
	ck_assert_int_eq(q.at, d->at);
	ck_assert_ptr_eq(q.rule, d->rule);
	ck_assert_ptr_eq(q.retained_by, d->retained_by);
	ck_assert_int_eq(q.keep_until, d->keep_until);
	ck_assert_uint_eq(q.nevals, d->nevals);
	for (size_t i = 0; i < d->nevals; i++)
		ck_assert(q.evals[i].rule == d->evals[i].rule &&
		          q.evals[i].applies == d->evals[i].applies &&
		          q.evals[i].deadline == d->evals[i].deadline);
	rtn_decision_free(&q);
}

/* Decide R (and check that the quick decision agrees). */
static const struct rtn_decision *decide(void)
{
	if (R.decided)
		rtn_decision_free(&R.d);
	rtn_decide(&rs, oslo, &R.v, &R.d);
	R.decided = true;
	check_quick(&R.d);
	return &R.d;
}

/* A record of category c created at CREATED, decided. */
static const struct rtn_decision *decide_created(void)
{
	rec_reset("c");
	ev("created", CREATED);
	return decide();
}

static const char *rule_name(const struct rtn_rule *r)
{
	return r ? r->name : "(null)";
}

/* Schedule entry i is action at time by rule. */
#define SCHED(d, i, act, time, rulename)                                                           \
	do {                                                                                       \
		ck_assert_uint_gt((d)->nsched, (i));                                               \
		ck_assert_int_eq((d)->sched[i].action, (act));                                     \
		ck_assert_str_eq(fmt((d)->sched[i].at), (time));                                   \
		ck_assert_str_eq(rule_name((d)->sched[i].rule), (rulename));                       \
	} while (0)

#define DEL  RTN_ACT_DELETE
#define ANON RTN_ACT_ANONYMIZE

START_TEST(test_unmanaged)
{
	load("rule r { category c; delete 1 year after created }");
	rec_reset("other");
	ev("created", CREATED);
	const struct rtn_decision *d = decide();
	ck_assert_int_eq(d->state, RTN_DS_UNMANAGED);
	ck_assert_str_eq(rtn_dstate_name(d->state), "unmanaged");
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_NONE);
	ck_assert_str_eq(fmt(d->at), "(none)");
	ck_assert_ptr_null(d->rule);
	ck_assert_ptr_null(d->retained_by);
	ck_assert_uint_eq(d->nevals, 0);
	ck_assert_str_eq(d->reason, "no rule names category other: unmanaged, never acted on");
	/* an erasure request does not make it managed */
	R.v.erasure_at = T("2025-04-01");
	ck_assert_int_eq(decide()->state, RTN_DS_UNMANAGED);
	ck_assert_uint_eq(R.d.nsched, 0);
	/* an empty rule set: everything unmanaged */
	rtn_ruleset_free(&rs);
	rtn_ruleset_init(&rs);
	ck_assert_int_eq(decide_created()->state, RTN_DS_UNMANAGED);
}
END_TEST

START_TEST(test_held)
{
	load("rule r { category c; delete 1 year after created }\n"
	     "rule k { category d; keep forever }\n");
	rec_reset("c");
	ev("created", CREATED);
	R.holds[R.v.nholds++] = "litigation-7";
	const struct rtn_decision *d = decide();
	ck_assert_int_eq(d->state, RTN_DS_HELD);
	ck_assert_str_eq(rtn_dstate_name(d->state), "held");
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_NONE);
	ck_assert_str_eq(d->reason,
	                 "held (litigation-7): nothing is done while a hold is in place");
	ck_assert_uint_eq(d->nevals, 1); /* explain still shows the rules */
	ck_assert(d->evals[0].applies);
	ck_assert_str_eq(fmt(d->evals[0].deadline), "2026-03-01T09:30:00+01:00");
	R.holds[R.v.nholds++] = "audit";
	R.v.erasure_at = T("2025-04-01");
	d = decide();
	ck_assert_int_eq(d->state, RTN_DS_HELD);
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_str_eq(d->reason, "held (litigation-7, ...): nothing is done while a hold is in "
	                            "place");
	R.v.category = "d";
	ck_assert_int_eq(decide()->state, RTN_DS_HELD);
	ck_assert_uint_eq(R.d.nsched, 0);
}
END_TEST

START_TEST(test_keep_forever)
{
	load("rule k { category c; keep forever; basis \"law\" }\n"
	     "rule d { category c; delete 1 year after created }\n"
	     "rule a { category c; anonymize 1 day after created }\n");
	const struct rtn_decision *d = decide_created();
	ck_assert_int_eq(d->state, RTN_DS_ACTIVE);
	ck_assert_str_eq(rtn_dstate_name(d->state), "active");
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rtn_outcome_name(d->outcome), "keep");
	ck_assert_str_eq(fmt(d->at), "(none)");
	ck_assert_str_eq(rule_name(d->rule), "k");
	ck_assert_str_eq(rule_name(d->retained_by), "k");
	ck_assert_str_eq(fmt(d->keep_until), "(max)");
	ck_assert_str_eq(d->reason, "kept forever by rule k");
	ck_assert_uint_eq(d->nevals, 3);
	ck_assert(d->evals[0].applies);
	ck_assert_str_eq(d->evals[0].why, "applies: keep forever");
	ck_assert_str_eq(fmt(d->evals[0].deadline), "(none)");
	ck_assert_str_eq(d->evals[1].why, "applies: delete 1 year after created = "
	                                  "2026-03-01T09:30:00+01:00");
	/* a keep forever that does not apply keeps nothing */
	load("rule k { category c; keep forever; when board }\n"
	     "rule d { category c; delete 1 year after created }\n");
	d = decide_created();
	ck_assert_int_eq(d->outcome, RTN_OUT_DELETE);
	SCHED(d, 0, DEL, "2026-03-01T09:30:00+01:00", "d");
	ck_assert(!d->evals[0].applies);
	ck_assert_str_eq(d->evals[0].why, "when board: board is not set");
}
END_TEST

START_TEST(test_keep)
{
	load("rule k { category c; keep 5 years after ceased }\n"
	     "rule d { category c; delete 1 year after created }\n");
	const struct rtn_decision *d = decide_created();
	/* the anchor has not happened: kept indefinitely */
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->rule), "k");
	ck_assert_str_eq(rule_name(d->retained_by), "k");
	ck_assert_str_eq(fmt(d->keep_until), "(max)");
	ck_assert_str_eq(d->reason, "kept by rule k until the record has event ceased");
	ck_assert_str_eq(d->evals[0].why, "applies: keep 5 years after ceased; the record has no "
	                                  "event ceased yet, so it is kept until it has");
	ck_assert_str_eq(fmt(d->evals[0].deadline), "(none)");
	/* it has: the delete waits for the keep */
	ev("ceased", "2025-06-01T12:00");
	d = decide();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, DEL, "2030-06-01T12:00:00+02:00", "d");
	ck_assert_str_eq(rule_name(d->sched[0].moved_by), "k");
	ck_assert_str_eq(rule_name(d->retained_by), "k");
	ck_assert_str_eq(fmt(d->keep_until), "2030-06-01T12:00:00+02:00");
	ck_assert_int_eq(d->outcome, RTN_OUT_DELETE);
	ck_assert_str_eq(rtn_outcome_name(d->outcome), "delete");
	ck_assert_str_eq(fmt(d->at), "2030-06-01T12:00:00+02:00");
	ck_assert_str_eq(rule_name(d->rule), "d");
	ck_assert_str_eq(d->reason, "delete by rule d, postponed to the end of the minimum "
	                            "retention of rule k");

	/* a keep that ends before the delete changes nothing */
	load("rule k { category c; keep 1 month after created }\n"
	     "rule d { category c; delete 1 year after created }\n");
	d = decide_created();
	SCHED(d, 0, DEL, "2026-03-01T09:30:00+01:00", "d");
	ck_assert_ptr_null(d->sched[0].moved_by);
	ck_assert_ptr_null(d->retained_by);
	ck_assert_str_eq(fmt(d->keep_until), "2025-04-01T09:30:00+02:00");
	ck_assert_str_eq(d->reason, "delete by rule d");

	/* several keeps: the latest applying one; a keep whose condition fails keeps nothing */
	load("rule k1 { category c; keep 1 year after created }\n"
	     "rule k3 { category c; keep 3 years after created }\n"
	     "rule k9 { category c; keep 9 years after created; when board }\n"
	     "rule k2 { category c; keep 2 years after created }\n"
	     "rule d { category c; delete 1 day after created }\n");
	d = decide_created();
	SCHED(d, 0, DEL, "2028-03-01T09:30:00+01:00", "d");
	ck_assert_str_eq(rule_name(d->sched[0].moved_by), "k3");

	/* only keeps: kept until the latest, nothing scheduled */
	load("rule k { category c; keep 1 year after created }\n");
	d = decide_created();
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(fmt(d->at), "2026-03-01T09:30:00+01:00");
	ck_assert_str_eq(rule_name(d->rule), "k");
	ck_assert_str_eq(d->reason, "kept at least until the deadline of rule k; no delete "
	                            "deadline yet");

	/* an indefinite keep beats a finite one, in either order */
	load("rule k1 { category c; keep 1 year after created }\n"
	     "rule k2 { category c; keep 1 year after ceased }\n"
	     "rule d { category c; delete 1 day after created }\n");
	d = decide_created();
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_str_eq(rule_name(d->retained_by), "k2");
	ck_assert_str_eq(fmt(d->keep_until), "(max)");
}
END_TEST

START_TEST(test_delete_anonymize)
{
	/* SPEC: the earliest applying delete deadline wins */
	load("rule checked { category pc; delete immediately after checked }\n"
	     "rule latest { category pc; delete 1 week after received }\n");
	rec_reset("pc");
	ev("received", CREATED);
	const struct rtn_decision *d = decide();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, DEL, "2025-03-08T09:30:00+01:00", "latest");
	ck_assert_str_eq(d->evals[0].why, "applies: delete immediately after checked; the record "
	                                  "has no event checked yet");
	ev("checked", "2025-03-03T10:00");
	d = decide();
	SCHED(d, 0, DEL, "2025-03-03T10:00:00+01:00", "checked");
	ck_assert_str_eq(d->reason, "delete by rule checked");
	R.ev[1].at = T("2025-03-20T10:00");
	SCHED(decide(), 0, DEL, "2025-03-08T09:30:00+01:00", "latest");

	/* anonymize before delete: two entries in time order */
	load("rule d { category c; delete 1 year after created }\n"
	     "rule a { category c; anonymize 30 days after created }\n");
	d = decide_created();
	ck_assert_uint_eq(d->nsched, 2);
	SCHED(d, 0, ANON, "2025-03-31T09:30:00+02:00", "a");
	SCHED(d, 1, DEL, "2026-03-01T09:30:00+01:00", "d");
	ck_assert_int_eq(d->outcome, RTN_OUT_ANONYMIZE);
	ck_assert_str_eq(rtn_outcome_name(d->outcome), "anonymize");
	ck_assert_str_eq(fmt(d->at), "2025-03-31T09:30:00+02:00");
	ck_assert_str_eq(rule_name(d->rule), "a");
	ck_assert_str_eq(d->reason, "anonymize by rule a");
	/* already anonymised: only the delete is left */
	R.v.anonymized_at = T("2025-03-31T09:30");
	d = decide();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, DEL, "2026-03-01T09:30:00+01:00", "d");

	/* an anonymize at or after the delete is dropped */
	load("rule d { category c; delete 1 year after created }\n"
	     "rule a { category c; anonymize 12 months after created }\n"
	     "rule a2 { category c; anonymize 2 years after created }\n");
	d = decide_created();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, DEL, "2026-03-01T09:30:00+01:00", "d");

	/* anonymize only; the earliest anonymize wins */
	load("rule a { category c; anonymize 2 days after created }\n"
	     "rule a1 { category c; anonymize 1 day after created }\n");
	d = decide_created();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, ANON, "2025-03-02T09:30:00+01:00", "a1");
	R.v.anonymized_at = T("2025-03-02T09:30");
	ck_assert_uint_eq(decide()->nsched, 0);
	ck_assert_int_eq(R.d.outcome, RTN_OUT_NONE);
	ck_assert_str_eq(R.d.reason, "anonymized; no delete deadline yet");

	/* a keep postpones an anonymize too */
	load("rule k { category c; keep 1 year after created }\n"
	     "rule a { category c; anonymize 30 days after created }\n");
	d = decide_created();
	SCHED(d, 0, ANON, "2026-03-01T09:30:00+01:00", "a");
	ck_assert_str_eq(rule_name(d->sched[0].moved_by), "k");
	ck_assert_str_eq(d->reason, "anonymize by rule a, postponed to the end of the minimum "
	                            "retention of rule k");

	/* no anchor yet: no deadline */
	load("rule d { category c; delete 1 year after closed }\n");
	d = decide_created();
	ck_assert_int_eq(d->state, RTN_DS_ACTIVE);
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_NONE);
	ck_assert_str_eq(rtn_outcome_name(d->outcome), "none");
	ck_assert_str_eq(d->reason, "no deadline yet: no applying rule has its anchor event");

	/* calendar anchors */
	load("rule d { category c; delete 5 years after end-of-year(created) }\n");
	SCHED(decide_created(), 0, DEL, "2031-01-01T00:00:00+01:00", "d");
}
END_TEST

START_TEST(test_erasure)
{
	load("rule d { category c; delete 1 year after created; review; backend hr }\n"
	     "rule a { category c; anonymize 30 days after created }\n");
	rec_reset("c");
	ev("created", CREATED);
	R.v.backend = "own";
	R.v.erasure_at = T("2025-03-10T12:00");
	R.v.erasure_request = "er-1";
	const struct rtn_decision *d = decide();
	ck_assert_uint_eq(d->nsched, 1); /* the anonymize would come after: dropped */
	SCHED(d, 0, DEL, "2025-03-10T12:00:00+01:00", "(null)");
	ck_assert_ptr_null(d->sched[0].moved_by);
	ck_assert_str_eq(d->sched[0].backend, "own");
	ck_assert(!d->sched[0].review);
	ck_assert_int_eq(d->outcome, RTN_OUT_DELETE);
	ck_assert_ptr_null(d->rule);
	ck_assert_str_eq(fmt(d->at), "2025-03-10T12:00:00+01:00");
	ck_assert_str_eq(d->reason, "erasure request er-1");
	/* a request later than the rules changes nothing */
	R.v.erasure_at = T("2027-01-01");
	d = decide();
	ck_assert_uint_eq(d->nsched, 2);
	SCHED(d, 1, DEL, "2026-03-01T09:30:00+01:00", "d");
	ck_assert(d->sched[1].review);
	ck_assert_str_eq(d->sched[1].backend, "hr");
	/* no rule deadline yet: the request alone */
	rec_reset("c");
	R.v.erasure_at = T("2025-03-10T12:00");
	R.v.erasure_request = "er-2";
	d = decide();
	SCHED(d, 0, DEL, "2025-03-10T12:00:00+01:00", "(null)");
	/* the record names no backend: the deletion goes where rule d's deletions go (it went
	 * nowhere, failed as an orphan, and the request never completed) */
	ck_assert_str_eq(d->sched[0].backend, "hr");

	/* under a keep: postponed, and the keep is reported */
	load("rule k { category c; keep 5 years after created }\n"
	     "rule d { category c; delete 10 years after created }\n");
	rec_reset("c");
	ev("created", CREATED);
	R.v.erasure_at = T("2025-04-01T12:00");
	R.v.erasure_request = "er-1";
	d = decide();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, DEL, "2030-03-01T09:30:00+01:00", "(null)");
	ck_assert_str_eq(rule_name(d->sched[0].moved_by), "k");
	ck_assert_str_eq(rule_name(d->retained_by), "k");
	ck_assert_str_eq(d->reason, "erasure request er-1, postponed to the end of the minimum "
	                            "retention of rule k");
	/* under a keep whose anchor has not happened: nothing, retained by the keep */
	load("rule k { category c; keep 5 years after ceased }\n");
	d = decide();
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "k");
	/* under keep forever: nothing, retained by that rule */
	load("rule d { category c; delete 1 year after created }\n"
	     "rule forever { category c; keep forever }\n");
	d = decide();
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "forever");
	ck_assert_str_eq(fmt(d->keep_until), "(max)");
}
END_TEST

/* Does rule r (category c, "delete 1 day after created" + cond) apply to the record? */
static bool applies(void)
{
	const struct rtn_decision *d = decide();
	ck_assert_uint_eq(d->nevals, 1);
	ck_assert((d->nsched == 1) == d->evals[0].applies);
	return d->evals[0].applies;
}

START_TEST(test_truthy_conditions)
{
	struct {
		enum rtn_attr_type type;
		bool b;
		double n;
		const char *s;
		bool want;
	} cases[] = {
	    {RTN_ATTR_BOOL, true, 0, NULL, true},   {RTN_ATTR_BOOL, false, 0, NULL, false},
	    {RTN_ATTR_NUMBER, 0, 1, NULL, true},    {RTN_ATTR_NUMBER, 0, -2.5, NULL, true},
	    {RTN_ATTR_NUMBER, 0, 0, NULL, false},   {RTN_ATTR_NUMBER, 0, NAN, NULL, false},
	    {RTN_ATTR_STRING, 0, 0, "yes", true},   {RTN_ATTR_STRING, 0, 0, "true", true},
	    {RTN_ATTR_STRING, 0, 0, "False", true}, {RTN_ATTR_STRING, 0, 0, " ", true},
	    {RTN_ATTR_STRING, 0, 0, "", false},     {RTN_ATTR_STRING, 0, 0, "false", false},
	    {RTN_ATTR_STRING, 0, 0, "no", false},   {RTN_ATTR_STRING, 0, 0, "0", false},
	    {RTN_ATTR_NULL, 0, 0, NULL, false},
	};
	for (int unless = 0; unless < 2; unless++) {
		load(unless ? "rule r { category c; delete 1 day after created; unless flag }"
		            : "rule r { category c; delete 1 day after created; when flag }");
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			rec_reset("c");
			ev("created", CREATED);
			struct rtn_attr *a = attr("flag", cases[i].type);
			a->b = cases[i].b;
			a->n = cases[i].n;
			a->s = cases[i].s;
			ck_assert_msg(rtn_attr_truthy(a) == cases[i].want, "case %zu", i);
			ck_assert_msg(applies() == (cases[i].want != unless), "case %zu unless %d",
			              i, unless);
		}
		/* a missing attribute is false */
		rec_reset("c");
		ev("created", CREATED);
		attr("other", RTN_ATTR_BOOL)->b = true;
		ck_assert(applies() == (bool)unless);
		if (!unless)
			ck_assert_str_eq(R.d.evals[0].why, "when flag: flag is not set");
	}
	rec_reset("c");
	ev("created", CREATED);
	attr("flag", RTN_ATTR_BOOL)->b = true;
	ck_assert(!applies());
	ck_assert_str_eq(R.d.evals[0].why, "unless flag: flag is true");
	load("rule r { category c; delete 1 day after created; when flag }");
	R.at[0].b = false;
	ck_assert(!applies());
	ck_assert_str_eq(R.d.evals[0].why, "when flag: flag is false");
}
END_TEST

/* Record with one attribute v of the given type against the loaded rule. */
static bool applies_num(double n)
{
	rec_reset("c");
	ev("created", CREATED);
	attr("v", RTN_ATTR_NUMBER)->n = n;
	return applies();
}

static bool applies_str(const char *s)
{
	rec_reset("c");
	ev("created", CREATED);
	attr("v", RTN_ATTR_STRING)->s = s;
	return applies();
}

static bool applies_bool(bool b)
{
	rec_reset("c");
	ev("created", CREATED);
	attr("v", RTN_ATTR_BOOL)->b = b;
	return applies();
}

static bool applies_missing(void)
{
	rec_reset("c");
	ev("created", CREATED);
	return applies();
}

START_TEST(test_equality_conditions)
{
	load("rule r { category c; delete 1 day after created; when v = 3 }");
	ck_assert(applies_num(3));
	ck_assert(!applies_num(3.5));
	ck_assert(!applies_num(-3));
	ck_assert(applies_str("3"));
	ck_assert(!applies_str("03"));
	ck_assert(!applies_str("3 "));
	ck_assert(!applies_bool(true));
	ck_assert(!applies_missing());
	ck_assert_str_eq(R.d.evals[0].why, "when v = 3: v is not set");
	ck_assert(!applies_num(4));
	ck_assert_str_eq(R.d.evals[0].why, "when v = 3: v is \"4\"");

	load("rule r { category c; delete 1 day after created; when v=3.5 }");
	ck_assert(applies_num(3.5));
	ck_assert(!applies_num(3));
	load("rule r { category c; delete 1 day after created; when v = active }");
	ck_assert(applies_str("active"));
	ck_assert(!applies_str("Active"));
	ck_assert(!applies_str(""));
	load("rule r { category c; delete 1 day after created; when v = \"two words\" }");
	ck_assert(applies_str("two words"));
	load("rule r { category c; delete 1 day after created; when v = true }");
	ck_assert(applies_bool(true));
	ck_assert(!applies_bool(false));
	ck_assert(applies_str("true"));
	load("rule r { category c; delete 1 day after created; when v = false }");
	ck_assert(applies_bool(false));

	load("rule r { category c; delete 1 day after created; when v != 3 }");
	ck_assert(!applies_num(3));
	ck_assert_str_eq(R.d.evals[0].why, "when v != 3: v is \"3\"");
	ck_assert(applies_num(4));
	ck_assert(applies_str("three"));
	ck_assert(applies_missing());
	load("rule r { category c; delete 1 day after created; unless v!=3 }");
	ck_assert(applies_num(3));
	ck_assert(!applies_num(4));
	ck_assert(!applies_missing());
	load("rule r { category c; delete 1 day after created; unless v = active }");
	ck_assert(!applies_str("active"));
	ck_assert_str_eq(R.d.evals[0].why, "unless v = active: v is \"active\"");
	ck_assert(applies_str("passive"));
	ck_assert(applies_missing());
}
END_TEST

/* A JSON number compares as it is written: 0.1 is "0.1", not "0.10000000000000001". */
START_TEST(test_equality_decimal)
{
	load("rule r { category c; delete 1 day after created; when v = 0.1 }");
	ck_assert(applies_num(0.1));
	load("rule r { category c; delete 1 day after created; when v = 2.675 }");
	ck_assert(applies_num(2.675));
}
END_TEST

START_TEST(test_event_conditions)
{
	load("rule r { category c; delete 1 day after created; when event hired }");
	ck_assert(!applies_missing());
	ck_assert_str_eq(R.d.evals[0].why, "when event hired: the record does not have that event");
	ev("hired", "2025-05-01");
	ck_assert(applies());
	load("rule r { category c; delete 1 day after created; unless event hired }");
	ck_assert(!applies());
	ck_assert_str_eq(R.d.evals[0].why, "unless event hired: the record has that event");
	ck_assert(applies_missing());
	/* an attribute of that name is not an event */
	rec_reset("c");
	ev("created", CREATED);
	attr("hired", RTN_ATTR_BOOL)->b = true;
	ck_assert(applies());
	/* every condition must hold */
	load("rule r { category c; delete 1 day after created; when event a; when b; unless c }");
	rec_reset("c");
	ev("created", CREATED);
	ev("a", CREATED);
	attr("b", RTN_ATTR_BOOL)->b = true;
	attr("c", RTN_ATTR_BOOL)->b = false;
	ck_assert(applies());
	R.at[1].b = true;
	ck_assert(!applies());
	ck_assert_str_eq(R.d.evals[0].why, "unless c: c is true");
}
END_TEST

START_TEST(test_review_backend_evals)
{
	load("rule d { category c; delete 1 year after created; review; backend hr }\n"
	     "rule a { category c; anonymize 1 day after created }\n"
	     "rule n { category c; delete 1 day after created; when never }\n"
	     "rule m { category c; delete 1 week after missing }\n");
	rec_reset("c");
	ev("created", CREATED);
	R.v.backend = "own";
	const struct rtn_decision *d = decide();
	ck_assert_uint_eq(d->nsched, 2);
	SCHED(d, 0, ANON, "2025-03-02T09:30:00+01:00", "a");
	ck_assert(!d->sched[0].review);
	ck_assert_str_eq(d->sched[0].backend, "own");
	ck_assert_ptr_null(d->sched[0].moved_by);
	SCHED(d, 1, DEL, "2026-03-01T09:30:00+01:00", "d");
	ck_assert(d->sched[1].review);
	ck_assert_str_eq(d->sched[1].backend, "hr");
	/* evals: every rule of the category, in load order */
	ck_assert_uint_eq(d->nevals, 4);
	static const char *const names[] = {"d", "a", "n", "m"};
	static const bool app[] = {true, true, false, true};
	static const char *const dl[] = {"2026-03-01T09:30:00+01:00", "2025-03-02T09:30:00+01:00",
	                                 "(none)", "(none)"};
	static const char *const why[] = {
	    "applies: delete 1 year after created = 2026-03-01T09:30:00+01:00",
	    "applies: anonymize 1 day after created = 2025-03-02T09:30:00+01:00",
	    "when never: never is not set",
	    "applies: delete 1 week after missing; the record has no event missing yet"};
	for (size_t i = 0; i < 4; i++) {
		ck_assert_str_eq(d->evals[i].rule->name, names[i]);
		ck_assert(d->evals[i].applies == app[i]);
		ck_assert_str_eq(fmt(d->evals[i].deadline), dl[i]);
		ck_assert_str_eq(d->evals[i].why, why[i]);
	}
	/* no backend anywhere */
	R.v.backend = NULL;
	d = decide();
	ck_assert_ptr_null(d->sched[0].backend);
	ck_assert_str_eq(d->sched[1].backend, "hr");
	/* an event given twice: the latest time counts */
	rec_reset("c");
	ev("created", CREATED);
	ev("created", "2025-06-01T12:00");
	SCHED(decide(), 1, DEL, "2026-06-01T12:00:00+02:00", "d");
	rtn_decision_free(&R.d);
	rtn_decision_free(&R.d); /* safe twice */
	R.decided = false;
}
END_TEST

START_TEST(test_beyond_9999)
{
	load("rule d { category c; delete 100000 years after created }\n"
	     "rule e { category c; delete 1 day after end-of-year(late) }\n");
	rec_reset("c");
	ev("created", CREATED);
	ev("late", "9999-12-31T12:00");
	const struct rtn_decision *d = decide();
	ck_assert_int_eq(d->state, RTN_DS_ACTIVE);
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_NONE);
	ck_assert(d->evals[0].applies);
	ck_assert_str_eq(d->evals[0].why, "applies, but its deadline lies beyond the year 9999");
	ck_assert_str_eq(d->evals[1].why, "applies, but its deadline lies beyond the year 9999");
	/* a keep beyond 9999 keeps indefinitely */
	load("rule k { category c; keep 100000 years after created }\n"
	     "rule d { category c; delete 1 year after created }\n");
	d = decide();
	ck_assert_uint_eq(d->nsched, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "k");
	ck_assert_str_eq(fmt(d->keep_until), "(max)");
	/* the last representable second and the first one */
	load("rule d { category c; delete 1 second after created }\n");
	rec_reset("c");
	R.ev[0].name = "created";
	R.ev[0].at = RTN_TIME_MAX;
	R.v.nevents = 1;
	ck_assert_uint_eq(decide()->nsched, 0);
	R.ev[0].at = RTN_TIME_MIN;
	ck_assert_uint_eq(decide()->nsched, 1);
	ck_assert_int_eq(R.d.sched[0].at, RTN_TIME_MIN + 1);
}
END_TEST

/* The explanation of a keep beyond 9999 must not claim that the anchor is missing. */
START_TEST(test_beyond_9999_reason)
{
	load("rule k { category c; keep 100000 years after created }\n");
	const struct rtn_decision *d = decide_created();
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_msg(strstr(d->reason, "until the record has event") == NULL, "reason: %s",
	              d->reason);
}
END_TEST

START_TEST(test_attr_text)
{
	char buf[64];
	struct rtn_attr a = {.name = "x", .type = RTN_ATTR_NUMBER};
	struct {
		double n;
		const char *want;
	} nums[] = {{3, "3"},
	            {-2, "-2"},
	            {0, "0"},
	            {3.5, "3.5"},
	            {-0.25, "-0.25"},
	            {123456789012345, "123456789012345"},
	            {1e15, "1000000000000000"},
	            {1e20, "1e+20"}};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		a.n = nums[i].n;
		ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), nums[i].want);
		ck_assert(rtn_attr_truthy(&a) == (nums[i].n != 0));
	}
	a.n = INFINITY;
	ck_assert(rtn_attr_truthy(&a));
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "inf");
	a.n = NAN;
	ck_assert(!rtn_attr_truthy(&a));
	a.type = RTN_ATTR_BOOL;
	a.b = true;
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "true");
	a.b = false;
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "false");
	a.type = RTN_ATTR_NULL;
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "");
	ck_assert(!rtn_attr_truthy(&a));
	a.type = RTN_ATTR_STRING;
	a.s = "free text";
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "free text");
	ck_assert(rtn_attr_truthy(&a));
	ck_assert_str_eq(rtn_dstate_name(RTN_DS_ACTIVE), "active");
	ck_assert_str_eq(rtn_outcome_name(RTN_OUT_NONE), "none");
	ck_assert_str_eq(rtn_outcome_name(RTN_OUT_DELETE), "delete");
	ck_assert_str_eq(rtn_outcome_name(RTN_OUT_ANONYMIZE), "anonymize");
	ck_assert_str_eq(rtn_outcome_name(RTN_OUT_KEEP), "keep");
}
END_TEST

/* 0.1 and friends come out as the shortest text that reads back as the same number. */
START_TEST(test_attr_text_decimal)
{
	char buf[64];
	struct rtn_attr a = {.name = "x", .type = RTN_ATTR_NUMBER, .n = 0.1};
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "0.1");
	a.n = 1.1;
	ck_assert_str_eq(rtn_attr_text(&a, buf, sizeof(buf)), "1.1");
}
END_TEST

/* The zone is an argument of the decision: the same record under two zones that
 * differ on the month an instant falls in gets each zone's deadline, whichever was
 * decided last, and no process-wide setting is made or read. */
START_TEST(test_zone_argument)
{
	load("rule d { category c; delete 1 day after end-of-month(created) }\n"
	     "rule e { category c; anonymize 0 days after end-of-day(created) }\n");
	struct rtn_zone *ny = rtn_zone_open("America/New_York");
	ck_assert_ptr_nonnull(ny);
	rec_reset("c");
	R.ev[0].name = "created";
	R.ev[0].at = 1738366200; /* 2025-01-31T23:30:00Z: February in Oslo, January in New York */
	R.v.nevents = 1;
	for (int round = 0; round < 2; round++) {
		struct rtn_decision a, b, q;
		rtn_decide(&rs, oslo, &R.v, &a);
		rtn_decide(&rs, ny, &R.v, &b);
		rtn_decide_quick(&rs, oslo, &R.v, &q);
		ck_assert_uint_eq(a.nsched, 2);
		ck_assert_uint_eq(b.nsched, 2);
		ck_assert_int_eq(a.sched[0].at, 1738450800); /* 2025-02-02T00:00:00+01:00 */
		ck_assert_int_eq(b.sched[0].at, 1738386000); /* 2025-02-01T00:00:00-05:00 */
		ck_assert_int_eq(a.sched[1].at, 1740870000); /* 2025-03-02T00:00:00+01:00 */
		ck_assert_int_eq(b.sched[1].at, 1738472400); /* 2025-02-02T00:00:00-05:00 */
		ck_assert_int_eq(q.sched[1].at, a.sched[1].at);
		/* Explanations write times in the decision's zone. */
		ck_assert_str_eq(a.evals[0].why,
		                 "applies: delete 1 day after end-of-month(created) = "
		                 "2025-03-02T00:00:00+01:00");
		ck_assert_str_eq(b.evals[0].why,
		                 "applies: delete 1 day after end-of-month(created) = "
		                 "2025-02-02T00:00:00-05:00");
		rtn_decision_free(&a);
		rtn_decision_free(&b);
		rtn_decision_free(&q);
	}
	ck_assert_ptr_eq(rtn_time_format_zone(), rtn_zone_utc());
	rtn_zone_free(ny);
}
END_TEST

/* latest/earliest(EVENT) of subject: the record's own event folded with the subject's time
 * the view carries, which record it came from, and the record's own event alone when the
 * view carries none (a record without a subject). */
START_TEST(test_subject_anchor)
{
	load("rule l { category c; delete 3 years after latest(last_activity) of subject }\n"
	     "rule e { category c; anonymize 1 year after earliest(last_activity) of subject }");
	rec_reset("c");
	ev("last_activity", "2025-03-01T09:30");
	const struct rtn_decision *d = decide();
	ck_assert_uint_eq(d->nsched, 2);
	SCHED(d, 0, ANON, "2026-03-01T09:30:00+01:00", "e");
	SCHED(d, 1, DEL, "2028-03-01T09:30:00+01:00", "l");
	ck_assert_ptr_null(d->evals[0].anchor_record);
	ck_assert_str_eq(d->evals[0].why, "applies: delete 3 years after latest(last_activity) of "
	                                  "subject = 2028-03-01T09:30:00+01:00 (last_activity of "
	                                  "this record at 2025-03-01T09:30:00+01:00)");
	/* Another record of the subject: later moves the latest, earlier the earliest. */
	struct rtn_subject_time st[2] = {
	    {"last_activity", true, T("2025-06-01T12:00"), "t/2"},
	    {"last_activity", false, T("2024-12-01T12:00"), "t/3"},
	};
	R.v.subject_times = st;
	R.v.nsubject_times = 2;
	d = decide();
	SCHED(d, 0, ANON, "2025-12-01T12:00:00+01:00", "e");
	SCHED(d, 1, DEL, "2028-06-01T12:00:00+02:00", "l");
	ck_assert_str_eq(d->evals[0].anchor_record, "t/2");
	ck_assert_str_eq(fmt(d->evals[0].anchor_at), "2025-06-01T12:00:00+02:00");
	ck_assert_str_eq(d->evals[1].anchor_record, "t/3");
	ck_assert_str_eq(d->evals[0].why, "applies: delete 3 years after latest(last_activity) of "
	                                  "subject = 2028-06-01T12:00:00+02:00 (last_activity of "
	                                  "record t/2 at 2025-06-01T12:00:00+02:00)");
	/* Times on the wrong side of the record's own are not taken. */
	st[0].at = T("2025-01-01T00:00");
	st[1].at = T("2025-04-01T00:00");
	d = decide();
	SCHED(d, 1, DEL, "2028-03-01T09:30:00+01:00", "l");
	SCHED(d, 0, ANON, "2026-03-01T09:30:00+01:00", "e");
	ck_assert_ptr_null(d->evals[0].anchor_record);
	ck_assert_ptr_null(d->evals[1].anchor_record);
	/* Without the event itself: the subject's time alone. */
	rec_reset("c");
	ev("created", CREATED);
	st[0].at = T("2025-06-01T12:00");
	R.v.subject_times = st;
	R.v.nsubject_times = 1;
	d = decide();
	ck_assert_uint_eq(d->nsched, 1);
	SCHED(d, 0, DEL, "2028-06-01T12:00:00+02:00", "l");
	ck_assert_str_eq(d->evals[1].why,
	                 "applies: anonymize 1 year after earliest(last_activity) of subject; no "
	                 "record of the subject has event last_activity yet");
}
END_TEST

/* "notify SPAN before": the notice's time is SPAN back from the deadline, on the calendar
 * for days, weeks, months and years (across a change of the clocks), as elapsed time for
 * hours, minutes and seconds; its backend is notify-backend's, else the action's. */
START_TEST(test_notice_times)
{
	load("rule a { category c; anonymize 1 month after created; notify 2 weeks before;\n"
	     "  notify-backend mailer }\n"
	     "rule d { category c; delete 1 year after created; notify 30 days before;\n"
	     "  backend files }\n");
	const struct rtn_decision *d = decide_created();
	ck_assert_uint_eq(d->nsched, 2);
	SCHED(d, 0, RTN_ACT_ANONYMIZE, "2025-04-01T09:30:00+02:00", "a");
	/* 2025-04-01 09:30 CEST back two calendar weeks: 2025-03-18 09:30 CET */
	ck_assert_str_eq(fmt(d->sched[0].notice_at), fmt(T("2025-03-18T09:30")));
	ck_assert_str_eq(d->sched[0].notice_backend, "mailer");
	SCHED(d, 1, RTN_ACT_DELETE, "2026-03-01T09:30:00+01:00", "d");
	ck_assert_str_eq(fmt(d->sched[1].notice_at), fmt(T("2026-01-30T09:30")));
	ck_assert_str_eq(d->sched[1].notice_backend, "files");
	/* elapsed time across the change of the clocks (02:00 CET is 03:00 CEST): 5 hours
	 * before 06:30 CEST is 00:30 CET, six hours earlier on the wall clock */
	load("rule d { category c; delete 20 hours after created; notify 5 hours before }\n");
	rec_reset("c");
	ev("created", "2025-03-29T09:30");
	R.v.backend = "own";
	d = decide();
	SCHED(d, 0, RTN_ACT_DELETE, "2025-03-30T06:30:00+02:00", "d");
	ck_assert_str_eq(fmt(d->sched[0].notice_at), fmt(T("2025-03-30T00:30")));
	ck_assert_str_eq(d->sched[0].notice_backend, "own");
	/* a notice longer than the rule's own span comes before the anchor, and that is fine */
	load("rule d { category c; delete 1 day after created; notify 1 month before }\n");
	d = decide_created();
	ck_assert_str_eq(fmt(d->sched[0].notice_at), fmt(T("2025-02-02T09:30")));
	/* no notify: no notice; a hold: no schedule, no notice */
	load("rule d { category c; delete 1 day after created }\n");
	d = decide_created();
	ck_assert_int_eq(d->sched[0].notice_at, RTN_TIME_NONE);
	ck_assert_ptr_null(d->sched[0].notice_backend);
	load("rule d { category c; delete 1 day after created; notify 1 hour before }\n");
	rec_reset("c");
	ev("created", CREATED);
	R.holds[R.v.nholds++] = "litigation-7";
	d = decide();
	ck_assert_int_eq(d->state, RTN_DS_HELD);
	ck_assert_uint_eq(d->nsched, 0);
}
END_TEST

START_TEST(test_notice_time_fn)
{
	rtn_time_t t, dl = T("2025-03-31T00:30");
	struct rtn_span one_month = {.months = 1};
	ck_assert_int_eq(rtn_notice_time(oslo, dl, &one_month, &t), 0);
	ck_assert_str_eq(fmt(t), fmt(T("2025-02-28T00:30"))); /* the day clamped */
	struct rtn_span s90 = {.seconds = 90};
	ck_assert_int_eq(rtn_notice_time(oslo, dl, &s90, &t), 0);
	ck_assert_int_eq(t, dl - 90);
	struct rtn_span mixed = {.days = 1, .hours = 1};
	ck_assert_int_eq(rtn_notice_time(oslo, dl, &mixed, &t), 0);
	ck_assert_str_eq(fmt(t), fmt(T("2025-03-29T23:30")));
	/* never after the deadline, never before the calendar's start */
	struct rtn_span zero = {0};
	ck_assert_int_eq(rtn_notice_time(oslo, dl, &zero, &t), 0);
	ck_assert_int_eq(t, dl);
	struct rtn_span far = {.years = 5000};
	ck_assert_int_eq(rtn_notice_time(oslo, dl, &far, &t), -ERANGE);
}
END_TEST

static Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unmanaged);
	tcase_add_test(tc, test_held);
	tcase_add_test(tc, test_keep_forever);
	tcase_add_test(tc, test_keep);
	tcase_add_test(tc, test_delete_anonymize);
	tcase_add_test(tc, test_erasure);
	tcase_add_test(tc, test_truthy_conditions);
	tcase_add_test(tc, test_equality_conditions);
	tcase_add_test(tc, test_equality_decimal);
	tcase_add_test(tc, test_event_conditions);
	tcase_add_test(tc, test_review_backend_evals);
	tcase_add_test(tc, test_beyond_9999);
	tcase_add_test(tc, test_beyond_9999_reason);
	tcase_add_test(tc, test_attr_text);
	tcase_add_test(tc, test_attr_text_decimal);
	tcase_add_test(tc, test_zone_argument);
	tcase_add_test(tc, test_subject_anchor);
	tcase_add_test(tc, test_notice_times);
	tcase_add_test(tc, test_notice_time_fn);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(decide_suite)
