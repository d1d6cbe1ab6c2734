/* test_policies.c - the shipped rules/ files keep the promises of POLICIES.md
 *
 * Every row of POLICIES.md marked **rule** has at least one test below that
 * builds a record with concrete events, decides it against the organisation's
 * rule file and checks the exact schedule. Expected times were worked out by
 * hand from the rules and the calendar of Europe/Oslo (CET +01:00, CEST +02:00;
 * summer time 2025-03-30..10-26, 2026-03-29..10-25, 2027-03-28..10-31,
 * 2028-03-26..10-29, 2029-03-25..10-28, 2030-03-31..10-27, 2031-03-30..10-26).
 *
 * Run from the repository root (the rule files are read from rules/).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "diag.h"
#include "rtime.h"
#include "rules.h"
#include "util.h"

#include "testutil.h"

#define NO_RULE "(no rule)"
#define NO_TIME "(no time)"
#define FOREVER "(forever)"

/* The rule set of the test case's organisation, loaded by the fixture. */
static struct rtn_ruleset rs;

/* --- helpers -------------------------------------------------------------- */

static rtn_time_t T(const char *s)
{
	rtn_time_t t = RTN_TIME_NONE;
	ck_assert_msg(rtn_time_parse(s, &t) == 0, "cannot parse time %s", s);
	return t;
}

/* t as RFC 3339 in the zone; a few rotating buffers so that several calls can be
 * alive in one assertion. */
static const char *fmt(rtn_time_t t)
{
	static char bufs[8][RTN_TIME_FMT_LEN];
	static unsigned next;
	char *b = bufs[next++ % 8];

	if (t == RTN_TIME_NONE)
		return NO_TIME;
	if (t == RTN_TIME_MAX)
		return FOREVER;
	if (rtn_time_format(t, b, RTN_TIME_FMT_LEN) != 0)
		snprintf(b, RTN_TIME_FMT_LEN, "(bad time %lld)", (long long)t);
	return b;
}

static const char *rule_name(const struct rtn_rule *r)
{
	return r ? r->name : NO_RULE;
}

/* The zone of the decisions, also the format zone (the times the tests compare). */
static struct rtn_zone *oslo;

static void set_zone(void)
{
	oslo = rtn_zone_open("Europe/Oslo");
	ck_assert_ptr_nonnull(oslo);
	rtn_time_set_format_zone(oslo);
}

static void print_diags(const struct rtn_diags *d)
{
	if (d->n)
		rtn_diags_print(d, stderr);
}

/* Read one rules file on its own into out: no errors, no warnings, no lint. */
static void load_rules_file(const char *path, struct rtn_ruleset *out)
{
	struct rtn_diags d;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rtn_diags_init(&d);
	rtn_ruleset_init(out);
	ck_assert_msg(rtn_read_file(path, 1u << 20, &text, &len) == 0, "cannot read %s", path);
	rc = rtn_rules_parse(path, text, len, out, &d);
	if (rc == 0)
		rc = rtn_ruleset_finish(out, &d);
	if (rc == 0)
		rtn_ruleset_lint(out, NULL, 0, &d);
	print_diags(&d);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(d.nerrors, 0);
	ck_assert_uint_eq(d.nwarnings, 0);
	free(text);
	rtn_diags_fini(&d);
}

/* One record under test: its view, the storage the view points to, and the
 * decision. */
struct rec {
	char buf[1024];
	struct rtn_event ev[8];
	struct rtn_attr attrs[4];
	const char *holds[2];
	struct rtn_record_view v;
	struct rtn_decision d;
	bool decided;
};

/* A record of category with events "name=RFC3339 name=RFC3339 ..." ("" for none),
 * no attributes, holds, anonymisation or erasure. */
