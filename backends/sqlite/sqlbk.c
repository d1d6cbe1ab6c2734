/* sqlbk.c - retention-sqlite: categories mapped to tables, rows deleted or anonymised
 *
 * SQL is built only at start, only from table and column names of the config, each one
 * validated as a plain identifier and double-quoted:
 *   DELETE FROM "t" WHERE MATCH
 *   UPDATE "t" SET "a" = NULL, "b" = NULL WHERE MATCH
 *   UPDATE "t" SET "a" = NULL, "ip" = retention_truncate_ip("ip", 3, 48, 'ip') WHERE MATCH
 * where MATCH is  "key" = ?1 AND (typeof("key") = 'text' OR CAST("key" AS TEXT) = ?1).
 * A record's locator.key is only ever bound to ?1 (as text or as an integer). The first
 * half finds the row by the key's index; the second makes the match exact: compared with
 * a column of INTEGER, NUMERIC or REAL affinity, SQLite turns "01", " 2", "3.0" and "2 "
 * into the numbers 1, 2, 3 and 2, so a key that is not text must also read as ?1 itself
 * (118 matches "118" and 118, never "0118").
 *
 * retention_truncate_ip() is a function of each connection (rtn_ip_truncate: inet_pton,
 * the bits cleared, inet_ntop). A value that is not an address makes it fail, which
 * fails the UPDATE: the transaction is rolled back, nothing is written, and the job
 * fails for good (the worker's "bad" names the column, never the value).
 *
 * What a deletion leaves behind: every connection sets secure_delete on (and reads it
 * back: a library that will not keep it on stops the backend at start), so SQLite
 * overwrites the deleted or replaced cells and freed pages with zeros instead of leaving
 * them in free space, whatever its compile-time default. journal_size_limit 0 cuts a
 * persistent rollback journal, and a WAL this process restarts, to nothing after use.
 * In WAL mode the database file keeps the pages as they were before a deletion until a
 * checkpoint copies the new ones in, and the WAL keeps old frames until they are
 * overwritten: after SQ_CKPT_ROWS changed rows, after a quiet second (the backend
 * library's idle call) and at stop, a TRUNCATE checkpoint copies the WAL into the file
 * and empties it. The database's journal mode is the application's and is left alone.
 */
#include "sqlbk.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ipaddr.h"
#include "util.h"
#include "values.h"

/* The write transactions of this process's workers, one at a time (see execute). */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
/* Rows changed since the last complete checkpoint (under turn_lock). */
static unsigned long unckpt;

bool sq_valid_ident(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > SQ_IDENT_MAX || strncasecmp(s, "sqlite_", 7) == 0)
		return false;
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '_')
			return false;
	return true;
}

void sq_conf_fini(struct sq_conf *c)
{
	free(c->database);
	for (size_t i = 0; i < c->ntables; i++) {
		struct sq_table *t = &c->tables[i];
		free(t->name);
		free(t->key);
		for (size_t j = 0; j < t->ncats; j++)
			free(t->cats[j]);
		free(t->cats);
		for (size_t j = 0; j < t->nanon; j++)
			free(t->anon[j]);
		free(t->anon);
		for (size_t j = 0; j < t->ntrunc; j++)
			free(t->trunc[j].col);
		free(t->trunc);
		free(t->del_sql);
		free(t->anon_sql);
		sq_scan_table_fini(t);
	}
	free(c->tables);
	memset(c, 0, sizeof(*c));
}

static int ident(const char *file, const struct rtn_arg *a, const char *what, struct rtn_diags *d)
{
	if (sq_valid_ident(a->text))
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
	             "invalid %s \"%s\"; expected an SQL identifier of at most %d letters, digits "
	             "and '_' that does not start with a digit or \"sqlite_\"",
	             what, a->text, SQ_IDENT_MAX);
	return -EINVAL;
}

static const struct sq_table *table_of(const struct sq_conf *c, const char *cat, size_t *idx)
{
	for (size_t i = 0; i < c->ntables; i++)
		for (size_t j = 0; j < c->tables[i].ncats; j++)
			if (strcmp(c->tables[i].cats[j], cat) == 0) {
				if (idx)
					*idx = i;
				return &c->tables[i];
			}
	return NULL;
}

static bool has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool has_trunc(const struct sq_table *t, const char *s)
{
	for (size_t i = 0; i < t->ntrunc; i++)
		if (strcmp(t->trunc[i].col, s) == 0)
			return true;
	return false;
}

