/* erasures.c - the daemon's side of erasure requests: saying when one is complete
 *
 * A request is complete when none of the records it covers is pending: each is deleted,
 * anonymised, forgotten, or retained by a rule's duty. Whatever ends the last one closes
 * the request in the same transaction, with its audit entry (lib: a state-changing
 * command in rtn_ops_run, a batch of results in rtn_jobs_batch); a reload and the
 * start-up, whose rescheduling commits in batches, close them in a transaction of their
 * own after it. Read commands show requests and never close them. This file logs them.
 */
#include "erasures.h"

#include "log.h"
#include "ops.h"

void erasures_log(json_t *completed)
{
	size_t i;
	json_t *q;
	json_array_foreach(completed, i, q)
	{
		json_int_t n[4];
		static const char *const keys[] = {"deleted", "anonymized", "retained",
		                                   "forgotten"};
		for (size_t k = 0; k < 4; k++)
			n[k] = json_integer_value(json_object_get(q, keys[k]));
		rtn_notice("erasure request %s completed: %lld deleted, %lld anonymised, %lld "
		           "retained by a rule, %lld forgotten",
		           json_string_value(json_object_get(q, "request")), (long long)n[0],
		           (long long)n[1], (long long)n[2], (long long)n[3]);
	}
	json_decref(completed);
}

int erasures_settle(struct rtn_engine *e, rtn_time_t now)
{
	json_t *done = NULL;
	int r = rtn_ops_erasures_settle(e, now, &done);
	if (r < 0) {
		rtn_err("erasure requests: cannot record their completion: %s",
		        rtn_engine_errmsg(e));
		return r;
	}
	erasures_log(done);
	return 0;
}