static void rec_init(struct rec *r, const char *category, const char *events)
{
	char *save = NULL;

	memset(r, 0, sizeof(*r));
	r->v.id = "test/record-1";
	r->v.category = category;
	r->v.anonymized_at = RTN_TIME_NONE;
	r->v.erasure_at = RTN_TIME_NONE;
	ck_assert_uint_lt(strlen(events), sizeof(r->buf));
	strcpy(r->buf, events);
	for (char *tok = strtok_r(r->buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		ck_assert_msg(eq != NULL, "event %s is not name=time", tok);
		ck_assert_uint_lt(r->v.nevents, sizeof(r->ev) / sizeof(r->ev[0]));
		*eq = '\0';
		r->ev[r->v.nevents].name = tok;
		r->ev[r->v.nevents].at = T(eq + 1);
		r->v.nevents++;
	}
	r->v.events = r->ev;
	r->v.attrs = r->attrs;
	r->v.holds = r->holds;
}

static struct rtn_attr *rec_attr(struct rec *r, const char *name, enum rtn_attr_type type)
{
	struct rtn_attr *a;

	ck_assert_uint_lt(r->v.nattrs, sizeof(r->attrs) / sizeof(r->attrs[0]));
	a = &r->attrs[r->v.nattrs++];
	a->name = name;
	a->type = type;
	return a;
}

static void rec_bool(struct rec *r, const char *name, bool b)
{
	rec_attr(r, name, RTN_ATTR_BOOL)->b = b;
}

static void rec_str(struct rec *r, const char *name, const char *s)
{
	rec_attr(r, name, RTN_ATTR_STRING)->s = s;
}

static void rec_hold(struct rec *r, const char *hold)
{
	ck_assert_uint_lt(r->v.nholds, sizeof(r->holds) / sizeof(r->holds[0]));
	r->holds[r->v.nholds++] = hold;
}

static void rec_erasure(struct rec *r, const char *at)
{
	r->v.erasure_at = T(at);
	r->v.erasure_request = "erasure/2026-0001";
}

static const struct rtn_decision *rec_decide(struct rec *r)
{
	ck_assert(!r->decided);
	rtn_decide(&rs, oslo, &r->v, &r->d);
	r->decided = true;
	return &r->d;
}

/* Build a record from category and events and decide it in one go. */
static const struct rtn_decision *decide(struct rec *r, const char *category, const char *events)
{
	rec_init(r, category, events);
	return rec_decide(r);
}

static void rec_fini(struct rec *r)
{
	if (r->decided)
		rtn_decision_free(&r->d);
	r->decided = false;
}

/* The decision's state and number of schedule entries. */
#define ASSERT_STATE(dec, st, n)                                                                   \
	do {                                                                                       \
		const struct rtn_decision *d_ = (dec);                                             \
		ck_assert_msg(d_->state == (st), "state %s, expected %s",                          \
		              rtn_dstate_name(d_->state), rtn_dstate_name(st));                    \
		ck_assert_uint_eq(d_->nsched, (n));                                                \
	} while (0)

/* Schedule entry i: action, time, rule name (NO_RULE for an erasure). */
#define ASSERT_ENTRY(dec, i, act, when, rname)                                                     \
	do {                                                                                       \
		const struct rtn_decision *d_ = (dec);                                             \
		size_t i_ = (i);                                                                   \
		ck_assert_msg(i_ < d_->nsched, "no schedule entry %zu (%zu entries)", i_,          \
		              d_->nsched);                                                         \
		ck_assert_msg(d_->sched[i_].action == (act), "entry %zu: action %s, expected %s",  \
		              i_, rtn_action_name(d_->sched[i_].action), rtn_action_name(act));    \
		ck_assert_str_eq(fmt(d_->sched[i_].at), (when));                                   \
		ck_assert_str_eq(rule_name(d_->sched[i_].rule), (rname));                          \
	} while (0)

/* The decision as explain shows it: outcome, time (NO_TIME for none), rule. */
#define ASSERT_OUTCOME(dec, out, when, rname)                                                      \
	do {                                                                                       \
		const struct rtn_decision *d_ = (dec);                                             \
		ck_assert_msg(d_->outcome == (out), "outcome %s, expected %s",                     \
		              rtn_outcome_name(d_->outcome), rtn_outcome_name(out));               \
		ck_assert_str_eq(fmt(d_->at), (when));                                             \
		ck_assert_str_eq(rule_name(d_->rule), (rname));                                    \
	} while (0)

/* A single delete entry that is also the outcome. */
#define ASSERT_DELETE_ONLY(dec, when, rname)                                                       \
	do {                                                                                       \
		const struct rtn_decision *dd_ = (dec);                                            \
		ASSERT_STATE(dd_, RTN_DS_ACTIVE, 1);                                               \
		ASSERT_ENTRY(dd_, 0, RTN_ACT_DELETE, (when), (rname));                             \
		ASSERT_OUTCOME(dd_, RTN_OUT_DELETE, (when), (rname));                              \
	} while (0)

/* Managed, nothing scheduled, nothing decided (condition off or anchor missing). */
#define ASSERT_NOTHING(dec)                                                                        \
	do {                                                                                       \
		const struct rtn_decision *dd_ = (dec);                                            \
		ASSERT_STATE(dd_, RTN_DS_ACTIVE, 0);                                               \
		ASSERT_OUTCOME(dd_, RTN_OUT_NONE, NO_TIME, NO_RULE);                               \
	} while (0)

/* Kept forever or indefinitely by keep rule rname: no schedule. */
#define ASSERT_KEPT(dec, rname)                                                                    \
	do {                                                                                       \
		const struct rtn_decision *dd_ = (dec);                                            \
		ASSERT_STATE(dd_, RTN_DS_ACTIVE, 0);                                               \
		ASSERT_OUTCOME(dd_, RTN_OUT_KEEP, NO_TIME, (rname));                               \
		ck_assert_str_eq(rule_name(dd_->retained_by), (rname));                            \
		ck_assert_str_eq(fmt(dd_->keep_until), FOREVER);                                   \
	} while (0)

/* --- fixtures: one organisation's file on its own ------------------------- */

static void setup_framsikt(void)
{
	set_zone();
	load_rules_file("rules/framsikt.rules", &rs);
}

static void setup_visma(void)
{
	set_zone();
	load_rules_file("rules/visma.rules", &rs);
}

static void setup_activepeople(void)
{
	set_zone();
	load_rules_file("rules/activepeople.rules", &rs);
}

static void setup_bjornson(void)
{
	set_zone();
	load_rules_file("rules/bjornson.rules", &rs);
}

static void setup_spekter(void)
{
	set_zone();
	load_rules_file("rules/spekter-pluss.rules", &rs);
}

static void setup_all(void)
{
	struct rtn_diags d;
	int rc;

	set_zone();
	rtn_diags_init(&d);
	rtn_ruleset_init(&rs);
	rc = rtn_rules_load_dir("rules", &rs, &d);
	print_diags(&d);
	ck_assert_int_eq(rc, 0);
	rtn_diags_fini(&d);
}

static void teardown(void)
{
	rtn_ruleset_free(&rs);
	rtn_time_set_format_zone(rtn_zone_utc());
	rtn_zone_free(oslo);
	oslo = NULL;
}

/* --- loading -------------------------------------------------------------- */

/* Every rule of the loaded set: named org-..., categories org.*, a basis naming
 * the organisation's notice and a section, no backend. */
static void check_org_rules(const char *org, const char *notice, size_t nrules)
{
	size_t orglen = strlen(org);

	ck_assert_uint_eq(rs.n, nrules);
	for (size_t i = 0; i < rs.n; i++) {
		const struct rtn_rule *r = &rs.rules[i];

		ck_assert_msg(strncmp(r->name, org, orglen) == 0 && r->name[orglen] == '-',
		              "rule %s lacks the prefix %s-", r->name, org);
		ck_assert_uint_ge(r->ncategories, 1);
		for (size_t c = 0; c < r->ncategories; c++)
			ck_assert_msg(strncmp(r->categories[c], org, orglen) == 0 &&
			                  r->categories[c][orglen] == '.',
			              "rule %s: category %s lacks the namespace %s.", r->name,
			              r->categories[c], org);
		ck_assert_msg(r->basis != NULL, "rule %s has no basis", r->name);
		ck_assert_msg(strstr(r->basis, notice) != NULL,
		              "rule %s: basis \"%s\" lacks \"%s\"", r->name, r->basis, notice);
		ck_assert_msg(strstr(r->basis, "section") != NULL,
		              "rule %s: basis names no section", r->name);
		ck_assert_msg(strstr(r->basis, ", translated: “") != NULL,
		              "rule %s: basis quotes no translation of the notice", r->name);
		ck_assert_msg(r->backend == NULL, "rule %s names a backend", r->name);
	}
}

START_TEST(load_framsikt)
{
	check_org_rules("framsikt", "Framsikt AS privacy notice, section", 8);
}
END_TEST

START_TEST(load_visma)
{
	check_org_rules("visma", "Visma Flyt Skole og Oppvekst privacy notice, section", 3);
}
END_TEST

START_TEST(load_activepeople)
{
	check_org_rules("activepeople", "Activepeople AS privacy notice, section", 10);
}
END_TEST

START_TEST(load_bjornson)
{
	check_org_rules("bjornson", "Bjørnson AS privacy notice, section", 16);
}
END_TEST

START_TEST(load_spekter)
{
	check_org_rules("spekter", "Spekter Pluss AS privacy notice, section", 23);
}
END_TEST

/* The namespace blocks: each organisation's deadline for answering requests (F6 one
 * month, A7, B8 and S12 30 days; Visma states none, so the daemon's default applies),
 * and Spekter's accounting year. */
static void check_namespace(const struct rtn_ruleset *set, const char *ns, int months, int days,
                            int fiscal)
{
	char *cat = rtn_xasprintf("%s.x", ns);
	const struct rtn_namespace *n = rtn_ruleset_namespace(set, cat);

	free(cat);
	if (months < 0) {
		ck_assert_msg(n == NULL, "namespace %s has a block", ns);
		return;
	}
	ck_assert_msg(n != NULL, "namespace %s has no block", ns);
	ck_assert(n->has_erasure_deadline);
	ck_assert_int_eq(n->erasure_deadline.months, months);
	ck_assert_int_eq(n->erasure_deadline.days, days);
	ck_assert_int_eq(n->erasure_deadline.years + n->erasure_deadline.weeks, 0);
	ck_assert_int_eq(n->fiscal_year_start, fiscal);
}

START_TEST(namespaces_of_the_notices)
{
	check_namespace(&rs, "framsikt", 1, 0, 0);
	check_namespace(&rs, "activepeople", 0, 30, 0);
	check_namespace(&rs, "bjornson", 0, 30, 0);
	check_namespace(&rs, "spekter", 0, 30, 1);
	check_namespace(&rs, "visma", -1, 0, 0);
	ck_assert_uint_eq(rs.nnamespaces, 4);
}
END_TEST

/* The five files together, as the demo daemon loads them. */
START_TEST(load_whole_directory)
{
	struct rtn_ruleset all;
	struct rtn_diags d;
	size_t n;
	const struct rtn_rule *const *rules;

	rtn_diags_init(&d);
	rtn_ruleset_init(&all);
	ck_assert_int_eq(rtn_rules_load_dir("rules", &all, &d), 0);
	rtn_ruleset_lint(&all, NULL, 0, &d);
	print_diags(&d);
	ck_assert_uint_eq(d.nerrors, 0);
	ck_assert_uint_eq(d.nwarnings, 0);
	ck_assert_uint_eq(all.n, 8 + 3 + 10 + 16 + 23);

	/* Namespacing: the plain names are nobody's; each organisation's are its own. */
	rules = rtn_ruleset_for_category(&all, "job_application", &n);
	ck_assert_ptr_null(rules);
	ck_assert_uint_eq(n, 0);
	rules = rtn_ruleset_for_category(&all, "newsletter_address", &n);
	ck_assert_uint_eq(n, 0);
	rules = rtn_ruleset_for_category(&all, "framsikt.job_application", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rules[0]->name, "framsikt-job-applications");
	rules = rtn_ruleset_for_category(&all, "bjornson.job_application", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rules[0]->name, "bjornson-job-applications");
	rules = rtn_ruleset_for_category(&all, "spekter.job_application", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rules[0]->name, "spekter-job-applications");
	rules = rtn_ruleset_for_category(&all, "activepeople.newsletter_address", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rules[0]->name, "activepeople-newsletter");
	rules = rtn_ruleset_for_category(&all, "bjornson.newsletter_address", &n);
	ck_assert_uint_eq(n, 2);
	rules = rtn_ruleset_for_category(&all, "framsikt.newsletter_address", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(rtn_ruleset_find(&all, "spekter-vta-participants-delete"));
	ck_assert_ptr_nonnull(rtn_ruleset_find(&all, "visma-user-profiles"));

	rtn_ruleset_free(&all);
	rtn_diags_fini(&d);
}
END_TEST

/* With every file loaded, one organisation's events do not trigger another's rule
 * of the same plain category name. */
START_TEST(all_no_crosstalk)
{
	struct rec r1, r2;

	/* Spekter deletes at process_ended; Framsikt counts a year from received. */
	ASSERT_NOTHING(
	    decide(&r1, "framsikt.job_application", "process_ended=2026-05-15T12:00:00+02:00"));
	ASSERT_DELETE_ONLY(
	    decide(&r2, "spekter.job_application", "process_ended=2026-05-15T12:00:00+02:00"),
	    "2026-05-15T12:00:00+02:00", "spekter-job-applications");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* --- Framsikt AS ------------------------------------------------------------ */

/* F1: delete immediately after imported; the record's own backend acts. */
START_TEST(f1_payroll_import)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "framsikt.payroll_import", "imported=2026-03-02T08:15:00+01:00");
	r.v.backend = "demo-files";
	d = rec_decide(&r);
	ASSERT_DELETE_ONLY(d, "2026-03-02T08:15:00+01:00", "framsikt-payroll-import");
	ck_assert(!d->sched[0].review);
	ck_assert_ptr_null(d->sched[0].moved_by);
	ck_assert_ptr_nonnull(d->sched[0].backend);
	ck_assert_str_eq(d->sched[0].backend, "demo-files");
	rec_fini(&r);
}
END_TEST

/* F2: delete 1 year after received unless hired: hired=false -> scheduled. */
START_TEST(f2_not_hired)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "framsikt.job_application", "received=2025-03-01T09:30:00+01:00");
	rec_bool(&r, "hired", false);
	d = rec_decide(&r);
	ASSERT_DELETE_ONLY(d, "2026-03-01T09:30:00+01:00", "framsikt-job-applications");
	ck_assert(!d->sched[0].review);
	rec_fini(&r);
}
END_TEST