/* "truncate-ip COLUMN [ipv4 OCTETS] [ipv6 BITS]" into t. 0 or -EINVAL. */
static int trunc_stmt(const char *file, const struct rtn_stmt *s, struct sq_table *t,
                      struct rtn_diags *d)
{
	struct sq_trunc tr = {0};
	if (rtn_val_nargs(file, s, 1, 5, d) < 0 || ident(file, &s->args[0], "column", d) < 0)
		return -EINVAL;
	const char *col = s->args[0].text;
	if (has(t->anon, t->nanon, col) || has_trunc(t, col)) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		             "column %s is listed twice", col);
		return -EINVAL;
	}
	if (rtn_ip_trunc_args(file, s, &tr.v4_octets, &tr.v6_bits, d) < 0)
		return -EINVAL;
	tr.col = rtn_xstrdup(col);
	t->trunc = rtn_xreallocarray(t->trunc, t->ntrunc + 1, sizeof(*t->trunc));
	t->trunc[t->ntrunc++] = tr;
	return 0;
}

/* The table a category already maps to, or NULL. */
static const char *owner(void *c, const char *cat)
{
	const struct sq_table *t = table_of(c, cat, NULL);
	return t ? t->name : NULL;
}

/* The statements of one "table" block into t. 0 or -EINVAL. */
static int table_body(const char *file, const struct rtn_stmt *blk, struct sq_conf *c,
                      struct sq_table *t, struct rtn_diags *d)
{
	int bad = 0;
	for (size_t i = 0; i < blk->nchildren; i++) {
		const struct rtn_stmt *s = &blk->children[i];
		const char *k = s->keyword;
		if (rtn_val_noblock(file, s, d) < 0 || rtn_val_nargs(file, s, 1, 0, d) < 0) {
			bad = 1;
		} else if (strcmp(k, "category") == 0) {
			bad |= rtn_backend_categories(file, s, t->name, &t->cats, &t->ncats, owner,
			                              c, d) < 0;
		} else if (strcmp(k, "key") == 0) {
			if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
			    ident(file, &s->args[0], "key column", d) < 0) {
				bad = 1;
			} else if (t->key) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"key\" is given twice in table %s", t->name);
				bad = 1;
			} else {
				t->key = rtn_xstrdup(s->args[0].text);
			}
		} else if (strcmp(k, "anonymize") == 0) {
			for (size_t j = 0; j < s->nargs; j++) {
				const struct rtn_arg *a = &s->args[j];
				if (ident(file, a, "column", d) < 0) {
					bad = 1;
				} else if (has(t->anon, t->nanon, a->text) ||
				           has_trunc(t, a->text)) {
					rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
					             "column %s is listed twice", a->text);
					bad = 1;
				} else {
					t->anon = rtn_xreallocarray(t->anon, t->nanon + 1,
					                            sizeof(char *));
					t->anon[t->nanon++] = rtn_xstrdup(a->text);
				}
			}
		} else if (strcmp(k, "truncate-ip") == 0) {
			bad |= trunc_stmt(file, s, t, d) < 0;
		} else {
			int r = sq_scan_config(file, s, t, d);
			if (r == -ENOENT)
				rtn_diag_add(
				    d, RTN_SEV_ERROR, file, s->line, s->col,
				    "unknown statement \"%s\" in table %s; expected "
				    "category, key, anonymize, truncate-ip, scan, subject, "
				    "event or attribute",
				    k, t->name);
			bad |= r < 0;
		}
	}
	if (!bad && !t->ncats) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "table %s needs \"category NAME...\"", t->name);
		bad = 1;
	}
	if (!bad && !t->key) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "table %s needs \"key COLUMN\"", t->name);
		bad = 1;
	}
	if (!bad && (has(t->anon, t->nanon, t->key) || has_trunc(t, t->key))) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "table %s: the key column %s cannot be anonymised", t->name, t->key);
		bad = 1;
	}
	if (!bad && sq_scan_configured(file, t, d) < 0)
		bad = 1;
	return bad ? -EINVAL : 0;
}

