/* pgjob.c - retention-postgres: the workers
 *
 * Each worker has one connection. A batch (lib/backend.h, handle_batch) runs in one
 * transaction, and the results are sent after COMMIT:
 *  1. jobs whose statement is a single one (every delete; an anonymize that only sets
 *     NULL or constants) are sent in pipeline mode, BEGIN and SET CONSTRAINTS ALL
 *     IMMEDIATE first (a deferred constraint fails its job, not the COMMIT), as many as
 *     fit in half the transaction-limit at the pace of the batches before; each
 *     statement changes nothing unless its key matches exactly one row, so nothing has
 *     to be undone when it does not;
 *  2. should one of them fail (a lock timeout, a key that is no value of the column),
 *     the transaction is rolled back, that job fails alone, and the others run again in
 *     a new transaction one by one, each in a SAVEPOINT rolled back if it fails;
 *  3. jobs of two steps (pseudonymize, truncate-ip: the old values are read FOR UPDATE,
 *     the new ones computed here and written) run like 2.
 * No new job starts in a transaction older than half the transaction-limit; what did not
 * start goes back to the queue. With "vacuum on", the tables a batch changed are
 * VACUUMed after its COMMIT. A lost connection fails the jobs with retry: true; the
 * next batch connects again, after a backoff (full jitter, 250 ms to 30 s) if that
 * failed, and checks the catalog again before any job runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "ipaddr.h"
#include "pgbk.h"
#include "util.h"

/* A deferred constraint is checked at each statement, so that a job that breaks one fails
 * alone instead of failing the COMMIT of its whole batch, again at every retry. */
#define IMMEDIATE "SET CONSTRAINTS ALL IMMEDIATE"

#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 30000

struct pg_worker {
	const struct pg_conf *c;
	unsigned id;
	PGconn *conn;
	struct pg_cat cat;
	unsigned fails;    /* connection attempts failed in a row */
	int64_t next_try;  /* monotonic ms of the next one */
	uint64_t rnd;      /* xorshift state for the backoff */
	double us_per_job; /* the pace of the pipelines before */
	bool *touched;     /* tables changed in the batch (for vacuum) */
};

/* A job of the batch, decoded. */
struct pj {
	struct rtn_backend_item *it;
	size_t t;  /* table index */
	int kind;  /* 0 delete, 1 anonymize in one statement, 2 in two steps */
	int state; /* 0 to do, 1 done in the open transaction, 2 final */
	int rc;    /* while state 1: the result it will have after COMMIT */
	const char **vals;
	int nvals;
	char buf[PG_KEY_BUF];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t next_rnd(struct pg_worker *w)
{
	uint64_t x = w->rnd;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return w->rnd = x;
}

/* The server's notices (a VACUUM that skips a table it may not vacuum) to the log. */
static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	char m[512];
	snprintf(m, sizeof(m), "%s", msg);
	pg_oneline(m);
	if (strncmp(m, "WARNING", 7) == 0)
		rtn_warn("server: %s", m);
	else
		rtn_debug("server: %s", m);
}

PGconn *pg_connect(const struct pg_conf *c, char *err, size_t errlen)
{
	/* Later keywords win: the conninfo may set connect_timeout; the program sets the
	 * application name and UTF-8, in which the locators' text comes. */
	const char *kw[] = {"connect_timeout", "dbname", "application_name", "client_encoding",
	                    NULL};
	const char *val[] = {"10", c->conninfo, c->app_name, "UTF8", NULL};
	PGconn *conn = PQconnectdbParams(kw, val, 1);
	if (!conn) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		pg_oneline(err);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, on_notice, NULL);
	char v[3][24];
	snprintf(v[0], sizeof(v[0]), "%lld", (long long)c->statement_ms);
	snprintf(v[1], sizeof(v[1]), "%lld", (long long)c->lock_ms);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long)c->idle_ms);
	const char *vp[3] = {v[0], v[1], v[2]};
	PGresult *r = PQexecParams(conn,
	                           "SELECT pg_catalog.set_config('statement_timeout', $1, false), "
	                           "pg_catalog.set_config('lock_timeout', $2, false), "
	                           "pg_catalog.set_config('idle_in_transaction_session_timeout', "
	                           "$3, false)",
	                           3, NULL, vp, NULL, NULL, 0);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "cannot set the session's timeouts: %s",
		         PQerrorMessage(conn));
		pg_oneline(err);
		PQclear(r);
		PQfinish(conn);
		return NULL;
	}
	PQclear(r);
	return conn;
}

