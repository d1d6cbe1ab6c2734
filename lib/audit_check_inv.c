/* audit_check_inv.c - the inventory's answers for rtn_audit_check() online */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit_check.h"
#include "engine.h"
#include "inventory.h"

static int job_state(void *ctx, const char *job, char *state, size_t len)
{
	struct rtn_engine *e = ctx;
	struct rtn_inv_job j = {0};
	int r = rtn_inv_job_get(e->inv, job, &j);
	if (r == 0)
		snprintf(state, len, "%s", j.state ? j.state : "");
	rtn_inv_job_fini(&j);
	return r;
}

static int record_state(void *ctx, const char *record, rtn_time_t now, rtn_time_t grace)
{
	struct rtn_engine *e = ctx;
	struct rtn_inv_row row;
	memset(&row, 0, sizeof(row));
	int r = rtn_inv_get(e->inv, record, &row);
	if (r == -ENOENT)
		return RTN_CHECK_REC_OK; /* forgotten */
	if (r < 0)
		return r;
	int v = RTN_CHECK_REC_OK;
	if (!strcmp(row.state, "held") || !strcmp(row.state, "review") ||
	    !strcmp(row.state, "paused")) {
		v = RTN_CHECK_REC_WAITING;
	} else if ((!strcmp(row.state, "active") || !strcmp(row.state, "anonymized") ||
	            !strcmp(row.state, "queued")) &&
	           row.sched.next_at != RTN_TIME_NONE && row.sched.next_at <= now - grace) {
		struct rtn_inv_job j = {0};
		int k = rtn_inv_job_open_for(e->inv, row.rid, &j);
		rtn_inv_job_fini(&j);
		v = k == -ENOENT ? RTN_CHECK_REC_MISSED : k < 0 ? k : RTN_CHECK_REC_OK;
	}
	rtn_inv_row_fini(&row);
	return v;
}

void rtn_audit_check_online(struct rtn_engine *e, struct rtn_audit_check_opts *o)
{
	o->job_state = job_state;
	o->record_state = record_state;
	o->ctx = e;
}
