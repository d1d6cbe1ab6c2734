/* commands_report.c - the proof-of-deletion report */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "auditlog.h"
#include "commands_int.h"
#include "ops.h"

/* The report row of (rule, category), made on first use. */
static json_t *row_for(json_t *rows, const char *rule, const char *category)
{
	/* Rows live as JSON objects; counts are updated in place. */
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		if (!strcmp(json_string_value(json_object_get(r, "rule")), rule) &&
		    !strcmp(json_string_value(json_object_get(r, "category")), category))
			return r;
	}
	r = json_pack("{s:s, s:s, s:n, s:I, s:I, s:I, s:I}", "rule", rule, "category", category,
	              "basis", "deleted", (json_int_t)0, "anonymized", (json_int_t)0, "failed",
	              (json_int_t)0, "retained", (json_int_t)0);
	json_array_append_new(rows, r);
	return r;
}

static void bump(json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key);
	json_integer_set(v, json_integer_value(v) + 1);
}

int cmd_report(struct cmd_ctx *c)
{
	ARGS("since", "until", "category");
	rtn_time_t since, until;
	if (cmd_arg_time(c, "since", true, &since) < 0 ||
	    cmd_arg_time(c, "until", true, &until) < 0)
		return -1;
	const char *category = cmd_arg_string(c, "category", false);
	if (c->err.code)
		return -1;
	if (until <= since)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "\"until\" must be after \"since\"");
	audit_flush();
	char err[512], **paths;
	size_t npaths;
	if (audit_files(since, until, &paths, &npaths, err, sizeof(err)) < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	json_t *rows = json_array();
	static const char *const types[] = {"job.done", "job.dead", "erase.retained"};
	for (size_t t = 0; t < 3; t++) {
		struct rtn_audit_filter f = {
		    .since = since, .until = until, .category = category, .type = types[t]};
		json_t *q;
		if (rtn_audit_query((const char **)paths, npaths, &f, &q, err, sizeof(err)) < 0) {
			audit_files_free(paths, npaths);
			json_decref(rows);
			return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
		}
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(q, "entries"), i, e)
		{
			const char *rule = json_string_value(json_object_get(e, "rule"));
			const char *cat = json_string_value(json_object_get(e, "category"));
			json_t *r = row_for(rows, rule ? rule : "", cat ? cat : "");
			const char *basis = json_string_value(json_object_get(e, "basis"));
			if (basis && json_is_null(json_object_get(r, "basis")))
				json_object_set_new(r, "basis", json_string(basis));
			const char *action = json_string_value(
			    json_object_get(json_object_get(e, "detail"), "action"));
			if (t == 0)
				bump(r, action && !strcmp(action, "anonymize") ? "anonymized"
				                                               : "deleted");
			else
				bump(r, t == 1 ? "failed" : "retained");
		}
		json_decref(q);
	}
	audit_files_free(paths, npaths);
	json_int_t tot[4] = {0};
	size_t i;
	json_t *r;
	static const char *const keys[] = {"deleted", "anonymized", "failed", "retained"};
	json_array_foreach(rows, i, r) for (size_t k = 0; k < 4; k++) tot[k] +=
	    json_integer_value(json_object_get(r, keys[k]));
	json_int_t inv_deleted;
	json_t *tomb = rtn_ops_deleted_between(&c->d->engine, since, until, category, &inv_deleted);
	c->result = json_pack(
	    "{s:o, s:o, s:s?, s:o, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:o}, s:o, s:o}", "since",
	    rtn_time_to_json(since), "until", rtn_time_to_json(until), "category", category, "rows",
	    rows, "totals", "deleted", tot[0], "anonymized", tot[1], "failed", tot[2], "retained",
	    tot[3], "inventory", "deleted", inv_deleted, "by_rule", tomb, "pending_erasures",
	    rtn_ops_erasures_status(&c->d->engine, daemon_now()), "audit", audit_status());
	return 0;
}
