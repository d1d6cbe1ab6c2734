/* inv_sqlite_stmt.c - the SQLite inventory's statements, prepared in one loop, and meta
 *
 * Every statement the inventory runs is here, with bound values only; the schema and its
 * migrations are in inv_sqlite.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_sqlite_int.h"
#include "util.h"

#define ROW_COLS                                                                                   \
	"rid, id, category, subject, backend, locator, events, attributes, state, created, "       \
	"updated, anonymized_at, anon_at, anon_rule, del_at, del_rule, review, next_at, "          \
	"deleted_at, deleted_rule, deleted_job, next_backend, review_mark, deleted_outcome, "      \
	"notice_at, notice_for, notice_rule, notice_backend"

#define PLAN_COLS                                                                                  \
	"id, category, backend, anon_at, anon_rule, del_at, del_rule, review, next_at, state, "    \
	"notice_at, notice_for, notice_rule"
/* A record with a job out (queued without next_at, or held while a job is sent or
 * retried) or a dead one: it cannot change until the backend answers or jobs.retry. */
#define BUSY                                                                                       \
	"(state = 'queued' AND next_at IS NULL) OR state = 'failed' OR (state = 'held' AND "       \
	"EXISTS(SELECT 1 FROM jobs WHERE jobs.rid = records.rid AND jobs.state IN "                \
	"('sent', 'retry') AND jobs.action != 'notice'))"
/* The rule of a paused record's next action. */
#define PAUSED_RULE "CASE WHEN anon_at = next_at THEN anon_rule ELSE del_rule END"
/* A write that leaves a record in state S other than paused drops the guard's mark. */
#define UNMARK(S)                                                                                  \
	"pause_cause = CASE WHEN " S " = 'paused' THEN pause_cause END, pause_ref = CASE WHEN " S  \
	" = 'paused' THEN pause_ref END"
/* States of a record whose schedule is still to be carried out. */
#define LIVE_STATES "('active', 'anonymized', 'queued', 'review', 'paused', 'failed')"

#define JOB_COLS                                                                                   \
	"job, rid, record, category, action, rule, backend, state, attempts, due, "                \
	"next_attempt, sent_at, done_at, created, updated, last_error, subject, anchor, "          \
	"anchor_time, first_sent, outcome, notice_of, notice_deadline"

/* The condition of the partial index jobs_failing. */
#define FAILING "state IN ('retry', 'dead')"

/* A covered record's outcome so far; the counts of a request add them up. */
#define E_FORGOTTEN  "er.request IS NOT NULL AND r.rid IS NULL"
#define E_DELETED    "r.deleted_at IS NOT NULL"
#define E_ANONYMIZED "r.deleted_at IS NULL AND r.anonymized_at IS NOT NULL"
#define E_RETAINED                                                                                 \
	"r.deleted_at IS NULL AND r.anonymized_at IS NULL AND r.state = 'active' AND "             \
	"(r.del_at IS NULL OR r.del_at > e.requested_at)"

