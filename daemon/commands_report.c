/* commands_report.c - the proof-of-deletion report
 *
 * One pass over the files of the period, a line at a time (one entry's tree at a time):
 * the actions of the period (job.done, job.dead, erase.retained) counted per (rule,
 * category) and per month and rule, the chain head at the end of the period, and with
 * "records" every action itself; then the chain of those files verified.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auditlog.h"
#include "commands_int.h"
#include "ops.h"
#include "util.h"

#define KEY_SEP       "\x1f" /* between the parts of an index key: below every printable */
#define FLAG_MIN      3      /* not found answers before a rule can be flagged */
#define FLAG_NOTFOUND "mostly not found: check the locators"

/* The last two are not ours: a record a scan no longer saw (gone by other means) and a
 * deleted one a scan saw again (a deletion that did not stick, acted on again). */
static const char *const outcomes[] = {"deleted",  "anonymized", "not_found", "failed",
                                       "retained", "left",       "reappeared"};
#define NOUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

struct report {
	rtn_time_t since, until;
	const char *category;
	const struct rtn_zone *zone;
	json_t *rows;    /* "rule\x1fcategory" -> row */
	json_t *months;  /* "YYYY-MM\x1frule" -> month row */
	json_t *records; /* the actions, or NULL when not asked for */
	char *last;      /* the line of the last entry with time < until (last_len 0: none) */
	size_t last_cap, last_len;
	json_int_t entries, unreadable;
};

static const char *member(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void bump(json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key);
	json_integer_set(v, json_integer_value(v) + 1);
}

/* An object with every outcome counted 0. */
static json_t *counts(void)
{
	json_t *o = json_object();
	for (size_t k = 0; k < NOUTCOMES; k++)
		json_object_set_new(o, outcomes[k], json_integer(0));
	return o;
}

