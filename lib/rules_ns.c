/* rules_ns.c - namespace blocks of rule files: erasure deadline and fiscal year per
 * namespace (the part of a category before its first '.') */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "util.h"
#include "values.h"

void rtn_ns_free(struct rtn_ruleset *rs)
{
	for (size_t i = 0; i < rs->nnamespaces; i++) {
		free(rs->namespaces[i].name);
		free(rs->namespaces[i].file);
	}
	free(rs->namespaces);
	rs->namespaces = NULL;
	rs->nnamespaces = rs->nscap = 0;
}

/* One setting of a namespace block; first[] remembers where each was given. */
static int parse_setting(const char *file, const struct rtn_stmt *s, struct rtn_namespace *ns,
                         const struct rtn_stmt *first[2], struct rtn_diags *d)
{
	int k = strcmp(s->keyword, "erasure-deadline") == 0    ? 0
	        : strcmp(s->keyword, "fiscal-year-start") == 0 ? 1
	                                                       : -1;
	if (k < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "unknown setting \"%s\" in namespace \"%s\"; expected "
		             "erasure-deadline or fiscal-year-start",
		             s->keyword, ns->name);
		return -EINVAL;
	}
	if (rtn_val_noblock(file, s, d) < 0)
		return -EINVAL;
	if (first[k]) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"%s\" is given twice (first at %d:%d)", s->keyword, first[k]->line,
		             first[k]->col);
		return -EINVAL;
	}
	first[k] = s;
	if (k == 0) {
		if (rtn_val_span(file, s, s->args, s->nargs, &ns->erasure_deadline, d) < 0)
			return -EINVAL;
		ns->has_erasure_deadline = true;
		return 0;
	}
	if (rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	int m = s->args[0].quoted ? -EINVAL : rtn_month_parse(s->args[0].text);
	if (m < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		             "expected a month: january to december, or 1 to 12, found \"%s\"",
		             s->args[0].text);
		return -EINVAL;
	}
	ns->fiscal_year_start = m;
	return 0;
}

int rtn_ns_parse(const char *file, const struct rtn_stmt *s, struct rtn_ruleset *rs,
                 struct rtn_diags *d)
{
	if (!s->block) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"namespace\" needs a block: namespace NAME { ... }");
		return -EINVAL;
	}
	if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
	    rtn_val_name(file, &s->args[0], "namespace name", d) < 0)
		return -EINVAL;
	if (strchr(s->args[0].text, '.')) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		             "invalid namespace name \"%s\": a namespace is the part of a "
		             "category before its first '.', so it has no '.'",
		             s->args[0].text);
		return -EINVAL;
	}
	struct rtn_namespace ns = {.name = (char *)s->args[0].text, .line = s->line, .col = s->col};
	const struct rtn_stmt *first[2] = {NULL, NULL};
	int bad = 0;
	for (size_t i = 0; i < s->nchildren; i++)
		if (parse_setting(file, &s->children[i], &ns, first, d) < 0)
			bad = 1;
	if (bad)
		return -EINVAL;
	ns.name = rtn_xstrdup(ns.name);
	ns.file = rtn_xstrdup(file);
	RTN_GROW(rs->namespaces, rs->nnamespaces + 1, rs->nscap);
	rs->namespaces[rs->nnamespaces++] = ns;
	return 0;
}

