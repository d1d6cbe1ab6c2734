/* show.c - one printer per command; unknown members are printed generically, never fatal */
#include "show.h"

#include <stdlib.h>
#include <string.h>

#include "print.h"
#include "util.h"

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static char *count(const json_t *v, char *buf)
{
	return ctl_fmt_count(json_integer_value(v), buf);
}

/* A key/value line with plain text. */
static void kv(struct ctl_table *t, const char *key, const char *val, const char *color)
{
	ctl_table_row(t);
	ctl_table_cell(t, key, NULL);
	ctl_table_cell(t, val, color);
}

/* A key/value line showing v, if v is there. */
static void kv_value(struct ctl_table *t, const char *key, const json_t *v, int flags)
{
	if (!v)
		return;
	ctl_table_row(t);
	ctl_table_cell(t, key, NULL);
	ctl_table_value(t, v, flags);
}

/* Print and free a key/value block. */
static void kv_done(struct ctl_table *t, int indent)
{
	ctl_table_print(t, stdout, indent);
	ctl_table_free(t);
}

/* "1,000 active, 3 held" for {"active": 1000, "held": 3}, leaving out member skip. */
static char *counts_text(const json_t *o, const char *skip)
{
	char *out = NULL, buf[CTL_COUNT_LEN];
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	if (!m)
		abort();
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)o, k, v)
	{
		if ((skip && !strcmp(k, skip)) || !json_is_number(v))
			continue;
		fprintf(m, "%s%s %s", first ? "" : ", ",
		        ctl_fmt_count((long long)json_number_value(v), buf), k);
		first = false;
	}
	fclose(m);
	return out;
}

/* A heading line ("schedule:") */
static void heading(const char *text, int indent)
{
	printf("%*s%s\n", indent, "", text);
}

static const struct ctl_col schedule_cols[] = {
    {"at", "AT", 0},         {"action", "ACTION", CTL_STATE}, {"rule", "RULE", 0},
    {"review", "REVIEW", 0}, {"backend", "BACKEND", 0},       {NULL, NULL, 0},
};

/* "delete at TIME (rule R)" for the first entry of a schedule, or "" */
static char *next_action(const json_t *schedule)
{
	const json_t *s = json_array_get(schedule, 0);
	const char *action = str(s, "action"), *at = str(s, "at"), *rule = str(s, "rule");
	if (!action)
		return rtn_xstrdup("");
	return rtn_xasprintf("%s%s%s%s%s%s", action, at ? " at " : "", at ? at : "",
	                     rule ? " (rule " : "", rule ? rule : "", rule ? ")" : "");
}

/* --- status -------------------------------------------------------------------------------- */

/* The failed attempts of each backend by class ("permission denied", "timeout",
 * "other"), with the last of each: a table of their own, only when there are any. */
static void status_backend_errors(const json_t *backends)
{
	static const struct ctl_col cols[] = {
	    {"backend", "BACKEND", 0}, {"class", "ERROR", 0},     {"count", "FAILED", CTL_COUNT},
	    {"at", "LAST", 0},         {"last", "LAST ERROR", 0}, {NULL, NULL, 0},
	};
	json_t *rows = json_array();
	size_t i, k;
	json_t *b, *e;
	json_array_foreach((json_t *)backends, i, b)
	{
		json_array_foreach(json_object_get(b, "errors"), k, e)
		{
			json_t *c = json_copy(e);
			json_object_set(c, "backend", json_object_get(b, "name"));
			json_array_append_new(rows, c);
		}
	}
	if (json_array_size(rows)) {
		heading("backend errors (since the daemon started):", 0);
		ctl_print_array(stdout, rows, cols, NULL, 2);
	}
	json_decref(rows);
}