static void build_sql(struct sq_table *t)
{
	char *match = rtn_xasprintf("\"%s\" = ?1 AND (typeof(\"%s\") = 'text' OR "
	                            "CAST(\"%s\" AS TEXT) = ?1)",
	                            t->key, t->key, t->key);
	t->del_sql = rtn_xasprintf("DELETE FROM \"%s\" WHERE %s", t->name, match);
	if (!t->nanon && !t->ntrunc) {
		free(match);
		return;
	}
	char *set = rtn_xstrdup("");
	for (size_t i = 0; i < t->nanon; i++) {
		char *n = rtn_xasprintf("%s%s\"%s\" = NULL", set, i ? ", " : "", t->anon[i]);
		free(set);
		set = n;
	}
	for (size_t i = 0; i < t->ntrunc; i++) {
		const struct sq_trunc *tr = &t->trunc[i];
		char *n = rtn_xasprintf("%s%s\"%s\" = retention_truncate_ip(\"%s\", %d, %d, '%s')",
		                        set, *set ? ", " : "", tr->col, tr->col, tr->v4_octets,
		                        tr->v6_bits, tr->col);
		free(set);
		set = n;
	}
	t->anon_sql = rtn_xasprintf("UPDATE \"%s\" SET %s WHERE %s", t->name, set, match);
	free(set);
	free(match);
}

int sq_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	struct sq_conf *c = ctx;
	if (strcmp(s->keyword, "database") == 0) {
		if (rtn_val_noblock(file, s, d) < 0 || rtn_val_nargs(file, s, 1, 1, d) < 0)
			return -EINVAL;
		if (c->database) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "\"database\" is given twice; first at %d:%d", c->db_line,
			             c->db_col);
			return -EINVAL;
		}
		c->database = rtn_backend_path(file, s->args[0].text);
		c->db_line = s->args[0].line;
		c->db_col = s->args[0].col;
		return 0;
	}
	if (strcmp(s->keyword, "busy-timeout") == 0) {
		if (rtn_val_noblock(file, s, d) < 0 ||
		    rtn_val_duration(file, s, s->args, s->nargs, &c->busy_ms, d) < 0)
			return -EINVAL;
		if (c->busy_ms > 3600000) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "\"busy-timeout\" is at most 1 hour");
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(s->keyword, "table") != 0)
		return -ENOENT;
	if (!s->block) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"table\" needs a block: table NAME { category C; key COLUMN }");
		return -EINVAL;
	}
	if (rtn_val_nargs(file, s, 1, 1, d) < 0 || ident(file, &s->args[0], "table name", d) < 0)
		return -EINVAL;
	for (size_t i = 0; i < c->ntables; i++) {
		if (strcmp(c->tables[i].name, s->args[0].text) == 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "table %s is given twice; first at %d:%d", s->args[0].text,
			             c->tables[i].line, c->tables[i].col);
			return -EINVAL;
		}
	}
	struct sq_table t = {.name = rtn_xstrdup(s->args[0].text), .line = s->line, .col = s->col};
	RTN_GROW(c->tables, c->ntables + 1, c->cap);
	c->tables[c->ntables++] = t; /* kept even when bad, so that sq_conf_fini frees it */
	if (table_body(file, s, c, &c->tables[c->ntables - 1], d) < 0)
		return -EINVAL;
	build_sql(&c->tables[c->ntables - 1]);
	return 0;
}

/* retention_truncate_ip(value, octets, bits, column): NULL stays NULL; text that is an
 * address is truncated; anything else is an error, noted in the worker (user data, if
 * any) so that the job fails for good. The value never appears in a message. */
static void truncate_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	struct sq_worker *w = sqlite3_user_data(cx);
	const char *col = (const char *)sqlite3_value_text(argv[3]);
	char out[INET6_ADDRSTRLEN], in[INET6_ADDRSTRLEN + 1];
	const char *what = NULL;
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(cx);
		return;
	}
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
		what = sqlite3_value_type(argv[0]) == SQLITE_BLOB ? "a blob" : "a number";
	} else {
		const unsigned char *v = sqlite3_value_text(argv[0]);
		int n = sqlite3_value_bytes(argv[0]);
		if (!v || n <= 0 || (size_t)n >= sizeof(in) || memchr(v, '\0', (size_t)n)) {
			what = "text that is no IP address";
		} else {
			memcpy(in, v, (size_t)n);
			in[n] = '\0';
			if (rtn_ip_truncate(in, sqlite3_value_int(argv[1]),
			                    sqlite3_value_int(argv[2]), out, sizeof(out)) == 0) {
				sqlite3_result_text(cx, out, -1, SQLITE_TRANSIENT);
				return;
			}
			what = "text that is no IP address";
		}
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "column %s holds %s; nothing was changed", col ? col : "?",
	         what);
	if (w)
		snprintf(w->bad, sizeof(w->bad), "%s", msg);
	sqlite3_result_error(cx, msg, -1);
}

