/* commands.c - the control protocol's commands (doc/control-protocol.md)
 *
 * One table: name, whether the command only reads, and its handler. Handlers take the
 * request's args and return 0 with a result, or an error code and message.
 */
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"
#include "erasures.h"
#include "guard.h"
#include "jsonw.h"
#include "log.h"
#include "ops.h"
#include "proto.h"
#include "reconcile.h"
#include "record.h"
#include "util.h"

#include "commands_int.h"

static bool kick_wanted;
static struct cmd_calls calls;

void commands_init(const struct cmd_calls *c)
{
	calls = *c;
}

/* Records changed: erasure requests the change ended are closed before the command's
 * transaction commits (commands_answer); the timer and the dispatcher look again once it
 * has committed (never inside it: nothing is sent before the commit). */
void cmd_changed(void)
{
	kick_wanted = true;
}

int cmd_fail(struct cmd_ctx *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err.message, sizeof(c->err.message), fmt, ap);
	va_end(ap);
	c->err.code = code;
	return -1;
}

/* A required string argument. */
const char *cmd_arg_string(struct cmd_ctx *c, const char *name, bool required)
{
	json_t *v = json_object_get(c->args, name);
	if (!v || json_is_null(v)) {
		if (required)
			cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"%s\" is required", name);
		return NULL;
	}
	if (!json_is_string(v) || !json_string_length(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"%s\" must be a non-empty string", name);
		return NULL;
	}
	return json_string_value(v);
}

int cmd_check_args(struct cmd_ctx *c, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(c->args, k, v)
	{
		size_t i;
		for (i = 0; allowed[i] && strcmp(allowed[i], k); i++)
			;
		if (!allowed[i])
			return cmd_fail(c, RTN_E_BAD_REQUEST, "unknown argument \"%.64s\"", k);
	}
	return 0;
}

/* Map an engine return code to a protocol error. */
int cmd_engine_fail(struct cmd_ctx *c, int r, const char *msg)
{
	switch (r) {
	case -ENOENT:
		return cmd_fail(c, RTN_E_NOT_FOUND, "%s", msg);
	case -EINVAL:
		return cmd_fail(c, RTN_E_BAD_REQUEST, "%s", msg);
	case -EEXIST:
		return cmd_fail(c, RTN_E_CONFLICT, "%s", msg);
	default:
		rtn_err("%s", msg);
		return cmd_fail(c, RTN_E_INTERNAL, "%s", msg);
	}
}

const char *cmd_peer_actor(const struct cmd_ctx *c, char buf[32])
{
	snprintf(buf, 32, "uid:%u", (unsigned)c->peer->uid);
	return buf;
}

/* --- status ---------------------------------------------------------------------- */

static int cmd_status(struct cmd_ctx *c)
{
	NOARGS();
	struct daemon *d = c->d;
	rtn_time_t now = daemon_now();
	struct rtn_ops_status st;
	rtn_ops_status(&d->engine, now, &st);
	json_t *ctl = calls.control();
	json_object_set_new(ctl, "wakeups", json_integer((json_int_t)calls.wakeups()));
	c->result = json_pack(
	    "{s:s, s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:s, s:o}, s:{s:I, s:o}, "
	    "s:o, s:o, s:i}",
	    "version", RTN_VERSION, "uptime", (json_int_t)(now - d->started), "time",
	    rtn_time_to_json(now), "timezone", d->cfg.timezone, "records", st.records, "unmanaged",
	    st.unmanaged, "next_deadline", st.next_deadline, "jobs", st.jobs, "jobs_by_backend",
	    st.jobs_by_backend, "backends", calls.backends(), "rules", "count",
	    (json_int_t)d->rules.n, "hash", d->rules.hash, "loaded",
	    rtn_time_to_json(d->rules_loaded), "guard", "paused", st.paused, "rules",
	    st.paused_by_rule, "control", ctl, "erasures", st.erasures, "protocol",
	    RTN_CONTROL_VERSION);
	if (c->result) {
		json_object_set_new(c->result, "audit", audit_status());
		json_object_set_new(c->result, "notices_missed",
		                    json_integer((json_int_t)d->engine.notices_missed));
	}
	return 0;
}

