/* inventory_jobs.c - the inventory's jobs and the record transitions dispatch makes */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_int.h"
#include "util.h"

enum {
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
	J_ANONYMIZED,
	J_REVIEW_MARK,
	J_PAUSED,
	J_RELEASE,
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
	J_COUNT
};
_Static_assert(J_COUNT <= RTN_INV_JOB_STMTS, "raise RTN_INV_JOB_STMTS");

#define JOB_COLS                                                                                   \
	"job, rid, record, category, action, rule, backend, state, attempts, due, "                \
	"next_attempt, sent_at, done_at, created, updated, last_error"

static const char *const sql[J_COUNT] = {
    [J_TAKE] = "SELECT rid, id, category, subject, locator, anon_at, anon_rule, del_at, "
               "del_rule, next_at FROM records INDEXED BY records_queue WHERE next_backend = "
               "?1 AND state = 'queued' AND next_at IS NOT NULL AND next_at <= ?2 ORDER BY "
               "next_at LIMIT ?3",
    [J_QUEUED] = "SELECT rid FROM records INDEXED BY records_queue WHERE next_backend = ?1 "
                 "AND state = 'queued' AND next_at IS NOT NULL AND next_at <= ?2 ORDER BY "
                 "next_at LIMIT ?3",
    [J_GET] = "SELECT " JOB_COLS " FROM jobs WHERE job = ?1",
    [J_OPEN_FOR] =
        "SELECT " JOB_COLS " FROM jobs WHERE rid = ?1 AND state IN ('sent', 'retry') LIMIT 1",
    [J_LATEST_FOR] = "SELECT " JOB_COLS " FROM jobs WHERE rid = ?1 AND state IN ('sent', "
                     "'retry', 'dead') ORDER BY updated DESC, job LIMIT 1",
    [J_PUT] = "INSERT OR REPLACE INTO jobs(" JOB_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
              "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [J_RETRY_DUE] = "SELECT job FROM jobs WHERE state = 'retry' AND backend = ?1 AND "
                    "next_attempt <= ?2 ORDER BY next_attempt LIMIT ?3",
    [J_UNANSWERED] = "UPDATE jobs SET state = 'retry', next_attempt = ?2, updated = ?2 WHERE "
                     "state = 'sent' AND backend = ?1",
    [J_UNANSWERED_ALL] = "UPDATE jobs SET state = 'retry', next_attempt = ?1, updated = ?1 "
                         "WHERE state = 'sent'",
    [J_UNANSWERED_ONE] = "UPDATE jobs SET state = 'retry', next_attempt = ?2, updated = ?2 "
                         "WHERE job = ?1 AND state = 'sent'",
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
    [J_MARK] = "UPDATE records SET state = ?2, next_at = ?3, updated = ?4 WHERE rid = ?1",
    [J_TOMBSTONE] = "UPDATE records SET subject = NULL, locator = NULL, attributes = '{}', "
                    "events = '{}', backend = NULL, state = 'deleted', anon_at = NULL, "
                    "anon_rule = NULL, del_at = NULL, del_rule = NULL, review = 0, next_at = "
                    "NULL, next_backend = NULL, review_mark = NULL, deleted_at = ?2, "
                    "deleted_rule = ?3, deleted_job = ?4, updated = ?2 WHERE rid = ?1",
    [J_ANONYMIZED] = "UPDATE records SET anonymized_at = ?2, updated = ?2 WHERE rid = ?1",
    [J_REVIEW_MARK] = "UPDATE records SET review_mark = ?2 WHERE rid = ?1",
    [J_PAUSED] = "SELECT CASE WHEN anon_at = next_at THEN anon_rule ELSE del_rule END AS r, "
                 "count(*) FROM records WHERE state = 'paused' GROUP BY r ORDER BY r",
    [J_RELEASE] = "UPDATE records SET state = CASE WHEN next_at > ?1 THEN CASE WHEN "
                  "anonymized_at IS NULL THEN 'active' ELSE 'anonymized' END WHEN (anon_at = "
                  "next_at AND review & 1) OR (del_at = next_at AND anon_at IS NOT next_at AND "
                  "review & 2) THEN 'review' ELSE 'queued' END, updated = ?1 WHERE state = "
                  "'paused'",
    [J_IN_STATE] = "SELECT id FROM records WHERE state = ?1 ORDER BY next_at, id LIMIT ?2",
    [J_LIVE] = "SELECT count(*) FROM records WHERE state != 'deleted'",
    [J_INSERT] = "INSERT INTO jobs(" JOB_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                 "?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [J_DONE] = "UPDATE jobs SET state = 'done', done_at = ?2, updated = ?2, next_attempt = "
               "NULL, last_error = ?3 WHERE job = ?1 AND backend = ?4 AND state != 'done'",
    [J_BRIEF] = "SELECT id, category, subject, locator, anon_at, anon_rule, del_at, del_rule, "
                "next_at FROM records WHERE rid = ?1",
    [J_CANCEL_RETRY] = "UPDATE jobs SET state = 'cancelled', updated = ?2, next_attempt = NULL "
                       "WHERE rid = ?1 AND state = 'retry'",
    [J_DELETED] = "SELECT deleted_rule, category, count(*) FROM records WHERE deleted_at >= ?1 "
                  "AND deleted_at < ?2 AND (?3 IS NULL OR category = ?3) GROUP BY "
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
};

