/* inv_sqlite_int.h - shared by the SQLite inventory's own files; nothing else includes it
 *
 * The files, lowest first (each calls only those before it):
 *   inv_sqlite_stmt.c     every statement's SQL, prepared in one loop; meta
 *   inv_sqlite_counts.c   the counts status reads, kept as the writes change them
 *   inv_sqlite_records.c  records, schedules, the record-forgetting cascade, counts, holds
 *   inv_sqlite_jobs.c     jobs and the record transitions of dispatch, holds placed
 *   inv_sqlite_erasure.c  erasure requests and the records each covers
 *   inv_sqlite_scan.c     what a backend's scan reported, and tombstones seen again
 *   inv_sqlite_metrics.c  the figures of metrics (oldest due per state, job counts)
 *   inv_sqlite.c          open (pragmas, integrity check, migrations), close, transactions,
 *                         and the operations table that the interface calls through
 */
#ifndef RTN_INV_SQLITE_INT_H
#define RTN_INV_SQLITE_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "inventory.h"

/* Every prepared statement, by the file that uses it (the SQL is in inv_sqlite_stmt.c). */
enum rtn_sq_stmt {
	/* inv_sqlite_records.c */
	S_GET_ID,
	S_GET_RID,
	S_LOOKUP,
	S_INSERT,
	S_UPDATE,
	S_SET_SCHED,
	S_FORGET,
	S_FORGET_JOBS,
	S_FORGET_HOLDS,
	S_FORGET_ERASURES,
	S_NEXT_WAKE,
	S_DUE,
	S_RIDS_AFTER,
	S_UNTIL,
	S_UNTIL_CAT,
	S_SUBJECT,
	S_SUBJECT_ROWS,
	S_SUBJECT_LATEST,
	S_SUBJECT_EARLIEST,
	S_COUNT_STATES,
	S_UNMANAGED,
	S_COUNT_JOBS,
	S_COUNT_JOBS_BACKEND,
	/* inv_sqlite_counts.c */
	C_WAS_RECORD,
	C_WAS_JOB,
	C_ADD,
	C_STEP_PAUSE_STATES,
	S_HOLDS_FOR,
	S_ANY_HOLDS,
	S_HOLDS_LIST,
	S_PLAN_UNSCHEDULED,
	/* inv_sqlite_stmt.c */
	S_META_GET,
	S_META_SET,
	/* inv_sqlite.c */
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	/* inv_sqlite_jobs.c */
	J_TAKE,
	J_QUEUED,
	J_GET,
	J_OPEN_FOR,
	J_LATEST_FOR,
	J_PUT,
	J_RETRY_DUE,
	J_UNANSWERED,
	J_UNANSWERED_ALL,
	J_UNANSWERED_ONE,
	J_NEXT_RETRY,
	J_LIST,
	J_LIST_STATE,
	J_DEAD,
	J_DEAD_ONE,
	J_OPEN,
	J_OPEN_CAT,
	J_MARK,
	J_TOMBSTONE,
	J_TOMBSTONE_JOBS,
	J_ANONYMIZED,
	J_REVIEW_MARK,
	J_PAUSED,
	J_PAUSED_STEP,
	J_RELEASE,
	J_RELEASE_UNDONE,
	J_STEP_MARK,
	J_STEP_PAUSE,
	J_IN_STATE,
	J_LIVE,
	J_ORPHANS,
	J_ORPHANS_NULL,
	J_INSERT,
	J_DONE,
	J_BRIEF,
	J_DELETED,
	J_CANCEL_RETRY,
	J_HOLD_ADD,
	J_HOLD_DEL,
	J_SEL_ID,
	J_SEL_SUBJECT,
	J_SEL_CATEGORY,
	/* notices (inv_sqlite_jobs.c; their columns written in inv_sqlite_records.c) */
	N_SET,
	N_TAKE,
	N_CLEAR,
	N_NEXT,
	N_SENT,
	/* inv_sqlite_scan.c */
	K_LOOKUP,
	K_MARK,
	K_REVIVE,
	K_RIDS,
	/* inv_sqlite_erasure.c */
	E_ADD,
	E_COVER,
	E_ANY,
	E_FOR,
	E_OPEN,
	E_DONE,
	E_PRUNE,
	/* inv_sqlite_metrics.c */
	M_OLDEST_STATE,
	M_OLDEST_JOB,
	M_DONE,
	SQ_COUNT
};

