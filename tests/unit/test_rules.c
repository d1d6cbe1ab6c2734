/* test_rules.c - the rule language (lib/rules.c, lib/values.c) and lint (lib/lint.c) */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "rules.h"
#include "util.h"

#include "testutil.h"

#define NAME_RULE "names are lower-case letters, digits, '_', '.' and '-', starting with a letter"
#define UNITS     "expected second, minute, hour, day, week, month or year"

static struct rtn_ruleset rs;
static struct rtn_diags dg;
static char *joined_buf;

static void setup(void)
{
	rtn_ruleset_init(&rs);
	rtn_diags_init(&dg);
	joined_buf = NULL;
}

static void teardown(void)
{
	rtn_ruleset_free(&rs);
	rtn_diags_fini(&dg);
	free(joined_buf);
	joined_buf = NULL;
}

static void reset(void)
{
	teardown();
	setup();
}

/* Every diagnostic so far, formatted, one per line ("" if none). */
static const char *joined(void)
{
	free(joined_buf);
	joined_buf = rtn_test_diags_joined(&dg);
	return joined_buf;
}

/* Parse text as t.rules into a fresh rule set and finish it. An empty rule set is
 * finished only by test_empty_ruleset, which shows a crash of its own. */
static int parse(const char *text)
{
	reset();
	int r = rtn_rules_parse("t.rules", text, strlen(text), &rs, &dg);
	if (rs.n && rtn_ruleset_finish(&rs, &dg) < 0)
		r = -EINVAL;
	return r;
}

/* Parse "rule r {\n" body "\n}\n": the body starts on line 2, column 1. */
static int parse_body(const char *body)
{
	char *text = rtn_xasprintf("rule r {\n%s\n}\n", body);
	int r = parse(text);
	free(text);
	return r;
}

#define OK(text)                                                                                   \
	do {                                                                                       \
		int r_ = parse(text);                                                              \
		ck_assert_msg(r_ == 0 && dg.n == 0, "%s\n-> %s", (text), joined());                \
	} while (0)

#define ERR(body, want)                                                                            \
	do {                                                                                       \
		ck_assert_int_eq(parse_body(body), -EINVAL);                                       \
		ck_assert_str_eq(joined(), (want));                                                \
		ck_assert_uint_eq(rs.n, 0);                                                        \
	} while (0)

#define TOP_ERR(text, want)                                                                        \
	do {                                                                                       \
		ck_assert_int_eq(parse(text), -EINVAL);                                            \
		ck_assert_str_eq(joined(), (want));                                                \
	} while (0)

/* The only rule of a rule set parsed from body, which must have no problems. */
static const struct rtn_rule *one(const char *body)
{
	int r = parse_body(body);
	ck_assert_msg(r == 0 && dg.n == 0, "%s\n-> %s", body, joined());
	ck_assert_uint_eq(rs.n, 1);
	return &rs.rules[0];
}

static const char spec_rules[] =
    "# Framsikt privacy notice (d): applications of applicants who are not\n"
    "# hired are kept one year, then shredded.\n"
    "rule framsikt-job-applications {\n"
    "    category  job_application\n"
    "    delete    1 year after received\n"
    "    unless    hired\n"
    "    backend   hr-files\n"
    "    basis     \"Framsikt privacy notice, section d\"\n"
    "}\n"
    "\n"
    "rule police-certificate-checked { category police_certificate; delete immediately "
    "after checked }\n"
    "rule police-certificate-latest  { category police_certificate; delete 1 week after "
    "received }\n"
    "\n"
    "rule travel-expenses {\n"
    "    category  travel_expense\n"
    "    keep      5 years after end-of-year(created)   # Bookkeeping Act minimum\n"
    "    basis     \"Bookkeeping Act\"\n"
    "}\n"
    "rule travel-expenses-delete { category travel_expense; delete 5 years after "
    "end-of-year(created) }\n"
    "\n"
    "rule board-members { category board_member; keep forever; basis \"Register of Business "
    "Enterprises Act\" }\n"
    "\n"
    "rule mailboxes { category mailbox_content; delete 1 year after created; review }\n";

/* --- statements ------------------------------------------------------------ */

START_TEST(test_spec_example)
{
	OK(spec_rules);
	ck_assert_uint_eq(rs.n, 7);
	const struct rtn_rule *r = &rs.rules[0];
	ck_assert_str_eq(r->name, "framsikt-job-applications");
	ck_assert_str_eq(r->file, "t.rules");
	ck_assert_int_eq(r->line, 3);
	ck_assert_int_eq(r->col, 1);
	ck_assert_uint_eq(r->ncategories, 1);
	ck_assert_str_eq(r->categories[0], "job_application");
	ck_assert_int_eq(r->action, RTN_ACT_DELETE);
	ck_assert(!r->forever);
	ck_assert_int_eq(r->span.years, 1);
	ck_assert_int_eq(r->anchor.kind, RTN_ANCHOR_EVENT);
	ck_assert_str_eq(r->anchor.event, "received");
	ck_assert_uint_eq(r->nconds, 1);
	ck_assert_int_eq(r->conds[0].kind, RTN_COND_TRUE);
	ck_assert(r->conds[0].unless);
	ck_assert_str_eq(r->conds[0].name, "hired");
	ck_assert_ptr_null(r->conds[0].value);
	ck_assert_int_eq(r->conds[0].line, 6);
	ck_assert_int_eq(r->conds[0].col, 5);
	ck_assert_str_eq(r->backend, "hr-files");
	ck_assert(!r->review);
	ck_assert_str_eq(r->basis, "Framsikt privacy notice, section d");
	ck_assert_uint_eq(strlen(r->hash), 64);
	ck_assert_uint_eq(strspn(r->hash, "0123456789abcdef"), 64);

	r = rtn_ruleset_find(&rs, "police-certificate-checked");
	ck_assert(r->line == 11 && rtn_span_is_zero(&r->span) && !r->backend && !r->basis);
	r = rtn_ruleset_find(&rs, "travel-expenses");
	ck_assert(r->action == RTN_ACT_KEEP && r->anchor.kind == RTN_ANCHOR_END_OF);
	ck_assert(r->anchor.period == RTN_PERIOD_YEAR && strcmp(r->anchor.event, "created") == 0);
	r = rtn_ruleset_find(&rs, "board-members");
	ck_assert(r->forever && r->action == RTN_ACT_KEEP && !r->anchor.event);
	ck_assert(rtn_ruleset_find(&rs, "mailboxes")->review);
	ck_assert_ptr_null(rtn_ruleset_find(&rs, "nope"));
	ck_assert_ptr_null(rtn_ruleset_find(&rs, "mailboxes "));
}
END_TEST

START_TEST(test_categories)
{
	const struct rtn_rule *r = one("category a b.c d_e-f9\ncategory g\ndelete 1 day after x");
	ck_assert_uint_eq(r->ncategories, 4);
	ck_assert_str_eq(r->categories[0], "a");
	ck_assert_str_eq(r->categories[1], "b.c");
	ck_assert_str_eq(r->categories[2], "d_e-f9");
	ck_assert_str_eq(r->categories[3], "g");
	for (size_t i = 0; i < 4; i++) {
		size_t n = 9;
		const struct rtn_rule *const *v =
		    rtn_ruleset_for_category(&rs, r->categories[i], &n);
		ck_assert_uint_eq(n, 1);
		ck_assert_ptr_eq(v[0], r);
	}
	/* a category named twice in one rule lists the rule once */
	r = one("category a a\ncategory a\ndelete 1 day after x");
	size_t n = 0;
	ck_assert_ptr_nonnull(rtn_ruleset_for_category(&rs, "a", &n));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(rs.nindex, 1);
}
END_TEST

START_TEST(test_spans)
{
	/* span as written, as described */
	static const char *const cases[][2] = {
	    {"1 second", "1 second"},
	    {"2 seconds", "2 seconds"},
	    {"1 minute", "1 minute"},
	    {"3 minutes", "3 minutes"},
	    {"1 hour", "1 hour"},
	    {"4 hours", "4 hours"},
	    {"1 day", "1 day"},
	    {"90 days", "90 days"},
	    {"1 week", "1 week"},
	    {"2 weeks", "2 weeks"},
	    {"1 month", "1 month"},
	    {"6 months", "6 months"},
	    {"1 year", "1 year"},
	    {"5 years", "5 years"},
	    {"1 days", "1 day"},
	    {"2 day", "2 days"},
	    {"007 days", "7 days"},
	    {"0 days", "immediately"},
	    {"immediately", "immediately"},
	    {"100000 years", "100000 years"},
	    {"1 year 6 months", "1 year 6 months"},
	    {"6 months 1 year", "1 year 6 months"},
	    {"7 seconds 6 minutes 5 hours 4 days 3 weeks 2 months 1 year",
	     "1 year 2 months 3 weeks 4 days 5 hours 6 minutes 7 seconds"},
	};
	static const char *const verbs[] = {"delete", "anonymize", "keep"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int v = 0; v < 3; v++) {
			char *body = rtn_xasprintf("category c\n%s %s after received", verbs[v],
			                           cases[i][0]);
			const struct rtn_rule *r = one(body);
			ck_assert_int_eq(r->action, (enum rtn_action)v);
			ck_assert_str_eq(rtn_action_name(r->action), verbs[v]);
			char *d = rtn_rule_describe(r);
			char *want = rtn_xasprintf("%s %s after received", verbs[v], cases[i][1]);
			ck_assert_str_eq(d, want);
			free(d);
			free(want);
			free(body);
		}
	}
	const struct rtn_span *s =
	    &one("category c\nkeep 7 seconds 6 minutes 5 hours 4 days 3 weeks 2 months 1 year "
	         "after x")
	         ->span;
	ck_assert(s->years == 1 && s->months == 2 && s->weeks == 3 && s->days == 4 &&
	          s->hours == 5 && s->minutes == 6 && s->seconds == 7);
}
END_TEST

