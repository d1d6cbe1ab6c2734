/* inv_sqlite_jobs.c - the SQLite inventory's jobs and the record transitions dispatch
 * makes; holds placed and removed, and the records a selector covers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_sqlite_int.h"
#include "util.h"

/* The brief columns (id, category, subject, locator, anon_at, anon_rule, del_at,
 * del_rule, next_at, events) from column `at` on. */
static void read_brief(sqlite3_stmt *s, int at, int64_t rid, struct rtn_inv_row *row)
{
	memset(row, 0, sizeof(*row));
	row->rid = rid;
	row->rec.id = rtn_sq_col_strdup(s, at);
	row->rec.category = rtn_sq_col_strdup(s, at + 1);
	row->rec.subject = rtn_sq_col_strdup(s, at + 2);
	row->locator_text = rtn_sq_col_strdup(s, at + 3);
	const char *ev = (const char *)sqlite3_column_text(s, at + 9);
	row->rec.events =
	    ev ? json_loadb(ev, (size_t)sqlite3_column_bytes(s, at + 9), 0, NULL) : NULL;
	if (!json_is_object(row->rec.events)) {
		json_decref(row->rec.events);
		row->rec.events = json_object();
	}
	row->rec.attributes = json_object();
	row->sched.anon_at = rtn_sq_col_time(s, at + 4);
	row->anon_rule_buf = rtn_sq_col_strdup(s, at + 5);
	row->sched.del_at = rtn_sq_col_time(s, at + 6);
	row->del_rule_buf = rtn_sq_col_strdup(s, at + 7);
	row->sched.next_at = rtn_sq_col_time(s, at + 8);
	row->sched.anon_rule = row->anon_rule_buf;
	row->sched.del_rule = row->del_rule_buf;
	row->anonymized_at = row->deleted_at = RTN_TIME_NONE;
	row->sched.notice_at = row->sched.notice_for = RTN_TIME_NONE;
}

/* The stored notice columns (notice_at, notice_for, notice_rule, notice_backend) from
 * column `at` on, after the brief ones. */
static void read_notice(sqlite3_stmt *s, int at, struct rtn_inv_row *row)
{
	row->sched.notice_at = rtn_sq_col_time(s, at);
	row->sched.notice_for = rtn_sq_col_time(s, at + 1);
	row->notice_rule_buf = rtn_sq_col_strdup(s, at + 2);
	row->notice_backend_buf = rtn_sq_col_strdup(s, at + 3);
	row->sched.notice_rule = row->notice_rule_buf;
	row->sched.notice_backend = row->notice_backend_buf;
}

/* Up to max rows of a take (statement which: a backend's due records, or its due notices):
 * the brief and the stored notice of each. Count or -EIO. */
static int take_rows(struct rtn_inv *inv, enum rtn_sq_stmt which, const char *backend,
                     rtn_time_t now, int max, struct rtn_inv_row *rows)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, which);
	rtn_sq_bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, max);
	int n = 0, r = SQLITE_DONE;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		read_brief(s, 1, sqlite3_column_int64(s, 0), &rows[n]);
		read_notice(s, 11, &rows[n]);
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

int rtn_sq_queue_take(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                      struct rtn_inv_row *rows)
{
	return take_rows(inv, J_TAKE, backend, now, max, rows);
}

static int queued_rids(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                       int64_t *out)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_QUEUED);
	rtn_sq_bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, max);
	return rtn_sq_rids(s, out, max);
}