/* metrics: the text exposition format of Prometheus, as metrics-file and metrics-listen
 * give it. */
static int cmd_metrics(struct cmd_ctx *c)
{
	NOARGS();
	size_t len;
	char *text = calls.metrics ? calls.metrics(&len) : NULL;
	if (!text)
		return cmd_fail(c, RTN_E_INTERNAL, "the inventory cannot be read: %s",
		                rtn_engine_errmsg(&c->d->engine));
	c->result = json_pack("{s:s%, s:s}", "text", text, len, "content_type",
	                      "text/plain; version=0.0.4; charset=utf-8");
	free(text);
	return 0;
}

/* --- records ----------------------------------------------------------------------- */

/* The entries of a put, their detail written by the engine without a tree (an import
 * writes them by the million): record.put per record stored, one record.unchanged. */
void commands_put_hook(void *ctx, const char *type, const struct rtn_record *r,
                       struct rtn_jw *detail, int err)
{
	struct rtn_audit_entry entry = {.type = type,
	                                .actor = ctx,
	                                .record = r ? r->id : NULL,
	                                .category = r ? r->category : NULL};
	audit_entry_written(&entry, detail, err);
}

/* record.put's validation and encoding, done ahead. */
struct cmd_prep {
	int r;
	struct rtn_put *put;
	json_t *details;
	json_t *until; /* record.preview's, taken out of the args */
	char err[512];
};

struct cmd_prep *commands_prepare(const struct rtn_request *req)
{
	bool preview = req->cmd && !strcmp(req->cmd, "record.preview");
	if (!req->cmd || (strcmp(req->cmd, "record.put") != 0 && !preview))
		return NULL;
	struct cmd_prep *p = rtn_xcalloc(1, sizeof(*p));
	if (preview && json_is_object(req->args)) {
		p->until = json_incref(json_object_get(req->args, "until"));
		json_object_del(req->args, "until");
	}
	p->r =
	    rtn_put_prepare(req->args, daemon_now(), &p->put, &p->details, p->err, sizeof(p->err));
	return p;
}

void commands_prep_free(struct cmd_prep *p)
{
	if (!p)
		return;
	rtn_put_free(p->put);
	json_decref(p->details);
	json_decref(p->until);
	free(p);
}

/* The states a put reports, after the guard paused some of its records (rare: read again). */
static void paused_states(struct cmd_ctx *c)
{
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(c->result, "records"), i, b)
	{
		const char *st = json_string_value(json_object_get(b, "state"));
		json_t *rec = NULL;
		if (!st || (strcmp(st, "queued") && strcmp(st, "review")) ||
		    rtn_engine_get(&c->d->engine, json_string_value(json_object_get(b, "id")),
		                   daemon_now(), &rec) < 0)
			continue;
		const char *now_st = json_string_value(json_object_get(rec, "state"));
		if (now_st && !strcmp(now_st, "paused"))
			json_object_set_new(b, "state", json_string("paused"));
		json_decref(rec);
	}
}

static int cmd_record_put(struct cmd_ctx *c)
{
	char err[512], who[32];
	const struct cmd_prep *p = c->prep;
	if (!p)
		return cmd_fail(c, RTN_E_INTERNAL, "record.put was not prepared");
	if (p->r < 0) {
		c->err.details = json_incref(p->details);
		return cmd_engine_fail(c, p->r, p->err);
	}
	c->d->engine.put_hook = commands_put_hook;
	c->d->engine.hook_ctx = (void *)cmd_peer_actor(c, who);
	rtn_time_t now = daemon_now();
	int r = rtn_engine_put_prepared(&c->d->engine, p->put, now, &c->result, err, sizeof(err));
	c->d->engine.put_hook = NULL;
	if (r < 0)
		return cmd_engine_fail(c, r, err);
	/* What the put made due is one step of the import (all its batches within the
	 * guard's window), or of the single puts, under the guard; in the same transaction. */
	size_t ndue;
	const int64_t *due = rtn_put_due(p->put, &ndue);
	const char *import = rtn_put_import(p->put);
	int paused =
	    rtn_guard_step(&c->d->engine, c->d->cfg.guard, "import", import, due, ndue, now);
	if (paused < 0)
		return cmd_engine_fail(c, -EIO, rtn_engine_errmsg(&c->d->engine));
	json_object_set_new(c->result, "paused", json_integer(paused));
	if (paused)
		paused_states(c);
	if (paused)
		rtn_warn("mass-deletion guard: import %s made more records due at once than "
		         "the guard allows; %d paused until `retentionctl guard confirm`",
		         import ? import : "(single puts)", paused);
	cmd_changed();
	return 0;
}