START_TEST(test_anchors)
{
	static const char *const anchors[] = {"created",
	                                      "end-of-day(created)",
	                                      "end-of-week(created)",
	                                      "end-of-month(a.b-c_d)",
	                                      "end-of-quarter(created)",
	                                      "end-of-year(created)"};
	for (int i = 0; i < 6; i++) {
		char *body = rtn_xasprintf("category c\ndelete 1 year after %s", anchors[i]);
		const struct rtn_rule *r = one(body);
		ck_assert_int_eq(r->anchor.kind, i ? RTN_ANCHOR_END_OF : RTN_ANCHOR_EVENT);
		if (i)
			ck_assert_int_eq(r->anchor.period, (enum rtn_period)(i - 1));
		ck_assert_str_eq(r->anchor.event, i == 3 ? "a.b-c_d" : "created");
		char *d = rtn_rule_describe(r);
		ck_assert_str_eq(d, body + strlen("category c\n"));
		free(d);
		free(body);
	}
	char *d = rtn_rule_describe(one("category c\nkeep forever"));
	ck_assert_str_eq(d, "keep forever");
	free(d);
}
END_TEST

/* latest(EVENT) of subject, earliest(EVENT) of subject: parsed, written back as given, in
 * the canonical text (and so the hash); every wrong form a clear error. */
START_TEST(test_subject_anchors)
{
	const struct rtn_rule *r =
	    one("category c\ndelete 3 years after latest(last_activity) of subject");
	ck_assert_int_eq(r->anchor.kind, RTN_ANCHOR_SUBJECT_LATEST);
	ck_assert_str_eq(r->anchor.event, "last_activity");
	ck_assert(RTN_ANCHOR_IS_SUBJECT(&r->anchor));
	char *d = rtn_rule_describe(r);
	ck_assert_str_eq(d, "delete 3 years after latest(last_activity) of subject");
	free(d);
	char *c = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(
	    strstr(c, "\ndelete 3 years after latest(last_activity) of subject\n"));
	free(c);
	char h1[65];
	memcpy(h1, r->hash, 65);
	r = one("category c\nkeep 1 year after earliest(a.b-c) of subject");
	ck_assert_int_eq(r->anchor.kind, RTN_ANCHOR_SUBJECT_EARLIEST);
	ck_assert_str_eq(r->anchor.event, "a.b-c");
	d = rtn_rule_describe(r);
	ck_assert_str_eq(d, "keep 1 year after earliest(a.b-c) of subject");
	free(d);
	/* the same rule with the record's own event is another rule */
	r = one("category c\ndelete 3 years after last_activity");
	ck_assert_str_ne(r->hash, h1);
	ck_assert(!rtn_ruleset_category_subject(&rs, "c") && !rtn_ruleset_any_subject(&rs));
	OK("rule a { category c; delete 1 day after x }\n"
	   "rule b { category d; delete 1 day after latest(x) of subject }\n");
	ck_assert(!rtn_ruleset_category_subject(&rs, "c"));
	ck_assert(rtn_ruleset_category_subject(&rs, "d"));
	ck_assert(rtn_ruleset_any_subject(&rs));

	ERR("category c\ndelete 1 year after latest(x)",
	    "t.rules:3:21: expected \"latest(x) of subject\": latest() is over every "
	    "record of the record's subject");
	ERR("category c\ndelete 1 year after earliest(x) of person",
	    "t.rules:3:33: expected \"earliest(x) of subject\": earliest() is over every "
	    "record of the record's subject");
	ERR("category c\ndelete 1 year after latest(x) of subject now",
	    "t.rules:3:42: unexpected \"now\" after the anchor");
	ERR("category c\ndelete 1 year after latest() of subject",
	    "t.rules:3:21: expected \"latest(EVENT) of subject\", found \"latest()\"");
	ERR("category c\ndelete 1 year after latest(X) of subject",
	    "t.rules:3:28: invalid event name \"X\" in latest(); " NAME_RULE);
	ERR("category c\ndelete 1 year after end-of-year(latest(x)) of subject",
	    "t.rules:3:33: end-of-year() takes an event name; an anchor of the subject "
	    "(latest or earliest of subject) is a plain anchor only");
}
END_TEST

struct cond_case {
	const char *text;
	enum rtn_cond_kind kind;
	bool unless;
	const char *name, *value;
};

