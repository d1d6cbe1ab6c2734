/* inventory.h - the inventory's storage interface: records, schedules, holds, erasure
 * requests, jobs, counters, meta and transactions
 *
 * The engine, jobs and ops speak to the inventory only through the rtn_inv_* functions
 * below; each one calls the operation of the same name in the implementation's table
 * (struct rtn_inv_ops), so an implementation is chosen once, by rtn_inv_open(), and
 * nothing above this header knows which one it is. Today there is one: SQLite
 * (inv_sqlite*.c, the only files with SQL).
 *
 * What every implementation guarantees:
 * - Transactions are flat: begin, commit and rollback open and close one transaction and
 *   never nest (the engine nests its levels above them): begin inside a transaction is
 *   -EIO and leaves that transaction as it was. begin takes the store for writing at once
 *   (another writer waits or fails then, not at commit); rollback outside a transaction
 *   does nothing. Reads inside a transaction see its own writes. A write
 *   outside any transaction is a transaction of its own.
 * - Durability: commit (and a write outside a transaction) returns 0 only once what it
 *   wrote survives a crash or power loss. After a failed commit the caller rolls back and
 *   nothing of the transaction is kept.
 * - Every statement carries its values as bound parameters: nothing is ever built into
 *   a query from record data, ids, subjects or any other input.
 * - Returns: 0 (or a count) on success; -EIO when the store could not be read or written
 *   (rtn_inv_errmsg() says why; inside a transaction the caller rolls back); -ENOENT when
 *   the row named is not there (or not in a state the operation applies to, where a
 *   function says so); -EEXIST when a key is taken (a record id on insert, a hold). The
 *   functions returning json_t * return NULL where they say so; the bool ones read an
 *   error as "yes", because they guard actions.
 * - Times are integer Unix seconds; RTN_TIME_NONE stores as absent and reads back so.
 *   Row ids (rid) are positive, fixed for the life of a record, and may be given to a new
 *   record once the old one is forgotten.
 * - The orders and limits each function states (earliest first, newest first, ...).
 * - One inventory object is used by one thread at a time.
 */
#ifndef RTN_INVENTORY_H
#define RTN_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "rtime.h"

#define RTN_INV_SCHEMA_VERSION 8

/* The materialised schedule of a record. next_at is the time of its next action
 * (RTN_TIME_NONE: none); the timer waits for it while the record is active or
 * anonymized, and a due record (queued, review) keeps it as the time it fell due. */
struct rtn_inv_sched {
	rtn_time_t anon_at, del_at, next_at;
	const char *anon_rule, *del_rule; /* NULL when none; "erasure:R-..." for erasures */
	bool anon_review, del_review;
	const char *next_backend; /* the backend of the next action; NULL when none */
	/* The notice of the next action ("notify SPAN before"): notice_for the deadline it
	 * announces and notice_rule that action's rule (RTN_TIME_NONE and NULL: none), to
	 * notice_backend; notice_at when it is due, RTN_TIME_NONE once its job is made (a
	 * write of the same notice_for and notice_rule keeps it so: one notice per deadline).
	 * notice_any: the rules have notices, so the notice columns are written (else they are
	 * left as they are, and the notice pass finds a stale one out). */
	rtn_time_t notice_at, notice_for;
	const char *notice_rule, *notice_backend;
	bool notice_any;
};

struct rtn_inv_row {
	int64_t rid;
	struct rtn_record rec; /* owned; subject, locator, attributes empty for tombstones */
	char state[16];
	rtn_time_t anonymized_at; /* RTN_TIME_NONE unless anonymised */
	rtn_time_t deleted_at;    /* RTN_TIME_NONE unless deleted (a tombstone) */
	char *deleted_rule, *deleted_job;
	char *deleted_outcome; /* a tombstone's: "deleted" (the backend acted) or "not_found" */
	rtn_time_t created, updated;
	struct rtn_inv_sched sched; /* stored; rules borrowed from the row's own strings */
	char *anon_rule_buf, *del_rule_buf, *next_backend_buf;
	char *review_mark;  /* "approve J-..." or "reject J-..." once a reviewer decided */
	char *locator_text; /* rtn_inv_job_brief(): the locator as stored (rec.locator NULL) */
	char *notice_rule_buf, *notice_backend_buf;
};

/* What a put needs to know of an existing record. */
struct rtn_inv_brief {
	int64_t rid;
	rtn_time_t created;       /* its "created" event */
	rtn_time_t anonymized_at; /* RTN_TIME_NONE unless anonymised */
	rtn_time_t deleted_at;    /* RTN_TIME_NONE unless a tombstone */
	bool busy;                /* a job is out (queued without next_at) or dead (failed) */
	char review_mark[64];     /* "approve J-..." / "reject J-...", or "" */
};

/* A record's JSON members as stored (compact JSON text); a NULL member is encoded
 * when it is written. Encoding needs no inventory, so it can happen elsewhere first. */
struct rtn_inv_text {
	char *locator, *events, *attributes;
	char *scan_hash; /* a scanned record's content hash: the write also marks it as the
	                  * scan's of its backend (NULL: the mark stays as it was) */
};

/* What plan reads of a record; strings valid during the callback only. */
struct rtn_inv_plan_row {
	const char *id, *category, *backend, *state;
	struct rtn_inv_sched sched;
};

