/* rules.c - rule files -> validated rule set, category index, hashes, lint */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "syntax.h"
#include "util.h"
#include "values.h"

struct rtn_category_index {
	char *category;
	const struct rtn_rule **rules;
	size_t n;
};

void rtn_ruleset_init(struct rtn_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->fiscal_year_start = 1;
}

static void rule_free(struct rtn_rule *r)
{
	free(r->name);
	free(r->file);
	for (size_t i = 0; i < r->ncategories; i++)
		free(r->categories[i]);
	free(r->categories);
	free(r->anchor.event);
	for (size_t i = 0; i < r->nconds; i++) {
		free(r->conds[i].name);
		free(r->conds[i].value);
	}
	free(r->conds);
	free(r->backend);
	free(r->basis);
	for (size_t i = 0; i < r->nreview_groups; i++)
		free(r->review_groups[i]);
	free(r->review_groups);
	free(r->review_gids);
	free(r->notify_backend);
	memset(r, 0, sizeof(*r));
}

static void index_free(struct rtn_ruleset *rs)
{
	for (size_t i = 0; i < rs->nindex; i++) {
		free(rs->index[i].category);
		free(rs->index[i].rules);
	}
	free(rs->index);
	rs->index = NULL;
	rs->nindex = 0;
}

void rtn_ruleset_free(struct rtn_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	index_free(rs);
	rtn_ns_free(rs);
	memset(rs, 0, sizeof(*rs));
}

void rtn_ruleset_move(struct rtn_ruleset *dst, struct rtn_ruleset *src)
{
	rtn_ruleset_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

struct clauses {
	const struct rtn_stmt *action, *backend, *basis, *review;
	bool cat_bad; /* a category clause was wrong: reported, not also called missing */
};

/* A clause given at most once: 0 (and *first = s) the first time, else reported. */
static int given_once(const char *file, const struct rtn_stmt *s, const struct rtn_stmt **first,
                      struct rtn_diags *d)
{
	if (*first) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"%s\" is given twice (first at %d:%d)", s->keyword, (*first)->line,
		             (*first)->col);
		return -EINVAL;
	}
	*first = s;
	return 0;
}

/* category NAME... : each valid name is added, a wrong one reported. */
static int parse_categories(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                            struct rtn_diags *d)
{
	if (rtn_val_nargs(file, s, 1, 0, d) < 0)
		return -EINVAL;
	int bad = 0;
	for (size_t j = 0; j < s->nargs; j++) {
		if (rtn_val_name(file, &s->args[j], "category", d) < 0) {
			bad = 1;
			continue;
		}
		r->categories =
		    rtn_xreallocarray(r->categories, r->ncategories + 1, sizeof(char *));
		r->categories[r->ncategories++] = rtn_xstrdup(s->args[j].text);
	}
	return bad ? -EINVAL : 0;
}

/* The one delete, anonymize or keep clause of a rule. */
static int parse_action_clause(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                               struct clauses *cl, struct rtn_diags *d)
{
	if (cl->action) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "rule \"%s\" has more than one of delete, anonymize and "
		             "keep (the first is at %d:%d); write one rule per action",
		             r->name, cl->action->line, cl->action->col);
		return -EINVAL;
	}
	cl->action = s;
	const char *k = s->keyword;
	enum rtn_action act = k[0] == 'd'   ? RTN_ACT_DELETE
	                      : k[0] == 'a' ? RTN_ACT_ANONYMIZE
	                                    : RTN_ACT_KEEP;
	return rtn_rules_parse_action(file, s, act, r, d);
}

/* backend NAME */
static int parse_backend(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                         struct clauses *cl, struct rtn_diags *d)
{
	if (given_once(file, s, &cl->backend, d) < 0 || rtn_val_nargs(file, s, 1, 1, d) < 0 ||
	    rtn_val_name(file, &s->args[0], "backend name", d) < 0)
		return -EINVAL;
	r->backend = rtn_xstrdup(s->args[0].text);
	return 0;
}

