/* lint.c - checks across rules that a single rule cannot see */
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util.h"

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
	if (backends && r->notify_backend) {
		size_t k;
		for (k = 0; k < nbackends; k++)
			if (strcmp(backends[k], r->notify_backend) == 0)
				break;
		if (k == nbackends)
			rtn_diag_add(d, RTN_SEV_ERROR, r->file, r->notify_backend_line,
			             r->notify_backend_col,
			             "rule \"%s\" names notify-backend \"%s\", which the "
			             "configuration does not define",
			             r->name, r->notify_backend);
	}
}

/* --- across the rules of one category, without looking at every pair ------------------
 *
 * A delete or anonymize rule A is warned about once for each rule K of its category, in
 * load order, where
 *   K keeps (not forever) after the same anchor for longer than A acts: the keep wins;
 *   A anonymizes and K deletes unconditionally after the same anchor no later.
 * The candidates K are sorted once by anchor and span, so each A finds its two runs of
 * them by binary search, and only the warnings themselves cost more: O((n + W) log n)
 * for n rules and W warnings instead of n * n. */

struct cand {
	const struct rtn_rule *r;
	size_t pos;  /* in the category's load order */
	double span; /* rtn_span_approx_seconds */
};

static int anchor_cmp(const struct rtn_anchor *a, const struct rtn_anchor *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = strcmp(a->event, b->event);
	if (c || a->kind == RTN_ANCHOR_EVENT)
		return c;
	return a->period == b->period ? 0 : a->period < b->period ? -1 : 1;
}

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	int c = anchor_cmp(&a->r->anchor, &b->r->anchor);
	if (c)
		return c;
	if (a->span != b->span)
		return a->span < b->span ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

static int pos_cmp(const void *x, const void *y)
{
	const struct cand *a = *(const struct cand *const *)x, *b = *(const struct cand *const *)y;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

/* The first candidate of v[0..n) not before (anchor, span): with past_equal, the first
 * with a longer span; without, the first with this span or longer. */
static size_t cand_bound(const struct cand *v, size_t n, const struct rtn_anchor *anchor,
                         double span, bool past_equal)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = anchor_cmp(&v[mid].r->anchor, anchor);
		bool before =
		    c < 0 ||
		    (c == 0 && (v[mid].span < span || (past_equal && v[mid].span == span)));
		if (before)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The end of the run of candidates with this anchor, from start. */
static size_t anchor_end(const struct cand *v, size_t n, size_t start,
                         const struct rtn_anchor *anchor)
{
	size_t lo = start, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (anchor_cmp(&v[mid].r->anchor, anchor) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void lint_category(const char *cat, const struct rtn_rule *const *rules, size_t n,
                          struct rtn_diags *d)
{
	const struct rtn_rule *forever = NULL;
	for (size_t i = 0; i < n && !forever; i++)
		if (rules[i]->forever && rules[i]->nconds == 0)
			forever = rules[i];
	if (forever) {
		for (size_t i = 0; i < n; i++) {
			const struct rtn_rule *a = rules[i];
			if (a->action != RTN_ACT_KEEP)
				rtn_diag_add(d, RTN_SEV_WARNING, a->file, a->line, a->col,
				             "rule \"%s\" never acts on category %s: rule \"%s\" "
				             "(%s:%d) keeps it forever",
				             a->name, cat, forever->name, forever->file,
				             forever->line);
		}
		return;
	}

	/* keeps with a deadline, and unconditional deletes, by anchor and span */
	struct cand *keeps = rtn_xcalloc(n ? n : 1, sizeof(*keeps));
	struct cand *dels = rtn_xcalloc(n ? n : 1, sizeof(*dels));
	size_t nk = 0, nd = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rtn_rule *r = rules[i];
		struct cand c = {r, i, rtn_span_approx_seconds(&r->span)};
		if (r->action == RTN_ACT_KEEP && !r->forever)
			keeps[nk++] = c;
		else if (r->action == RTN_ACT_DELETE && r->nconds == 0)
			dels[nd++] = c;
	}
	if (nk)
		qsort(keeps, nk, sizeof(*keeps), cand_cmp);
	if (nd)
		qsort(dels, nd, sizeof(*dels), cand_cmp);

	const struct cand **hits = rtn_xcalloc(n ? n : 1, sizeof(*hits));
	for (size_t i = 0; i < n; i++) {
		const struct rtn_rule *a = rules[i];
		if (a->action == RTN_ACT_KEEP)
			continue;
		double span = rtn_span_approx_seconds(&a->span);
		size_t nh = 0;
		/* keeps after the same anchor, longer than a */
		size_t lo = cand_bound(keeps, nk, &a->anchor, span, true);
		size_t hi = anchor_end(keeps, nk, lo, &a->anchor);
		for (size_t j = lo; j < hi; j++)
			hits[nh++] = &keeps[j];
		/* deletes after the same anchor, no longer than an anonymize */
		if (a->action == RTN_ACT_ANONYMIZE) {
			lo = cand_bound(dels, nd, &a->anchor, -1.0, false);
			hi = cand_bound(dels, nd, &a->anchor, span, true);
			for (size_t j = lo; j < hi; j++)
				hits[nh++] = &dels[j];
		}
		if (!nh)
			continue;
		qsort(hits, nh, sizeof(*hits), pos_cmp);
		const char *verb = a->action == RTN_ACT_DELETE ? "deletes" : "anonymizes";
		char *as = rtn_span_format(&a->span), *an = rtn_anchor_describe(&a->anchor);
		for (size_t j = 0; j < nh; j++) {
			const struct rtn_rule *k = hits[j]->r;
			if (k->action == RTN_ACT_KEEP) {
				char *ks = rtn_span_format(&k->span);
				rtn_diag_add(d, RTN_SEV_WARNING, a->file, a->line, a->col,
				             "rule \"%s\" %s %s after %s, sooner than rule \"%s\" "
				             "(%s:%d) keeps category %s (%s); the keep wins: the "
				             "action waits for the keep deadline",
				             a->name, verb, as, an, k->name, k->file, k->line, cat,
				             ks);
				free(ks);
			} else {
				rtn_diag_add(
				    d, RTN_SEV_WARNING, a->file, a->line, a->col,
				    "rule \"%s\" never anonymizes category %s: rule \"%s\" "
				    "(%s:%d) deletes it at the same time or sooner",
				    a->name, cat, k->name, k->file, k->line);
			}
		}
		free(as);
		free(an);
	}
	free(hits);
	free(keeps);
	free(dels);
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
