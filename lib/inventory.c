/* inventory.c - the SQLite inventory */
#include "inventory.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_int.h"
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

static const char *const migrations[] = {schema_v1, schema_v2};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == RTN_INV_SCHEMA_VERSION,
               "RTN_INV_SCHEMA_VERSION is the number of migrations");

enum {
	S_GET_ID,
	S_GET_RID,
	S_LOOKUP,
	S_INSERT,
	S_UPDATE,
	S_SET_SCHED,
	S_FORGET,
	S_FORGET_JOBS,
	S_FORGET_HOLDS,
	S_NEXT_WAKE,
	S_DUE,
	S_RIDS_AFTER,
	S_UNTIL,
	S_UNTIL_CAT,
	S_SUBJECT,
	S_COUNT_STATES,
	S_UNMANAGED,
	S_COUNT_JOBS,
	S_HOLDS_FOR,
	S_ANY_HOLDS,
	S_META_GET,
	S_META_SET,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_COUNT
};

#define ROW_COLS                                                                                   \
	"rid, id, category, subject, backend, locator, events, attributes, state, created, "       \
	"updated, anonymized_at, anon_at, anon_rule, del_at, del_rule, review, next_at, "          \
	"deleted_at, deleted_rule, deleted_job, next_backend, review_mark"

#define PLAN_COLS                                                                                  \
	"id, category, backend, anon_at, anon_rule, del_at, del_rule, review, next_at, state"
/* States of a record whose schedule is still to be carried out. */
#define LIVE_STATES "('active', 'anonymized', 'queued', 'review', 'paused', 'failed')"