int inv_jobs_prepare(struct rtn_inv *inv, char *err, size_t errlen)
{
	for (int i = 0; i < J_COUNT; i++)
		if (sqlite3_prepare_v3(inv->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &inv->jst[i],
		                       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare job statement %d: %s", i,
			         sqlite3_errmsg(inv->db));
			return -EIO;
		}
	return 0;
}

static sqlite3_stmt *jstmt(struct rtn_inv *inv, int i)
{
	sqlite3_stmt *s = inv->jst[i];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* The brief columns (id, category, subject, locator, anon_at, anon_rule, del_at,
 * del_rule, next_at) from column `at` on. */
static void read_brief(sqlite3_stmt *s, int at, int64_t rid, struct rtn_inv_row *row)
{
	memset(row, 0, sizeof(*row));
	row->rid = rid;
	row->rec.id = col_strdup(s, at);
	row->rec.category = col_strdup(s, at + 1);
	row->rec.subject = col_strdup(s, at + 2);
	row->locator_text = col_strdup(s, at + 3);
	row->rec.events = json_object();
	row->rec.attributes = json_object();
	row->sched.anon_at = col_time(s, at + 4);
	row->anon_rule_buf = col_strdup(s, at + 5);
	row->sched.del_at = col_time(s, at + 6);
	row->del_rule_buf = col_strdup(s, at + 7);
	row->sched.next_at = col_time(s, at + 8);
	row->sched.anon_rule = row->anon_rule_buf;
	row->sched.del_rule = row->del_rule_buf;
	row->anonymized_at = row->deleted_at = RTN_TIME_NONE;
}

static int rids(sqlite3_stmt *s, int64_t *out, int max)
{
	int n = 0, r = SQLITE_DONE;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW)
		out[n++] = sqlite3_column_int64(s, 0);
	int bad = n < max && r != SQLITE_DONE;
	sqlite3_reset(s);
	return bad ? -EIO : n;
}

int rtn_inv_queue_take(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                       struct rtn_inv_row *rows)
{
	sqlite3_stmt *s = jstmt(inv, J_TAKE);
	bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, max);
	int n = 0, r = SQLITE_DONE;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		read_brief(s, 1, sqlite3_column_int64(s, 0), &rows[n]);
		n++;
	}
	int bad = n < max && r != SQLITE_DONE;
	sqlite3_reset(s);
	if (bad) {
		while (n)
			rtn_inv_row_fini(&rows[--n]);
		return -EIO;
	}
	return n;
}

static int queued_rids(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                       int64_t *out)
{
	sqlite3_stmt *s = jstmt(inv, J_QUEUED);
	bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, max);
	return rids(s, out, max);
}

int rtn_inv_queue_orphans(struct rtn_inv *inv, const char *const *backends, size_t nb,
                          rtn_time_t now, int max, int64_t *out)
{
	/* Records that name no backend. */
	sqlite3_stmt *s = jstmt(inv, J_ORPHANS_NULL);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, max);
	int n = rids(s, out, max);
	if (n < 0)
		return n;
	/* Then each backend the queue names that the configuration lacks. */
	char *prev = rtn_xstrdup("");
	while (n < max) {
		s = jstmt(inv, J_ORPHANS);
		bind_text(s, 1, prev);
		int r = sqlite3_step(s);
		char *b = r == SQLITE_ROW ? col_strdup(s, 0) : NULL;
		sqlite3_reset(s);
		if (!b)
			break;
		bool known = false;
		for (size_t i = 0; i < nb && !known; i++)
			known = strcmp(backends[i], b) == 0;
		if (!known) {
			int k = queued_rids(inv, b, now, max - n, out + n);
			if (k < 0) {
				free(b);
				n = k;
				break;
			}
			n += k;
		}
		free(prev);
		prev = b;
	}
	free(prev);
	return n;
}

