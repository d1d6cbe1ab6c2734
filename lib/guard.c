/* guard.c - a rule change, the other steps that make records due at once, and the
 * mass-deletion guard over them all */
#include "guard.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int64_t rtn_guard_limit(long guard, int64_t live)
{
	int64_t share = live / 20;
	return (int64_t)guard > share ? (int64_t)guard : share;
}

static bool differs(struct rtn_engine *e, const char *key, const char *want)
{
	char *v = rtn_inv_meta_get(e->inv, key);
	bool d = !v || strcmp(v, want) != 0;
	free(v);
	return d;
}

bool rtn_guard_stale(struct rtn_engine *e, const char *hash, const char *zone)
{
	return differs(e, "rules_hash", hash) || (zone && differs(e, "timezone", zone));
}

static int entry(struct rtn_engine *e, const char *type, const char *actor, json_t *detail)
{
	struct rtn_audit_entry x = {.type = type, .actor = actor, .detail = detail};
	int r = detail ? rtn_engine_audit(e, &x) : -EIO;
	json_decref(detail);
	return r;
}

/* Each rule as a reader needs it to check a deadline: name, where it is, its canonical
 * text and that text's hash, its action, categories, span and anchor (none for keep
 * forever). */
static json_t *definitions(const struct rtn_ruleset *rs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < rs->n; i++) {
		const struct rtn_rule *r = &rs->rules[i];
		char *text = rtn_rule_canonical(r);
		json_t *cats = json_array();
		for (size_t k = 0; k < r->ncategories; k++)
			json_array_append_new(cats, json_string(r->categories[k]));
		json_t *d =
		    json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o}", "name", r->name, "file",
		              r->file, "line", r->line, "hash", r->hash, "text", text, "action",
		              r->forever ? "keep" : rtn_action_name(r->action), "categories", cats);
		if (d && !r->forever) {
			char *span = rtn_span_format(&r->span),
			     *anchor = rtn_anchor_describe(&r->anchor);
			json_object_set_new(d, "span", json_string(span));
			json_object_set_new(d, "anchor", json_string(anchor));
			free(span);
			free(anchor);
		}
		free(text);
		json_array_append_new(a, d);
	}
	return a;
}

/* Each namespace block: [{"name", "erasure_deadline" (a span, null when not set),
 * "fiscal_year_start" (a month, null when not set)}], in name order. */
static json_t *namespaces_json(const struct rtn_ruleset *rs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < rs->nnamespaces; i++) {
		const struct rtn_namespace *ns = &rs->namespaces[i];
		char *span =
		    ns->has_erasure_deadline ? rtn_span_format(&ns->erasure_deadline) : NULL;
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s?}", "name", ns->name,
		                                   "erasure_deadline", span, "fiscal_year_start",
		                                   ns->fiscal_year_start
		                                       ? rtn_month_name(ns->fiscal_year_start)
		                                       : NULL));
		free(span);
	}
	return a;
}

int rtn_guard_rules_loaded(struct rtn_engine *e, const struct rtn_ruleset *rs, const char *zone,
                           const char *actor)
{
	json_t *files = json_array();
	for (size_t i = 0; i < rs->n; i++) {
		const char *f = rs->rules[i].file;
		size_t n = json_array_size(files);
		if (!n || strcmp(json_string_value(json_array_get(files, n - 1)), f))
			json_array_append_new(files, json_string(f));
	}
	json_t *detail =
	    json_pack("{s:s, s:I, s:o, s:s, s:o, s:o}", "hash", rs->hash, "rules",
	              (json_int_t)rs->n, "files", files, "timezone", zone, "definitions",
	              definitions(rs), "namespaces", namespaces_json(rs));
	int r = rtn_engine_begin(e);
	if (r < 0) {
		json_decref(detail);
		return r;
	}
	return rtn_engine_end(e, entry(e, "rules.loaded", actor, detail));
}

/* The outcome of a recomputation, in the caller's transaction: the release of a small
 * change, the stored hash and zone, and the entries. */
