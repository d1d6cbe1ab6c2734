/* inv_sqlite_records.c - the SQLite inventory's records: rows, schedules, the walks of
 * the timer and plan, forgetting (with its cascade into jobs, holds and erasure
 * coverage), counts, and the holds a record is under */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_sqlite_int.h"
#include "util.h"

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
	row->rec.id = rtn_sq_col_strdup(s, 1);
	row->rec.category = rtn_sq_col_strdup(s, 2);
	row->rec.subject = rtn_sq_col_strdup(s, 3);
	row->rec.backend = rtn_sq_col_strdup(s, 4);
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
	row->created = rtn_sq_col_time(s, 9);
	row->updated = rtn_sq_col_time(s, 10);
	row->anonymized_at = rtn_sq_col_time(s, 11);
	row->sched.anon_at = rtn_sq_col_time(s, 12);
	row->anon_rule_buf = rtn_sq_col_strdup(s, 13);
	row->sched.del_at = rtn_sq_col_time(s, 14);
	row->del_rule_buf = rtn_sq_col_strdup(s, 15);
	int review = sqlite3_column_int(s, 16);
	row->sched.anon_review = review & 1;
	row->sched.del_review = (review & 2) != 0;
	row->sched.next_at = rtn_sq_col_time(s, 17);
	row->sched.anon_rule = row->anon_rule_buf;
	row->sched.del_rule = row->del_rule_buf;
	row->deleted_at = rtn_sq_col_time(s, 18);
	row->deleted_rule = rtn_sq_col_strdup(s, 19);
	row->deleted_job = rtn_sq_col_strdup(s, 20);
	row->next_backend_buf = rtn_sq_col_strdup(s, 21);
	row->sched.next_backend = row->next_backend_buf;
	row->review_mark = rtn_sq_col_strdup(s, 22);
	row->deleted_outcome = rtn_sq_col_strdup(s, 23);
	row->sched.notice_at = rtn_sq_col_time(s, 24);
	row->sched.notice_for = rtn_sq_col_time(s, 25);
	row->notice_rule_buf = rtn_sq_col_strdup(s, 26);
	row->notice_backend_buf = rtn_sq_col_strdup(s, 27);
	row->sched.notice_rule = row->notice_rule_buf;
	row->sched.notice_backend = row->notice_backend_buf;
}

static int get_one(sqlite3_stmt *s, struct rtn_inv_row *row)
{
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_row(s, row);
	sqlite3_reset(s);
	return rtn_sq_found(r);
}

int rtn_sq_get(struct rtn_inv *inv, const char *id, struct rtn_inv_row *row)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_GET_ID);
	rtn_sq_bind_text(s, 1, id);
	return get_one(s, row);
}

int rtn_sq_get_rid(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_GET_RID);
	sqlite3_bind_int64(s, 1, rid);
	return get_one(s, row);
}

static void bind_sched(sqlite3_stmt *s, int first, const struct rtn_inv_sched *sc)
{
	rtn_sq_bind_time(s, first, sc->anon_at);
	rtn_sq_bind_text(s, first + 1, sc->anon_rule);
	rtn_sq_bind_time(s, first + 2, sc->del_at);
	rtn_sq_bind_text(s, first + 3, sc->del_rule);
	sqlite3_bind_int(s, first + 4, (sc->anon_review ? 1 : 0) | (sc->del_review ? 2 : 0));
	rtn_sq_bind_time(s, first + 5, sc->next_at);
	rtn_sq_bind_text(s, first + 6, sc->next_backend);
}

static void bind_json(sqlite3_stmt *s, int i, const json_t *j)
{
	char *t = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (t)
		sqlite3_bind_text(s, i, t, -1, free);
	else
		sqlite3_bind_null(s, i);
}

int rtn_sq_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_brief *b)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_LOOKUP);
	rtn_sq_bind_text(s, 1, id);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		b->rid = sqlite3_column_int64(s, 0);
		b->created = rtn_sq_col_time(s, 1);
		b->anonymized_at = rtn_sq_col_time(s, 2);
		b->deleted_at = rtn_sq_col_time(s, 3);
		b->busy = sqlite3_column_int(s, 4) != 0;
		const unsigned char *m = sqlite3_column_text(s, 5);
		snprintf(b->review_mark, sizeof(b->review_mark), "%s", m ? (const char *)m : "");
	}
	sqlite3_reset(s);
	return rtn_sq_found(r);
}