static void read_job(sqlite3_stmt *s, struct rtn_inv_job *j)
{
	memset(j, 0, sizeof(*j));
	j->job = col_strdup(s, 0);
	j->rid = sqlite3_column_int64(s, 1);
	j->record = col_strdup(s, 2);
	j->category = col_strdup(s, 3);
	j->action = col_strdup(s, 4);
	j->rule = col_strdup(s, 5);
	j->backend = col_strdup(s, 6);
	j->state = col_strdup(s, 7);
	j->attempts = sqlite3_column_int(s, 8);
	j->due = col_time(s, 9);
	j->next_attempt = col_time(s, 10);
	j->sent_at = col_time(s, 11);
	j->done_at = col_time(s, 12);
	j->created = col_time(s, 13);
	j->updated = col_time(s, 14);
	j->last_error = col_strdup(s, 15);
}

void rtn_inv_job_fini(struct rtn_inv_job *j)
{
	free(j->job);
	free(j->record);
	free(j->category);
	free(j->action);
	free(j->rule);
	free(j->backend);
	free(j->state);
	free(j->last_error);
	memset(j, 0, sizeof(*j));
}

static int get_job(sqlite3_stmt *s, struct rtn_inv_job *j)
{
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_job(s, j);
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : -EIO;
}

int rtn_inv_job_get(struct rtn_inv *inv, const char *job, struct rtn_inv_job *j)
{
	sqlite3_stmt *s = jstmt(inv, J_GET);
	bind_text(s, 1, job);
	return get_job(s, j);
}

int rtn_inv_job_open_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j)
{
	sqlite3_stmt *s = jstmt(inv, J_OPEN_FOR);
	sqlite3_bind_int64(s, 1, rid);
	return get_job(s, j);
}

int rtn_inv_job_latest_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j)
{
	sqlite3_stmt *s = jstmt(inv, J_LATEST_FOR);
	sqlite3_bind_int64(s, 1, rid);
	return get_job(s, j);
}

static int job_write(struct rtn_inv *inv, int which, const struct rtn_inv_job *j)
{
	sqlite3_stmt *s = jstmt(inv, which);
	bind_text(s, 1, j->job);
	sqlite3_bind_int64(s, 2, j->rid);
	bind_text(s, 3, j->record);
	bind_text(s, 4, j->category);
	bind_text(s, 5, j->action);
	bind_text(s, 6, j->rule);
	bind_text(s, 7, j->backend);
	bind_text(s, 8, j->state);
	sqlite3_bind_int(s, 9, j->attempts);
	bind_time(s, 10, j->due);
	bind_time(s, 11, j->next_attempt);
	bind_time(s, 12, j->sent_at);
	bind_time(s, 13, j->done_at);
	bind_time(s, 14, j->created);
	bind_time(s, 15, j->updated);
	bind_text(s, 16, j->last_error);
	return step_done(inv, s);
}

int rtn_inv_job_put(struct rtn_inv *inv, const struct rtn_inv_job *j)
{
	return job_write(inv, J_PUT, j);
}

int rtn_inv_job_insert(struct rtn_inv *inv, const struct rtn_inv_job *j)
{
	return job_write(inv, J_INSERT, j);
}

int rtn_inv_job_done(struct rtn_inv *inv, const char *job, const char *backend, rtn_time_t now,
                     const char *note)
{
	sqlite3_stmt *s = jstmt(inv, J_DONE);
	bind_text(s, 1, job);
	sqlite3_bind_int64(s, 2, now);
	bind_text(s, 3, note);
	bind_text(s, 4, backend);
	int r = step_done(inv, s);
	if (r < 0)
		return r;
	return sqlite3_changes(inv->db) ? 0 : -ENOENT;
}

int rtn_inv_job_brief(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row)
{
	sqlite3_stmt *s = jstmt(inv, J_BRIEF);
	sqlite3_bind_int64(s, 1, rid);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_brief(s, 0, rid, row);
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : -EIO;
}

