/* lint.c - checks across rules that a single rule cannot see */
#include <stdlib.h>
#include <string.h>

#include "rules.h"

/* A condition reduced to "name == value", "name != value", "truthy", "has event". */
struct norm {
	int kind; /* 0 attr truthy, 1 event, 2 equality */
	bool positive;
	const char *name, *value;
};

static struct norm normalise(const struct rtn_cond *c)
{
	struct norm n = {.name = c->name, .value = c->value, .positive = !c->unless};
	switch (c->kind) {
	case RTN_COND_TRUE:
		n.kind = 0;
		break;
	case RTN_COND_EVENT:
		n.kind = 1;
		break;
	case RTN_COND_EQ:
		n.kind = 2;
		break;
	case RTN_COND_NE:
		n.kind = 2;
		n.positive = c->unless;
		break;
	}
	return n;
}

static bool contradicts(const struct rtn_cond *a, const struct rtn_cond *b)
{
	struct norm x = normalise(a), y = normalise(b);
	if (x.kind != y.kind || strcmp(x.name, y.name) != 0)
		return false;
	if (x.kind != 2)
		return x.positive != y.positive;
	bool same = strcmp(x.value, y.value) == 0;
	if (x.positive && y.positive)
		return !same;                    /* x == a and x == b */
	return same && x.positive != y.positive; /* x == a and x != a */
}

static bool same_anchor(const struct rtn_rule *a, const struct rtn_rule *b)
{
	return a->anchor.kind == b->anchor.kind && strcmp(a->anchor.event, b->anchor.event) == 0 &&
	       (a->anchor.kind == RTN_ANCHOR_EVENT || a->anchor.period == b->anchor.period);
}

static void lint_rule(const struct rtn_rule *r, const char *const *backends, size_t nbackends,
                      struct rtn_diags *d)
{
	for (size_t i = 0; i < r->nconds; i++)
		for (size_t j = 0; j < i; j++)
			if (contradicts(&r->conds[j], &r->conds[i])) {
				char *a = rtn_cond_describe(&r->conds[i]);
				char *b = rtn_cond_describe(&r->conds[j]);
				rtn_diag_add(
				    d, RTN_SEV_WARNING, r->file, r->conds[i].line, r->conds[i].col,
				    "rule \"%s\" can never apply: '%s' contradicts '%s' at "
				    "%d:%d",
				    r->name, a, b, r->conds[j].line, r->conds[j].col);
				free(a);
				free(b);
				break;
			}
	if (backends && r->backend) {
		size_t k;
		for (k = 0; k < nbackends; k++)
			if (strcmp(backends[k], r->backend) == 0)
				break;
		if (k == nbackends)
			rtn_diag_add(d, RTN_SEV_ERROR, r->file, r->line, r->col,
			             "rule \"%s\" names backend \"%s\", which the configuration "
			             "does not define",
			             r->name, r->backend);
	}
}

static void lint_category(const char *cat, const struct rtn_rule *const *rules, size_t n,
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
		const char *verb = a->action == RTN_ACT_DELETE ? "deletes" : "anonymizes";
		if (forever) {
			rtn_diag_add(d, RTN_SEV_WARNING, a->file, a->line, a->col,
			             "rule \"%s\" never acts on category %s: rule \"%s\" (%s:%d) "
			             "keeps it forever",
			             a->name, cat, forever->name, forever->file, forever->line);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			const struct rtn_rule *k = rules[j];
			if (k->action == RTN_ACT_KEEP && !k->forever && same_anchor(a, k) &&
			    rtn_span_approx_seconds(&a->span) < rtn_span_approx_seconds(&k->span)) {
				char *as = rtn_span_format(&a->span),
				     *ks = rtn_span_format(&k->span);
				char *an = rtn_anchor_describe(&a->anchor);
				rtn_diag_add(d, RTN_SEV_WARNING, a->file, a->line, a->col,
				             "rule \"%s\" %s %s after %s, sooner than rule \"%s\" "
				             "(%s:%d) keeps category %s (%s); the keep wins: the "
				             "action waits for the keep deadline",
				             a->name, verb, as, an, k->name, k->file, k->line, cat,
				             ks);
				free(as);
				free(ks);
				free(an);
			}
			if (a->action == RTN_ACT_ANONYMIZE && k->action == RTN_ACT_DELETE &&
			    k->nconds == 0 && same_anchor(a, k) &&
			    rtn_span_approx_seconds(&a->span) >=
			        rtn_span_approx_seconds(&k->span)) {
				rtn_diag_add(
				    d, RTN_SEV_WARNING, a->file, a->line, a->col,
				    "rule \"%s\" never anonymizes category %s: rule \"%s\" "
				    "(%s:%d) deletes it at the same time or sooner",
				    a->name, cat, k->name, k->file, k->line);
			}
		}
	}
}

void rtn_ruleset_lint(const struct rtn_ruleset *rs, const char *const *backends, size_t nbackends,
                      struct rtn_diags *d)
{
	for (size_t i = 0; i < rs->n; i++)
		lint_rule(&rs->rules[i], backends, nbackends, d);
	for (size_t i = 0; i < rs->nindex; i++) {
		size_t n;
		const char *cat = rtn_ruleset_category(rs, i);
		const struct rtn_rule *const *rules = rtn_ruleset_for_category(rs, cat, &n);
		lint_category(cat, rules, n, d);
	}
}