/* Is argument a the unquoted word w? */
static bool is_word(const struct rtn_arg *a, const char *w)
{
	return !a->quoted && strcmp(a->text, w) == 0;
}

/* The group of one stage of "review by": a name, resolved now to its id (the rules mean
 * the group as it is when they are read; a reload reads it again). */
static int parse_review_group(const char *file, const struct rtn_arg *a, struct rtn_rule *r,
                              struct rtn_diags *d)
{
	if (rtn_val_name(file, a, "group name", d) < 0)
		return -EINVAL;
	if (r->nreview_groups >= RTN_REVIEW_STAGES_MAX) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "\"review by\" names at most %d groups", RTN_REVIEW_STAGES_MAX);
		return -EINVAL;
	}
	struct group gr, *found = NULL;
	char buf[16384];
	int e = getgrnam_r(a->text, &gr, buf, sizeof(buf), &found);
	if (!found) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "\"review by\": no group \"%s\" on this host%s%s", a->text,
		             e ? ": " : "", e ? strerror(e) : "");
		return -EINVAL;
	}
	r->review_groups =
	    rtn_xreallocarray(r->review_groups, r->nreview_groups + 1, sizeof(char *));
	r->review_gids = rtn_xreallocarray(r->review_gids, r->nreview_groups + 1, sizeof(gid_t));
	r->review_groups[r->nreview_groups] = rtn_xstrdup(a->text);
	r->review_gids[r->nreview_groups++] = found->gr_gid;
	return 0;
}

/* review, review by GROUP..., review every SPAN, or both (in either order): stages in
 * order, each approved by a member of its group; a rejected action comes back for review
 * one SPAN after the rejection. */
static int parse_review(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                        struct clauses *cl, struct rtn_diags *d)
{
	const struct rtn_stmt *first = cl->review;
	if (given_once(file, s, &first, d) < 0)
		return -EINVAL;
	bool by = false, every = false;
	size_t i = 0;
	while (i < s->nargs) {
		const struct rtn_arg *a = &s->args[i];
		bool is_by = !by && is_word(a, "by"), is_every = !every && is_word(a, "every");
		if (!is_by && !is_every) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, file, a->line, a->col,
			    "\"review\" takes no arguments, or \"by GROUP...\" and \"every "
			    "SPAN\" (such as \"review every 1 year\" or \"review by dpo "
			    "legal\"); found \"%s\"",
			    a->text);
			return -EINVAL;
		}
		/* its words run to the next keyword or the end */
		size_t j = i + 1;
		while (j < s->nargs && !is_word(&s->args[j], "every") &&
		       !is_word(&s->args[j], "by"))
			j++;
		if (is_by) {
			by = true;
			if (j == i + 1) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
				             "\"review by\" needs one or more group names, such as "
				             "\"review by dpo legal\"");
				return -EINVAL;
			}
			int bad = 0;
			for (size_t k = i + 1; k < j; k++)
				if (parse_review_group(file, &s->args[k], r, d) < 0)
					bad = 1;
			if (bad)
				return -EINVAL;
		} else {
			every = true;
			struct rtn_stmt ev = *s;
			ev.keyword = (char *)"review every";
			if (rtn_val_span(file, &ev, s->args + i + 1, j - i - 1, &r->review_every,
			                 d) < 0)
				return -EINVAL;
			if (rtn_span_is_zero(&r->review_every)) {
				rtn_diag_add(
				    d, RTN_SEV_ERROR, file, s->args[i + 1].line, s->args[i + 1].col,
				    "\"review every\" needs a span longer than nothing, such "
				    "as \"1 year\"");
				return -EINVAL;
			}
		}
		i = j;
	}
	cl->review = s;
	r->review = true;
	return 0;
}

