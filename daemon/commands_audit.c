/* commands_audit.c - audit.query, audit.verify and audit.check, over the files of the
 * rotated log that the period needs (audit_files()) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_check.h"
#include "auditlog.h"
#include "metrics.h"

#include "commands_int.h"

#define QUERY_LIMIT_MAX 100000

json_t *cmd_paths_json(char **paths, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(paths[i]));
	return a;
}

int cmd_audit_query(struct cmd_ctx *c)
{
	ARGS("since", "until", "record", "category", "subject", "type", "limit");
	struct rtn_audit_filter f = {.since = RTN_TIME_NONE, .until = RTN_TIME_NONE, .last = true};
	size_t limit;
	if (cmd_arg_time(c, "since", false, &f.since) < 0 ||
	    cmd_arg_time(c, "until", false, &f.until) < 0 ||
	    cmd_arg_limit(c, 100, QUERY_LIMIT_MAX, &limit) < 0)
		return -1;
	f.limit = limit;
	f.record = cmd_arg_string(c, "record", false);
	f.category = c->err.code ? NULL : cmd_arg_string(c, "category", false);
	f.subject = c->err.code ? NULL : cmd_arg_string(c, "subject", false);
	char ps[RTN_PSEUDONYM_LEN + 1];
	if (f.subject && c->d->pseudo) /* entries name subjects by pseudonym */
		f.pseudonym = rtn_engine_pseudonym(&c->d->engine, f.subject, ps);
	f.type = c->err.code ? NULL : cmd_arg_string(c, "type", false);
	if (c->err.code)
		return -1;
	audit_flush();
	char err[512], **paths;
	size_t n;
	if (audit_files(f.since, f.until, &paths, &n, err, sizeof(err)) < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	int r = rtn_audit_query((const char *const *)paths, n, &f, &c->result, err, sizeof(err));
	if (r == 0)
		json_object_set_new(c->result, "files", cmd_paths_json(paths, n));
	audit_files_free(paths, n);
	if (r < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	return 0;
}

int cmd_audit_verify(struct cmd_ctx *c)
{
	NOARGS();
	if (audit_sync() < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "the audit log cannot be written out");
	char err[512], **paths;
	size_t n;
	if (audit_files(RTN_TIME_NONE, RTN_TIME_NONE, &paths, &n, err, sizeof(err)) < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	/* The daemon's own head must be the current file's last entry: anything else means
	 * the file was cut or rewritten behind its back. */
	json_t *st = audit_status();
	const char *head = json_string_value(json_object_get(st, "head"));
	int r = rtn_audit_verify((const char *const *)paths, n, head, &c->result, err, sizeof(err));
	json_decref(st);
	if (r == 0)
		json_object_set_new(c->result, "files", cmd_paths_json(paths, n));
	if (r == 0 && json_is_true(json_object_get(c->result, "valid")))
		metrics_verified(daemon_now());
	audit_files_free(paths, n);
	if (r < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	return 0;
}

int cmd_audit_check(struct cmd_ctx *c)
{
	ARGS("since", "until");
	struct rtn_audit_check_opts o = {
	    .since = RTN_TIME_NONE, .until = RTN_TIME_NONE, .now = daemon_now()};
	if (cmd_arg_time(c, "since", false, &o.since) < 0 ||
	    cmd_arg_time(c, "until", false, &o.until) < 0)
		return -1;
	if (o.since != RTN_TIME_NONE && o.until != RTN_TIME_NONE && o.until <= o.since)
		return cmd_fail(c, RTN_E_BAD_REQUEST, "\"until\" must be after \"since\"");
	if (audit_sync() < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "the audit log cannot be written out");
	/* From the file holding since to the current one: a job sent in the period may be
	 * done after it. */
	char err[512], **paths;
	size_t n;
	if (audit_files(o.since, RTN_TIME_NONE, &paths, &n, err, sizeof(err)) < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	rtn_audit_check_online(&c->d->engine, &o);
	int r = rtn_audit_check((const char *const *)paths, n, &o, &c->result, err, sizeof(err));
	if (r == 0)
		json_object_set_new(c->result, "files", cmd_paths_json(paths, n));
	audit_files_free(paths, n);
	if (r < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit check: %s", err);
	return 0;
}

/* What SIGUSR1 does, for a peer that may change state; not in a transaction of the
 * engine (commands_answer): the renames happen between transactions, never inside one. */
int cmd_audit_rotate(struct cmd_ctx *c)
{
	NOARGS();
	char who[32], *rotated;
	int r = audit_rotate(cmd_peer_actor(c, who), &rotated);
	if (r == -EEXIST)
		return cmd_fail(c, RTN_E_CONFLICT,
		                "the audit log was rotated less than a second ago; try again");
	if (r < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "the audit log cannot be rotated: %s",
		                strerror(-r));
	json_t *st = audit_status();
	c->result = json_pack("{s:s, s:s, s:O, s:O}", "previous", rotated, "current", audit_path(),
	                      "entries", json_object_get(st, "entries"), "head",
	                      json_object_get(st, "head"));
	json_decref(st);
	free(rotated);
	return 0;
}
