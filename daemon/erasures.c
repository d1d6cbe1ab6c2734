/* erasures.c - the daemon's side of erasure requests: noticing when one is complete
 *
 * A request is complete when none of the records it covers is pending: each is deleted,
 * anonymised, forgotten, or retained by a rule's duty. Whatever ends the last one closes
 * the request in the same transaction, with its audit entry: a state-changing command
 * (commands_answer, before its commit), a flush that recorded results (before its
 * commit); a reload and the start-up, whose rescheduling commits in batches, close them
 * in a transaction of their own after it. Read commands show requests and never close
 * them.
 */
#include "erasures.h"

#include "log.h"
#include "ops.h"

static struct daemon *D;

void erasures_init(struct daemon *d)
{
	D = d;
}

int erasures_settle(void)
{
	if (!D)
		return 0;
	json_t *done = NULL;
	int r = rtn_ops_erasures_settle(&D->engine, daemon_now(), &done);
	if (r < 0) {
		rtn_err("erasure requests: cannot record their completion: %s",
		        rtn_engine_errmsg(&D->engine));
		return r;
	}
	size_t i;
	json_t *q;
	json_array_foreach(done, i, q)
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
	json_decref(done);
	return 0;
}