/* F2: hired=true switches the rule off: managed, nothing scheduled. */
START_TEST(f2_hired)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "framsikt.job_application", "received=2025-03-01T09:30:00+01:00");
	rec_bool(&r, "hired", true);
	d = rec_decide(&r);
	ASSERT_NOTHING(d);
	ck_assert_uint_eq(d->nevals, 1);
	ck_assert_str_eq(rule_name(d->evals[0].rule), "framsikt-job-applications");
	ck_assert(!d->evals[0].applies);
	ck_assert_str_eq(fmt(d->evals[0].deadline), NO_TIME);
	rec_fini(&r);
}
END_TEST

/* F2: no hired attribute at all (not decided yet) -> scheduled. */
START_TEST(f2_hired_missing)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "framsikt.job_application", "received=2025-03-01T09:30:00+01:00");
	ASSERT_DELETE_ONLY(d, "2026-03-01T09:30:00+01:00", "framsikt-job-applications");
	ck_assert_uint_eq(d->nevals, 1);
	ck_assert(d->evals[0].applies);
	ck_assert_str_eq(fmt(d->evals[0].deadline), "2026-03-01T09:30:00+01:00");
	rec_fini(&r);
}
END_TEST

/* F2: hired="no" is not truthy -> scheduled; received in summer time. */
START_TEST(f2_hired_string_no)
{
	struct rec r;

	rec_init(&r, "framsikt.job_application", "received=2025-08-20T14:00:00+02:00");
	rec_str(&r, "hired", "no");
	ASSERT_DELETE_ONLY(rec_decide(&r), "2026-08-20T14:00:00+02:00",
	                   "framsikt-job-applications");
	rec_fini(&r);
}
END_TEST

/* Missing anchor: no received event yet -> no deadline. */
START_TEST(f2_missing_anchor)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "framsikt.job_application", "created=2025-03-01T09:30:00+01:00");
	ASSERT_NOTHING(d);
	ck_assert_uint_eq(d->nevals, 1);
	ck_assert_str_eq(fmt(d->evals[0].deadline), NO_TIME);
	rec_fini(&r);
}
END_TEST

/* A hold: nothing is done while held, whatever is due. */
START_TEST(f2_held)
{
	struct rec r;

	rec_init(&r, "framsikt.job_application", "received=2025-03-01T09:30:00+01:00");
	rec_hold(&r, "litigation-2026-02");
	ASSERT_STATE(rec_decide(&r), RTN_DS_HELD, 0);
	ASSERT_OUTCOME(&r.d, RTN_OUT_NONE, NO_TIME, NO_RULE);
	rec_fini(&r);
}
END_TEST

/* An erasure request: delete at the request time, by no rule. */
START_TEST(f2_erasure)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "framsikt.job_application", "received=2025-03-01T09:30:00+01:00");
	rec_erasure(&r, "2025-04-10T12:00:00+02:00");
	d = rec_decide(&r);
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ASSERT_ENTRY(d, 0, RTN_ACT_DELETE, "2025-04-10T12:00:00+02:00", NO_RULE);
	ck_assert_ptr_null(d->sched[0].rule);
	ASSERT_OUTCOME(d, RTN_OUT_DELETE, "2025-04-10T12:00:00+02:00", NO_RULE);
	ck_assert_ptr_null(d->retained_by);
	rec_fini(&r);
}
END_TEST

/* Unmanaged: no rule names the category (the plain, un-namespaced name). */
START_TEST(f_unmanaged)
{
	struct rec r1, r2;

	ASSERT_STATE(decide(&r1, "job_application", "received=2025-03-01T09:30:00+01:00"),
	             RTN_DS_UNMANAGED, 0);
	ASSERT_OUTCOME(&r1.d, RTN_OUT_NONE, NO_TIME, NO_RULE);
	ASSERT_STATE(decide(&r2, "framsikt.crm_contact", "created=2025-03-01T09:30:00+01:00"),
	             RTN_DS_UNMANAGED, 0);
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* F3: the earliest of user_ended and bounced wins. */
START_TEST(f3_newsletter_earliest)
{
	struct rec r1, r2, r3;

	ASSERT_DELETE_ONLY(decide(&r1, "framsikt.newsletter_address",
	                          "user_ended=2026-05-10T12:00:00+02:00 "
	                          "bounced=2026-04-02T07:00:00+02:00"),
	                   "2026-04-02T07:00:00+02:00", "framsikt-newsletter-bounced");
	ASSERT_DELETE_ONLY(decide(&r2, "framsikt.newsletter_address",
	                          "bounced=2026-06-01T07:00:00+02:00 "
	                          "user_ended=2026-01-31T16:00:00+01:00"),
	                   "2026-01-31T16:00:00+01:00", "framsikt-newsletter-user-ended");
	ASSERT_DELETE_ONLY(decide(&r3, "framsikt.newsletter_address",
	                          "created=2024-01-01T10:00:00+01:00 "
	                          "user_ended=2026-12-31T23:59:59+01:00"),
	                   "2026-12-31T23:59:59+01:00", "framsikt-newsletter-user-ended");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* F4: 1 month after survey_closed, clamped to the month's end: leap year. */
START_TEST(f4_survey_leap_year)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(
	    decide(&r1, "framsikt.survey_response", "survey_closed=2028-01-31T17:00:00+01:00"),
	    "2028-02-29T17:00:00+01:00", "framsikt-survey-responses");
	ASSERT_DELETE_ONLY(
	    decide(&r2, "framsikt.survey_response", "survey_closed=2027-01-31T17:00:00+01:00"),
	    "2027-02-28T17:00:00+01:00", "framsikt-survey-responses");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* F5: 4 months after registration_deadline: Oct 31 -> Feb 28. */
START_TEST(f5_course_signup_month_end)
{
	struct rec r;

	ASSERT_DELETE_ONLY(
	    decide(&r, "framsikt.course_signup", "registration_deadline=2026-10-31T23:59:00+01:00"),
	    "2027-02-28T23:59:00+01:00", "framsikt-course-signups");
	rec_fini(&r);
}
END_TEST

/* F7: sick-leave data is anonymised as soon as it is imported. */
START_TEST(f7_sick_leave)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "framsikt.sick_leave", "imported=2026-03-02T08:15:00+01:00");
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ASSERT_ENTRY(d, 0, RTN_ACT_ANONYMIZE, "2026-03-02T08:15:00+01:00", "framsikt-sick-leave");
	ASSERT_OUTCOME(d, RTN_OUT_ANONYMIZE, "2026-03-02T08:15:00+01:00", "framsikt-sick-leave");
	rec_fini(&r);
}
END_TEST

/* F8: post@/jobb@ mailbox content comes up for review a year after it came in. */
START_TEST(f8_mailbox_review)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "framsikt.mailbox_content", "received=2024-02-29T11:00:00+01:00");
	ASSERT_DELETE_ONLY(d, "2025-02-28T11:00:00+01:00", "framsikt-mailbox-review");
	ck_assert(d->sched[0].review);
	ck_assert_int_eq(rtn_ruleset_find(&rs, "framsikt-mailbox-review")->review_every.years, 1);
	rec_fini(&r);
}
END_TEST

/* --- Visma ---------------------------------------------------------------- */

