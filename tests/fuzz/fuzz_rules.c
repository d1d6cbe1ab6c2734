/* fuzz_rules.c - libFuzzer target for the rule language, lint, retentiond.conf and the
 * schedule decision (lib/rules.c, lib/values.c, lib/lint.c, lib/config.c, lib/decide.c)
 *
 * The input is read as a rule file (parse, finish, lint), then as a configuration; if
 * it was a valid rule file, a small fixed record of every category it names is decided.
 * Invariants the modules promise are checked, so that a bug shows as a crash and not only
 * as a sanitizer report. Everything is freed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decide.h"
#include "diag.h"
#include "rtime.h"
#include "rules.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every diagnostic formats as "FILE..." in valid UTF-8, and the counts add up. */
static void check_diags(const struct rtn_diags *d)
{
	if (d->n != d->nerrors + d->nwarnings)
		abort();
	for (size_t i = 0; i < d->n; i++) {
		char *m = rtn_diag_format(&d->v[i]);
		if (!m || !d->v[i].file || strncmp(m, d->v[i].file, strlen(d->v[i].file)) != 0 ||
		    !rtn_valid_utf8(m, strlen(m)))
			abort();
		free(m);
	}
}

static bool in_range(rtn_time_t t)
{
	return t >= RTN_TIME_MIN && t <= RTN_TIME_MAX;
}

static struct rtn_zone *zone; /* of every decision; opened on the first input */

/* Decide rec and check what §3 promises of any decision of a record without holds. */
static void decide_one(const struct rtn_ruleset *rs, const struct rtn_record_view *rec)
{
	struct rtn_decision d;
	size_t n;
	rtn_ruleset_for_category(rs, rec->category, &n);
	rtn_decide(rs, zone, rec, &d);
	if (d.nevals != n || d.nsched > 2 || !d.reason || !*d.reason)
		abort();
	if (n == 0 && (d.state != RTN_DS_UNMANAGED || d.nsched))
		abort();
	if (n && d.state != (rec->nholds ? RTN_DS_HELD : RTN_DS_ACTIVE))
		abort();
	if (d.state == RTN_DS_HELD && d.nsched)
		abort();
	for (size_t i = 0; i < d.nsched; i++) {
		const struct rtn_sched *s = &d.sched[i];
		if (!in_range(s->at))
			abort();
		if (s->action != RTN_ACT_DELETE && s->action != RTN_ACT_ANONYMIZE)
			abort();
		if (!s->rule && (s->action != RTN_ACT_DELETE || rec->erasure_at == RTN_TIME_NONE))
			abort();
		if (s->rule && s->rule->action != s->action)
			abort();
		if (s->action == RTN_ACT_ANONYMIZE && rec->anonymized_at != RTN_TIME_NONE)
			abort();
	}
	if (d.nsched == 2 &&
	    (d.sched[0].action != RTN_ACT_ANONYMIZE || d.sched[1].action != RTN_ACT_DELETE ||
	     d.sched[0].at >= d.sched[1].at))
		abort();
	for (size_t i = 0; i < d.nevals; i++) {
		const struct rtn_rule_eval *e = &d.evals[i];
		if (!e->rule || !memchr(e->why, '\0', sizeof(e->why)))
			abort();
		if (e->applies && e->rule->forever && d.nsched)
			abort(); /* keep forever blocks every action */
	}
	char buf[RTN_TIME_FMT_LEN];
	if (d.at != RTN_TIME_NONE && rtn_time_format_in(zone, d.at, buf, sizeof(buf)) < 0)
		abort();

	/* the quick decision agrees on everything but the explanations */
	struct rtn_decision q;
	rtn_decide_quick(rs, zone, rec, &q);
	if (q.state != d.state || q.nsched != d.nsched || q.outcome != d.outcome || q.at != d.at ||
	    q.rule != d.rule || q.retained_by != d.retained_by || q.keep_until != d.keep_until ||
	    q.nevals != d.nevals)
		abort();
	for (size_t i = 0; i < d.nsched; i++)
		if (q.sched[i].action != d.sched[i].action || q.sched[i].at != d.sched[i].at ||
		    q.sched[i].rule != d.sched[i].rule ||
		    q.sched[i].moved_by != d.sched[i].moved_by ||
		    q.sched[i].review != d.sched[i].review ||
		    q.sched[i].backend != d.sched[i].backend)
			abort();
	for (size_t i = 0; i < d.nevals; i++)
		if (q.evals[i].applies != d.evals[i].applies ||
		    q.evals[i].deadline != d.evals[i].deadline)
			abort();
	rtn_decision_free(&q);
	rtn_decision_free(&d);
}