static void drop_conn(struct pg_worker *w)
{
	if (w->conn)
		PQfinish(w->conn);
	w->conn = NULL;
	pg_cat_fini(&w->cat);
}

static void failed_attempt(struct pg_worker *w)
{
	w->fails++;
	w->next_try =
	    now_ms() + rtn_backoff_ms(w->fails, RECONNECT_MIN_MS, RECONNECT_MAX_MS, next_rnd(w));
}

/* A connection whose tables were checked: true, or false with err. */
static bool ensure_conn(struct pg_worker *w, char *err, size_t errlen)
{
	if (w->conn && PQstatus(w->conn) == CONNECTION_OK)
		return true;
	if (w->conn)
		drop_conn(w);
	int64_t now = now_ms();
	if (w->fails && now < w->next_try) {
		snprintf(err, errlen,
		         "no connection to the server; connecting again in %lld ms (attempt %u "
		         "failed)",
		         (long long)(w->next_try - now), w->fails);
		return false;
	}
	PGconn *conn = pg_connect(w->c, err, errlen);
	if (!conn) {
		failed_attempt(w);
		rtn_warn("worker %u: cannot connect: %s", w->id, err);
		return false;
	}
	struct rtn_diags d;
	rtn_diags_init(&d);
	w->conn = conn;
	int r = pg_check(w->c, conn, &w->cat, &d, err, errlen);
	if (r == -EINVAL) { /* the catalog changed since the start: say what, keep trying */
		bool first = true;
		for (size_t i = 0; i < d.n; i++) {
			char *m = rtn_diag_format(&d.v[i]);
			if (d.v[i].sev == RTN_SEV_ERROR) {
				rtn_err("worker %u: %s", w->id, m);
				if (first)
					snprintf(
					    err, errlen,
					    "the database does not match the configuration: %s", m);
				first = false;
			}
			free(m);
		}
	} else if (r == -EIO) {
		rtn_warn("worker %u: the connection failed while checking the tables: %s", w->id,
		         err);
	}
	rtn_diags_fini(&d);
	if (r < 0) {
		drop_conn(w);
		failed_attempt(w);
		return false;
	}
	if (w->fails)
		rtn_info("worker %u: connected again to database %s on %s", w->id, PQdb(conn),
		         PQhost(conn));
	else
		rtn_info("worker %u: connected to database %s on %s", w->id, PQdb(conn),
		         PQhost(conn));
	w->fails = 0;
	return true;
}

void *pg_worker_init(void *ctx, unsigned i, char *err, size_t errlen)
{
	const struct pg_conf *c = ctx;
	struct pg_worker *w = rtn_xcalloc(1, sizeof(*w));
	w->c = c;
	w->id = i;
	w->us_per_job = 200;
	w->rnd = (uint64_t)now_us() * 6364136223846793005ull + i + 1;
	w->touched = rtn_xcalloc(c->ntables ? c->ntables : 1, sizeof(bool));
	if (!ensure_conn(w, err, errlen))
		rtn_warn("worker %u: jobs fail with retry: true until it connects", i);
	err[0] = '\0';
	return w;
}

void pg_worker_fini(void *wctx)
{
	struct pg_worker *w = wctx;
	if (!w)
		return;
	drop_conn(w);
	free(w->touched);
	free(w);
}

/* --- results ----------------------------------------------------------------------- */

static bool lost(PGconn *conn, const char *state)
{
	return PQstatus(conn) != CONNECTION_OK ||
	       (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0));
}

/* A failed statement of job j as its result (the error in j's err). The message names
 * the table and PostgreSQL's reason, never a value: for a key that is no value of the
 * column (class 22) not even PostgreSQL's message, which quotes it. */