/* V1: 3 years after last_activity; a later activity moves the deadline. */
START_TEST(v1_user_profile_clock_reset)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "visma.user_profile",
	                          "created=2020-08-01T08:00:00+02:00 "
	                          "last_activity=2023-09-14T18:45:00+02:00"),
	                   "2026-09-14T18:45:00+02:00", "visma-user-profiles");
	/* The same profile after a new session: the event's time was replaced. */
	ASSERT_DELETE_ONLY(decide(&r2, "visma.user_profile",
	                          "created=2020-08-01T08:00:00+02:00 "
	                          "last_activity=2025-01-20T08:00:00+01:00"),
	                   "2028-01-20T08:00:00+01:00", "visma-user-profiles");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* V1: a profile that has never been active has no deadline yet. */
START_TEST(v1_no_activity)
{
	struct rec r;

	ASSERT_NOTHING(decide(&r, "visma.user_profile", "created=2020-08-01T08:00:00+02:00"));
	rec_fini(&r);
}
END_TEST

/* V3: demo data goes when the consent is withdrawn, not before. */
START_TEST(v3_demo_data)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "visma.demo_data",
	                          "created=2026-04-01T10:00:00+02:00 "
	                          "consent_withdrawn=2026-05-20T13:00:00+02:00"),
	                   "2026-05-20T13:00:00+02:00", "visma-demo-data");
	ASSERT_NOTHING(decide(&r2, "visma.demo_data", "created=2026-04-01T10:00:00+02:00"));
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* V2: a log of the subject is deleted 3 years after the person's latest activity on any
 * of their records, not after anything of its own; a newer activity elsewhere moves it. */
START_TEST(v2_logs_follow_the_person)
{
	struct rec r1, r2, r3;
	struct rtn_subject_time st = {.event = "last_activity", .latest = true};
	const struct rtn_decision *d;

	/* the log itself has no activity: nothing about the person is known, no deadline */
	rec_init(&r1, "visma.access_log", "created=2026-01-10T08:00:00+01:00");
	r1.v.subject_times = &st;
	r1.v.nsubject_times = 1;
	st.at = RTN_TIME_NONE;
	ASSERT_NOTHING(rec_decide(&r1));
	/* the person's profile was last active on 2026-03-02 */
	rec_init(&r2, "visma.access_log", "created=2026-01-10T08:00:00+01:00");
	st.at = T("2026-03-02T13:45:00+01:00");
	st.record = "visma/profile-1";
	r2.v.subject_times = &st;
	r2.v.nsubject_times = 1;
	d = rec_decide(&r2);
	ASSERT_DELETE_ONLY(d, "2029-03-02T13:45:00+01:00", "visma-logs-and-statistics");
	ck_assert_str_eq(d->evals[0].anchor_record, "visma/profile-1");
	/* a usage-statistics record with an older activity of its own follows the newer one */
	rec_init(&r3, "visma.usage_statistics", "last_activity=2025-05-01T10:00:00+02:00");
	st.at = T("2026-08-15T09:00:00+02:00");
	r3.v.subject_times = &st;
	r3.v.nsubject_times = 1;
	ASSERT_DELETE_ONLY(rec_decide(&r3), "2029-08-15T09:00:00+02:00",
	                   "visma-logs-and-statistics");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* V1 with the subject: the profile's own activity is older than the person's latest. */
START_TEST(v1_user_profile_subject)
{
	struct rec r;
	struct rtn_subject_time st = {.event = "last_activity", .latest = true};

	rec_init(&r, "visma.user_profile", "last_activity=2026-02-01T10:00:00+01:00");
	st.at = T("2026-06-01T10:00:00+02:00");
	st.record = "visma/demo-login-7";
	r.v.subject_times = &st;
	r.v.nsubject_times = 1;
	ASSERT_DELETE_ONLY(rec_decide(&r), "2029-06-01T10:00:00+02:00", "visma-user-profiles");
	rec_fini(&r);
}
END_TEST

/* --- Activepeople AS -------------------------------------------------------- */

/* A1: 90 calendar days across the October DST change keep the wall-clock time
 * (Aug 1 + 90 days = Oct 30; 10:00 CEST -> 10:00 CET, 90 days and 1 hour). */
START_TEST(a1_analytics_cookie_dst)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "activepeople.analytics_cookie", "created=2025-08-01T10:00:00+02:00");
	ASSERT_DELETE_ONLY(d, "2025-10-30T10:00:00+01:00", "activepeople-analytics-cookies");
	ck_assert_int_eq(d->sched[0].at - T("2025-08-01T10:00:00+02:00"), 90 * 86400 + 3600);
	rec_fini(&r);
}
END_TEST

/* A2: anonymize immediately after created; once anonymised nothing is left. */
START_TEST(a2_visitor_ip)
{
	struct rec r1, r2;
	const struct rtn_decision *d;

	d = decide(&r1, "activepeople.visitor_ip", "created=2026-01-15T14:03:27+01:00");
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ASSERT_ENTRY(d, 0, RTN_ACT_ANONYMIZE, "2026-01-15T14:03:27+01:00",
	             "activepeople-visitor-ip");
	ASSERT_OUTCOME(d, RTN_OUT_ANONYMIZE, "2026-01-15T14:03:27+01:00",
	               "activepeople-visitor-ip");

	rec_init(&r2, "activepeople.visitor_ip", "created=2026-01-15T14:03:27+01:00");
	r2.v.anonymized_at = T("2026-01-15T14:03:30+01:00");
	ASSERT_STATE(rec_decide(&r2), RTN_DS_ACTIVE, 0);
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* A3: delete immediately after unsubscribed. */
START_TEST(a3_newsletter)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "activepeople.newsletter_address",
	                          "created=2024-11-11T11:11:00+01:00 "
	                          "unsubscribed=2026-06-01T21:10:00+02:00"),
	                   "2026-06-01T21:10:00+02:00", "activepeople-newsletter");
	/* Still subscribed: no deadline. */
	ASSERT_NOTHING(
	    decide(&r2, "activepeople.newsletter_address", "created=2024-11-11T11:11:00+01:00"));
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* A4: delete immediately after process_ended. */
START_TEST(a4_personality_test)
{
	struct rec r;

	ASSERT_DELETE_ONLY(decide(&r, "activepeople.personality_test",
	                          "created=2026-01-10T09:00:00+01:00 "
	                          "process_ended=2026-02-27T16:00:00+01:00"),
	                   "2026-02-27T16:00:00+01:00", "activepeople-personality-tests");
	rec_fini(&r);
}
END_TEST

/* A5: delete 1 year after created, with human review. */
START_TEST(a5_mailbox_review)
{
	struct rec r;
	const struct rtn_decision *d;
	const struct rtn_rule *rule = rtn_ruleset_find(&rs, "activepeople-mailbox-review");

	d = decide(&r, "activepeople.mailbox_content", "created=2025-02-03T09:00:00+01:00");
	ASSERT_DELETE_ONLY(d, "2026-02-03T09:00:00+01:00", "activepeople-mailbox-review");
	ck_assert(d->sched[0].review);
	/* "at least every year": a rejected round comes back one year later */
	ck_assert_ptr_nonnull(rule);
	ck_assert(rule->review);
	ck_assert_int_eq(rule->review_every.years, 1);
	ck_assert_int_eq(
	    rule->review_every.months + rule->review_every.weeks + rule->review_every.days, 0);
	rec_fini(&r);
}
END_TEST

/* A6: delete immediately after employment_ended, with human review. */
START_TEST(a6_email_account_review)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "activepeople.email_account",
	           "created=2019-09-01T08:00:00+02:00 employment_ended=2026-06-30T16:00:00+02:00");
	ASSERT_DELETE_ONLY(d, "2026-06-30T16:00:00+02:00", "activepeople-email-accounts");
	ck_assert(d->sched[0].review);
	rec_fini(&r);
}
END_TEST

/* A8: orders and quotes come up for review a year after the answer. */
START_TEST(a8_orders_quotes_review)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "activepeople.order_quote", "answered=2026-06-10T12:00:00+02:00");
	ASSERT_DELETE_ONLY(d, "2027-06-10T12:00:00+02:00", "activepeople-orders-quotes");
	ck_assert(d->sched[0].review);
	ck_assert_int_eq(rtn_ruleset_find(&rs, "activepeople-orders-quotes")->review_every.years,
	                 1);
	rec_fini(&r);
}
END_TEST

/* A9: survey answers anonymised when the results are shared. */
START_TEST(a9_survey_answers)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "activepeople.survey_answer", "results_shared=2026-09-01T09:00:00+02:00");
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ASSERT_ENTRY(d, 0, RTN_ACT_ANONYMIZE, "2026-09-01T09:00:00+02:00",
	             "activepeople-survey-answers");
	rec_fini(&r);
}
END_TEST

/* A10: employee and customer-accounting data are kept until the period of the acts
 * is recorded as ended; no rule deletes them, and an erasure request is refused with
 * the keep rule as the reason. */
