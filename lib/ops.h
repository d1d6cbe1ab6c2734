/* ops.h - what people do to records: holds, reviews, erasure requests, job retries.
 * Each runs in one transaction and returns its result in the protocol's shape. */
#ifndef RTN_OPS_H
#define RTN_OPS_H

#include "engine.h"

/* hold.place (place) or hold.release: kind "id", "subject" or "category". *count is the
 * number of records held by it (place: a record whose job is already in flight is not),
 * or released. 0, -EEXIST (already placed), -ENOENT (no such
 * hold to release), -EIO. */
int rtn_ops_hold(struct rtn_engine *e, bool place, const char *kind, const char *value,
                 const char *hold, const char *reason, const char *by, rtn_time_t now,
                 size_t *count);
/* review.list: records waiting for a reviewer, with the action they wait for. */
json_t *rtn_ops_review_list(struct rtn_engine *e, size_t limit);
/* review.approve / review.reject of the action record id waits for. 0, -ENOENT, -EEXIST
 * (not waiting for review; err says its state), -EIO. */
int rtn_ops_review(struct rtn_engine *e, const char *id, bool approve, rtn_time_t now,
                   json_t **result, char *job_out, char *err, size_t errlen);
/* erase: an erasure request for subject; every record of the subject is due now unless a
 * hold or keep rule retains it. Result: {"request", "subject", "deadline", "scheduled":
 * [{"id", "at"}], "retained": [{"id", "rule", "basis", "until"}]}. */
int rtn_ops_erase(struct rtn_engine *e, const char *subject, const char *reason, const char *by,
                  const struct rtn_span *deadline, rtn_time_t now, json_t **result);
/* Open erasure requests with their pending record count and whether the deadline is at
 * risk (within a day, or past); requests with nothing pending are marked completed. */
json_t *rtn_ops_erasures_status(struct rtn_engine *e, rtn_time_t now);
/* jobs.retry: dead jobs (all with job "dead", or one) go back to the retry queue with a
 * fresh attempt count. *count says how many. */
int rtn_ops_jobs_retry(struct rtn_engine *e, const char *job, const char *const *backends,
                       size_t nbackends, rtn_time_t now, size_t *count);

#endif