/* Open the database with double-quoted strings off: a quoted name that is no column must
 * be an error, never the string literal SQLite would otherwise take it for. The
 * truncation function is registered with w (NULL for the check at start). */
int sq_open_db(const char *path, int flags, int64_t busy_ms, struct sq_worker *w, sqlite3 **db)
{
	int rc = sqlite3_open_v2(path, db, flags, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_db_config(*db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_busy_timeout(*db, (int)busy_ms);
	return sqlite3_create_function_v2(*db, "retention_truncate_ip", 4,
	                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, w,
	                                  truncate_fn, NULL, NULL, NULL);
}

/* Prepare t's statements on db; a problem is reported at the table. 0, -EAGAIN if the
 * database was busy, or -EINVAL. */
static int check_table(const char *file, sqlite3 *db, const struct sq_table *t, struct rtn_diags *d)
{
	const char *sql[] = {t->del_sql, t->anon_sql};
	for (int i = 0; i < 2 && sql[i]; i++) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(db, sql[i], -1, &st, NULL);
		sqlite3_finalize(st);
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			return -EAGAIN;
		if (rc != SQLITE_OK) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, t->line, t->col, "table %s: %s",
			             t->name, sqlite3_errmsg(db));
			return -EINVAL;
		}
	}
	/* NULL cannot go into a NOT NULL column: say so now, not at the first anonymize. */
	sqlite3_stmt *st;
	int bad = 0;
	if (sqlite3_prepare_v2(db, "SELECT \"notnull\" FROM pragma_table_info(?1) WHERE name = ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	for (size_t i = 0; i < t->nanon; i++) {
		sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t->anon[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0)) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, t->line, t->col,
			             "table %s: column %s is NOT NULL, so it cannot be anonymised "
			             "to NULL",
			             t->name, t->anon[i]);
			bad = 1;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (bad)
		return -EINVAL;
	return sq_scan_check(file, db, t, d);
}

int sq_configured(void *ctx, const char *file, struct rtn_backend_opts *o, struct rtn_diags *d)
{
	struct sq_conf *c = ctx;
	if (!c->database || !c->ntables) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, 0, 0, "no %s; retention-sqlite needs %s",
		             c->database ? "\"table\" block" : "\"database PATH\"",
		             "\"database PATH\" and at least one \"table NAME { ... }\"");
		return -EINVAL;
	}
	o->actions = RTN_BACT_DELETE;
	for (size_t i = 0; i < c->ntables; i++)
		if (c->tables[i].nanon || c->tables[i].ntrunc)
			o->actions |= RTN_BACT_ANONYMIZE;
	sqlite3 *db;
	int rc = sq_open_db(c->database, SQLITE_OPEN_READONLY, c->busy_ms, NULL, &db);
	if (rc != SQLITE_OK) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, c->db_line, c->db_col,
		             "cannot open database %s: %s", c->database,
		             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -EINVAL;
	}
	/* Each job writes the file, and SQLite its journal beside it: said at once, not only
	 * by the first job that fails (retention-sqlite(8), PERMISSIONS). */
	char *dir = rtn_xstrdup(c->database), *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';
	const char *where[2] = {c->database, slash ? dir : "."};
	for (int i = 0; i < 2; i++)
		if (faccessat(AT_FDCWD, where[i], W_OK | (i ? X_OK : 0), AT_EACCESS) < 0)
			rtn_diag_add(
			    d, RTN_SEV_WARNING, file, c->db_line, c->db_col,
			    "uid %u may not write %s%s (%s): every job will fail until it may",
			    (unsigned)geteuid(), i ? "the directory of " : "", c->database,
			    strerror(errno));
	free(dir);
	bool scanned = false;
	for (size_t i = 0; i < c->ntables; i++)
		scanned |= c->tables[i].scan_cat != NULL;
	if (c->def && !scanned)
		c->def->scan = NULL; /* the hello says "scan":false */
	int bad = 0;
	for (size_t i = 0; i < c->ntables; i++) {
		int r = check_table(file, db, &c->tables[i], d);
		if (r == -EAGAIN) {
			rtn_diag_add(d, RTN_SEV_WARNING, file, c->db_line, c->db_col,
			             "database %s is busy; its tables were not checked",
			             c->database);
			break;
		}
		bad |= r < 0;
	}
	sqlite3_close(db);
	return bad ? -EINVAL : 0;
}