/* basis TEXT */
static int parse_basis(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                       struct clauses *cl, struct rtn_diags *d)
{
	if (given_once(file, s, &cl->basis, d) < 0 || rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	if (!s->args[0].text[0]) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		             "\"basis\" is empty");
		return -EINVAL;
	}
	r->basis = rtn_xstrdup(s->args[0].text);
	return 0;
}

/* One statement of a rule's block. */
static int parse_clause(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                        struct clauses *cl, struct rtn_diags *d)
{
	static const char *const known[] = {"category", "delete",  "anonymize", "keep",  "when",
	                                    "unless",   "backend", "review",    "basis", NULL};
	const char *k = s->keyword;
	int nr;
	if (rtn_rules_notify_clause(file, s, r, d, &nr))
		return nr;
	size_t ki;
	for (ki = 0; known[ki] && strcmp(known[ki], k); ki++)
		;
	if (known[ki] && rtn_val_noblock(file, s, d) < 0) {
		if (ki >= 1 && ki <= 3 && !cl->action)
			cl->action = s; /* reported; do not also call it missing */
		if (ki == 0)
			cl->cat_bad = true;
		return -EINVAL;
	}
	switch (ki) {
	case 0:
		if (parse_categories(file, s, r, d) < 0) {
			cl->cat_bad = true;
			return -EINVAL;
		}
		return 0;
	case 1:
	case 2:
	case 3:
		return parse_action_clause(file, s, r, cl, d);
	case 4:
	case 5:
		return rtn_rules_parse_cond(file, s, r, d);
	case 6:
		return parse_backend(file, s, r, cl, d);
	case 7:
		return parse_review(file, s, r, cl, d);
	case 8:
		return parse_basis(file, s, r, cl, d);
	default:
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "unknown statement \"%s\" in rule \"%s\"; expected category, "
		             "delete, anonymize, keep, when, unless, backend, review or basis",
		             k, r->name);
		return -EINVAL;
	}
}

/* What a rule needs as a whole: a category, an action, and no review or backend when it
 * keeps. */
static int check_rule(const char *file, const struct rtn_stmt *blk, const struct rtn_rule *r,
                      const struct clauses *cl, struct rtn_diags *d)
{
	int bad = 0;
	int eline = blk->end_line ? blk->end_line : blk->line;
	int ecol = blk->end_line ? blk->end_col : blk->col;
	if (!r->ncategories && !cl->cat_bad) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, eline, ecol,
		             "rule \"%s\" needs a category: \"category NAME\"", r->name);
		bad = 1;
	}
	if (!cl->action) {
		rtn_diag_add(
		    d, RTN_SEV_ERROR, file, eline, ecol,
		    "rule \"%s\" needs one of \"delete SPAN after ANCHOR\", \"anonymize SPAN "
		    "after ANCHOR\", \"keep SPAN after ANCHOR\" or \"keep forever\"",
		    r->name);
		bad = 1;
	}
	bool keeps = cl->action && r->action == RTN_ACT_KEEP;
	if (keeps && cl->review) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, cl->review->line, cl->review->col,
		             "\"review\" only goes with delete or anonymize; rule \"%s\" keeps",
		             r->name);
		bad = 1;
	}
	if (keeps && cl->backend) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, cl->backend->line, cl->backend->col,
		             "\"backend\" only goes with delete or anonymize; rule \"%s\" keeps",
		             r->name);
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

static int parse_rule(const char *file, const struct rtn_stmt *blk, struct rtn_rule *r,
                      struct rtn_diags *d)
{
	struct clauses cl = {0};
	int bad = 0;
	r->file = rtn_xstrdup(file);
	r->line = blk->line;
	r->col = blk->col;
	r->name = rtn_xstrdup(blk->args[0].text);
	for (size_t i = 0; i < blk->nchildren; i++)
		if (parse_clause(file, &blk->children[i], r, &cl, d) < 0)
			bad = 1;
	if (check_rule(file, blk, r, &cl, d) < 0)
		bad = 1;
	if (rtn_rules_notify_check(file, r, cl.action != NULL, d) < 0)
		bad = 1;
	return bad ? -EINVAL : 0;
}