int rtn_inv_jobs_retry_due(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                           char **ids)
{
	sqlite3_stmt *s = jstmt(inv, J_RETRY_DUE);
	bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, max);
	int n = 0, r = SQLITE_DONE;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW)
		ids[n++] = col_strdup(s, 0);
	int bad = n < max && r != SQLITE_DONE;
	sqlite3_reset(s);
	if (bad) {
		while (n)
			free(ids[--n]);
		return -EIO;
	}
	return n;
}

int rtn_inv_job_unanswered(struct rtn_inv *inv, const char *job, rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_UNANSWERED_ONE);
	bind_text(s, 1, job);
	sqlite3_bind_int64(s, 2, now);
	return step_done(inv, s);
}

int rtn_inv_jobs_unanswered(struct rtn_inv *inv, const char *backend, rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, backend ? J_UNANSWERED : J_UNANSWERED_ALL);
	if (backend) {
		bind_text(s, 1, backend);
		sqlite3_bind_int64(s, 2, now);
	} else {
		sqlite3_bind_int64(s, 1, now);
	}
	if (step_done(inv, s) < 0)
		return -EIO;
	return sqlite3_changes(inv->db);
}

int rtn_inv_jobs_next_retry(struct rtn_inv *inv, rtn_time_t *at)
{
	sqlite3_stmt *s = jstmt(inv, J_NEXT_RETRY);
	int r = sqlite3_step(s);
	*at = r == SQLITE_ROW ? col_time(s, 0) : RTN_TIME_NONE;
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

static json_t *job_json(const struct rtn_inv_job *j)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:s?}", "job", j->job,
	    "record", j->record, "category", j->category, "action", j->action, "rule", j->rule,
	    "backend", j->backend, "state", j->state, "attempts", j->attempts, "due",
	    rtn_time_to_json(j->due), "next_attempt",
	    rtn_time_to_json(strcmp(j->state, "retry") == 0 ? j->next_attempt : RTN_TIME_NONE),
	    "updated", rtn_time_to_json(j->updated), "last_error", j->last_error);
}

json_t *rtn_inv_jobs_list(struct rtn_inv *inv, const char *state, size_t limit)
{
	sqlite3_stmt *s = jstmt(inv, state ? J_LIST_STATE : J_LIST);
	if (state) {
		bind_text(s, 1, state);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	} else {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
	}
	json_t *a = json_array();
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct rtn_inv_job j;
		read_job(s, &j);
		json_array_append_new(a, job_json(&j));
		rtn_inv_job_fini(&j);
	}
	sqlite3_reset(s);
	return a;
}

int rtn_inv_jobs_dead(struct rtn_inv *inv, const char *job, char ***ids)
{
	sqlite3_stmt *s = jstmt(inv, job ? J_DEAD_ONE : J_DEAD);
	if (job)
		bind_text(s, 1, job);
	size_t n = 0, cap = 0;
	char **v = NULL;
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		RTN_GROW(v, n + 1, cap);
		v[n++] = col_strdup(s, 0);
	}
	sqlite3_reset(s);
	*ids = v;
	return r == SQLITE_DONE ? (int)n : -EIO;
}

int rtn_inv_foreach_open_job(struct rtn_inv *inv, rtn_time_t until, const char *category,
                             int (*cb)(const struct rtn_inv_job *j, void *ctx), void *ctx)
{
	sqlite3_stmt *s = jstmt(inv, category ? J_OPEN_CAT : J_OPEN);
	sqlite3_bind_int64(s, 1, until);
	if (category)
		bind_text(s, 2, category);
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct rtn_inv_job j;
		read_job(s, &j);
		int stop = cb(&j, ctx);
		rtn_inv_job_fini(&j);
		if (stop) {
			r = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_inv_mark(struct rtn_inv *inv, int64_t rid, const char *state, rtn_time_t next_at,
                 rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_MARK);
	sqlite3_bind_int64(s, 1, rid);
	bind_text(s, 2, state);
	bind_time(s, 3, next_at);
	sqlite3_bind_int64(s, 4, now);
	return step_done(inv, s);
}

int rtn_inv_tombstone(struct rtn_inv *inv, int64_t rid, const char *rule, const char *job,
                      rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_TOMBSTONE);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, now);
	bind_text(s, 3, rule);
	bind_text(s, 4, job);
	return step_done(inv, s);
}

