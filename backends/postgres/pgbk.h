/* pgbk.h - retention-postgres: categories mapped to tables of a PostgreSQL database, rows
 * deleted or anonymised in short batched transactions, every value a bound parameter
 *
 * pgconf.c  the config statements, the key file, a job's locator decoded
 * pgcat.c   the check against the catalog, and the SQL built from what it found
 * pgjob.c   the workers: connection, session settings, batches, VACUUM
 * pgscan.c  keyset pagination over a mapped table (the seam for the protocol's scan)
 */
#ifndef PGBK_H
#define PGBK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define PG_IDENT_MAX    63 /* bytes of a PostgreSQL name (NAMEDATALEN - 1) */
#define PG_KEY_MAX      16 /* columns of a composite key (INDEX_MAX_KEYS is 32) */
#define PG_WORKERS_MAX  64
#define PG_BATCH_MAX    10000
#define PG_HMAC_KEY_MIN 32
#define PG_HMAC_KEY_MAX 4096
#define PG_KEY_BUF      (PG_KEY_MAX * 24) /* the integers of one key, as text */

/* What "anonymize" does to a column. */
enum pg_method { PG_NULL, PG_PSEUDO, PG_REPLACE, PG_TRUNC };

struct pg_col {
	char *name;
	int line, col; /* where the config names it */
	enum pg_method method;
	char *value; /* PG_REPLACE: the constant */
	int v4, v6;  /* PG_TRUNC: octets, bits kept */
};

/* "also TABLE COLUMN...": rows of TABLE whose columns match the key, deleted first. */
struct pg_also {
	char *schema, *table;
	char **cols; /* one per key column, in key order */
	size_t ncols;
	int line, col;
};

struct pg_table {
	char *schema, *name;
	int line, col, schema_line, schema_col, key_line, key_col;
	char **cats;
	size_t ncats;
	struct pg_col *keys;
	size_t nkeys;
	struct pg_col *anon; /* the columns anonymize changes, any method */
	size_t nanon;
	struct pg_also *also;
	size_t nalso;
	bool two_step; /* pseudonymize or truncate-ip: the old values are read first */
};

struct pg_conf {
	char *conninfo;
	int conninfo_line, conninfo_col;
	int64_t statement_ms, lock_ms, idle_ms, tx_limit_ms;
	char *app_name;
	unsigned batch;
	bool vacuum;
	char *key_path;
	int key_line, key_col;
	unsigned char *key; /* the HMAC key, read at start */
	size_t keylen;
	struct pg_table *tables;
	size_t ntables, cap;
	const char *file; /* the config file, for the catalog's messages */
	unsigned workers;
	int seen[9][2]; /* where each statement given once was: line, column */
};

/* What the catalog said of one table and the SQL built for it, on one connection. */
struct pg_tcat {
	char *qname;          /* "schema"."table", quoted */
	unsigned *key_types;  /* type OIDs of the key columns */
	unsigned *anon_types; /* of the anonymised columns */
	bool *anon_inet;      /* truncate-ip on an inet column: read with host() */
	char **also_qnames;   /* "schema"."table" of each also */
	size_t nalso;
	char *del_sql;     /* one statement: also rows, then the row; returns (matched, deleted) */
	char *anon_sql;    /* one step (NULL, constants): returns (matched, updated) */
	char *read_sql;    /* two steps: the old values, FOR UPDATE */
	char *write_sql;   /* two steps: the new values */
	char *scan_sql[2]; /* pg_scan: the first page, the pages after a key */
};

/* A connection's view of every table (index i is table i). */
struct pg_cat {
	struct pg_tcat *t;
	size_t n;
};

/* The backend's config statements: see rtn_backend_def.config. */
int pg_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d);
/* After the file: required statements, the key file, the catalog check (unless the
 * server cannot be reached and this is no -n check), the actions and the batch size. */
int pg_configured(void *ctx, const char *file, struct rtn_backend_opts *o, struct rtn_diags *d);
/* The defaults (5 s, 2 s, 10 s, a batch of 100 in at most 1 s), nothing else set. */
void pg_conf_init(struct pg_conf *c);
/* Free what c owns. */
void pg_conf_fini(struct pg_conf *c);
/* The table of a category, its index in *idx; NULL if none. */
const struct pg_table *pg_table_of(const struct pg_conf *c, const char *cat, size_t *idx);
/* The key values of a job's locator in t's key order, as text (vals[i] borrowed from
 * the locator, or written into buf: PG_KEY_BUF bytes).
 * 0, or -EINVAL with a message in err (the job then fails with retry: false). */
int pg_locator_key(const struct pg_table *t, const json_t *locator, const char **vals, char *buf,
                   size_t buflen, char *err, size_t errlen);
/* Lower-case hex HMAC-SHA-256 of in under c's key into out (65 bytes). 0 or -EIO. */
int pg_pseudonym(const struct pg_conf *c, const char *in, size_t len, char out[65]);

/* libpq's message s on one line, in place: no trailing newline, inner ones blanks. */
void pg_oneline(char *s);
/* Connect with c's conninfo and session settings; NULL with libpq's message in err. */
PGconn *pg_connect(const struct pg_conf *c, char *err, size_t errlen);
/* Check every table against the catalog on conn, each problem a diagnostic at the
 * statement that names it, and build cat (the SQL, prepared on conn). 0, -EINVAL after
 * diagnostics, or -EIO with a message in err if the connection failed. */
int pg_check(const struct pg_conf *c, PGconn *conn, struct pg_cat *cat, struct rtn_diags *d,
             char *err, size_t errlen);
/* Free what cat owns. */
void pg_cat_fini(struct pg_cat *cat);

/* Workers: see rtn_backend_def. */
void *pg_worker_init(void *ctx, unsigned i, char *err, size_t errlen);
void pg_worker_fini(void *wctx);
void pg_handle_batch(void *wctx, struct rtn_backend_item *items, size_t n);

/* One row's key, as text, for pg_scan. */
typedef int (*pg_scan_fn)(void *arg, const char *const *key, size_t nkey);
/* Keyset pagination over table t on conn (checked by pg_check): the keys after the key
 * `after` (K texts; NULL: from the start), in key order, at most limit, each handed to
 * fn (non-zero stops the page; the next page starts after the last key fn saw). The
 * number of keys handed over, or -EIO with err. The seam for the scan capability of
 * the backend protocol: nothing calls it yet. */
long pg_scan(PGconn *conn, const struct pg_conf *c, size_t t, const char *const *after, long limit,
             pg_scan_fn fn, void *arg, char *err, size_t errlen);

#endif