static int failure(struct pg_worker *w, struct pj *j, const PGresult *r)
{
	const struct pg_table *t = &w->c->tables[j->t];
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *e = j->it->err;
	size_t el = sizeof(j->it->err);
	if (lost(w->conn, st)) {
		char m[256];
		snprintf(m, sizeof(m), "%s", msg ? msg : PQerrorMessage(w->conn));
		pg_oneline(m);
		snprintf(e, el, "the connection to the server was lost: %s", m);
		return RTN_BACKEND_FAIL_RETRY;
	}
	if (!st)
		st = "?????";
	if (strncmp(st, "22", 2) == 0) {
		snprintf(e, el,
		         "table %s.%s: the locator's key is no value of the key column's type "
		         "(SQLSTATE %s); nothing was changed",
		         t->schema, t->name, st);
		return RTN_BACKEND_FAIL_FINAL;
	}
	const char *why = strcmp(st, "55P03") == 0   ? " (lock-timeout: another session holds "
	                                               "the row or table)"
	                  : strcmp(st, "57014") == 0 ? " (statement-timeout)"
	                  : strcmp(st, "40001") == 0 ? " (serialization failure)"
	                  : strcmp(st, "40P01") == 0 ? " (deadlock)"
	                                             : "";
	snprintf(e, el, "table %s.%s: %s (SQLSTATE %s)%s; will retry", t->schema, t->name,
	         msg ? msg : "error", st, why);
	return RTN_BACKEND_FAIL_RETRY;
}

/* The result of a one-statement job from its row (matched, changed). */
static int counted(struct pg_worker *w, struct pj *j, const PGresult *r)
{
	const struct pg_table *t = &w->c->tables[j->t];
	long matched = PQntuples(r) ? atol(PQgetvalue(r, 0, 0)) : 0;
	long changed = PQntuples(r) ? atol(PQgetvalue(r, 0, 1)) : 0;
	if (matched > 1) {
		snprintf(j->it->err, sizeof(j->it->err),
		         "table %s.%s: the key matches %ld rows (has its unique index gone since "
		         "the start?); nothing was changed",
		         t->schema, t->name, matched);
		return RTN_BACKEND_FAIL_FINAL;
	}
	return matched == 1 && changed == 1 ? RTN_BST_DONE : RTN_BST_GONE;
}

static const char *stmt_name(char *buf, size_t len, char kind, size_t t)
{
	snprintf(buf, len, "r%c%zu", kind, t);
	return buf;
}

/* --- statements -------------------------------------------------------------------- */

static bool exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(conn, sql);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok && err) {
		snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(conn));
		pg_oneline(err);
	}
	PQclear(r);
	return ok;
}

/* A two-step anonymize: read the old values FOR UPDATE, write the new ones. Its result;
 * on a failure the caller rolls back to the job's savepoint. */
static int two_step(struct pg_worker *w, struct pj *j)
{
	const struct pg_table *t = &w->c->tables[j->t];
	char name[32];
	size_t K = t->nkeys;
	PGresult *r = PQexecPrepared(w->conn, stmt_name(name, sizeof(name), 'r', j->t),
	                             (int)(2 * K), j->vals, NULL, NULL, 0);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = failure(w, j, r);
		PQclear(r);
		return rc;
	}
	int rows = PQntuples(r);
	if (rows != 1) {
		PQclear(r);
		if (rows == 0)
			return RTN_BST_GONE;
		snprintf(j->it->err, sizeof(j->it->err),
		         "table %s.%s: the key matches more than one row (has its unique index "
		         "gone since the start?); nothing was changed",
		         t->schema, t->name);
		return RTN_BACKEND_FAIL_FINAL;
	}
	char(*made)[72] = rtn_xcalloc(t->nanon, sizeof(*made));
	int np = (int)(2 * K), rc = 0;
	for (size_t i = 0; i < t->nanon && !rc; i++) {
		const struct pg_col *c = &t->anon[i];
		if (c->method == PG_NULL)
			continue;
		if (c->method == PG_REPLACE) {
			j->vals[np++] = c->value;
			continue;
		}
		if (PQgetisnull(r, 0, (int)i)) {
			j->vals[np++] = NULL; /* NULL stays NULL */
			continue;
		}
		const char *old = PQgetvalue(r, 0, (int)i);
		int len = PQgetlength(r, 0, (int)i);
		if (c->method == PG_PSEUDO) {
			if (pg_pseudonym(w->c, old, (size_t)len, made[i]) < 0) {
				snprintf(j->it->err, sizeof(j->it->err),
				         "table %s.%s: cannot compute the HMAC of column %s",
				         t->schema, t->name, c->name);
				rc = RTN_BACKEND_FAIL_RETRY;
			}
		} else if (rtn_ip_truncate(old, c->v4, c->v6, made[i], sizeof(made[i])) < 0) {
			snprintf(
			    j->it->err, sizeof(j->it->err),
			    "table %s.%s: column %s holds text that is no IP address; nothing was "
			    "changed",
			    t->schema, t->name, c->name);
			rc = RTN_BACKEND_FAIL_FINAL;
		}
		j->vals[np++] = made[i];
	}
	PQclear(r);
	if (!rc) {
		r = PQexecPrepared(w->conn, stmt_name(name, sizeof(name), 'w', j->t), np, j->vals,
		                   NULL, NULL, 0);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = failure(w, j, r);
		else
			rc = atol(PQcmdTuples(r)) == 1 ? RTN_BST_DONE : RTN_BST_GONE;
		PQclear(r);
	}
	free(made);
	return rc;
}

