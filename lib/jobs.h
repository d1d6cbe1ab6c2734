/* jobs.h - due actions become jobs, and results change records: the dispatch side of the
 * engine. No sockets: the daemon's dispatcher sends what rtn_jobs_batch returns and feeds
 * back what backends answer. rtn_jobs_take_tx and rtn_jobs_result run inside the
 * caller's transaction; the others open and close their own (nested in the caller's when
 * one is open), and whatever returns jobs to send has committed them first (a job is
 * committed before it is sent).
 */
#ifndef RTN_JOBS_H
#define RTN_JOBS_H

#include "bproto.h"
#include "config.h"
#include "engine.h"
#include "job.h"

struct rtn_outjob {
	char job[RTN_JOB_ID_LEN];
	int64_t rid;  /* the record's row */
	char *record; /* the record's id */
	char *line;   /* the job message, ending in "\n" */
	size_t len;
	int attempt;
	char *action, *rule, *category;
	/* What its job.done entry says of it (as the job row keeps it): */
	char *subject, *anchor; /* NULL when none or unknown */
	rtn_time_t due, anchor_time, first_sent;
	/* A notice: the action it announces and that action's deadline; NULL and
	 * RTN_TIME_NONE for any other job */
	char *notice_of;
	rtn_time_t notice_deadline;
};

/* Turn up to max due actions for backend b into jobs, in one transaction: first jobs
 * waiting for a retry whose time has come, then queued records due by now (never one
 * whose deadline is later). On success the jobs are committed and *out (caller frees with
 * rtn_outjobs_free) holds the lines to send. 0 or -EIO. */
int rtn_jobs_take(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                  rtn_time_t now, size_t max, struct rtn_outjob **out, size_t *n);
/* The same inside the caller's transaction (the jobs are committed with it). */
int rtn_jobs_take_tx(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                     rtn_time_t now, size_t max, struct rtn_outjob **out, size_t *n);
/* Free what rtn_jobs_take returned. */
void rtn_outjobs_free(struct rtn_outjob *v, size_t n);
/* Move what src owns but its line into dst (src keeps its line, loses the rest). */
void rtn_outjob_move(struct rtn_outjob *dst, struct rtn_outjob *src);

struct rtn_job_outcome {
	bool ignored;  /* unknown job, or a late duplicate of a finished one */
	bool finished; /* done or gone: the action happened */
	bool dead;     /* failed for good: the record is failed */
	bool retry;    /* failed for now: next_attempt is set */
	rtn_time_t next_attempt;
	int64_t rid;
	char record[RTN_ID_MAX + 1];
	char action[16];
	char rule[RTN_ID_MAX + 16];
	char category[256];
	char error[256]; /* the backend's error as kept (locator and subject scrubbed) */
};

/* A backend's result for job. rnd feeds the backoff jitter. sent is what was sent for
 * the job when the caller still has it (NULL otherwise: the job is read back). 0, or
 * -EIO. */
int rtn_jobs_result(struct rtn_engine *e, const struct rtn_backend_conf *b, const char *job,
                    enum rtn_bstatus st, const char *error, bool retry, rtn_time_t now,
                    uint64_t rnd, const struct rtn_outjob *sent, struct rtn_job_outcome *o);
/* Queued records due by now that no configured backend can take (none named, or a name
 * the config lacks) get a dead job and become failed, visibly. Count or -EIO. */
int rtn_jobs_fail_orphans(struct rtn_engine *e, const struct rtn_config *cfg, rtn_time_t now);

/* A backend's answer waiting to be recorded. */
struct rtn_job_result {
	const char *job;
	enum rtn_bstatus status;
	const char *error; /* may be NULL */
	bool retry;
	uint64_t rnd;                  /* feeds its backoff jitter */
	const struct rtn_outjob *sent; /* what was sent for it, when still known; else NULL */
};

/* One batch of backend b, in one transaction that is committed before it returns: record
 * the nres results (outcome i in oc[i]), then take up to room due jobs (rtn_jobs_take_tx;
 * none when room is 0), then close the erasure requests the results ended
 * (rtn_ops_erasures_settle; those closed in *completed, a new reference or NULL, when it
 * is not NULL). 0 with the jobs to send in *out (free with rtn_outjobs_free), or -EIO:
 * nothing was recorded, taken or closed, and *out is empty. */
int rtn_jobs_batch(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                   const struct rtn_job_result *res, size_t nres, size_t room, rtn_time_t now,
                   struct rtn_job_outcome *oc, struct rtn_outjob **out, size_t *n,
                   json_t **completed);
/* The k jobs of b that got no result in time fail with why (to be retried, or dead after
 * max-attempts), in one transaction; rnd seeds their jitter; outcome i in oc[i]. 0, or
 * -EIO and nothing changed. */
int rtn_jobs_timeouts(struct rtn_engine *e, const struct rtn_backend_conf *b,
                      const char (*jobs)[RTN_JOB_ID_LEN], size_t k, const char *why, rtn_time_t now,
                      uint64_t rnd, struct rtn_job_outcome *oc);
/* Jobs sent without a result become due for retry now, same ids, in one transaction:
 * with jobs NULL every such job of backend (of every backend when backend is NULL: at
 * start-up), else the n jobs named (those still sent). Count (0 for a list) or -EIO. */
int rtn_jobs_resend(struct rtn_engine *e, const char *backend, const char (*jobs)[RTN_JOB_ID_LEN],
                    size_t n, rtn_time_t now);
/* The earliest time a job waits to be retried at (RTN_TIME_NONE: none). 0 or -EIO. */
int rtn_jobs_next_retry(struct rtn_engine *e, rtn_time_t *at);
/* The earliest next action of a waiting record (RTN_TIME_NONE: none), for the deadline
 * timer. 0 or -EIO. */
int rtn_jobs_next_wake(struct rtn_engine *e, rtn_time_t *at);
/* For the deadline timer too: *next the earliest time after `after` at which a waiting
 * record's notice falls due (RTN_TIME_NONE: none); the dispatcher makes it a job when
 * kicked. 0 or -EIO. */
int rtn_jobs_notice_wake(struct rtn_engine *e, rtn_time_t after, rtn_time_t *next);

#endif