struct rtn_inv_job {
	char *job;
	int64_t rid;
	char *record, *category, *action, *rule, *backend;
	char *state; /* sent, retry, done, dead */
	int attempts;
	rtn_time_t due, next_attempt, sent_at, done_at, created, updated;
	char *last_error;
	/* What its audit entries say of it, fixed when it is made: */
	char *subject;          /* the record's subject then; NULL when none */
	char *anchor;           /* the event its deadline is anchored on ("erasure" for an
	                         * erasure request's); NULL when unknown */
	rtn_time_t anchor_time; /* that event's time then; RTN_TIME_NONE when unknown */
	rtn_time_t first_sent;  /* when it was first sent; RTN_TIME_NONE if never (sent_at is
	                         * the latest send) */
	char *outcome;          /* once done: "deleted", "anonymized" or "not_found" */
	/* A notice (action "notice"): the action it announces and that action's deadline (its
	 * own due is the notice's time); NULL and RTN_TIME_NONE for any other job. */
	char *notice_of;
	rtn_time_t notice_deadline;
};

struct rtn_inv;

/* An implementation: one member per operation, each implementing the rtn_inv_* function
 * of the same name below, with the same arguments and returns. */
/* A live record of a subject, as rtn_inv_subject_rows gives it (valid during the call). */
struct rtn_inv_subject_row {
	int64_t rid;
	const char *id, *category;
	json_t *events; /* object: NAME -> integer Unix seconds; borrowed */
};

/* What a scan's reconciliation needs to know of a stored record (rtn_inv_scan_lookup). */
struct rtn_inv_scan_brief {
	int64_t rid;
	bool tombstone;        /* deleted, not found or left: only a tombstone remains */
	char outcome[16];      /* a tombstone's outcome ("deleted", "not_found", "left") */
	bool busy;             /* as rtn_inv_brief's */
	char backend[64];      /* the record's backend ("" when none) */
	char scan_backend[64]; /* the backend whose scan reported it ("" when none) */
	char scan_hash[72];    /* the hash of what that scan reported ("" when none) */
};

/* A hold as stored (hold.list); strings valid during the callback only. */
struct rtn_inv_hold {
	const char *kind, *value, *hold, *reason, *by; /* reason and by may be NULL */
	rtn_time_t placed_at;
};

/* The live records plan does not list: held, managed without a deadline (kept forever by
 * a keep rule, or an anchor event that has not happened), and unmanaged (no rule). */
struct rtn_inv_unscheduled {
	int64_t held, no_deadline, unmanaged;
};