START_TEST(a10_accounting_keep)
{
	struct rec r1, r2, r3;
	const struct rtn_decision *d;

	rec_init(&r1, "activepeople.employee_data", "created=2026-01-05T08:00:00+01:00");
	rec_erasure(&r1, "2026-03-01T10:00:00+01:00");
	d = rec_decide(&r1);
	ASSERT_STATE(d, RTN_DS_ACTIVE, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "activepeople-employee-data-keep");
	d = decide(&r2, "activepeople.customer_accounting", "created=2026-01-05T08:00:00+01:00");
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "activepeople-customer-accounting-keep");
	/* Once the period has ended the erasure request goes ahead. */
	rec_init(&r3, "activepeople.employee_data",
	         "created=2026-01-05T08:00:00+01:00 retention_ended=2031-01-01T00:00:00+01:00");
	rec_erasure(&r3, "2031-03-01T10:00:00+01:00");
	d = rec_decide(&r3);
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ASSERT_ENTRY(d, 0, RTN_ACT_DELETE, "2031-03-01T10:00:00+01:00", NO_RULE);
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* --- Bjørnson AS ---------------------------------------------------------- */

/* B1: delete at the end of the year of created (local midnight of Jan 1). */
START_TEST(b1_contact_inquiry_end_of_year)
{
	struct rec r1, r2, r3;

	ASSERT_DELETE_ONLY(
	    decide(&r1, "bjornson.contact_inquiry", "created=2025-06-15T11:20:00+02:00"),
	    "2026-01-01T00:00:00+01:00", "bjornson-contact-inquiries");
	ASSERT_DELETE_ONLY(
	    decide(&r2, "bjornson.contact_inquiry", "created=2025-12-31T23:30:00+01:00"),
	    "2026-01-01T00:00:00+01:00", "bjornson-contact-inquiries");
	/* The first instant of a year belongs to that year: the end is a year later. */
	ASSERT_DELETE_ONLY(
	    decide(&r3, "bjornson.contact_inquiry", "created=2026-01-01T00:00:00+01:00"),
	    "2027-01-01T00:00:00+01:00", "bjornson-contact-inquiries");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* B2: applications deleted when the process ends, unless consent_extended. */
START_TEST(b2_job_application)
{
	struct rec r1, r2, r3;

	ASSERT_DELETE_ONLY(decide(&r1, "bjornson.job_application",
	                          "received=2026-03-01T10:00:00+01:00 "
	                          "process_ended=2026-04-20T15:00:00+02:00"),
	                   "2026-04-20T15:00:00+02:00", "bjornson-job-applications");

	rec_init(&r2, "bjornson.job_application",
	         "received=2026-03-01T10:00:00+01:00 process_ended=2026-04-20T15:00:00+02:00");
	rec_bool(&r2, "consent_extended", true);
	ASSERT_NOTHING(rec_decide(&r2));

	rec_init(&r3, "bjornson.job_application",
	         "received=2026-03-01T10:00:00+01:00 process_ended=2026-04-20T15:00:00+02:00");
	rec_bool(&r3, "consent_extended", false);
	ASSERT_DELETE_ONLY(rec_decide(&r3), "2026-04-20T15:00:00+02:00",
	                   "bjornson-job-applications");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* B2: applicant lists are kept forever. */
START_TEST(b2_applicant_list_forever)
{
	struct rec r;

	ASSERT_KEPT(
	    decide(&r, "bjornson.applicant_list",
	           "created=2019-05-02T12:00:00+02:00 process_ended=2019-06-20T12:00:00+02:00"),
	    "bjornson-applicant-lists");
	rec_fini(&r);
}
END_TEST

/* B3: board members are kept forever. */
START_TEST(b3_board_member_forever)
{
	struct rec r;

	ASSERT_KEPT(decide(&r, "bjornson.board_member",
	                   "created=2018-06-01T12:00:00+02:00 replaced=2024-06-01T12:00:00+02:00"),
	            "bjornson-board-members");
	rec_fini(&r);
}
END_TEST

/* B3: erasure cannot delete what the law says to keep; the keep rule says why. */
START_TEST(b3_board_member_erasure_retained)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "bjornson.board_member", "created=2018-06-01T12:00:00+02:00");
	rec_erasure(&r, "2026-02-10T12:00:00+01:00");
	d = rec_decide(&r);
	ASSERT_KEPT(d, "bjornson-board-members");
	rec_fini(&r);
}
END_TEST

/* B3: the web profile is deleted when the member is replaced. */
START_TEST(b3_board_web_profile)
{
	struct rec r;

	ASSERT_DELETE_ONLY(decide(&r, "bjornson.board_web_profile",
	                          "created=2022-05-01T12:00:00+02:00 "
	                          "replaced=2026-05-05T12:00:00+02:00"),
	                   "2026-05-05T12:00:00+02:00", "bjornson-board-web-profiles");
	rec_fini(&r);
}
END_TEST

/* B4: keep 10 years and delete 10 years after ceased: delete at the keep deadline. */
START_TEST(b4_former_shareholder)
{
	struct rec r;

	ASSERT_DELETE_ONLY(decide(&r, "bjornson.shareholder",
	                          "created=2012-01-10T10:00:00+01:00 "
	                          "ceased=2020-05-01T00:00:00+02:00"),
	                   "2030-05-01T00:00:00+02:00", "bjornson-former-shareholders-delete");
	rec_fini(&r);
}
END_TEST

/* B4: a current shareholder (no ceased event) is kept indefinitely. */
START_TEST(b4_current_shareholder_kept)
{
	struct rec r1, r2;

	ASSERT_KEPT(decide(&r1, "bjornson.shareholder", "created=2012-01-10T10:00:00+01:00"),
	            "bjornson-former-shareholders-keep");
	/* An erasure request does not change that. */
	rec_init(&r2, "bjornson.shareholder", "created=2012-01-10T10:00:00+01:00");
	rec_erasure(&r2, "2026-02-10T12:00:00+01:00");
	ASSERT_KEPT(rec_decide(&r2), "bjornson-former-shareholders-keep");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* B4: an erasure request on a former shareholder waits for the 10 years. */
START_TEST(b4_former_shareholder_erasure_postponed)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "bjornson.shareholder",
	         "created=2012-01-10T10:00:00+01:00 ceased=2020-05-01T00:00:00+02:00");
	rec_erasure(&r, "2026-02-10T12:00:00+01:00");
	d = rec_decide(&r);
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ck_assert(d->sched[0].action == RTN_ACT_DELETE);
	ck_assert_str_eq(fmt(d->sched[0].at), "2030-05-01T00:00:00+02:00");
	ck_assert_msg(d->outcome == RTN_OUT_DELETE, "outcome %s", rtn_outcome_name(d->outcome));
	ck_assert_str_eq(fmt(d->at), "2030-05-01T00:00:00+02:00");
	ck_assert_str_eq(rule_name(d->retained_by), "bjornson-former-shareholders-keep");
	ck_assert_str_eq(fmt(d->keep_until), "2030-05-01T00:00:00+02:00");
	rec_fini(&r);
}
END_TEST

/* B5: the earliest of unsubscribed and bounced wins. */
START_TEST(b5_newsletter)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "bjornson.newsletter_address",
	                          "unsubscribed=2026-03-05T08:00:00+01:00 "
	                          "bounced=2026-03-03T03:03:03+01:00"),
	                   "2026-03-03T03:03:03+01:00", "bjornson-newsletter-bounced");
	ASSERT_DELETE_ONLY(
	    decide(&r2, "bjornson.newsletter_address", "unsubscribed=2026-03-05T08:00:00+01:00"),
	    "2026-03-05T08:00:00+01:00", "bjornson-newsletter-unsubscribed");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* B6: event sign-ups deleted at the end of the year of created. */
START_TEST(b6_event_signup_end_of_year)
{
	struct rec r;

	ASSERT_DELETE_ONLY(decide(&r, "bjornson.event_signup",
	                          "created=2024-02-29T10:00:00+01:00 "
	                          "event_held=2024-03-14T18:00:00+01:00"),
	                   "2025-01-01T00:00:00+01:00", "bjornson-event-signups");
	rec_fini(&r);
}
END_TEST

/* B6 across the new year: a December sign-up for a January event is not deleted on
 * 1 January (the year of the sign-up), but at the end of the event's year. */