/* A JSON member: its encoding when given, else encoded now. */
static void bind_member(sqlite3_stmt *s, int i, const char *text, const json_t *j)
{
	if (text)
		sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
	else
		bind_json(s, i, j);
}

int rtn_sq_upsert(struct rtn_inv *inv, const struct rtn_record *r, const struct rtn_inv_text *t,
                  const char *state, const struct rtn_inv_sched *sc, rtn_time_t now, int64_t *rid)
{
	static const struct rtn_inv_text none;
	if (!t)
		t = &none;
	struct rtn_sq_was was = {0};
	if (*rid && rtn_sq_record_was(inv, *rid, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, *rid ? S_UPDATE : S_INSERT);
	if (*rid)
		sqlite3_bind_int64(s, 1, *rid);
	else
		rtn_sq_bind_text(s, 1, r->id);
	rtn_sq_bind_text(s, 2, r->category);
	rtn_sq_bind_text(s, 3, r->subject);
	rtn_sq_bind_text(s, 4, r->backend);
	bind_member(s, 5, t->locator, r->locator);
	bind_member(s, 6, t->events, r->events);
	bind_member(s, 7, t->attributes, r->attributes);
	rtn_sq_bind_text(s, 8, state);
	sqlite3_bind_int64(s, 9, now);
	bind_sched(s, 10, sc);
	rtn_sq_bind_text(s, 17, t->scan_hash ? r->backend : NULL);
	rtn_sq_bind_text(s, 18, t->scan_hash);
	int rc = rtn_sq_step_done(s);
	/* Static bindings must not outlive the call. */
	sqlite3_clear_bindings(s);
	if (rc < 0)
		return -EIO;
	if (!*rid && !sqlite3_changes(rtn_sq_db(inv)))
		return -EEXIST; /* the id is taken */
	/* A new row without a notice has none stored: nothing more to write. */
	bool fresh = !*rid, notice = sc->notice_rule && sc->notice_for != RTN_TIME_NONE;
	if (*rid) {
		rtn_sq_count_record_moved(inv, &was, state, r->category);
	} else {
		*rid = sqlite3_last_insert_rowid(rtn_sq_db(inv));
		rtn_sq_count_record(inv, state, r->category, 1);
	}
	return fresh && !notice ? 0 : rtn_sq_notice_set(inv, *rid, sc);
}

int rtn_sq_set_schedule(struct rtn_inv *inv, int64_t rid, const char *state,
                        const struct rtn_inv_sched *sc, rtn_time_t now)
{
	struct rtn_sq_was was;
	if (rtn_sq_record_was(inv, rid, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_SET_SCHED);
	sqlite3_bind_int64(s, 1, rid);
	rtn_sq_bind_text(s, 2, state);
	sqlite3_bind_int64(s, 3, now);
	rtn_sq_bind_time(s, 4, sc->anon_at);
	rtn_sq_bind_text(s, 5, sc->anon_rule);
	rtn_sq_bind_time(s, 6, sc->del_at);
	rtn_sq_bind_text(s, 7, sc->del_rule);
	sqlite3_bind_int(s, 8, (sc->anon_review ? 1 : 0) | (sc->del_review ? 2 : 0));
	rtn_sq_bind_time(s, 9, sc->next_at);
	rtn_sq_bind_text(s, 10, sc->next_backend);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	rtn_sq_count_record_moved(inv, &was, state, NULL);
	return rtn_sq_notice_set(inv, rid, sc);
}

int rtn_sq_forget(struct rtn_inv *inv, int64_t rid)
{
	struct rtn_inv_row row;
	int r = rtn_sq_get_rid(inv, rid, &row);
	if (r < 0)
		return r;
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_FORGET_HOLDS);
	rtn_sq_bind_text(s, 1, row.rec.id);
	r = rtn_sq_step_done(s);
	rtn_inv_row_fini(&row);
	if (r < 0)
		return -EIO;
	s = rtn_sq_stmt(inv, S_FORGET_JOBS);
	sqlite3_bind_int64(s, 1, rid);
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		rtn_sq_count_job(inv, (const char *)sqlite3_column_text(s, 0),
		                 (const char *)sqlite3_column_text(s, 1),
		                 (const char *)sqlite3_column_text(s, 2),
		                 (const char *)sqlite3_column_text(s, 3), -1);
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return -EIO;
	/* The erasure requests that covered it count it as forgotten. */
	s = rtn_sq_stmt(inv, S_FORGET_ERASURES);
	sqlite3_bind_int64(s, 1, rid);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	struct rtn_sq_was was;
	if (rtn_sq_record_was(inv, rid, &was) < 0)
		return -EIO;
	s = rtn_sq_stmt(inv, S_FORGET);
	sqlite3_bind_int64(s, 1, rid);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	if (was.found)
		rtn_sq_count_record(inv, was.state, was.name, -1);
	return 0;
}

/* --- queries ----------------------------------------------------------------- */

int rtn_sq_next_wake(struct rtn_inv *inv, rtn_time_t *at, char **id)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_NEXT_WAKE);
	int r = sqlite3_step(s);
	*at = RTN_TIME_NONE;
	if (id)
		*id = NULL;
	if (r == SQLITE_ROW) {
		*at = sqlite3_column_int64(s, 0);
		if (id)
			*id = rtn_sq_col_strdup(s, 1);
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_due_rids(struct rtn_inv *inv, rtn_time_t t, int64_t *rids, int max)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_DUE);
	sqlite3_bind_int64(s, 1, t);
	sqlite3_bind_int(s, 2, max);
	return rtn_sq_rids(s, rids, max);
}