/* record.preview: a record.put (with "until") stored and planned in a transaction that is
 * rolled back: nothing stays, no entry is written. Outside rtn_ops_run (its own
 * transaction is the one rolled back). */
static int cmd_record_preview(struct cmd_ctx *c)
{
	char err[512];
	const struct cmd_prep *p = c->prep;
	if (!p)
		return cmd_fail(c, RTN_E_INTERNAL, "record.preview was not prepared");
	if (p->r < 0) {
		c->err.details = json_incref(p->details);
		return cmd_engine_fail(c, p->r, p->err);
	}
	if (!p->until)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "missing \"until\"");
	json_t *args = json_pack("{s:O}", "until", p->until), *saved = c->args;
	rtn_time_t until;
	c->args = args;
	int r = cmd_arg_time(c, "until", true, &until);
	c->args = saved;
	json_decref(args);
	if (r < 0)
		return -1;
	r = rtn_ops_preview(&c->d->engine, p->put, c->d->cfg.guard, until, daemon_now(), &c->result,
	                    err, sizeof(err));
	return r < 0 ? cmd_engine_fail(c, r, err) : 0;
}

static int cmd_record_get(struct cmd_ctx *c)
{
	ARGS("id");
	const char *id = cmd_arg_string(c, "id", true);
	if (!id)
		return -1;
	int r = rtn_engine_get(&c->d->engine, id, daemon_now(), &c->result);
	if (r == -ENOENT)
		return cmd_fail(c, RTN_E_NOT_FOUND, "no record \"%.128s\"", id);
	return r < 0 ? cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine)) : 0;
}

/* What a record.event entry shows of the record now: its events (name -> time), the
 * attribute names changed (none), what the decision scheduled ({"action", "due", "rule"},
 * left out when nothing), its subject. */
static void event_evidence(struct cmd_ctx *c, const char *id, json_t *detail)
{
	json_t *g = NULL;
	if (rtn_engine_get(&c->d->engine, id, daemon_now(), &g) == 0) {
		json_object_set(detail, "events", json_object_get(g, "events"));
		char ps[RTN_PSEUDONYM_LEN + 1];
		const char *subject = json_string_value(json_object_get(g, "subject"));
		if (subject)
			json_object_set_new(
			    detail, "subject",
			    json_string(rtn_engine_pseudonym(&c->d->engine, subject, ps)));
	}
	json_decref(g);
	json_object_set_new(detail, "changed", json_array());
	json_t *sched = json_array(), *x;
	size_t i;
	json_array_foreach(json_object_get(c->result, "schedule"), i, x) json_array_append_new(
	    sched, json_pack("{s:O, s:O, s:O}", "action", json_object_get(x, "action"), "due",
	                     json_object_get(x, "at"), "rule", json_object_get(x, "rule")));
	if (json_array_size(sched))
		json_object_set_new(detail, "schedule", sched);
	else
		json_decref(sched);
}

static int cmd_record_event(struct cmd_ctx *c)
{
	ARGS("id", "event", "at");
	const char *id = cmd_arg_string(c, "id", true);
	const char *ev = id ? cmd_arg_string(c, "event", true) : NULL;
	json_t *at = json_object_get(c->args, "at");
	if (!ev)
		return -1;
	if (!at)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"at\" is required");
	/* Besides RFC 3339 and Unix seconds, a person may give a local date or time. */
	rtn_time_t t;
	json_t *local = NULL;
	if (json_is_string(at) && rtn_time_parse(json_string_value(at), &t) < 0 &&
	    rtn_time_parse_local(c->d->engine.zone, json_string_value(at), &t) == 0)
		at = local = json_integer(t);
	char err[512];
	int r =
	    rtn_engine_event(&c->d->engine, id, ev, at, daemon_now(), &c->result, err, sizeof(err));
	if (r < 0) {
		json_decref(local);
		return cmd_engine_fail(c, r, err);
	}
	char who[32];
	json_t *detail = json_pack("{s:s, s:O}", "event", ev, "at", at);
	event_evidence(c, id, detail);
	audit_event("record.event", cmd_peer_actor(c, who), id, NULL, NULL, NULL, NULL, detail);
	json_decref(local);
	cmd_changed();
	return 0;
}