struct rtn_inv_ops {
	void (*close)(struct rtn_inv *inv);
	const char *(*errmsg)(struct rtn_inv *inv);
	int (*begin)(struct rtn_inv *inv);
	int (*commit)(struct rtn_inv *inv);
	void (*rollback)(struct rtn_inv *inv);
	/* records */
	int (*get)(struct rtn_inv *inv, const char *id, struct rtn_inv_row *row);
	int (*get_rid)(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row);
	int (*lookup)(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b);
	int (*upsert)(struct rtn_inv *inv, const struct rtn_record *r, const struct rtn_inv_text *t,
	              const char *state, const struct rtn_inv_sched *s, rtn_time_t now,
	              int64_t *rid);
	int (*set_schedule)(struct rtn_inv *inv, int64_t rid, const char *state,
	                    const struct rtn_inv_sched *s, rtn_time_t now);
	int (*forget)(struct rtn_inv *inv, int64_t rid);
	int (*next_wake)(struct rtn_inv *inv, rtn_time_t *at, char **id);
	int (*due_rids)(struct rtn_inv *inv, rtn_time_t t, int64_t *rids, int max);
	int (*rids_after)(struct rtn_inv *inv, int64_t after, int64_t *rids, int max);
	int (*foreach_until)(struct rtn_inv *inv, rtn_time_t until, const char *category,
	                     int (*cb)(const struct rtn_inv_plan_row *row, void *ctx), void *ctx);
	int (*foreach_subject)(struct rtn_inv *inv, const char *subject,
	                       int (*cb)(const struct rtn_inv_row *row, void *ctx), void *ctx);
	int (*subject_rows)(struct rtn_inv *inv, const char *subject,
	                    int (*cb)(const struct rtn_inv_subject_row *row, void *ctx), void *ctx);
	int (*subject_event)(struct rtn_inv *inv, const char *subject, const char *event,
	                     bool latest, const char *except, rtn_time_t *at, char **record);
	json_t *(*count_states)(struct rtn_inv *inv);
	json_t *(*unmanaged)(struct rtn_inv *inv);
	json_t *(*count_jobs)(struct rtn_inv *inv);
	json_t *(*count_jobs_by_backend)(struct rtn_inv *inv);
	int (*holds_for)(struct rtn_inv *inv, const char *id, const char *subject,
	                 const char *category, json_t **out);
	bool (*any_holds)(struct rtn_inv *inv);
	char *(*meta_get)(struct rtn_inv *inv, const char *key);
	int (*meta_set)(struct rtn_inv *inv, const char *key, const char *value);
	/* jobs and the record transitions of dispatch */
	int (*queue_take)(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
	                  struct rtn_inv_row *rows);
	int (*queue_orphans)(struct rtn_inv *inv, const char *const *backends, size_t n,
	                     rtn_time_t now, int max, int64_t *rids);
	int (*job_get)(struct rtn_inv *inv, const char *job, struct rtn_inv_job *j);
	int (*job_open_for)(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j);
	int (*job_latest_for)(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j);
	int (*job_put)(struct rtn_inv *inv, const struct rtn_inv_job *j);
	int (*job_insert)(struct rtn_inv *inv, const struct rtn_inv_job *j);
	int (*job_done)(struct rtn_inv *inv, const char *job, const char *backend, rtn_time_t now,
	                const char *note, const char *outcome);
	int (*job_cancel_retry)(struct rtn_inv *inv, int64_t rid, rtn_time_t now);
	int (*job_brief)(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row);
	int (*jobs_retry_due)(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
	                      char **ids);
	int (*jobs_unanswered)(struct rtn_inv *inv, const char *backend, rtn_time_t now);
	int (*job_unanswered)(struct rtn_inv *inv, const char *job, rtn_time_t now);
	int (*jobs_next_retry)(struct rtn_inv *inv, rtn_time_t *at);
	json_t *(*jobs_list)(struct rtn_inv *inv, const char *state, size_t limit);
	int (*jobs_dead)(struct rtn_inv *inv, const char *job, char ***ids);
	int (*foreach_open_job)(struct rtn_inv *inv, rtn_time_t until, const char *category,
	                        int (*cb)(const struct rtn_inv_job *j, void *ctx), void *ctx);
	int (*mark)(struct rtn_inv *inv, int64_t rid, const char *state, rtn_time_t next_at,
	            rtn_time_t now);
	int (*tombstone)(struct rtn_inv *inv, int64_t rid, const char *rule, const char *job,
	                 const char *outcome, rtn_time_t now);
	int (*set_anonymized)(struct rtn_inv *inv, int64_t rid, rtn_time_t now);
	int (*set_review_mark)(struct rtn_inv *inv, int64_t rid, const char *mark);
	json_t *(*paused_by_rule)(struct rtn_inv *inv);
	json_t *(*paused_of_step)(struct rtn_inv *inv, const char *cause, const char *ref);
	int (*release_paused)(struct rtn_inv *inv, const char *cause, rtn_time_t now);
	int (*release_undone)(struct rtn_inv *inv, const char *cause, rtn_time_t now);
	int (*step_mark)(struct rtn_inv *inv, int64_t rid, const char *cause, const char *ref,
	                 bool pause, rtn_time_t now);
	int (*step_pause)(struct rtn_inv *inv, const char *cause, const char *ref, rtn_time_t now);
	json_t *(*ids_in_state)(struct rtn_inv *inv, const char *state, size_t limit);
	int (*hold_add)(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
	                const char *reason, const char *by, rtn_time_t now);
	int (*hold_remove)(struct rtn_inv *inv, const char *kind, const char *value,
	                   const char *hold);
	int (*select)(struct rtn_inv *inv, const char *kind, const char *value, int64_t **rids);
	json_t *(*deleted_between)(struct rtn_inv *inv, rtn_time_t since, rtn_time_t until,
	                           const char *category);
	int64_t (*live_count)(struct rtn_inv *inv);
	/* erasure requests */
	int (*erasure_add)(struct rtn_inv *inv, const char *subject, const char *reason,
	                   const char *by, rtn_time_t now, rtn_time_t deadline,
	                   const char *deadline_set_by, char request[32], size_t *covered);
	bool (*any_erasures)(struct rtn_inv *inv);
	int (*erasure_for)(struct rtn_inv *inv, const char *id, rtn_time_t *at, char **request);
	json_t *(*erasures_open)(struct rtn_inv *inv);
	int (*erasure_complete)(struct rtn_inv *inv, const char *request, const char *pseudonym,
	                        rtn_time_t now);
	/* scans */
	int (*scan_lookup)(struct rtn_inv *inv, const char *id, struct rtn_inv_scan_brief *b);
	int (*scan_mark)(struct rtn_inv *inv, const char *id, const char *backend, const char *hash,
	                 int64_t *rid);
	int (*scan_revive)(struct rtn_inv *inv, int64_t rid, int64_t *new_rid);
	int (*scan_rids)(struct rtn_inv *inv, const char *backend, int64_t after, int64_t *rids,
	                 bool *busy, int max);
	/* residue */
	int (*pseudonymize_kept)(struct rtn_inv *inv, const char *key_id,
	                         void (*fn)(const char *subject, char *out, void *ctx), void *ctx,
	                         int64_t *changed);
	int (*checkpoint)(struct rtn_inv *inv);
	/* hold.list, and what plan does not list */
	int (*holds_list)(struct rtn_inv *inv, const char *kind, const char *value,
	                  const char *hold, int (*cb)(const struct rtn_inv_hold *h, void *ctx),
	                  void *ctx);
	int (*plan_unscheduled)(struct rtn_inv *inv, const char *category,
	                        struct rtn_inv_unscheduled *out);
	/* metrics */
	int (*oldest_in_state)(struct rtn_inv *inv, const char *state, rtn_time_t *at);
	int (*oldest_job)(struct rtn_inv *inv, rtn_time_t *at);
	json_t *(*count_done)(struct rtn_inv *inv);
	/* notices */
	int (*notice_take)(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
	                   struct rtn_inv_row *rows);
	int (*notice_clear)(struct rtn_inv *inv, int64_t rid);
	int (*notice_wake)(struct rtn_inv *inv, rtn_time_t after, rtn_time_t *next);
	int (*notices_sent)(struct rtn_inv *inv, const char *backend);
};

/* An open inventory. An implementation's own object begins with this (so a pointer to
 * one is a pointer to the other); nothing else of it is seen here. */
struct rtn_inv {
	const struct rtn_inv_ops *ops;
};

/* --- opening, data, transactions (inventory.c) --------------------------------------- */