int rtn_rules_parse(const char *file, const char *text, size_t len, struct rtn_ruleset *rs,
                    struct rtn_diags *d)
{
	struct rtn_syntax syn;
	int bad = rtn_syntax_parse(file, text, len, &syn, d) < 0;

	for (size_t i = 0; i < syn.nstmts; i++) {
		const struct rtn_stmt *s = &syn.stmts[i];
		if (strcmp(s->keyword, "namespace") == 0) {
			if (rtn_ns_parse(file, s, rs, d) < 0)
				bad = 1;
			continue;
		}
		if (strcmp(s->keyword, "rule") != 0) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, file, s->line, s->col,
			    "unknown statement \"%s\"; a rule file holds \"rule NAME { ... "
			    "}\" and \"namespace NAME { ... }\" blocks",
			    s->keyword);
			bad = 1;
			continue;
		}
		if (!s->block) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "\"rule\" needs a block: rule NAME { ... }");
			bad = 1;
			continue;
		}
		if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
		    rtn_val_name(file, &s->args[0], "rule name", d) < 0) {
			bad = 1;
			continue;
		}
		struct rtn_rule r = {0};
		if (parse_rule(file, s, &r, d) < 0) {
			rule_free(&r);
			bad = 1;
			continue;
		}
		RTN_GROW(rs->rules, rs->n + 1, rs->cap);
		rs->rules[rs->n++] = r;
	}
	rtn_syntax_free(&syn);
	return bad ? -EINVAL : 0;
}

static int rules_file_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 6 && strcmp(e->d_name + n - 6, ".rules") == 0;
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int rtn_rules_load_dir(const char *dir, struct rtn_ruleset *rs, struct rtn_diags *d)
{
	struct dirent **names;
	int n = scandir(dir, &names, rules_file_filter, name_order);
	if (n < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, dir, 0, 0, "cannot read rules directory: %s",
		             strerror(errno));
		return -EINVAL;
	}
	int bad = 0;
	if (n == 0)
		rtn_diag_add(d, RTN_SEV_WARNING, dir, 0, 0,
		             "no *.rules files: every category is unmanaged");
	for (int i = 0; i < n; i++) {
		char *path = rtn_xasprintf("%s/%s", dir, names[i]->d_name);
		char *buf;
		size_t len;
		int r = rtn_read_file(path, RTN_SYNTAX_MAX_FILE, &buf, &len);
		if (r < 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, path, 0, 0, "cannot read: %s",
			             r == -EINVAL ? "not a regular file" : strerror(-r));
			bad = 1;
		} else {
			if (rtn_rules_parse(path, buf, len, rs, d) < 0)
				bad = 1;
			free(buf);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	if (rtn_ruleset_finish(rs, d) < 0)
		bad = 1;
	return bad ? -EINVAL : 0;
}

/* --- finishing: names, hashes, index --------------------------------------- */

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, rtn_sha256(), NULL) || mdlen != 32)
		abort(); /* libcrypto cannot fail on in-memory SHA-256 */
	rtn_hex(md, 32, out);
}