static void decide_all(const struct rtn_ruleset *rs)
{
	static const struct rtn_event events[] = {
	    {"created", 1740817800},  /* 2025-03-01T09:30:00+01:00 */
	    {"received", 1740817800}, /* the same */
	    {"checked", 1741000000},  /* a few days later */
	    {"ceased", 1900000000},   /* 2030 */
	    {"x", 0},                 /* 1970 */
	};
	static const struct rtn_attr attrs[] = {
	    {.name = "hired", .type = RTN_ATTR_BOOL, .b = false},
	    {.name = "status", .type = RTN_ATTR_STRING, .s = "active"},
	    {.name = "n", .type = RTN_ATTR_NUMBER, .n = 3},
	    {.name = "a", .type = RTN_ATTR_NULL},
	};
	static const char *const holds[] = {"litigation"};
	struct rtn_record_view rec = {
	    .id = "fuzz/1",
	    .backend = "own",
	    .events = events,
	    .nevents = sizeof(events) / sizeof(events[0]),
	    .attrs = attrs,
	    .nattrs = sizeof(attrs) / sizeof(attrs[0]),
	    .anonymized_at = RTN_TIME_NONE,
	    .erasure_at = RTN_TIME_NONE,
	};
	for (size_t i = 0; i < rs->nindex; i++) {
		rec.category = rtn_ruleset_category(rs, i);
		if (!rec.category)
			abort();
		decide_one(rs, &rec);
		/* an erasure request, an earlier anonymisation and a hold */
		rec.erasure_at = 1741500000;
		rec.erasure_request = "er-1";
		rec.anonymized_at = 1741000000;
		decide_one(rs, &rec);
		rec.holds = holds;
		rec.nholds = 1;
		decide_one(rs, &rec);
		rec.holds = NULL;
		rec.nholds = 0;
		rec.erasure_at = rec.anonymized_at = RTN_TIME_NONE;
		rec.erasure_request = NULL;
	}
	rec.category = "fuzz-no-such-category-";
	decide_one(rs, &rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!zone) {
		if (!(zone = rtn_zone_open("Europe/Oslo")))
			abort();
		rtn_time_set_format_zone(zone);
	}
	const char *text = (const char *)data;

	/* as a rule file */
	struct rtn_ruleset rs;
	struct rtn_diags d;
	rtn_ruleset_init(&rs);
	rtn_diags_init(&d);
	int r = rtn_rules_parse("fuzz.rules", text, size, &rs, &d);
	if ((r != 0 && r != -EINVAL) || (r == 0) != (d.nerrors == 0))
		abort();
	size_t before = d.nerrors;
	int f = rtn_ruleset_finish(&rs, &d);
	if ((f != 0 && f != -EINVAL) || (f == 0) != (d.nerrors == before))
		abort();
	for (size_t i = 0; i < rs.n; i++) {
		const struct rtn_rule *rule = &rs.rules[i];
		if (!rule->ncategories || strlen(rule->hash) != 64 ||
		    rtn_ruleset_find(&rs, rule->name) == NULL)
			abort();
		char *desc = rtn_rule_describe(rule);
		free(desc);
	}
	if (strlen(rs.hash) != 64)
		abort();
	rtn_ruleset_lint(&rs, NULL, 0, &d);
	check_diags(&d);
	bool rules_ok = r == 0 && f == 0;

	/* as a configuration */
	struct rtn_config c;
	struct rtn_diags cd;
	rtn_config_defaults(&c);
	rtn_diags_init(&cd);
	int cr = rtn_config_parse("fuzz.conf", text, size, &c, &cd);
	if ((cr != 0 && cr != -EINVAL) || (cr == 0) != (cd.nerrors == 0))
		abort();
	for (size_t i = 0; i < c.nbackends; i++) {
		const struct rtn_backend_conf *b = &c.backends[i];
		if (!b->socket || b->socket[0] != '/' || b->timeout_ms < 1000 ||
		    b->retry_min_ms < 1000 || b->retry_max_ms < b->retry_min_ms ||
		    rtn_config_backend(&c, b->name) != b)
			abort();
	}
	if (!c.timezone || !rtn_time_zone_exists(c.timezone) || c.guard < 0)
		abort();
	check_diags(&cd);

	/* the rules against the configuration's backends, then the decision */
	if (rules_ok) {
		const char **names = rtn_xcalloc(c.nbackends, sizeof(*names));
		for (size_t i = 0; i < c.nbackends; i++)
			names[i] = c.backends[i].name;
		rtn_ruleset_lint(&rs, names, c.nbackends, &d);
		free(names);
		check_diags(&d);
		decide_all(&rs);
	}

	rtn_config_free(&c);
	rtn_diags_fini(&cd);
	rtn_ruleset_free(&rs);
	rtn_diags_fini(&d);
	return 0;
}