START_TEST(test_conditions)
{
	static const struct cond_case cases[] = {
	    {"when hired", RTN_COND_TRUE, false, "hired", NULL},
	    {"unless hired", RTN_COND_TRUE, true, "hired", NULL},
	    {"when status = active", RTN_COND_EQ, false, "status", "active"},
	    {"unless status = active", RTN_COND_EQ, true, "status", "active"},
	    {"when status != active", RTN_COND_NE, false, "status", "active"},
	    {"unless status != active", RTN_COND_NE, true, "status", "active"},
	    {"when status=active", RTN_COND_EQ, false, "status", "active"},
	    {"when status!=active", RTN_COND_NE, false, "status", "active"},
	    {"unless status=active", RTN_COND_EQ, true, "status", "active"},
	    {"unless status!=active", RTN_COND_NE, true, "status", "active"},
	    {"when n = 3", RTN_COND_EQ, false, "n", "3"},
	    {"when note = \"two words\"", RTN_COND_EQ, false, "note", "two words"},
	    {"when note = \"\"", RTN_COND_EQ, false, "note", ""},
	    {"when event hired", RTN_COND_EVENT, false, "hired", NULL},
	    {"unless event ceased", RTN_COND_EVENT, true, "ceased", NULL},
	    {"when \"hired\"", RTN_COND_TRUE, false, "hired", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *body = rtn_xasprintf("category c\ndelete 1 day after x\n%s", cases[i].text);
		const struct rtn_rule *r = one(body);
		ck_assert_uint_eq(r->nconds, 1);
		const struct rtn_cond *c = &r->conds[0];
		ck_assert_msg(c->kind == cases[i].kind, "kind of %s", cases[i].text);
		ck_assert_msg(c->unless == cases[i].unless, "unless of %s", cases[i].text);
		ck_assert_str_eq(c->name, cases[i].name);
		if (cases[i].value)
			ck_assert_str_eq(c->value, cases[i].value);
		else
			ck_assert_ptr_null(c->value);
		ck_assert_int_eq(c->line, 4);
		ck_assert_int_eq(c->col, 1);
		free(body);
	}
	/* several conditions, in order */
	const struct rtn_rule *r =
	    one("category c\ndelete 1 day after x\nwhen a\nunless b\nwhen event e\n  when d=1");
	ck_assert_uint_eq(r->nconds, 4);
	ck_assert_str_eq(r->conds[1].name, "b");
	ck_assert(r->conds[1].unless);
	ck_assert_int_eq(r->conds[2].kind, RTN_COND_EVENT);
	ck_assert_int_eq(r->conds[3].line, 7);
	ck_assert_int_eq(r->conds[3].col, 3);
}
END_TEST

START_TEST(test_backend_review_basis)
{
	const struct rtn_rule *r = one("category c\nanonymize 1 day after x\nbackend hr-files\n"
	                               "review\nbasis \"GDPR art. 5(1)(e) \\\"storage\\\"\"");
	ck_assert_str_eq(r->backend, "hr-files");
	ck_assert(r->review);
	ck_assert_str_eq(r->basis, "GDPR art. 5(1)(e) \"storage\"");
	r = one("category c\ndelete 1 day after x\nbasis bare-word");
	ck_assert_str_eq(r->basis, "bare-word");
	ck_assert(!r->review);
	ck_assert(rtn_span_is_zero(&r->review_every));
	/* review every SPAN: a rejected action comes back for review */
	r = one("category c\ndelete 1 day after x\nreview every 1 year 6 months");
	ck_assert(r->review);
	ck_assert_int_eq(r->review_every.years, 1);
	ck_assert_int_eq(r->review_every.months, 6);
	char *canon = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(strstr(canon, "\nreview every 1 year 6 months\n"));
	ck_assert_ptr_null(strstr(canon, "review 1"));
	free(canon);
	r = one("category c\ndelete 1 day after x\nreview every 2 seconds");
	ck_assert_int_eq(r->review_every.seconds, 2);
	r = one("category c\ndelete 1 day after x\nreview");
	canon = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(strstr(canon, "\nreview 1\n")); /* as before: the same hash */
	ck_assert_ptr_null(strstr(canon, "every"));
	free(canon);
	/* statements in any order, separated by ';' */
	r = one("basis \"b\"; review; backend x; delete 1 day after e; category c");
	ck_assert_str_eq(r->categories[0], "c");
	ck_assert_str_eq(r->backend, "x");
}
END_TEST

/* review by GROUP...: stages in order, each group resolved to its id when read */
START_TEST(test_review_stages)
{
	struct group *g = getgrnam("root");
	ck_assert_ptr_nonnull(g);
	gid_t root = g->gr_gid;
	g = getgrnam("daemon");
	ck_assert_ptr_nonnull(g);
	gid_t daemon = g->gr_gid;
	const struct rtn_rule *r = one("category c\ndelete 1 day after x\nreview by root daemon");
	ck_assert(r->review);
	ck_assert_uint_eq(r->nreview_groups, 2);
	ck_assert_str_eq(r->review_groups[0], "root");
	ck_assert_str_eq(r->review_groups[1], "daemon");
	ck_assert_uint_eq(r->review_gids[0], root);
	ck_assert_uint_eq(r->review_gids[1], daemon);
	ck_assert(rtn_span_is_zero(&r->review_every));
	char *canon = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(strstr(canon, "\nreview by root daemon\n"));
	free(canon);
	/* with "every", in either order; a group may be named twice (two of its members) */
	r = one("category c\ndelete 1 day after x\nreview by daemon daemon every 1 year");
	ck_assert_uint_eq(r->nreview_groups, 2);
	ck_assert_uint_eq(r->review_gids[1], daemon);
	ck_assert_int_eq(r->review_every.years, 1);
	canon = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(strstr(canon, "\nreview by daemon daemon every 1 year\n"));
	free(canon);
	r = one("category c\ndelete 1 day after x\nreview every 2 months by root");
	ck_assert_uint_eq(r->nreview_groups, 1);
	ck_assert_str_eq(r->review_groups[0], "root");
	ck_assert_int_eq(r->review_every.months, 2);
	canon = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(strstr(canon, "\nreview by root every 2 months\n"));
	free(canon);
	/* plain review: no stages */
	r = one("category c\ndelete 1 day after x\nreview");
	ck_assert_uint_eq(r->nreview_groups, 0);
	ck_assert_ptr_null(r->review_groups);
}
END_TEST

/* --- errors ------------------------------------------------------------------ */

/* Positions: the body of ERRC starts on line 3, after "category c" on line 2. */
#define L2        "t.rules:2:"
#define L3        "t.rules:3:"
#define L4        "t.rules:4:"
#define SPAN_HELP "; a span is \"immediately\" or numbers with units, such as \"1 year 6 months\""
#define ANCHORS                                                                                    \
	"expected end-of-day, end-of-week, end-of-month, end-of-quarter, end-of-year or "          \
	"end-of-fiscal-year"
#define IN_RULE "expected category, delete, anonymize, keep, when, unless, backend, review or basis"
#define NEEDS_ACTION                                                                               \
	"rule \"r\" needs one of \"delete SPAN after ANCHOR\", \"anonymize SPAN after ANCHOR\", "  \
	"\"keep SPAN after ANCHOR\" or \"keep forever\""
#define TWO_ACTIONS                                                                                \
	"rule \"r\" has more than one of delete, anonymize and keep (the first is at 3:1); write " \
	"one rule per action"
#define ERRC(body, want) ERR("category c\n" body, want)
#define REVIEW_ARGS                                                                                \
	"\"review\" takes no arguments, or \"by GROUP...\" and \"every SPAN\" (such as \"review "  \
	"every 1 year\" or \"review by dpo legal\"); "
#define ERRD(body, want) ERR("category c\ndelete 1 day after x\n" body, want)

START_TEST(test_span_errors)
{
	ERRC("delete 1 fortnight after x", L3 "10: unknown unit \"fortnight\"; " UNITS);
	ERRC("delete 1 \"day\" after x", L3 "10: unknown unit \"day\"; " UNITS);
	ERRC("delete 1 dayss after x", L3 "10: unknown unit \"dayss\"; " UNITS);
	ERRC("delete 100001 days after x", L3 "8: number \"100001\" is too large (at most 100000)");
	ERRC("delete 99999999999999999999 days after x",
	     L3 "8: number \"99999999999999999999\" is too large (at most 100000)");
	ERRC("delete 1 after x", L3 "8: expected a unit after \"1\"; " UNITS);
	ERRC("delete 1 year 6 after x", L3 "15: expected a unit after \"6\"; " UNITS);
	ERRC("delete year after x", L3 "8: expected a number before \"year\"");
	ERRC("delete 1 year months after x", L3 "15: expected a number before \"months\"");
	ERRC("delete soon after x", L3 "8: expected a number, found \"soon\"" SPAN_HELP);
	ERRC("delete -1 days after x", L3 "8: expected a number, found \"-1\"" SPAN_HELP);
	ERRC("delete 1 day immediately after x",
	     L3 "14: expected a number, found \"immediately\"" SPAN_HELP);
	ERRC("delete immediately 1 day after x",
	     L3 "20: \"immediately\" stands alone; unexpected \"1\"");
	ERRC("delete 1 day 2 days after x", L3 "16: unit \"day\" is given twice");
	ERRC("keep 1 year 2 years 3 year after x",
	     L3 "15: unit \"year\" is given twice\n" L3 "23: unit \"year\" is given twice");
	ERRC("delete after x", L3 "1: \"delete\" needs a span: \"immediately\" or a number and a "
	                          "unit, such as \"1 year\"");
}
END_TEST

START_TEST(test_action_errors)
{
	ERRC("delete 1 year", L3 "10: expected \"delete SPAN after ANCHOR\"");
	ERRC("anonymize", L3 "1: expected \"anonymize SPAN after ANCHOR\"");
	ERRC("keep 1 year", L3 "8: expected \"keep SPAN after ANCHOR\" or \"keep forever\"");
	ERRC("keep forever now", L3 "14: expected \"keep SPAN after ANCHOR\" or \"keep forever\"");
	ERRC("delete 1 year \"after\" x", L3 "23: expected \"delete SPAN after ANCHOR\"");
	ERRC("delete 1 year after", L3 "15: expected an anchor after \"after\": an event name or "
	                               "end-of-day/week/month/quarter/year(EVENT)");
	ERRC("delete 1 year after x y", L3 "23: unexpected \"y\" after the anchor");
	ERRC("delete 1 year after x after y", L3 "23: unexpected \"after\" after the anchor");
	ERRC("delete 1 year after end-of-decade(x)",
	     L3 "21: unknown anchor \"end-of-decade\"; " ANCHORS);
	ERRC("delete 1 year after End-Of-Year(x)",
	     L3 "21: unknown anchor \"End-Of-Year\"; " ANCHORS);
	ERRC("delete 1 year after end-of-year(x",
	     L3 "21: expected \"end-of-year(EVENT)\", found \"end-of-year(x\"");
	ERRC("delete 1 year after end-of-month()",
	     L3 "21: expected \"end-of-month(EVENT)\", found \"end-of-month()\"");
	ERRC("delete 1 year after end-of-day(x)y",
	     L3 "21: expected \"end-of-day(EVENT)\", found \"end-of-day(x)y\"");
	ERRC("delete 1 year after end-of-year(Created)",
	     L3 "33: invalid event name \"Created\" in end-of-year(); " NAME_RULE);
	ERRC("delete 1 year after end-of-year(end-of-day(x))",
	     L3 "33: invalid event name \"end-of-day(x)\" in end-of-year(); " NAME_RULE);
	ERRC("delete 1 year after Created", L3 "21: invalid event name \"Created\"; " NAME_RULE);
	ERRC("delete forever",
	     L3 "8: \"forever\" only goes with keep; \"delete\" needs SPAN after ANCHOR");
	ERRC("anonymize forever",
	     L3 "11: \"forever\" only goes with keep; \"anonymize\" needs SPAN after ANCHOR");
	ERRC("delete 1 year after x\nkeep forever", L4 "1: " TWO_ACTIONS);
	ERRC("anonymize 1 day after x\n  anonymize 2 days after x", L4 "3: " TWO_ACTIONS);
}
END_TEST

START_TEST(test_rule_errors)
{
	ERR("delete 1 year after x", L3 "1: rule \"r\" needs a category: \"category NAME\"");
	ERRC("", L4 "1: " NEEDS_ACTION);
	TOP_ERR("rule r {}", "t.rules:1:9: rule \"r\" needs a category: \"category NAME\"\n"
	                     "t.rules:1:9: " NEEDS_ACTION);
	ERRC("keep 1 year after x\nreview",
	     L4 "1: \"review\" only goes with delete or anonymize; rule \"r\" keeps");
	ERRC("keep forever\nbackend hr",
	     L4 "1: \"backend\" only goes with delete or anonymize; rule \"r\" keeps");
	ERRD("review now", L4 "8: " REVIEW_ARGS "found \"now\"");
	ERRD("review \"every\" 1 year", L4 "8: " REVIEW_ARGS "found \"every\"");
	ERRD("review every", L4 "1: \"review every\" needs a span: \"immediately\" or a number "
	                        "and a unit, such as \"1 year\"");
	ERRD("review every immediately",
	     L4 "14: \"review every\" needs a span longer than nothing, such as \"1 year\"");
	ERRD("review every 0 days",
	     L4 "14: \"review every\" needs a span longer than nothing, such as \"1 year\"");
	ERRD("review every 1 fortnight", L4 "16: unknown unit \"fortnight\"; " UNITS);
	ERRD("review every year", L4 "14: expected a number before \"year\"");
	ERRD("review\nreview every 1 year",
	     "t.rules:5:1: \"review\" is given twice (first at 4:1)");
	/* review by GROUP...: every group must exist when the rules are read */
	ERRD("review by", L4 "8: \"review by\" needs one or more group names, such as \"review by "
	                     "dpo legal\"");
	ERRD("review by every 1 year", L4 "8: \"review by\" needs one or more group names, such as "
	                                  "\"review by dpo legal\"");
	ERRD("review by root no-such-group-rtn", L4 "16: \"review by\": no group "
	                                            "\"no-such-group-rtn\" on this host");
	ERRD("review by Root", L4 "11: invalid group name \"Root\"; " NAME_RULE);
	ERRD("review by root by root", L4 "16: " REVIEW_ARGS "found \"by\"");
	ERRD("review every 1 year every 2 years", L4 "21: " REVIEW_ARGS "found \"every\"");
	ERRD("review by root every", L4 "1: \"review every\" needs a span: \"immediately\" or a "
	                                "number and a unit, such as \"1 year\"");
	ERRD("review by root root root root root root root root root",
	     L4 "51: \"review by\" names at most 8 groups");
	ERRC("keep 1 year after x\nreview every 1 year",
	     L4 "1: \"review\" only goes with delete or anonymize; rule \"r\" keeps");
	ERRD("backend a\nbackend b", "t.rules:5:1: \"backend\" is given twice (first at 4:1)");
	ERRD("backend", L4 "1: \"backend\" needs 1 argument");
	ERRD("backend a b", L4 "11: too many arguments to \"backend\" (at most 1)");
	ERRD("backend HR", L4 "9: invalid backend name \"HR\"; " NAME_RULE);
	ERRD("basis \"a\"\nbasis \"b\"", "t.rules:5:1: \"basis\" is given twice (first at 4:1)");
	ERRD("basis \"\"", L4 "7: \"basis\" is empty");
	ERRD("basis", L4 "1: \"basis\" needs 1 argument");
	ERRD("basis a b", L4 "9: too many arguments to \"basis\" (at most 1)");
	ERR("category\ndelete 1 year after x", L2 "1: \"category\" needs at least 1 argument");
	ERR("category Job_Application\ndelete 1 year after x",
	    L2 "10: invalid category \"Job_Application\"; " NAME_RULE);
	ERR("category ok 9lives\ndelete 1 year after x",
	    L2 "13: invalid category \"9lives\"; " NAME_RULE);
	ERR("category c { x }\ndelete 1 year after x", L2 "1: \"category\" does not take a block");
	ERRD("expire 2 years", L4 "1: unknown statement \"expire\" in rule \"r\"; " IN_RULE);
	/* every problem of a rule is reported at once */
	ERR("category C\ndelete 1 fortnight after x\nfoo",
	    L2 "10: invalid category \"C\"; " NAME_RULE "\n" L3
	       "10: unknown unit \"fortnight\"; " UNITS "\n" L4
	       "1: unknown statement \"foo\" in rule \"r\"; " IN_RULE);
}
END_TEST

START_TEST(test_condition_errors)
{
	const char *generic = L4 "1: expected \"when NAME\", \"when NAME = VALUE\", \"when NAME != "
	                         "VALUE\" or \"when event NAME\"";
	ERRD("when a b", generic);
	ERRD("when", generic);
	ERRD("when a = b c", generic);
	ERRD("when a == b", generic);
	ERRD("when a \"=\" b", generic);
	ERRD("unless a b", L4 "1: expected \"unless NAME\", \"unless NAME = VALUE\", \"unless NAME "
	                      "!= VALUE\" or \"unless event NAME\"");
	ERRD("when Hired", L4 "6: invalid attribute name \"Hired\"; " NAME_RULE);
	ERRD("when Status = x", L4 "6: invalid attribute name \"Status\"; " NAME_RULE);
	ERRD("when Status=x", L4 "6: invalid attribute name \"Status\"; " NAME_RULE);
	ERRD("unless Status!=x", L4 "8: invalid attribute name \"Status\"; " NAME_RULE);
	ERRD("when =x", L4 "6: invalid attribute name \"\"; " NAME_RULE);
	ERRD("when \"a=b\"", L4 "6: invalid attribute name \"a=b\"; " NAME_RULE);
	ERRD("when event Hired", L4 "12: invalid event name \"Hired\"; " NAME_RULE);
	/* "event" without its name is an error, not the attribute called event; quoted, it
	 * is that attribute */
	ERRD("when event", L4 "6: \"when event\" needs the name of an event: \"when event NAME\" "
	                      "(an attribute called event is written \"when \\\"event\\\"\")");
	ERRD("unless event",
	     L4 "8: \"unless event\" needs the name of an event: \"unless event NAME\" (an "
	        "attribute called event is written \"unless \\\"event\\\"\")");
	const struct rtn_rule *r = one("category c\ndelete 1 day after x\nwhen \"event\"");
	ck_assert_int_eq(r->conds[0].kind, RTN_COND_TRUE);
	ck_assert_str_eq(r->conds[0].name, "event");
	char *desc = rtn_cond_describe(&r->conds[0]);
	ck_assert_str_eq(desc, "when \"event\"");
	free(desc);
	/* "NAME=" without a value; the empty value is written "" */
	ERRD("when a=", L4 "6: \"a=\" needs a value after \"=\": \"when a = VALUE\" (the empty "
	                   "value is written \"when a = \\\"\\\"\")");
	ERRD("unless status!=",
	     L4 "8: \"status!=\" needs a value after \"!=\": \"unless status != VALUE\" (the "
	        "empty value is written \"unless status != \\\"\\\"\")");
	ck_assert_str_eq(one("category c\ndelete 1 day after x\nwhen a = \"\"")->conds[0].value,
	                 "");
}
END_TEST

#define NOT_RULE "; a rule file holds \"rule NAME { ... }\" and \"namespace NAME { ... }\" blocks"
#define RULE_X   "{ category c; delete 1 day after x }"

START_TEST(test_file_errors)
{
	TOP_ERR("policy x { }", "t.rules:1:1: unknown statement \"policy\"" NOT_RULE);
	TOP_ERR("category c", "t.rules:1:1: unknown statement \"category\"" NOT_RULE);
	TOP_ERR("rule r", "t.rules:1:1: \"rule\" needs a block: rule NAME { ... }");
	TOP_ERR("rule r category c", "t.rules:1:1: \"rule\" needs a block: rule NAME { ... }");
	TOP_ERR("rule " RULE_X, "t.rules:1:1: \"rule\" needs 1 argument");
	TOP_ERR("rule a b " RULE_X, "t.rules:1:8: too many arguments to \"rule\" (at most 1)");
	TOP_ERR("rule Foo " RULE_X, "t.rules:1:6: invalid rule name \"Foo\"; " NAME_RULE);
	TOP_ERR("rule \"\" " RULE_X, "t.rules:1:6: invalid rule name \"\"; " NAME_RULE);
	/* a rule with errors is dropped; the good ones stay */
	TOP_ERR("rule a " RULE_X "\nrule b { category c; delete 1 dya after x }\nrule c " RULE_X,
	        "t.rules:2:31: unknown unit \"dya\"; " UNITS);
	ck_assert_uint_eq(rs.n, 2);
	ck_assert_str_eq(rs.rules[0].name, "a");
	ck_assert_str_eq(rs.rules[1].name, "c");
	/* a syntax error fails the file even though every rule is fine */
	TOP_ERR("rule a " RULE_X "\n}\n", "t.rules:2:1: unexpected \"}\"; no block is open");
	ck_assert_uint_eq(rs.n, 1);
	/* an empty file is no rules, and fine */
	OK("");
	OK("# only a comment\n\n");
	ck_assert_uint_eq(rs.n, 0);
}
END_TEST

static void parse_as(const char *file, const char *text)
{
	rtn_rules_parse(file, text, strlen(text), &rs, &dg);
}

START_TEST(test_duplicates)
{
	reset();
	parse_as("a.rules", "rule r " RULE_X);
	parse_as("b.rules", "\n  rule r { category d; delete 1 day after x }\n");
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), -EINVAL);
	ck_assert_str_eq(joined(),
	                 "b.rules:2:3: duplicate rule \"r\"; first defined at a.rules:1:1");
	OK("rule r " RULE_X "\nrule r2 " RULE_X "\nrule r.2 " RULE_X); /* similar names are fine */
}
END_TEST