/* The SQLite inventory: the interface object first, so a struct rtn_inv * is one. */
struct rtn_sq_delta;
struct rtn_sq {
	struct rtn_inv base;
	sqlite3 *db;
	sqlite3_stmt *st[SQ_COUNT];
	struct rtn_sq_delta *deltas; /* counts changed in the open transaction */
	size_t ndeltas, cdeltas;
};

static inline sqlite3 *rtn_sq_db(struct rtn_inv *inv)
{
	return ((struct rtn_sq *)inv)->db;
}

/* Prepared statement i, reset and unbound. */
static inline sqlite3_stmt *rtn_sq_stmt(struct rtn_inv *inv, enum rtn_sq_stmt i)
{
	sqlite3_stmt *s = ((struct rtn_sq *)inv)->st[i];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Bind text, or NULL for a NULL pointer. */
static inline void rtn_sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

/* Bind a time, or NULL for RTN_TIME_NONE. */
static inline void rtn_sq_bind_time(sqlite3_stmt *s, int i, rtn_time_t t)
{
	if (t == RTN_TIME_NONE)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, t);
}

/* A time column, RTN_TIME_NONE for NULL. */
static inline rtn_time_t rtn_sq_col_time(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? RTN_TIME_NONE
	                                                : (rtn_time_t)sqlite3_column_int64(s, i);
}

/* Step a statement that returns nothing useful and reset it. 0 or -EIO. */
static inline int rtn_sq_step_done(sqlite3_stmt *s)
{
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : -EIO;
}

/* Step a write and reset it: the rows it changed, or -EIO. */
static inline int rtn_sq_step_changes(struct rtn_inv *inv, sqlite3_stmt *s)
{
	return rtn_sq_step_done(s) < 0 ? -EIO : sqlite3_changes(rtn_sq_db(inv));
}

/* A step's end as a return: 0 for a row, -ENOENT for none, else -EIO. */
static inline int rtn_sq_found(int step)
{
	return step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? -ENOENT : -EIO;
}

/* --- inv_sqlite_stmt.c ------------------------------------------------------------- */

/* Prepare every statement into sq->st. 0 or -EIO with err (the caller closes). */
int rtn_sq_prepare(struct rtn_sq *sq, char *err, size_t errlen);
/* Finalize the statements prepared (NULL ones are fine). */
void rtn_sq_finalize(struct rtn_sq *sq);
/* A copy of a text column, or NULL. */
char *rtn_sq_col_strdup(sqlite3_stmt *s, int i);
/* Up to max values of the first (integer) column of s, then reset it. Count or -EIO. */
int rtn_sq_rids(sqlite3_stmt *s, int64_t *out, int max);
char *rtn_sq_meta_get(struct rtn_inv *inv, const char *key);
int rtn_sq_meta_set(struct rtn_inv *inv, const char *key, const char *value);

/* --- inv_sqlite_counts.c ----------------------------------------------------------- */

/* What a record's state and category (a job's state and backend) were before a write. */
struct rtn_sq_was {
	bool found;
	char state[32];
	char name[264];                          /* the record's category, or the job's backend */
	char rule[264], outcome[32], action[16]; /* a job's */
};
int rtn_sq_record_was(struct rtn_inv *inv, int64_t rid, struct rtn_sq_was *was);
int rtn_sq_job_was(struct rtn_inv *inv, const char *job, struct rtn_sq_was *was);
/* n more (or fewer) records in state (of category: the unmanaged count by category). */
void rtn_sq_count_record(struct rtn_inv *inv, const char *state, const char *category, int64_t n);
/* A record that was `was` is now in state, of category (NULL: unchanged). */
void rtn_sq_count_record_moved(struct rtn_inv *inv, const struct rtn_sq_was *was, const char *state,
                               const char *category);
/* n more (or fewer) jobs in state of backend; a done one is counted by rule and outcome too
 * (an action's: rule NULL for a notice, which is no action). */
void rtn_sq_count_job(struct rtn_inv *inv, const char *state, const char *backend, const char *rule,
                      const char *outcome, int64_t n);
/* Step a write whose RETURNING gives, per row changed, a job's backend (kind 'j': each moved
 * from state `from` to `to`) or a record's new state (kind 'r': each moved from `from`; not
 * for unmanaged records); then reset it. The rows changed, or -EIO. */