int rtn_sq_rids_after(struct rtn_inv *inv, int64_t after, int64_t *rids, int max)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_RIDS_AFTER);
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int(s, 2, max);
	return rtn_sq_rids(s, rids, max);
}

static int foreach_rows(sqlite3_stmt *s, int (*cb)(const struct rtn_inv_row *row, void *ctx),
                        void *ctx)
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
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_foreach_until(struct rtn_inv *inv, rtn_time_t until, const char *category,
                         int (*cb)(const struct rtn_inv_plan_row *row, void *ctx), void *ctx)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, category ? S_UNTIL_CAT : S_UNTIL);
	sqlite3_bind_int64(s, 1, until);
	if (category)
		rtn_sq_bind_text(s, 2, category);
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct rtn_inv_plan_row row = {
		    .id = (const char *)sqlite3_column_text(s, 0),
		    .category = (const char *)sqlite3_column_text(s, 1),
		    .backend = (const char *)sqlite3_column_text(s, 2),
		};
		row.sched.anon_at = rtn_sq_col_time(s, 3);
		row.sched.anon_rule = (const char *)sqlite3_column_text(s, 4);
		row.sched.del_at = rtn_sq_col_time(s, 5);
		row.sched.del_rule = (const char *)sqlite3_column_text(s, 6);
		int review = sqlite3_column_int(s, 7);
		row.sched.anon_review = review & 1;
		row.sched.del_review = (review & 2) != 0;
		row.sched.next_at = rtn_sq_col_time(s, 8);
		row.state = (const char *)sqlite3_column_text(s, 9);
		row.sched.notice_at = rtn_sq_col_time(s, 10);
		row.sched.notice_for = rtn_sq_col_time(s, 11);
		row.sched.notice_rule = (const char *)sqlite3_column_text(s, 12);
		if (cb(&row, ctx)) {
			r = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_subject_rows(struct rtn_inv *inv, const char *subject,
                        int (*cb)(const struct rtn_inv_subject_row *row, void *ctx), void *ctx)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_SUBJECT_ROWS);
	rtn_sq_bind_text(s, 1, subject);
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *ev = col_json(s, 3);
		struct rtn_inv_subject_row row = {sqlite3_column_int64(s, 0),
		                                  (const char *)sqlite3_column_text(s, 1),
		                                  (const char *)sqlite3_column_text(s, 2), ev};
		int stop = json_is_object(ev) ? cb(&row, ctx) : 0;
		json_decref(ev);
		if (stop) {
			r = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_subject_event(struct rtn_inv *inv, const char *subject, const char *event, bool latest,
                         const char *except, rtn_time_t *at, char **record)
{
	char path[320];
	*at = RTN_TIME_NONE;
	*record = NULL;
	/* Event names are letters, digits, '_', '.' and '-': quoted, a '.' is no path step. */
	if (snprintf(path, sizeof(path), "$.\"%s\"", event) >= (int)sizeof(path))
		return -ENOENT;
	sqlite3_stmt *s = rtn_sq_stmt(inv, latest ? S_SUBJECT_LATEST : S_SUBJECT_EARLIEST);
	rtn_sq_bind_text(s, 1, subject);
	rtn_sq_bind_text(s, 2, path);
	rtn_sq_bind_text(s, 3, except ? except : "");
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW && sqlite3_column_type(s, 1) == SQLITE_INTEGER) {
		*record = rtn_sq_col_strdup(s, 0);
		*at = (rtn_time_t)sqlite3_column_int64(s, 1);
		r = SQLITE_DONE;
	} else if (r == SQLITE_ROW) {
		r = SQLITE_DONE; /* not a time: stored events are integers */
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return -EIO;
	return *record ? 0 : -ENOENT;
}

int rtn_sq_foreach_subject(struct rtn_inv *inv, const char *subject,
                           int (*cb)(const struct rtn_inv_row *row, void *ctx), void *ctx)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_SUBJECT);
	rtn_sq_bind_text(s, 1, subject);
	return foreach_rows(s, cb, ctx);
}