/* One job in its own savepoint. Its result; -EIO if the connection was lost. */
static int in_savepoint(struct pg_worker *w, struct pj *j)
{
	if (!exec_ok(w->conn, "SAVEPOINT job", j->it->err, sizeof(j->it->err)))
		return lost(w->conn, NULL) ? -EIO : RTN_BACKEND_FAIL_RETRY;
	int rc;
	if (j->kind == 2) {
		rc = two_step(w, j);
	} else {
		char name[32];
		PGresult *r = PQexecPrepared(
		    w->conn, stmt_name(name, sizeof(name), j->kind ? 'a' : 'd', j->t), j->nvals,
		    j->vals, NULL, NULL, 0);
		rc =
		    r && PQresultStatus(r) == PGRES_TUPLES_OK ? counted(w, j, r) : failure(w, j, r);
		PQclear(r);
	}
	if (lost(w->conn, NULL))
		return -EIO;
	if (rc == RTN_BST_DONE || rc == RTN_BST_GONE) {
		if (!exec_ok(w->conn, "RELEASE SAVEPOINT job", j->it->err, sizeof(j->it->err)))
			return lost(w->conn, NULL) ? -EIO : RTN_BACKEND_FAIL_RETRY;
		return rc;
	}
	char e2[RTN_BACKEND_ERR_MAX];
	if (!exec_ok(w->conn, "ROLLBACK TO SAVEPOINT job", e2, sizeof(e2)) ||
	    !exec_ok(w->conn, "RELEASE SAVEPOINT job", e2, sizeof(e2)))
		return -EIO; /* the transaction cannot go on: treated as lost */
	return rc;
}

/* Send one pipeline: BEGIN and IMMEDIATE if begin, the one-statement jobs js[0..n), a sync; read
 * the results. The index of the first job that failed (its result set), n if none did, or -1 if the
 * connection was lost (before BEGIN took effect: *early). */
static long pipeline(struct pg_worker *w, struct pj **js, size_t n, bool begin, bool *early)
{
	PGconn *conn = w->conn;
	*early = false;
	if (!PQenterPipelineMode(conn))
		return -1;
	bool sent = !begin || (PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
	                       PQsendQueryParams(conn, IMMEDIATE, 0, NULL, NULL, NULL, NULL, 0));
	for (size_t i = 0; i < n && sent; i++) {
		char name[32];
		sent = PQsendQueryPrepared(
		    conn, stmt_name(name, sizeof(name), js[i]->kind ? 'a' : 'd', js[i]->t),
		    js[i]->nvals, js[i]->vals, NULL, NULL, 0);
	}
	if (!sent || !PQpipelineSync(conn)) {
		*early = begin;
		return -1;
	}
	long failed = (long)n, qn = begin ? -2 : 0; /* query of the results being read */
	bool synced = false, any = false;
	while (!synced) {
		PGresult *r = PQgetResult(conn);
		if (!r) {
			if (!any && PQstatus(conn) != CONNECTION_OK)
				break;
			any = false;
			qn++;
			if (qn > (long)n + 1)
				break;
			continue;
		}
		any = true;
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			synced = true;
		} else if (qn < 0) {
			if (st != PGRES_COMMAND_OK) {
				*early = lost(conn, PQresultErrorField(r, PG_DIAG_SQLSTATE));
				failed = *early ? -1 : 0;
				if (!*early && n)
					js[0]->it->rc = failure(w, js[0], r);
			}
		} else if (qn < (long)n && st == PGRES_TUPLES_OK) {
			js[qn]->rc = counted(w, js[qn], r);
		} else if (qn < (long)n && st != PGRES_PIPELINE_ABORTED && failed == (long)n) {
			failed = qn;
			js[qn]->it->rc = failure(w, js[qn], r);
			if (lost(conn, PQresultErrorField(r, PG_DIAG_SQLSTATE)))
				failed = -1;
		}
		PQclear(r);
	}
	if (!synced || PQstatus(conn) != CONNECTION_OK || !PQexitPipelineMode(conn))
		return -1;
	return failed;
}

