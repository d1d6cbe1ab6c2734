/* rules_stmt.c - the statements of a rule: its action (span and anchor, the subject's
 * anchors too) and its conditions, parsed and described */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "syntax.h"
#include "util.h"
#include "values.h"

static const char *const period_names[] = {"end-of-day",     "end-of-week", "end-of-month",
                                           "end-of-quarter", "end-of-year", "end-of-fiscal-year"};
#define NPERIODS (sizeof(period_names) / sizeof(period_names[0]))

const char *rtn_action_name(enum rtn_action a)
{
	switch (a) {
	case RTN_ACT_DELETE:
		return "delete";
	case RTN_ACT_ANONYMIZE:
		return "anonymize";
	case RTN_ACT_KEEP:
		return "keep";
	}
	return "?";
}

char *rtn_anchor_describe(const struct rtn_anchor *a)
{
	if (a->kind == RTN_ANCHOR_END_OF)
		return rtn_xasprintf("%s(%s)", period_names[a->period], a->event);
	if (RTN_ANCHOR_IS_SUBJECT(a))
		return rtn_xasprintf("%s(%s) of subject",
		                     a->kind == RTN_ANCHOR_SUBJECT_LATEST ? "latest" : "earliest",
		                     a->event);
	return rtn_xstrdup(a->event);
}

char *rtn_cond_describe(const struct rtn_cond *c)
{
	const char *w = c->unless ? "unless" : "when";
	switch (c->kind) {
	case RTN_COND_TRUE:
		/* the attribute called event is quoted, as "when event" alone is an error */
		return rtn_xasprintf(strcmp(c->name, "event") ? "%s %s" : "%s \"%s\"", w, c->name);
	case RTN_COND_EVENT:
		return rtn_xasprintf("%s event %s", w, c->name);
	default: {
		/* Quote the value only where the syntax needs it, as a person would write it. */
		bool bare = c->value[0] && !strpbrk(c->value, " \t\r\n;{}#\"\\");
		return rtn_xasprintf(bare ? "%s %s %s %s" : "%s %s %s \"%s\"", w, c->name,
		                     c->kind == RTN_COND_EQ ? "=" : "!=", c->value);
	}
	}
}

char *rtn_rule_describe(const struct rtn_rule *r)
{
	if (r->forever)
		return rtn_xstrdup("keep forever");
	char *span = rtn_span_format(&r->span);
	char *anchor = rtn_anchor_describe(&r->anchor);
	char *s = rtn_xasprintf("%s %s after %s", rtn_action_name(r->action), span, anchor);
	free(span);
	free(anchor);
	return s;
}

/* --- parsing ------------------------------------------------------------- */

static int parse_anchor(const char *file, const struct rtn_arg *a, struct rtn_anchor *out,
                        struct rtn_diags *d)
{
	const char *open = strchr(a->text, '(');
	if (!open) {
		if (rtn_val_name(file, a, "event name", d) < 0)
			return -EINVAL;
		out->kind = RTN_ANCHOR_EVENT;
		out->event = rtn_xstrdup(a->text);
		return 0;
	}
	size_t fn = (size_t)(open - a->text);
	size_t len = strlen(a->text);
	int found = -1;
	if (fn == 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected an anchor: an event name or end-of-day, end-of-week, "
		             "end-of-month, end-of-quarter or end-of-year(EVENT), found \"%s\"",
		             a->text);
		return -EINVAL;
	}
	for (int i = 0; i < (int)NPERIODS; i++)
		if (strlen(period_names[i]) == fn && strncmp(a->text, period_names[i], fn) == 0)
			found = i;
	if (found < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "unknown anchor \"%.*s\"; expected end-of-day, end-of-week, "
		             "end-of-month, end-of-quarter, end-of-year or end-of-fiscal-year",
		             (int)fn, a->text);
		return -EINVAL;
	}
	if (len < fn + 3 || a->text[len - 1] != ')') {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected \"%s(EVENT)\", found \"%s\"", period_names[found], a->text);
		return -EINVAL;
	}
	char *ev = rtn_xstrndup(open + 1, len - fn - 2);
	if (!strncmp(ev, "latest(", 7) || !strncmp(ev, "earliest(", 9)) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col + (int)fn + 1,
		             "%s() takes an event name; an anchor of the subject (latest or "
		             "earliest of subject) is a plain anchor only",
		             period_names[found]);
		free(ev);
		return -EINVAL;
	}
	if (!rtn_valid_name(ev)) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col + (int)fn + 1,
		             "invalid event name \"%s\" in %s(); names are lower-case letters, "
		             "digits, '_', '.' and '-', starting with a letter",
		             ev, period_names[found]);
		free(ev);
		return -EINVAL;
	}
	out->kind = RTN_ANCHOR_END_OF;
	out->period = (enum rtn_period)found;
	out->event = ev;
	return 0;
}