/* Three rules of one name: each later one names the FIRST definition. */
START_TEST(test_duplicates_three)
{
	reset();
	parse_as("a.rules", "rule r " RULE_X);
	parse_as("b.rules", "rule r { category c; delete 2 days after x }\n");
	parse_as("c.rules", "rule r { category c; delete 3 days after x }\n");
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), -EINVAL);
	ck_assert_str_eq(joined(),
	                 "b.rules:1:1: duplicate rule \"r\"; first defined at a.rules:1:1\n"
	                 "c.rules:1:1: duplicate rule \"r\"; first defined at a.rules:1:1");
}
END_TEST

/* --- rtn_rules_load_dir ------------------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char *p = rtn_xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void rm_tmpdir(void)
{
	char *cmd = rtn_xasprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* --- the rule set ------------------------------------------------------------- */

START_TEST(test_index)
{
	OK("rule z { category beta alpha; delete 1 day after x }\n"
	   "rule a { category beta; keep 1 year after x }\n"
	   "rule m { category gamma beta; anonymize 1 day after x }\n");
	ck_assert_uint_eq(rs.nindex, 3);
	ck_assert_str_eq(rtn_ruleset_category(&rs, 0), "alpha");
	ck_assert_str_eq(rtn_ruleset_category(&rs, 1), "beta");
	ck_assert_str_eq(rtn_ruleset_category(&rs, 2), "gamma");
	ck_assert_ptr_null(rtn_ruleset_category(&rs, 3));
	size_t n = 0;
	const struct rtn_rule *const *v = rtn_ruleset_for_category(&rs, "beta", &n);
	ck_assert_uint_eq(n, 3); /* load order, not name order */
	ck_assert_str_eq(v[0]->name, "z");
	ck_assert_str_eq(v[1]->name, "a");
	ck_assert_str_eq(v[2]->name, "m");
	v = rtn_ruleset_for_category(&rs, "gamma", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0]->name, "m");
	n = 7;
	ck_assert_ptr_null(rtn_ruleset_for_category(&rs, "delta", &n));
	ck_assert_uint_eq(n, 0);
	n = 7;
	ck_assert_ptr_null(rtn_ruleset_for_category(&rs, "", &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(rtn_ruleset_find(&rs, "m")->name, "m");
}
END_TEST

/* No rules at all (an empty rules.d) is a valid rule set. Under UBSan this shows that
 * rtn_ruleset_finish passes a NULL index to qsort(). */
START_TEST(test_empty_ruleset)
{
	size_t n = 9;
	reset();
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), 0);
	ck_assert_str_eq(joined(), "");
	ck_assert_ptr_null(rtn_ruleset_for_category(&rs, "beta", &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(rtn_ruleset_category(&rs, 0));
	ck_assert_ptr_null(rtn_ruleset_find(&rs, "r"));
	/* the hash of nothing */
	ck_assert_str_eq(rs.hash,
	                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	strcpy(tmpdir, "/tmp/test_rules.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	write_file("README", "not rules\n");
	reset();
	int r = rtn_rules_load_dir(tmpdir, &rs, &dg);
	char *want =
	    rtn_xasprintf("%s: warning: no *.rules files: every category is unmanaged", tmpdir);
	bool same = strcmp(joined(), want) == 0;
	free(want);
	rm_tmpdir();
	ck_assert_int_eq(r, 0);
	ck_assert_msg(same, "got: %s", joined());
	ck_assert_uint_eq(rs.n, 0);
	/* a file whose every rule is wrong leaves an empty set too */
	ck_assert_int_eq(rtn_rules_parse("t.rules", "rule r {}", 9, &rs, &dg), -EINVAL);
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), 0);
}
END_TEST

/* The hash of the only rule of text. */
static void rule_hash(const char *text, char out[65])
{
	OK(text);
	ck_assert_uint_eq(rs.n, 1);
	memcpy(out, rs.rules[0].hash, 65);
}

#define R(body) "rule r { " body " }"

START_TEST(test_hashes)
{
	/* the same meaning written differently: the same hash */
	static const char *const same[][2] = {
	    {R("category c; delete 1 year 6 months after t; when a = b; unless event e; backend x; "
	       "basis \"B\""),
	     "# comment\n\nrule   r\t{\n  basis B   # why\n  backend x\n  when a=b\n  category c\n"
	     "  unless event e\n  delete 6 months 1 year after t\n}\n"},
	    {R("category c; delete immediately after t"),
	     R("category c; delete 0 seconds after t")},
	    {R("category c; delete 2 day after t"), R("category c; delete 2 days after t")},
	    {R("category c; when \"a\"; delete 1 day after t"),
	     R("category c; when a; delete 1 day "
	       "after t")},
	    {R("category c; keep forever"), R("keep forever; category c")},
	    {R("category c; delete 1 day after t; review every 12 months"),
	     R("category c; review every 12 month; delete 1 day after t")},
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char h1[65], h2[65];
		rule_hash(same[i][0], h1);
		rule_hash(same[i][1], h2);
		ck_assert_msg(strcmp(h1, h2) == 0, "hashes differ:\n%s\n%s", same[i][0],
		              same[i][1]);
	}
	/* any change of meaning: another hash; every rule below differs from every other */
	static const char *const v[] = {
	    R("category c; delete 1 year after t; when a = b; unless event e; backend x; basis B"),
	    R("category c; delete 2 years after t; when a = b; unless event e; backend x; basis B"),
	    R("category c; delete 1 year after u; when a = b; unless event e; backend x; basis B"),
	    R("category c; delete 1 year after end-of-day(t); when a = b; unless event e; backend "
	      "x; "
	      "basis B"),
	    R("category d; delete 1 year after t; when a = b; unless event e; backend x; basis B"),
	    R("category c d; delete 1 year after t; when a = b; unless event e; backend x; basis "
	      "B"),
	    R("category c; anonymize 1 year after t; when a = b; unless event e; backend x; basis "
	      "B"),
	    R("category c; delete 1 year after t; when a = c; unless event e; backend x; basis B"),
	    R("category c; delete 1 year after t; when a != b; unless event e; backend x; basis B"),
	    R("category c; delete 1 year after t; when a = \"b c\"; unless event e; backend x; "
	      "basis "
	      "B"),
	    R("category c; delete 1 year after t; when a = b; when event e; backend x; basis B"),
	    R("category c; delete 1 year after t; when a = b; unless e; backend x; basis B"),
	    R("category c; delete 1 year after t; when a = b; backend x; basis B"),
	    R("category c; delete 1 year after t; when a = b; unless event e; backend y; basis B"),
	    R("category c; delete 1 year after t; when a = b; unless event e; basis B"),
	    R("category c; delete 1 year after t; when a = b; unless event e; backend x; basis C"),
	    R("category c; delete 1 year after t; when a = b; unless event e; backend x"),
	    R("category c; delete 1 year after t; when a = b; unless event e; backend x; basis B; "
	      "review"),
	    R("category c; delete 1 year after t; when a = b; unless event e; backend x; basis B; "
	      "review every 1 year"),
	    R("category c; delete 1 year after t; when a = b; unless event e; backend x; basis B; "
	      "review every 2 years"),
	    "rule q { category c; delete 1 year after t; when a = b; unless event e; backend x; "
	    "basis B }",
	};
	enum { NV = sizeof(v) / sizeof(v[0]) };
	char h[NV][65];
	for (size_t i = 0; i < NV; i++) {
		rule_hash(v[i], h[i]);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(h[i], h[j]) != 0, "same hash:\n%s\n%s", v[i], v[j]);
	}

	/* the set hash: changes with any rule, not with comments, files or order */
	OK("rule a " RULE_X "\nrule b { category c; keep 1 year after x }\n");
	char s1[65], r1[65];
	memcpy(s1, rs.hash, 65);
	memcpy(r1, rs.rules[0].hash, 65);
	OK("# header\nrule b { category c; keep 1 year after x }\n\nrule a " RULE_X);
	ck_assert_str_eq(rs.hash, s1);
	OK("rule a " RULE_X "\nrule b { category c; keep 2 years after x }\n");
	ck_assert_str_eq(rs.rules[0].hash, r1); /* rule a is unchanged */
	ck_assert_str_ne(rs.hash, s1);
	OK("rule a " RULE_X);
	ck_assert_str_ne(rs.hash, s1);
	reset();
	parse_as("one.rules", "rule a " RULE_X);
	parse_as("two.rules", "rule b { category c; keep 1 year after x }\n");
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), 0);
	ck_assert_str_eq(rs.hash, s1);
}
END_TEST