int rtn_sq_queue_orphans(struct rtn_inv *inv, const char *const *backends, size_t nb,
                         rtn_time_t now, int max, int64_t *out)
{
	/* Records that name no backend. */
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_ORPHANS_NULL);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, max);
	int n = rtn_sq_rids(s, out, max);
	if (n < 0)
		return n;
	/* Then each backend the queue names that the configuration lacks. */
	char *prev = rtn_xstrdup("");
	while (n < max) {
		s = rtn_sq_stmt(inv, J_ORPHANS);
		rtn_sq_bind_text(s, 1, prev);
		int r = sqlite3_step(s);
		char *b = r == SQLITE_ROW ? rtn_sq_col_strdup(s, 0) : NULL;
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
	j->job = rtn_sq_col_strdup(s, 0);
	j->rid = sqlite3_column_int64(s, 1);
	j->record = rtn_sq_col_strdup(s, 2);
	j->category = rtn_sq_col_strdup(s, 3);
	j->action = rtn_sq_col_strdup(s, 4);
	j->rule = rtn_sq_col_strdup(s, 5);
	j->backend = rtn_sq_col_strdup(s, 6);
	j->state = rtn_sq_col_strdup(s, 7);
	j->attempts = sqlite3_column_int(s, 8);
	j->due = rtn_sq_col_time(s, 9);
	j->next_attempt = rtn_sq_col_time(s, 10);
	j->sent_at = rtn_sq_col_time(s, 11);
	j->done_at = rtn_sq_col_time(s, 12);
	j->created = rtn_sq_col_time(s, 13);
	j->updated = rtn_sq_col_time(s, 14);
	j->last_error = rtn_sq_col_strdup(s, 15);
	j->subject = rtn_sq_col_strdup(s, 16);
	j->anchor = rtn_sq_col_strdup(s, 17);
	j->anchor_time = rtn_sq_col_time(s, 18);
	j->first_sent = rtn_sq_col_time(s, 19);
	j->outcome = rtn_sq_col_strdup(s, 20);
	j->notice_of = rtn_sq_col_strdup(s, 21);
	j->notice_deadline = rtn_sq_col_time(s, 22);
}

static int get_job(sqlite3_stmt *s, struct rtn_inv_job *j)
{
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_job(s, j);
	sqlite3_reset(s);
	return rtn_sq_found(r);
}

int rtn_sq_job_get(struct rtn_inv *inv, const char *job, struct rtn_inv_job *j)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_GET);
	rtn_sq_bind_text(s, 1, job);
	return get_job(s, j);
}

int rtn_sq_job_open_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_OPEN_FOR);
	sqlite3_bind_int64(s, 1, rid);
	return get_job(s, j);
}

int rtn_sq_job_latest_for(struct rtn_inv *inv, int64_t rid, struct rtn_inv_job *j)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_LATEST_FOR);
	sqlite3_bind_int64(s, 1, rid);
	return get_job(s, j);
}

static int job_write(struct rtn_inv *inv, int which, const struct rtn_inv_job *j)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, which);
	rtn_sq_bind_text(s, 1, j->job);
	sqlite3_bind_int64(s, 2, j->rid);
	rtn_sq_bind_text(s, 3, j->record);
	rtn_sq_bind_text(s, 4, j->category);
	rtn_sq_bind_text(s, 5, j->action);
	rtn_sq_bind_text(s, 6, j->rule);
	rtn_sq_bind_text(s, 7, j->backend);
	rtn_sq_bind_text(s, 8, j->state);
	sqlite3_bind_int(s, 9, j->attempts);
	rtn_sq_bind_time(s, 10, j->due);
	rtn_sq_bind_time(s, 11, j->next_attempt);
	rtn_sq_bind_time(s, 12, j->sent_at);
	rtn_sq_bind_time(s, 13, j->done_at);
	rtn_sq_bind_time(s, 14, j->created);
	rtn_sq_bind_time(s, 15, j->updated);
	rtn_sq_bind_text(s, 16, j->last_error);
	rtn_sq_bind_text(s, 17, j->subject);
	rtn_sq_bind_text(s, 18, j->anchor);
	rtn_sq_bind_time(s, 19, j->anchor_time);
	rtn_sq_bind_time(s, 20, j->first_sent);
	rtn_sq_bind_text(s, 21, j->outcome);
	rtn_sq_bind_text(s, 22, j->notice_of);
	rtn_sq_bind_time(s, 23, j->notice_deadline);
	return rtn_sq_step_done(s);
}

/* The rule a done job is counted under: none for a notice, which is no action. */
static const char *job_rule(const struct rtn_inv_job *j)
{
	return j->action && strcmp(j->action, "notice") == 0 ? NULL : j->rule;
}