/* By name, then by load order (namespaces are one array), so the first stays first. */
static int ns_cmp(const void *a, const void *b)
{
	const struct rtn_namespace *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

/* qsort may move equal elements in any order: sort an array of pointers instead. */
static void sort_namespaces(struct rtn_ruleset *rs)
{
	size_t n = rs->nnamespaces;
	if (n < 2)
		return;
	struct rtn_namespace **p = rtn_xcalloc(n, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		p[i] = &rs->namespaces[i];
	/* by name, ties by address (load order) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ns_cmp(p[j - 1], p[j]) > 0; j--) {
			struct rtn_namespace *t = p[j - 1];
			p[j - 1] = p[j];
			p[j] = t;
		}
	struct rtn_namespace *out = rtn_xcalloc(rs->nscap, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = *p[i];
	free(p);
	free(rs->namespaces);
	rs->namespaces = out;
}

const struct rtn_namespace *rtn_ruleset_namespace(const struct rtn_ruleset *rs,
                                                  const char *category)
{
	const char *dot = category ? strchr(category, '.') : NULL;
	if (!dot)
		return NULL;
	size_t len = (size_t)(dot - category);
	size_t lo = 0, hi = rs->nnamespaces;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *nm = rs->namespaces[mid].name;
		int c = strncmp(nm, category, len);
		if (c == 0)
			c = nm[len] ? 1 : 0;
		if (c == 0) {
			/* the first of equal names (the one in force when declared twice) */
			while (mid > 0 && strcmp(rs->namespaces[mid - 1].name, nm) == 0)
				mid--;
			return &rs->namespaces[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The fiscal year's first month for category. */
static int fiscal_start(const struct rtn_ruleset *rs, const char *category)
{
	const struct rtn_namespace *ns = rtn_ruleset_namespace(rs, category);
	if (ns && ns->fiscal_year_start)
		return ns->fiscal_year_start;
	return rs->fiscal_year_start >= 1 && rs->fiscal_year_start <= 12 ? rs->fiscal_year_start
	                                                                 : 1;
}

int rtn_ns_finish(struct rtn_ruleset *rs, struct rtn_diags *d)
{
	int bad = 0;
	sort_namespaces(rs);
	for (size_t i = 1; i < rs->nnamespaces; i++) {
		const struct rtn_namespace *dup = &rs->namespaces[i];
		size_t f = i;
		while (f > 0 && strcmp(rs->namespaces[f - 1].name, dup->name) == 0)
			f--;
		if (f == i)
			continue;
		const struct rtn_namespace *first = &rs->namespaces[f];
		rtn_diag_add(d, RTN_SEV_ERROR, dup->file, dup->line, dup->col,
		             "namespace \"%s\" is declared twice; first at %s:%d:%d", dup->name,
		             first->file, first->line, first->col);
		bad = 1;
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct rtn_rule *r = &rs->rules[i];
		if (r->forever || r->anchor.kind != RTN_ANCHOR_END_OF ||
		    r->anchor.period != RTN_PERIOD_FISCAL_YEAR || !r->ncategories)
			continue;
		int m = fiscal_start(rs, r->categories[0]);
		for (size_t j = 1; j < r->ncategories; j++) {
			int o = fiscal_start(rs, r->categories[j]);
			if (o == m)
				continue;
			rtn_diag_add(
			    d, RTN_SEV_ERROR, r->file, r->line, r->col,
			    "rule \"%s\" is anchored on end-of-fiscal-year, but the fiscal "
			    "years of its categories start in different months (%s: %s, "
			    "%s: %s); write one rule per namespace",
			    r->name, r->categories[0], rtn_month_name(m), r->categories[j],
			    rtn_month_name(o));
			bad = 1;
			break;
		}
		r->anchor.fiscal_start = m;
	}
	return bad ? -EINVAL : 0;
}

void rtn_ns_hash(const struct rtn_ruleset *rs, EVP_MD_CTX *ctx)
{
	for (size_t i = 0; i < rs->nnamespaces; i++) {
		const struct rtn_namespace *ns = &rs->namespaces[i];
		char *span = ns->has_erasure_deadline ? rtn_span_format(&ns->erasure_deadline)
		                                      : rtn_xstrdup("-");
		char *t = rtn_xasprintf(
		    "namespace %s\nerasure-deadline %s\nfiscal-year-start %s\n", ns->name, span,
		    ns->fiscal_year_start ? rtn_month_name(ns->fiscal_year_start) : "-");
		if (!EVP_DigestUpdate(ctx, t, strlen(t)))
			abort(); /* in-memory SHA-256 fails only without memory */
		free(t);
		free(span);
	}
}