/* Open (creating or migrating) the inventory at path. A file path opens the SQLite
 * inventory there. A URI ("scheme://...") selects another implementation by its scheme
 * (postgresql:// is the one planned); none is built in yet, so any URI is -EINVAL with a
 * message, and no file is made. 0 or -errno with a message in err. */
int rtn_inv_open(const char *path, struct rtn_inv **out, char *err, size_t errlen);

/* Close it; NULL is fine. */
static inline void rtn_inv_close(struct rtn_inv *inv)
{
	if (inv)
		inv->ops->close(inv);
}

/* The last error message of the store, for logs. */
static inline const char *rtn_inv_errmsg(struct rtn_inv *inv)
{
	return inv->ops->errmsg(inv);
}

/* Begin / commit / roll back one flat write transaction (see the top). 0 or -EIO. */
static inline int rtn_inv_begin(struct rtn_inv *inv)
{
	return inv->ops->begin(inv);
}

static inline int rtn_inv_commit(struct rtn_inv *inv)
{
	return inv->ops->commit(inv);
}

static inline void rtn_inv_rollback(struct rtn_inv *inv)
{
	inv->ops->rollback(inv);
}

/* Free a row. */
void rtn_inv_row_fini(struct rtn_inv_row *row);
/* Free a job read. */
void rtn_inv_job_fini(struct rtn_inv_job *j);
/* Encode r's members into t (free with rtn_inv_text_fini). */
void rtn_inv_text_of(const struct rtn_record *r, struct rtn_inv_text *t);
void rtn_inv_text_fini(struct rtn_inv_text *t);

/* --- records ---------------------------------------------------------------------- */

/* Read the record called id. 0, -ENOENT or -EIO. Free row with rtn_inv_row_fini. */
static inline int rtn_inv_get(struct rtn_inv *inv, const char *id, struct rtn_inv_row *row)
{
	return inv->ops->get(inv, id, row);
}

/* Read a record by its internal row id. Same returns. */
static inline int rtn_inv_get_rid(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row)
{
	return inv->ops->get_rid(inv, rid, row);
}

/* Look up a record briefly. 0, -ENOENT or -EIO. */
static inline int rtn_inv_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b)
{
	return inv->ops->lookup(inv, id, b);
}

/* Write the record's data, state and schedule: a new row when *rid is 0 (then *rid is
 * set; -EEXIST, nothing written, if the id is taken), else replace row *rid. t (may be
 * NULL) holds members already encoded. */
static inline int rtn_inv_upsert(struct rtn_inv *inv, const struct rtn_record *r,
                                 const struct rtn_inv_text *t, const char *state,
                                 const struct rtn_inv_sched *s, rtn_time_t now, int64_t *rid)
{
	return inv->ops->upsert(inv, r, t, state, s, now, rid);
}

/* Store a new state and schedule for a row. */
static inline int rtn_inv_set_schedule(struct rtn_inv *inv, int64_t rid, const char *state,
                                       const struct rtn_inv_sched *s, rtn_time_t now)
{
	return inv->ops->set_schedule(inv, rid, state, s, now);
}

/* Remove a record and everything about it (record.forget): its jobs and id holds go, and
 * the erasure requests that covered it count it as forgotten. 0, -ENOENT or -EIO. */
static inline int rtn_inv_forget(struct rtn_inv *inv, int64_t rid)
{
	return inv->ops->forget(inv, rid);
}

/* The earliest next_at of the waiting (active, anonymized) records; RTN_TIME_NONE if none.
 * id (may be NULL) receives that record's id (caller frees) or NULL. 0 or -EIO. */
static inline int rtn_inv_next_wake(struct rtn_inv *inv, rtn_time_t *at, char **id)
{
	return inv->ops->next_wake(inv, at, id);
}

/* Up to max waiting row ids with next_at <= t, earliest first. Count or -EIO. */
static inline int rtn_inv_due_rids(struct rtn_inv *inv, rtn_time_t t, int64_t *rids, int max)
{
	return inv->ops->due_rids(inv, t, rids, max);
}

/* Up to max row ids greater than after, ascending, of the live (not deleted) records (for
 * walking every live record). Count or -EIO. */
static inline int rtn_inv_rids_after(struct rtn_inv *inv, int64_t after, int64_t *rids, int max)
{
	return inv->ops->rids_after(inv, after, rids, max);
}

/* --- scans ------------------------------------------------------------------------- */

/* What a scan's reconciliation needs of the record called id. 0, -ENOENT or -EIO. */
static inline int rtn_inv_scan_lookup(struct rtn_inv *inv, const char *id,
                                      struct rtn_inv_scan_brief *b)
{
	return inv->ops->scan_lookup(inv, id, b);
}

/* The record called id was reported by backend's scan with content hash: kept with it,
 * *rid set. 0, -ENOENT or -EIO. */
static inline int rtn_inv_scan_mark(struct rtn_inv *inv, const char *id, const char *backend,
                                    const char *hash, int64_t *rid)
{
	return inv->ops->scan_mark(inv, id, backend, hash, rid);
}

/* A tombstone seen again: the row becomes a live record (state active, its data still to
 * be put) under a new row id greater than every other, so that its jobs get new ids; its
 * old jobs keep the old one. *new_rid set. 0, -ENOENT (not a tombstone) or -EIO. */
static inline int rtn_inv_scan_revive(struct rtn_inv *inv, int64_t rid, int64_t *new_rid)
{
	return inv->ops->scan_revive(inv, rid, new_rid);
}