static const char *action_rule(const struct rtn_sq_was *was)
{
	return strcmp(was->action, "notice") == 0 ? NULL : was->rule;
}

int rtn_sq_job_put(struct rtn_inv *inv, const struct rtn_inv_job *j)
{
	struct rtn_sq_was was;
	if (rtn_sq_job_was(inv, j->job, &was) < 0 || job_write(inv, J_PUT, j) < 0)
		return -EIO;
	if (was.found)
		rtn_sq_count_job(inv, was.state, was.name, action_rule(&was), was.outcome, -1);
	rtn_sq_count_job(inv, j->state, j->backend, job_rule(j), j->outcome, 1);
	return 0;
}

int rtn_sq_job_insert(struct rtn_inv *inv, const struct rtn_inv_job *j)
{
	if (job_write(inv, J_INSERT, j) < 0)
		return -EIO;
	rtn_sq_count_job(inv, j->state, j->backend, job_rule(j), j->outcome, 1);
	return 0;
}

int rtn_sq_job_done(struct rtn_inv *inv, const char *job, const char *backend, rtn_time_t now,
                    const char *note, const char *outcome)
{
	struct rtn_sq_was was;
	if (rtn_sq_job_was(inv, job, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_DONE);
	rtn_sq_bind_text(s, 1, job);
	sqlite3_bind_int64(s, 2, now);
	rtn_sq_bind_text(s, 3, note);
	rtn_sq_bind_text(s, 4, backend);
	rtn_sq_bind_text(s, 5, outcome);
	int r = rtn_sq_step_done(s);
	if (r < 0)
		return r;
	if (!sqlite3_changes(rtn_sq_db(inv)))
		return -ENOENT;
	rtn_sq_count_job(inv, was.state, backend, action_rule(&was), was.outcome, -1);
	rtn_sq_count_job(inv, "done", backend, action_rule(&was), outcome, 1);
	return 0;
}

int rtn_sq_job_brief(struct rtn_inv *inv, int64_t rid, struct rtn_inv_row *row)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_BRIEF);
	sqlite3_bind_int64(s, 1, rid);
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		read_brief(s, 0, rid, row);
	sqlite3_reset(s);
	return rtn_sq_found(r);
}

int rtn_sq_jobs_retry_due(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                          char **ids)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_RETRY_DUE);
	rtn_sq_bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, max);
	int n = 0, r = SQLITE_DONE;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW)
		ids[n++] = rtn_sq_col_strdup(s, 0);
	int bad = n < max && r != SQLITE_DONE;
	sqlite3_reset(s);
	if (bad) {
		while (n)
			free(ids[--n]);
		return -EIO;
	}
	return n;
}

int rtn_sq_job_unanswered(struct rtn_inv *inv, const char *job, rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_UNANSWERED_ONE);
	rtn_sq_bind_text(s, 1, job);
	sqlite3_bind_int64(s, 2, now);
	return rtn_sq_step_moves(inv, s, 'j', "sent", "retry") < 0 ? -EIO : 0;
}

int rtn_sq_jobs_unanswered(struct rtn_inv *inv, const char *backend, rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, backend ? J_UNANSWERED : J_UNANSWERED_ALL);
	if (backend) {
		rtn_sq_bind_text(s, 1, backend);
		sqlite3_bind_int64(s, 2, now);
	} else {
		sqlite3_bind_int64(s, 1, now);
	}
	return rtn_sq_step_moves(inv, s, 'j', "sent", "retry");
}

int rtn_sq_jobs_next_retry(struct rtn_inv *inv, rtn_time_t *at)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_NEXT_RETRY);
	int r = sqlite3_step(s);
	*at = r == SQLITE_ROW ? rtn_sq_col_time(s, 0) : RTN_TIME_NONE;
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