START_TEST(test_load_dir)
{
	strcpy(tmpdir, "/tmp/test_rules.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	write_file("b.rules", "rule from-b { category c; delete 2 days after x }\n");
	write_file("a.rules", "rule from-a { category c; delete 1 day after x }\n"
	                      "rule from-a2 { category c; delete 3 days after x }\n");
	write_file("10.rules", "rule from-10 { category c; delete 1 day after x }\n");
	write_file(".hidden.rules", "rule hidden { category c; delete 1 day after x }\n");
	write_file("c.rules~", "rule backup { category c; delete 1 day after x }\n");
	write_file("c.rules.bak", "garbage {{{\n");
	write_file("README", "garbage {{{\n");
	write_file("rules", "garbage {{{\n");
	write_file(".rules", "garbage {{{\n");
	reset();
	ck_assert_int_eq(rtn_rules_load_dir(tmpdir, &rs, &dg), 0);
	ck_assert_str_eq(joined(), "");
	ck_assert_uint_eq(rs.n, 4);
	ck_assert_str_eq(rs.rules[0].name, "from-10");
	ck_assert_str_eq(rs.rules[1].name, "from-a");
	ck_assert_str_eq(rs.rules[2].name, "from-a2");
	ck_assert_str_eq(rs.rules[3].name, "from-b");
	char *pa = rtn_xasprintf("%s/a.rules", tmpdir);
	ck_assert_str_eq(rs.rules[1].file, pa);
	ck_assert_int_eq(rs.rules[2].line, 2);
	size_t n;
	ck_assert_ptr_nonnull(rtn_ruleset_for_category(&rs, "c", &n)); /* finished */
	ck_assert_uint_eq(n, 4);

	/* errors name the file; a duplicate across files names both */
	write_file("d.rules", "\nrule from-a { category c; delete 1 dya after x }\n"
	                      "rule from-b { category c; delete 1 day after x }\n");
	reset();
	ck_assert_int_eq(rtn_rules_load_dir(tmpdir, &rs, &dg), -EINVAL);
	char *want = rtn_xasprintf("%s/d.rules:2:36: unknown unit \"dya\"; " UNITS "\n"
	                           "%s/d.rules:3:1: duplicate rule \"from-b\"; first defined at "
	                           "%s/b.rules:1:1",
	                           tmpdir, tmpdir, tmpdir);
	ck_assert_str_eq(joined(), want);
	free(want);
	free(pa);
	rm_tmpdir();

	/* a missing directory is an error */
	reset();
	ck_assert_int_eq(rtn_rules_load_dir("/nonexistent/rules.d", &rs, &dg), -EINVAL);
	ck_assert_str_eq(joined(), "/nonexistent/rules.d: cannot read rules directory: No such "
	                           "file or directory");
	ck_assert_uint_eq(dg.nerrors, 1);
}
END_TEST

/* A directory called x.rules is not a rule file; say so in plain words. */
START_TEST(test_load_dir_subdir)
{
	strcpy(tmpdir, "/tmp/test_rules.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char *sub = rtn_xasprintf("%s/old.rules", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_file("a.rules", "rule a { category c; delete 1 day after x }\n");
	reset();
	int r = rtn_rules_load_dir(tmpdir, &rs, &dg);
	const char *got = joined();
	rm_tmpdir();
	bool named = strncmp(got, sub, strlen(sub)) == 0;
	free(sub);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_msg(named && strstr(got, "not a regular file"), "got: %s", got);
}
END_TEST

/* --- notify SPAN before, notify-backend NAME --------------------------------------- */

START_TEST(test_notify)
{
	const struct rtn_rule *r = one("category c\ndelete 1 year after x\nnotify 30 days before");
	ck_assert(r->notify);
	ck_assert_int_eq(r->notify_span.days, 30);
	ck_assert_ptr_null(r->notify_backend);
	char *canon = rtn_rule_canonical(r);
	ck_assert_ptr_nonnull(strstr(canon, "\nnotify 30 days before\nnotify-backend -\n"));
	free(canon);
	r = one("category c\nanonymize 2 weeks after x\nnotify 1 week 2 hours before\n"
	        "notify-backend mailer");
	ck_assert_int_eq(r->notify_span.weeks, 1);
	ck_assert_int_eq(r->notify_span.hours, 2);
	ck_assert_str_eq(r->notify_backend, "mailer");
	/* any order; a rule without notify keeps its canonical text (and hash) */
	r = one("notify-backend m; notify 5 seconds before; category c; delete 1 day after x");
	ck_assert_int_eq(r->notify_span.seconds, 5);
	r = one("category c\ndelete 1 day after x");
	ck_assert(!r->notify);
	canon = rtn_rule_canonical(r);
	ck_assert_ptr_null(strstr(canon, "notify"));
	free(canon);
	/* the span and the backend are part of the rule's hash */
	char a[65], b[65], c[65];
	OK("rule r { category c; delete 1 day after x; notify 1 day before }\n");
	memcpy(a, rs.rules[0].hash, 65);
	OK("rule r { category c; delete 1 day after x; notify 2 days before }\n");
	memcpy(b, rs.rules[0].hash, 65);
	OK("rule r { category c; delete 1 day after x; notify 2 days before; notify-backend m }\n");
	memcpy(c, rs.rules[0].hash, 65);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(b, c);
	ck_assert(rtn_ruleset_any_notify(&rs));
	OK("rule r { category c; delete 1 day after x }\n");
	ck_assert(!rtn_ruleset_any_notify(&rs));
}
END_TEST

#define NOTIFY_FORM "expected \"notify SPAN before\" (such as \"notify 30 days before\")"

START_TEST(test_notify_errors)
{
	ERRD("notify", L4 "1: " NOTIFY_FORM);
	ERRD("notify 30 days", L4 "11: " NOTIFY_FORM);
	ERRD("notify 30 days after", L4 "16: " NOTIFY_FORM);
	ERRD("notify 30 days \"before\"", L4 "16: " NOTIFY_FORM);
	ERRD("notify before", L4 "8: \"notify\" needs a span before \"before\", such as \"notify "
	                         "30 days before\"");
	ERRD("notify immediately before", L4 "8: \"notify\" needs a span longer than nothing, "
	                                     "such as \"notify 30 days before\"");
	ERRD("notify 0 days before", L4 "8: \"notify\" needs a span longer than nothing, such as "
	                                "\"notify 30 days before\"");
	ERRD("notify -3 days before", L4 "8: expected a number, found \"-3\"" SPAN_HELP);
	ERRD("notify 1 day before\nnotify 2 days before",
	     "t.rules:5:1: \"notify\" is given twice (first at 4:1)");
	ERRD("notify 1 day before\nnotify-backend a\nnotify-backend b",
	     "t.rules:6:1: \"notify-backend\" is given twice (first at 5:1)");
	ERRD("notify 1 day before\nnotify-backend Bad",
	     "t.rules:5:16: invalid backend name \"Bad\"; " NAME_RULE);
	ERRD("notify 1 day before\nnotify-backend a b",
	     "t.rules:5:18: too many arguments to \"notify-backend\" (at most 1)");
	ERRD("notify-backend m", L4 "1: \"notify-backend\" needs \"notify SPAN before\" in rule "
	                            "\"r\"");
	ERRD("notify 1 day before { x }", L4 "1: \"notify\" does not take a block");
	/* only with an action that ends or changes the record */
	ERRC("keep 1 year after x\nnotify 1 day before",
	     L4 "1: \"notify\" only goes with delete or anonymize; rule \"r\" keeps");
	ERRC("keep forever\nnotify 1 day before",
	     L4 "1: \"notify\" only goes with delete or anonymize; rule \"r\" keeps");
}
END_TEST

/* --- lint ----------------------------------------------------------------------- */

/* Parse text (no errors allowed), lint it, return the lint's diagnostics. */
static const char *lint(const char *text, const char *const *backends, size_t nbackends)
{
	OK(text);
	rtn_ruleset_lint(&rs, backends, nbackends, &dg);
	return joined();
}

#define LINT(text, want) ck_assert_str_eq(lint((text), NULL, 0), (want))

START_TEST(test_lint_contradictions)
{
	LINT("rule r {\ncategory c\ndelete 1 year after x\nwhen a\nunless a\n}\n",
	     "t.rules:5:1: warning: rule \"r\" can never apply: 'unless a' contradicts "
	     "'when a' at 4:1");
	LINT("rule r { category c; delete 1 day after x; when a=1; when a=2 }",
	     "t.rules:1:54: warning: rule \"r\" can never apply: 'when a = 2' contradicts "
	     "'when a = 1' at 1:44");
	/* each pair that cannot hold together, in every form */
	static const char *const bad[][2] = {
	    {"unless a", "when a"},
	    {"when event e", "unless event e"},
	    {"when a = 1", "when a = 2"},
	    {"when a = 1", "unless a = 1"},
	    {"when a = 1", "when a != 1"},
	    {"when a=1", "when a!=1"},
	    {"unless a != 1", "unless a != 2"},
	    {"unless a != 1", "when a != 1"},
	    {"when a = 1", "unless a != 2"},
	    {"unless a = 1", "unless a != 1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = rtn_xasprintf("rule r {\ncategory c\ndelete 1 day after x\n%s\n%s\n}",
		                        bad[i][0], bad[i][1]);
		lint(t, NULL, 0);
		ck_assert_msg(dg.nwarnings == 1 && dg.nerrors == 0, "%s\n-> %s", t, joined());
		ck_assert_int_eq(dg.v[0].line, 5);
		free(t);
	}
	static const char *const good[][2] = {
	    {"when a", "when a"},           {"when a", "when b"},
	    {"when a", "when event a"},     {"when a = 1", "when a = 1"},
	    {"when a != 1", "when a != 2"}, {"unless a = 1", "unless a = 2"},
	    {"when a = 1", "when a != 2"},  {"when a = 1", "unless a = 2"},
	    {"when a", "when a = false"},   {"when event e", "when e"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *t = rtn_xasprintf("rule r {\ncategory c\ndelete 1 day after x\n%s\n%s\n}",
		                        good[i][0], good[i][1]);
		ck_assert_msg(strcmp(lint(t, NULL, 0), "") == 0, "%s\n-> %s", t, joined());
		free(t);
	}
}
END_TEST

/* The warning must show which values clash, not only the attribute's name. */
START_TEST(test_lint_contradiction_text)
{
	const char *got = lint("rule r {\ncategory c\ndelete 1 day after x\nwhen a = 1\nwhen a = "
	                       "2\n}",
	                       NULL, 0);
	ck_assert_msg(strstr(got, "a = 1") && strstr(got, "a = 2"), "got: %s", got);
	got = lint("rule r {\ncategory c\ndelete 1 day after x\nwhen event e\nunless event e\n}",
	           NULL, 0);
	ck_assert_msg(strstr(got, "event e"), "got: %s", got);
}
END_TEST

START_TEST(test_lint_keep)
{
	LINT("rule k { category c; keep forever }\nrule d { category c; delete 1 year after x }\n"
	     "rule a { category c d; anonymize 1 day after x }\n",
	     "t.rules:2:1: warning: rule \"d\" never acts on category c: rule \"k\" (t.rules:1) "
	     "keeps it forever\n"
	     "t.rules:3:1: warning: rule \"a\" never acts on category c: rule \"k\" (t.rules:1) "
	     "keeps it forever");
	/* a conditional keep forever may not apply: no warning */
	LINT("rule k { category c; keep forever; when board }\n"
	     "rule d { category c; delete 1 year after x }\n",
	     "");
	LINT(
	    "rule k { category c; keep 5 years after x }\nrule d { category c; delete 1 year after "
	    "x }\n",
	    "t.rules:2:1: warning: rule \"d\" deletes 1 year after x, sooner than rule \"k\" "
	    "(t.rules:1) keeps category c (5 years); the keep wins: the action waits for the "
	    "keep deadline");
	LINT("rule k { category c; keep 1 year after x }\nrule a { category c; anonymize 30 days "
	     "after x }\n",
	     "t.rules:2:1: warning: rule \"a\" anonymizes 30 days after x, sooner than rule \"k\" "
	     "(t.rules:1) keeps category c (1 year); the keep wins: the action waits for the "
	     "keep deadline");
	/* not shorter, another anchor, another category: nothing to say */
	LINT("rule k { category c; keep 1 year after x }\n"
	     "rule d1 { category c; delete 12 months after x }\n"
	     "rule d2 { category c; delete 2 years after x }\n"
	     "rule d3 { category c; delete 1 day after y }\n"
	     "rule d4 { category c; delete 1 day after end-of-year(x) }\n"
	     "rule d5 { category e; delete 1 day after x }\n",
	     "");
}
END_TEST

/* The keep warning must name the anchor as written: end-of-year(x), not x. */
START_TEST(test_lint_keep_end_of)
{
	const char *got = lint("rule k { category c; keep 5 years after end-of-year(x) }\n"
	                       "rule d { category c; delete 1 year after end-of-year(x) }\n",
	                       NULL, 0);
	ck_assert_uint_eq(dg.nwarnings, 1);
	ck_assert_msg(strstr(got, "deletes 1 year after end-of-year(x),"), "got: %s", got);
	/* another period is another anchor */
	LINT("rule k { category c; keep 5 years after end-of-year(x) }\n"
	     "rule d { category c; delete 1 year after end-of-month(x) }\n",
	     "");
}
END_TEST

START_TEST(test_lint_anonymize)
{
	LINT("rule d { category c; delete 1 year after x }\nrule a { category c; anonymize 2 years "
	     "after x }\n",
	     "t.rules:2:1: warning: rule \"a\" never anonymizes category c: rule \"d\" (t.rules:1) "
	     "deletes it at the same time or sooner");
	LINT("rule a { category c; anonymize 1 year after x }\nrule d { category c; delete 12 "
	     "months after x }\n",
	     "t.rules:1:1: warning: rule \"a\" never anonymizes category c: rule \"d\" (t.rules:2) "
	     "deletes it at the same time or sooner");
	LINT("rule a { category c; anonymize immediately after x }\n"
	     "rule d { category c; delete immediately after x }\n",
	     "t.rules:1:1: warning: rule \"a\" never anonymizes category c: rule \"d\" (t.rules:2) "
	     "deletes it at the same time or sooner");
	/* anonymize first, another anchor, a conditional delete: fine */
	LINT("rule a { category c; anonymize 30 days after x }\n"
	     "rule d { category c; delete 1 year after x }\n"
	     "rule d2 { category c; delete 1 day after y }\n"
	     "rule d3 { category c; delete 1 day after x; when gone }\n",
	     "");
}
END_TEST

START_TEST(test_lint_notify_backend)
{
	static const char *const known[] = {"files", "mailer"};
	const char *text = "rule r { category c; delete 1 year after x; notify 1 day before;\n"
	                   "  notify-backend nope }\n"
	                   "rule s { category c; delete 1 year after x; notify 1 day before;\n"
	                   "  notify-backend mailer }\n";
	ck_assert_str_eq(lint(text, known, 2), "t.rules:2:3: rule \"r\" names notify-backend "
	                                       "\"nope\", which the configuration does not "
	                                       "define");
	ck_assert_uint_eq(dg.nerrors, 1);
	ck_assert_str_eq(lint(text, NULL, 0), "");
}
END_TEST

START_TEST(test_lint_backends)
{
	static const char *const known[] = {"hr-files", "db"};
	const char *text = "rule r { category c; delete 1 year after x; backend nope }\n"
	                   "rule s { category c; delete 1 year after x; backend db }\n"
	                   "rule t { category c; delete 1 year after x }\n";
	ck_assert_str_eq(lint(text, known, 2), "t.rules:1:1: rule \"r\" names backend \"nope\", "
	                                       "which the configuration does not define");
	ck_assert_uint_eq(dg.nerrors, 1);
	ck_assert_uint_eq(dg.nwarnings, 0);
	/* no backends list: nothing checked; an empty list: every named backend is unknown */
	ck_assert_str_eq(lint(text, NULL, 0), "");
	ck_assert_str_eq(
	    lint(text, known, 0),
	    "t.rules:1:1: rule \"r\" names backend \"nope\", which the configuration "
	    "does not define\n"
	    "t.rules:2:1: rule \"s\" names backend \"db\", which the configuration does "
	    "not define");
	/* the SPEC example is clean */
	static const char *const hr[] = {"hr-files"};
	ck_assert_str_eq(lint(spec_rules, hr, 1), "");
}
END_TEST

/* The cross-rule warnings as they are defined: every pair of rules of a category, in load
 * order (the pairwise lint that rtn_ruleset_lint replaced; it must say the same). */
static bool ref_same_anchor(const struct rtn_rule *a, const struct rtn_rule *b)
{
	return a->anchor.kind == b->anchor.kind && strcmp(a->anchor.event, b->anchor.event) == 0 &&
	       (a->anchor.kind == RTN_ANCHOR_EVENT || a->anchor.period == b->anchor.period);
}

static void ref_lint_category(const char *cat, const struct rtn_rule *const *rules, size_t n,
                              struct rtn_diags *d)
{
	const struct rtn_rule *forever = NULL;
	for (size_t i = 0; i < n && !forever; i++)
		if (rules[i]->forever && rules[i]->nconds == 0)
			forever = rules[i];
	for (size_t i = 0; i < n; i++) {
		const struct rtn_rule *a = rules[i];
		if (a->action == RTN_ACT_KEEP)
			continue;
		if (forever) {
			rtn_diag_add(d, RTN_SEV_WARNING, a->file, a->line, a->col,
			             "rule \"%s\" never acts on category %s: rule \"%s\" (%s:%d) "
			             "keeps it forever",
			             a->name, cat, forever->name, forever->file, forever->line);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			const struct rtn_rule *k = rules[j];
			double as = rtn_span_approx_seconds(&a->span);
			double ks = rtn_span_approx_seconds(&k->span);
			if (k->action == RTN_ACT_KEEP && !k->forever && ref_same_anchor(a, k) &&
			    as < ks) {
				char *at = rtn_span_format(&a->span),
				     *kt = rtn_span_format(&k->span);
				char *an = rtn_anchor_describe(&a->anchor);
				rtn_diag_add(d, RTN_SEV_WARNING, a->file, a->line, a->col,
				             "rule \"%s\" %s %s after %s, sooner than rule \"%s\" "
				             "(%s:%d) keeps category %s (%s); the keep wins: the "
				             "action waits for the keep deadline",
				             a->name,
				             a->action == RTN_ACT_DELETE ? "deletes" : "anonymizes",
				             at, an, k->name, k->file, k->line, cat, kt);
				free(at);
				free(kt);
				free(an);
			}
			if (a->action == RTN_ACT_ANONYMIZE && k->action == RTN_ACT_DELETE &&
			    k->nconds == 0 && ref_same_anchor(a, k) && as >= ks)
				rtn_diag_add(
				    d, RTN_SEV_WARNING, a->file, a->line, a->col,
				    "rule \"%s\" never anonymizes category %s: rule \"%s\" "
				    "(%s:%d) deletes it at the same time or sooner",
				    a->name, cat, k->name, k->file, k->line);
		}
	}
}

/* Generated rule sets: the lint gives the pairwise definition's warnings, in its order.
 * Spans tie ("12 months" is "1 year"), anchors differ by event and by period, rules name
 * several categories, some are conditional, some keep forever. */
START_TEST(test_lint_same_as_pairwise)
{
	static const char *const spans[] = {"immediately", "1 day",  "30 days", "1 month",
	                                    "12 months",   "1 year", "2 years", "1 year 6 months"};
	static const char *const anchors[] = {"x", "y", "end-of-year(x)", "end-of-month(x)",
	                                      "end-of-year(y)"};
	static const char *const actions[] = {"delete", "anonymize", "keep"};
	unsigned seed = 12345, total = 0;
#define RND(n) ((seed = seed * 1103515245u + 12345u) >> 16) % (n)
	for (int set = 0; set < 40; set++) {
		char *text = rtn_xstrdup("");
		int nrules = 5 + (int)RND(60);
		for (int i = 0; i < nrules; i++) {
			const char *act = actions[RND(3)];
			bool forever = strcmp(act, "keep") == 0 && RND(40) == 0;
			const char *span = spans[RND(8)];
			const char *anchor = anchors[RND(5)];
			char *stmt = forever ? rtn_xstrdup("keep forever")
			                     : rtn_xasprintf("%s %s after %s", act, span, anchor);
			const char *cats = (const char *[]){"c", "d", "c d", "e c"}[RND(4)];
			const char *cond = RND(4) == 0 ? "; when a" : "";
			char *t = rtn_xasprintf("%srule r%d { category %s; %s%s }\n", text, i, cats,
			                        stmt, cond);
			free(stmt);
			free(text);
			text = t;
		}
		OK(text);
		rtn_ruleset_lint(&rs, NULL, 0, &dg);
		char *got = rtn_xstrdup(joined());
		struct rtn_diags want;
		rtn_diags_init(&want);
		for (size_t i = 0; i < rs.nindex; i++) {
			size_t n;
			const char *cat = rtn_ruleset_category(&rs, i);
			const struct rtn_rule *const *rules =
			    rtn_ruleset_for_category(&rs, cat, &n);
			ref_lint_category(cat, rules, n, &want);
		}
		char *w = rtn_test_diags_joined(&want);
		size_t at = 0; /* where they part, for the message */
		while (got[at] && got[at] == w[at])
			at++;
		while (at && got[at - 1] != '\n')
			at--;
		ck_assert_msg(strcmp(got, w) == 0,
		              "set %d, from byte %zu:\ngot:  %.300s\nwant: %.300s", set, at,
		              got + at, w + at);
		total += (unsigned)want.n;
		free(w);
		rtn_diags_fini(&want);
		free(got);
		free(text);
	}
#undef RND
	ck_assert_uint_gt(total, 1000); /* the sets do draw warnings of every kind */
}
END_TEST

/* --- namespace blocks and end-of-fiscal-year -------------------------------------- */

#define RULE_FY "rule r { category spekter.doc; delete 1 year after end-of-fiscal-year(created) }\n"

START_TEST(test_namespace_block)
{
	OK("namespace spekter {\n"
	   "  erasure-deadline  14 days\n"
	   "  fiscal-year-start july\n"
	   "}\n" RULE_FY "rule h { category hr.doc; delete 1 year after end-of-fiscal-year(x) }\n");
	ck_assert_uint_eq(rs.nnamespaces, 1);
	const struct rtn_namespace *ns = rtn_ruleset_namespace(&rs, "spekter.doc");
	ck_assert_ptr_nonnull(ns);
	ck_assert_str_eq(ns->name, "spekter");
	ck_assert_str_eq(ns->file, "t.rules");
	ck_assert_int_eq(ns->line, 1);
	ck_assert_int_eq(ns->col, 1);
	ck_assert(ns->has_erasure_deadline);
	ck_assert_int_eq(ns->erasure_deadline.days, 14);
	ck_assert_int_eq(ns->fiscal_year_start, 7);
	ck_assert_ptr_eq(rtn_ruleset_namespace(&rs, "spekter.a.b"), ns);
	ck_assert_ptr_null(rtn_ruleset_namespace(&rs, "spekter"));      /* no '.' */
	ck_assert_ptr_null(rtn_ruleset_namespace(&rs, "spekterx.doc")); /* another name */
	ck_assert_ptr_null(rtn_ruleset_namespace(&rs, "spekte.doc"));
	ck_assert_ptr_null(rtn_ruleset_namespace(&rs, "hr.doc"));
	/* each rule knows its month: its namespace's, else the rule set's default */
	const struct rtn_rule *r = rtn_ruleset_find(&rs, "r"), *h = rtn_ruleset_find(&rs, "h");
	ck_assert_int_eq(r->anchor.kind, RTN_ANCHOR_END_OF);
	ck_assert_int_eq(r->anchor.period, RTN_PERIOD_FISCAL_YEAR);
	ck_assert_int_eq(r->anchor.fiscal_start, 7);
	ck_assert_int_eq(h->anchor.fiscal_start, 1);
	char *d = rtn_rule_describe(r);
	ck_assert_str_eq(d, "delete 1 year after end-of-fiscal-year(created)");
	free(d);
	char *c = rtn_rule_canonical(r);
	ck_assert_str_eq(c, "rule r\ncategory spekter.doc\ndelete 1 year after "
	                    "end-of-fiscal-year(created)\nfiscal-year-start july\nbackend -\n"
	                    "review 0\nbasis 0:\n");
	free(c);

	/* settings by number, either alone; the config's month where none is set */
	reset();
	rs.fiscal_year_start = 4;
	const char *t = "namespace spekter { erasure-deadline 2 months }\n"
	                "namespace hr { fiscal-year-start 9 }\n" RULE_FY;
	ck_assert_int_eq(rtn_rules_parse("t.rules", t, strlen(t), &rs, &dg), 0);
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), 0);
	ck_assert_uint_eq(dg.n, 0);
	ck_assert_str_eq(rs.namespaces[0].name, "hr"); /* by name */
	ck_assert(!rs.namespaces[0].has_erasure_deadline);
	ck_assert_int_eq(rs.namespaces[0].fiscal_year_start, 9);
	ck_assert_int_eq(rs.namespaces[1].fiscal_year_start, 0);
	ck_assert_int_eq(rs.rules[0].anchor.fiscal_start, 4);
}
END_TEST

/* Rule set hash of text, with the default fiscal month m. */
static void hash_of(const char *text, int m, char out[65])
{
	reset();
	rs.fiscal_year_start = m;
	ck_assert_int_eq(rtn_rules_parse("t.rules", text, strlen(text), &rs, &dg), 0);
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), 0);
	memcpy(out, rs.hash, 65);
}

