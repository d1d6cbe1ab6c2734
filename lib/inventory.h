/* inventory.h - the SQLite inventory: records, holds, erasure requests, jobs, meta
 *
 * WAL, synchronous=FULL, busy_timeout; schema versioned by PRAGMA user_version with
 * migrations; quick_check at open. Every statement is prepared with bound values:
 * nothing is built from record data. Only this module speaks SQL.
 */
#ifndef RTN_INVENTORY_H
#define RTN_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "rtime.h"

#define RTN_INV_SCHEMA_VERSION 2

struct rtn_inv;

/* The materialised schedule of a record. next_at is the time of its next action
 * (RTN_TIME_NONE: none); the timer waits for it while the record is active or
 * anonymized, and a due record (queued, review) keeps it as the time it fell due. */
struct rtn_inv_sched {
	rtn_time_t anon_at, del_at, next_at;
	const char *anon_rule, *del_rule; /* NULL when none; "erasure:R-..." for erasures */
	bool anon_review, del_review;
	const char *next_backend; /* the backend of the next action; NULL when none */
};

struct rtn_inv_row {
	int64_t rid;
	struct rtn_record rec; /* owned; subject, locator, attributes empty for tombstones */
	char state[16];
	rtn_time_t anonymized_at; /* RTN_TIME_NONE unless anonymised */
	rtn_time_t deleted_at;    /* RTN_TIME_NONE unless deleted (a tombstone) */
	char *deleted_rule, *deleted_job;
	rtn_time_t created, updated;
	struct rtn_inv_sched sched; /* stored; rules borrowed from the row's own strings */
	char *anon_rule_buf, *del_rule_buf, *next_backend_buf;
	char *review_mark;  /* "approve J-..." or "reject J-..." once a reviewer decided */
	char *locator_text; /* rtn_inv_job_brief(): the locator as stored (rec.locator NULL) */
};

/* Open (creating or migrating) the inventory at path. 0 or -errno with a message in err. */
int rtn_inv_open(const char *path, struct rtn_inv **out, char *err, size_t errlen);
/* Close it; NULL is fine. */
void rtn_inv_close(struct rtn_inv *inv);
/* The last SQLite error message, for logs. */
const char *rtn_inv_errmsg(struct rtn_inv *inv);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or -EIO. */
int rtn_inv_begin(struct rtn_inv *inv);
int rtn_inv_commit(struct rtn_inv *inv);
void rtn_inv_rollback(struct rtn_inv *inv);

/* Read the record called id. 0, -ENOENT or -EIO. Free row with rtn_inv_row_fini. */
int rtn_inv_get(struct rtn_inv *inv, const char *id, struct rtn_inv_row *row);
/* Read a record by its internal row id. Same returns. */
int rtn_inv_get_rid(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row);
/* Free a row. */
void rtn_inv_row_fini(struct rtn_inv_row *row);
/* What a put needs to know of an existing record. */
struct rtn_inv_brief {
	int64_t rid;
	rtn_time_t created;       /* its "created" event */
	rtn_time_t anonymized_at; /* RTN_TIME_NONE unless anonymised */
	rtn_time_t deleted_at;    /* RTN_TIME_NONE unless a tombstone */
	bool busy;                /* a job is out (queued without next_at) or dead (failed) */
	char review_mark[64];     /* "approve J-..." / "reject J-...", or "" */
};

/* Look up a record briefly. 0, -ENOENT or -EIO. */
int rtn_inv_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b);
/* A record's JSON members as stored (compact JSON text); a NULL member is encoded
 * when it is written. Encoding needs no inventory, so it can happen elsewhere first. */
struct rtn_inv_text {
	char *locator, *events, *attributes;
};
/* Encode r's members into t (free with rtn_inv_text_fini). */
void rtn_inv_text_of(const struct rtn_record *r, struct rtn_inv_text *t);
void rtn_inv_text_fini(struct rtn_inv_text *t);
/* Write the record's data, state and schedule: a new row when *rid is 0 (then *rid is
 * set; -EEXIST, nothing written, if the id is taken), else replace row *rid. t (may be
 * NULL) holds members already encoded. */
int rtn_inv_upsert(struct rtn_inv *inv, const struct rtn_record *r, const struct rtn_inv_text *t,
                   const char *state, const struct rtn_inv_sched *s, rtn_time_t now, int64_t *rid);
/* Store a new state and schedule for a row. */
int rtn_inv_set_schedule(struct rtn_inv *inv, int64_t rid, const char *state,
                         const struct rtn_inv_sched *s, rtn_time_t now);
/* Remove a record and everything about it (record.forget). */
int rtn_inv_forget(struct rtn_inv *inv, int64_t rid);

