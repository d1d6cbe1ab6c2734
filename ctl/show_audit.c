/* show_audit.c - printers for the rule set and the audit log */
#include "show.h"

#include <stdlib.h>
#include <string.h>

#include "print.h"
#include "util.h"

static const char *member(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static char *number(const json_t *v, char *buf)
{
	return ctl_fmt_count(json_integer_value(v), buf);
}

/* Each problem as its FILE:LINE:COL: message line, coloured by severity; file, if not NULL,
 * names the text that was checked. */
static void problems(const json_t *ps, const char *file, FILE *f)
{
	size_t i;
	json_t *p;
	json_array_foreach(ps, i, p)
	{
		const char *sev = member(p, "severity"), *text = member(p, "text"),
		           *msg = member(p, "message");
		char *s;
		if (text && !(file && msg))
			s = rtn_xstrdup(text);
		else
			s = rtn_xasprintf(
			    "%s:%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT ": %s",
			    file                ? file
			    : member(p, "file") ? member(p, "file")
			                        : "?",
			    json_integer_value(json_object_get(p, "line")),
			    json_integer_value(json_object_get(p, "col")), msg ? msg : "?");
		char *c = ctl_sanitize(s, strlen(s));
		bool warning = sev && !strcmp(sev, "warning");
		fprintf(f, "%s%s%s%s\n", ctl_err_color(warning), c, warning ? " (warning)" : "",
		        ctl_reset());
		free(c);
		free(s);
	}
}

int ctl_show_rules(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"count", "hash", "rules", NULL};
	char b[CTL_COUNT_LEN];
	(void)o;
	const char *hash = member(r, "hash");
	json_t *rules = json_object_get(r, "rules");
	printf("%s rules%s%s\n", number(json_object_get(r, "count"), b), hash ? ", hash " : "",
	       hash ? hash : "");
	if (json_array_size(rules)) {
		static const char *const hdr[] = {"RULE",       "CATEGORIES", "STATEMENT",
		                                  "CONDITIONS", "BACKEND",    "REVIEW",
		                                  "SOURCE",     "HASH",       "BASIS"};
		struct ctl_table *t = ctl_table_new(9, hdr);
		size_t i;
		json_t *e;
		json_array_foreach(rules, i, e)
		{
			ctl_table_row(t);
			ctl_table_value(t, json_object_get(e, "rule"), 0);
			ctl_table_value(t, json_object_get(e, "categories"), 0);
			ctl_table_value(t, json_object_get(e, "statement"), 0);
			ctl_table_value(t, json_object_get(e, "conditions"), 0);
			ctl_table_value(t, json_object_get(e, "backend"), 0);
			ctl_table_value(t, json_object_get(e, "review"), 0);
			const char *file = member(e, "file");
			json_t *line = json_object_get(e, "line");
			if (file && json_is_integer(line))
				ctl_table_cellf(t, "%s:%" JSON_INTEGER_FORMAT, file,
				                json_integer_value(line));
			else
				ctl_table_cell(t, file, NULL);
			const char *h = member(e, "hash");
			ctl_table_cellf(t, "%.12s", h ? h : "");
			ctl_table_value(t, json_object_get(e, "basis"), 0);
		}
		ctl_table_print(t, stdout, 0);
		ctl_table_free(t);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_check(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"valid", "problems", "unmanaged", NULL};
	(void)o;
	json_t *ps = json_object_get(r, "problems"), *um = json_object_get(r, "unmanaged");
	problems(ps, o->file, stdout);
	size_t i, errors = 0, warnings = 0;
	json_t *p;
	json_array_foreach(ps, i, p)
	{
		const char *sev = member(p, "severity");
		if (sev && !strcmp(sev, "warning"))
			warnings++;
		else
			errors++;
	}
	static const struct ctl_col cols[] = {
	    {"category", "CATEGORY", 0}, {"records", "RECORDS", CTL_COUNT}, {NULL, NULL, 0}};
	if (json_array_size(um)) {
		printf("unmanaged categories (no rule names them):\n");
		ctl_print_array(stdout, um, cols, NULL, 2);
	}
	bool valid = !json_is_false(json_object_get(r, "valid"));
	printf("rules %s%s%s: %zu error%s, %zu warning%s\n",
	       ctl_state_color(valid ? "valid" : "invalid"), valid ? "valid" : "invalid",
	       ctl_reset(), errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
	ctl_print_rest(stdout, r, known);
	return valid ? 0 : 1;
}

int ctl_show_reload(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"count",       "hash",     "changed",
	                                    "rescheduled", "problems", NULL};
	char a[CTL_COUNT_LEN], b[CTL_COUNT_LEN];
	(void)o;
	const char *hash = member(r, "hash");
	json_int_t nr = json_integer_value(json_object_get(r, "count")),
	           nd = json_integer_value(json_object_get(r, "rescheduled"));
	printf("loaded %s rule%s%s%s: %s, %s record%s rescheduled\n",
	       number(json_object_get(r, "count"), a), nr == 1 ? "" : "s", hash ? ", hash " : "",
	       hash ? hash : "",
	       json_is_true(json_object_get(r, "changed")) ? "changed" : "unchanged",
	       number(json_object_get(r, "rescheduled"), b), nd == 1 ? "" : "s");
	problems(json_object_get(r, "problems"), NULL, stdout);
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_audit(const json_t *r, const struct ctl_show_opts *o)
{
	static const struct ctl_col cols[] = {
	    {"seq", "SEQ", CTL_RIGHT}, {"time", "TIME", 0},     {"type", "TYPE", 0},
	    {"actor", "ACTOR", 0},     {"record", "RECORD", 0}, {"category", "CATEGORY", 0},
	    {"rule", "RULE", 0},       {"job", "JOB", 0},       {"detail", "DETAIL", 0},
	    {NULL, NULL, 0},
	};
	static const char *const skip[] = {"prev", "hash", "basis", NULL};
	static const struct ctl_col csv_cols[] = {
	    {"seq", NULL, 0},    {"time", NULL, 0},     {"type", NULL, 0}, {"actor", NULL, 0},
	    {"record", NULL, 0}, {"category", NULL, 0}, {"rule", NULL, 0}, {"job", NULL, 0},
	    {"basis", NULL, 0},  {"detail", NULL, 0},   {"prev", NULL, 0}, {"hash", NULL, 0},
	    {NULL, NULL, 0},
	};
	if (o && o->format && !strcmp(o->format, "csv")) {
		ctl_csv_rows(stdout, json_object_get(r, "entries"), csv_cols);
		return 0;
	}
	return ctl_print_list(stdout, r, "entries", cols, skip, "no audit entries");
}

int ctl_show_verify(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"valid", "entries", "head", "first_bad", NULL};
	char b[CTL_COUNT_LEN];
	(void)o;
	bool valid = json_is_true(json_object_get(r, "valid"));
	const char *head = member(r, "head");
	printf("audit log %s%s%s: %s entries%s%s\n", ctl_state_color(valid ? "valid" : "invalid"),
	       valid ? "valid" : "NOT valid", ctl_reset(), number(json_object_get(r, "entries"), b),
	       head && valid ? ", head " : "", head && valid ? head : "");
	json_t *bad = json_object_get(r, "first_bad");
	if (json_is_object(bad)) {
		const char *file = member(bad, "file"), *why = member(bad, "reason");
		json_t *seq = json_object_get(bad, "seq");
		char *where =
		    json_is_integer(seq)
		        ? rtn_xasprintf(" (seq %" JSON_INTEGER_FORMAT ")", json_integer_value(seq))
		        : rtn_xstrdup("");
		char *s = rtn_xasprintf(
		    "first bad entry: %s:%" JSON_INTEGER_FORMAT "%s: %s", file ? file : "?",
		    json_integer_value(json_object_get(bad, "line")), where, why ? why : "?");
		char *c = ctl_sanitize(s, strlen(s));
		printf("%s%s%s\n", ctl_err_color(false), c, ctl_reset());
		free(c);
		free(s);
		free(where);
	}
	ctl_print_rest(stdout, r, known);
	return valid ? 0 : 1;
}

/* The files read, one a line (a check or verification over a rotated log). */
static void files(const json_t *r)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(r, "files"), i, f)
	{
		const char *s = json_string_value(f);
		char *c = ctl_sanitize(s ? s : "?", strlen(s ? s : "?"));
		printf("  file %s\n", c);
		free(c);
	}
}