int rtn_sq_step_moves(struct rtn_inv *inv, sqlite3_stmt *s, char kind, const char *from,
                      const char *to);
/* Write the pending changes into the open transaction (before its commit, and before the
 * counts are read). 0 or -EIO. */
int rtn_sq_counts_flush(struct rtn_inv *inv);
/* Forget them (the transaction rolled back). */
void rtn_sq_counts_drop(struct rtn_inv *inv);
void rtn_sq_counts_free(struct rtn_sq *sq);

/* --- the operations (of struct rtn_inv_ops, named alike) ---------------------------- */

/* inv_sqlite_records.c */
int rtn_sq_get(struct rtn_inv *inv, const char *id, struct rtn_inv_row *row);
int rtn_sq_get_rid(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row);
int rtn_sq_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b);
int rtn_sq_upsert(struct rtn_inv *inv, const struct rtn_record *r, const struct rtn_inv_text *t,
                  const char *state, const struct rtn_inv_sched *s, rtn_time_t now, int64_t *rid);
int rtn_sq_set_schedule(struct rtn_inv *inv, int64_t rid, const char *state,
                        const struct rtn_inv_sched *s, rtn_time_t now);
int rtn_sq_forget(struct rtn_inv *inv, int64_t rid);
int rtn_sq_next_wake(struct rtn_inv *inv, rtn_time_t *at, char **id);
int rtn_sq_due_rids(struct rtn_inv *inv, rtn_time_t t, int64_t *rids, int max);
int rtn_sq_rids_after(struct rtn_inv *inv, int64_t after, int64_t *rids, int max);
int rtn_sq_foreach_until(struct rtn_inv *inv, rtn_time_t until, const char *category,
                         int (*cb)(const struct rtn_inv_plan_row *row, void *ctx), void *ctx);
int rtn_sq_subject_rows(struct rtn_inv *inv, const char *subject,
                        int (*cb)(const struct rtn_inv_subject_row *row, void *ctx), void *ctx);
int rtn_sq_subject_event(struct rtn_inv *inv, const char *subject, const char *event, bool latest,
                         const char *except, rtn_time_t *at, char **record);
int rtn_sq_foreach_subject(struct rtn_inv *inv, const char *subject,
                           int (*cb)(const struct rtn_inv_row *row, void *ctx), void *ctx);
json_t *rtn_sq_count_states(struct rtn_inv *inv);
json_t *rtn_sq_unmanaged(struct rtn_inv *inv);
json_t *rtn_sq_count_jobs(struct rtn_inv *inv);
json_t *rtn_sq_count_jobs_by_backend(struct rtn_inv *inv);
int rtn_sq_holds_for(struct rtn_inv *inv, const char *id, const char *subject, const char *category,
                     json_t **out);
bool rtn_sq_any_holds(struct rtn_inv *inv);
int rtn_sq_holds_list(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
                      int (*cb)(const struct rtn_inv_hold *h, void *ctx), void *ctx);
int rtn_sq_plan_unscheduled(struct rtn_inv *inv, const char *category,
                            struct rtn_inv_unscheduled *out);

/* inv_sqlite_jobs.c */
int rtn_sq_queue_take(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                      struct rtn_inv_row *rows);
int rtn_sq_queue_orphans(struct rtn_inv *inv, const char *const *backends, size_t n, rtn_time_t now,
                         int max, int64_t *rids);
int rtn_sq_job_get(struct rtn_inv *inv, const char *job, struct rtn_inv_job *j);
int rtn_sq_job_open_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j);
int rtn_sq_job_latest_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j);
int rtn_sq_job_put(struct rtn_inv *inv, const struct rtn_inv_job *j);
int rtn_sq_notice_take(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                       struct rtn_inv_row *rows);
int rtn_sq_notice_clear(struct rtn_inv *inv, int64_t rid);
int rtn_sq_notice_wake(struct rtn_inv *inv, rtn_time_t after, rtn_time_t *next);
int rtn_sq_notices_sent(struct rtn_inv *inv, const char *backend);
int rtn_sq_notice_set(struct rtn_inv *inv, int64_t rid, const struct rtn_inv_sched *sc);
int rtn_sq_job_insert(struct rtn_inv *inv, const struct rtn_inv_job *j);
int rtn_sq_job_done(struct rtn_inv *inv, const char *job, const char *backend, rtn_time_t now,
                    const char *note, const char *outcome);