/* The earliest next_at of the waiting (active, anonymized) records; RTN_TIME_NONE if none. */
int rtn_inv_next_wake(struct rtn_inv *inv, rtn_time_t *at, char **id);
/* Up to max waiting row ids with next_at <= t, earliest first. Count or -EIO. */
int rtn_inv_due_rids(struct rtn_inv *inv, rtn_time_t t, int64_t *rids, int max);
/* Up to max row ids greater than after (for walking every live record). Count or -EIO. */
int rtn_inv_rids_after(struct rtn_inv *inv, int64_t after, int64_t *rids, int max);
/* What plan reads of a record; strings valid during the callback only. */
struct rtn_inv_plan_row {
	const char *id, *category, *backend, *state;
	struct rtn_inv_sched sched;
};

/* Call cb for each record with an action still to do by until (optionally of one
 * category), in next_at order, until cb returns non-zero. 0 or -EIO. */
int rtn_inv_foreach_until(struct rtn_inv *inv, rtn_time_t until, const char *category,
                          int (*cb)(const struct rtn_inv_plan_row *row, void *ctx), void *ctx);
/* Call cb for each record of subject. 0 or -EIO. */
int rtn_inv_foreach_subject(struct rtn_inv *inv, const char *subject,
                            int (*cb)(const struct rtn_inv_row *row, void *ctx), void *ctx);

/* Counts of records by state as a JSON object {state: n, "total": n}. New reference;
 * NULL when the inventory cannot be read (so are the three below). */
json_t *rtn_inv_count_states(struct rtn_inv *inv);
/* [{"category", "records"}] of the unmanaged records. New reference. */
json_t *rtn_inv_unmanaged(struct rtn_inv *inv);
/* Counts of jobs by state {state: n}. New reference. */
json_t *rtn_inv_count_jobs(struct rtn_inv *inv);

/* The holds covering a record (by id, subject or category), as a JSON array of
 * {"hold", "reason", "selector"} in *out (new reference, also on error). 0 or -EIO. */
int rtn_inv_holds_for(struct rtn_inv *inv, const char *id, const char *subject,
                      const char *category, json_t **out);
/* True if any hold exists (so callers can skip per-record lookups); true on an error. */
bool rtn_inv_any_holds(struct rtn_inv *inv);

/* A value of the meta table, or NULL (caller frees). */
char *rtn_inv_meta_get(struct rtn_inv *inv, const char *key);
/* Set a value of the meta table. */
int rtn_inv_meta_set(struct rtn_inv *inv, const char *key, const char *value);

/* --- jobs (inventory_jobs.c) ----------------------------------------------------- */

struct rtn_inv_job {
	char *job;
	int64_t rid;
	char *record, *category, *action, *rule, *backend;
	char *state; /* sent, retry, done, dead */
	int attempts;
	rtn_time_t due, next_attempt, sent_at, done_at, created, updated;
	char *last_error;
};

/* Up to max queued records of backend whose next action is due by now (never later ones),
 * earliest first, each as rtn_inv_job_brief() reads it (free each with rtn_inv_row_fini).
 * Count or -EIO. */
int rtn_inv_queue_take(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                       struct rtn_inv_row *rows);
/* Up to max queued records due by now whose backend is NULL or not one of the names
 * (a record nobody can act on). Count or -EIO. */
int rtn_inv_queue_orphans(struct rtn_inv *inv, const char *const *backends, size_t n,
                          rtn_time_t now, int max, int64_t *rids);
/* Read a job. 0, -ENOENT or -EIO. Free with rtn_inv_job_fini. */
int rtn_inv_job_get(struct rtn_inv *inv, const char *job, struct rtn_inv_job *j);
/* The job of a record that is out (sent or waiting to retry). 0, -ENOENT or -EIO. */
int rtn_inv_job_open_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j);
/* The newest job of a record that is out or dead (sent, retry, dead). 0, -ENOENT, -EIO. */
int rtn_inv_job_latest_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j);
/* Free a job read. */
void rtn_inv_job_fini(struct rtn_inv_job *j);
/* Insert or replace a job row. */
int rtn_inv_job_put(struct rtn_inv *inv, const struct rtn_inv_job *j);
/* Insert a new job row. */
int rtn_inv_job_insert(struct rtn_inv *inv, const struct rtn_inv_job *j);
/* Mark a job of backend done in one statement (a late "done" for a job given up or cancelled
 * counts too: the action happened). 0, -ENOENT (unknown, another backend's, or already
 * done), -EIO. */
int rtn_inv_job_done(struct rtn_inv *inv, const char *job, const char *backend, rtn_time_t now,
                     const char *note);
/* Cancel a record's job that waits for a retry (a hold came). Count (0 or 1) or -EIO. */
int rtn_inv_job_cancel_retry(struct rtn_inv *inv, int64_t rid, rtn_time_t now);
/* What a job message needs of a record (id, category, subject, the locator as JSON text in
 * locator_text, schedule), without its events and attributes. Free with rtn_inv_row_fini. 0,
 * -ENOENT or -EIO. */
int rtn_inv_job_brief(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row);
/* Up to max jobs of backend waiting to be retried by now. Count or -EIO; ids are
 * allocated (caller frees each). */