/* --- the batch --------------------------------------------------------------------- */

static void settle(struct pj *j, int rc)
{
	j->state = 2;
	j->it->rc = rc;
}

/* Everything not final fails with retry: true and msg. */
static void fail_rest(struct pj *js, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		if (js[i].state == 2)
			continue;
		snprintf(js[i].it->err, sizeof(js[i].it->err), "%s", msg);
		settle(&js[i], RTN_BACKEND_FAIL_RETRY);
	}
}

/* Decode a job: its table, its kind, its values. 0, or its final result. */
static int decode(struct pg_worker *w, struct pj *j)
{
	const struct rtn_bjob *job = j->it->job;
	const struct pg_table *t = pg_table_of(w->c, job->category, &j->t);
	char *e = j->it->err;
	size_t el = sizeof(j->it->err);
	if (!t) {
		snprintf(e, el, "no table is configured for category \"%s\"", job->category);
		return RTN_BACKEND_FAIL_FINAL;
	}
	if (job->act == RTN_BACT_ANONYMIZE && !t->nanon) {
		snprintf(e, el,
		         "table %s.%s has no columns to anonymise (anonymize, pseudonymize, "
		         "replace, truncate-ip)",
		         t->schema, t->name);
		return RTN_BACKEND_FAIL_FINAL;
	}
	size_t K = t->nkeys;
	j->vals = rtn_xcalloc(2 * K + t->nanon + 1, sizeof(char *));
	if (pg_locator_key(t, job->locator, j->vals, j->buf, sizeof(j->buf), e, el) < 0)
		return RTN_BACKEND_FAIL_FINAL;
	for (size_t i = 0; i < K; i++)
		j->vals[K + i] = j->vals[i];
	j->nvals = (int)(2 * K);
	j->kind = job->act == RTN_BACT_DELETE ? 0 : t->two_step ? 2 : 1;
	if (j->kind == 1)
		for (size_t i = 0; i < t->nanon; i++)
			if (t->anon[i].method == PG_REPLACE)
				j->vals[j->nvals++] = t->anon[i].value;
	return 0;
}

static void vacuum(struct pg_worker *w)
{
	const struct pg_conf *c = w->c;
	for (size_t i = 0; i < c->ntables; i++) {
		if (!w->touched[i])
			continue;
		w->touched[i] = false;
		const struct pg_tcat *tc = &w->cat.t[i];
		for (size_t a = 0; a <= tc->nalso; a++) {
			const char *qn = a < tc->nalso ? tc->also_qnames[a] : tc->qname;
			char *sql = rtn_xasprintf("VACUUM %s", qn), err[RTN_BACKEND_ERR_MAX];
			int64_t t0 = now_ms();
			if (!exec_ok(w->conn, sql, err, sizeof(err)))
				rtn_warn("worker %u: %s", w->id, err);
			else
				rtn_debug("worker %u: %s took %lld ms", w->id, sql,
				          (long long)(now_ms() - t0));
			free(sql);
		}
	}
}

/* COMMIT the open transaction: what it did becomes final, or fails with retry. */
static bool commit(struct pg_worker *w, struct pj *js, size_t n)
{
	PGresult *r = PQexec(w->conn, "COMMIT");
	bool ok =
	    r && PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
	char msg[RTN_BACKEND_ERR_MAX];
	if (!ok) {
		snprintf(msg, sizeof(msg), "the transaction did not commit: %s",
		         r && PQresultStatus(r) == PGRES_COMMAND_OK ? "it was rolled back"
		                                                    : PQerrorMessage(w->conn));
		pg_oneline(msg);
	}
	PQclear(r);
	for (size_t i = 0; i < n; i++) {
		if (js[i].state != 1)
			continue;
		if (ok) {
			if (js[i].rc == RTN_BST_DONE)
				w->touched[js[i].t] = true;
			settle(&js[i], js[i].rc);
		} else {
			snprintf(js[i].it->err, sizeof(js[i].it->err), "%s", msg);
			settle(&js[i], RTN_BACKEND_FAIL_RETRY);
		}
	}
	return ok;
}

