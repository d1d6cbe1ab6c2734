/* commands_audit.c - audit.query and audit.verify */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "auditlog.h"
#include "commands_int.h"

#define QUERY_LIMIT_MAX 100000

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
	f.type = c->err.code ? NULL : cmd_arg_string(c, "type", false);
	if (c->err.code)
		return -1;
	audit_flush();
	const char *path = audit_path();
	char err[512];
	if (rtn_audit_query(&path, 1, &f, &c->result, err, sizeof(err)) < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	return 0;
}

int cmd_audit_verify(struct cmd_ctx *c)
{
	NOARGS();
	if (audit_sync() < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "the audit log cannot be written out");
	const char *path = audit_path();
	char err[512];
	/* The daemon's own head must be the file's last entry: anything else means the
	 * file was cut or rewritten behind its back. */
	json_t *st = audit_status();
	const char *head = json_string_value(json_object_get(st, "head"));
	int r = rtn_audit_verify(&path, 1, head, &c->result, err, sizeof(err));
	json_decref(st);
	if (r < 0)
		return cmd_fail(c, RTN_E_INTERNAL, "audit log: %s", err);
	return 0;
}