static json_t *job_json(const struct rtn_inv_job *j)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:s?, s:s?}", "job", j->job,
	    "record", j->record, "category", j->category, "action", j->action, "rule", j->rule,
	    "backend", j->backend, "state", j->state, "attempts", j->attempts, "due",
	    rtn_time_to_json(j->due), "next_attempt",
	    rtn_time_to_json(strcmp(j->state, "retry") == 0 ? j->next_attempt : RTN_TIME_NONE),
	    "updated", rtn_time_to_json(j->updated), "last_error", j->last_error, "outcome",
	    j->outcome);
	/* A notice says what it announces: the action and its deadline. */
	if (o && j->notice_of) {
		json_object_set_new(o, "announces", json_string(j->notice_of));
		json_object_set_new(o, "deadline", rtn_time_to_json(j->notice_deadline));
	}
	return o;
}

json_t *rtn_sq_jobs_list(struct rtn_inv *inv, const char *state, size_t limit)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, state ? J_LIST_STATE : J_LIST);
	if (state) {
		rtn_sq_bind_text(s, 1, state);
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

int rtn_sq_jobs_dead(struct rtn_inv *inv, const char *job, char ***ids)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, job ? J_DEAD_ONE : J_DEAD);
	if (job)
		rtn_sq_bind_text(s, 1, job);
	size_t n = 0, cap = 0;
	char **v = NULL;
	int r;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		RTN_GROW(v, n + 1, cap);
		v[n++] = rtn_sq_col_strdup(s, 0);
	}
	sqlite3_reset(s);
	*ids = v;
	return r == SQLITE_DONE ? (int)n : -EIO;
}

int rtn_sq_foreach_open_job(struct rtn_inv *inv, rtn_time_t until, const char *category,
                            int (*cb)(const struct rtn_inv_job *j, void *ctx), void *ctx)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, category ? J_OPEN_CAT : J_OPEN);
	sqlite3_bind_int64(s, 1, until);
	if (category)
		rtn_sq_bind_text(s, 2, category);
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

int rtn_sq_mark(struct rtn_inv *inv, int64_t rid, const char *state, rtn_time_t next_at,
                rtn_time_t now)
{
	struct rtn_sq_was was;
	if (rtn_sq_record_was(inv, rid, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_MARK);
	sqlite3_bind_int64(s, 1, rid);
	rtn_sq_bind_text(s, 2, state);
	rtn_sq_bind_time(s, 3, next_at);
	sqlite3_bind_int64(s, 4, now);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	rtn_sq_count_record_moved(inv, &was, state, NULL);
	return 0;
}

int rtn_sq_tombstone(struct rtn_inv *inv, int64_t rid, const char *rule, const char *job,
                     const char *outcome, rtn_time_t now)
{
	struct rtn_sq_was was;
	if (rtn_sq_record_was(inv, rid, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_TOMBSTONE);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, now);
	rtn_sq_bind_text(s, 3, rule);
	rtn_sq_bind_text(s, 4, job);
	rtn_sq_bind_text(s, 5, outcome);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	if (!sqlite3_changes(rtn_sq_db(inv)))
		return 0; /* a tombstone already */
	rtn_sq_count_record_moved(inv, &was, "deleted", NULL);
	s = rtn_sq_stmt(inv, J_TOMBSTONE_JOBS);
	sqlite3_bind_int64(s, 1, rid);
	return rtn_sq_step_done(s);
}

int rtn_sq_set_anonymized(struct rtn_inv *inv, int64_t rid, rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_ANONYMIZED);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, now);
	return rtn_sq_step_done(s);
}

int rtn_sq_set_review_mark(struct rtn_inv *inv, int64_t rid, const char *mark)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_REVIEW_MARK);
	sqlite3_bind_int64(s, 1, rid);
	rtn_sq_bind_text(s, 2, mark);
	return rtn_sq_step_done(s);
}

/* The rows of a statement of paused counts: [{"rule", ("cause",) "records"}]. */
static json_t *paused_rows(sqlite3_stmt *s, bool with_cause)
{
	json_t *a = json_array();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		json_t *o = json_pack("{s:s}", "rule", r ? r : "");
		if (with_cause)
			json_object_set_new(o, "cause",
			                    json_string((const char *)sqlite3_column_text(s, 1)));
		json_object_set_new(o, "records",
		                    json_integer(sqlite3_column_int64(s, with_cause ? 2 : 1)));
		json_array_append_new(a, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *rtn_sq_paused_by_rule(struct rtn_inv *inv)
{
	return paused_rows(rtn_sq_stmt(inv, J_PAUSED), true);
}

json_t *rtn_sq_paused_of_step(struct rtn_inv *inv, const char *cause, const char *ref)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_PAUSED_STEP);
	rtn_sq_bind_text(s, 1, cause);
	rtn_sq_bind_text(s, 2, ref);
	return paused_rows(s, false);
}

