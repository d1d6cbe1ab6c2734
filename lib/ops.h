/* ops.h - what people do to records: holds, reviews, erasure requests, job retries.
 * Each runs in one transaction and returns its result in the protocol's shape. */
#ifndef RTN_OPS_H
#define RTN_OPS_H

#include "engine.h"
#include "job.h"

/* hold.place (place) or hold.release: kind "id", "subject" or "category". *count is the
 * number of records held by it (place: also one whose job is already at the backend, which
 * shows held while its result is awaited), or released. 0, -EEXIST (already placed), -ENOENT (no
 * such hold to release), -EIO. */
int rtn_ops_hold(struct rtn_engine *e, bool place, const char *kind, const char *value,
                 const char *hold, const char *reason, const char *by, rtn_time_t now,
                 size_t *count);
/* hold.list: every hold in force, or those of kind (with value, when not NULL) and of name
 * hold, by time placed: {"holds": [{"hold", "selector", "value", "reason", "since", "by"}],
 * "count"}. A hold by subject shows the subject's pseudonym (the subject as stored when
 * the engine has no key). Reads only. 0 or -EIO. */
int rtn_ops_holds_list(struct rtn_engine *e, const char *kind, const char *value, const char *hold,
                       json_t **result);
/* review.list: records waiting for a reviewer, with the action they wait for. */
json_t *rtn_ops_review_list(struct rtn_engine *e, size_t limit);
/* review.approve / review.reject of the action record id waits for. 0, -ENOENT, -EEXIST
 * (not waiting for review; err says its state), -EIO. */
int rtn_ops_review(struct rtn_engine *e, const char *id, bool approve, rtn_time_t now,
                   json_t **result, char *job_out, char *err, size_t errlen);
/* Who decides a review: the peer's uid, its primary group and supplementary groups (as the
 * kernel gave them for its connection: SO_PEERCRED, SO_PEERGROUPS). */
struct rtn_reviewer {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};
/* The same decided by reviewer rw (NULL: nobody's groups, as rtn_ops_review). Under
 * "review by GROUP...", rw must be in the group of the stage the action waits on, to
 * approve or reject it, and must not have approved an earlier stage of this round to
 * approve (four eyes): else -EPERM, err says why, and nothing changes. Approving a stage
 * before the last moves the action to the next (it still waits: state review, result
 * "stage", "stages", "group", "next_stage", "next_group"); approving the last lets it go
 * ahead as a plain approval does; a rejection at any stage is a plain rejection. */
int rtn_ops_review_as(struct rtn_engine *e, const char *id, bool approve,
                      const struct rtn_reviewer *rw, rtn_time_t now, json_t **result, char *job_out,
                      char *err, size_t errlen);
/* Who set a deadline that no namespace set: the config file. */
#define RTN_OPS_DEADLINE_DEFAULT "retentiond.conf"

/* The deadline an erasure request for subject made at now gets: the earliest of its live,
 * not anonymised records' namespaces' erasure-deadline (a record of a namespace without
 * one: deflt), deflt when it has none. *set_by: the namespace (the rules' string), or NULL
 * for deflt. Reads only (in the caller's transaction, if any). 0 or -EIO. */
int rtn_ops_erase_deadline(struct rtn_engine *e, const char *subject, const struct rtn_span *deflt,
                           rtn_time_t now, rtn_time_t *due, const char **set_by);
/* erase: an erasure request for subject, covering the records it has now (not one put
 * later): each is due now unless a hold or a keep rule retains it. deadline: the default
 * (the config's). Result: {"request", "subject", "requested", "deadline",
 * "deadline_set_by" (a namespace or "retentiond.conf"), "records" (covered), "pending",
 * "scheduled": [{"id", "at", "rule", "review"}], "retained": [{"id", "rule", "basis", "until",
 * "pending"}], "anonymized": [{"id", "category", "at"}] (not covered)}. */
int rtn_ops_erase(struct rtn_engine *e, const char *subject, const char *reason, const char *by,
                  const struct rtn_span *deadline, rtn_time_t now, json_t **result);
/* Open erasure requests with their deadline, who set it ("deadline_set_by"), their pending
 * record count and whether the deadline is at risk (within a day, or past). Reads only; NULL on an
 * inventory error. */