/* The entry of index under "a\x1fb", made by make(a, b) on first use. Borrowed. */
static json_t *indexed(json_t *index, const char *a, const char *b, const char *ka, const char *kb)
{
	char *key = rtn_xasprintf("%s" KEY_SEP "%s", a, b);
	json_t *r = json_object_get(index, key);
	if (!r) {
		r = counts();
		json_object_set_new(r, ka, json_string(a));
		json_object_set_new(r, kb, json_string(b));
		json_object_set_new(index, key, r);
	}
	free(key);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The values of index as an array in the order of their keys; index is freed. */
static json_t *sorted(json_t *index)
{
	size_t n = json_object_size(index), i = 0;
	const char **keys = rtn_xcalloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach(index, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	json_t *out = json_array();
	for (i = 0; i < n; i++)
		json_array_append(out, json_object_get(index, keys[i]));
	free(keys);
	json_decref(index);
	return out;
}

/* What became of the action an entry of the period records, or NULL if it is none. */
static const char *outcome_of(const json_t *e)
{
	const char *type = member(e, "type");
	if (!type)
		return NULL;
	if (!strcmp(type, "job.dead"))
		return "failed";
	if (!strcmp(type, "erase.retained"))
		return "retained";
	if (!strcmp(type, "record.left"))
		return "left";
	if (!strcmp(type, "record.reappeared"))
		return "reappeared";
	if (strcmp(type, "job.done"))
		return NULL;
	const json_t *d = json_object_get(e, "detail");
	const char *o = member(d, "outcome"), *status = member(d, "status"),
	           *action = member(d, "action");
	for (size_t k = 0; o && k < 3; k++)
		if (!strcmp(o, outcomes[k]))
			return outcomes[k];
	/* logs written before "outcome": a backend's "gone" found nothing to delete */
	if (status && !strcmp(status, "gone"))
		return "not_found";
	return action && !strcmp(action, "anonymize") ? "anonymized" : "deleted";
}

/* The record of one action: what an auditor follows back to its entry. */
static json_t *record_of(const json_t *e, const char *outcome)
{
	const json_t *d = json_object_get(e, "detail");
	json_t *r =
	    json_pack("{s:O, s:s, s:s*, s:s*, s:s*, s:s*, s:s, s:s*, s:s*, s:s*}", "seq",
	              json_object_get(e, "seq"), "time", member(e, "time"), "record",
	              member(e, "record"), "category", member(e, "category"), "rule",
	              member(e, "rule"), "basis", member(e, "basis"), "outcome", outcome, "due",
	              member(d, "due"), "sent", member(d, "sent"), "job", member(e, "job"));
	return r ? r : json_object();
}

/* An action of the period, of time t. */
static void take(struct report *rp, const json_t *e, rtn_time_t t)
{
	const char *outcome = outcome_of(e);
	const char *cat = member(e, "category"), *rule = member(e, "rule");
	if (!outcome || (rp->category && (!cat || strcmp(cat, rp->category))))
		return;
	json_t *row = indexed(rp->rows, rule ? rule : "", cat ? cat : "", "rule", "category");
	const char *basis = member(e, "basis");
	if (basis && !json_object_get(row, "basis"))
		json_object_set_new(row, "basis", json_string(basis));
	bump(row, outcome);
	char month[RTN_TIME_FMT_LEN];
	if (rtn_time_format_in(rp->zone, t, month, sizeof(month)) < 0)
		snprintf(month, sizeof(month), "%.7s", member(e, "time"));
	month[7] = '\0';
	bump(indexed(rp->months, month, rule ? rule : "", "month", "rule"), outcome);
	if (rp->records)
		json_array_append_new(rp->records, record_of(e, outcome));
}

/* The string value after the last pat ("\"time\":\"") in line[0..len), or NULL. In an
 * entry's canonical form the keys are sorted: "time" and "type" are the last members of
 * the top level, after any nested object, and a quote inside a string is escaped. */
static const char *last_string(const char *line, size_t len, const char *pat, size_t *vlen)
{
	size_t pl = strlen(pat);
	for (size_t i = len >= pl ? len - pl + 1 : 0; i-- > 0;) {
		if (line[i] != '"' || memcmp(line + i, pat, pl))
			continue;
		const char *v = line + i + pl, *end = memchr(v, '"', (size_t)(line + len - v));
		if (!end)
			return NULL;
		*vlen = (size_t)(end - v);
		return v;
	}
	return NULL;
}

/* time and type of a canonical line without parsing it all. 0, or -1: parse it. */
static int scan(const char *line, size_t len, rtn_time_t *t, const char **type, size_t *tlen)
{
	size_t n;
	const char *ty = last_string(line, len, "\"type\":\"", tlen);
	const char *ts = ty ? last_string(line, (size_t)(ty - line), "\"time\":\"", &n) : NULL;
	char buf[RTN_TIME_FMT_LEN * 2];
	if (!ts || n >= sizeof(buf))
		return -1;
	memcpy(buf, ts, n);
	buf[n] = '\0';
	*type = ty;
	return rtn_time_parse(buf, t) < 0 ? -1 : 0;
}

static bool is_action(const char *type, size_t n)
{
	static const char *const types[] = {"job.done", "job.dead", "erase.retained", "record.left",
	                                    "record.reappeared"};
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (n == strlen(types[k]) && !memcmp(type, types[k], n))
			return true;
	return false;
}

/* One line of the files read (*line may change places with the kept last line). Only
 * the actions of the period are parsed; a line that cannot be scanned is parsed whole. */
static void take_line(struct report *rp, char **line, size_t *cap, size_t len)
{
	rtn_time_t t;
	const char *type = NULL;
	size_t tlen = 0;
	json_t *e = NULL;
	if (scan(*line, len, &t, &type, &tlen) < 0) {
		e = json_loadb(*line, len, JSON_DISABLE_EOF_CHECK, NULL);
		const char *ts = member(e, "time");
		if (!ts || rtn_time_parse(ts, &t) < 0 ||
		    !json_is_integer(json_object_get(e, "seq"))) {
			rp->unreadable++;
			json_decref(e);
			return;
		}
	}
	if (t >= rp->since && t < rp->until) {
		rp->entries++;
		if (!e && is_action(type, tlen)) {
			e = json_loadb(*line, len, JSON_DISABLE_EOF_CHECK, NULL);
			if (!json_is_object(e))
				rp->unreadable++;
		}
		if (json_is_object(e))
			take(rp, e, t);
	}
	json_decref(e);
	if (t < rp->until) { /* keep this line: the two buffers change places */
		char *l = rp->last;
		size_t c = rp->last_cap;
		rp->last = *line;
		rp->last_cap = *cap;
		rp->last_len = len;
		*line = l;
		*cap = c;
	}
}

/* The chain head at the end of the period: {"seq", "hash", "time"} of the kept line. */
static json_t *head_of(const struct report *rp)
{
	json_t *e =
	    rp->last_len ? json_loadb(rp->last, rp->last_len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	json_t *h = json_is_object(e)
	                ? json_pack("{s:O, s:s?, s:s?}", "seq", json_object_get(e, "seq"), "hash",
	                            member(e, "hash"), "time", member(e, "time"))
	                : NULL;
	json_decref(e);
	return h ? h : json_null();
}

/* Read the files a line at a time. 0, or -1 with err. */
static int read_files(struct report *rp, char **paths, size_t n, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(paths[i], "r");
		if (!f) {
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
			free(line);
			return -1;
		}
		ssize_t len;
		while ((len = getline(&line, &cap, f)) > 0)
			take_line(rp, &line, &cap, (size_t)len);
		bool bad = ferror(f);
		fclose(f);
		if (bad) {
			snprintf(err, errlen, "%s: a read failed", paths[i]);
			free(line);
			return -1;
		}
	}
	free(line);
	return 0;
}

/* Totals over the rows; each row of a rule whose done jobs mostly found nothing is flagged. */
static json_t *totals(json_t *rows)
{
	json_t *tot = counts(), *rules = json_object();
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		for (size_t k = 0; k < NOUTCOMES; k++) {
			json_t *v = json_object_get(tot, outcomes[k]);
			json_integer_set(v,
			                 json_integer_value(v) +
			                     json_integer_value(json_object_get(r, outcomes[k])));
		}
		json_t *s = json_object_get(rules, member(r, "rule"));
		if (!s) {
			s = json_pack("[I, I]", (json_int_t)0, (json_int_t)0);
			json_object_set_new(rules, member(r, "rule"), s);
		}
		json_int_t nf = json_integer_value(json_object_get(r, "not_found"));
		json_int_t done = nf + json_integer_value(json_object_get(r, "deleted")) +
		                  json_integer_value(json_object_get(r, "anonymized"));
		json_integer_set(json_array_get(s, 0),
		                 json_integer_value(json_array_get(s, 0)) + nf);
		json_integer_set(json_array_get(s, 1),
		                 json_integer_value(json_array_get(s, 1)) + done);
	}
	json_array_foreach(rows, i, r)
	{
		if (!json_object_get(r, "basis"))
			json_object_set_new(r, "basis", json_null());
		json_t *s = json_object_get(rules, member(r, "rule"));
		json_int_t nf = json_integer_value(json_array_get(s, 0)),
		           done = json_integer_value(json_array_get(s, 1));
		if (nf >= FLAG_MIN && nf * 2 > done)
			json_object_set_new(r, "flag", json_string(FLAG_NOTFOUND));
	}
	json_decref(rules);
	return tot;
}

/* The chain of the files read, verified; the current file against the daemon's head. */
static json_t *verify(char **paths, size_t n)
{
	if (!n) /* no file holds entries of the period: nothing to break */
		return json_pack("{s:b, s:I, s:I}", "valid", 1, "entries", (json_int_t)0, "files",
		                 (json_int_t)0);
	json_t *st = audit_status(), *v = NULL;
	const char *head = member(st, "head");
	bool current = n && !strcmp(paths[n - 1], audit_path());
	if (audit_sync() < 0)
		head = NULL; /* what is still buffered is not in the file: no head to expect */
	char err[512];
	if (rtn_audit_verify((const char *const *)paths, n, current ? head : NULL, &v, err,
	                     sizeof(err)) < 0)
		v = json_pack("{s:b, s:s}", "valid", 0, "error", err);
	json_decref(st);
	return v;
}

int cmd_report(struct cmd_ctx *c)
{
	ARGS("since", "until", "category", "records");
	struct report rp = {.zone = c->d->zone};
	if (cmd_arg_time(c, "since", true, &rp.since) < 0 ||
	    cmd_arg_time(c, "until", true, &rp.until) < 0)
		return -1;
	rp.category = cmd_arg_string(c, "category", false);
	if (c->err.code)
		return -1;
	json_t *want = json_object_get(c->args, "records");
	if (want && !json_is_boolean(want) && !json_is_null(want))
		return cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"records\" must be true or false");
	if (rp.until <= rp.since)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "\"until\" must be after \"since\"");
	audit_flush();
	char err[512], **paths;
	size_t npaths;
	if (audit_files(rp.since, rp.until, &paths, &npaths, err, sizeof(err)) < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	rp.rows = json_object();
	rp.months = json_object();
	rp.records = json_is_true(want) ? json_array() : NULL;
	if (read_files(&rp, paths, npaths, err, sizeof(err)) < 0) {
		audit_files_free(paths, npaths);
		json_decref(rp.rows);
		json_decref(rp.months);
		json_decref(rp.records);
		free(rp.last);
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	}
	json_t *rows = sorted(rp.rows), *tot = totals(rows);
	json_t *head = head_of(&rp);
	free(rp.last);
	json_int_t inv_deleted;
	json_t *tomb =
	    rtn_ops_deleted_between(&c->d->engine, rp.since, rp.until, rp.category, &inv_deleted);
	json_int_t inv_not_found = 0;
	size_t i;
	json_t *t;
	json_array_foreach(tomb, i, t) inv_not_found +=
	    json_integer_value(json_object_get(t, "not_found"));
	c->result = json_pack(
	    "{s:o, s:o, s:s?, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:{s:I, s:I, s:o}, "
	    "s:o, s:o}",
	    "since", rtn_time_to_json(rp.since), "until", rtn_time_to_json(rp.until), "category",
	    rp.category, "timezone", c->d->cfg.timezone, "generated",
	    rtn_time_to_json(daemon_now()), "files", cmd_paths_json(paths, npaths), "head", head,
	    "verify", verify(paths, npaths), "entries", rp.entries, "unreadable", rp.unreadable,
	    "rows", rows, "totals", tot, "months", sorted(rp.months), "inventory", "deleted",
	    inv_deleted, "not_found", inv_not_found, "by_rule", tomb, "pending_erasures",
	    rtn_ops_erasures_status(&c->d->engine, daemon_now()), "audit", audit_status());
	if (rp.records)
		json_object_set_new(c->result, "records", rp.records);
	audit_files_free(paths, npaths);
	return 0;
}