int rtn_inv_set_anonymized(struct rtn_inv *inv, int64_t rid, rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_ANONYMIZED);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, now);
	return step_done(inv, s);
}

int rtn_inv_set_review_mark(struct rtn_inv *inv, int64_t rid, const char *mark)
{
	sqlite3_stmt *s = jstmt(inv, J_REVIEW_MARK);
	sqlite3_bind_int64(s, 1, rid);
	bind_text(s, 2, mark);
	return step_done(inv, s);
}

json_t *rtn_inv_paused_by_rule(struct rtn_inv *inv)
{
	sqlite3_stmt *s = jstmt(inv, J_PAUSED);
	json_t *a = json_array();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		json_array_append_new(a, json_pack("{s:s, s:I}", "rule", r ? r : "", "records",
		                                   (json_int_t)sqlite3_column_int64(s, 1)));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int rtn_inv_release_paused(struct rtn_inv *inv, rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_RELEASE);
	sqlite3_bind_int64(s, 1, now);
	if (step_done(inv, s) < 0)
		return -EIO;
	return sqlite3_changes(inv->db);
}

json_t *rtn_inv_ids_in_state(struct rtn_inv *inv, const char *state, size_t limit)
{
	sqlite3_stmt *s = jstmt(inv, J_IN_STATE);
	bind_text(s, 1, state);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	json_t *a = json_array();
	while (sqlite3_step(s) == SQLITE_ROW)
		json_array_append_new(a, json_string((const char *)sqlite3_column_text(s, 0)));
	sqlite3_reset(s);
	return a;
}

int64_t rtn_inv_live_count(struct rtn_inv *inv)
{
	sqlite3_stmt *s = jstmt(inv, J_LIVE);
	int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return n;
}

int rtn_inv_hold_add(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
                     const char *reason, const char *by, rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_HOLD_ADD);
	bind_text(s, 1, kind);
	bind_text(s, 2, value);
	bind_text(s, 3, hold);
	bind_text(s, 4, reason);
	sqlite3_bind_int64(s, 5, now);
	bind_text(s, 6, by);
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_CONSTRAINT_PRIMARYKEY || r == SQLITE_CONSTRAINT)
		return -EEXIST;
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_inv_hold_remove(struct rtn_inv *inv, const char *kind, const char *value, const char *hold)
{
	sqlite3_stmt *s = jstmt(inv, J_HOLD_DEL);
	bind_text(s, 1, kind);
	bind_text(s, 2, value);
	bind_text(s, 3, hold);
	if (step_done(inv, s) < 0)
		return -EIO;
	return sqlite3_changes(inv->db) ? 0 : -ENOENT;
}

int rtn_inv_select(struct rtn_inv *inv, const char *kind, const char *value, int64_t **out)
{
	int which = !strcmp(kind, "id")        ? J_SEL_ID
	            : !strcmp(kind, "subject") ? J_SEL_SUBJECT
	                                       : J_SEL_CATEGORY;
	sqlite3_stmt *s = jstmt(inv, which);
	bind_text(s, 1, value);
	size_t n = 0, cap = 0;
	int64_t *v = NULL;
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		RTN_GROW(v, n + 1, cap);
		v[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	*out = v;
	return r == SQLITE_DONE ? (int)n : -EIO;
}

json_t *rtn_inv_deleted_between(struct rtn_inv *inv, rtn_time_t since, rtn_time_t until,
                                const char *category)
{
	sqlite3_stmt *s = jstmt(inv, J_DELETED);
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, until);
	bind_text(s, 3, category);
	json_t *a = json_array();
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *rule = (const char *)sqlite3_column_text(s, 0);
		json_array_append_new(a,
		                      json_pack("{s:s, s:s, s:I}", "rule", rule ? rule : "",
		                                "category", (const char *)sqlite3_column_text(s, 1),
		                                "deleted", (json_int_t)sqlite3_column_int64(s, 2)));
	}
	sqlite3_reset(s);
	return a;
}

int rtn_inv_job_cancel_retry(struct rtn_inv *inv, int64_t rid, rtn_time_t now)
{
	sqlite3_stmt *s = jstmt(inv, J_CANCEL_RETRY);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, now);
	if (step_done(inv, s) < 0)
		return -EIO;
	return sqlite3_changes(inv->db);
}