static int cmd_record_set(struct cmd_ctx *c)
{
	ARGS("id", "attributes");
	const char *id = cmd_arg_string(c, "id", true);
	if (!id)
		return -1;
	json_t *attrs = json_object_get(c->args, "attributes");
	if (!attrs)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"attributes\" is required");
	char err[512];
	int r =
	    rtn_engine_set(&c->d->engine, id, attrs, daemon_now(), &c->result, err, sizeof(err));
	if (r < 0)
		return cmd_engine_fail(c, r, err);
	/* Attribute names only: their values may be personal data. */
	json_t *names = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v) json_array_append_new(names, json_string(k));
	char who[32];
	audit_event("record.set", cmd_peer_actor(c, who), id, NULL, NULL, NULL, NULL,
	            json_pack("{s:o, s:O}", "attributes", names, "schedule",
	                      json_object_get(c->result, "schedule")));
	cmd_changed();
	return 0;
}

static int cmd_record_forget(struct cmd_ctx *c)
{
	ARGS("id");
	const char *id = cmd_arg_string(c, "id", true);
	if (!id)
		return -1;
	char err[512];
	int r = rtn_engine_forget(&c->d->engine, id, daemon_now(), &c->result, err, sizeof(err));
	if (r < 0)
		return cmd_engine_fail(c, r, err);
	char who[32];
	audit_event("record.forget", cmd_peer_actor(c, who), id, NULL, NULL, NULL, NULL, NULL);
	cmd_changed();
	return 0;
}

static int cmd_explain(struct cmd_ctx *c)
{
	ARGS("id");
	const char *id = cmd_arg_string(c, "id", true);
	if (!id)
		return -1;
	int r = rtn_engine_explain(&c->d->engine, id, daemon_now(), &c->result);
	if (r == -ENOENT)
		return cmd_fail(c, RTN_E_NOT_FOUND, "no record \"%.128s\"", id);
	return r < 0 ? cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine)) : 0;
}

/* A time argument: RFC 3339, a local date or time in the zone, or Unix seconds. */
int cmd_arg_time(struct cmd_ctx *c, const char *name, bool required, rtn_time_t *out)
{
	json_t *v = json_object_get(c->args, name);
	*out = RTN_TIME_NONE;
	if (!v || json_is_null(v)) {
		if (required)
			return cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"%s\" is required", name);
		return 0;
	}
	if (json_is_string(v) &&
	    rtn_time_parse_local(c->d->engine.zone, json_string_value(v), out) == 0)
		return 0;
	if (json_is_integer(v) && rtn_time_from_json(v, out) == 0)
		return 0;
	return cmd_fail(c, RTN_E_BAD_REQUEST,
	                "argument \"%s\": expected an RFC 3339 time, a date YYYY-MM-DD or "
	                "YYYY-MM-DDTHH:MM[:SS] in %s, or Unix seconds",
	                name, c->d->cfg.timezone);
}

int cmd_arg_limit(struct cmd_ctx *c, size_t def, size_t max, size_t *out)
{
	json_t *v = json_object_get(c->args, "limit");
	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    (unsigned long long)json_integer_value(v) > max)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"limit\" must be from 1 to %zu",
		                max);
	*out = (size_t)json_integer_value(v);
	return 0;
}

static int cmd_plan(struct cmd_ctx *c)
{
	ARGS("until", "category", "limit");
	rtn_time_t until;
	size_t limit;
	if (cmd_arg_time(c, "until", true, &until) < 0 ||
	    cmd_arg_limit(c, 1000, 1000000, &limit) < 0)
		return -1;
	const char *cat = cmd_arg_string(c, "category", false);
	if (!cat && c->err.code)
		return -1;
	int r = rtn_engine_plan(&c->d->engine, until, cat, limit, &c->result);
	return r < 0 ? cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine)) : 0;
}