/* The integer a pragma statement returns, or -1. */
static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* secure_delete on and journal_size_limit 0 on a worker's connection, each read back.
 * 0, or -1 with err. */
static int no_residue(sqlite3 *db, char *err, size_t errlen)
{
	pragma_int(db, "PRAGMA secure_delete = ON");
	int on = pragma_int(db, "PRAGMA secure_delete");
	if (on != 1) {
		snprintf(err, errlen,
		         "SQLite %s does not keep secure_delete on (it reads %d): deleted rows "
		         "would stay readable in the database's free space; not serving",
		         sqlite3_libversion(), on);
		return -1;
	}
	pragma_int(db, "PRAGMA journal_size_limit = 0");
	int lim = pragma_int(db, "PRAGMA journal_size_limit");
	if (lim != 0) {
		snprintf(err, errlen, "SQLite %s does not take journal_size_limit 0 (it reads %d)",
		         sqlite3_libversion(), lim);
		return -1;
	}
	return 0;
}

/* In WAL mode, copy the WAL into the database file and empty it (TRUNCATE); a no-op in
 * the other journal modes. Under turn_lock. A checkpoint that cannot finish (another
 * connection reads an older snapshot past busy-timeout) is tried again later. */
static void checkpoint(struct sq_worker *w)
{
	int nlog = -1, ncopied = -1;
	int rc =
	    sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &ncopied);
	if (rc == SQLITE_OK) {
		if (nlog >= 0)
			rtn_debug("checkpoint after %lu changed rows: the WAL is empty", unckpt);
		unckpt = 0;
		return;
	}
	rtn_warn("checkpoint of %s: %s; the WAL keeps pages of deleted rows until the next one",
	         w->c->database, sqlite3_errmsg(w->db));
}

void sq_idle(void *wctx)
{
	struct sq_worker *w = wctx;
	pthread_mutex_lock(&turn_lock);
	if (unckpt && w->db) /* no connection: another worker checkpoints */
		checkpoint(w);
	pthread_mutex_unlock(&turn_lock);
}

/* Close w's connection and its statements (w->db NULL after). */
static void worker_disconnect(struct sq_worker *w)
{
	for (size_t i = 0; i < w->c->ntables; i++) {
		sqlite3_finalize(w->del[i]);
		sqlite3_finalize(w->anon[i]);
		w->del[i] = w->anon[i] = NULL;
	}
	sqlite3_finalize(w->begin);
	sqlite3_finalize(w->commit);
	w->begin = w->commit = NULL;
	sqlite3_close(w->db);
	w->db = NULL;
}

/* Open w's connection read-write and prepare its statements. 0, or -1 with err (and
 * w->db NULL). */
static int worker_connect(struct sq_worker *w, char *err, size_t errlen)
{
	const struct sq_conf *c = w->c;
	int rc = sq_open_db(c->database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, c->busy_ms, w,
	                    &w->db);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", c->database,
		         w->db ? sqlite3_errmsg(w->db) : sqlite3_errstr(rc));
		worker_disconnect(w);
		return -1;
	}
	sqlite3_extended_result_codes(w->db, 1);
	if (no_residue(w->db, err, errlen) < 0) {
		worker_disconnect(w);
		return -1;
	}
	if (sqlite3_prepare_v3(w->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &w->begin,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(w->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &w->commit, NULL) !=
	        SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(w->db));
		worker_disconnect(w);
		return -1;
	}
	for (size_t t = 0; t < c->ntables; t++) {
		const struct sq_table *tb = &c->tables[t];
		if (sqlite3_prepare_v3(w->db, tb->del_sql, -1, SQLITE_PREPARE_PERSISTENT,
		                       &w->del[t], NULL) != SQLITE_OK ||
		    (tb->anon_sql &&
		     sqlite3_prepare_v3(w->db, tb->anon_sql, -1, SQLITE_PREPARE_PERSISTENT,
		                        &w->anon[t], NULL) != SQLITE_OK)) {
			snprintf(err, errlen, "table %s: %s", tb->name, sqlite3_errmsg(w->db));
			worker_disconnect(w);
			return -1;
		}
	}
	return 0;
}