/* latest(EVENT) of subject | earliest(EVENT) of subject, from argument i of s (its last
 * three arguments). */
static int parse_subject_anchor(const char *file, const struct rtn_stmt *s, size_t i,
                                struct rtn_anchor *out, struct rtn_diags *d)
{
	const struct rtn_arg *a = &s->args[i];
	bool latest = a->text[0] == 'l';
	const char *fn = latest ? "latest" : "earliest";
	size_t fl = strlen(fn), len = strlen(a->text);
	if (len < fl + 3 || a->text[len - 1] != ')') {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected \"%s(EVENT) of subject\", found \"%s\"", fn, a->text);
		return -EINVAL;
	}
	if (i + 2 >= s->nargs || s->args[i + 1].quoted || strcmp(s->args[i + 1].text, "of") ||
	    s->args[i + 2].quoted || strcmp(s->args[i + 2].text, "subject")) {
		const struct rtn_arg *at = i + 1 < s->nargs ? &s->args[i + 1] : a;
		rtn_diag_add(d, RTN_SEV_ERROR, file, at->line, at->col,
		             "expected \"%s of subject\": %s() is over every record of the "
		             "record's subject",
		             a->text, fn);
		return -EINVAL;
	}
	if (i + 3 < s->nargs) {
		const struct rtn_arg *x = &s->args[i + 3];
		rtn_diag_add(d, RTN_SEV_ERROR, file, x->line, x->col,
		             "unexpected \"%s\" after the anchor", x->text);
		return -EINVAL;
	}
	char *ev = rtn_xstrndup(a->text + fl + 1, len - fl - 2);
	if (!rtn_valid_name(ev)) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col + (int)fl + 1,
		             "invalid event name \"%s\" in %s(); names are lower-case letters, "
		             "digits, '_', '.' and '-', starting with a letter",
		             ev, fn);
		free(ev);
		return -EINVAL;
	}
	out->kind = latest ? RTN_ANCHOR_SUBJECT_LATEST : RTN_ANCHOR_SUBJECT_EARLIEST;
	out->event = ev;
	return 0;
}

/* delete|anonymize|keep SPAN after ANCHOR, or keep forever */
int rtn_rules_parse_action(const char *file, const struct rtn_stmt *s, enum rtn_action act,
                           struct rtn_rule *r, struct rtn_diags *d)
{
	r->action = act;
	if (s->nargs == 1 && !s->args[0].quoted && strcmp(s->args[0].text, "forever") == 0) {
		if (act != RTN_ACT_KEEP) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
			             "\"forever\" only goes with keep; \"%s\" needs SPAN after "
			             "ANCHOR",
			             s->keyword);
			return -EINVAL;
		}
		r->forever = true;
		return 0;
	}
	size_t after = s->nargs;
	for (size_t i = 0; i < s->nargs; i++)
		if (!s->args[i].quoted && strcmp(s->args[i].text, "after") == 0) {
			after = i;
			break;
		}
	if (after == s->nargs) {
		const struct rtn_arg *last = s->nargs ? &s->args[s->nargs - 1] : NULL;
		rtn_diag_add(d, RTN_SEV_ERROR, file, last ? last->line : s->line,
		             last ? last->col : s->col, "expected \"%s SPAN after ANCHOR\"%s",
		             s->keyword, act == RTN_ACT_KEEP ? " or \"keep forever\"" : "");
		return -EINVAL;
	}
	if (rtn_val_span(file, s, s->args, after, &r->span, d) < 0)
		return -EINVAL;
	if (after + 1 >= s->nargs) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[after].line, s->args[after].col,
		             "expected an anchor after \"after\": an event name or "
		             "end-of-day/week/month/quarter/year(EVENT)");
		return -EINVAL;
	}
	const struct rtn_arg *a = &s->args[after + 1];
	if (!a->quoted && (!strncmp(a->text, "latest(", 7) || !strncmp(a->text, "earliest(", 9)))
		return parse_subject_anchor(file, s, after + 1, &r->anchor, d);
	bool nested = strstr(a->text, "(latest(") || strstr(a->text, "(earliest(");
	if (after + 2 < s->nargs && !nested) { /* a nested one: the error says why */
		a = &s->args[after + 2];
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "unexpected \"%s\" after the anchor", a->text);
		return -EINVAL;
	}
	return parse_anchor(file, a, &r->anchor, d);
}