int rtn_sq_job_cancel_retry(struct rtn_inv *inv, int64_t rid, rtn_time_t now);
int rtn_sq_job_brief(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row);
int rtn_sq_jobs_retry_due(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                          char **ids);
int rtn_sq_jobs_unanswered(struct rtn_inv *inv, const char *backend, rtn_time_t now);
int rtn_sq_job_unanswered(struct rtn_inv *inv, const char *job, rtn_time_t now);
int rtn_sq_jobs_next_retry(struct rtn_inv *inv, rtn_time_t *at);
json_t *rtn_sq_jobs_list(struct rtn_inv *inv, const char *state, size_t limit);
int rtn_sq_jobs_dead(struct rtn_inv *inv, const char *job, char ***ids);
int rtn_sq_foreach_open_job(struct rtn_inv *inv, rtn_time_t until, const char *category,
                            int (*cb)(const struct rtn_inv_job *j, void *ctx), void *ctx);
int rtn_sq_mark(struct rtn_inv *inv, int64_t rid, const char *state, rtn_time_t next_at,
                rtn_time_t now);
int rtn_sq_tombstone(struct rtn_inv *inv, int64_t rid, const char *rule, const char *job,
                     const char *outcome, rtn_time_t now);
int rtn_sq_set_anonymized(struct rtn_inv *inv, int64_t rid, rtn_time_t now);
int rtn_sq_set_review_mark(struct rtn_inv *inv, int64_t rid, const char *mark);
json_t *rtn_sq_paused_by_rule(struct rtn_inv *inv);
json_t *rtn_sq_paused_of_step(struct rtn_inv *inv, const char *cause, const char *ref);
int rtn_sq_release_paused(struct rtn_inv *inv, const char *cause, rtn_time_t now);
int rtn_sq_release_undone(struct rtn_inv *inv, const char *cause, rtn_time_t now);
int rtn_sq_step_mark(struct rtn_inv *inv, int64_t rid, const char *cause, const char *ref,
                     bool pause, rtn_time_t now);
int rtn_sq_step_pause(struct rtn_inv *inv, const char *cause, const char *ref, rtn_time_t now);
json_t *rtn_sq_ids_in_state(struct rtn_inv *inv, const char *state, size_t limit);
int rtn_sq_hold_add(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
                    const char *reason, const char *by, rtn_time_t now);
int rtn_sq_hold_remove(struct rtn_inv *inv, const char *kind, const char *value, const char *hold);
int rtn_sq_select(struct rtn_inv *inv, const char *kind, const char *value, int64_t **rids);
json_t *rtn_sq_deleted_between(struct rtn_inv *inv, rtn_time_t since, rtn_time_t until,
                               const char *category);
int64_t rtn_sq_live_count(struct rtn_inv *inv);

/* inv_sqlite_scan.c */
int rtn_sq_scan_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_scan_brief *b);
int rtn_sq_scan_mark(struct rtn_inv *inv, const char *id, const char *backend, const char *hash,
                     int64_t *rid);
int rtn_sq_scan_revive(struct rtn_inv *inv, int64_t rid, int64_t *new_rid);
int rtn_sq_scan_rids(struct rtn_inv *inv, const char *backend, int64_t after, int64_t *rids,
                     bool *busy, int max);

/* inv_sqlite_erasure.c */
int rtn_sq_erasure_add(struct rtn_inv *inv, const char *subject, const char *reason, const char *by,
                       rtn_time_t now, rtn_time_t deadline, const char *deadline_set_by,
                       char request[32], size_t *covered);
bool rtn_sq_any_erasures(struct rtn_inv *inv);
int rtn_sq_erasure_for(struct rtn_inv *inv, const char *id, rtn_time_t *at, char **request);
json_t *rtn_sq_erasures_open(struct rtn_inv *inv);
int rtn_sq_erasure_complete(struct rtn_inv *inv, const char *request, const char *pseudonym,
                            rtn_time_t now);
int rtn_sq_pseudonymize_kept(struct rtn_inv *inv, const char *key_id,
                             void (*fn)(const char *subject, char *out, void *ctx), void *ctx,
                             int64_t *changed);

/* inv_sqlite_metrics.c */
int rtn_sq_oldest_in_state(struct rtn_inv *inv, const char *state, rtn_time_t *at);
int rtn_sq_oldest_job(struct rtn_inv *inv, rtn_time_t *at);
json_t *rtn_sq_count_done(struct rtn_inv *inv);

#endif