/* Up to max row ids greater than after, ascending, of the live records backend's scans
 * reported, each with whether it is busy. Count or -EIO. */
static inline int rtn_inv_scan_rids(struct rtn_inv *inv, const char *backend, int64_t after,
                                    int64_t *rids, bool *busy, int max)
{
	return inv->ops->scan_rids(inv, backend, after, rids, busy, max);
}

/* Call cb for each record with an action still to do by until (optionally of one
 * category), in next_at order, until cb returns non-zero. 0 or -EIO. */
static inline int rtn_inv_foreach_until(struct rtn_inv *inv, rtn_time_t until, const char *category,
                                        int (*cb)(const struct rtn_inv_plan_row *row, void *ctx),
                                        void *ctx)
{
	return inv->ops->foreach_until(inv, until, category, cb, ctx);
}

/* Call cb for each record of subject, in id order, until cb returns non-zero. 0 or -EIO. */
static inline int rtn_inv_foreach_subject(struct rtn_inv *inv, const char *subject,
                                          int (*cb)(const struct rtn_inv_row *row, void *ctx),
                                          void *ctx)
{
	return inv->ops->foreach_subject(inv, subject, cb, ctx);
}

/* Call cb for each live record of subject with its row id, id, category and events only
 * (what deciding its anchors of the subject needs): one indexed query, lighter than
 * rtn_inv_foreach_subject. 0 or -EIO. */
static inline int rtn_inv_subject_rows(struct rtn_inv *inv, const char *subject,
                                       int (*cb)(const struct rtn_inv_subject_row *row, void *ctx),
                                       void *ctx)
{
	return inv->ops->subject_rows(inv, subject, cb, ctx);
}

/* The latest (or earliest) time of event over the live records of subject other than the
 * record except (NULL: none excepted), and the id of the record that has it (ties: the
 * least id; *record allocated, caller frees). One indexed query. 0, -ENOENT (no such
 * record has the event; *at RTN_TIME_NONE, *record NULL) or -EIO. */
static inline int rtn_inv_subject_event(struct rtn_inv *inv, const char *subject, const char *event,
                                        bool latest, const char *except, rtn_time_t *at,
                                        char **record)
{
	return inv->ops->subject_event(inv, subject, event, latest, except, at, record);
}

/* --- counters ---------------------------------------------------------------------- */
/* Kept up to date in the transactions that change them: reading them costs a few rows
 * whatever the size of the inventory. */

/* Counts of records by state as a JSON object {state: n, "total": n}. New reference;
 * NULL when the inventory cannot be read (so are the two below). */
static inline json_t *rtn_inv_count_states(struct rtn_inv *inv)
{
	return inv->ops->count_states(inv);
}

/* [{"category", "records"}] of the unmanaged records, by category. New reference. */
static inline json_t *rtn_inv_unmanaged(struct rtn_inv *inv)
{
	return inv->ops->unmanaged(inv);
}

/* Counts of jobs by state {state: n}. New reference. */
static inline json_t *rtn_inv_count_jobs(struct rtn_inv *inv)
{
	return inv->ops->count_jobs(inv);
}

/* Counts of jobs by backend and state {backend: {state: n}}, states with none left out.
 * New reference. */
static inline json_t *rtn_inv_count_jobs_by_backend(struct rtn_inv *inv)
{
	return inv->ops->count_jobs_by_backend(inv);
}

/* Number of live records (not deleted); 0 when it cannot be read. */
static inline int64_t rtn_inv_live_count(struct rtn_inv *inv)
{
	return inv->ops->live_count(inv);
}

/* --- holds ------------------------------------------------------------------------- */

/* The holds covering a record (by id, subject or category), as a JSON array of
 * {"hold", "reason", "selector"} in *out (new reference, also on error), by hold and
 * kind. 0 or -EIO. */
static inline int rtn_inv_holds_for(struct rtn_inv *inv, const char *id, const char *subject,
                                    const char *category, json_t **out)
{
	return inv->ops->holds_for(inv, id, subject, category, out);
}

/* True if any hold exists (so callers can skip per-record lookups); true on an error. */
static inline bool rtn_inv_any_holds(struct rtn_inv *inv)
{
	return inv->ops->any_holds(inv);
}

/* Place a hold (kind "id", "subject" or "category"). 0, -EEXIST if that hold is there,
 * or -EIO. */
static inline int rtn_inv_hold_add(struct rtn_inv *inv, const char *kind, const char *value,
                                   const char *hold, const char *reason, const char *by,
                                   rtn_time_t now)
{
	return inv->ops->hold_add(inv, kind, value, hold, reason, by, now);
}

/* Remove a hold. 0, -ENOENT or -EIO. */
static inline int rtn_inv_hold_remove(struct rtn_inv *inv, const char *kind, const char *value,
                                      const char *hold)
{
	return inv->ops->hold_remove(inv, kind, value, hold);
}

/* Call cb for each hold, optionally only those of kind (with value, when not NULL) and
 * of name hold, by time placed, until cb returns non-zero. 0 or -EIO. */
static inline int rtn_inv_holds_list(struct rtn_inv *inv, const char *kind, const char *value,
                                     const char *hold,
                                     int (*cb)(const struct rtn_inv_hold *h, void *ctx), void *ctx)
{
	return inv->ops->holds_list(inv, kind, value, hold, cb, ctx);
}

/* The counts of what a plan leaves out (of one category, unless NULL), from the records'
 * state index. 0 or -EIO. */