char *rtn_rule_canonical(const struct rtn_rule *r)
{
	char *s = rtn_xasprintf("rule %s\n", r->name), *t;
	for (size_t i = 0; i < r->ncategories; i++) {
		t = rtn_xasprintf("%scategory %s\n", s, r->categories[i]);
		free(s);
		s = t;
	}
	char *desc = rtn_rule_describe(r);
	t = rtn_xasprintf("%s%s\n", s, desc);
	free(desc);
	free(s);
	s = t;
	if (!r->forever && r->anchor.kind == RTN_ANCHOR_END_OF &&
	    r->anchor.period == RTN_PERIOD_FISCAL_YEAR) {
		/* what the anchor means depends on the namespace's (or the config's) month */
		t = rtn_xasprintf("%sfiscal-year-start %s\n", s,
		                  rtn_month_name(r->anchor.fiscal_start));
		free(s);
		s = t;
	}
	for (size_t i = 0; i < r->nconds; i++) {
		const struct rtn_cond *c = &r->conds[i];
		const char *w = c->unless ? "unless" : "when";
		switch (c->kind) {
		case RTN_COND_TRUE:
			t = rtn_xasprintf("%s%s %s\n", s, w, c->name);
			break;
		case RTN_COND_EVENT:
			t = rtn_xasprintf("%s%s event %s\n", s, w, c->name);
			break;
		default:
			t = rtn_xasprintf("%s%s %s %s %zu:%s\n", s, w, c->name,
			                  c->kind == RTN_COND_EQ ? "=" : "!=", strlen(c->value),
			                  c->value);
		}
		free(s);
		s = t;
	}
	/* "review every SPAN" only when given: the text (and hash) of every other rule stays */
	char *every = rtn_span_is_zero(&r->review_every) ? NULL : rtn_span_format(&r->review_every);
	char review[32];
	snprintf(review, sizeof(review), "%d", r->review);
	/* "review by GROUP..." likewise: its stages in order, then the span as above */
	char *by = rtn_xstrdup("");
	for (size_t i = 0; i < r->nreview_groups; i++) {
		char *b = rtn_xasprintf("%s%s %s", by, i ? "" : "by", r->review_groups[i]);
		free(by);
		by = b;
	}
	if (by[0] && every) {
		char *b = rtn_xasprintf("%s every %s", by, every);
		free(by);
		by = b;
	}
	t = rtn_xasprintf("%sbackend %s\nreview %s%s\nbasis %zu:%s\n", s,
	                  r->backend ? r->backend : "-",
	                  by[0]   ? by
	                  : every ? "every "
	                          : review,
	                  by[0]   ? ""
	                  : every ? every
	                          : "",
	                  r->basis ? strlen(r->basis) : 0, r->basis ? r->basis : "");
	free(by);
	free(every);
	free(s);
	/* the notify clauses only when given: every other rule's text (and hash) stays */
	char *notify = rtn_rules_notify_canonical(r);
	if (*notify) {
		s = t;
		t = rtn_xasprintf("%s%s", s, notify);
		free(s);
	}
	free(notify);
	return t;
}

static int index_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rtn_category_index *)a)->category,
	              ((const struct rtn_category_index *)b)->category);
}

