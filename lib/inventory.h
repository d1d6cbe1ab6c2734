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

#define RTN_INV_SCHEMA_VERSION 1

struct rtn_inv;

/* The materialised schedule of a record. next_at is the time of its next action
 * (RTN_TIME_NONE: none); the timer waits for it while the record is active or
 * anonymized, and a due record (queued, review) keeps it as the time it fell due. */
struct rtn_inv_sched {
	rtn_time_t anon_at, del_at, next_at;
	const char *anon_rule, *del_rule; /* NULL when none; "erasure:R-..." for erasures */
	bool anon_review, del_review;
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
	char *anon_rule_buf, *del_rule_buf;
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
};

/* Look up a record briefly. 0, -ENOENT or -EIO. */
int rtn_inv_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b);
/* Write the record's data, state and schedule: a new row when *rid is 0 (then *rid is
 * set), else replace row *rid. */
int rtn_inv_upsert(struct rtn_inv *inv, const struct rtn_record *r, const char *state,
		   const struct rtn_inv_sched *s, rtn_time_t now, int64_t *rid);
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

/* Counts of records by state as a JSON object {state: n, "total": n}. New reference. */
json_t *rtn_inv_count_states(struct rtn_inv *inv);
/* [{"category", "records"}] of the unmanaged records. New reference. */
json_t *rtn_inv_unmanaged(struct rtn_inv *inv);
/* Counts of jobs by state {state: n}. New reference. */
json_t *rtn_inv_count_jobs(struct rtn_inv *inv);

/* Names of the holds covering a record (by id, subject or category), as a JSON array of
 * {"hold", "reason", "selector"}. New reference. */
json_t *rtn_inv_holds_for(struct rtn_inv *inv, const char *id, const char *subject,
			  const char *category);
/* True if any hold exists (so callers can skip per-record lookups). */
bool rtn_inv_any_holds(struct rtn_inv *inv);
/* True if any erasure request is still open. */
bool rtn_inv_any_erasures(struct rtn_inv *inv);
/* The earliest open erasure request for subject: 0 with *at and *request (caller frees),
 * or -ENOENT. */
int rtn_inv_erasure_for(struct rtn_inv *inv, const char *subject, rtn_time_t *at, char **request);

/* A value of the meta table, or NULL (caller frees). */
char *rtn_inv_meta_get(struct rtn_inv *inv, const char *key);
/* Set a value of the meta table. */
int rtn_inv_meta_set(struct rtn_inv *inv, const char *key, const char *value);

#endif