static int settle_outcome(struct rtn_engine *e, bool already, const char *zone, const char *actor,
                          rtn_time_t now, struct rtn_guard_result *out)
{
	int r = 0;
	if (out->paused && !already && (int64_t)out->paused <= out->limit) {
		out->released = rtn_inv_release_paused(e->inv, "rules", now);
		r = out->released < 0 ? -EIO : 0;
	}
	if (r == 0 && (rtn_inv_meta_set(e->inv, "rules_hash", e->rules->hash) < 0 ||
	               rtn_inv_meta_set(e->inv, "timezone", zone) < 0))
		r = -EIO;
	if (out->released > 0)
		out->paused = 0;
	else
		out->released = 0;
	if (r == 0 && out->paused &&
	    !(out->by_rule = rtn_inv_paused_of_step(e->inv, "rules", NULL)))
		r = -EIO;
	if (r == 0)
		r = entry(e, "schedule.changed", actor,
		          json_pack("{s:s, s:I, s:I, s:I}", "rules_hash", e->rules->hash,
		                    "rescheduled", (json_int_t)out->changed, "paused",
		                    (json_int_t)out->paused, "released",
		                    (json_int_t)out->released));
	if (r == 0 && out->paused)
		r = entry(e, "guard.paused", actor,
		          json_pack("{s:s, s:s, s:I, s:O}", "cause", "rules", "ref", e->rules->hash,
		                    "records", (json_int_t)out->paused, "rules", out->by_rule));
	return r;
}

int rtn_guard_apply(struct rtn_engine *e, long guard, const char *zone, const char *actor,
                    size_t batch, rtn_time_t now, struct rtn_guard_result *out)
{
	memset(out, 0, sizeof(*out));
	json_t *before = rtn_inv_paused_of_step(e->inv, "rules", NULL);
	if (!before)
		return -EIO; /* unknown whether the guard holds records: release nothing */
	bool already = json_array_size(before) > 0;
	json_decref(before);
	if (rtn_engine_recompute_all(e, now, batch, guard > 0, &out->changed, &out->paused) < 0)
		return -EIO;
	out->limit = rtn_guard_limit(guard, rtn_inv_live_count(e->inv));
	int r = rtn_engine_begin(e);
	if (r == 0)
		r = rtn_engine_end(e, settle_outcome(e, already, zone, actor, now, out));
	if (r < 0) {
		json_decref(out->by_rule);
		out->by_rule = NULL;
		return -EIO;
	}
	return 0;
}

int rtn_guard_confirm(struct rtn_engine *e, rtn_time_t now, json_t **causes)
{
	if (causes)
		*causes = NULL;
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	json_t *before = causes ? rtn_inv_paused_by_rule(e->inv) : NULL;
	int n = causes && !before ? -EIO : rtn_inv_release_paused(e->inv, NULL, now);
	/* What was confirmed is no step of the guard any more: a step that goes on (an
	 * import still running) is counted afresh. */
	if (n >= 0 && rtn_inv_meta_set(e->inv, "guard_steps", "{}") < 0)
		n = -EIO;
	r = rtn_engine_end(e, n < 0 ? -EIO : 0);
	if (r == 0 && causes) {
		json_t *by = json_object(), *v;
		size_t i;
		json_array_foreach(before, i, v)
		{
			const char *cause = json_string_value(json_object_get(v, "cause"));
			json_int_t k = json_integer_value(json_object_get(v, "records")) +
			               json_integer_value(json_object_get(by, cause));
			json_object_set_new(by, cause, json_integer(k));
		}
		*causes = by;
	}
	json_decref(before);
	return r < 0 ? -EIO : n;
}

int rtn_guard_undone(struct rtn_engine *e, const char *cause, rtn_time_t now)
{
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	int n = rtn_inv_release_undone(e->inv, cause, now);
	if (n > 0)
		r = entry(e, "guard.released", "daemon",
		          json_pack("{s:s, s:i}", "cause", cause, "released", n));
	r = rtn_engine_end(e, n < 0 ? -EIO : r);
	return r < 0 ? -EIO : n;
}

/* --- one step other than a rule change ----------------------------------------------- */

/* The steps of the last window, in meta "guard_steps": {"CAUSE REF": {"since", "records",
 * "paused"}} (REF empty for a step without one), the older ones dropped. New reference, or
 * NULL when it cannot be read. */
static json_t *steps_load(struct rtn_engine *e, rtn_time_t now)
{
	char *v = rtn_inv_meta_get(e->inv, "guard_steps");
	json_t *o = v ? json_loads(v, 0, NULL) : json_object();
	free(v);
	if (!json_is_object(o)) {
		json_decref(o);
		return json_object(); /* unreadable: no earlier step counts */
	}
	const char *k;
	json_t *x, *tmp;
	json_object_foreach_safe(o, tmp, k, x)
	{
		json_t *since = json_object_get(x, "since");
		if (!json_is_integer(since) || json_integer_value(since) + e->guard_window <= now ||
		    json_integer_value(since) > now)
			json_object_del(o, k);
	}
	return o;
}