/* By name, then by load order (rules are one array), so duplicates sort stably. */
static int rule_ptr_name_cmp(const void *a, const void *b)
{
	const struct rtn_rule *x = *(const struct rtn_rule *const *)a,
	                      *y = *(const struct rtn_rule *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

struct pair {
	const char *category;
	const struct rtn_rule *rule;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->category, y->category);
	return c ? c : (x->rule > y->rule) - (x->rule < y->rule);
}

int rtn_ruleset_finish(struct rtn_ruleset *rs, struct rtn_diags *d)
{
	int bad = 0;
	size_t index_cap = 0;
	index_free(rs);

	/* Duplicate names: later definitions are errors. */
	const struct rtn_rule **sorted = rtn_xcalloc(rs->n, sizeof(*sorted));
	for (size_t i = 0; i < rs->n; i++)
		sorted[i] = &rs->rules[i];
	if (rs->n)
		qsort(sorted, rs->n, sizeof(*sorted), rule_ptr_name_cmp);
	for (size_t i = 1, first_i = 0; i < rs->n; i++) {
		if (strcmp(sorted[first_i]->name, sorted[i]->name) != 0) {
			first_i = i;
			continue;
		}
		const struct rtn_rule *first = sorted[first_i], *dup = sorted[i];
		rtn_diag_add(d, RTN_SEV_ERROR, dup->file, dup->line, dup->col,
		             "duplicate rule \"%s\"; first defined at %s:%d:%d", dup->name,
		             first->file, first->line, first->col);
		bad = 1;
	}
	if (rtn_ns_finish(rs, d) < 0)
		bad = 1;

	/* Hashes: each rule's canonical form; the set over rules in name order (SHA-256 of
	 * every rule's hash and "\n", fed as it goes). */
	for (size_t i = 0; i < rs->n; i++) {
		char *c = rtn_rule_canonical(&rs->rules[i]);
		sha256_hex(c, strlen(c), rs->rules[i].hash);
		free(c);
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!ctx || !EVP_DigestInit_ex(ctx, rtn_sha256(), NULL))
		abort(); /* in-memory SHA-256 fails only without memory: nothing to mend */
	for (size_t i = 0; i < rs->n; i++)
		if (!EVP_DigestUpdate(ctx, sorted[i]->hash, 64) || !EVP_DigestUpdate(ctx, "\n", 1))
			abort();
	rtn_ns_hash(rs, ctx); /* nothing when there are none: the hash of rules alone */
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		abort();
	EVP_MD_CTX_free(ctx);
	rtn_hex(md, 32, rs->hash);
	free(sorted);

	/* Category index: category -> rules in load order, from every (category, rule) pair
	 * sorted by category, then load order. */
	size_t npairs = 0;
	for (size_t i = 0; i < rs->n; i++)
		npairs += rs->rules[i].ncategories;
	struct pair *pairs = rtn_xcalloc(npairs ? npairs : 1, sizeof(*pairs));
	npairs = 0;
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = 0; j < rs->rules[i].ncategories; j++)
			pairs[npairs++] = (struct pair){rs->rules[i].categories[j], &rs->rules[i]};
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), pair_cmp);
	for (size_t i = 0; i < npairs;) {
		size_t end = i + 1;
		while (end < npairs && strcmp(pairs[end].category, pairs[i].category) == 0)
			end++;
		RTN_GROW(rs->index, rs->nindex + 1, index_cap);
		struct rtn_category_index *e = &rs->index[rs->nindex++];
		e->category = rtn_xstrdup(pairs[i].category);
		e->rules = rtn_xcalloc(end - i, sizeof(*e->rules));
		e->n = 0;
		/* once each, though a rule may name the category twice */
		for (size_t k = i; k < end; k++)
			if (!e->n || e->rules[e->n - 1] != pairs[k].rule)
				e->rules[e->n++] = pairs[k].rule;
		i = end;
	}
	free(pairs);
	return bad ? -EINVAL : 0;
}

const struct rtn_rule *const *rtn_ruleset_for_category(const struct rtn_ruleset *rs,
                                                       const char *category, size_t *n)
{
	struct rtn_category_index key = {.category = (char *)category};
	const struct rtn_category_index *e =
	    rs->nindex ? bsearch(&key, rs->index, rs->nindex, sizeof(key), index_cmp) : NULL;
	*n = e ? e->n : 0;
	return e ? (const struct rtn_rule *const *)e->rules : NULL;
}

bool rtn_ruleset_category_subject(const struct rtn_ruleset *rs, const char *category)
{
	size_t n;
	const struct rtn_rule *const *v = rtn_ruleset_for_category(rs, category, &n);
	for (size_t i = 0; i < n; i++)
		if (!v[i]->forever && RTN_ANCHOR_IS_SUBJECT(&v[i]->anchor))
			return true;
	return false;
}

bool rtn_ruleset_any_subject(const struct rtn_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!rs->rules[i].forever && RTN_ANCHOR_IS_SUBJECT(&rs->rules[i].anchor))
			return true;
	return false;
}

const char *rtn_ruleset_category(const struct rtn_ruleset *rs, size_t i)
{
	return i < rs->nindex ? rs->index[i].category : NULL;
}

const struct rtn_rule *rtn_ruleset_find(const struct rtn_ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

bool rtn_ruleset_any_notify(const struct rtn_ruleset *rs)
{
	for (size_t i = 0; rs && i < rs->n; i++)
		if (rs->rules[i].notify)
			return true;
	return false;
}
