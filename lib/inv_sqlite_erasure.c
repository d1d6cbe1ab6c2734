/* inv_sqlite_erasure.c - the SQLite inventory's erasure requests and the records each one covers
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_sqlite_int.h"
#include "pseudonym.h"
#include "util.h"

int rtn_sq_erasure_add(struct rtn_inv *inv, const char *subject, const char *reason, const char *by,
                       rtn_time_t now, rtn_time_t deadline, const char *deadline_set_by,
                       char request[32], size_t *covered)
{
	char *seq = rtn_sq_meta_get(inv, "erasure_seq");
	long long n = seq ? atoll(seq) + 1 : 1;
	free(seq);
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", n);
	snprintf(request, 32, "R-%06lld", n);
	*covered = 0;
	if (rtn_sq_meta_set(inv, "erasure_seq", buf) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, E_ADD);
	rtn_sq_bind_text(s, 1, request);
	rtn_sq_bind_text(s, 2, subject);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, deadline);
	rtn_sq_bind_text(s, 5, reason);
	rtn_sq_bind_text(s, 6, by);
	rtn_sq_bind_text(s, 7, deadline_set_by);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	s = rtn_sq_stmt(inv, E_COVER);
	rtn_sq_bind_text(s, 1, request);
	rtn_sq_bind_text(s, 2, subject);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	*covered = (size_t)sqlite3_changes(rtn_sq_db(inv));
	return 0;
}

bool rtn_sq_any_erasures(struct rtn_inv *inv)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, E_ANY);
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r != SQLITE_DONE; /* an error counts as yes: lookups then say */
}

int rtn_sq_erasure_for(struct rtn_inv *inv, const char *id, rtn_time_t *at, char **request)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, E_FOR);
	rtn_sq_bind_text(s, 1, id);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*at = sqlite3_column_int64(s, 0);
		*request = rtn_sq_col_strdup(s, 1);
	}
	sqlite3_reset(s);
	return rtn_sq_found(r);
}

json_t *rtn_sq_erasures_open(struct rtn_inv *inv)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, E_OPEN);
	json_t *a = json_array();
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_int_t n[5];
		for (int i = 0; i < 5; i++)
			n[i] = sqlite3_column_int64(s, 5 + i);
		json_int_t pending = n[0] - n[1] - n[2] - n[3] - n[4];
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:o, s:o, s:s?, s:s?, s:I, s:I, s:I, s:I, s:I, s:I}",
		                 "request", (const char *)sqlite3_column_text(s, 0), "subject",
		                 (const char *)sqlite3_column_text(s, 1), "requested",
		                 rtn_time_to_json(sqlite3_column_int64(s, 2)), "deadline",
		                 rtn_time_to_json(sqlite3_column_int64(s, 3)), "deadline_set_by",
		                 (const char *)sqlite3_column_text(s, 10), "reason",
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

int rtn_sq_erasure_complete(struct rtn_inv *inv, const char *request, const char *pseudonym,
                            rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, E_DONE);
	rtn_sq_bind_text(s, 1, request);
	sqlite3_bind_int64(s, 2, now);
	rtn_sq_bind_text(s, 3, pseudonym);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	s = rtn_sq_stmt(inv, E_PRUNE);
	rtn_sq_bind_text(s, 1, request);
	return rtn_sq_step_done(s);
}

/* The pseudonym of the SQL function's one argument, through the caller's fn. */
struct pseudo_fn {
	void (*fn)(const char *subject, char *out, void *ctx);
	void *ctx;
};

static void sql_pseudonym(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	(void)argc;
	const struct pseudo_fn *p = sqlite3_user_data(c);
	const char *v = (const char *)sqlite3_value_text(argv[0]);
	if (!v) {
		sqlite3_result_null(c);
		return;
	}
	char out[RTN_PSEUDONYM_LEN + 1];
	p->fn(v, out, p->ctx);
	sqlite3_result_text(c, out, -1, SQLITE_TRANSIENT);
}

int rtn_sq_pseudonymize_kept(struct rtn_inv *inv, const char *key_id,
                             void (*fn)(const char *subject, char *out, void *ctx), void *ctx,
                             int64_t *changed)
{
	*changed = 0;
	sqlite3 *db = rtn_sq_db(inv);
	struct pseudo_fn p = {fn, ctx};
	/* A pseudonym is "hmac:" and 64 hex digits; anything else kept there is in clear. */
	char like[8 * 64 + 8] = "hmac:";
	for (int i = 0; i < 64; i++)
		strcat(like, "[0-9a-f]");
	static const char *const q[] = {
	    "UPDATE jobs SET subject = rtn_pseudonym(subject) WHERE subject IS NOT NULL AND "
	    "subject NOT GLOB ?1",
	    "UPDATE erasures SET subject = rtn_pseudonym(subject) WHERE completed_at IS NOT NULL "
	    "AND subject NOT GLOB ?1",
	};
	if (sqlite3_create_function(db, "rtn_pseudonym", 1, SQLITE_UTF8, &p, sql_pseudonym, NULL,
	                            NULL) != SQLITE_OK)
		return -EIO;
	int r = rtn_sq_step_done(rtn_sq_stmt(inv, S_BEGIN));
	for (size_t i = 0; r == 0 && i < sizeof(q) / sizeof(q[0]); i++) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(db, q[i], -1, &s, NULL) != SQLITE_OK) {
			r = -EIO;
			break;
		}
		sqlite3_bind_text(s, 1, like, -1, SQLITE_STATIC);
		r = sqlite3_step(s) == SQLITE_DONE ? 0 : -EIO;
		sqlite3_finalize(s);
		*changed += sqlite3_changes(db);
	}
	if (r == 0)
		r = rtn_sq_meta_set(inv, "pseudonyms", key_id);
	if (r == 0)
		r = rtn_sq_step_done(rtn_sq_stmt(inv, S_COMMIT));
	if (r < 0 && !sqlite3_get_autocommit(db))
		rtn_sq_step_done(rtn_sq_stmt(inv, S_ROLLBACK));
	sqlite3_create_function(db, "rtn_pseudonym", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
	return r < 0 ? -EIO : 0;
}
