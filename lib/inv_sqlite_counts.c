/* inv_sqlite_counts.c - the counts status reads (records per state, unmanaged records per
 * category, jobs per state and backend, done jobs per rule and outcome), kept in table
 * `counts` (schema versions 6 and 7).
 *
 * Each write that changes a record's or a job's state says so here (rtn_sq_count_*); the
 * changes are added up in memory and written to `counts` in the same transaction, just
 * before it commits (rtn_sq_counts_flush), or dropped with it when it rolls back. A write
 * outside a transaction is counted at once. Reading the counts first writes what is
 * pending, so that a read inside a transaction sees its own changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_sqlite_int.h"
#include "util.h"

struct rtn_sq_delta {
	char kind; /* 'r' record state, 'u' unmanaged category, 'j' job state and backend, 'd'
	            * done job rule and outcome */
	char *key, *sub;
	int64_t n;
};

static const char *kind_name(char k)
{
	return k == 'r' ? "record" : k == 'u' ? "unmanaged" : k == 'j' ? "job" : "done";
}

static void add(struct rtn_sq *sq, char kind, const char *key, const char *sub, int64_t n)
{
	if (!key)
		return;
	if (!sub)
		sub = "";
	for (size_t i = 0; i < sq->ndeltas; i++) {
		struct rtn_sq_delta *d = &sq->deltas[i];
		if (d->kind == kind && strcmp(d->key, key) == 0 && strcmp(d->sub, sub) == 0) {
			d->n += n;
			return;
		}
	}
	if (sq->ndeltas == sq->cdeltas) {
		sq->cdeltas = sq->cdeltas ? 2 * sq->cdeltas : 16;
		sq->deltas = rtn_xreallocarray(sq->deltas, sq->cdeltas, sizeof(*sq->deltas));
	}
	sq->deltas[sq->ndeltas++] =
	    (struct rtn_sq_delta){kind, rtn_xstrdup(key), rtn_xstrdup(sub), n};
}

/* Outside a transaction a change is written at once (no commit would carry it). */
static void settle(struct rtn_inv *inv)
{
	if (sqlite3_get_autocommit(rtn_sq_db(inv)))
		rtn_sq_counts_flush(inv);
}

void rtn_sq_count_record(struct rtn_inv *inv, const char *state, const char *category, int64_t n)
{
	struct rtn_sq *sq = (struct rtn_sq *)inv;
	add(sq, 'r', state, NULL, n);
	if (state && strcmp(state, "unmanaged") == 0)
		add(sq, 'u', category, NULL, n);
	settle(inv);
}

void rtn_sq_count_record_moved(struct rtn_inv *inv, const struct rtn_sq_was *was, const char *state,
                               const char *category)
{
	if (!was->found)
		return;
	if (!category)
		category = was->name;
	if (strcmp(was->state, state) == 0 && strcmp(was->name, category) == 0)
		return;
	rtn_sq_count_record(inv, was->state, was->name, -1);
	rtn_sq_count_record(inv, state, category, 1);
}

void rtn_sq_count_job(struct rtn_inv *inv, const char *state, const char *backend, const char *rule,
                      const char *outcome, int64_t n)
{
	struct rtn_sq *sq = (struct rtn_sq *)inv;
	add(sq, 'j', state, backend, n);
	/* an erasure request's rule ("erasure:R-...") as "erasure": no row per request */
	if (state && strcmp(state, "done") == 0 && rule)
		add(sq, 'd', strncmp(rule, "erasure:", 8) == 0 ? "erasure" : rule, outcome, n);
	settle(inv);
}

int rtn_sq_record_was(struct rtn_inv *inv, int64_t rid, struct rtn_sq_was *was)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, C_WAS_RECORD);
	sqlite3_bind_int64(s, 1, rid);
	int r = sqlite3_step(s);
	was->found = r == SQLITE_ROW;
	if (was->found) {
		snprintf(was->state, sizeof(was->state), "%s", sqlite3_column_text(s, 0));
		snprintf(was->name, sizeof(was->name), "%s", sqlite3_column_text(s, 1));
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

int rtn_sq_job_was(struct rtn_inv *inv, const char *job, struct rtn_sq_was *was)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, C_WAS_JOB);
	rtn_sq_bind_text(s, 1, job);
	int r = sqlite3_step(s);
	was->found = r == SQLITE_ROW;
	if (was->found) {
		const unsigned char *o = sqlite3_column_text(s, 3);
		snprintf(was->state, sizeof(was->state), "%s", sqlite3_column_text(s, 0));
		snprintf(was->name, sizeof(was->name), "%s", sqlite3_column_text(s, 1));
		snprintf(was->rule, sizeof(was->rule), "%s", sqlite3_column_text(s, 2));
		snprintf(was->outcome, sizeof(was->outcome), "%s", o ? (const char *)o : "");
		snprintf(was->action, sizeof(was->action), "%s", sqlite3_column_text(s, 4));
	}
	sqlite3_reset(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -EIO;
}

static void drop(struct rtn_sq *sq)
{
	for (size_t i = 0; i < sq->ndeltas; i++) {
		free(sq->deltas[i].key);
		free(sq->deltas[i].sub);
	}
	sq->ndeltas = 0;
}

int rtn_sq_counts_flush(struct rtn_inv *inv)
{
	struct rtn_sq *sq = (struct rtn_sq *)inv;
	int r = 0;
	for (size_t i = 0; i < sq->ndeltas && r == 0; i++) {
		struct rtn_sq_delta *d = &sq->deltas[i];
		if (!d->n)
			continue;
		sqlite3_stmt *s = rtn_sq_stmt(inv, C_ADD);
		sqlite3_bind_text(s, 1, kind_name(d->kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, d->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, d->sub, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, d->n);
		r = rtn_sq_step_done(s);
		sqlite3_clear_bindings(s);
	}
	/* Written into the transaction (whose rollback takes them back), or failed: then
	 * the transaction fails and its rollback drops the rest. */
	drop(sq);
	return r;
}

void rtn_sq_counts_drop(struct rtn_inv *inv)
{
	drop((struct rtn_sq *)inv);
}

void rtn_sq_counts_free(struct rtn_sq *sq)
{
	drop(sq);
	free(sq->deltas);
	sq->deltas = NULL;
	sq->cdeltas = 0;
}

int rtn_sq_step_moves(struct rtn_inv *inv, sqlite3_stmt *s, char kind, const char *from,
                      const char *to)
{
	int r, n = 0;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);
		if (kind == 'j') {
			rtn_sq_count_job(inv, from, v, NULL, NULL, -1);
			rtn_sq_count_job(inv, to, v, NULL, NULL, 1);
		} else {
			rtn_sq_count_record(inv, from, NULL, -1);
			rtn_sq_count_record(inv, v, NULL, 1);
		}
		n++;
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? n : -EIO;
}