static const char *const sql[SQ_COUNT] = {
    /* --- records, schedules, counts, holds read (inv_sqlite_records.c) --- */
    [S_GET_ID] = "SELECT " ROW_COLS " FROM records WHERE id = ?1",
    [S_GET_RID] = "SELECT " ROW_COLS " FROM records WHERE rid = ?1",
    [S_LOOKUP] = "SELECT rid, json_extract(events, '$.created'), anonymized_at, deleted_at, " BUSY
                 ", review_mark FROM records WHERE id = ?1",
    [S_INSERT] = "INSERT INTO records(id, category, subject, backend, locator, events, "
                 "attributes, state, created, updated, anon_at, anon_rule, del_at, del_rule, "
                 "review, next_at, next_backend, scan_backend, scan_hash) VALUES(?1, ?2, ?3, ?4, "
                 "?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) ON "
                 "CONFLICT(id) DO NOTHING",
    [S_UPDATE] = "UPDATE records SET category = ?2, subject = ?3, backend = ?4, locator = ?5, "
                 "events = ?6, attributes = ?7, state = ?8, updated = ?9, anon_at = ?10, "
                 "anon_rule = ?11, del_at = ?12, del_rule = ?13, review = ?14, next_at = ?15, "
                 "next_backend = ?16, scan_backend = coalesce(?17, scan_backend), scan_hash = "
                 "coalesce(?18, scan_hash), " UNMARK("?8") " WHERE rid = ?1",
    [S_SET_SCHED] = "UPDATE records SET state = ?2, updated = ?3, anon_at = ?4, anon_rule = "
                    "?5, del_at = ?6, del_rule = ?7, review = ?8, next_at = ?9, next_backend = "
                    "?10, pause_cause = CASE WHEN ?2 = 'paused' THEN coalesce(pause_cause, "
                    "'rules') END, pause_ref = CASE WHEN ?2 = 'paused' THEN pause_ref END "
                    "WHERE rid = ?1",
    [S_FORGET] = "DELETE FROM records WHERE rid = ?1",
    [S_FORGET_JOBS] = "DELETE FROM jobs WHERE rid = ?1 RETURNING state, backend, CASE WHEN action "
                      "!= 'notice' THEN rule END, outcome",
    [S_FORGET_ERASURES] = "UPDATE erasure_records SET rid = NULL WHERE rid = ?1",
    [S_FORGET_HOLDS] = "DELETE FROM holds WHERE kind = 'id' AND value = ?1",
    [S_NEXT_WAKE] = "SELECT next_at, id FROM records INDEXED BY records_wait WHERE state IN "
                    "('active', 'anonymized') "
                    "AND next_at IS NOT NULL ORDER BY next_at LIMIT 1",
    [S_DUE] = "SELECT rid FROM records INDEXED BY records_wait WHERE state IN ('active', "
              "'anonymized') AND next_at "
              "IS NOT NULL AND next_at <= ?1 ORDER BY next_at LIMIT ?2",
    [S_RIDS_AFTER] = "SELECT rid FROM records WHERE rid > ?1 AND deleted_at IS NULL ORDER BY "
                     "rid LIMIT ?2",
    [S_UNTIL] = "SELECT " PLAN_COLS " FROM records WHERE state IN " LIVE_STATES
                " AND next_at <= ?1 ORDER BY next_at",
    [S_UNTIL_CAT] = "SELECT " PLAN_COLS " FROM records WHERE state IN " LIVE_STATES
                    " AND next_at <= ?1 AND category = ?2 ORDER BY next_at",
    [S_SUBJECT] = "SELECT " ROW_COLS " FROM records WHERE subject = ?1 ORDER BY id",
    /* An event's latest (earliest) time over the live records of a subject but one: a
     * seek of records_subject (tombstones have no subject). ?2 is the JSON path. */
    [S_SUBJECT_ROWS] = "SELECT rid, id, category, events FROM records WHERE subject = ?1"
                       " AND deleted_at IS NULL",
    [S_SUBJECT_LATEST] = "SELECT id, json_extract(events, ?2) AS t FROM records WHERE subject = ?1"
                         " AND id != ?3 AND deleted_at IS NULL AND t IS NOT NULL"
                         " ORDER BY t DESC, id LIMIT 1",
    [S_SUBJECT_EARLIEST] =
        "SELECT id, json_extract(events, ?2) AS t FROM records WHERE subject = ?1"
        " AND id != ?3 AND deleted_at IS NULL AND t IS NOT NULL"
        " ORDER BY t ASC, id LIMIT 1",
    /* Counts kept by the writes, in the transactions that change them (inv_sqlite_counts.c). */
    [S_COUNT_STATES] = "SELECT key, n FROM counts WHERE kind = 'record' AND n != 0",
    [S_UNMANAGED] = "SELECT key, n FROM counts WHERE kind = 'unmanaged' AND n != 0 ORDER BY key",
    [S_COUNT_JOBS] = "SELECT key, sum(n) AS c FROM counts WHERE kind = 'job' GROUP BY key "
                     "HAVING c != 0",
    [C_WAS_RECORD] = "SELECT state, category FROM records WHERE rid = ?1",
    [C_WAS_JOB] = "SELECT state, backend, rule, outcome, action FROM jobs WHERE job = ?1",
    [C_ADD] = "INSERT INTO counts(kind, key, sub, n) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(kind, "
              "key, sub) DO UPDATE SET n = n + excluded.n",
    [C_STEP_PAUSE_STATES] = "SELECT state, count(*) FROM records WHERE pause_cause = ?1 AND "
                            "pause_ref IS ?2 AND state IN ('queued', 'review') AND next_at IS "
                            "NOT NULL GROUP BY state",
    [S_COUNT_JOBS_BACKEND] = "SELECT sub, key, n FROM counts WHERE kind = 'job' AND n != 0 "
                             "ORDER BY sub, key",
    [S_HOLDS_FOR] = "SELECT hold, reason, kind, value FROM holds WHERE (kind = 'id' AND value "
                    "= ?1) OR (kind = 'subject' AND value = ?2) OR (kind = 'category' AND "
                    "value = ?3) ORDER BY hold, kind",
    [S_ANY_HOLDS] = "SELECT 1 FROM holds LIMIT 1",
    /* Every hold, or those of one kind (and value) or name: the table is small. */
    [S_HOLDS_LIST] = "SELECT kind, value, hold, reason, placed_at, placed_by FROM holds WHERE"
                     " (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR value = ?2) AND"
                     " (?3 IS NULL OR hold = ?3) ORDER BY placed_at, kind, value, hold",
    /* What plan leaves out, counted in one statement on records_state (state, next_at):
     * seeks of the held and unmanaged states and of the active and anonymized ones
     * without next_at. Counting them is a walk of those index entries (no table rows
     * unless a category is named); no kept count says how many have no deadline. */
    [S_PLAN_UNSCHEDULED] =
        "SELECT (SELECT count(*) FROM records WHERE state = 'held' AND (?1 IS NULL OR"
        " category = ?1)), (SELECT count(*) FROM records WHERE state IN ('active',"
        " 'anonymized') AND next_at IS NULL AND (?1 IS NULL OR category = ?1)),"
        " (SELECT count(*) FROM records WHERE state = 'unmanaged' AND (?1 IS NULL OR"
        " category = ?1))",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE "
                   "SET value = excluded.value",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* --- jobs and the record transitions of dispatch (inv_sqlite_jobs.c) --- */
    [J_TAKE] = "SELECT rid, id, category, subject, locator, anon_at, anon_rule, del_at, "
               "del_rule, next_at, events, notice_at, notice_for, notice_rule, notice_backend FROM "
               "records INDEXED BY records_queue WHERE next_backend = "
               "?1 AND state = 'queued' AND next_at IS NOT NULL AND next_at <= ?2 ORDER BY "
               "next_at LIMIT ?3",
    [J_QUEUED] = "SELECT rid FROM records INDEXED BY records_queue WHERE next_backend = ?1 "
                 "AND state = 'queued' AND next_at IS NOT NULL AND next_at <= ?2 ORDER BY "
                 "next_at LIMIT ?3",
    [J_GET] = "SELECT " JOB_COLS " FROM jobs WHERE job = ?1",
    [J_OPEN_FOR] =
        "SELECT " JOB_COLS " FROM jobs WHERE rid = ?1 AND state IN ('sent', 'retry') AND "
        "action != 'notice' LIMIT 1",
    [J_LATEST_FOR] = "SELECT " JOB_COLS " FROM jobs WHERE rid = ?1 AND state IN ('sent', "
                     "'retry', 'dead') AND action != 'notice' ORDER BY updated DESC, job LIMIT 1",
    /* An upsert: the row is changed in place (REPLACE would delete it and insert it anew). */
    [J_PUT] = "INSERT INTO jobs(" JOB_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
              "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) ON CONFLICT(job) "
              "DO UPDATE SET rid = excluded.rid, record = excluded.record, category = "
              "excluded.category, action = excluded.action, rule = excluded.rule, backend = "
              "excluded.backend, state = excluded.state, attempts = excluded.attempts, due = "
              "excluded.due, next_attempt = excluded.next_attempt, sent_at = excluded.sent_at, "
              "done_at = excluded.done_at, created = excluded.created, updated = "
              "excluded.updated, last_error = excluded.last_error, subject = excluded.subject, "
              "anchor = excluded.anchor, anchor_time = excluded.anchor_time, first_sent = "
              "excluded.first_sent, outcome = excluded.outcome, notice_of = excluded.notice_of, "
              "notice_deadline = excluded.notice_deadline",
    /* Actions first: a notice's retries never take an action's place. */
    [J_RETRY_DUE] = "SELECT job FROM jobs WHERE state = 'retry' AND backend = ?1 AND "
                    "next_attempt <= ?2 ORDER BY action = 'notice', next_attempt LIMIT ?3",
    [J_UNANSWERED] = "UPDATE jobs SET state = 'retry', next_attempt = ?2, updated = ?2 WHERE "
                     "state = 'sent' AND backend = ?1 RETURNING backend",
    [J_UNANSWERED_ALL] = "UPDATE jobs SET state = 'retry', next_attempt = ?1, updated = ?1 "
                         "WHERE state = 'sent' RETURNING backend",
    [J_UNANSWERED_ONE] = "UPDATE jobs SET state = 'retry', next_attempt = ?2, updated = ?2 "
                         "WHERE job = ?1 AND state = 'sent' RETURNING backend",
    [J_NEXT_RETRY] = "SELECT min(next_attempt) FROM jobs WHERE state = 'retry'",
    [J_LIST] = "SELECT " JOB_COLS " FROM jobs ORDER BY updated DESC, job LIMIT ?1",
    [J_LIST_STATE] =
        "SELECT " JOB_COLS " FROM jobs WHERE state = ?1 ORDER BY updated DESC, job LIMIT ?2",
    [J_DEAD] = "SELECT job FROM jobs WHERE state = 'dead'",
    [J_DEAD_ONE] = "SELECT job FROM jobs WHERE state = 'dead' AND job = ?1",
    [J_OPEN] = "SELECT " JOB_COLS " FROM jobs WHERE state IN ('sent', 'retry') AND due <= ?1 "
               "ORDER BY due, job",
    [J_OPEN_CAT] = "SELECT " JOB_COLS " FROM jobs WHERE state IN ('sent', 'retry') AND due <= "
                   "?1 AND category = ?2 ORDER BY due, job",
    [J_MARK] = "UPDATE records SET state = ?2, next_at = ?3, updated = ?4, " UNMARK(
        "?2") " WHERE rid = ?1",
    [J_TOMBSTONE] =
        "UPDATE records SET subject = NULL, locator = NULL, attributes = '{}', "
        "events = '{}', backend = NULL, state = 'deleted', anon_at = NULL, "
        "anon_rule = NULL, del_at = NULL, del_rule = NULL, review = 0, next_at = "
        "NULL, next_backend = NULL, review_mark = NULL, deleted_at = ?2, "
        "deleted_rule = ?3, deleted_job = ?4, deleted_outcome = ?5, updated = ?2, notice_at = "
        "NULL, notice_for = NULL, notice_rule = NULL, notice_backend = NULL WHERE rid = ?1 AND "
        "deleted_at IS NULL",
    /* A tombstone's jobs keep no subject either (their entries were written). */
    [J_TOMBSTONE_JOBS] = "UPDATE jobs SET subject = NULL WHERE rid = ?1 AND subject IS NOT NULL",
    [J_ANONYMIZED] = "UPDATE records SET anonymized_at = ?2, updated = ?2 WHERE rid = ?1",
    [J_REVIEW_MARK] = "UPDATE records SET review_mark = ?2 WHERE rid = ?1",
    [J_PAUSED] = "SELECT " PAUSED_RULE " AS r, coalesce(pause_cause, 'rules') AS c, count(*) "
                 "FROM records WHERE state = 'paused' GROUP BY r, c ORDER BY r, c",
    [J_PAUSED_STEP] = "SELECT " PAUSED_RULE " AS r, count(*) FROM records WHERE state = "
                      "'paused' AND coalesce(pause_cause, 'rules') = ?1 AND pause_ref IS ?2 "
                      "GROUP BY r ORDER BY r",
    [J_RELEASE] = "UPDATE records SET state = CASE WHEN next_at > ?1 THEN CASE WHEN "
                  "anonymized_at IS NULL THEN 'active' ELSE 'anonymized' END WHEN (anon_at = "
                  "next_at AND review & 1) OR (del_at = next_at AND anon_at IS NOT next_at AND "
                  "review & 2) THEN 'review' ELSE 'queued' END, updated = ?1, pause_cause = "
                  "NULL, pause_ref = NULL WHERE state = 'paused' AND (?2 IS NULL OR "
                  "coalesce(pause_cause, 'rules') = ?2) RETURNING state",
    [J_RELEASE_UNDONE] = "UPDATE records SET state = CASE WHEN anonymized_at IS NULL THEN "
                         "'active' ELSE 'anonymized' END, updated = ?1, pause_cause = NULL, "
                         "pause_ref = NULL WHERE state = 'paused' AND pause_cause = ?2 AND "
                         "next_at > ?1 RETURNING state",
    /* A record a step made due and not yet sent keeps the step (cause, ref), so that the
     * guard can pause it with the rest of its step. */
    [J_STEP_MARK] = "UPDATE records SET pause_cause = ?2, pause_ref = ?3, state = CASE WHEN ?4 "
                    "THEN 'paused' ELSE state END, updated = CASE WHEN ?4 THEN ?5 ELSE updated "
                    "END WHERE rid = ?1 AND state IN ('queued', 'review') AND next_at IS NOT "
                    "NULL",
    [J_STEP_PAUSE] = "UPDATE records SET state = 'paused', updated = ?3 WHERE pause_cause = ?1 "
                     "AND pause_ref IS ?2 AND state IN ('queued', 'review') AND next_at IS "
                     "NOT NULL",
    [J_IN_STATE] = "SELECT id FROM records WHERE state = ?1 ORDER BY next_at, id LIMIT ?2",
    [J_LIVE] = "SELECT coalesce(sum(n), 0) FROM counts WHERE kind = 'record' AND key != "
               "'deleted'",
    [J_INSERT] = "INSERT INTO jobs(" JOB_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                 "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
    [J_DONE] = "UPDATE jobs SET state = 'done', done_at = ?2, updated = ?2, next_attempt = "
               "NULL, last_error = ?3, outcome = ?5 WHERE job = ?1 AND backend = ?4 AND state != "
               "'done'",
    [J_BRIEF] = "SELECT id, category, subject, locator, anon_at, anon_rule, del_at, del_rule, "
                "next_at, events FROM records WHERE rid = ?1",
    [J_CANCEL_RETRY] =
        "UPDATE jobs SET state = 'cancelled', updated = ?2, next_attempt = NULL "
        "WHERE rid = ?1 AND state = 'retry' AND action != 'notice' RETURNING backend",
    [J_DELETED] =
        "SELECT deleted_rule, category, sum(deleted_outcome IS NOT 'not_found'), "
        "sum(deleted_outcome IS 'not_found') FROM records WHERE deleted_at >= ?1 "
        "AND deleted_at < ?2 AND deleted_outcome IS NOT 'left' AND (?3 IS NULL OR category = "
        "?3) GROUP BY "
        "deleted_rule, category ORDER BY deleted_rule, category",
    [J_HOLD_ADD] = "INSERT INTO holds(kind, value, hold, reason, placed_at, placed_by) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [J_HOLD_DEL] = "DELETE FROM holds WHERE kind = ?1 AND value = ?2 AND hold = ?3",
    [J_SEL_ID] = "SELECT rid FROM records WHERE id = ?1 AND deleted_at IS NULL",
    [J_SEL_SUBJECT] = "SELECT rid FROM records WHERE subject = ?1 AND deleted_at IS NULL",
    [J_SEL_CATEGORY] = "SELECT rid FROM records WHERE category = ?1 AND deleted_at IS NULL",
    /* The queue's backends one by one (a skip-scan: one seek per distinct backend). */
    [J_ORPHANS] = "SELECT next_backend FROM records INDEXED BY records_queue WHERE state = "
                  "'queued' AND next_at IS NOT NULL AND next_backend > ?1 ORDER BY "
                  "next_backend LIMIT 1",
    [J_ORPHANS_NULL] = "SELECT rid FROM records INDEXED BY records_queue WHERE state = "
                       "'queued' AND next_at IS NOT NULL AND next_backend IS NULL AND next_at "
                       "<= ?1 LIMIT ?2",
    /* --- notices (inv_sqlite_jobs.c) --- */
    /* The same notice (deadline and rule) written again stays made once it is made. */
    [N_SET] = "UPDATE records SET notice_at = CASE WHEN notice_at IS NULL AND notice_for IS ?3 "
              "AND notice_rule IS ?4 THEN NULL ELSE ?2 END, notice_for = ?3, notice_rule = ?4, "
              "notice_backend = ?5 WHERE rid = ?1",
    [N_TAKE] = "SELECT rid, id, category, subject, locator, anon_at, anon_rule, del_at, "
               "del_rule, next_at, events, notice_at, notice_for, notice_rule, notice_backend "
               "FROM records INDEXED BY records_notice WHERE notice_backend = ?1 AND "
               "notice_at IS NOT NULL AND state IN ('active', 'anonymized') AND notice_at <= "
               "?2 ORDER BY notice_at LIMIT ?3",
    [N_CLEAR] = "UPDATE records SET notice_at = NULL WHERE rid = ?1",
    /* A backend's notices out: a search of jobs_state among its sent jobs (its window). */
    [N_SENT] = "SELECT count(*) FROM jobs WHERE state = 'sent' AND backend = ?1 AND action = "
               "'notice'",
    [N_NEXT] = "SELECT min(notice_at) FROM records INDEXED BY records_notice_wake WHERE "
               "notice_at IS NOT NULL AND state IN ('active', 'anonymized') AND notice_at > ?1",
    /* --- scans (inv_sqlite_scan.c) --- */
    [K_LOOKUP] = "SELECT rid, deleted_at IS NOT NULL, deleted_outcome, " BUSY
                 ", backend, scan_backend, scan_hash FROM records WHERE id = ?1",
    [K_MARK] = "UPDATE records SET scan_backend = ?2, scan_hash = ?3 WHERE id = ?1 RETURNING rid",
    [K_REVIVE] = "UPDATE records SET rid = (SELECT max(rid) FROM records) + 1, deleted_at = NULL, "
                 "deleted_rule = NULL, deleted_job = NULL, deleted_outcome = NULL, anonymized_at "
                 "= NULL, state = 'active', scan_hash = NULL WHERE rid = ?1 AND deleted_at IS "
                 "NOT NULL RETURNING rid",
    [K_RIDS] = "SELECT rid, " BUSY " FROM records INDEXED BY records_scan WHERE scan_backend = ?1 "
               "AND rid > ?2 AND deleted_at IS NULL ORDER BY rid LIMIT ?3",
    /* --- erasure requests (inv_sqlite_erasure.c) --- */
    [E_ADD] = "INSERT INTO erasures(request, subject, requested_at, deadline, reason, "
              "requested_by, deadline_set_by) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [E_COVER] = "INSERT INTO erasure_records(request, rid) SELECT ?1, rid FROM records WHERE "
                "subject = ?2 AND deleted_at IS NULL AND anonymized_at IS NULL",
    [E_ANY] = "SELECT 1 FROM erasure_records er JOIN records r ON r.rid = er.rid WHERE "
              "r.deleted_at IS NULL AND r.anonymized_at IS NULL LIMIT 1",
    [E_FOR] = "SELECT e.requested_at, e.request FROM records r JOIN erasure_records er ON "
              "er.rid = r.rid JOIN erasures e ON e.request = er.request WHERE r.id = ?1 "
              "ORDER BY e.requested_at, e.request LIMIT 1",
    /* Only the open requests: one walk of a partial index, however many are done. */
    [E_OPEN] = "SELECT e.request, e.subject, e.requested_at, e.deadline, e.reason, "
               "count(er.request), "
               "coalesce(sum(" E_FORGOTTEN "), 0), coalesce(sum(" E_DELETED "), 0), "
               "coalesce(sum(" E_ANONYMIZED "), 0), coalesce(sum(" E_RETAINED "), 0), "
               "e.deadline_set_by "
               "FROM erasures e INDEXED BY erasures_open LEFT JOIN erasure_records er ON "
               "er.request = e.request "
               "LEFT JOIN records r ON r.rid = er.rid WHERE e.completed_at IS NULL "
               "GROUP BY e.requested_at, e.request ORDER BY e.requested_at, e.request",
    [E_DONE] = "UPDATE erasures SET completed_at = ?2, subject = coalesce(?3, subject) WHERE "
               "request = ?1 AND completed_at IS NULL",
    /* A completed request keeps only the records that can still get its deadline: those
     * a rule retains, deleted when the retention ends. */
    [E_PRUNE] = "DELETE FROM erasure_records WHERE request = ?1 AND NOT EXISTS (SELECT 1 "
                "FROM records r WHERE r.rid = erasure_records.rid AND r.deleted_at IS NULL "
                "AND r.anonymized_at IS NULL)",
    /* --- metrics (inv_sqlite_metrics.c): seeks of indexes, a small table --- */
    [M_OLDEST_STATE] = "SELECT min(next_at) FROM records INDEXED BY records_state WHERE "
                       "state = ?1 AND next_at IS NOT NULL",
    /* The sent jobs are at most the windows of the backends; the others a seek of the
     * partial index (each part names its condition, so that it may be used). */
    [M_OLDEST_JOB] =
        "SELECT min(t) FROM (SELECT min(due) AS t FROM jobs INDEXED BY jobs_state "
        "WHERE state = 'sent' AND action != 'notice' UNION ALL SELECT min(due) FROM jobs "
        "INDEXED BY jobs_failing WHERE " FAILING " AND state = 'retry' AND action != 'notice' "
        "UNION ALL SELECT min(due) FROM jobs INDEXED BY jobs_failing WHERE " FAILING " AND "
        "state = 'dead' AND action != 'notice')",
    [M_DONE] = "SELECT key, nullif(sub, ''), n FROM counts WHERE kind = 'done' AND n != 0 ORDER "
               "BY key, sub",
};