START_TEST(test_namespace_hash)
{
	char a[65], b[65], c[65], e[65];
	const char *plain = "rule p { category spekter.doc; delete 1 year after created }\n";
	hash_of(plain, 1, a);
	hash_of(plain, 7, b);
	ck_assert_str_eq(a, b); /* the month means nothing to a rule not anchored on it */
	char *t1 = rtn_xasprintf("namespace spekter { erasure-deadline 30 days }\n%s", plain);
	char *t2 = rtn_xasprintf("namespace spekter { erasure-deadline 31 days }\n%s", plain);
	char *t3 = rtn_xasprintf("namespace spekter { }\n%s", plain);
	hash_of(t1, 1, c);
	ck_assert_str_ne(a, c); /* a deadline is a rule change */
	hash_of(t2, 1, e);
	ck_assert_str_ne(c, e);
	hash_of(t3, 1, e);
	ck_assert_str_ne(a, e); /* even a block without settings */
	hash_of(t1, 1, e);
	ck_assert_str_eq(c, e); /* and stable */
	free(t1);
	free(t2);
	free(t3);
	/* a rule anchored on the fiscal year changes with its month, wherever it comes from */
	hash_of(RULE_FY, 1, a);
	hash_of(RULE_FY, 7, b);
	ck_assert_str_ne(a, b);
	hash_of("namespace spekter { fiscal-year-start july }\n" RULE_FY, 1, c);
	ck_assert_str_ne(b, c); /* the block is hashed too */
	ck_assert_str_eq(rs.rules[0].hash, rtn_ruleset_find(&rs, "r")->hash);
	char rule_hash[65];
	memcpy(rule_hash, rs.rules[0].hash, 65);
	hash_of(RULE_FY, 7, b);
	ck_assert_str_eq(rs.rules[0].hash, rule_hash); /* the rule means the same */
}
END_TEST