static int cmd_subject_show(struct cmd_ctx *c)
{
	ARGS("subject");
	const char *s = cmd_arg_string(c, "subject", true);
	if (!s)
		return -1;
	int r = rtn_engine_subject(&c->d->engine, s, daemon_now(), &c->result);
	return r < 0 ? cmd_engine_fail(c, r, rtn_engine_errmsg(&c->d->engine)) : 0;
}

/* --- rules ------------------------------------------------------------------------- */

static json_t *cond_strings(const struct rtn_rule *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->nconds; i++) {
		char *t = rtn_cond_describe(&r->conds[i]);
		json_array_append_new(a, json_string(t));
		free(t);
	}
	return a;
}

static int cmd_rules_list(struct cmd_ctx *c)
{
	NOARGS();
	const struct rtn_ruleset *rs = &c->d->rules;
	json_t *a = json_array();
	for (size_t i = 0; i < rs->n; i++) {
		const struct rtn_rule *r = &rs->rules[i];
		json_t *cats = json_array();
		for (size_t k = 0; k < r->ncategories; k++)
			json_array_append_new(cats, json_string(r->categories[k]));
		char *stmt = rtn_rule_describe(r);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:i, s:s, s:o, s:s, s:s, s:o, s:s?, s:b, s:s?}",
		                 "rule", r->name, "file", r->file, "line", r->line, "hash", r->hash,
		                 "categories", cats, "action",
		                 r->forever ? "keep" : rtn_action_name(r->action), "statement",
		                 stmt, "conditions", cond_strings(r), "backend", r->backend,
		                 "review", r->review, "basis", r->basis));
		if (r->nreview_groups) { /* review by GROUP...: the stages in order */
			json_t *by = json_array();
			for (size_t k = 0; k < r->nreview_groups; k++)
				json_array_append_new(by, json_string(r->review_groups[k]));
			json_object_set_new(json_array_get(a, json_array_size(a) - 1), "review_by",
			                    by);
		}
		free(stmt);
	}
	c->result =
	    json_pack("{s:I, s:s, s:o}", "count", (json_int_t)rs->n, "hash", rs->hash, "rules", a);
	return 0;
}

json_t *commands_problems_json(const struct rtn_diags *diags)
{
	json_t *a = json_array();
	for (size_t i = 0; i < diags->n; i++) {
		const struct rtn_diag *g = &diags->v[i];
		char *text = rtn_diag_format(g);
		json_array_append_new(a,
		                      json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}", "file", g->file,
		                                "line", g->line, "col", g->col, "severity",
		                                g->sev == RTN_SEV_ERROR ? "error" : "warning",
		                                "message", g->msg, "text", text));
		free(text);
	}
	return a;
}

static int cmd_rules_check(struct cmd_ctx *c)
{
	ARGS("text");
	json_t *text = json_object_get(c->args, "text");
	struct rtn_diags diags;
	rtn_diags_init(&diags);
	if (text && !json_is_string(text))
		return cmd_fail(c, RTN_E_BAD_REQUEST, "argument \"text\" must be a string");
	const char **names = rtn_config_backend_names(&c->d->cfg);
	if (text) {
		struct rtn_ruleset rs;
		rtn_ruleset_init(&rs);
		rs.fiscal_year_start = c->d->cfg.fiscal_year_start;
		rtn_rules_parse("(text)", json_string_value(text), json_string_length(text), &rs,
		                &diags);
		rtn_ruleset_finish(&rs, &diags);
		rtn_ruleset_lint(&rs, names, c->d->cfg.nbackends, &diags);
		rtn_ruleset_free(&rs);
	} else {
		rtn_ruleset_lint(&c->d->rules, names, c->d->cfg.nbackends, &diags);
	}
	free(names);
	c->result = json_pack("{s:b, s:o, s:o}", "valid", diags.nerrors == 0, "problems",
	                      commands_problems_json(&diags), "unmanaged",
	                      rtn_ops_unmanaged(&c->d->engine));
	rtn_diags_fini(&diags);
	return 0;
}