/* A release of paused records (statement which) of cause (NULL: any). */
static int release(struct rtn_inv *inv, enum rtn_sq_stmt which, const char *cause, rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, which);
	sqlite3_bind_int64(s, 1, now);
	rtn_sq_bind_text(s, 2, cause);
	return rtn_sq_step_moves(inv, s, 'r', "paused", NULL);
}

int rtn_sq_release_paused(struct rtn_inv *inv, const char *cause, rtn_time_t now)
{
	return release(inv, J_RELEASE, cause, now);
}

int rtn_sq_release_undone(struct rtn_inv *inv, const char *cause, rtn_time_t now)
{
	return release(inv, J_RELEASE_UNDONE, cause, now);
}

int rtn_sq_step_mark(struct rtn_inv *inv, int64_t rid, const char *cause, const char *ref,
                     bool pause, rtn_time_t now)
{
	struct rtn_sq_was was = {0};
	if (pause && rtn_sq_record_was(inv, rid, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_STEP_MARK);
	sqlite3_bind_int64(s, 1, rid);
	rtn_sq_bind_text(s, 2, cause);
	rtn_sq_bind_text(s, 3, ref);
	sqlite3_bind_int(s, 4, pause);
	sqlite3_bind_int64(s, 5, now);
	int n = rtn_sq_step_changes(inv, s);
	if (n > 0 && pause)
		rtn_sq_count_record_moved(inv, &was, "paused", NULL);
	return n;
}

int rtn_sq_step_pause(struct rtn_inv *inv, const char *cause, const char *ref, rtn_time_t now)
{
	/* The states they leave, counted first (a RETURNING gives only the new one). */
	sqlite3_stmt *s = rtn_sq_stmt(inv, C_STEP_PAUSE_STATES);
	rtn_sq_bind_text(s, 1, cause);
	rtn_sq_bind_text(s, 2, ref);
	int r;
	int64_t queued = 0, review = 0;
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		*(strcmp((const char *)sqlite3_column_text(s, 0), "queued") == 0 ? &queued
		                                                                 : &review) =
		    sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return -EIO;
	s = rtn_sq_stmt(inv, J_STEP_PAUSE);
	rtn_sq_bind_text(s, 1, cause);
	rtn_sq_bind_text(s, 2, ref);
	sqlite3_bind_int64(s, 3, now);
	int n = rtn_sq_step_changes(inv, s);
	if (n > 0) {
		rtn_sq_count_record(inv, "queued", NULL, -queued);
		rtn_sq_count_record(inv, "review", NULL, -review);
		rtn_sq_count_record(inv, "paused", NULL, queued + review);
	}
	return n;
}

json_t *rtn_sq_ids_in_state(struct rtn_inv *inv, const char *state, size_t limit)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_IN_STATE);
	rtn_sq_bind_text(s, 1, state);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	json_t *a = json_array();
	while (sqlite3_step(s) == SQLITE_ROW)
		json_array_append_new(a, json_string((const char *)sqlite3_column_text(s, 0)));
	sqlite3_reset(s);
	return a;
}

int64_t rtn_sq_live_count(struct rtn_inv *inv)
{
	if (rtn_sq_counts_flush(inv) < 0)
		return 0;
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_LIVE);
	int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return n;
}

