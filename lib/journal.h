/* journal.h - the audit entries of jobs, written in canonical form without a tree
 *
 * One writer for every entry about a job (job.sent, job.done, job.failed, job.dead,
 * job.cancelled), whoever makes the transition: the dispatcher for sends and results,
 * the jobs and engine code for deaths and cancellations. Entries go through the engine's
 * journal, so they commit (or are taken back) with the transaction that made them. Of the
 * engine this module calls only its transactions (engine_tx.c), never what calls it.
 */
#ifndef RTN_JOURNAL_H
#define RTN_JOURNAL_H

#include "engine.h"
#include "job.h"

/* What a job entry says. NULL strings, attempt 0 and RTN_TIME_NONE times are left out of
 * the detail. Its evidence: the deadline (due), the event it is anchored on and that
 * event's time (as the job row keeps them from when it was made), the record's subject,
 * the first send, and the outcome of a done job; the rules hash is e's. */
struct rtn_job_entry {
	const char *type; /* "job.sent", "job.done", ... */
	const char *job, *record, *category, *rule;
	const char *action, *backend, *error, *reason, *status;
	int attempt;
	rtn_time_t next_attempt;
	rtn_time_t due, anchor_time, sent;
	const char *anchor, *subject, *outcome;
	/* A notice: the action it announces and that action's deadline (written with it) */
	const char *announces;
	rtn_time_t deadline;
};

/* Append the entry of a job transition through e's journal (actor "scheduler", the rule's
 * basis and the rules hash from e's rules). 0, or -EIO (the transaction must not
 * commit). */
int rtn_journal_job(struct rtn_engine *e, const struct rtn_job_entry *j);

/* The entry of a transition of job j as the inventory holds it: attempt for job.sent,
 * next_attempt for job.failed, the first send for job.done, .failed and .dead, the outcome
 * for job.done; due, anchor, anchor time and subject always; error, reason and status as
 * given (may be NULL). */
int rtn_journal_inv_job(struct rtn_engine *e, const char *type, const struct rtn_inv_job *j,
                        const char *error, const char *reason, const char *status);

/* Close job j for good with why, as one transition: state "dead" (why is the entry's
 * error, status the backend's or NULL) or "cancelled" (why is the entry's reason); j's
 * state, last error, next attempt (none) and update time are set, its row stored and the
 * entry "job.STATE" written (inside the caller's transaction). What becomes of the job's
 * record is the caller's. 0 or -EIO. */
int rtn_journal_job_close(struct rtn_engine *e, struct rtn_inv_job *j, const char *state,
                          const char *why, const char *status, rtn_time_t now);

#endif
