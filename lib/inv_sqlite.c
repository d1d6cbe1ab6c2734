/* inv_sqlite.c - the SQLite inventory: open (WAL, synchronous=FULL, busy_timeout,
 * quick_check), the schema and its migrations by PRAGMA user_version, close, transactions,
 * and the table of operations the interface (inventory.h) calls through */
#include "inv_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_sqlite_int.h"
#include "util.h"

/* Schema version 1. Times are integer Unix seconds. */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE records("
    " rid INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " category TEXT NOT NULL,"
    " subject TEXT, backend TEXT, locator TEXT,"
    " events TEXT NOT NULL, attributes TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " anonymized_at INTEGER,"
    " anon_at INTEGER, anon_rule TEXT, del_at INTEGER, del_rule TEXT,"
    " review INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER, next_backend TEXT, review_mark TEXT,"
    " deleted_at INTEGER, deleted_rule TEXT, deleted_job TEXT);"
    /* Waiting records, for the timer: one index seek finds the earliest deadline. */
    "CREATE INDEX records_wait ON records(next_at) WHERE state IN ('active', 'anonymized')"
    " AND next_at IS NOT NULL;"
    /* Due records by state and time, for dispatch, plan and status. */
    "CREATE INDEX records_state ON records(state, next_at);"
    "CREATE INDEX records_subject ON records(subject) WHERE subject IS NOT NULL;"
    /* Each backend's queue: due records whose job is not out yet. */
    "CREATE INDEX records_queue ON records(next_backend, next_at) WHERE state = 'queued'"
    " AND next_at IS NOT NULL;"
    "CREATE TABLE holds(kind TEXT NOT NULL, value TEXT NOT NULL, hold TEXT NOT NULL,"
    " reason TEXT, placed_at INTEGER NOT NULL, placed_by TEXT,"
    " PRIMARY KEY(kind, value, hold)) WITHOUT ROWID;"
    "CREATE TABLE erasures(request TEXT PRIMARY KEY, subject TEXT NOT NULL,"
    " requested_at INTEGER NOT NULL, deadline INTEGER NOT NULL, reason TEXT,"
    " requested_by TEXT, completed_at INTEGER);"
    "CREATE INDEX erasures_subject ON erasures(subject);"
    /* A job exists from the moment it is first sent: sent -> done, or retry -> sent ...,
     * or dead. */
    "CREATE TABLE jobs(job TEXT PRIMARY KEY, rid INTEGER NOT NULL, record TEXT NOT NULL,"
    " category TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL, due INTEGER NOT NULL,"
    " backend TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER, last_error TEXT, sent_at INTEGER, done_at INTEGER,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX jobs_state ON jobs(state, backend, next_attempt);"
    "CREATE INDEX jobs_rid ON jobs(rid);";

/* Version 2: an erasure request covers the records its subject had when it was made, one
 * row each (before, it caught every record of the subject, also ones put later). Open
 * requests cover what their subject had then: the live records inserted by the time of
 * the request. The stored schedules were decided the old way: the rules hash is dropped,
 * so the next start decides every record again (under the mass-deletion guard). */
static const char schema_v2[] =
    "CREATE TABLE erasure_records(request TEXT NOT NULL REFERENCES erasures(request),"
    " rid INTEGER);"
    "CREATE INDEX erasure_records_request ON erasure_records(request);"
    "CREATE INDEX erasure_records_rid ON erasure_records(rid) WHERE rid IS NOT NULL;"
    "CREATE INDEX erasures_open ON erasures(requested_at) WHERE completed_at IS NULL;"
    "INSERT INTO erasure_records(request, rid) SELECT e.request, r.rid FROM erasures e"
    " JOIN records r ON r.subject = e.subject WHERE e.completed_at IS NULL AND"
    " r.deleted_at IS NULL AND r.anonymized_at IS NULL AND r.created <= e.requested_at;"
    "DELETE FROM meta WHERE key = 'rules_hash';";

/* Version 3: what the audit entries of a job say of it is kept with it (the record's
 * subject, the anchor event and its time, the first send, the outcome), and a tombstone
 * keeps whether the backend deleted the record or found nothing there. Older jobs and
 * tombstones get what can still be told: the subject of a live record, the first send of
 * a job sent once, the outcome from the note a "gone" answer left. */
static const char schema_v3[] =
    "ALTER TABLE jobs ADD COLUMN subject TEXT;"
    "ALTER TABLE jobs ADD COLUMN anchor TEXT;"
    "ALTER TABLE jobs ADD COLUMN anchor_time INTEGER;"
    "ALTER TABLE jobs ADD COLUMN first_sent INTEGER;"
    "ALTER TABLE jobs ADD COLUMN outcome TEXT;"
    "ALTER TABLE records ADD COLUMN deleted_outcome TEXT;"
    "UPDATE jobs SET subject = (SELECT r.subject FROM records r WHERE r.rid = jobs.rid),"
    " first_sent = CASE WHEN attempts = 1 THEN sent_at END;"
    "UPDATE jobs SET outcome = CASE WHEN last_error = 'gone: nothing was there' THEN"
    " 'not_found' WHEN action = 'delete' THEN 'deleted' ELSE 'anonymized' END"
    " WHERE state = 'done';"
    "UPDATE records SET deleted_outcome = CASE WHEN EXISTS(SELECT 1 FROM jobs j WHERE"
    " j.job = records.deleted_job AND j.last_error = 'gone: nothing was there') THEN"
    " 'not_found' ELSE 'deleted' END WHERE deleted_at IS NOT NULL;";

/* Version 4: an erasure request keeps the namespace whose erasure-deadline set its
 * deadline (NULL: retentiond.conf's, the only one before). */
static const char schema_v4[] = "ALTER TABLE erasures ADD COLUMN deadline_set_by TEXT;";

/* Version 5: an inventory that keeps itself. A record a backend's scan reported keeps that
 * backend and the hash of the content it reported (an unchanged record is found by one
 * lookup and neither written nor audited); the records of a backend's scans are found by
 * an index for the ones that left. A record the guard paused keeps why: the cause ("rules",
 * "import", "scan", "start-up", "clock") and its reference (an import or scan id); a record
 * a step made due and not yet sent keeps the step the same way, so that the guard can
 * pause it with the rest of its step (any other write that leaves it unpaused drops it). A
 * tombstone's outcome may now also be "left" (gone by other means, never by us). */
static const char schema_v5[] =
    "ALTER TABLE records ADD COLUMN scan_backend TEXT;"
    "ALTER TABLE records ADD COLUMN scan_hash TEXT;"
    "ALTER TABLE records ADD COLUMN pause_cause TEXT;"
    "ALTER TABLE records ADD COLUMN pause_ref TEXT;"
    "CREATE INDEX records_scan ON records(scan_backend, rid) WHERE scan_backend IS NOT NULL;"
    "UPDATE records SET pause_cause = 'rules' WHERE state = 'paused';";

/* Version 6: counts kept, not counted. `counts` holds the number of records per state
 * (kind "record"), of unmanaged records per category ("unmanaged") and of jobs per state and
 * backend ("job"), so that status reads a handful of rows instead of counting millions. Every
 * write that changes a record's or a job's state adds to them in its transaction
 * (inv_sqlite_counts.c); filled once here from a full count. (Not by triggers: a table with
 * a trigger has each insert and update copy the pages it touches to a statement journal,
 * and imports ran at a third of their rate.) */
static const char schema_v6[] =
    "CREATE TABLE counts(kind TEXT NOT NULL, key TEXT NOT NULL, sub TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(kind, key, sub)) WITHOUT ROWID;"
    "INSERT INTO counts SELECT 'record', state, '', count(*) FROM records GROUP BY state;"
    "INSERT INTO counts SELECT 'unmanaged', category, '', count(*) FROM records"
    " WHERE state = 'unmanaged' GROUP BY category;"
    "INSERT INTO counts SELECT 'job', state, backend, count(*) FROM jobs"
    " GROUP BY state, backend;";

/* Version 7: metrics. The done jobs are also counted by rule (an erasure request's
 * "erasure:R-..." as "erasure", so that requests do not each add a row) and outcome (''
 * before one was known), as kind "done" of `counts`, kept as the v6 counts are
 * (inv_sqlite_counts.c); the jobs waiting for a retry or dead are found by their deadline
 * in a partial index (the sent ones are bounded by the backends' windows). */
static const char schema_v7[] =
    "INSERT INTO counts(kind, key, sub, n) SELECT 'done', CASE WHEN rule LIKE 'erasure:%'"
    " THEN 'erasure' ELSE rule END, coalesce(outcome, ''), count(*) FROM jobs"
    " WHERE state = 'done' GROUP BY 2, 3;"
    "CREATE INDEX jobs_failing ON jobs(state, due) WHERE state IN ('retry', 'dead');";

/* Version 8: notice before deletion ("notify SPAN before"). A record keeps the notice of
 * its next action: when it is due (notice_at, cleared once its job is made), the deadline
 * it announces and that action's rule (notice_for, notice_rule: a new deadline is a new
 * notice), and its backend; an index finds the due ones per backend. A notice job keeps
 * the action it announces and that action's deadline (its own due is the notice's time).
 * Existing records have no notice until they are decided again. */
static const char schema_v8[] =
    "ALTER TABLE records ADD COLUMN notice_at INTEGER;"
    "ALTER TABLE records ADD COLUMN notice_for INTEGER;"
    "ALTER TABLE records ADD COLUMN notice_rule TEXT;"
    "ALTER TABLE records ADD COLUMN notice_backend TEXT;"
    "CREATE INDEX records_notice ON records(notice_backend, notice_at) WHERE notice_at IS NOT"
    " NULL AND state IN ('active', 'anonymized');"
    "CREATE INDEX records_notice_wake ON records(notice_at) WHERE notice_at IS NOT NULL AND"
    " state IN ('active', 'anonymized');"
    "ALTER TABLE jobs ADD COLUMN notice_of TEXT;"
    "ALTER TABLE jobs ADD COLUMN notice_deadline INTEGER;";

static const char *const migrations[] = {schema_v1, schema_v2, schema_v3, schema_v4,
                                         schema_v5, schema_v6, schema_v7, schema_v8};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == RTN_INV_SCHEMA_VERSION,
               "RTN_INV_SCHEMA_VERSION is the number of migrations");