START_TEST(b6_event_signup_new_year)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "bjornson.event_signup",
	                          "created=2026-12-10T09:00:00+01:00 "
	                          "event_held=2027-01-14T18:00:00+01:00"),
	                   "2028-01-01T00:00:00+01:00", "bjornson-event-signups");
	/* Not held yet: no deadline at all, whatever the sign-up's year. */
	ASSERT_NOTHING(decide(&r2, "bjornson.event_signup", "created=2026-12-10T09:00:00+01:00"));
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* B7: deleted when consent is withdrawn; no deadline before. */
START_TEST(b7_survey_participant)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "bjornson.survey_participant",
	                          "created=2026-01-05T10:00:00+01:00 "
	                          "consent_withdrawn=2026-09-09T09:09:09+02:00"),
	                   "2026-09-09T09:09:09+02:00", "bjornson-survey-participants");
	ASSERT_NOTHING(
	    decide(&r2, "bjornson.survey_participant", "created=2026-01-05T10:00:00+01:00"));
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* B10: visitor IP addresses anonymised (truncated by the backend) at once. */
START_TEST(b10_visitor_ip)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "bjornson.visitor_ip", "created=2026-07-04T21:13:05+02:00");
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ASSERT_ENTRY(d, 0, RTN_ACT_ANONYMIZE, "2026-07-04T21:13:05+02:00", "bjornson-visitor-ip");
	ck_assert_ptr_null(d->sched[0].backend);
	rec_fini(&r);
}
END_TEST

/* B11: employee data reviewed a year after it was created. */
START_TEST(b11_employee_data_review)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "bjornson.employee_data", "created=2026-03-29T12:00:00+02:00");
	ASSERT_DELETE_ONLY(d, "2027-03-29T12:00:00+02:00", "bjornson-employee-data-review");
	ck_assert(d->sched[0].review);
	ck_assert_int_eq(rtn_ruleset_find(&rs, "bjornson-employee-data-review")->review_every.years,
	                 1);
	rec_fini(&r);
}
END_TEST

/* B12: a shareholder's web presentation removed when the shareholding changes. */
START_TEST(b12_shareholder_web_profile)
{
	struct rec r;

	ASSERT_DELETE_ONLY(decide(&r, "bjornson.shareholder_web_profile",
	                          "created=2025-05-01T10:00:00+02:00 "
	                          "changed=2026-10-26T10:00:00+01:00"),
	                   "2026-10-26T10:00:00+01:00", "bjornson-shareholder-web-profiles");
	rec_fini(&r);
}
END_TEST

/* B13: health journals are kept: nothing deletes them. */
START_TEST(b13_health_journal_kept)
{
	struct rec r;

	ASSERT_KEPT(decide(&r, "bjornson.health_journal", "created=2020-01-10T10:00:00+01:00"),
	            "bjornson-health-journals");
	rec_fini(&r);
}
END_TEST

/* B14: survey material deleted as soon as the basis is gone. */
START_TEST(b14_survey_material)
{
	struct rec r;

	ASSERT_DELETE_ONLY(
	    decide(&r, "bjornson.survey_material", "basis_ended=2026-11-11T11:11:00+01:00"),
	    "2026-11-11T11:11:00+01:00", "bjornson-survey-material");
	rec_fini(&r);
}
END_TEST

/* --- Spekter Pluss AS ----------------------------------------------------- */

/* S1: deleted after probation unless consent_extended. */
START_TEST(s1_recruitment_assessment)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "spekter.recruitment_assessment",
	                          "created=2026-01-20T10:00:00+01:00 "
	                          "probation_ended=2026-08-31T16:00:00+02:00"),
	                   "2026-08-31T16:00:00+02:00", "spekter-recruitment-assessments");
	rec_init(&r2, "spekter.recruitment_assessment",
	         "created=2026-01-20T10:00:00+01:00 probation_ended=2026-08-31T16:00:00+02:00");
	rec_bool(&r2, "consent_extended", true);
	ASSERT_NOTHING(rec_decide(&r2));
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* S1: an applicant who is not hired has no probation: the assessments go when the
 * recruitment process ends; a hired one's wait for the probation (or consent). */
START_TEST(s1_recruitment_assessment_not_hired)
{
	struct rec r1, r2, r3;

	rec_init(&r1, "spekter.recruitment_assessment",
	         "created=2026-01-20T10:00:00+01:00 process_ended=2026-02-27T15:00:00+01:00");
	rec_bool(&r1, "hired", false);
	ASSERT_DELETE_ONLY(rec_decide(&r1), "2026-02-27T15:00:00+01:00",
	                   "spekter-recruitment-assessments-not-hired");
	rec_init(&r2, "spekter.recruitment_assessment",
	         "created=2026-01-20T10:00:00+01:00 process_ended=2026-02-27T15:00:00+01:00");
	rec_bool(&r2, "hired", true);
	ASSERT_NOTHING(rec_decide(&r2));
	rec_init(&r3, "spekter.recruitment_assessment",
	         "created=2026-01-20T10:00:00+01:00 process_ended=2026-02-27T15:00:00+01:00 "
	         "probation_ended=2026-08-31T16:00:00+02:00");
	rec_bool(&r3, "hired", true);
	ASSERT_DELETE_ONLY(rec_decide(&r3), "2026-08-31T16:00:00+02:00",
	                   "spekter-recruitment-assessments");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* S2: checked within the week -> deleted when checked. */
START_TEST(s2_police_certificate_checked_early)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "spekter.police_certificate",
	           "received=2026-02-02T10:00:00+01:00 checked=2026-02-04T13:00:00+01:00");
	ASSERT_DELETE_ONLY(d, "2026-02-04T13:00:00+01:00", "spekter-police-certificate-checked");
	ck_assert_uint_eq(d->nevals, 2);
	rec_fini(&r);
}
END_TEST

/* S2: checked after the week (or never) -> deleted 1 week after received. */
START_TEST(s2_police_certificate_latest)
{
	struct rec r1, r2, r3;

	ASSERT_DELETE_ONLY(decide(&r1, "spekter.police_certificate",
	                          "received=2026-02-02T10:00:00+01:00 "
	                          "checked=2026-02-12T09:00:00+01:00"),
	                   "2026-02-09T10:00:00+01:00", "spekter-police-certificate-latest");
	ASSERT_DELETE_ONLY(
	    decide(&r2, "spekter.police_certificate", "received=2026-02-02T10:00:00+01:00"),
	    "2026-02-09T10:00:00+01:00", "spekter-police-certificate-latest");
	/* A week of calendar days across the March DST change: same wall-clock time. */
	ASSERT_DELETE_ONLY(
	    decide(&r3, "spekter.police_certificate", "received=2026-03-25T10:00:00+01:00"),
	    "2026-04-01T10:00:00+02:00", "spekter-police-certificate-latest");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* S3: unneeded personnel-file content 6 months after leaving (Aug 31 -> Feb 28). */
START_TEST(s3_personnel_file_extra)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "spekter.personnel_file_extra",
	           "employment_ended=2026-08-31T16:00:00+02:00");
	ASSERT_DELETE_ONLY(d, "2027-02-28T16:00:00+01:00", "spekter-personnel-file-extra");
	ck_assert(d->sched[0].review);
	rec_fini(&r);
}
END_TEST

/* S3: termination papers are kept forever. */
START_TEST(s3_termination_papers_forever)
{
	struct rec r;

	ASSERT_KEPT(decide(&r, "spekter.termination_papers",
	                   "created=2024-03-15T12:00:00+01:00 "
	                   "employment_ended=2024-06-30T16:00:00+02:00"),
	            "spekter-termination-papers");
	rec_fini(&r);
}
END_TEST

/* S4: keep and delete 5 years after the end of the accounting year of expense_date:
 * 2025-06-15 -> end of year 2026-01-01 -> 2031-01-01 local midnight. */
START_TEST(s4_travel_expense)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "spekter.travel_expense",
	                          "created=2025-06-16T10:00:00+02:00 "
	                          "expense_date=2025-06-15T10:00:00+02:00"),
	                   "2031-01-01T00:00:00+01:00", "spekter-travel-expenses-delete");
	ASSERT_DELETE_ONLY(decide(&r2, "spekter.travel_expense",
	                          "created=2026-01-04T08:00:00+01:00 "
	                          "expense_date=2025-12-31T23:59:59+01:00"),
	                   "2031-01-01T00:00:00+01:00", "spekter-travel-expenses-delete");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* S4 counts the year of the expenses, not of the import: a December journey put in
 * January is due a year earlier than its created event would make it; a claim whose
 * expense_date is not known yet is kept (the keep rule lacks its anchor). */
