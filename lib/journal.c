/* journal.c - the audit entries of jobs, written in canonical form without a tree */
#include "journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "util.h"

/* ,"key":"TIME" in the entries' time format; nothing for RTN_TIME_NONE. */
static void time_member(struct rtn_jw *d, const char *key, rtn_time_t t)
{
	if (t == RTN_TIME_NONE)
		return;
	char buf[RTN_TIME_FMT_LEN];
	JW_LIT(d, ",\"");
	rtn_jw_put(d, key, strlen(key));
	JW_LIT(d, "\":");
	if (rtn_time_format(t, buf, sizeof(buf)) < 0)
		rtn_jw_int(d, t); /* out of the calendar's range: the seconds, not nothing */
	else
		rtn_jw_string(d, buf, strlen(buf));
}

int rtn_journal_job(struct rtn_engine *e, const struct rtn_job_entry *j)
{
	if (!e->journal)
		return 0;
	/* Keys in canonical (sorted) order. */
	struct rtn_jw d = {0};
	JW_LIT(&d, "{\"action\":");
	int r = rtn_jw_string(&d, j->action, strlen(j->action));
	if (r == 0)
		r = rtn_jw_member(&d, "anchor", j->anchor);
	if (j->anchor)
		time_member(&d, "anchor_time", j->anchor_time);
	if (r == 0)
		r = rtn_jw_member(&d, "announces", j->announces);
	if (j->attempt > 0) {
		JW_LIT(&d, ",\"attempt\":");
		rtn_jw_int(&d, j->attempt);
	}
	if (r == 0)
		r = rtn_jw_member(&d, "backend", j->backend);
	if (j->announces)
		time_member(&d, "deadline", j->deadline);
	time_member(&d, "due", j->due);
	if (r == 0)
		r = rtn_jw_member(&d, "error", j->error);
	if (j->next_attempt != RTN_TIME_NONE) {
		JW_LIT(&d, ",\"next_attempt\":");
		rtn_jw_int(&d, j->next_attempt);
	}
	if (r == 0)
		r = rtn_jw_member(&d, "outcome", j->outcome);
	if (r == 0)
		r = rtn_jw_member(&d, "reason", j->reason);
	if (r == 0 && e->rules && e->rules->hash[0])
		r = rtn_jw_member(&d, "rules", e->rules->hash);
	time_member(&d, "sent", j->sent);
	if (r == 0)
		r = rtn_jw_member(&d, "status", j->status);
	if (r == 0)
		r = rtn_jw_member(&d, "subject", j->subject);
	JW_LIT(&d, "}");
	const struct rtn_rule *rule =
	    j->rule && e->rules ? rtn_ruleset_find(e->rules, j->rule) : NULL;
	struct rtn_audit_entry entry = {
	    .type = j->type,
	    .actor = "scheduler",
	    .record = j->record,
	    .category = j->category,
	    .rule = j->rule,
	    .basis = rule ? rule->basis : NULL,
	    .job = j->job,
	    .detail_json = d.p,
	};
	if (r == 0)
		r = rtn_engine_audit(e, &entry);
	else
		r = -EIO; /* a string that is not UTF-8: the entry cannot be written */
	free(d.p);
	return r;
}

int rtn_journal_inv_job(struct rtn_engine *e, const char *type, const struct rtn_inv_job *j,
                        const char *error, const char *reason, const char *status)
{
	struct rtn_job_entry x = {
	    .type = type,
	    .job = j->job,
	    .record = j->record,
	    .category = j->category,
	    .rule = j->rule,
	    .action = j->action,
	    .backend = j->backend,
	    .error = error,
	    .reason = reason,
	    .status = status,
	    .attempt = !strcmp(type, "job.sent") ? j->attempts : 0,
	    .next_attempt = !strcmp(type, "job.failed") ? j->next_attempt : RTN_TIME_NONE,
	    .due = j->due,
	    .anchor = j->anchor,
	    .anchor_time = j->anchor_time,
	    .subject = j->subject,
	    .sent =
	        strcmp(type, "job.done") && strcmp(type, "job.failed") && strcmp(type, "job.dead")
	            ? RTN_TIME_NONE
	            : j->first_sent,
	    .outcome = !strcmp(type, "job.done") ? j->outcome : NULL,
	    .announces = j->notice_of,
	    .deadline = j->notice_deadline,
	};
	return rtn_journal_job(e, &x);
}

int rtn_journal_job_close(struct rtn_engine *e, struct rtn_inv_job *j, const char *state,
                          const char *why, const char *status, rtn_time_t now)
{
	bool dead = !strcmp(state, "dead");
	char type[32];
	snprintf(type, sizeof(type), "job.%s", state);
	free(j->state);
	j->state = rtn_xstrdup(state);
	free(j->last_error);
	j->last_error = rtn_xstrdup(why);
	j->next_attempt = RTN_TIME_NONE;
	j->updated = now;
	if (rtn_inv_job_put(e->inv, j) < 0)
		return -EIO;
	return rtn_journal_inv_job(e, type, j, dead ? why : NULL, dead ? NULL : why, status);
}