static int cmd_rules_reload(struct cmd_ctx *c)
{
	NOARGS();
	json_t *problems = NULL;
	char who[32];
	int r = calls.reload(cmd_peer_actor(c, who), &problems, &c->result);
	if (r == -EAGAIN)
		return cmd_fail(c, RTN_E_INTERNAL,
		                "the audit log cannot take entries: the old rules stay loaded");
	if (r == -EIO)
		return cmd_fail(
		    c, RTN_E_INTERNAL,
		    "the rules were loaded, but rescheduling the inventory failed (%s); "
		    "nothing new is sent until it is done, which the daemon retries",
		    rtn_engine_errmsg(&c->d->engine));
	if (r < 0) {
		c->err.details = problems;
		return cmd_fail(c, RTN_E_INVALID_RULES,
		                "the rules have errors; the old rules stay loaded");
	}
	return 0;
}

/* scan: a backend asked to list what it holds, now. "wait" is the client's: it waits by
 * polling status for the scan's outcome. */
static int cmd_scan(struct cmd_ctx *c)
{
	ARGS("backend", "wait");
	const char *name = cmd_arg_string(c, "backend", true);
	if (!name)
		return -1;
	char who[32], id[RTN_SCAN_ID_MAX], err[256];
	int r = calls.scan(name, cmd_peer_actor(c, who), id, err, sizeof(err));
	if (r == -ENOENT)
		return cmd_fail(c, RTN_E_NOT_FOUND, "%s", err);
	if (r == -EIO)
		return cmd_fail(c, RTN_E_INTERNAL, "%s", err);
	if (r < 0)
		return cmd_fail(c, RTN_E_CONFLICT, "%s", err);
	c->result = json_pack("{s:s, s:s}", "scan", id, "backend", name);
	return 0;
}

static const struct cmd_entry table[] = {
    {"status", true, cmd_status},
    {"record.put", false, cmd_record_put},
    {"record.preview", false, cmd_record_preview},
    {"record.get", true, cmd_record_get},
    {"record.event", false, cmd_record_event},
    {"record.set", false, cmd_record_set},
    {"record.forget", false, cmd_record_forget},
    {"explain", true, cmd_explain},
    {"plan", true, cmd_plan},
    {"subject.show", true, cmd_subject_show},
    {"rules.list", true, cmd_rules_list},
    {"rules.check", true, cmd_rules_check},
    {"rules.reload", false, cmd_rules_reload},
    {"rules.confirm", false, cmd_rules_confirm},
    {"scan", false, cmd_scan},
    {"guard.confirm", false, cmd_guard_confirm},
    {"hold.place", false, cmd_hold_place},
    {"hold.release", false, cmd_hold_release},
    {"hold.list", true, cmd_hold_list},
    {"review.list", true, cmd_review_list},
    {"review.approve", false, cmd_review_approve},
    {"review.reject", false, cmd_review_reject},
    {"erase", false, cmd_erase},
    {"jobs.list", true, cmd_jobs_list},
    {"jobs.retry", false, cmd_jobs_retry},
    {"audit.query", true, cmd_audit_query},
    {"audit.verify", true, cmd_audit_verify},
    {"audit.check", true, cmd_audit_check},
    {"report", true, cmd_report},
    {"audit.rotate", false, cmd_audit_rotate},
    {"metrics", true, cmd_metrics},
};

static const struct cmd_entry *find(const char *cmd)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, cmd) == 0)
			return &table[i];
	return NULL;
}

const char *commands_lookup(const char *cmd)
{
	const struct cmd_entry *e = cmd ? find(cmd) : NULL;
	return e ? e->name : NULL;
}

