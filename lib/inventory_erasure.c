/* inventory_erasure.c - the inventory's erasure requests and the records each one covers
 *
 * A request covers the live records its subject had when it was made (erasure_records,
 * written in the request's transaction), never a record put later. A covered record
 * gets the request's deadline until it is deleted or anonymised; record.forget detaches
 * it (its row id may be given to a new record). What each covered record is now, for
 * status and completion, is read from its stored state and schedule: deleted,
 * anonymised, forgotten, retained (waiting, with no delete before the request: a keep
 * rule or keep forever holds it), or pending (anything else: due, out, failed, held,
 * unmanaged).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_int.h"
#include "util.h"

enum { E_ADD, E_COVER, E_ANY, E_FOR, E_OPEN, E_DONE, E_PRUNE, E_FORGET, E_COUNT };
_Static_assert(E_COUNT <= RTN_INV_ERASURE_STMTS, "raise RTN_INV_ERASURE_STMTS");

/* A covered record's outcome so far; the counts of a request add them up. */
#define E_FORGOTTEN  "er.request IS NOT NULL AND r.rid IS NULL"
#define E_DELETED    "r.deleted_at IS NOT NULL"
#define E_ANONYMIZED "r.deleted_at IS NULL AND r.anonymized_at IS NOT NULL"
#define E_RETAINED                                                                                 \
	"r.deleted_at IS NULL AND r.anonymized_at IS NULL AND r.state = 'active' AND "             \
	"(r.del_at IS NULL OR r.del_at > e.requested_at)"

static const char *const sql[E_COUNT] = {
    [E_ADD] = "INSERT INTO erasures(request, subject, requested_at, deadline, reason, "
              "requested_by) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
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
               "coalesce(sum(" E_ANONYMIZED "), 0), coalesce(sum(" E_RETAINED "), 0) "
               "FROM erasures e INDEXED BY erasures_open LEFT JOIN erasure_records er ON "
               "er.request = e.request "
               "LEFT JOIN records r ON r.rid = er.rid WHERE e.completed_at IS NULL "
               "GROUP BY e.requested_at, e.request ORDER BY e.requested_at, e.request",
    [E_DONE] = "UPDATE erasures SET completed_at = ?2 WHERE request = ?1 AND completed_at IS "
               "NULL",
    /* A completed request keeps only the records that can still get its deadline: those
     * a rule retains, deleted when the retention ends. */
    [E_PRUNE] = "DELETE FROM erasure_records WHERE request = ?1 AND NOT EXISTS (SELECT 1 "
                "FROM records r WHERE r.rid = erasure_records.rid AND r.deleted_at IS NULL "
                "AND r.anonymized_at IS NULL)",
    [E_FORGET] = "UPDATE erasure_records SET rid = NULL WHERE rid = ?1",
};

int inv_erasure_prepare(struct rtn_inv *inv, char *err, size_t errlen)
{
	for (int i = 0; i < E_COUNT; i++)
		if (sqlite3_prepare_v3(inv->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &inv->est[i],
		                       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare erasure statement %d: %s", i,
			         sqlite3_errmsg(inv->db));
			return -EIO;
		}
	return 0;
}

static sqlite3_stmt *estmt(struct rtn_inv *inv, int i)
{
	sqlite3_stmt *s = inv->est[i];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

int rtn_inv_erasure_add(struct rtn_inv *inv, const char *subject, const char *reason,
                        const char *by, rtn_time_t now, rtn_time_t deadline, char request[32],
                        size_t *covered)
{
	char *seq = rtn_inv_meta_get(inv, "erasure_seq");
	long long n = seq ? atoll(seq) + 1 : 1;
	free(seq);
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", n);
	snprintf(request, 32, "R-%06lld", n);
	*covered = 0;
	if (rtn_inv_meta_set(inv, "erasure_seq", buf) < 0)
		return -EIO;
	sqlite3_stmt *s = estmt(inv, E_ADD);
	bind_text(s, 1, request);
	bind_text(s, 2, subject);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, deadline);
	bind_text(s, 5, reason);
	bind_text(s, 6, by);
	if (step_done(inv, s) < 0)
		return -EIO;
	s = estmt(inv, E_COVER);
	bind_text(s, 1, request);
	bind_text(s, 2, subject);
	if (step_done(inv, s) < 0)
		return -EIO;
	*covered = (size_t)sqlite3_changes(inv->db);
	return 0;
}

bool rtn_inv_any_erasures(struct rtn_inv *inv)
{
	sqlite3_stmt *s = estmt(inv, E_ANY);
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r != SQLITE_DONE; /* an error counts as yes: lookups then say */
}

int rtn_inv_erasure_for(struct rtn_inv *inv, const char *id, rtn_time_t *at, char **request)
{
	sqlite3_stmt *s = estmt(inv, E_FOR);
	bind_text(s, 1, id);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*at = sqlite3_column_int64(s, 0);
		*request = col_strdup(s, 1);
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : -EIO;
}

json_t *rtn_inv_erasures_open(struct rtn_inv *inv)
{
	sqlite3_stmt *s = estmt(inv, E_OPEN);
	json_t *a = json_array();
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_int_t n[5];
		for (int i = 0; i < 5; i++)
			n[i] = sqlite3_column_int64(s, 5 + i);
		json_int_t pending = n[0] - n[1] - n[2] - n[3] - n[4];
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:o, s:o, s:s?, s:I, s:I, s:I, s:I, s:I, s:I}",
		                 "request", (const char *)sqlite3_column_text(s, 0), "subject",
		                 (const char *)sqlite3_column_text(s, 1), "requested",
		                 rtn_time_to_json(sqlite3_column_int64(s, 2)), "deadline",
		                 rtn_time_to_json(sqlite3_column_int64(s, 3)), "reason",
		                 (const char *)sqlite3_column_text(s, 4), "records", n[0],
		                 "pending", pending, "forgotten", n[1], "deleted", n[2],
		                 "anonymized", n[3], "retained", n[4]));
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int rtn_inv_erasure_complete(struct rtn_inv *inv, const char *request, rtn_time_t now)
{
	sqlite3_stmt *s = estmt(inv, E_DONE);
	bind_text(s, 1, request);
	sqlite3_bind_int64(s, 2, now);
	if (step_done(inv, s) < 0)
		return -EIO;
	s = estmt(inv, E_PRUNE);
	bind_text(s, 1, request);
	return step_done(inv, s);
}

int inv_erasure_forget(struct rtn_inv *inv, int64_t rid)
{
	sqlite3_stmt *s = estmt(inv, E_FORGET);
	sqlite3_bind_int64(s, 1, rid);
	return step_done(inv, s);
}