int ctl_show_status(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {
	    "version",         "protocol", "uptime",   "time",  "timezone", "records", "unmanaged",
	    "next_deadline",   "jobs",     "backends", "rules", "audit",    "guard",   "erasures",
	    "jobs_by_backend", NULL};
	(void)o;
	char b1[CTL_COUNT_LEN], b2[CTL_COUNT_LEN];
	struct ctl_table *t = ctl_table_new(2, NULL);
	kv_value(t, "version:", json_object_get(r, "version"), 0);
	kv_value(t, "protocol:", json_object_get(r, "protocol"), 0);
	json_t *up = json_object_get(r, "uptime");
	if (json_is_integer(up)) {
		json_int_t s = json_integer_value(up);
		char *u = s >= 86400
		              ? rtn_xasprintf("%lldd %02lld:%02lld:%02lld", (long long)s / 86400,
		                              (long long)(s / 3600 % 24), (long long)(s / 60 % 60),
		                              (long long)(s % 60))
		              : rtn_xasprintf("%02lld:%02lld:%02lld", (long long)s / 3600,
		                              (long long)(s / 60 % 60), (long long)(s % 60));
		kv(t, "uptime:", u, NULL);
		free(u);
	}
	const char *time = str(r, "time"), *zone = str(r, "timezone");
	if (time || zone) {
		char *s = rtn_xasprintf("%s%s%s%s", time ? time : "", time && zone ? " (" : "",
		                        zone ? zone : "", time && zone ? ")" : "");
		kv(t, "time:", s, NULL);
		free(s);
	}
	json_t *rec = json_object_get(r, "records");
	if (json_is_object(rec)) {
		char *c = counts_text(rec, "total");
		char *s = rtn_xasprintf("%s total%s%s", count(json_object_get(rec, "total"), b1),
		                        *c ? ": " : "", c);
		kv(t, "records:", s, NULL);
		free(s);
		free(c);
	}
	json_t *um = json_object_get(r, "unmanaged");
	if (json_is_array(um)) {
		long long n = 0;
		size_t i;
		json_t *u;
		json_array_foreach(um, i, u) n += json_integer_value(json_object_get(u, "records"));
		if (!json_array_size(um)) {
			kv(t, "unmanaged:", "none", NULL);
		} else {
			char *s = rtn_xasprintf(
			    "%s record%s in %zu %s no rule names", ctl_fmt_count(n, b1),
			    n == 1 ? "" : "s", json_array_size(um),
			    json_array_size(um) == 1 ? "category" : "categories");
			kv(t, "unmanaged:", s, ctl_state_color("unmanaged"));
			free(s);
		}
	}
	json_t *nd = json_object_get(r, "next_deadline");
	if (json_is_object(nd)) {
		const char *rule = str(nd, "rule");
		char *s = rtn_xasprintf("%s %s %s%s%s%s", str(nd, "at") ? str(nd, "at") : "-",
		                        str(nd, "action") ? str(nd, "action") : "",
		                        str(nd, "record") ? str(nd, "record") : "",
		                        rule ? " (rule " : "", rule ? rule : "", rule ? ")" : "");
		kv(t, "next deadline:", s, NULL);
		free(s);
	} else if (json_is_null(nd)) {
		kv(t, "next deadline:", "none", NULL);
	}
	json_t *jobs = json_object_get(r, "jobs");
	if (json_is_object(jobs)) {
		char *c = counts_text(jobs, NULL);
		json_t *dead = json_object_get(jobs, "dead");
		kv(t, "jobs:", c, json_integer_value(dead) > 0 ? ctl_state_color("dead") : NULL);
		free(c);
	}
	json_t *rules = json_object_get(r, "rules");
	if (json_is_object(rules)) {
		const char *hash = str(rules, "hash"), *loaded = str(rules, "loaded");
		char *s = rtn_xasprintf("%s%s%s%s%s", count(json_object_get(rules, "count"), b1),
		                        loaded ? ", loaded " : "", loaded ? loaded : "",
		                        hash ? ", hash " : "", hash ? hash : "");
		kv(t, "rules:", s, NULL);
		free(s);
	}
	json_t *audit = json_object_get(r, "audit");
	if (json_is_object(audit)) {
		const char *head = str(audit, "head");
		char *s =
		    rtn_xasprintf("%s entries%s%s", count(json_object_get(audit, "entries"), b1),
		                  head ? ", head " : "", head ? head : "");
		kv(t, "audit:", s, NULL);
		free(s);
	}
	json_t *guard = json_object_get(r, "guard");
	json_int_t paused = json_integer_value(json_object_get(guard, "paused"));
	if (json_is_object(guard)) {
		char *s = paused > 0
		              ? rtn_xasprintf("%s actions paused: check them with 'retentionctl "
		                              "plan', then 'retentionctl guard confirm'",
		                              ctl_fmt_count(paused, b2))
		              : rtn_xstrdup("not paused");
		kv(t, "guard:", s, paused > 0 ? ctl_state_color("paused") : NULL);
		free(s);
	}
	kv_done(t, 0);
	static const struct ctl_col backend_cols[] = {
	    {"name", "BACKEND", 0},
	    {"connected", "CONNECTED", 0},
	    {"inflight", "IN FLIGHT", CTL_COUNT},
	    {"done", "DONE", CTL_COUNT},
	    {"failed", "FAILED", CTL_COUNT},
	    {"retry", "RETRYING", CTL_COUNT},
	    {"dead", "DEAD", CTL_COUNT},
	    {NULL, NULL, 0},
	};
	json_t *be = json_object_get(r, "backends");
	json_t *by_backend = json_object_get(r, "jobs_by_backend");
	if (json_array_size(be)) {
		heading("backends:", 0);
		json_t *rows = json_array(); /* their scans have a table of their own */
		size_t i;
		json_t *b;
		json_array_foreach(be, i, b)
		{
			json_t *c = json_copy(b);
			json_object_del(c, "scan");
			/* the jobs the inventory keeps of it: waiting for a retry, given up */
			json_t *jobs = json_object_get(by_backend, str(b, "name"));
			json_t *retry = json_object_get(jobs, "retry"),
			       *dead = json_object_get(jobs, "dead");
			json_object_set_new(c, "retry",
			                    retry ? json_incref(retry) : json_integer(0));
			json_object_set_new(c, "dead", dead ? json_incref(dead) : json_integer(0));
			json_object_del(c, "errors"); /* and their errors too */
			json_array_append_new(rows, c);
		}
		ctl_print_array(stdout, rows, backend_cols, NULL, 2);
		json_decref(rows);
		ctl_status_scans(be);
		status_backend_errors(be);
	}
	static const struct ctl_col unmanaged_cols[] = {
	    {"category", "CATEGORY", 0}, {"records", "RECORDS", CTL_COUNT}, {NULL, NULL, 0}};
	if (json_array_size(um)) {
		heading("unmanaged categories:", 0);
		ctl_print_array(stdout, um, unmanaged_cols, NULL, 2);
	}
	static const struct ctl_col guard_cols[] = {{"rule", "RULE", 0},
	                                            {"cause", "CAUSE", 0},
	                                            {"records", "RECORDS", CTL_COUNT},
	                                            {NULL, NULL, 0}};
	if (paused > 0 && json_array_size(json_object_get(guard, "rules"))) {
		heading("paused by the mass-deletion guard:", 0);
		ctl_print_array(stdout, json_object_get(guard, "rules"), guard_cols, NULL, 2);
	}
	static const struct ctl_col erasure_cols[] = {
	    {"request", "REQUEST", 0},        {"subject", "SUBJECT", 0},
	    {"requested", "REQUESTED", 0},    {"deadline", "DEADLINE", 0},
	    {"deadline_set_by", "SET BY", 0}, {"pending", "PENDING", CTL_COUNT},
	    {"at_risk", "AT RISK", 0},        {NULL, NULL, 0}};
	json_t *er = json_object_get(r, "erasures");
	if (json_array_size(er)) {
		heading("open erasure requests:", 0);
		ctl_print_array(stdout, er, erasure_cols, NULL, 2);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

/* --- records ------------------------------------------------------------------------------- */

/* events or attributes: an indented key/value block under a heading */
static void object_block(const json_t *o, const char *title)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o) || !json_object_size(o))
		return;
	heading(title, 0);
	struct ctl_table *t = ctl_table_new(2, NULL);
	json_object_foreach((json_t *)o, k, v) kv_value(t, k, v, 0);
	kv_done(t, 2);
}