/* rtn_guard_step, where the caller knows that the step makes at least expect records due
 * in all (this call's and the ones to come): the step is over the limit as soon as that
 * is. */
static int step(struct rtn_engine *e, long guard, const char *cause, const char *ref,
                const int64_t *rids, size_t n, int64_t expect, rtn_time_t now)
{
	if (guard <= 0 || !n)
		return 0;
	json_t *steps = steps_load(e, now);
	char *key = rtn_xasprintf("%s %s", cause, ref ? ref : "");
	json_t *st = json_object_get(steps, key);
	if (!st) {
		st = json_pack("{s:I, s:I, s:b}", "since", (json_int_t)now, "records",
		               (json_int_t)0, "paused", 0);
		json_object_set_new(steps, key, st);
	}
	bool tripped = json_is_true(json_object_get(st, "paused"));
	int64_t due = 0;
	int r = 0, paused = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		int k = rtn_inv_step_mark(e->inv, rids[i], cause, ref, tripped, now);
		if (k < 0)
			r = -EIO;
		else
			due += k;
	}
	int64_t total = json_integer_value(json_object_get(st, "records")) + due;
	int64_t whole = total > expect ? total : expect;
	/* The live count is read only when the floor alone is passed. */
	if (r == 0 && tripped) {
		paused = (int)due; /* paused as they were marked */
	} else if (r == 0 && due && whole > guard &&
	           whole > rtn_guard_limit(guard, rtn_inv_live_count(e->inv))) {
		/* the step's records so far, this call's and the earlier ones not yet sent */
		paused = rtn_inv_step_pause(e->inv, cause, ref, now);
		if (paused < 0)
			r = -EIO;
		tripped = true;
	}
	json_object_set_new(st, "records", json_integer(total));
	json_object_set_new(st, "paused", json_boolean(tripped));
	char *text = r == 0 ? json_dumps(steps, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (r == 0 && (!text || rtn_inv_meta_set(e->inv, "guard_steps", text) < 0))
		r = -EIO;
	free(text);
	if (r == 0 && paused > 0) {
		json_t *rules = rtn_inv_paused_of_step(e->inv, cause, ref);
		r = rules ? entry(e, "guard.paused", "daemon",
		                  json_pack("{s:s, s:s?, s:I, s:I, s:o}", "cause", cause, "ref",
		                            ref, "records", (json_int_t)paused, "step",
		                            (json_int_t)total, "rules", rules))
		          : -EIO;
	}
	free(key);
	json_decref(steps);
	return r < 0 ? -EIO : paused;
}

int rtn_guard_step(struct rtn_engine *e, long guard, const char *cause, const char *ref,
                   const int64_t *rids, size_t n, rtn_time_t now)
{
	return step(e, guard, cause, ref, rids, n, 0, now);
}

int rtn_guard_advance(struct rtn_engine *e, long guard, const char *cause, rtn_time_t now,
                      size_t max, size_t *n, int *paused)
{
	int64_t *rids = rtn_xcalloc(max, sizeof(*rids));
	*n = 0;
	*paused = 0;
	int k = rtn_inv_due_rids(e->inv, now, rids, (int)max), r = 0;
	if (k <= 0) {
		free(rids);
		return k;
	}
	/* More than one transaction's worth: how many in all, up to one past the limit, so
	 * that the first batches are not released (and sent) before the step is known to be
	 * too large. */
	int64_t expect = k;
	if ((size_t)k == max && guard > 0) {
		int64_t lim = rtn_guard_limit(guard, rtn_inv_live_count(e->inv));
		if (lim >= (int64_t)max && lim < INT32_MAX) {
			int64_t *all = rtn_xcalloc((size_t)lim + 1, sizeof(*all));
			int m = rtn_inv_due_rids(e->inv, now, all, (int)lim + 1);
			free(all);
			if (m < 0) {
				free(rids);
				return -EIO;
			}
			expect = m;
		}
	}
	if ((r = rtn_engine_begin(e)) == 0) {
		for (int i = 0; i < k && r == 0; i++) {
			bool c;
			r = rtn_engine_redecide(e, rids[i], now, false, &c, NULL);
		}
		int p = r == 0 ? step(e, guard, cause, NULL, rids, (size_t)k, expect, now) : 0;
		if (p < 0)
			r = p;
		if ((r = rtn_engine_end(e, r)) == 0) {
			*n = (size_t)k;
			*paused = p;
		}
	}
	free(rids);
	return r;
}