static inline int rtn_inv_plan_unscheduled(struct rtn_inv *inv, const char *category,
                                           struct rtn_inv_unscheduled *out)
{
	return inv->ops->plan_unscheduled(inv, category, out);
}

/* Row ids of the live records a selector covers (kind "id", "subject", "category"). Count
 * or -EIO; *rids is allocated (caller frees; NULL when none). */
static inline int rtn_inv_select(struct rtn_inv *inv, const char *kind, const char *value,
                                 int64_t **rids)
{
	return inv->ops->select(inv, kind, value, rids);
}

/* --- meta -------------------------------------------------------------------------- */

/* A value of the meta table, or NULL (caller frees). */
static inline char *rtn_inv_meta_get(struct rtn_inv *inv, const char *key)
{
	return inv->ops->meta_get(inv, key);
}

/* Set a value of the meta table. 0 or -EIO. */
static inline int rtn_inv_meta_set(struct rtn_inv *inv, const char *key, const char *value)
{
	return inv->ops->meta_set(inv, key, value);
}

/* --- jobs -------------------------------------------------------------------------- */

/* Up to max queued records of backend whose next action is due by now (never later ones),
 * earliest first, each as rtn_inv_job_brief() reads it and with its stored notice
 * (sched.notice_*, as rtn_inv_notice_take reads them; free each with rtn_inv_row_fini).
 * Count or -EIO. */
static inline int rtn_inv_queue_take(struct rtn_inv *inv, const char *backend, rtn_time_t now,
                                     int max, struct rtn_inv_row *rows)
{
	return inv->ops->queue_take(inv, backend, now, max, rows);
}

/* Up to max queued records due by now whose backend is NULL or not one of the n names
 * (a record nobody can act on). Count or -EIO. */
static inline int rtn_inv_queue_orphans(struct rtn_inv *inv, const char *const *backends, size_t n,
                                        rtn_time_t now, int max, int64_t *rids)
{
	return inv->ops->queue_orphans(inv, backends, n, now, max, rids);
}

/* Read a job. 0, -ENOENT or -EIO. Free with rtn_inv_job_fini. */
static inline int rtn_inv_job_get(struct rtn_inv *inv, const char *job, struct rtn_inv_job *j)
{
	return inv->ops->job_get(inv, job, j);
}

/* The job of a record that is out (sent or waiting to retry). 0, -ENOENT or -EIO. */
static inline int rtn_inv_job_open_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j)
{
	return inv->ops->job_open_for(inv, rid, j);
}

/* The newest job of a record that is out or dead (sent, retry, dead). 0, -ENOENT, -EIO. */
static inline int rtn_inv_job_latest_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j)
{
	return inv->ops->job_latest_for(inv, rid, j);
}

/* Insert or replace a job row. 0 or -EIO. */
static inline int rtn_inv_job_put(struct rtn_inv *inv, const struct rtn_inv_job *j)
{
	return inv->ops->job_put(inv, j);
}

/* Insert a new job row. 0 or -EIO (also when the job id is taken). */
static inline int rtn_inv_job_insert(struct rtn_inv *inv, const struct rtn_inv_job *j)
{
	return inv->ops->job_insert(inv, j);
}

/* Mark a job of backend done in one statement with its outcome ("deleted", "anonymized",
 * "not_found"; a late "done" for a job given up or cancelled counts too: the action
 * happened). 0, -ENOENT (unknown, another backend's, or already done), -EIO. */
static inline int rtn_inv_job_done(struct rtn_inv *inv, const char *job, const char *backend,
                                   rtn_time_t now, const char *note, const char *outcome)
{
	return inv->ops->job_done(inv, job, backend, now, note, outcome);
}

/* Cancel a record's job that waits for a retry (a hold came). Count (0 or 1) or -EIO. */
static inline int rtn_inv_job_cancel_retry(struct rtn_inv *inv, int64_t rid, rtn_time_t now)
{
	return inv->ops->job_cancel_retry(inv, rid, now);
}

/* What a job message and its entries need of a record (id, category, subject, the locator as
 * JSON text in locator_text, events, schedule), without its attributes. Free with rtn_inv_row_fini.
 * 0, -ENOENT or -EIO. */
static inline int rtn_inv_job_brief(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row)
{
	return inv->ops->job_brief(inv, rid, row);
}

/* Up to max jobs of backend waiting to be retried by now, earliest first. Count or -EIO;
 * ids are allocated (caller frees each). */
static inline int rtn_inv_jobs_retry_due(struct rtn_inv *inv, const char *backend, rtn_time_t now,
                                         int max, char **ids)
{
	return inv->ops->jobs_retry_due(inv, backend, now, max, ids);
}

/* Jobs sent without a result (to backend, or to any when NULL) become due for retry now.
 * Count or -EIO. */
static inline int rtn_inv_jobs_unanswered(struct rtn_inv *inv, const char *backend, rtn_time_t now)
{
	return inv->ops->jobs_unanswered(inv, backend, now);
}

/* One job sent without a result becomes due for retry now (if it is still sent). 0/-EIO. */
static inline int rtn_inv_job_unanswered(struct rtn_inv *inv, const char *job, rtn_time_t now)
{
	return inv->ops->job_unanswered(inv, job, now);
}

/* The earliest next_attempt of the jobs waiting to retry; RTN_TIME_NONE if none. 0/-EIO. */
static inline int rtn_inv_jobs_next_retry(struct rtn_inv *inv, rtn_time_t *at)
{
	return inv->ops->jobs_next_retry(inv, at);
}