START_TEST(test_namespace_errors)
{
	TOP_ERR("namespace spekter {\n  erasure-deadline 30 dayz\n}\n" RULE_FY,
	        "t.rules:2:23: unknown unit \"dayz\"; " UNITS);
	ck_assert_uint_eq(rs.nnamespaces, 0);
	TOP_ERR("namespace spekter { retention 3 days }\n" RULE_FY,
	        "t.rules:1:21: unknown setting \"retention\" in namespace \"spekter\"; expected "
	        "erasure-deadline or fiscal-year-start");
	TOP_ERR("namespace spekter { fiscal-year-start jully }\n" RULE_FY,
	        "t.rules:1:39: expected a month: january to december, or 1 to 12, found \"jully\"");
	TOP_ERR("namespace spekter { fiscal-year-start 0 }\n" RULE_FY,
	        "t.rules:1:39: expected a month: january to december, or 1 to 12, found \"0\"");
	TOP_ERR("namespace spekter {\n  fiscal-year-start july\n  fiscal-year-start 8\n}\n" RULE_FY,
	        "t.rules:3:3: \"fiscal-year-start\" is given twice (first at 2:3)");
	TOP_ERR("namespace spekter\n" RULE_FY,
	        "t.rules:1:1: \"namespace\" needs a block: namespace NAME { ... }");
	TOP_ERR("namespace spekter.doc { }\n" RULE_FY,
	        "t.rules:1:11: invalid namespace name \"spekter.doc\": a namespace is the part of "
	        "a category before its first '.', so it has no '.'");
	TOP_ERR("namespace Spekter { }\n" RULE_FY,
	        "t.rules:1:11: invalid namespace name \"Spekter\"; " NAME_RULE);
	TOP_ERR("namespace { }\n" RULE_FY, "t.rules:1:1: \"namespace\" needs 1 argument");
	TOP_ERR("namespace spekter { erasure-deadline 3 days { } }\n" RULE_FY,
	        "t.rules:1:21: \"erasure-deadline\" does not take a block");
	/* across files: the later declaration is the error, naming the first */
	reset();
	const char *a = "namespace spekter { erasure-deadline 30 days }\n" RULE_FY;
	const char *b = "\n  namespace spekter { erasure-deadline 10 days }\n";
	ck_assert_int_eq(rtn_rules_parse("a.rules", a, strlen(a), &rs, &dg), 0);
	ck_assert_int_eq(rtn_rules_parse("b.rules", b, strlen(b), &rs, &dg), 0);
	ck_assert_int_eq(rtn_ruleset_finish(&rs, &dg), -EINVAL);
	ck_assert_str_eq(joined(), "b.rules:2:3: namespace \"spekter\" is declared twice; first at "
	                           "a.rules:1:1");
	/* the first stays the one found */
	ck_assert_int_eq(rtn_ruleset_namespace(&rs, "spekter.doc")->erasure_deadline.days, 30);
	/* one rule over namespaces whose years start in different months */
	TOP_ERR(
	    "namespace spekter { fiscal-year-start july }\n"
	    "rule m { category hr.doc spekter.doc\n"
	    "  delete 1 year after end-of-fiscal-year(created) }\n",
	    "t.rules:2:1: rule \"m\" is anchored on end-of-fiscal-year, but the fiscal years of "
	    "its categories start in different months (hr.doc: january, spekter.doc: july); "
	    "write one rule per namespace");
	OK("namespace spekter { fiscal-year-start january }\n"
	   "rule m { category hr.doc spekter.doc\n"
	   "  delete 1 year after end-of-fiscal-year(created) }\n");
	TOP_ERR("rule r { category c; delete 1 year after end-of-fiscal-year() }\n",
	        "t.rules:1:42: expected \"end-of-fiscal-year(EVENT)\", found "
	        "\"end-of-fiscal-year()\"");
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spec_example);
	tcase_add_test(tc, test_namespace_block);
	tcase_add_test(tc, test_namespace_hash);
	tcase_add_test(tc, test_namespace_errors);
	tcase_add_test(tc, test_categories);
	tcase_add_test(tc, test_spans);
	tcase_add_test(tc, test_anchors);
	tcase_add_test(tc, test_subject_anchors);
	tcase_add_test(tc, test_conditions);
	tcase_add_test(tc, test_backend_review_basis);
	tcase_add_test(tc, test_review_stages);
	tcase_add_test(tc, test_span_errors);
	tcase_add_test(tc, test_action_errors);
	tcase_add_test(tc, test_rule_errors);
	tcase_add_test(tc, test_condition_errors);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_duplicates_three);
	tcase_add_test(tc, test_index);
	tcase_add_test(tc, test_empty_ruleset);
	tcase_add_test(tc, test_hashes);
	tcase_add_test(tc, test_load_dir);
	tcase_add_test(tc, test_load_dir_subdir);
	tcase_add_test(tc, test_lint_contradictions);
	tcase_add_test(tc, test_lint_contradiction_text);
	tcase_add_test(tc, test_lint_keep);
	tcase_add_test(tc, test_lint_keep_end_of);
	tcase_add_test(tc, test_lint_anonymize);
	tcase_add_test(tc, test_lint_backends);
	tcase_add_test(tc, test_lint_notify_backend);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_notify_errors);
	tcase_add_test(tc, test_lint_same_as_pairwise);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(rules_suite)