int ctl_show_audit_check(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {
	    "since",   "until",        "files",    "entries",   "actions",  "undated",
	    "early",   "late_max",     "late_p99", "open",      "lost",     "missed",
	    "waiting", "unverifiable", "valid",    "first_bad", "problems", "problems_left_off",
	    "ok",      "last_seq",     "head",     NULL};
	char a[CTL_COUNT_LEN], b[CTL_COUNT_LEN], c[CTL_COUNT_LEN], d[CTL_COUNT_LEN];
	(void)o;
	bool ok = json_is_true(json_object_get(r, "ok"));
	const char *since = member(r, "since"), *until = member(r, "until");
	printf("audit check %s%s%s: %s entries from %s to %s\n",
	       ctl_state_color(ok ? "valid" : "invalid"), ok ? "ok" : "FAILED", ctl_reset(),
	       number(json_object_get(r, "entries"), a), since ? since : "the beginning",
	       until ? until : "now");
	files(r);
	printf("  actions %s (undated %s), early %s\n", number(json_object_get(r, "actions"), a),
	       number(json_object_get(r, "undated"), b), number(json_object_get(r, "early"), c));
	printf("  late max %s s, p99 %s s\n", number(json_object_get(r, "late_max"), a),
	       number(json_object_get(r, "late_p99"), b));
	printf("  open %s, lost %s, missed %s", number(json_object_get(r, "open"), a),
	       number(json_object_get(r, "lost"), b), number(json_object_get(r, "missed"), c));
	printf(" (waiting on a person %s, unverifiable %s)\n",
	       number(json_object_get(r, "waiting"), d),
	       number(json_object_get(r, "unverifiable"), a));
	if (json_is_false(json_object_get(r, "valid"))) {
		json_t *bad = json_object_get(r, "first_bad");
		char *s = rtn_xasprintf("the chain is broken at %s:%" JSON_INTEGER_FORMAT ": %s",
		                        member(bad, "file") ? member(bad, "file") : "?",
		                        json_integer_value(json_object_get(bad, "line")),
		                        member(bad, "reason") ? member(bad, "reason") : "?");
		char *t = ctl_sanitize(s, strlen(s));
		printf("%s%s%s\n", ctl_err_color(false), t, ctl_reset());
		free(t);
		free(s);
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(r, "problems"), i, p)
	{
		const char *job = member(p, "job"), *rec = member(p, "record");
		char *s =
		    rtn_xasprintf("%s seq %" JSON_INTEGER_FORMAT "%s%s%s%s: %s",
		                  member(p, "kind") ? member(p, "kind") : "?",
		                  json_integer_value(json_object_get(p, "seq")), job ? " job " : "",
		                  job ? job : "", rec ? " record " : "", rec ? rec : "",
		                  member(p, "message") ? member(p, "message") : "");
		char *t = ctl_sanitize(s, strlen(s));
		printf("%s%s%s\n", ctl_err_color(false), t, ctl_reset());
		free(t);
		free(s);
	}
	json_int_t left = json_integer_value(json_object_get(r, "problems_left_off"));
	if (left)
		printf("(%s more problems not listed)\n",
		       number(json_object_get(r, "problems_left_off"), a));
	ctl_print_rest(stdout, r, known);
	return ok ? 0 : 1;
}