START_TEST(s4_travel_expense_on_expense_date)
{
	struct rec r1, r2;
	const struct rtn_decision *d;

	ASSERT_DELETE_ONLY(decide(&r1, "spekter.travel_expense",
	                          "created=2027-01-05T09:00:00+01:00 "
	                          "expense_date=2026-12-18T15:00:00+01:00"),
	                   "2032-01-01T00:00:00+01:00", "spekter-travel-expenses-delete");
	d = decide(&r2, "spekter.travel_expense", "created=2027-01-05T09:00:00+01:00");
	ASSERT_STATE(d, RTN_DS_ACTIVE, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "spekter-travel-expenses-keep");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* S4 counts Spekter's accounting year, which its namespace block states (January):
 * a daemon whose retentiond.conf makes July the default year start does not move it. */
START_TEST(s4_travel_expense_fiscal_year)
{
	struct rtn_ruleset july;
	struct rtn_diags dg;
	struct rtn_ruleset saved = rs;
	struct rec r1, r2;
	char *text = NULL;
	size_t len = 0;

	rtn_diags_init(&dg);
	rtn_ruleset_init(&july);
	july.fiscal_year_start = 7;
	ck_assert_int_eq(rtn_read_file("rules/spekter-pluss.rules", 1u << 20, &text, &len), 0);
	ck_assert_int_eq(rtn_rules_parse("rules/spekter-pluss.rules", text, len, &july, &dg), 0);
	ck_assert_int_eq(rtn_ruleset_finish(&july, &dg), 0);
	free(text);
	ck_assert_int_eq(
	    rtn_ruleset_find(&july, "spekter-travel-expenses-delete")->anchor.fiscal_start, 1);
	rs = july;
	ASSERT_DELETE_ONLY(
	    decide(&r1, "spekter.travel_expense", "expense_date=2026-08-10T10:00:00+02:00"),
	    "2032-01-01T00:00:00+01:00", "spekter-travel-expenses-delete");
	ASSERT_DELETE_ONLY(
	    decide(&r2, "spekter.travel_expense", "expense_date=2026-01-01T00:00:00+01:00"),
	    "2032-01-01T00:00:00+01:00", "spekter-travel-expenses-delete");
	rec_fini(&r1);
	rec_fini(&r2);
	rs = saved;
	rtn_ruleset_free(&july);
	rtn_diags_fini(&dg);
}
END_TEST

/* S4: an erasure request waits for the Bookkeeping Act's minimum. */
START_TEST(s4_travel_expense_erasure_postponed)
{
	struct rec r;
	const struct rtn_decision *d;

	rec_init(&r, "spekter.travel_expense", "expense_date=2025-06-15T10:00:00+02:00");
	rec_erasure(&r, "2026-03-01T10:00:00+01:00");
	d = rec_decide(&r);
	ASSERT_STATE(d, RTN_DS_ACTIVE, 1);
	ck_assert(d->sched[0].action == RTN_ACT_DELETE);
	ck_assert_str_eq(fmt(d->sched[0].at), "2031-01-01T00:00:00+01:00");
	ck_assert_str_eq(fmt(d->at), "2031-01-01T00:00:00+01:00");
	ck_assert_str_eq(rule_name(d->retained_by), "spekter-travel-expenses-keep");
	ck_assert_str_eq(fmt(d->keep_until), "2031-01-01T00:00:00+01:00");
	rec_fini(&r);
}
END_TEST

/* S5: 5 years after last_warning; a new warning resets the clock. */
START_TEST(s5_disciplinary_clock_reset)
{
	struct rec r1, r2;
	const struct rtn_decision *d;

	d = decide(&r1, "spekter.disciplinary_record",
	           "created=2024-03-11T10:00:00+01:00 last_warning=2024-03-11T10:00:00+01:00");
	ASSERT_DELETE_ONLY(d, "2029-03-11T10:00:00+01:00", "spekter-disciplinary-records");
	ck_assert(d->sched[0].review);
	d = decide(&r2, "spekter.disciplinary_record",
	           "created=2024-03-11T10:00:00+01:00 last_warning=2026-11-02T10:00:00+01:00");
	ASSERT_DELETE_ONLY(d, "2031-11-02T10:00:00+01:00", "spekter-disciplinary-records");
	ck_assert(d->sched[0].review);
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* S5 with the subject: a new warning on another record of the person restarts the 5
 * years of the old one. */
START_TEST(s5_disciplinary_subject)
{
	struct rec r;
	struct rtn_subject_time st = {.event = "last_warning", .latest = true};
	const struct rtn_decision *d;

	rec_init(&r, "spekter.disciplinary_record", "last_warning=2024-03-11T10:00:00+01:00");
	st.at = T("2027-09-20T10:00:00+02:00");
	st.record = "spekter/warning-2";
	r.v.subject_times = &st;
	r.v.nsubject_times = 1;
	d = rec_decide(&r);
	ASSERT_DELETE_ONLY(d, "2032-09-20T10:00:00+02:00", "spekter-disciplinary-records");
	ck_assert(d->sched[0].review);
	rec_fini(&r);
}
END_TEST

/* S6: user account 3 months after leaving (Nov 30 -> Feb 28). */
START_TEST(s6_user_account)
{
	struct rec r1, r2, r3;

	ASSERT_DELETE_ONLY(
	    decide(&r1, "spekter.user_account", "employment_ended=2026-11-30T16:00:00+01:00"),
	    "2027-02-28T16:00:00+01:00", "spekter-user-accounts");
	/* "unless otherwise agreed": an agreement switches the deadline off ... */
	rec_init(&r2, "spekter.user_account", "employment_ended=2026-11-30T16:00:00+01:00");
	rec_bool(&r2, "other_agreement", true);
	ASSERT_NOTHING(rec_decide(&r2));
	/* ... and an agreement recorded as not made leaves it. */
	rec_init(&r3, "spekter.user_account", "employment_ended=2026-11-30T16:00:00+01:00");
	rec_bool(&r3, "other_agreement", false);
	ASSERT_DELETE_ONLY(rec_decide(&r3), "2027-02-28T16:00:00+01:00", "spekter-user-accounts");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* S7: applications of applicants not hired shredded when recruitment ends. */
START_TEST(s7_job_application)
{
	struct rec r1, r2, r3;

	rec_init(&r1, "spekter.job_application", "process_ended=2026-05-15T12:00:00+02:00");
	rec_bool(&r1, "hired", false);
	ASSERT_DELETE_ONLY(rec_decide(&r1), "2026-05-15T12:00:00+02:00",
	                   "spekter-job-applications");
	rec_init(&r2, "spekter.job_application", "process_ended=2026-05-15T12:00:00+02:00");
	rec_bool(&r2, "hired", true);
	ASSERT_NOTHING(rec_decide(&r2));
	ASSERT_DELETE_ONLY(
	    decide(&r3, "spekter.job_application", "process_ended=2026-05-15T12:00:00+02:00"),
	    "2026-05-15T12:00:00+02:00", "spekter-job-applications");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* S8: anonymize 12 weeks (84 days: Jan 5 -> Mar 30, now summer time) and delete
 * 1 year after report_sent, in time order. */
START_TEST(s8_vta_anonymize_then_delete)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "spekter.vta_participant", "report_sent=2026-01-05T09:00:00+01:00");
	ASSERT_STATE(d, RTN_DS_ACTIVE, 2);
	ASSERT_ENTRY(d, 0, RTN_ACT_ANONYMIZE, "2026-03-30T09:00:00+02:00",
	             "spekter-vta-participants-anonymize");
	ASSERT_ENTRY(d, 1, RTN_ACT_DELETE, "2027-01-05T09:00:00+01:00",
	             "spekter-vta-participants-delete");
	ASSERT_OUTCOME(d, RTN_OUT_ANONYMIZE, "2026-03-30T09:00:00+02:00",
	               "spekter-vta-participants-anonymize");
	rec_fini(&r);
}
END_TEST

/* S8: once anonymised, only the delete remains. */
START_TEST(s8_vta_already_anonymized)
{
	struct rec r;

	rec_init(&r, "spekter.vta_participant", "report_sent=2026-01-05T09:00:00+01:00");
	r.v.anonymized_at = T("2026-03-30T09:00:05+02:00");
	ASSERT_DELETE_ONLY(rec_decide(&r), "2027-01-05T09:00:00+01:00",
	                   "spekter-vta-participants-delete");
	rec_fini(&r);
}
END_TEST

/* S9: work-trial data deleted when the practice period ends. */
START_TEST(s9_work_trial)
{
	struct rec r;

	ASSERT_DELETE_ONLY(decide(&r, "spekter.work_trial_assessment",
	                          "created=2026-04-13T08:00:00+02:00 "
	                          "practice_ended=2026-06-19T15:00:00+02:00"),
	                   "2026-06-19T15:00:00+02:00", "spekter-work-trial-assessments");
	rec_fini(&r);
}
END_TEST

/* S10: the earliest of partnership_ended and replaced wins. */
START_TEST(s10_partner_contact)
{
	struct rec r1, r2;

	ASSERT_DELETE_ONLY(decide(&r1, "spekter.partner_contact",
	                          "partnership_ended=2026-10-01T12:00:00+02:00 "
	                          "replaced=2026-07-01T08:00:00+02:00"),
	                   "2026-07-01T08:00:00+02:00", "spekter-partner-contacts-replaced");
	ASSERT_DELETE_ONLY(
	    decide(&r2, "spekter.partner_contact", "partnership_ended=2026-10-01T12:00:00+02:00"),
	    "2026-10-01T12:00:00+02:00", "spekter-partner-contacts-partnership-ended");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* S11: 2 years after the visit (Feb 29 -> Feb 28). */
START_TEST(s11_visitor_declaration)
{
	struct rec r;

	ASSERT_DELETE_ONLY(
	    decide(&r, "spekter.visitor_declaration", "visited=2024-02-29T13:00:00+01:00"),
	    "2026-02-28T13:00:00+01:00", "spekter-visitor-declarations");
	rec_fini(&r);
}
END_TEST

/* S13: personnel files and employment history are kept. */
START_TEST(s13_personnel_files_kept)
{
	struct rec r1, r2;

	ASSERT_KEPT(
	    decide(&r1, "spekter.personnel_file", "employment_ended=2026-06-30T16:00:00+02:00"),
	    "spekter-personnel-files");
	ASSERT_KEPT(decide(&r2, "spekter.employment_history", "created=2010-08-01T08:00:00+02:00"),
	            "spekter-employment-history");
	rec_fini(&r1);
	rec_fini(&r2);
}
END_TEST

/* S14: programme data kept during the whole programme: an erasure request waits for
 * its end; after the report, deleted 12 weeks later. VTA payroll kept. */
START_TEST(s14_programme_records)
{
	struct rec r1, r2, r3;
	const struct rtn_decision *d;

	rec_init(&r1, "spekter.programme_record", "created=2026-02-02T08:00:00+01:00");
	rec_erasure(&r1, "2026-03-01T10:00:00+01:00");
	d = rec_decide(&r1);
	ASSERT_STATE(d, RTN_DS_ACTIVE, 0);
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "spekter-programme-records-keep");
	ASSERT_DELETE_ONLY(decide(&r2, "spekter.programme_record",
	                          "programme_ended=2026-09-30T16:00:00+02:00 "
	                          "report_sent=2026-10-05T10:00:00+02:00"),
	                   "2026-12-28T10:00:00+01:00", "spekter-programme-records-delete");
	d = decide(&r3, "spekter.vta_payroll", "created=2026-02-02T08:00:00+01:00");
	ck_assert_int_eq(d->outcome, RTN_OUT_KEEP);
	ck_assert_str_eq(rule_name(d->retained_by), "spekter-vta-payroll-keep");
	rec_fini(&r1);
	rec_fini(&r2);
	rec_fini(&r3);
}
END_TEST

/* S15: pupils' unneeded information, 6 months after the practice period, reviewed. */
START_TEST(s15_work_trial_file_extra)
{
	struct rec r;
	const struct rtn_decision *d;

	d = decide(&r, "spekter.work_trial_file_extra", "practice_ended=2026-06-19T14:00:00+02:00");
	ASSERT_DELETE_ONLY(d, "2026-12-19T14:00:00+01:00", "spekter-work-trial-file-extra");
	ck_assert(d->sched[0].review);
	rec_fini(&r);
}
END_TEST

/* --- suite ---------------------------------------------------------------- */

static Suite *policies_suite(void)
{
	Suite *s = suite_create("policies");
	TCase *tc;

	tc = tcase_create("framsikt");
	tcase_add_checked_fixture(tc, setup_framsikt, teardown);
	tcase_add_test(tc, load_framsikt);
	tcase_add_test(tc, f1_payroll_import);
	tcase_add_test(tc, f2_not_hired);
	tcase_add_test(tc, f2_hired);
	tcase_add_test(tc, f2_hired_missing);
	tcase_add_test(tc, f2_hired_string_no);
	tcase_add_test(tc, f2_missing_anchor);
	tcase_add_test(tc, f2_held);
	tcase_add_test(tc, f2_erasure);
	tcase_add_test(tc, f_unmanaged);
	tcase_add_test(tc, f3_newsletter_earliest);
	tcase_add_test(tc, f4_survey_leap_year);
	tcase_add_test(tc, f5_course_signup_month_end);
	tcase_add_test(tc, f7_sick_leave);
	tcase_add_test(tc, f8_mailbox_review);
	suite_add_tcase(s, tc);

	tc = tcase_create("visma");
	tcase_add_checked_fixture(tc, setup_visma, teardown);
	tcase_add_test(tc, load_visma);
	tcase_add_test(tc, v1_user_profile_clock_reset);
	tcase_add_test(tc, v1_no_activity);
	tcase_add_test(tc, v3_demo_data);
	tcase_add_test(tc, v2_logs_follow_the_person);
	tcase_add_test(tc, v1_user_profile_subject);
	suite_add_tcase(s, tc);

	tc = tcase_create("activepeople");
	tcase_add_checked_fixture(tc, setup_activepeople, teardown);
	tcase_add_test(tc, load_activepeople);
	tcase_add_test(tc, a1_analytics_cookie_dst);
	tcase_add_test(tc, a2_visitor_ip);
	tcase_add_test(tc, a3_newsletter);
	tcase_add_test(tc, a4_personality_test);
	tcase_add_test(tc, a5_mailbox_review);
	tcase_add_test(tc, a6_email_account_review);
	tcase_add_test(tc, a8_orders_quotes_review);
	tcase_add_test(tc, a9_survey_answers);
	tcase_add_test(tc, a10_accounting_keep);
	suite_add_tcase(s, tc);

	tc = tcase_create("bjornson");
	tcase_add_checked_fixture(tc, setup_bjornson, teardown);
	tcase_add_test(tc, load_bjornson);
	tcase_add_test(tc, b1_contact_inquiry_end_of_year);
	tcase_add_test(tc, b2_job_application);
	tcase_add_test(tc, b2_applicant_list_forever);
	tcase_add_test(tc, b3_board_member_forever);
	tcase_add_test(tc, b3_board_member_erasure_retained);
	tcase_add_test(tc, b3_board_web_profile);
	tcase_add_test(tc, b4_former_shareholder);
	tcase_add_test(tc, b4_current_shareholder_kept);
	tcase_add_test(tc, b4_former_shareholder_erasure_postponed);
	tcase_add_test(tc, b5_newsletter);
	tcase_add_test(tc, b6_event_signup_end_of_year);
	tcase_add_test(tc, b6_event_signup_new_year);
	tcase_add_test(tc, b7_survey_participant);
	tcase_add_test(tc, b10_visitor_ip);
	tcase_add_test(tc, b11_employee_data_review);
	tcase_add_test(tc, b12_shareholder_web_profile);
	tcase_add_test(tc, b13_health_journal_kept);
	tcase_add_test(tc, b14_survey_material);
	suite_add_tcase(s, tc);

	tc = tcase_create("spekter");
	tcase_add_checked_fixture(tc, setup_spekter, teardown);
	tcase_add_test(tc, load_spekter);
	tcase_add_test(tc, s1_recruitment_assessment);
	tcase_add_test(tc, s1_recruitment_assessment_not_hired);
	tcase_add_test(tc, s2_police_certificate_checked_early);
	tcase_add_test(tc, s2_police_certificate_latest);
	tcase_add_test(tc, s3_personnel_file_extra);
	tcase_add_test(tc, s3_termination_papers_forever);
	tcase_add_test(tc, s4_travel_expense);
	tcase_add_test(tc, s4_travel_expense_on_expense_date);
	tcase_add_test(tc, s4_travel_expense_fiscal_year);
	tcase_add_test(tc, s4_travel_expense_erasure_postponed);
	tcase_add_test(tc, s5_disciplinary_clock_reset);
	tcase_add_test(tc, s5_disciplinary_subject);
	tcase_add_test(tc, s6_user_account);
	tcase_add_test(tc, s7_job_application);
	tcase_add_test(tc, s8_vta_anonymize_then_delete);
	tcase_add_test(tc, s8_vta_already_anonymized);
	tcase_add_test(tc, s9_work_trial);
	tcase_add_test(tc, s10_partner_contact);
	tcase_add_test(tc, s11_visitor_declaration);
	tcase_add_test(tc, s13_personnel_files_kept);
	tcase_add_test(tc, s14_programme_records);
	tcase_add_test(tc, s15_work_trial_file_extra);
	suite_add_tcase(s, tc);

	tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup_all, teardown);
	tcase_add_test(tc, load_whole_directory);
	tcase_add_test(tc, all_no_crosstalk);
	tcase_add_test(tc, namespaces_of_the_notices);
	suite_add_tcase(s, tc);

	return s;
}

RTN_TEST_MAIN(policies_suite)