void sq_worker_fini(void *wctx)
{
	struct sq_worker *w = wctx;
	if (!w)
		return;
	if (w->db && unckpt)
		sq_idle(w);
	worker_disconnect(w);
	free(w->del);
	free(w->anon);
	free(w);
}

void *sq_worker_init(void *ctx, unsigned i, char *err, size_t errlen)
{
	const struct sq_conf *c = ctx;
	(void)i;
	struct sq_worker *w = rtn_xcalloc(1, sizeof(*w));
	w->c = c;
	w->del = rtn_xcalloc(c->ntables, sizeof(*w->del));
	w->anon = rtn_xcalloc(c->ntables, sizeof(*w->anon));
	if (worker_connect(w, err, errlen) < 0) {
		sq_worker_fini(w);
		return NULL;
	}
	return w;
}

/* Step a statement that returns no rows, then reset it. Its result code. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

int sq_handle(void *wctx, const struct rtn_bjob *job, char *err, size_t errlen)
{
	struct sq_worker *w = wctx;
	/* A connection closed after the database refused to be written: open it again, so
	 * that a permission given since takes effect without a restart. */
	if (!w->db && worker_connect(w, err, errlen) < 0)
		return RTN_BACKEND_FAIL_RETRY;
	size_t i;
	const struct sq_table *t = table_of(w->c, job->category, &i);
	if (!t) {
		snprintf(err, errlen, "no table is configured for category \"%s\"", job->category);
		return RTN_BACKEND_FAIL_FINAL;
	}
	sqlite3_stmt *st = job->act == RTN_BACT_ANONYMIZE ? w->anon[i] : w->del[i];
	if (!st) {
		snprintf(err, errlen, "table %s has no \"anonymize\" or \"truncate-ip\" columns",
		         t->name);
		return RTN_BACKEND_FAIL_FINAL;
	}
	json_t *key = json_object_get(job->locator, "key");
	if (json_is_string(key))
		sqlite3_bind_text(st, 1, json_string_value(key), (int)json_string_length(key),
		                  SQLITE_STATIC);
	else if (json_is_integer(key))
		sqlite3_bind_int64(st, 1, (sqlite3_int64)json_integer_value(key));
	else {
		snprintf(err, errlen,
		         "the record's locator must be an object with a \"key\" that "
		         "is a string or an integer");
		return RTN_BACKEND_FAIL_FINAL;
	}
	/* An autocommit statement that reads first and then wants the write lock gets
	 * SQLITE_BUSY at once when another writer is ahead (deadlock avoidance); BEGIN
	 * IMMEDIATE takes the write lock first, so busy-timeout applies. The workers of this
	 * process take turns (turn_lock), so busy-timeout is only ever spent waiting for
	 * another process: on a slow disk four workers would otherwise wait on each other's
	 * commits past it and fail jobs that nothing else held up. */
	pthread_mutex_lock(&turn_lock);
	w->bad[0] = '\0';
	int rows = 0, rc = run(w->begin);
	if (rc == SQLITE_DONE) {
		rc = run(st);
		rows = sqlite3_changes(w->db);
		if (rc == SQLITE_DONE)
			rc = run(w->commit);
	}
	if (rc == SQLITE_DONE && rows) {
		unckpt += (unsigned long)rows;
		if (unckpt >= SQ_CKPT_ROWS)
			checkpoint(w);
	}
	if (rc != SQLITE_DONE && w->bad[0])
		snprintf(err, errlen, "table %s: %s", t->name, w->bad);
	else if (rc != SQLITE_DONE)
		snprintf(err, errlen, "table %s: %s%s", t->name, sqlite3_errmsg(w->db),
		         (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
		             ? " (another connection holds the database; will retry)"
		             : "");
	sqlite3_clear_bindings(st);
	if (!sqlite3_get_autocommit(w->db))
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	/* SQLite opens a file it may not write read-only and keeps it so: the next job
	 * opens it anew. */
	if ((rc & 0xff) == SQLITE_READONLY)
		worker_disconnect(w);
	pthread_mutex_unlock(&turn_lock);
	if (rc != SQLITE_DONE)
		return w->bad[0] ? RTN_BACKEND_FAIL_FINAL : RTN_BACKEND_FAIL_RETRY;
	return rows ? RTN_BST_DONE : RTN_BST_GONE;
}