char *commands_refuse(const struct peer *peer, json_t *id, const char *cmd, size_t *rlen)
{
	char err[256];
	audit_refusal(peer->uid, peer->gid, peer->pid, cmd);
	audit_flush();
	if (peer->level == PEER_NONE)
		snprintf(err, sizeof(err),
		         "uid %u may not use the control socket: it is not root, the daemon's user "
		         "or in admin-group or audit-group",
		         (unsigned)peer->uid);
	else
		snprintf(err, sizeof(err), "uid %u may not use %s: audit-group may only read",
		         (unsigned)peer->uid, cmd);
	char *reply = rtn_reply_error(id, RTN_E_FORBIDDEN, err, NULL, rlen);
	if (!reply) /* an id jansson cannot encode: never expected, never silent */
		reply = rtn_reply_error(NULL, RTN_E_FORBIDDEN, err, NULL, rlen);
	return reply;
}

struct in_tx {
	const struct cmd_entry *e;
	struct cmd_ctx *c;
};

/* A state-changing command inside its transaction: it commits only with a result. */
static int run_in_tx(void *ctx, bool *settle)
{
	struct in_tx *t = ctx;
	int rc = t->e->fn(t->c);
	*settle = kick_wanted;
	return rc == 0 && !t->c->result ? -1 : rc;
}

char *commands_answer(struct daemon *d, const struct peer *peer, struct rtn_request *req,
                      const char *decode_err, struct cmd_prep *prep, size_t *rlen)
{
	char err[256];
	if (peer->level == PEER_NONE) /* control.c answers strangers itself; never decoded */
		return commands_refuse(peer, req->id, decode_err ? NULL : commands_lookup(req->cmd),
		                       rlen);
	if (decode_err)
		return rtn_reply_error(req->id, RTN_E_BAD_REQUEST, decode_err, NULL, rlen);
	const struct cmd_entry *e = find(req->cmd);
	char *reply;
	if (!e) {
		snprintf(err, sizeof(err), "unknown command \"%.64s\"", req->cmd);
		reply = rtn_reply_error(req->id, RTN_E_BAD_REQUEST, err, NULL, rlen);
	} else if (peer->level == PEER_NONE || (peer->level == PEER_READ && !e->read_only)) {
		return commands_refuse(peer, req->id, e->name, rlen);
	} else {
		struct cmd_ctx c = {.d = d, .peer = peer, .args = req->args, .prep = prep};
		int rc;
		/* A command that changes state runs in one transaction with its audit entries:
		 * they are on disk before it commits, and if they cannot be, nothing changes
		 * and the command fails. */
		if (!e->read_only && e->fn != cmd_rules_reload && /* reload batches its own */
		    e->fn != cmd_record_preview &&                /* a preview rolls its back */
		    e->fn != cmd_audit_rotate) {                  /* renames files between them */
			struct in_tx t = {e, &c};
			json_t *done = NULL;
			int r = rtn_ops_run(&d->engine, daemon_now(), run_in_tx, &t, &rc, &done);
			erasures_log(done);
			if (r < 0) {
				kick_wanted = false;
				if (rc == 0) {
					rtn_err("control: %s from uid %u not done: %s", e->name,
					        (unsigned)peer->uid, rtn_engine_errmsg(&d->engine));
					json_decref(c.result);
					c.result = NULL;
					rc = cmd_fail(&c, RTN_E_INTERNAL, "%s",
					              rtn_engine_errmsg(&d->engine));
				}
			}
		} else {
			rc = e->fn(&c);
		}
		if (c.refused) /* after the rollback, which would have taken it back */
			audit_refusal(peer->uid, peer->gid, peer->pid, e->name);
		if (rc == 0 && c.result) {
			reply = rtn_reply_ok(req->id, c.result, rlen);
		} else if (!c.err.code && !c.result) {
			rtn_err("control: %s built no result", e->name);
			reply = rtn_reply_error(req->id, RTN_E_INTERNAL,
			                        "the result could not be built", NULL, rlen);
		} else {
			json_decref(c.result);
			reply = rtn_reply_error(req->id, c.err.code ? c.err.code : RTN_E_INTERNAL,
			                        c.err.message, c.err.details, rlen);
		}
	}
	audit_flush();
	if (kick_wanted) {
		kick_wanted = false;
		calls.kick();
	}
	if (!reply) /* a result jansson cannot encode: never expected, never silent */
		reply =
		    rtn_reply_error(NULL, RTN_E_INTERNAL, "reply could not be encoded", NULL, rlen);
	return reply;
}