int ctl_show_record(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {
	    "id",      "category", "subject",    "backend",  "locator",    "state", "holds",
	    "deleted", "events",   "attributes", "schedule", "anonymized", NULL};
	(void)o;
	struct ctl_table *t = ctl_table_new(2, NULL);
	kv_value(t, "id:", json_object_get(r, "id"), 0);
	kv_value(t, "category:", json_object_get(r, "category"), 0);
	kv_value(t, "state:", json_object_get(r, "state"), CTL_STATE);
	kv_value(t, "subject:", json_object_get(r, "subject"), 0);
	kv_value(t, "backend:", json_object_get(r, "backend"), 0);
	kv_value(t, "locator:", json_object_get(r, "locator"), 0);
	json_t *holds = json_object_get(r, "holds");
	if (json_is_array(holds) && !json_array_size(holds))
		kv(t, "holds:", "none", NULL);
	else
		kv_value(t, "holds:", holds, 0);
	kv_value(t, "anonymized:", json_object_get(r, "anonymized"), 0);
	json_t *del = json_object_get(r, "deleted");
	if (json_is_object(del)) {
		const char *at = str(del, "at"), *rule = str(del, "rule"), *job = str(del, "job");
		char *s = rtn_xasprintf("%s%s%s%s%s", at ? at : "-", rule ? " by rule " : "",
		                        rule ? rule : "", job ? ", job " : "", job ? job : "");
		kv(t, "deleted:", s, ctl_state_color("deleted"));
		free(s);
	}
	json_t *sched = json_object_get(r, "schedule");
	if (json_is_array(sched) && !json_array_size(sched))
		kv(t, "schedule:", "nothing scheduled", NULL);
	kv_done(t, 0);
	object_block(json_object_get(r, "events"), "events:");
	object_block(json_object_get(r, "attributes"), "attributes:");
	if (json_array_size(sched)) {
		heading("schedule:", 0);
		ctl_print_array(stdout, sched, schedule_cols, NULL, 2);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_put(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"count", "inserted", "updated", "records", NULL};
	char a[CTL_COUNT_LEN], b[CTL_COUNT_LEN], c[CTL_COUNT_LEN];
	(void)o;
	json_t *n = json_object_get(r, "count");
	printf("%s record%s: %s inserted, %s updated\n", count(n, a),
	       json_integer_value(n) == 1 ? "" : "s", count(json_object_get(r, "inserted"), b),
	       count(json_object_get(r, "updated"), c));
	json_t *recs = json_object_get(r, "records");
	if (json_array_size(recs)) {
		static const char *const hdr[] = {"ID", "STATE", "NEXT ACTION"};
		struct ctl_table *t = ctl_table_new(3, hdr);
		size_t i;
		json_t *e;
		json_array_foreach(recs, i, e)
		{
			ctl_table_row(t);
			ctl_table_value(t, json_object_get(e, "id"), 0);
			ctl_table_value(t, json_object_get(e, "state"), CTL_STATE);
			char *s = next_action(json_object_get(e, "schedule"));
			ctl_table_cell(t, s, NULL);
			free(s);
		}
		ctl_table_print(t, stdout, 0);
		ctl_table_free(t);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_forget(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"id", "forgotten", NULL};
	(void)o;
	if (json_is_true(json_object_get(r, "forgotten")) && str(r, "id")) {
		char *id = ctl_sanitize(str(r, "id"), strlen(str(r, "id")));
		printf("forgot %s\n", id);
		free(id);
		ctl_print_rest(stdout, r, known);
		return 0;
	}
	return ctl_show_generic(r, o);
}

/* explain's review: "round 2, due 2027-...; rejected 2026-..., again every 1 year". */
static void review_line(struct ctl_table *t, const json_t *rv)
{
	if (!json_is_object(rv))
		return;
	const char *due = str(rv, "due"), *rejected = str(rv, "rejected"),
	           *every = str(rv, "every");
	char *s = rtn_xasprintf("round %lld of the %s, due %s%s%s%s%s",
	                        (long long)json_integer_value(json_object_get(rv, "round")),
	                        str(rv, "action") ? str(rv, "action") : "action", due ? due : "?",
	                        rejected ? "; last rejected " : "", rejected ? rejected : "",
	                        every ? "; again every " : "", every ? every : "");
	json_t *stage = json_object_get(rv, "stage");
	if (json_is_integer(stage)) { /* review by GROUP...: "; stage 2 of 3 (legal)" */
		char *t2 = rtn_xasprintf(
		    "%s; stage %lld of %lld (%s)", s, (long long)json_integer_value(stage),
		    (long long)json_integer_value(json_object_get(rv, "stages")),
		    str(rv, "group") ? str(rv, "group") : "?");
		free(s);
		s = t2;
	}
	kv(t, "review:", s, NULL);
	free(s);
}

int ctl_show_explain(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"id",    "category", "state",  "schedule", "decision",
	                                    "holds", "rules",    "review", NULL};
	(void)o;
	struct ctl_table *t = ctl_table_new(2, NULL);
	json_t *d = json_object_get(r, "decision");
	if (json_is_object(d)) {
		const char *action = str(d, "action"), *at = str(d, "at"), *rule = str(d, "rule");
		char *s = rtn_xasprintf("%s%s%s%s%s%s", action ? action : "?", at ? " at " : "",
		                        at ? at : "", rule ? " (rule " : "", rule ? rule : "",
		                        rule ? ")" : "");
		kv(t, "decision:", s, ctl_state_color(action));
		free(s);
		kv_value(t, "retained by:", json_object_get(d, "retained_by"), 0);
		kv_value(t, "basis:", json_object_get(d, "basis"), 0);
		kv_value(t, "reason:", json_object_get(d, "reason"), 0);
	}
	kv_value(t, "id:", json_object_get(r, "id"), 0);
	kv_value(t, "category:", json_object_get(r, "category"), 0);
	kv_value(t, "state:", json_object_get(r, "state"), CTL_STATE);
	review_line(t, json_object_get(r, "review"));
	json_t *sched = json_object_get(r, "schedule");
	if (json_is_array(sched) && !json_array_size(sched))
		kv(t, "schedule:", "nothing scheduled", NULL);
	json_t *holds = json_object_get(r, "holds");
	if (json_is_array(holds) && !json_array_size(holds))
		kv(t, "holds:", "none", NULL);
	kv_done(t, 0);
	if (json_array_size(sched)) {
		heading("schedule:", 0);
		ctl_print_array(stdout, sched, schedule_cols, NULL, 2);
	}
	json_t *rules = json_object_get(r, "rules");
	if (json_is_array(rules)) {
		heading("rules considered:", 0);
		if (!json_array_size(rules))
			heading("none: no rule names this category", 2);
		static const char *const hdr[] = {"RULE", "ACTION", "APPLIES", "DEADLINE", "WHY"};
		struct ctl_table *rt = ctl_table_new(5, hdr);
		size_t i;
		json_t *e;
		json_array_foreach(rules, i, e)
		{
			json_t *applies = json_object_get(e, "applies");
			ctl_table_row(rt);
			ctl_table_value(rt, json_object_get(e, "rule"), 0);
			ctl_table_value(rt, json_object_get(e, "action"), 0);
			ctl_table_cell(rt,
			               json_is_true(applies)    ? "yes"
			               : json_is_false(applies) ? "no"
			                                        : "",
			               json_is_true(applies) ? ctl_state_color("active") : NULL);
			ctl_table_value(rt, json_object_get(e, "deadline"), 0);
			ctl_table_value(rt, json_object_get(e, "why"), 0);
		}
		if (json_array_size(rules))
			ctl_table_print(rt, stdout, 2);
		ctl_table_free(rt);
	}
	static const struct ctl_col hold_cols[] = {{"hold", "HOLD", 0},
	                                           {"selector", "SELECTOR", 0},
	                                           {"reason", "REASON", 0},
	                                           {NULL, NULL, 0}};
	if (json_array_size(holds)) {
		heading("holds:", 0);
		ctl_print_array(stdout, holds, hold_cols, NULL, 2);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

/* --- lists --------------------------------------------------------------------------------- */

int ctl_show_plan(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"until",   "count",  "shown",       "truncated",
	                                    "actions", "totals", "unscheduled", NULL};
	static const struct ctl_col cols[] = {
	    {"at", "AT", 0},           {"action", "ACTION", CTL_STATE},
	    {"record", "RECORD", 0},   {"category", "CATEGORY", 0},
	    {"rule", "RULE", 0},       {"review", "REVIEW", 0},
	    {"backend", "BACKEND", 0}, {"state", "STATE", CTL_STATE},
	    {NULL, NULL, 0},
	};
	static const struct ctl_col total_cols[] = {{"rule", "RULE", 0},
	                                            {"action", "ACTION", CTL_STATE},
	                                            {"count", "RECORDS", CTL_COUNT},
	                                            {NULL, NULL, 0}};
	char b[CTL_COUNT_LEN], c[CTL_COUNT_LEN];
	json_t *n = json_object_get(r, "count"), *acts = json_object_get(r, "actions");
	json_t *un = json_object_get(r, "unscheduled");
	if (o && o->format && !strcmp(o->format, "csv")) {
		ctl_csv_rows(stdout, acts, cols);
		/* what the rows leave out, said beside them: never silently */
		if (json_is_true(json_object_get(r, "truncated")))
			fprintf(stderr,
			        "retentionctl: plan: %s of %s actions written: raise --limit to "
			        "see more\n",
			        ctl_fmt_count((long long)json_array_size(acts), b), count(n, c));
		if (json_is_object(un)) {
			char h[CTL_COUNT_LEN], d[CTL_COUNT_LEN], m[CTL_COUNT_LEN];
			fprintf(stderr,
			        "retentionctl: plan: not in the plan: %s held, %s with no "
			        "deadline, %s unmanaged\n",
			        count(json_object_get(un, "held"), h),
			        count(json_object_get(un, "no_deadline"), d),
			        count(json_object_get(un, "unmanaged"), m));
		}
		return 0;
	}
	json_t *totals = json_object_get(r, "totals");
	const char *until = str(r, "until");
	char *u = ctl_sanitize(until ? until : "?", strlen(until ? until : "?"));
	printf("%s action%s due by %s", count(n, b), json_integer_value(n) == 1 ? "" : "s", u);
	if (json_is_true(json_object_get(r, "truncated")))
		printf(" (%s shown: raise --limit to see more)",
		       json_is_integer(json_object_get(r, "shown"))
		           ? count(json_object_get(r, "shown"), c)
		           : ctl_fmt_count((long long)json_array_size(acts), c));
	printf("\n");
	free(u);
	if (json_array_size(acts))
		ctl_print_array(stdout, acts, cols, NULL, 0);
	if (json_array_size(totals)) {
		heading("by rule:", 0);
		ctl_print_array(stdout, totals, total_cols, NULL, 2);
	}
	if (json_is_object(un)) {
		char h[CTL_COUNT_LEN], d[CTL_COUNT_LEN], m[CTL_COUNT_LEN];
		printf(
		    "not in the plan: %s held, %s with no deadline (kept forever, or waiting for "
		    "an event), %s unmanaged\n",
		    count(json_object_get(un, "held"), h),
		    count(json_object_get(un, "no_deadline"), d),
		    count(json_object_get(un, "unmanaged"), m));
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_subject(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {"subject", "records", NULL};
	(void)o;
	json_t *recs = json_object_get(r, "records");
	const char *subj = str(r, "subject") ? str(r, "subject") : "?";
	char *s = ctl_sanitize(subj, strlen(subj)), b[CTL_COUNT_LEN];
	printf("subject %s: %s record%s\n", s, ctl_fmt_count((long long)json_array_size(recs), b),
	       json_array_size(recs) == 1 ? "" : "s");
	free(s);
	if (json_array_size(recs)) {
		static const char *const hdr[] = {"ID", "CATEGORY", "STATE", "HOLDS",
		                                  "NEXT ACTION"};
		struct ctl_table *t = ctl_table_new(5, hdr);
		size_t i;
		json_t *e;
		json_array_foreach(recs, i, e)
		{
			ctl_table_row(t);
			ctl_table_value(t, json_object_get(e, "id"), 0);
			ctl_table_value(t, json_object_get(e, "category"), 0);
			ctl_table_value(t, json_object_get(e, "state"), CTL_STATE);
			ctl_table_value(t, json_object_get(e, "holds"), 0);
			char *n = next_action(json_object_get(e, "schedule"));
			ctl_table_cell(t, n, NULL);
			free(n);
		}
		ctl_table_print(t, stdout, 0);
		ctl_table_free(t);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_jobs(const json_t *r, const struct ctl_show_opts *o)
{
	static const struct ctl_col cols[] = {
	    {"job", "JOB", 0},
	    {"state", "STATE", CTL_STATE},
	    {"record", "RECORD", 0},
	    {"action", "ACTION", 0},
	    {"rule", "RULE", 0},
	    {"backend", "BACKEND", 0},
	    {"attempts", "ATTEMPTS", CTL_RIGHT},
	    {"due", "DUE", 0},
	    {"next_attempt", "NEXT ATTEMPT", 0},
	    {"last_error", "LAST ERROR", 0},
	    {NULL, NULL, 0},
	};
	static const char *const skip[] = {"category", "updated", NULL};
	static const struct ctl_col csv_cols[] = {
	    {"job", NULL, 0},          {"state", NULL, 0},      {"record", NULL, 0},
	    {"category", NULL, 0},     {"action", NULL, 0},     {"rule", NULL, 0},
	    {"backend", NULL, 0},      {"attempts", NULL, 0},   {"due", NULL, 0},
	    {"next_attempt", NULL, 0}, {"last_error", NULL, 0}, {"updated", NULL, 0},
	    {NULL, NULL, 0},
	};
	if (o && o->format && !strcmp(o->format, "csv")) {
		ctl_csv_rows(stdout, json_object_get(r, "jobs"), csv_cols);
		return 0;
	}
	return ctl_print_list(stdout, r, "jobs", cols, skip, "no jobs");
}

/* A review in stages as the table shows it: STAGE "2/3 legal" (the stage it waits on, of
 * how many, and its group), APPROVED "uid:1001 (dpo)" (who approved the stages before);
 * the reply keeps them as "stage", "stages", "group" and "approved". */
static void review_stage_text(json_t *x)
{
	json_t *stage = json_object_get(x, "stage");
	if (!json_is_integer(stage))
		return;
	char *st =
	    rtn_xasprintf("%lld/%lld %s%s", (long long)json_integer_value(stage),
	                  (long long)json_integer_value(json_object_get(x, "stages")),
	                  json_string_value(json_object_get(x, "group"))
	                      ? json_string_value(json_object_get(x, "group"))
	                      : "?",
	                  json_is_true(json_object_get(x, "restarted")) ? " (restarted)" : "");
	char *by = rtn_xstrdup("");
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(x, "approved"), i, a)
	{
		const char *who = json_string_value(json_object_get(a, "by"));
		const char *g = json_string_value(json_object_get(a, "group"));
		char *t =
		    rtn_xasprintf("%s%s%s (%s)", by, i ? ", " : "", who ? who : "?", g ? g : "?");
		free(by);
		by = t;
	}
	json_object_set_new(x, "stage_text", json_string(st));
	json_object_set_new(x, "approved_text", json_string(by[0] ? by : "-"));
	free(st);
	free(by);
}

int ctl_show_holds(const json_t *r, const struct ctl_show_opts *o)
{
	static const struct ctl_col cols[] = {
	    {"hold", "HOLD", 0},    {"selector", "SELECTOR", 0}, {"value", "COVERS", 0},
	    {"by", "PLACED BY", 0}, {"since", "SINCE", 0},       {"reason", "REASON", 0},
	    {NULL, NULL, 0},
	};
	(void)o;
	return ctl_print_list(stdout, r, "holds", cols, NULL, "no holds");
}

int ctl_show_review(const json_t *r, const struct ctl_show_opts *o)
{
	static const struct ctl_col cols[] = {
	    {"id", "ID", 0},
	    {"due", "DUE", 0},
	    {"round", "ROUND", 0},
	    {"stage_text", "STAGE", 0},
	    {"approved_text", "APPROVED", 0},
	    {"action", "ACTION", CTL_STATE},
	    {"category", "CATEGORY", 0},
	    {"subject", "SUBJECT", 0},
	    {"rule", "RULE", 0},
	    {"basis", "BASIS", 0},
	    {NULL, NULL, 0},
	};
	static const char *const skip[] = {"stage",    "stages",    "group",
	                                   "approved", "restarted", NULL};
	(void)o;
	json_t *copy = json_deep_copy(r);
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(copy, "records"), i, x) review_stage_text(x);
	int rc =
	    ctl_print_list(stdout, copy ? copy : r, "records", cols, skip, "nothing awaits review");
	json_decref(copy);
	return rc;
}

int ctl_show_erase(const json_t *r, const struct ctl_show_opts *o)
{
	static const char *const known[] = {
	    "request",         "subject",    "requested", "deadline",
	    "deadline_set_by", "records",    "pending",   "scheduled",
	    "retained",        "anonymized", NULL};
	static const struct ctl_col sched_cols[] = {{"id", "ID", 0},
	                                            {"at", "AT", 0},
	                                            {"rule", "RULE", 0},
	                                            {"review", "REVIEW", 0},
	                                            {NULL, NULL, 0}};
	(void)o;
	struct ctl_table *t = ctl_table_new(2, NULL);
	kv_value(t, "request:", json_object_get(r, "request"), 0);
	kv_value(t, "subject:", json_object_get(r, "subject"), 0);
	kv_value(t, "requested:", json_object_get(r, "requested"), 0);
	kv_value(t, "deadline:", json_object_get(r, "deadline"), 0);
	kv_value(t, "set by:", json_object_get(r, "deadline_set_by"), 0);
	kv_value(t, "covers:", json_object_get(r, "records"), CTL_COUNT);
	kv_value(t, "pending:", json_object_get(r, "pending"), CTL_COUNT);
	json_t *sched = json_object_get(r, "scheduled"), *kept = json_object_get(r, "retained");
	json_t *anon = json_object_get(r, "anonymized");
	char b[CTL_COUNT_LEN];
	if (json_is_array(sched))
		kv(t, "scheduled:",
		   json_array_size(sched) ? ctl_fmt_count((long long)json_array_size(sched), b)
		                          : "none",
		   NULL);
	if (json_is_array(kept))
		kv(t, "retained:",
		   json_array_size(kept) ? ctl_fmt_count((long long)json_array_size(kept), b)
		                         : "none",
		   json_array_size(kept) ? ctl_state_color("held") : NULL);
	kv_done(t, 0);
	if (json_array_size(sched)) {
		heading("scheduled for deletion:", 0);
		ctl_print_array(stdout, sched, sched_cols, NULL, 2);
	}
	if (json_array_size(kept)) {
		static const char *const hdr[] = {"ID", "RETAINED BY", "UNTIL", "PENDING", "WHY"};
		struct ctl_table *k = ctl_table_new(5, hdr);
		size_t i;
		json_t *e;
		json_array_foreach(kept, i, e)
		{
			ctl_table_row(k);
			ctl_table_value(k, json_object_get(e, "id"), 0);
			json_t *holds = json_object_get(e, "holds");
			if (json_array_size(holds)) {
				/* [{"hold": NAME, ...}] -> "hold NAME, NAME" */
				json_t *names = json_array(), *h;
				size_t j;
				json_array_foreach(holds, j, h) json_array_append(
				    names, json_is_object(h) ? json_object_get(h, "hold") : h);
				char *n = ctl_value_text(names, false),
				     *c = rtn_xasprintf("hold %s", n);
				ctl_table_cell(k, c, NULL);
				free(c);
				free(n);
				json_decref(names);
			} else {
				ctl_table_value(k, json_object_get(e, "rule"), 0);
			}
			ctl_table_value(k, json_object_get(e, "until"), 0);
			ctl_table_value(k, json_object_get(e, "pending"), 0);
			const char *basis = str(e, "basis"), *reason = str(e, "reason");
			char *why =
			    rtn_xasprintf("%s%s%s", basis ? basis : "", basis && reason ? ": " : "",
			                  reason ? reason : "");
			ctl_table_cell(k, why, NULL);
			free(why);
		}
		heading("retained:", 0);
		ctl_table_print(k, stdout, 2);
		ctl_table_free(k);
	}
	if (json_array_size(anon)) {
		static const struct ctl_col anon_cols[] = {{"id", "ID", 0},
		                                           {"category", "CATEGORY", 0},
		                                           {"at", "ANONYMIZED", 0},
		                                           {NULL, NULL, 0}};
		heading("already anonymised (not covered):", 0);
		ctl_print_array(stdout, anon, anon_cols, NULL, 2);
	}
	ctl_print_rest(stdout, r, known);
	return 0;
}

int ctl_show_generic(const json_t *r, const struct ctl_show_opts *o)
{
	(void)o;
	if (!r || json_is_null(r) || (json_is_object(r) && !json_object_size(r)))
		printf("ok\n");
	else
		ctl_print_generic(stdout, r, NULL, 0);
	return 0;
}