int rtn_sq_hold_add(struct rtn_inv *inv, const char *kind, const char *value, const char *hold,
                    const char *reason, const char *by, rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_HOLD_ADD);
	rtn_sq_bind_text(s, 1, kind);
	rtn_sq_bind_text(s, 2, value);
	rtn_sq_bind_text(s, 3, hold);
	rtn_sq_bind_text(s, 4, reason);
	sqlite3_bind_int64(s, 5, now);
	rtn_sq_bind_text(s, 6, by);
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_CONSTRAINT_PRIMARYKEY || r == SQLITE_CONSTRAINT)
		return -EEXIST;
	return r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_hold_remove(struct rtn_inv *inv, const char *kind, const char *value, const char *hold)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_HOLD_DEL);
	rtn_sq_bind_text(s, 1, kind);
	rtn_sq_bind_text(s, 2, value);
	rtn_sq_bind_text(s, 3, hold);
	if (rtn_sq_step_done(s) < 0)
		return -EIO;
	return sqlite3_changes(rtn_sq_db(inv)) ? 0 : -ENOENT;
}

int rtn_sq_select(struct rtn_inv *inv, const char *kind, const char *value, int64_t **out)
{
	int which = !strcmp(kind, "id")        ? J_SEL_ID
	            : !strcmp(kind, "subject") ? J_SEL_SUBJECT
	                                       : J_SEL_CATEGORY;
	sqlite3_stmt *s = rtn_sq_stmt(inv, which);
	rtn_sq_bind_text(s, 1, value);
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

json_t *rtn_sq_deleted_between(struct rtn_inv *inv, rtn_time_t since, rtn_time_t until,
                               const char *category)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_DELETED);
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, until);
	rtn_sq_bind_text(s, 3, category);
	json_t *a = json_array();
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *rule = (const char *)sqlite3_column_text(s, 0);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:I, s:I}", "rule", rule ? rule : "", "category",
		                 (const char *)sqlite3_column_text(s, 1), "deleted",
		                 (json_int_t)sqlite3_column_int64(s, 2), "not_found",
		                 (json_int_t)sqlite3_column_int64(s, 3)));
	}
	sqlite3_reset(s);
	return a;
}

int rtn_sq_job_cancel_retry(struct rtn_inv *inv, int64_t rid, rtn_time_t now)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, J_CANCEL_RETRY);
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, now);
	return rtn_sq_step_moves(inv, s, 'j', "retry", "cancelled");
}

int rtn_sq_notice_set(struct rtn_inv *inv, int64_t rid, const struct rtn_inv_sched *sc)
{
	bool any = sc->notice_rule && sc->notice_for != RTN_TIME_NONE;
	if (!sc->notice_any && !any)
		return 0; /* no rule sends notices: the columns stay as they are */
	sqlite3_stmt *s = rtn_sq_stmt(inv, N_SET);
	sqlite3_bind_int64(s, 1, rid);
	rtn_sq_bind_time(s, 2, any ? sc->notice_at : RTN_TIME_NONE);
	rtn_sq_bind_time(s, 3, any ? sc->notice_for : RTN_TIME_NONE);
	rtn_sq_bind_text(s, 4, any ? sc->notice_rule : NULL);
	rtn_sq_bind_text(s, 5, any ? sc->notice_backend : NULL);
	return rtn_sq_step_done(s);
}

int rtn_sq_notice_take(struct rtn_inv *inv, const char *backend, rtn_time_t now, int max,
                       struct rtn_inv_row *rows)
{
	return take_rows(inv, N_TAKE, backend, now, max, rows);
}

int rtn_sq_notice_clear(struct rtn_inv *inv, int64_t rid)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, N_CLEAR);
	sqlite3_bind_int64(s, 1, rid);
	return rtn_sq_step_done(s);
}

int rtn_sq_notices_sent(struct rtn_inv *inv, const char *backend)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, N_SENT);
	rtn_sq_bind_text(s, 1, backend);
	int r = sqlite3_step(s);
	int n = r == SQLITE_ROW ? sqlite3_column_int(s, 0) : -EIO;
	sqlite3_reset(s);
	return n;
}

int rtn_sq_notice_wake(struct rtn_inv *inv, rtn_time_t after, rtn_time_t *next)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, N_NEXT);
	sqlite3_bind_int64(s, 1, after);
	int r = sqlite3_step(s);
	*next = r == SQLITE_ROW ? rtn_sq_col_time(s, 0) : RTN_TIME_NONE;
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}