static const char *const sql[S_COUNT] = {
    [S_GET_ID] = "SELECT " ROW_COLS " FROM records WHERE id = ?1",
    [S_GET_RID] = "SELECT " ROW_COLS " FROM records WHERE rid = ?1",
    [S_LOOKUP] =
        "SELECT rid, json_extract(events, '$.created'), anonymized_at, deleted_at, "
        "(state = 'queued' AND next_at IS NULL) OR state = 'failed' OR (state = 'held' AND "
        "EXISTS(SELECT 1 FROM jobs WHERE jobs.rid = records.rid AND jobs.state IN "
        "('sent', 'retry'))), review_mark FROM records WHERE id = ?1",
    [S_INSERT] = "INSERT INTO records(id, category, subject, backend, locator, events, "
                 "attributes, state, created, updated, anon_at, anon_rule, del_at, del_rule, "
                 "review, next_at, next_backend) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, "
                 "?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT(id) DO NOTHING",
    [S_UPDATE] = "UPDATE records SET category = ?2, subject = ?3, backend = ?4, locator = ?5, "
                 "events = ?6, attributes = ?7, state = ?8, updated = ?9, anon_at = ?10, "
                 "anon_rule = ?11, del_at = ?12, del_rule = ?13, review = ?14, next_at = ?15, "
                 "next_backend = ?16 WHERE rid = ?1",
    [S_SET_SCHED] = "UPDATE records SET state = ?2, updated = ?3, anon_at = ?4, anon_rule = "
                    "?5, del_at = ?6, del_rule = ?7, review = ?8, next_at = ?9, next_backend = "
                    "?10 WHERE rid = ?1",
    [S_FORGET] = "DELETE FROM records WHERE rid = ?1",
    [S_FORGET_JOBS] = "DELETE FROM jobs WHERE rid = ?1",
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
    [S_COUNT_STATES] = "SELECT state, count(*) FROM records GROUP BY state",
    [S_UNMANAGED] = "SELECT category, count(*) FROM records WHERE state = 'unmanaged' GROUP "
                    "BY category ORDER BY category",
    [S_COUNT_JOBS] = "SELECT state, count(*) FROM jobs GROUP BY state",
    [S_HOLDS_FOR] = "SELECT hold, reason, kind, value FROM holds WHERE (kind = 'id' AND value "
                    "= ?1) OR (kind = 'subject' AND value = ?2) OR (kind = 'category' AND "
                    "value = ?3) ORDER BY hold, kind",
    [S_ANY_HOLDS] = "SELECT 1 FROM holds LIMIT 1",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE "
                   "SET value = excluded.value",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

_Static_assert(S_COUNT <= RTN_INV_STMTS, "raise RTN_INV_STMTS");

const char *rtn_inv_errmsg(struct rtn_inv *inv)
{
	return sqlite3_errmsg(inv->db);
}

sqlite3_stmt *stmt(struct rtn_inv *inv, int i)
{
	sqlite3_stmt *s = inv->st[i];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

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

int rtn_inv_open(const char *path, struct rtn_inv **out, char *err, size_t errlen)
{
	struct rtn_inv *inv = rtn_xcalloc(1, sizeof(*inv));
	int r = sqlite3_open_v2(
	    path, &inv->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         inv->db ? sqlite3_errmsg(inv->db) : sqlite3_errstr(r));
		rtn_inv_close(inv);
		return -EIO;
	}
	sqlite3_busy_timeout(inv->db, 5000);
	/* A misspelt "column" must be an error, never a string literal. */
	sqlite3_db_config(inv->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(inv->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_extended_result_codes(inv->db, 1);
	char mode[16] = "";
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(inv->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	if (strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "cannot use WAL mode for %s: %s", path,
		         sqlite3_errmsg(inv->db));
		rtn_inv_close(inv);
		return -EIO;
	}
	/* A 16 MiB page cache holds the indexes dispatch walks; WAL checkpoints every 4000
	 * pages (16 MiB) rather than 1000, so bulk work is not dominated by copying pages. */
	if (exec(inv->db,
	         "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;"
	         " PRAGMA wal_autocheckpoint = 4000;",
	         err, errlen) < 0) {
		rtn_inv_close(inv);
		return -EIO;
	}
	/* quick_check's first row is "ok" (text) when all is well. */
	if (sqlite3_prepare_v2(inv->db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		snprintf(err, errlen, "inventory %s failed its integrity check: %s", path,
		         s && sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
		                                        : sqlite3_errmsg(inv->db));
		sqlite3_finalize(s);
		rtn_inv_close(inv);
		return -EIO;
	}
	sqlite3_finalize(s);
	if ((r = migrate(inv->db, err, errlen)) < 0) {
		rtn_inv_close(inv);
		return r;
	}
	for (int i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(inv->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &inv->st[i],
		                       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare statement %d: %s", i,
			         sqlite3_errmsg(inv->db));
			rtn_inv_close(inv);
			return -EIO;
		}
	}
	if (inv_jobs_prepare(inv, err, errlen) < 0 || inv_erasure_prepare(inv, err, errlen) < 0) {
		rtn_inv_close(inv);
		return -EIO;
	}
	*out = inv;
	return 0;
}

void rtn_inv_close(struct rtn_inv *inv)
{
	if (!inv)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(inv->st[i]);
	for (int i = 0; i < RTN_INV_JOB_STMTS; i++)
		sqlite3_finalize(inv->jst[i]);
	for (int i = 0; i < RTN_INV_ERASURE_STMTS; i++)
		sqlite3_finalize(inv->est[i]);
	if (inv->db)
		sqlite3_close(inv->db);
	free(inv);
}

int step_done(struct rtn_inv *inv, sqlite3_stmt *s)
{
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	(void)inv;
	return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : -EIO;
}

int rtn_inv_begin(struct rtn_inv *inv)
{
	return step_done(inv, stmt(inv, S_BEGIN));
}

int rtn_inv_commit(struct rtn_inv *inv)
{
	return step_done(inv, stmt(inv, S_COMMIT));
}

void rtn_inv_rollback(struct rtn_inv *inv)
{
	if (!sqlite3_get_autocommit(inv->db))
		step_done(inv, stmt(inv, S_ROLLBACK));
}

/* --- rows -------------------------------------------------------------------- */

void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

void bind_time(sqlite3_stmt *s, int i, rtn_time_t t)
{
	if (t == RTN_TIME_NONE)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, t);
}

rtn_time_t col_time(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? RTN_TIME_NONE
	                                                : (rtn_time_t)sqlite3_column_int64(s, i);
}

char *col_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? rtn_xstrdup((const char *)t) : NULL;
}

static json_t *col_json(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	if (!t)
		return NULL;
	return json_loadb(t, (size_t)sqlite3_column_bytes(s, i), JSON_DECODE_ANY, NULL);
}

static void read_row(sqlite3_stmt *s, struct rtn_inv_row *row)
{
	memset(row, 0, sizeof(*row));
	row->rid = sqlite3_column_int64(s, 0);
	row->rec.id = col_strdup(s, 1);
	row->rec.category = col_strdup(s, 2);
	row->rec.subject = col_strdup(s, 3);
	row->rec.backend = col_strdup(s, 4);
	row->rec.locator = col_json(s, 5);
	row->rec.events = col_json(s, 6);
	row->rec.attributes = col_json(s, 7);
	if (!json_is_object(row->rec.events)) {
		json_decref(row->rec.events);
		row->rec.events = json_object();
	}
	if (!json_is_object(row->rec.attributes)) {
		json_decref(row->rec.attributes);
		row->rec.attributes = json_object();
	}
	snprintf(row->state, sizeof(row->state), "%s", (const char *)sqlite3_column_text(s, 8));
	row->created = col_time(s, 9);
	row->updated = col_time(s, 10);
	row->anonymized_at = col_time(s, 11);
	row->sched.anon_at = col_time(s, 12);
	row->anon_rule_buf = col_strdup(s, 13);
	row->sched.del_at = col_time(s, 14);
	row->del_rule_buf = col_strdup(s, 15);
	int review = sqlite3_column_int(s, 16);
	row->sched.anon_review = review & 1;
	row->sched.del_review = (review & 2) != 0;
	row->sched.next_at = col_time(s, 17);
	row->sched.anon_rule = row->anon_rule_buf;
	row->sched.del_rule = row->del_rule_buf;
	row->deleted_at = col_time(s, 18);
	row->deleted_rule = col_strdup(s, 19);
	row->deleted_job = col_strdup(s, 20);
	row->next_backend_buf = col_strdup(s, 21);
	row->sched.next_backend = row->next_backend_buf;
	row->review_mark = col_strdup(s, 22);
}

void rtn_inv_row_fini(struct rtn_inv_row *row)
{
	rtn_record_fini(&row->rec);
	free(row->deleted_rule);
	free(row->deleted_job);
	free(row->anon_rule_buf);
	free(row->del_rule_buf);
	free(row->next_backend_buf);
	free(row->review_mark);
	free(row->locator_text);
	memset(row, 0, sizeof(*row));
}

static int get_one(struct rtn_inv *inv, sqlite3_stmt *s, struct rtn_inv_row *row)
{
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_row(s, row);
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : -EIO;
	(void)inv;
}

int rtn_inv_get(struct rtn_inv *inv, const char *id, struct rtn_inv_row *row)
{
	sqlite3_stmt *s = stmt(inv, S_GET_ID);
	bind_text(s, 1, id);
	return get_one(inv, s, row);
}

int rtn_inv_get_rid(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row)
{
	sqlite3_stmt *s = stmt(inv, S_GET_RID);
	sqlite3_bind_int64(s, 1, rid);
	return get_one(inv, s, row);
}

static void bind_sched(sqlite3_stmt *s, int first, const struct rtn_inv_sched *sc)
{
	bind_time(s, first, sc->anon_at);
	bind_text(s, first + 1, sc->anon_rule);
	bind_time(s, first + 2, sc->del_at);
	bind_text(s, first + 3, sc->del_rule);
	sqlite3_bind_int(s, first + 4, (sc->anon_review ? 1 : 0) | (sc->del_review ? 2 : 0));
	bind_time(s, first + 5, sc->next_at);
	bind_text(s, first + 6, sc->next_backend);
}

static void bind_json(sqlite3_stmt *s, int i, const json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (t)
		sqlite3_bind_text(s, i, t, -1, free);
	else
		sqlite3_bind_null(s, i);
}

int rtn_inv_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b)
{
	sqlite3_stmt *s = stmt(inv, S_LOOKUP);
	bind_text(s, 1, id);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		b->rid = sqlite3_column_int64(s, 0);
		b->created = col_time(s, 1);
		b->anonymized_at = col_time(s, 2);
		b->deleted_at = col_time(s, 3);
		b->busy = sqlite3_column_int(s, 4) != 0;
		const unsigned char *m = sqlite3_column_text(s, 5);
		snprintf(b->review_mark, sizeof(b->review_mark), "%s", m ? (const char *)m : "");
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : -EIO;
}