json_t *rtn_ops_erasures_status(struct rtn_engine *e, rtn_time_t now);
/* Complete the open erasure requests of which nothing is pending any more (every record
 * deleted, anonymised, forgotten or retained by a rule), each with its "erase.completed"
 * entry, in a transaction of the engine (nested in the caller's, if one is open: the
 * completion commits with the change that ended the last record, or not at all). When
 * completed is not NULL it gets the requests closed, with their counts as
 * rtn_inv_erasures_open() gives them (new reference, or NULL). Number completed, or -EIO
 * (once its transaction had begun, an enclosing one then cannot commit). */
int rtn_ops_erasures_settle(struct rtn_engine *e, rtn_time_t now, json_t **completed);
/* jobs.retry: dead jobs (all with job "dead", or one) go back to the retry queue with a
 * fresh attempt count. *count says how many. */
int rtn_ops_jobs_retry(struct rtn_engine *e, const char *job, const char *const *backends,
                       size_t nbackends, rtn_time_t now, size_t *count);

/* record.preview: the put p as it would be stored at now, in a transaction rolled back,
 * so nothing of it stays (no entry either). The result: the put's counts ("count",
 * "inserted", "updated", "already_deleted"), "due_now" (what it makes due at once),
 * "guard_limit" (rtn_guard_limit with the records it adds; null without a guard), "until",
 * and the plan of its records by until before and after it ("before", "after": the totals
 * of rtn_engine_plan_ids). The plan after an import is the plan before it, less each
 * batch's "before", plus its "after". 0, -EINVAL / -EEXIST (err), -EBUSY (inside another
 * transaction) or -EIO. */
int rtn_ops_preview(struct rtn_engine *e, struct rtn_put *p, long guard, rtn_time_t until,
                    rtn_time_t now, json_t **result, char *err, size_t errlen);

/* Run fn(ctx) (a state-changing command) in one transaction of the engine: committed when
 * fn returns 0, rolled back otherwise. When fn sets *settle (records changed), the erasure
 * requests it ended close in the same transaction (rtn_ops_erasures_settle; those closed
 * in *completed, a new reference or NULL, when it is not NULL). *fn_r is fn's return (0
 * when it did not run). 0 when committed; -EIO when the transaction could not begin
 * (fn did not run), fn failed, or the commit failed: nothing of it changed. */
int rtn_ops_run(struct rtn_engine *e, rtn_time_t now, int (*fn)(void *ctx, bool *settle), void *ctx,
                int *fn_r, json_t **completed);

/* What status shows of the inventory, each part a new reference or NULL when it cannot
 * be read: records by state, unmanaged categories, the next deadline (null when none),
 * jobs by state, the records paused by the guard by rule (and their sum), the open
 * erasure requests (rtn_ops_erasures_status). */
struct rtn_ops_status {
	json_t *records, *unmanaged, *next_deadline, *jobs, *jobs_by_backend, *paused_by_rule,
	    *erasures;
	json_int_t paused;
};
/* Read them. Reads only. */
void rtn_ops_status(struct rtn_engine *e, rtn_time_t now, struct rtn_ops_status *st);
/* Categories of records that no rule manages (the unmanaged shape of rules.check). New
 * reference, or NULL. */
json_t *rtn_ops_unmanaged(struct rtn_engine *e);
/* report's tombstones: [{"rule", "category", "deleted"}] of the records deleted in
 * [since, until) (of category, or all when NULL), their sum in *total. New reference. */
json_t *rtn_ops_deleted_between(struct rtn_engine *e, rtn_time_t since, rtn_time_t until,
                                const char *category, json_int_t *total);
/* jobs.list: jobs newest first, of state (NULL: all), at most limit. New reference. */
json_t *rtn_ops_jobs_list(struct rtn_engine *e, const char *state, size_t limit);

/* What metrics reads beside status (lib/ops_metrics.c), each part a new reference or NULL
 * when it cannot be read: jobs by backend and state {backend: {state: n}}, the actions
 * done by rule and outcome [{"rule", "outcome", "jobs"}] (an erasure request's rule as
 * "erasure"), the deadline of the oldest overdue action and the time the oldest action
 * awaiting review fell due (RTN_TIME_NONE: none; ok false when they could not be read). */
struct rtn_ops_metrics {
	json_t *jobs, *done;
	rtn_time_t oldest_overdue, oldest_review;
	bool ok;
};
/* Read them. Reads only; every query a seek or search of an index. */
void rtn_ops_metrics(struct rtn_engine *e, rtn_time_t now, struct rtn_ops_metrics *m);

#endif
