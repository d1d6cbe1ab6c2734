/* promises.c - the traceability tables of doc/promises/, made from rules/
 *
 *   promises RULES_DIR OUT_DIR
 *
 * For every RULES_DIR/NAME.rules, OUT_DIR/NAME.md: one row per rule with the promise
 * it keeps (the "# X1 (...)" comment above it in the file), the notice's words (the
 * translated quote of its basis), the rule as written, a sample record and the date
 * that record gets. The sample record has the rule's first category, every event the
 * rule reads at one fixed time (SAMPLE_AT), every "when" condition true and every
 * "unless" condition unset; it is decided by rtn_decide against the whole rule set, in
 * the organisations' zone, so the dates are the daemon's, not anybody's arithmetic.
 * The file's "Not a rule" comments become a list of promises without a rule.
 * Exit 0, or 1 with a message on stderr.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "diag.h"
#include "rtime.h"
#include "rules.h"
#include "util.h"

#define SAMPLE_AT "2026-11-20T10:00:00+01:00"
#define ZONE      "Europe/Oslo"

static struct rtn_zone *zone;
static struct rtn_ruleset rs;

/* s into f with the characters Markdown tables take specially escaped. */
static void md(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`')
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
}

static const char *when(rtn_time_t t, char *buf)
{
	if (t == RTN_TIME_NONE)
		return "none";
	if (t == RTN_TIME_MAX)
		return "forever";
	if (rtn_time_format(t, buf, RTN_TIME_FMT_LEN) != 0)
		snprintf(buf, RTN_TIME_FMT_LEN, "?");
	return buf;
}

/* Line n (1-based) of text: its start and length, or NULL past the end. */
static const char *line_at(const char *text, int n, size_t *len)
{
	const char *p = text;
	for (int i = 1; i < n && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p || !*p)
		return NULL;
	const char *e = strchr(p, '\n');
	*len = e ? (size_t)(e - p) : strlen(p);
	return p;
}

/* The promise of the rule at line n: the id of the nearest "# X1 (" or "# X1:" comment
 * line above it, as "X1" in id (at most 7 characters), or "?". */
static void promise_of(const char *text, int n, char *id, size_t idlen)
{
	for (int i = n - 1; i >= 1; i--) {
		size_t len;
		const char *l = line_at(text, i, &len);
		size_t k = 2;
		if (!l || len < 4 || l[0] != '#' || l[1] != ' ' || l[2] < 'A' || l[2] > 'Z')
			continue;
		k = 3;
		while (k < len && l[k] >= '0' && l[k] <= '9')
			k++;
		if (k > 3 && k < len && (l[k] == ' ' || l[k] == ':') && k - 2 < idlen) {
			snprintf(id, idlen, "%.*s", (int)(k - 2), l + 2);
			return;
		}
	}
	snprintf(id, idlen, "?");
}

/* The notice's words in a basis: from ", translated: " on, else the whole basis. */
static const char *words_of(const char *basis)
{
	const char *p = basis ? strstr(basis, ", translated: ") : NULL;
	if (!basis)
		return "(no basis)";
	return p ? p + strlen(", translated: ") : basis;
}

/* Decide the sample record of rule r and write its row. */
static void row(FILE *f, const char *text, const struct rtn_rule *r)
{
	struct rtn_event ev[4];
	struct rtn_attr attrs[8];
	struct rtn_record_view v = {.id = "sample",
	                            .category = r->categories[0],
	                            .anonymized_at = RTN_TIME_NONE,
	                            .erasure_at = RTN_TIME_NONE,
	                            .events = ev,
	                            .attrs = attrs};
	rtn_time_t at;
	char id[8], b1[RTN_TIME_FMT_LEN], b2[RTN_TIME_FMT_LEN];

	if (rtn_time_parse(SAMPLE_AT, &at) != 0)
		abort();
	if (!r->forever && r->anchor.event)
		ev[v.nevents++] = (struct rtn_event){.name = r->anchor.event, .at = at};
	for (size_t i = 0; i < r->nconds && v.nattrs < 8 && v.nevents < 4; i++) {
		const struct rtn_cond *c = &r->conds[i];
		if (c->unless)
			continue;
		if (c->kind == RTN_COND_EVENT)
			ev[v.nevents++] = (struct rtn_event){.name = c->name, .at = at};
		else if (c->kind == RTN_COND_TRUE)
			attrs[v.nattrs++] =
			    (struct rtn_attr){.name = c->name, .type = RTN_ATTR_BOOL, .b = true};
		else if (c->kind == RTN_COND_EQ)
			attrs[v.nattrs++] = (struct rtn_attr){
			    .name = c->name, .type = RTN_ATTR_STRING, .s = c->value};
	}

	struct rtn_decision d;
	rtn_decide(&rs, zone, &v, &d);
	const struct rtn_rule_eval *e = NULL;
	for (size_t i = 0; i < d.nevals; i++)
		if (d.evals[i].rule == r)
			e = &d.evals[i];

	promise_of(text, r->line, id, sizeof(id));
	fprintf(f, "| %s | ", id);
	md(f, words_of(r->basis));
	fprintf(f, " | `%s`: ", r->name);
	char *desc = rtn_rule_describe(r);
	md(f, desc);
	free(desc);
	for (size_t i = 0; i < r->nconds; i++) {
		char *c = rtn_cond_describe(&r->conds[i]);
		fputs(", ", f);
		md(f, c);
		free(c);
	}
	if (r->review && !rtn_span_is_zero(&r->review_every)) {
		char *every = rtn_span_format(&r->review_every);
		fprintf(f, ", review every %s", every);
		free(every);
	} else if (r->review) {
		fputs(", review", f);
	}
	fputs(" | ", f);
	md(f, r->categories[0]);
	if (v.nevents)
		for (size_t i = 0; i < v.nevents; i++) {
			fputs(i ? ", " : ": ", f);
			md(f, ev[i].name);
			fprintf(f, " %s", when(ev[i].at, b1));
		}
	else
		fputs(": no events", f);
	fputs(" | ", f);
	if (r->action == RTN_ACT_KEEP)
		fprintf(f, "kept until %s", r->forever ? "forever" : when(e ? e->deadline : 0, b1));
	else
		fprintf(f, "%s %s", rtn_action_name(r->action), when(e ? e->deadline : 0, b1));
	if (d.outcome == RTN_OUT_NONE || d.rule != r) {
		fputs("; the record: ", f);
		if (d.outcome == RTN_OUT_KEEP)
			fprintf(f, "kept by `%s` until %s",
			        d.retained_by ? d.retained_by->name : "?", when(d.keep_until, b2));
		else if (d.outcome == RTN_OUT_NONE)
			fputs("nothing scheduled", f);
		else
			fprintf(f, "%s %s by `%s`",
			        d.outcome == RTN_OUT_DELETE ? "delete" : "anonymize",
			        when(d.at, b2), d.rule ? d.rule->name : "erasure");
	}
	if (d.nsched && d.sched[0].review && d.sched[0].rule == r)
		fputs(" (waits for review)", f);
	fputs(" |\n", f);
	rtn_decision_free(&d);
}

/* The items of the file's "# Not a rule:" / "# Not rules:" comment as a list. */
static void not_rules(FILE *f, const char *text)
{
	const char *p = strstr(text, "\n# Not rule");
	if (!p)
		p = strstr(text, "\n# Not a rule");
	fputs("\n## Promises without a rule\n\n", f);
	if (!p) {
		fputs("None.\n", f);
		return;
	}
	p = strchr(p + 1, '\n');
	bool item = false;
	while (p && p[1] == '#' && p[2] == ' ') {
		const char *l = p + 3, *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		size_t sp = 0;
		while (sp < len && l[sp] == ' ')
			sp++;
		if (sp == 2) {
			fputs(item ? "\n- " : "- ", f);
			item = true;
		} else if (sp > 2 && item) {
			fputc(' ', f);
		} else {
			break;
		}
		char *s = rtn_xasprintf("%.*s", (int)(len - sp), l + sp);
		md(f, s);
		free(s);
		p = e;
	}
	fputs(item ? "\n" : "None.\n", f);
}

/* The file's namespace blocks: the deadline of erasure requests, the accounting year. */
static void namespaces(FILE *f, const char *name)
{
	bool any = false;
	for (size_t i = 0; i < rs.nnamespaces; i++) {
		const struct rtn_namespace *n = &rs.namespaces[i];
		const char *base = strrchr(n->file, '/');
		if (strcmp(base ? base + 1 : n->file, name) != 0)
			continue;
		if (!any)
			fputs("\n## Namespaces\n\n", f);
		any = true;
		fputs("- `", f);
		md(f, n->name);
		fputs(".*`:", f);
		if (n->has_erasure_deadline) {
			char *span = rtn_span_format(&n->erasure_deadline);
			fprintf(f, " erasure requests answered within %s", span);
			free(span);
		}
		if (n->fiscal_year_start >= 1 && n->fiscal_year_start <= 12)
			fprintf(f, "%s the accounting year starts in %s",
			        n->has_erasure_deadline ? ";" : "",
			        rtn_month_name(n->fiscal_year_start));
		fputs("\n", f);
	}
}