static json_t *count_by(struct rtn_inv *inv, enum rtn_sq_stmt which, bool total)
{
	if (rtn_sq_counts_flush(inv) < 0)
		return NULL;
	sqlite3_stmt *s = rtn_sq_stmt(inv, which);
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

json_t *rtn_sq_count_states(struct rtn_inv *inv)
{
	return count_by(inv, S_COUNT_STATES, true);
}

json_t *rtn_sq_count_jobs(struct rtn_inv *inv)
{
	return count_by(inv, S_COUNT_JOBS, false);
}

json_t *rtn_sq_count_jobs_by_backend(struct rtn_inv *inv)
{
	if (rtn_sq_counts_flush(inv) < 0)
		return NULL;
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_COUNT_JOBS_BACKEND);
	json_t *o = json_object();
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *backend = (const char *)sqlite3_column_text(s, 0);
		json_t *b = json_object_get(o, backend);
		if (!b)
			json_object_set_new(o, backend, b = json_object());
		json_object_set_new(b, (const char *)sqlite3_column_text(s, 1),
		                    json_integer(sqlite3_column_int64(s, 2)));
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *rtn_sq_unmanaged(struct rtn_inv *inv)
{
	if (rtn_sq_counts_flush(inv) < 0)
		return NULL;
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_UNMANAGED);
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

int rtn_sq_holds_for(struct rtn_inv *inv, const char *id, const char *subject, const char *category,
                     json_t **out)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_HOLDS_FOR);
	rtn_sq_bind_text(s, 1, id);
	rtn_sq_bind_text(s, 2, subject);
	rtn_sq_bind_text(s, 3, category);
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
bool rtn_sq_any_holds(struct rtn_inv *inv)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_ANY_HOLDS);
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r != SQLITE_DONE;
}

int rtn_sq_holds_list(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
                      int (*cb)(const struct rtn_inv_hold *h, void *ctx), void *ctx)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_HOLDS_LIST);
	rtn_sq_bind_text(s, 1, kind);
	rtn_sq_bind_text(s, 2, value);
	rtn_sq_bind_text(s, 3, hold);
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct rtn_inv_hold h = {
		    .kind = (const char *)sqlite3_column_text(s, 0),
		    .value = (const char *)sqlite3_column_text(s, 1),
		    .hold = (const char *)sqlite3_column_text(s, 2),
		    .reason = (const char *)sqlite3_column_text(s, 3),
		    .placed_at = sqlite3_column_int64(s, 4),
		    .by = (const char *)sqlite3_column_text(s, 5),
		};
		if (cb(&h, ctx)) {
			r = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_plan_unscheduled(struct rtn_inv *inv, const char *category,
                            struct rtn_inv_unscheduled *out)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, S_PLAN_UNSCHEDULED);
	rtn_sq_bind_text(s, 1, category);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		out->held = sqlite3_column_int64(s, 0);
		out->no_deadline = sqlite3_column_int64(s, 1);
		out->unmanaged = sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW ? 0 : -EIO;
}