int rtn_inv_jobs_retry_due(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                           char **ids);
/* Jobs sent without a result (to backend, or to any when NULL) become due for retry now.
 * Count or -EIO. */
int rtn_inv_jobs_unanswered(struct rtn_inv *inv, const char *backend, rtn_time_t now);
/* One job sent without a result becomes due for retry now (if it is still sent). 0/-EIO. */
int rtn_inv_job_unanswered(struct rtn_inv *inv, const char *job, rtn_time_t now);
/* The earliest next_attempt of the jobs waiting to retry; RTN_TIME_NONE if none. */
int rtn_inv_jobs_next_retry(struct rtn_inv *inv, rtn_time_t *at);
/* Jobs for jobs.list, newest first (state NULL: all). New reference. */
json_t *rtn_inv_jobs_list(struct rtn_inv *inv, const char *state, size_t limit);
/* Ids of dead jobs (all, or the one named). Count or -EIO; caller frees. */
int rtn_inv_jobs_dead(struct rtn_inv *inv, const char *job, char ***ids);
/* Call cb for each open job (sent or retry) due by until, in due order. */
int rtn_inv_foreach_open_job(struct rtn_inv *inv, rtn_time_t until, const char *category,
                             int (*cb)(const struct rtn_inv_job *j, void *ctx), void *ctx);

/* Set a record's state and next_at (RTN_TIME_NONE: NULL). */
int rtn_inv_mark(struct rtn_inv *inv, int64_t rid, const char *state, rtn_time_t next_at,
                 rtn_time_t now);
/* Turn a record into a tombstone: subject, locator, attributes and events dropped. */
int rtn_inv_tombstone(struct rtn_inv *inv, int64_t rid, const char *rule, const char *job,
                      rtn_time_t now);
/* Record that the record was anonymised at now. */
int rtn_inv_set_anonymized(struct rtn_inv *inv, int64_t rid, rtn_time_t now);
/* Store a reviewer's decision ("approve J-..." / "reject J-...", or NULL). */
int rtn_inv_set_review_mark(struct rtn_inv *inv, int64_t rid, const char *mark);
/* [{"rule", "records"}] of the records paused by the mass-deletion guard. New reference,
 * or NULL on an error. */
json_t *rtn_inv_paused_by_rule(struct rtn_inv *inv);
/* Release every paused record: to queued (or review) when due by now, else back to
 * waiting (active, or anonymized). Count or -EIO. */
int rtn_inv_release_paused(struct rtn_inv *inv, rtn_time_t now);
/* Ids of up to max records in state (for review.list and friends). New reference: a JSON
 * array of ids. */
json_t *rtn_inv_ids_in_state(struct rtn_inv *inv, const char *state, size_t limit);
/* Place a hold (kind "id", "subject" or "category"). 0, -EEXIST if that hold is there. */
int rtn_inv_hold_add(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
                     const char *reason, const char *by, rtn_time_t now);
/* Remove a hold. 0, or -ENOENT. */
int rtn_inv_hold_remove(struct rtn_inv *inv, const char *kind, const char *value, const char *hold);
/* Row ids of the live records a selector covers (kind "id", "subject", "category"). Count
 * or -EIO; *rids is allocated. */
int rtn_inv_select(struct rtn_inv *inv, const char *kind, const char *value, int64_t **rids);
/* Tombstones made in [since, until) (optionally of one category), by rule and category:
 * [{"rule", "category", "deleted"}]. New reference. */
json_t *rtn_inv_deleted_between(struct rtn_inv *inv, rtn_time_t since, rtn_time_t until,
                                const char *category);
/* Number of live records (not deleted). */
int64_t rtn_inv_live_count(struct rtn_inv *inv);

/* --- erasure requests (inventory_erasure.c) ---------------------------------------- */

/* Record an erasure request covering the live, not anonymised records of subject (their
 * number in *covered); *request receives its id ("R-N"). Caller's transaction. */
int rtn_inv_erasure_add(struct rtn_inv *inv, const char *subject, const char *reason,
                        const char *by, rtn_time_t now, rtn_time_t deadline, char request[32],
                        size_t *covered);
/* True if a live record is covered by an erasure request (so callers can skip lookups);
 * true on an error. */
bool rtn_inv_any_erasures(struct rtn_inv *inv);
/* The earliest erasure request covering the record called id: 0 with *at (the request's
 * time) and *request (caller frees), -ENOENT or -EIO. */
int rtn_inv_erasure_for(struct rtn_inv *inv, const char *id, rtn_time_t *at, char **request);
/* Open erasure requests, oldest first, as [{"request", "subject", "requested",
 * "deadline", "reason", "records", "pending", "deleted", "anonymized", "retained",
 * "forgotten"}]: what became of the records each covers. New reference; NULL on error. */
json_t *rtn_inv_erasures_open(struct rtn_inv *inv);
/* Mark an erasure request completed; it keeps only the records a rule retains. */
int rtn_inv_erasure_complete(struct rtn_inv *inv, const char *request, rtn_time_t now);

#endif