void rtn_inv_text_of(const struct rtn_record *r, struct rtn_inv_text *t)
{
	t->locator = r->locator ? json_dumps(r->locator, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	t->events = json_dumps(r->events, JSON_COMPACT);
	t->attributes = json_dumps(r->attributes, JSON_COMPACT);
}

void rtn_inv_text_fini(struct rtn_inv_text *t)
{
	free(t->locator);
	free(t->events);
	free(t->attributes);
	memset(t, 0, sizeof(*t));
}

/* A JSON member: its encoding when given, else encoded now. */
static void bind_member(sqlite3_stmt *s, int i, const char *text, const json_t *j)
{
	if (text)
		sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
	else
		bind_json(s, i, j);
}

int rtn_inv_upsert(struct rtn_inv *inv, const struct rtn_record *r, const struct rtn_inv_text *t,
                   const char *state, const struct rtn_inv_sched *sc, rtn_time_t now, int64_t *rid)
{
	static const struct rtn_inv_text none;
	if (!t)
		t = &none;
	sqlite3_stmt *s = stmt(inv, *rid ? S_UPDATE : S_INSERT);
	if (*rid)
		sqlite3_bind_int64(s, 1, *rid);
	else
		bind_text(s, 1, r->id);
	bind_text(s, 2, r->category);
	bind_text(s, 3, r->subject);
	bind_text(s, 4, r->backend);
	bind_member(s, 5, t->locator, r->locator);
	bind_member(s, 6, t->events, r->events);
	bind_member(s, 7, t->attributes, r->attributes);
	bind_text(s, 8, state);
	sqlite3_bind_int64(s, 9, now);
	bind_sched(s, 10, sc);
	int rc = step_done(inv, s);
	/* Static bindings must not outlive the call. */
	sqlite3_clear_bindings(s);
	if (rc < 0)
		return -EIO;
	if (!*rid && !sqlite3_changes(inv->db))
		return -EEXIST; /* the id is taken */
	if (!*rid)
		*rid = sqlite3_last_insert_rowid(inv->db);
	return 0;
}

int rtn_inv_set_schedule(struct rtn_inv *inv, int64_t rid, const char *state,
                         const struct rtn_inv_sched *sc, rtn_time_t now)
{
	sqlite3_stmt *s = stmt(inv, S_SET_SCHED);
	sqlite3_bind_int64(s, 1, rid);
	bind_text(s, 2, state);
	sqlite3_bind_int64(s, 3, now);
	bind_time(s, 4, sc->anon_at);
	bind_text(s, 5, sc->anon_rule);
	bind_time(s, 6, sc->del_at);
	bind_text(s, 7, sc->del_rule);
	sqlite3_bind_int(s, 8, (sc->anon_review ? 1 : 0) | (sc->del_review ? 2 : 0));
	bind_time(s, 9, sc->next_at);
	bind_text(s, 10, sc->next_backend);
	return step_done(inv, s);
}

int rtn_inv_forget(struct rtn_inv *inv, int64_t rid)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get_rid(inv, rid, &row);
	if (r < 0)
		return r;
	sqlite3_stmt *s = stmt(inv, S_FORGET_HOLDS);
	bind_text(s, 1, row.rec.id);
	r = step_done(inv, s);
	rtn_inv_row_fini(&row);
	s = stmt(inv, S_FORGET_JOBS);
	sqlite3_bind_int64(s, 1, rid);
	if (r < 0 || step_done(inv, s) < 0 || inv_erasure_forget(inv, rid) < 0)
		return -EIO;
	s = stmt(inv, S_FORGET);
	sqlite3_bind_int64(s, 1, rid);
	return step_done(inv, s);
}