/* when|unless NAME | NAME = VALUE | NAME != VALUE | NAME=VALUE | event NAME */
int rtn_rules_parse_cond(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                         struct rtn_diags *d)
{
	struct rtn_cond c = {.unless = s->keyword[0] == 'u', .line = s->line, .col = s->col};
	const struct rtn_arg *a = s->args;
	char *name = NULL, *value = NULL;

	if (s->nargs == 2 && !a[0].quoted && strcmp(a[0].text, "event") == 0) {
		if (rtn_val_name(file, &a[1], "event name", d) < 0)
			return -EINVAL;
		c.kind = RTN_COND_EVENT;
		name = rtn_xstrdup(a[1].text);
	} else if (s->nargs == 1 && !a[0].quoted && strcmp(a[0].text, "event") == 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a[0].line, a[0].col,
		             "\"%s event\" needs the name of an event: \"%s event NAME\" (an "
		             "attribute called event is written \"%s \\\"event\\\"\")",
		             s->keyword, s->keyword, s->keyword);
		return -EINVAL;
	} else if (s->nargs == 1 && !a[0].quoted && strchr(a[0].text, '=')) {
		const char *eq = strchr(a[0].text, '=');
		int ne = eq > a[0].text && eq[-1] == '!';
		if (!eq[1]) {
			int n = (int)(eq - a[0].text - ne);
			rtn_diag_add(d, RTN_SEV_ERROR, file, a[0].line, a[0].col,
			             "\"%s\" needs a value after \"%s\": \"%s %.*s %s VALUE\" (the "
			             "empty value is written \"%s %.*s %s \\\"\\\"\")",
			             a[0].text, ne ? "!=" : "=", s->keyword, n, a[0].text,
			             ne ? "!=" : "=", s->keyword, n, a[0].text, ne ? "!=" : "=");
			return -EINVAL;
		}
		name = rtn_xstrndup(a[0].text, (size_t)(eq - a[0].text - ne));
		value = rtn_xstrdup(eq + 1);
		c.kind = ne ? RTN_COND_NE : RTN_COND_EQ;
	} else if (s->nargs == 1) {
		if (rtn_val_name(file, &a[0], "attribute name", d) < 0)
			return -EINVAL;
		c.kind = RTN_COND_TRUE;
		name = rtn_xstrdup(a[0].text);
	} else if (s->nargs == 3 && !a[1].quoted &&
	           (strcmp(a[1].text, "=") == 0 || strcmp(a[1].text, "!=") == 0)) {
		if (rtn_val_name(file, &a[0], "attribute name", d) < 0)
			return -EINVAL;
		c.kind = a[1].text[0] == '!' ? RTN_COND_NE : RTN_COND_EQ;
		name = rtn_xstrdup(a[0].text);
		value = rtn_xstrdup(a[2].text);
	} else {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "expected \"%s NAME\", \"%s NAME = VALUE\", \"%s NAME != VALUE\" or "
		             "\"%s event NAME\"",
		             s->keyword, s->keyword, s->keyword, s->keyword);
		return -EINVAL;
	}
	if (c.kind == RTN_COND_EQ || c.kind == RTN_COND_NE) {
		if (!rtn_valid_name(name)) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a[0].line, a[0].col,
			             "invalid attribute name \"%s\"; names are lower-case letters, "
			             "digits, '_', '.' and '-', starting with a letter",
			             name);
			free(name);
			free(value);
			return -EINVAL;
		}
	}
	c.name = name;
	c.value = value;
	r->conds = rtn_xreallocarray(r->conds, r->nconds + 1, sizeof(*r->conds));
	r->conds[r->nconds++] = c;
	return 0;
}

/* Where a rule's clauses were first given, for "given twice" and "needs" messages. */
