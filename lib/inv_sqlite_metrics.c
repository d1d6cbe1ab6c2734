/* inv_sqlite_metrics.c - the figures of metrics the status reads do not give: the oldest
 * due time per record state and of the open and dead jobs (seeks of indexes), and done jobs
 * by rule and outcome (kept in `counts`, inv_sqlite_counts.c) */
#include <stdlib.h>

#include "inv_sqlite_int.h"

static int oldest(struct rtn_inv *inv, enum rtn_sq_stmt which, const char *state, rtn_time_t *at)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, which);
	if (state)
		rtn_sq_bind_text(s, 1, state);
	int r = sqlite3_step(s);
	*at = r == SQLITE_ROW ? rtn_sq_col_time(s, 0) : RTN_TIME_NONE;
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_oldest_in_state(struct rtn_inv *inv, const char *state, rtn_time_t *at)
{
	return oldest(inv, M_OLDEST_STATE, state, at);
}

int rtn_sq_oldest_job(struct rtn_inv *inv, rtn_time_t *at)
{
	return oldest(inv, M_OLDEST_JOB, NULL, at);
}

json_t *rtn_sq_count_done(struct rtn_inv *inv)
{
	if (rtn_sq_counts_flush(inv) < 0)
		return NULL;
	sqlite3_stmt *s = rtn_sq_stmt(inv, M_DONE);
	json_t *a = json_array();
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *outcome = (const char *)sqlite3_column_text(s, 1);
		json_array_append_new(a, json_pack("{s:s, s:s?, s:I}", "rule",
		                                   (const char *)sqlite3_column_text(s, 0),
		                                   "outcome", outcome, "jobs",
		                                   (json_int_t)sqlite3_column_int64(s, 2)));
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		json_decref(a);
		return NULL;
	}
	return a;
}