static int one_file(const char *dir, const char *name, const char *outdir)
{
	char *path = rtn_xasprintf("%s/%s", dir, name), *text = NULL;
	size_t len = 0, n = strlen(name) - strlen(".rules");
	char *out = rtn_xasprintf("%s/%.*s.md", outdir, (int)n, name);
	FILE *f = NULL;
	int rc = 1;

	if (rtn_read_file(path, 1u << 20, &text, &len) != 0) {
		fprintf(stderr, "promises: cannot read %s\n", path);
		goto out;
	}
	if (!(f = fopen(out, "w"))) {
		fprintf(stderr, "promises: cannot write %s\n", out);
		goto out;
	}
	fprintf(f, "# Promises of rules/%s\n\n", name);
	fprintf(f,
	        "Made by `make promises` from the rule file; `make check` fails if this page "
	        "differs from what the rules give. Each rule's sample record has every event the "
	        "rule reads at %s, every `when` condition true and no `unless` condition; the "
	        "date is what retentiond decides for it (zone %s) against all of rules/.\n\n",
	        SAMPLE_AT, ZONE);
	fputs("| promise | the notice's words (translated) | rule | sample record | date |\n", f);
	fputs("|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < rs.n; i++) {
		const char *base = strrchr(rs.rules[i].file, '/');
		if (strcmp(base ? base + 1 : rs.rules[i].file, name) == 0)
			row(f, text, &rs.rules[i]);
	}
	namespaces(f, name);
	not_rules(f, text);
	rc = 0;
out:
	if (f && fclose(f) != 0)
		rc = 1;
	free(text);
	free(path);
	free(out);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	struct rtn_diags d;
	char *names[64];
	size_t nnames = 0;
	int rc = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: promises RULES_DIR OUT_DIR\n");
		return 2;
	}
	zone = rtn_zone_open(ZONE);
	if (!zone)
		return 1;
	rtn_time_set_format_zone(zone);
	rtn_diags_init(&d);
	rtn_ruleset_init(&rs);
	if (rtn_rules_load_dir(argv[1], &rs, &d) != 0) {
		rtn_diags_print(&d, stderr);
		return 1;
	}
	DIR *dir = opendir(argv[1]);
	if (!dir)
		return 1;
	for (struct dirent *e; (e = readdir(dir)) && nnames < 64;) {
		size_t n = strlen(e->d_name);
		if (n > 6 && e->d_name[0] != '.' && strcmp(e->d_name + n - 6, ".rules") == 0)
			names[nnames++] = rtn_xstrdup(e->d_name);
	}
	closedir(dir);
	qsort(names, nnames, sizeof(*names), by_name);
	for (size_t i = 0; i < nnames; i++) {
		rc |= one_file(argv[1], names[i], argv[2]);
		free(names[i]);
	}
	rtn_ruleset_free(&rs);
	rtn_diags_fini(&d);
	rtn_zone_free(zone);
	return rc;
}