/* Up to limit jobs for jobs.list, newest first (state NULL: all). New reference. */
static inline json_t *rtn_inv_jobs_list(struct rtn_inv *inv, const char *state, size_t limit)
{
	return inv->ops->jobs_list(inv, state, limit);
}

/* Ids of dead jobs (all, or the one named). Count or -EIO; caller frees. */
static inline int rtn_inv_jobs_dead(struct rtn_inv *inv, const char *job, char ***ids)
{
	return inv->ops->jobs_dead(inv, job, ids);
}

/* Call cb for each open job (sent or retry) due by until (optionally of one category), in
 * due order, until cb returns non-zero. 0 or -EIO. */
static inline int rtn_inv_foreach_open_job(struct rtn_inv *inv, rtn_time_t until,
                                           const char *category,
                                           int (*cb)(const struct rtn_inv_job *j, void *ctx),
                                           void *ctx)
{
	return inv->ops->foreach_open_job(inv, until, category, cb, ctx);
}

/* --- record transitions ------------------------------------------------------------ */

/* Set a record's state and next_at (RTN_TIME_NONE: NULL). 0 or -EIO. */
static inline int rtn_inv_mark(struct rtn_inv *inv, int64_t rid, const char *state,
                               rtn_time_t next_at, rtn_time_t now)
{
	return inv->ops->mark(inv, rid, state, next_at, now);
}

/* Turn a record into a tombstone: subject, locator, attributes and events dropped (its
 * jobs' subject too); it keeps outcome ("deleted": the backend deleted it, "not_found": nothing was
 * there). A tombstone is left as it is (its deletion's time, rule, job and outcome stay). */
static inline int rtn_inv_tombstone(struct rtn_inv *inv, int64_t rid, const char *rule,
                                    const char *job, const char *outcome, rtn_time_t now)
{
	return inv->ops->tombstone(inv, rid, rule, job, outcome, now);
}

/* Record that the record was anonymised at now. */
static inline int rtn_inv_set_anonymized(struct rtn_inv *inv, int64_t rid, rtn_time_t now)
{
	return inv->ops->set_anonymized(inv, rid, now);
}

/* Store a reviewer's decision ("approve J-..." / "reject J-...", or NULL). */
static inline int rtn_inv_set_review_mark(struct rtn_inv *inv, int64_t rid, const char *mark)
{
	return inv->ops->set_review_mark(inv, rid, mark);
}

/* [{"rule", "cause", "records"}] of the records paused by the mass-deletion guard, by the
 * rule of their next action and the cause of the pause ("rules", "import", "scan",
 * "start-up", "clock"). New reference, or NULL on an error. */
static inline json_t *rtn_inv_paused_by_rule(struct rtn_inv *inv)
{
	return inv->ops->paused_by_rule(inv);
}

/* [{"rule", "records"}] of the records the guard paused for one step: cause and ref (NULL
 * for a step without one). New reference, or NULL on an error. */
static inline json_t *rtn_inv_paused_of_step(struct rtn_inv *inv, const char *cause,
                                             const char *ref)
{
	return inv->ops->paused_of_step(inv, cause, ref);
}

/* Release the paused records of cause (every cause when NULL): to queued (or review) when
 * due by now, else back to waiting (active, or anonymized); the cause is dropped. Count or
 * -EIO. */
static inline int rtn_inv_release_paused(struct rtn_inv *inv, const char *cause, rtn_time_t now)
{
	return inv->ops->release_paused(inv, cause, now);
}

/* The paused records of cause whose next action is not due by now any more go back to
 * waiting (active, or anonymized), their cause dropped. Count or -EIO. */
static inline int rtn_inv_release_undone(struct rtn_inv *inv, const char *cause, rtn_time_t now)
{
	return inv->ops->release_undone(inv, cause, now);
}

/* The record rid, when it is due and not yet sent (queued or review), keeps the step that
 * made it due (cause, ref) in pause_cause and pause_ref while it is not paused; any write
 * that moves it on drops them; with pause it is paused at once (a step already over the
 * limit). 1 when it was marked, 0 when it is not due, or -EIO. */
static inline int rtn_inv_step_mark(struct rtn_inv *inv, int64_t rid, const char *cause,
                                    const char *ref, bool pause, rtn_time_t now)
{
	return inv->ops->step_mark(inv, rid, cause, ref, pause, now);
}

/* Pause every record marked with the step (cause, ref) that is still not sent. Count or
 * -EIO. */
static inline int rtn_inv_step_pause(struct rtn_inv *inv, const char *cause, const char *ref,
                                     rtn_time_t now)
{
	return inv->ops->step_pause(inv, cause, ref, now);
}

/* Ids of up to limit records in state, by next_at then id (for review.list and friends).
 * New reference: a JSON array of ids. */
static inline json_t *rtn_inv_ids_in_state(struct rtn_inv *inv, const char *state, size_t limit)
{
	return inv->ops->ids_in_state(inv, state, limit);
}

/* Tombstones made in [since, until) (optionally of one category), by rule and category:
 * [{"rule", "category", "deleted", "not_found"}] ("deleted": the backend deleted the
 * record; "not_found": it answered that nothing was there). New reference. */
static inline json_t *rtn_inv_deleted_between(struct rtn_inv *inv, rtn_time_t since,
                                              rtn_time_t until, const char *category)
{
	return inv->ops->deleted_between(inv, since, until, category);
}

/* --- erasure requests -------------------------------------------------------------- */