int rtn_sq_prepare(struct rtn_sq *sq, char *err, size_t errlen)
{
	for (int i = 0; i < SQ_COUNT; i++) {
		if (!sql[i] || sqlite3_prepare_v3(sq->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                                  &sq->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare statement %d: %s", i,
			         sql[i] ? sqlite3_errmsg(sq->db) : "no SQL");
			return -EIO;
		}
	}
	return 0;
}

void rtn_sq_finalize(struct rtn_sq *sq)
{
	for (int i = 0; i < SQ_COUNT; i++) {
		sqlite3_finalize(sq->st[i]);
		sq->st[i] = NULL;
	}
}

char *rtn_sq_col_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? rtn_xstrdup((const char *)t) : NULL;
}

int rtn_sq_rids(sqlite3_stmt *s, int64_t *out, int max)
{
	int n = 0, r = SQLITE_DONE;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW)
		out[n++] = sqlite3_column_int64(s, 0);
	int bad = n < max && r != SQLITE_DONE;
	sqlite3_reset(s);
	return bad ? -EIO : n;
}

char *rtn_sq_meta_get(struct rtn_inv *inv, const char *key)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_META_GET);
	rtn_sq_bind_text(s, 1, key);
	char *v = sqlite3_step(s) == SQLITE_ROW ? rtn_sq_col_strdup(s, 0) : NULL;
	sqlite3_reset(s);
	return v;
}

int rtn_sq_meta_set(struct rtn_inv *inv, const char *key, const char *value)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_META_SET);
	rtn_sq_bind_text(s, 1, key);
	rtn_sq_bind_text(s, 2, value);
	return rtn_sq_step_done(s);
}
