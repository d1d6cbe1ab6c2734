/* audit_check.h - replay the audit log and prove its promises
 *
 * One streaming pass over the files (oldest first) that verifies the chain as
 * rtn_audit_verify() does and replays the entries, keeping per job and per record only
 * what the proofs need (never a file's tree):
 *  (a) never early: every job.sent in the period has time >= detail.due ("early"
 *      otherwise; "undated" without a due); lateness = time - due (max, p99);
 *  (b) never lost: every job.sent in the period is followed by job.done, job.dead or
 *      job.cancelled of the same job, or the job is still out ("open"; online the
 *      inventory must say sent or retry, else "lost");
 *  (c) never missed: every action of the schedule of the latest record.put or
 *      record.event of a record, due in the period and at least grace before now, is
 *      followed by a job.sent of that record and action, unless a later entry changed
 *      the record's course before the action was owed (dated before due + grace:
 *      record.*, hold.*, review.*, erase.*, job.cancelled about it; rules.loaded,
 *      schedule.changed, guard.*, or a hold or erasure request naming no record): then
 *      the inventory decides (online) or it is "unverifiable" (offline).
 */
#ifndef RTN_AUDIT_CHECK_H
#define RTN_AUDIT_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "rtime.h"

#define RTN_AUDIT_CHECK_GRACE    600  /* seconds an action may wait before it is owed */
#define RTN_AUDIT_CHECK_PROBLEMS 1000 /* problems named in a reply; the rest counted */

/* What the inventory says of a record's action that the log shows no job.sent for. */
enum {
	RTN_CHECK_REC_OK,      /* not owed: not overdue by grace, or a job is out, or gone */
	RTN_CHECK_REC_WAITING, /* waiting on a person: held, awaiting review, paused */
	RTN_CHECK_REC_MISSED,  /* its stored next action is overdue by more than grace, no job */
};

struct rtn_audit_check_opts {
	rtn_time_t since, until; /* the period; RTN_TIME_NONE: unbounded */
	rtn_time_t now;          /* actions due after now - grace are not owed yet */
	rtn_time_t grace;        /* 0: RTN_AUDIT_CHECK_GRACE */
	/* Online (NULL offline): the state of a job in the inventory ("sent", "retry",
	 * "done", ...) into state; 0, -ENOENT (no such job) or -EIO. */
	int (*job_state)(void *ctx, const char *job, char *state, size_t len);
	/* Online (NULL offline): an RTN_CHECK_REC_* of record, or -EIO. */
	int (*record_state)(void *ctx, const char *record, rtn_time_t now, rtn_time_t grace);
	void *ctx;
};

/* Check the files (oldest first, as one chain). *result (new reference):
 * {"since", "until", "entries", "actions", "undated", "early", "late_max", "late_p99",
 *  "open", "lost", "missed", "waiting", "unverifiable", "valid", ["first_bad"],
 *  "problems": [{"kind", "seq", "job", "record", "message"}], "problems_left_off", "ok"}
 * (ok: valid chain and no early, lost or missed). 0, or -errno if a file cannot be read
 * or the inventory cannot answer (err says which). */
int rtn_audit_check(const char *const *paths, size_t n, const struct rtn_audit_check_opts *o,
                    json_t **result, char *err, size_t errlen);

struct rtn_engine;
/* Set o's job_state and record_state to ask e's inventory (lib/audit_check_inv.c). */
void rtn_audit_check_online(struct rtn_engine *e, struct rtn_audit_check_opts *o);

#endif