/* Record an erasure request covering the live, not anonymised records of subject (their
 * number in *covered), with its deadline and who set it (a namespace, or NULL: the
 * config); *request receives its id ("R-N"). Caller's transaction. */
static inline int rtn_inv_erasure_add(struct rtn_inv *inv, const char *subject, const char *reason,
                                      const char *by, rtn_time_t now, rtn_time_t deadline,
                                      const char *deadline_set_by, char request[32],
                                      size_t *covered)
{
	return inv->ops->erasure_add(inv, subject, reason, by, now, deadline, deadline_set_by,
	                             request, covered);
}

/* True if a live record is covered by an erasure request (so callers can skip lookups);
 * true on an error. */
static inline bool rtn_inv_any_erasures(struct rtn_inv *inv)
{
	return inv->ops->any_erasures(inv);
}

/* The earliest erasure request covering the record called id: 0 with *at (the request's
 * time) and *request (caller frees), -ENOENT or -EIO. */
static inline int rtn_inv_erasure_for(struct rtn_inv *inv, const char *id, rtn_time_t *at,
                                      char **request)
{
	return inv->ops->erasure_for(inv, id, at, request);
}

/* Open erasure requests, oldest first, as [{"request", "subject", "requested",
 * "deadline", "deadline_set_by" (absent: the config), "reason", "records", "pending", "deleted",
 * "anonymized", "retained", "forgotten"}]: what became of the records each covers. New reference;
 * NULL on error. */
static inline json_t *rtn_inv_erasures_open(struct rtn_inv *inv)
{
	return inv->ops->erasures_open(inv);
}

/* Mark an erasure request completed; it keeps only the records a rule retains, and its
 * subject only as pseudonym (given by the caller). */
static inline int rtn_inv_erasure_complete(struct rtn_inv *inv, const char *request,
                                           const char *pseudonym, rtn_time_t now)
{
	return inv->ops->erasure_complete(inv, request, pseudonym, now);
}

/* --- residue ------------------------------------------------------------------------ */

/* The subjects kept in clear by an older version in what outlives the records (a job's
 * subject, a completed erasure request's) replaced by fn's pseudonym of them (fn writes
 * RTN_PSEUDONYM_LEN + 1 bytes to out), and key_id stored as meta "pseudonyms", in one
 * transaction; *changed counts them. Outside a transaction. 0 or -EIO. */
static inline int rtn_inv_pseudonymize_kept(struct rtn_inv *inv, const char *key_id,
                                            void (*fn)(const char *subject, char *out, void *ctx),
                                            void *ctx, int64_t *changed)
{
	return inv->ops->pseudonymize_kept(inv, key_id, fn, ctx, changed);
}

/* After deletions: what the storage keeps of deleted data beside its live pages (old page
 * images in a write-ahead log) is written back and cut off. Outside a transaction. 0, or
 * -EIO (-EBUSY: a reader kept it from finishing; the next call tries again). */
static inline int rtn_inv_checkpoint(struct rtn_inv *inv)
{
	return inv->ops->checkpoint(inv);
}

/* --- metrics --------------------------------------------------------------------- */

/* The earliest next_at of the records in state (one seek of an index); RTN_TIME_NONE when
 * none has one. 0 or -EIO. */
static inline int rtn_inv_oldest_in_state(struct rtn_inv *inv, const char *state, rtn_time_t *at)
{
	return inv->ops->oldest_in_state(inv, state, at);
}

/* The earliest due of the jobs sent, waiting for a retry or dead (an index search of the
 * sent ones, a seek of an index for the others); RTN_TIME_NONE when there is none. 0 or
 * -EIO. */
static inline int rtn_inv_oldest_job(struct rtn_inv *inv, rtn_time_t *at)
{
	return inv->ops->oldest_job(inv, at);
}

/* The done jobs by rule and outcome [{"rule", "outcome", "jobs"}], from those counts:
 * an erasure request's rule as "erasure", outcome null for jobs done before outcomes were
 * kept; NULL when they cannot be read. New reference. Kept as the other counters. */
static inline json_t *rtn_inv_count_done(struct rtn_inv *inv)
{
	return inv->ops->count_done(inv);
}

/* --- notices ---------------------------------------------------------------------- */

/* Up to max waiting (active, anonymized) records whose notice for backend is due by now and
 * not yet made, earliest first: the brief of rtn_inv_job_brief with the stored schedule's
 * notice (notice_at, notice_for, notice_rule, notice_backend; the action's next_at, rules).
 * Count or -EIO. */
static inline int rtn_inv_notice_take(struct rtn_inv *inv, const char *backend, rtn_time_t now,
                                      int max, struct rtn_inv_row *rows)
{
	return inv->ops->notice_take(inv, backend, now, max, rows);
}

/* The record's notice is made (or moot): notice_at cleared, the rest kept. 0 or -EIO. */
static inline int rtn_inv_notice_clear(struct rtn_inv *inv, int64_t rid)
{
	return inv->ops->notice_clear(inv, rid);
}

/* For the timer: *next the earliest notice time after `after` of a waiting record whose
 * notice is still to be made (RTN_TIME_NONE: none). 0 or -EIO. */
/* The notices sent to backend and not answered yet. Count or -EIO. */
static inline int rtn_inv_notices_sent(struct rtn_inv *inv, const char *backend)
{
	return inv->ops->notices_sent(inv, backend);
}

static inline int rtn_inv_notice_wake(struct rtn_inv *inv, rtn_time_t after, rtn_time_t *next)
{
	return inv->ops->notice_wake(inv, after, next);
}

#endif