static int exec(sqlite3 *db, const char *q, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int pragma_int(sqlite3 *db, const char *q, int *out)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	int r = sqlite3_step(s) == SQLITE_ROW ? 0 : -EIO;
	if (r == 0)
		*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return r;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
	int version;
	if (pragma_int(db, "PRAGMA user_version", &version) < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	int target = (int)(sizeof(migrations) / sizeof(migrations[0]));
	if (version > target) {
		snprintf(err, errlen,
		         "inventory schema version %d is newer than this retentiond knows (%d)",
		         version, target);
		return -EPROTO;
	}
	for (int v = version; v < target; v++) {
		char q[64];
		snprintf(q, sizeof(q), "PRAGMA user_version = %d", v + 1);
		if (exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
			return -EIO;
		if (exec(db, migrations[v], err, errlen) < 0 || exec(db, q, err, errlen) < 0 ||
		    exec(db, "COMMIT", err, errlen) < 0) {
			char tmp[8];
			exec(db, "ROLLBACK", tmp, sizeof(tmp));
			return -EIO;
		}
	}
	return 0;
}

static void sq_close(struct rtn_inv *inv)
{
	struct rtn_sq *sq = (struct rtn_sq *)inv;
	rtn_sq_finalize(sq);
	rtn_sq_counts_free(sq);
	if (sq->db)
		sqlite3_close(sq->db);
	free(sq);
}

static const char *sq_errmsg(struct rtn_inv *inv)
{
	return sqlite3_errmsg(rtn_sq_db(inv));
}

static int sq_begin(struct rtn_inv *inv)
{
	return rtn_sq_step_done(rtn_sq_stmt(inv, S_BEGIN));
}

static int sq_commit(struct rtn_inv *inv)
{
	if (rtn_sq_counts_flush(inv) < 0)
		return -EIO;
	return rtn_sq_step_done(rtn_sq_stmt(inv, S_COMMIT));
}

static void sq_rollback(struct rtn_inv *inv)
{
	rtn_sq_counts_drop(inv);
	if (!sqlite3_get_autocommit(rtn_sq_db(inv)))
		rtn_sq_step_done(rtn_sq_stmt(inv, S_ROLLBACK));
}

/* The connection's settings and its integrity check. 0 or -EIO with err. */
static int configure(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_busy_timeout(db, 5000);
	/* A misspelt "column" must be an error, never a string literal. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_extended_result_codes(db, 1);
	char mode[16] = "";
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	if (strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "cannot use WAL mode for %s: %s", path, sqlite3_errmsg(db));
		return -EIO;
	}
	/* A 16 MiB page cache holds the indexes dispatch walks; WAL checkpoints every 4000
	 * pages (16 MiB) rather than 1000, so bulk work is not dominated by copying pages. */
	/* Deleted content is overwritten with zeros, whatever the library's compile-time
	 * default; the write-ahead log is cut back to 4 MiB when it restarts, and to nothing
	 * by the checkpoint after deletions (sq_checkpoint), so old page images of deleted
	 * records do not linger there. */
	int secure = 0;
	if (exec(db,
	         "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;"
	         " PRAGMA wal_autocheckpoint = 4000; PRAGMA secure_delete = ON;"
	         " PRAGMA journal_size_limit = 4194304;",
	         err, errlen) < 0)
		return -EIO;
	if (pragma_int(db, "PRAGMA secure_delete", &secure) < 0 || secure != 1) {
		snprintf(err, errlen,
		         "cannot turn on secure_delete for %s: deleted records would "
		         "stay readable in free pages",
		         path);
		return -EIO;
	}
	/* quick_check's first row is "ok" (text) when all is well. */
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		snprintf(err, errlen, "inventory %s failed its integrity check: %s", path,
		         s && sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
		                                        : sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return -EIO;
	}
	sqlite3_finalize(s);
	return 0;
}

/* A TRUNCATE checkpoint: the log written back, synced, and cut to nothing. */
static int sq_checkpoint(struct rtn_inv *inv)
{
	int log = 0, done = 0;
	int r = sqlite3_wal_checkpoint_v2(rtn_sq_db(inv), NULL, SQLITE_CHECKPOINT_TRUNCATE, &log,
	                                  &done);
	return r == SQLITE_OK ? 0 : r == SQLITE_BUSY ? -EBUSY : -EIO;
}

static const struct rtn_inv_ops sqlite_ops = {
    .close = sq_close,
    .errmsg = sq_errmsg,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .get = rtn_sq_get,
    .get_rid = rtn_sq_get_rid,
    .lookup = rtn_sq_lookup,
    .upsert = rtn_sq_upsert,
    .set_schedule = rtn_sq_set_schedule,
    .forget = rtn_sq_forget,
    .next_wake = rtn_sq_next_wake,
    .due_rids = rtn_sq_due_rids,
    .rids_after = rtn_sq_rids_after,
    .foreach_until = rtn_sq_foreach_until,
    .foreach_subject = rtn_sq_foreach_subject,
    .subject_rows = rtn_sq_subject_rows,
    .subject_event = rtn_sq_subject_event,
    .count_states = rtn_sq_count_states,
    .unmanaged = rtn_sq_unmanaged,
    .count_jobs = rtn_sq_count_jobs,
    .count_jobs_by_backend = rtn_sq_count_jobs_by_backend,
    .holds_for = rtn_sq_holds_for,
    .any_holds = rtn_sq_any_holds,
    .meta_get = rtn_sq_meta_get,
    .meta_set = rtn_sq_meta_set,
    .queue_take = rtn_sq_queue_take,
    .queue_orphans = rtn_sq_queue_orphans,
    .job_get = rtn_sq_job_get,
    .job_open_for = rtn_sq_job_open_for,
    .job_latest_for = rtn_sq_job_latest_for,
    .job_put = rtn_sq_job_put,
    .job_insert = rtn_sq_job_insert,
    .job_done = rtn_sq_job_done,
    .job_cancel_retry = rtn_sq_job_cancel_retry,
    .job_brief = rtn_sq_job_brief,
    .jobs_retry_due = rtn_sq_jobs_retry_due,
    .jobs_unanswered = rtn_sq_jobs_unanswered,
    .job_unanswered = rtn_sq_job_unanswered,
    .jobs_next_retry = rtn_sq_jobs_next_retry,
    .jobs_list = rtn_sq_jobs_list,
    .jobs_dead = rtn_sq_jobs_dead,
    .foreach_open_job = rtn_sq_foreach_open_job,
    .mark = rtn_sq_mark,
    .tombstone = rtn_sq_tombstone,
    .set_anonymized = rtn_sq_set_anonymized,
    .set_review_mark = rtn_sq_set_review_mark,
    .paused_by_rule = rtn_sq_paused_by_rule,
    .paused_of_step = rtn_sq_paused_of_step,
    .release_paused = rtn_sq_release_paused,
    .release_undone = rtn_sq_release_undone,
    .step_mark = rtn_sq_step_mark,
    .step_pause = rtn_sq_step_pause,
    .ids_in_state = rtn_sq_ids_in_state,
    .hold_add = rtn_sq_hold_add,
    .hold_remove = rtn_sq_hold_remove,
    .select = rtn_sq_select,
    .deleted_between = rtn_sq_deleted_between,
    .live_count = rtn_sq_live_count,
    .erasure_add = rtn_sq_erasure_add,
    .any_erasures = rtn_sq_any_erasures,
    .erasure_for = rtn_sq_erasure_for,
    .erasures_open = rtn_sq_erasures_open,
    .erasure_complete = rtn_sq_erasure_complete,
    .scan_lookup = rtn_sq_scan_lookup,
    .scan_mark = rtn_sq_scan_mark,
    .scan_revive = rtn_sq_scan_revive,
    .scan_rids = rtn_sq_scan_rids,
    .pseudonymize_kept = rtn_sq_pseudonymize_kept,
    .notice_take = rtn_sq_notice_take,
    .notice_clear = rtn_sq_notice_clear,
    .notice_wake = rtn_sq_notice_wake,
    .notices_sent = rtn_sq_notices_sent,
    .checkpoint = sq_checkpoint,
    .holds_list = rtn_sq_holds_list,
    .plan_unscheduled = rtn_sq_plan_unscheduled,
    .oldest_in_state = rtn_sq_oldest_in_state,
    .oldest_job = rtn_sq_oldest_job,
    .count_done = rtn_sq_count_done,
};

int rtn_sq_open(const char *path, struct rtn_inv **out, char *err, size_t errlen)
{
	struct rtn_sq *sq = rtn_xcalloc(1, sizeof(*sq));
	sq->base.ops = &sqlite_ops;
	int r = sqlite3_open_v2(
	    path, &sq->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         sq->db ? sqlite3_errmsg(sq->db) : sqlite3_errstr(r));
		r = -EIO;
	} else if ((r = configure(sq->db, path, err, errlen)) == 0 &&
	           (r = migrate(sq->db, err, errlen)) == 0) {
		r = rtn_sq_prepare(sq, err, errlen);
	}
	if (r < 0) {
		sq_close(&sq->base);
		return r;
	}
	*out = &sq->base;
	return 0;
}
