/* sqlbk.h - retention-sqlite: categories mapped to tables, rows deleted or anonymised
 * with prepared statements whose only values are bound parameters, and listed by scans
 * (sqlscan.c) */
#ifndef SQLBK_H
#define SQLBK_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define SQ_IDENT_MAX 64   /* bytes of a table or column name */
#define SQ_CKPT_ROWS 100  /* rows changed between WAL checkpoints in a stream of jobs */
#define SQ_SCAN_PAGE 1000 /* rows a scan reads in one read transaction */
#define SQ_FUTURE    300  /* seconds past now from which a scanned event is in the future */

/* A column whose IP address "anonymize" truncates ("truncate-ip COLUMN ..."). */
struct sq_trunc {
	char *col;
	int v4_octets; /* octets of an IPv4 address kept, 0-4 (default 3) */
	int v6_bits;   /* prefix bits of an IPv6 address kept, 0-128 (default 48) */
};

/* A column a scan reads: "event NAME = COLUMN", "attribute NAME = COLUMN" or
 * "subject = COLUMN" (name NULL). */
struct sq_map {
	char *name, *col;
	int line, col_no;    /* where the column is named */
	int at_line, at_col; /* where the statement names what it maps (or starts) */
};

struct sq_table {
	char *name; /* an identifier (sq_valid_ident) */
	char *key;  /* the key column */
	char **cats;
	size_t ncats;
	char **anon; /* columns set to NULL by anonymize */
	size_t nanon;
	struct sq_trunc *trunc; /* columns truncated by anonymize */
	size_t ntrunc;
	char *del_sql, *anon_sql; /* anon_sql NULL without anonymize or truncate-ip columns */
	int line, col;
	/* The scan: "scan category NAME" (NULL: the table is not scanned) and its columns. */
	char *scan_cat;
	int scan_line, scan_col;
	struct sq_map subject; /* subject.col NULL: the records have no subject */
	struct sq_map *events, *attrs;
	size_t nevents, nattrs;
	int map_line, map_col; /* the first subject, event or attribute statement */
	char *scan_first_sql, *scan_next_sql, *scan_null_sql; /* NULL when not scanned */
};

struct sq_conf {
	struct rtn_backend_def *def; /* configured() clears def->scan if no table is scanned */
	char *database;              /* absolute */
	int db_line, db_col;
	int64_t busy_ms; /* "busy-timeout", default 5 seconds */
	struct sq_table *tables;
	size_t ntables, cap;
};

/* One worker's connection and statements (index i of each array is table i). */
struct sq_worker {
	const struct sq_conf *c;
	sqlite3 *db;
	sqlite3_stmt *begin, *commit; /* BEGIN IMMEDIATE: wait for the write lock up front */
	sqlite3_stmt **del, **anon;
	char bad[160]; /* set by the truncation function: a value that is no address */
};

/* True if s is a plain SQL identifier: [A-Za-z_][A-Za-z0-9_]*, not "sqlite_...". */
bool sq_valid_ident(const char *s);
/* The backend's config statements (database, busy-timeout, table): see rtn_backend_def. */
int sq_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d);
/* Open the database at path with flags, busy-timeout busy_ms and double-quoted strings
 * off, its truncation function registered with w (may be NULL). An SQLite result code;
 * *db is to be closed in every case. */
int sq_open_db(const char *path, int flags, int64_t busy_ms, struct sq_worker *w, sqlite3 **db);
/* Check the config against the database (tables, columns) and set the actions. */
int sq_configured(void *ctx, const char *file, struct rtn_backend_opts *o, struct rtn_diags *d);
/* Open a connection and prepare the statements; NULL with err. Free with sq_worker_fini. */
void *sq_worker_init(void *ctx, unsigned i, char *err, size_t errlen);
/* Checkpoint the WAL if rows changed since the last checkpoint, then finalize the
 * statements and close the connection. */
void sq_worker_fini(void *wctx);
/* After a batch (see rtn_backend_def.idle): checkpoint the WAL if rows changed since the
 * last checkpoint. */
void sq_idle(void *wctx);
/* Do one job on a worker's connection: see rtn_backend_def.handle. */
int sq_handle(void *wctx, const struct rtn_bjob *job, char *err, size_t errlen);
/* Free what c owns. */
void sq_conf_fini(struct sq_conf *c);

/* sqlscan.c */
/* A scan statement of table t's block (scan, subject, event, attribute): applied to t,
 * 0 or -EINVAL after a diagnostic; -ENOENT for any other keyword. */
int sq_scan_config(const char *file, const struct rtn_stmt *s, struct sq_table *t,
                   struct rtn_diags *d);
/* After table t's block was read cleanly: check its scan statements against the others
 * and build its scan SQL. 0 or -EINVAL after a diagnostic. */
int sq_scan_configured(const char *file, struct sq_table *t, struct rtn_diags *d);
/* Check the columns t's scan reads against db, each reported where it is named. 0,
 * -EAGAIN if the database was busy, or -EINVAL. */
int sq_scan_check(const char *file, sqlite3 *db, const struct sq_table *t, struct rtn_diags *d);
/* Free what t's scan statements made. */
void sq_scan_table_fini(struct sq_table *t);
/* List the rows of every scanned table: see rtn_backend_def.scan. */
int sq_scan(void *ctx, struct rtn_scan_out *out, char *err, size_t errlen);

#endif