/* --- queries ----------------------------------------------------------------- */

int rtn_inv_next_wake(struct rtn_inv *inv, rtn_time_t *at, char **id)
{
	sqlite3_stmt *s = stmt(inv, S_NEXT_WAKE);
	int r = sqlite3_step(s);
	*at = RTN_TIME_NONE;
	if (id)
		*id = NULL;
	if (r == SQLITE_ROW) {
		*at = sqlite3_column_int64(s, 0);
		if (id)
			*id = col_strdup(s, 1);
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

static int rid_list(struct rtn_inv *inv, sqlite3_stmt *s, int64_t *rids, int max)
{
	int n = 0, r;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW)
		rids[n++] = sqlite3_column_int64(s, 0);
	if (n < max && r != SQLITE_DONE) {
		sqlite3_reset(s);
		return -EIO;
	}
	sqlite3_reset(s);
	(void)inv;
	return n;
}

int rtn_inv_due_rids(struct rtn_inv *inv, rtn_time_t t, int64_t *rids, int max)
{
	sqlite3_stmt *s = stmt(inv, S_DUE);
	sqlite3_bind_int64(s, 1, t);
	sqlite3_bind_int(s, 2, max);
	return rid_list(inv, s, rids, max);
}

int rtn_inv_rids_after(struct rtn_inv *inv, int64_t after, int64_t *rids, int max)
{
	sqlite3_stmt *s = stmt(inv, S_RIDS_AFTER);
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int(s, 2, max);
	return rid_list(inv, s, rids, max);
}

static int foreach_rows(struct rtn_inv *inv, sqlite3_stmt *s,
                        int (*cb)(const struct rtn_inv_row *row, void *ctx), void *ctx)
{
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct rtn_inv_row row;
		read_row(s, &row);
		int stop = cb(&row, ctx);
		rtn_inv_row_fini(&row);
		if (stop) {
			r = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	(void)inv;
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_inv_foreach_until(struct rtn_inv *inv, rtn_time_t until, const char *category,
                          int (*cb)(const struct rtn_inv_plan_row *row, void *ctx), void *ctx)
{
	sqlite3_stmt *s = stmt(inv, category ? S_UNTIL_CAT : S_UNTIL);
	sqlite3_bind_int64(s, 1, until);
	if (category)
		bind_text(s, 2, category);
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct rtn_inv_plan_row row = {
		    .id = (const char *)sqlite3_column_text(s, 0),
		    .category = (const char *)sqlite3_column_text(s, 1),
		    .backend = (const char *)sqlite3_column_text(s, 2),
		};
		row.sched.anon_at = col_time(s, 3);
		row.sched.anon_rule = (const char *)sqlite3_column_text(s, 4);
		row.sched.del_at = col_time(s, 5);
		row.sched.del_rule = (const char *)sqlite3_column_text(s, 6);
		int review = sqlite3_column_int(s, 7);
		row.sched.anon_review = review & 1;
		row.sched.del_review = (review & 2) != 0;
		row.sched.next_at = col_time(s, 8);
		row.state = (const char *)sqlite3_column_text(s, 9);
		if (cb(&row, ctx)) {
			r = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_inv_foreach_subject(struct rtn_inv *inv, const char *subject,
                            int (*cb)(const struct rtn_inv_row *row, void *ctx), void *ctx)
{
	sqlite3_stmt *s = stmt(inv, S_SUBJECT);
	bind_text(s, 1, subject);
	return foreach_rows(inv, s, cb, ctx);
}

static json_t *count_by(struct rtn_inv *inv, int which, bool total)
{
	sqlite3_stmt *s = stmt(inv, which);
	json_t *o = json_object();
	json_int_t sum = 0;
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_int_t n = sqlite3_column_int64(s, 1);
		json_object_set_new(o, (const char *)sqlite3_column_text(s, 0), json_integer(n));
		sum += n;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		json_decref(o);
		return NULL; /* a count that cannot be read is not a zero */
	}
	if (total)
		json_object_set_new(o, "total", json_integer(sum));
	return o;
}

json_t *rtn_inv_count_states(struct rtn_inv *inv)
{
	return count_by(inv, S_COUNT_STATES, true);
}

json_t *rtn_inv_count_jobs(struct rtn_inv *inv)
{
	return count_by(inv, S_COUNT_JOBS, false);
}

json_t *rtn_inv_unmanaged(struct rtn_inv *inv)
{
	sqlite3_stmt *s = stmt(inv, S_UNMANAGED);
	json_t *a = json_array();
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(
		    a, json_pack("{s:s, s:I}", "category", (const char *)sqlite3_column_text(s, 0),
		                 "records", (json_int_t)sqlite3_column_int64(s, 1)));
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int rtn_inv_holds_for(struct rtn_inv *inv, const char *id, const char *subject,
                      const char *category, json_t **out)
{
	sqlite3_stmt *s = stmt(inv, S_HOLDS_FOR);
	bind_text(s, 1, id);
	bind_text(s, 2, subject);
	bind_text(s, 3, category);
	json_t *a = json_array();
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *reason = (const char *)sqlite3_column_text(s, 1);
		json_array_append_new(a, json_pack("{s:s, s:s?, s:{s:s}}", "hold",
		                                   (const char *)sqlite3_column_text(s, 0),
		                                   "reason", reason, "selector",
		                                   (const char *)sqlite3_column_text(s, 2),
		                                   (const char *)sqlite3_column_text(s, 3)));
	}
	sqlite3_reset(s);
	*out = a;
	return r == SQLITE_DONE ? 0 : -EIO;
}

/* An error reads as "yes": these guard actions, and a wrong "no" would let one through. */
bool rtn_inv_any_holds(struct rtn_inv *inv)
{
	sqlite3_stmt *s = stmt(inv, S_ANY_HOLDS);
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r != SQLITE_DONE;
}

char *rtn_inv_meta_get(struct rtn_inv *inv, const char *key)
{
	sqlite3_stmt *s = stmt(inv, S_META_GET);
	bind_text(s, 1, key);
	char *v = sqlite3_step(s) == SQLITE_ROW ? col_strdup(s, 0) : NULL;
	sqlite3_reset(s);
	return v;
}

int rtn_inv_meta_set(struct rtn_inv *inv, const char *key, const char *value)
{
	sqlite3_stmt *s = stmt(inv, S_META_SET);
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return step_done(inv, s);
}