/* Undo the open transaction: what it did is to do again. */
static void rollback(struct pg_worker *w, struct pj *js, size_t n)
{
	exec_ok(w->conn, "ROLLBACK", NULL, 0);
	for (size_t i = 0; i < n; i++)
		if (js[i].state == 1)
			js[i].state = 0;
}

void pg_handle_batch(void *wctx, struct rtn_backend_item *items, size_t n)
{
	struct pg_worker *w = wctx;
	const int64_t half_us = w->c->tx_limit_ms * 500;
	struct pj *js = rtn_xcalloc(n, sizeof(*js));
	struct pj **one = rtn_xcalloc(n, sizeof(*one));
	char err[RTN_BACKEND_ERR_MAX];
	size_t todo = 0;
	for (size_t i = 0; i < n; i++) {
		js[i].it = &items[i];
		int rc = decode(w, &js[i]);
		if (rc)
			settle(&js[i], rc);
		else
			todo++;
	}
	bool retried = false, careful = false;
	while (todo) {
		if (!ensure_conn(w, err, sizeof(err))) {
			fail_rest(js, n, err);
			break;
		}
		int64_t t0 = now_us();
		size_t intx = 0;
		bool begun = false, gone = false;
		/* 1. the one-statement jobs, pipelined, while no job has failed */
		size_t none = 0;
		for (size_t i = 0; i < n && !careful; i++)
			if (js[i].state == 0 && js[i].kind != 2)
				one[none++] = &js[i];
		for (size_t at = 0; at < none && !careful;) {
			int64_t left = half_us - (now_us() - t0);
			if (begun && left <= 0)
				break;
			size_t chunk = left > 0 ? (size_t)((double)left / w->us_per_job) : 1;
			if (chunk < 1)
				chunk = 1;
			if (chunk > none - at)
				chunk = none - at;
			bool early;
			int64_t c0 = now_us();
			long f = pipeline(w, one + at, chunk, !begun, &early);
			if (f < 0) {
				if (early && !retried) { /* a connection that died while idle */
					retried = true;
					drop_conn(w);
					w->fails = 0;
					gone = true;
					break;
				}
				drop_conn(w);
				fail_rest(js, n,
				          "the connection to the server was lost; will retry");
				todo = 0;
				gone = true;
				break;
			}
			begun = true;
			if ((size_t)f < chunk) { /* one failed: it alone; the rest one by one */
				settle(one[at + (size_t)f], one[at + (size_t)f]->it->rc);
				todo--;
				rollback(w, js, n);
				intx = 0;
				begun = false;
				careful = true;
				break;
			}
			double pace = (double)(now_us() - c0) / (double)chunk;
			w->us_per_job = 0.7 * w->us_per_job + 0.3 * pace;
			for (size_t i = at; i < at + chunk; i++)
				one[i]->state = 1;
			intx += chunk;
			at += chunk;
		}
		if (gone)
			continue;
		if (!todo)
			break;
		/* 2., 3. the rest, one by one in savepoints */
		for (size_t i = 0; i < n; i++) {
			struct pj *j = &js[i];
			if (j->state != 0 || (!careful && j->kind != 2))
				continue;
			if (intx && now_us() - t0 >= half_us)
				break;
			if (!begun) {
				t0 = now_us();
				if (!exec_ok(w->conn, "BEGIN", err, sizeof(err)) ||
				    !exec_ok(w->conn, IMMEDIATE, err, sizeof(err))) {
					drop_conn(w);
					fail_rest(js, n, err);
					todo = 0;
					break;
				}
				begun = true;
			}
			int rc = in_savepoint(w, j);
			if (rc == -EIO) {
				snprintf(err, sizeof(err), "%s",
				         j->it->err[0] ? j->it->err
				                       : "the connection to the server was lost");
				drop_conn(w);
				fail_rest(js, n, err);
				todo = 0;
				begun = false;
				break;
			}
			if (rc == RTN_BST_DONE || rc == RTN_BST_GONE) {
				j->state = 1;
				j->rc = rc;
				intx++;
			} else {
				settle(j, rc);
				todo--;
			}
		}
		if (begun) {
			if (!commit(w, js, n) && PQstatus(w->conn) != CONNECTION_OK)
				drop_conn(w);
			todo -= intx;
		}
		if (w->c->vacuum && w->conn)
			vacuum(w);
		break; /* what is left goes back to the queue */
	}
	for (size_t i = 0; i < n; i++)
		free(js[i].vals);
	free(js);
	free(one);
}
