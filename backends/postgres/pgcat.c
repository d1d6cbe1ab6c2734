/* pgcat.c - retention-postgres: the check against the catalog, and the SQL built from it
 *
 * Every catalog query takes the config's names as bound values. The SQL of the jobs is
 * built here, once per connection, from the config's names quoted by PQescapeIdentifier
 * and the column types the catalog reports (as parameter type OIDs, never as text):
 *
 *   delete:     WITH m AS (SELECT "k" FROM "s"."t" WHERE "k" = $1 AND "k"::text = $2),
 *                    n AS (SELECT count(*) AS c FROM m),
 *                    a0 AS (DELETE FROM "s"."notes" x USING m
 *                           WHERE x."t_id" = m."k" AND (SELECT c FROM n) = 1 RETURNING 1),
 *                    d AS (DELETE FROM "s"."t" x USING m
 *                          WHERE x."k" = m."k" AND (SELECT c FROM n) = 1 RETURNING 1)
 *               SELECT (SELECT c FROM n), (SELECT count(*) FROM d)
 *   anonymize:  the same with  u AS (UPDATE "s"."t" x SET "a" = NULL, "b" = $3 FROM m ...)
 *               or, with pseudonymize or truncate-ip columns, in two steps:
 *               SELECT "p"::text, host("ip") FROM "s"."t" WHERE MATCH LIMIT 2 FOR UPDATE
 *               UPDATE "s"."t" SET "a" = NULL, "p" = $3, "ip" = $4 WHERE MATCH
 *
 * The key is matched exactly: "k" = $1 finds the row by the index ($1 has the column's
 * type), "k"::text = $2 keeps only a row whose key reads back as the locator's text, so
 * "0118" never finds the row 118. A statement changes nothing unless exactly one row
 * matches; it returns how many did, so more than one is a failure with nothing touched.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgbk.h"
#include "util.h"

#define TEXTOID 25
#define INETOID 869

struct ck {
	const struct pg_conf *c;
	PGconn *conn;
	struct rtn_diags *d;
	char *err;
	size_t errlen;
	bool lost;
};

/* Run a catalog query with text values; NULL on an error (ck->lost if the connection
 * went, with the message in ck->err). */
static PGresult *q(struct ck *k, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(k->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	snprintf(k->err, k->errlen, "%s", PQerrorMessage(k->conn));
	pg_oneline(k->err);
	if (PQstatus(k->conn) != CONNECTION_OK)
		k->lost = true;
	PQclear(r);
	return NULL;
}

static bool is_true(const PGresult *r, int row, int col)
{
	return PQntuples(r) > row && strcmp(PQgetvalue(r, row, col), "t") == 0;
}

static char *qi(PGconn *conn, const char *name)
{
	char *e = PQescapeIdentifier(conn, name, strlen(name));
	if (!e)
		return NULL;
	char *s = rtn_xstrdup(e);
	PQfreemem(e);
	return s;
}

/* The oid of table schema.name (0 if none, with a diagnostic at line:col), and whether
 * it is a table. */
static int catalog_table(struct ck *k, const char *schema, const char *name, int line, int col,
                         char oid[16], bool schema_given, int sline, int scol)
{
	const char *v[2] = {schema, name};
	PGresult *r = q(k, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, v);
	if (!r)
		return -EIO;
	bool have_schema = PQntuples(r) > 0;
	PQclear(r);
	if (!have_schema) {
		rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, schema_given ? sline : line,
		             schema_given ? scol : col, "schema %s does not exist", schema);
		return -EINVAL;
	}
	r = q(k,
	      "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
	      "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
	      2, v);
	if (!r)
		return -EIO;
	int rc = 0;
	if (PQntuples(r) == 0) {
		rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, line, col,
		             "table %s.%s does not exist", schema, name);
		rc = -EINVAL;
	} else if (strcmp(PQgetvalue(r, 0, 1), "r") != 0 && strcmp(PQgetvalue(r, 0, 1), "p") != 0) {
		rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, line, col,
		             "%s.%s is not a table (relkind %s)", schema, name,
		             PQgetvalue(r, 0, 1));
		rc = -EINVAL;
	} else {
		snprintf(oid, 16, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return rc;
}

struct colinfo {
	char attnum[8];
	unsigned type;
	bool notnull, string, can_select;
	int typmod;
	char typname[128];
};

/* Column name of table oid: 0, -EINVAL after a diagnostic at line:col, or -EIO. */
static int catalog_col(struct ck *k, const char *oid, const char *tname, const char *name, int line,
                       int col, struct colinfo *ci)
{
	const char *v[2] = {oid, name};
	PGresult *r = q(k,
	                "SELECT a.attnum, a.atttypid, a.attnotnull, t.typcategory = 'S', "
	                "a.atttypmod, pg_catalog.format_type(a.atttypid, a.atttypmod), "
	                "pg_catalog.has_column_privilege($1::oid, a.attnum, 'SELECT') "
	                "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = "
	                "a.atttypid WHERE a.attrelid = $1::oid AND a.attname = $2 AND a.attnum > 0 "
	                "AND NOT a.attisdropped",
	                2, v);
	if (!r)
		return -EIO;
	if (PQntuples(r) == 0) {
		rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, line, col,
		             "table %s has no column %s", tname, name);
		PQclear(r);
		return -EINVAL;
	}
	snprintf(ci->attnum, sizeof(ci->attnum), "%s", PQgetvalue(r, 0, 0));
	ci->type = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	ci->notnull = is_true(r, 0, 2);
	ci->string = is_true(r, 0, 3);
	ci->typmod = atoi(PQgetvalue(r, 0, 4));
	snprintf(ci->typname, sizeof(ci->typname), "%s", PQgetvalue(r, 0, 5));
	ci->can_select = is_true(r, 0, 6);
	PQclear(r);
	return 0;
}

static bool privilege(struct ck *k, const char *oid, const char *priv, int *rc)
{
	const char *v[2] = {oid, priv};
	PGresult *r = q(k, "SELECT pg_catalog.has_table_privilege($1::oid, $2)", 2, v);
	if (!r) {
		*rc = -EIO;
		return false;
	}
	bool ok = is_true(r, 0, 0);
	PQclear(r);
	return ok;
}

static void no_priv(struct ck *k, int line, int col, const char *role, const char *priv,
                    const char *what)
{
	rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, line, col,
	             "the role %s may not %s %s (GRANT %s ON %s TO %s)", role, priv, what, priv,
	             what, role);
}

/* With "vacuum on", warn if the role may not VACUUM table oid (PostgreSQL 15: only its
 * owner or a superuser). */
static int check_vacuum(struct ck *k, const char *oid, const char *name, const char *role, int line,
                        int col)
{
	if (!k->c->vacuum)
		return 0;
	const char *v[1] = {oid};
	PGresult *r = q(k,
	                "SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') OR (SELECT rolsuper "
	                "FROM pg_catalog.pg_roles WHERE rolname = current_user) FROM "
	                "pg_catalog.pg_class c WHERE c.oid = $1::oid",
	                1, v);
	if (!r)
		return -EIO;
	if (!is_true(r, 0, 0))
		rtn_diag_add(
		    k->d, RTN_SEV_WARNING, k->c->file, line, col,
		    "\"vacuum on\", but the role %s does not own table %s, so VACUUM skips "
		    "it (only its owner or a superuser may vacuum it)",
		    role, name);
	PQclear(r);
	return 0;
}

/* The key's attnums, sorted, as an int2[] literal "{1,3}". */
static void attnum_array(struct colinfo *ci, size_t n, char *out, size_t outlen)
{
	int v[PG_KEY_MAX];
	for (size_t i = 0; i < n; i++)
		v[i] = atoi(ci[i].attnum);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	size_t l = (size_t)snprintf(out, outlen, "{");
	for (size_t i = 0; i < n && l < outlen; i++)
		l += (size_t)snprintf(out + l, outlen - l, "%s%d", i ? "," : "", v[i]);
	if (l < outlen)
		snprintf(out + l, outlen - l, "}");
}

static char *append(char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *append(char *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *add = NULL;
	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	va_end(ap);
	char *n = rtn_xasprintf("%s%s", s ? s : "", add);
	free(s);
	free(add);
	return n;
}

/* The SQL of table t on this connection into tc. 0 or -ENOMEM (no quoting). */
static int build(PGconn *conn, const struct pg_table *t, struct pg_tcat *tc)
{
	size_t K = t->nkeys;
	char *qs = qi(conn, t->schema), *qt = qi(conn, t->name);
	char **qk = rtn_xcalloc(K, sizeof(char *));
	int rc = qs && qt ? 0 : -ENOMEM;
	for (size_t i = 0; i < K && !rc; i++)
		if (!(qk[i] = qi(conn, t->keys[i].name)))
			rc = -ENOMEM;
	if (rc)
		goto out;
	tc->qname = rtn_xasprintf("%s.%s", qs, qt);
	char *keys = NULL, *match = NULL, *join = NULL;
	for (size_t i = 0; i < K; i++) {
		keys = append(keys, "%s%s", i ? ", " : "", qk[i]);
		match = append(match, "%s%s = $%zu AND %s::text = $%zu", i ? " AND " : "", qk[i],
		               i + 1, qk[i], K + i + 1);
		join = append(join, "x.%s = m.%s AND ", qk[i], qk[i]);
	}
	char *head = rtn_xasprintf("WITH m AS (SELECT %s FROM %s WHERE %s), n AS (SELECT "
	                           "count(*) AS c FROM m)",
	                           keys, tc->qname, match);
	/* delete: the also rows, then the row */
	char *del = rtn_xstrdup(head);
	for (size_t a = 0; a < t->nalso && !rc; a++) {
		const struct pg_also *al = &t->also[a];
		char *as = qi(conn, al->schema ? al->schema : t->schema), *at = qi(conn, al->table);
		char *aj = NULL;
		if (!as || !at)
			rc = -ENOMEM;
		for (size_t i = 0; i < al->ncols && !rc; i++) {
			char *ac = qi(conn, al->cols[i]);
			if (!ac) {
				rc = -ENOMEM;
				break;
			}
			aj = append(aj, "x.%s = m.%s AND ", ac, qk[i]);
			free(ac);
		}
		if (!rc) {
			tc->also_qnames[a] = rtn_xasprintf("%s.%s", as, at);
			del = append(
			    del,
			    ", a%zu AS (DELETE FROM %s x USING m WHERE %s(SELECT c FROM n) = 1 "
			    "RETURNING 1)",
			    a, tc->also_qnames[a], aj);
		}
		free(aj);
		free(as);
		free(at);
	}
	tc->del_sql = append(del,
	                     ", d AS (DELETE FROM %s x USING m WHERE %s(SELECT c FROM n) = 1 "
	                     "RETURNING 1) SELECT (SELECT c FROM n), (SELECT count(*) FROM d)",
	                     tc->qname, join);
	/* anonymize */
	char *set = NULL, *read = NULL;
	size_t p = 2 * K;
	for (size_t i = 0; i < t->nanon && !rc; i++) {
		const struct pg_col *ac = &t->anon[i];
		char *qc = qi(conn, ac->name);
		if (!qc) {
			rc = -ENOMEM;
			break;
		}
		if (ac->method == PG_NULL)
			set = append(set, "%s%s = NULL", set ? ", " : "", qc);
		else
			set = append(set, "%s%s = $%zu", set ? ", " : "", qc, ++p);
		if (ac->method == PG_PSEUDO || ac->method == PG_TRUNC)
			read = append(read, "%s%s%s%s", read ? ", " : "",
			              tc->anon_inet[i] ? "host(" : "", qc,
			              tc->anon_inet[i] ? ")" : "::text");
		else
			read = append(read, "%sNULL::text", read ? ", " : "");
		free(qc);
	}
	if (t->nanon && !rc) {
		if (t->two_step) {
			tc->read_sql =
			    rtn_xasprintf("SELECT %s FROM %s WHERE %s LIMIT 2 FOR UPDATE", read,
			                  tc->qname, match);
			tc->write_sql =
			    rtn_xasprintf("UPDATE %s SET %s WHERE %s", tc->qname, set, match);
		} else {
			tc->anon_sql = rtn_xasprintf(
			    "%s, u AS (UPDATE %s x SET %s FROM m WHERE %s(SELECT c FROM n) = 1 "
			    "RETURNING 1) SELECT (SELECT c FROM n), (SELECT count(*) FROM u)",
			    head, tc->qname, set, join);
		}
	}
	/* the scan, in key order: the columns named by the table's alias, since a bare name
	 * in ORDER BY would be the output column (the key as text, in text order) */
	char *cmp = NULL, *after = NULL, *texts = NULL, *order = NULL;
	for (size_t i = 0; i < K; i++) {
		cmp = append(cmp, "%s$%zu", i ? ", " : "", i + 2);
		texts = append(texts, "%sx.%s::text", i ? ", " : "", qk[i]);
		order = append(order, "%sx.%s", i ? ", " : "", qk[i]);
	}
	after = rtn_xasprintf("(%s) > (%s)", order, cmp);
	tc->scan_sql[0] =
	    rtn_xasprintf("SELECT %s FROM %s x ORDER BY %s LIMIT $1", texts, tc->qname, order);
	tc->scan_sql[1] = rtn_xasprintf("SELECT %s FROM %s x WHERE %s ORDER BY %s LIMIT $1", texts,
	                                tc->qname, after, order);
	free(order);
	free(cmp);
	free(after);
	free(texts);
	free(set);
	free(read);
	free(head);
	free(keys);
	free(match);
	free(join);
out:
	for (size_t i = 0; i < K; i++)
		free(qk[i]);
	free(qk);
	free(qs);
	free(qt);
	return rc;
}

/* Prepare one statement; a refusal is a diagnostic at the table. */
static int prepare(struct ck *k, const struct pg_table *t, const char *name, const char *sql, int n,
                   const unsigned *types)
{
	PGresult *r = PQprepare(k->conn, name, sql, n, types);
	int rc = 0;
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (PQstatus(k->conn) != CONNECTION_OK) {
			snprintf(k->err, k->errlen, "%s", PQerrorMessage(k->conn));
			pg_oneline(k->err);
			k->lost = true;
			rc = -EIO;
		} else {
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
			pg_oneline(msg);
			rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, t->line, t->col,
			             "table %s.%s: PostgreSQL refuses its statement: %s", t->schema,
			             t->name, msg);
			rc = -EINVAL;
		}
	}
	PQclear(r);
	return rc;
}

static int check_table(struct ck *k, size_t ti, const char *role, struct pg_tcat *tc)
{
	const struct pg_table *t = &k->c->tables[ti];
	char oid[16], tname[2 * PG_IDENT_MAX + 2];
	int rc = catalog_table(k, t->schema, t->name, t->line, t->col, oid, t->schema_line != 0,
	                       t->schema_line, t->schema_col);
	if (rc)
		return rc;
	snprintf(tname, sizeof(tname), "%s.%s", t->schema, t->name);
	int bad = 0;
	struct colinfo kc[PG_KEY_MAX];
	tc->key_types = rtn_xcalloc(t->nkeys, sizeof(unsigned));
	tc->anon_types = rtn_xcalloc(t->nanon ? t->nanon : 1, sizeof(unsigned));
	tc->anon_inet = rtn_xcalloc(t->nanon ? t->nanon : 1, sizeof(bool));
	tc->also_qnames = rtn_xcalloc(t->nalso ? t->nalso : 1, sizeof(char *));
	tc->nalso = t->nalso;
	for (size_t i = 0; i < t->nkeys; i++) {
		const struct pg_col *c = &t->keys[i];
		if ((rc = catalog_col(k, oid, tname, c->name, c->line, c->col, &kc[i])) == -EIO)
			return rc;
		if (rc) {
			bad = 1;
			continue;
		}
		tc->key_types[i] = kc[i].type;
		if (!kc[i].can_select) {
			no_priv(k, c->line, c->col, role, "SELECT", tname);
			bad = 1;
		}
	}
	bool cols_ok = !bad; /* every key column was found */
	for (size_t i = 0; i < t->nanon; i++) {
		const struct pg_col *c = &t->anon[i];
		struct colinfo ci;
		if ((rc = catalog_col(k, oid, tname, c->name, c->line, c->col, &ci)) == -EIO)
			return rc;
		if (rc) {
			bad = 1;
			continue;
		}
		tc->anon_types[i] = ci.type;
		const char *why = NULL;
		if (c->method == PG_NULL && ci.notnull)
			why = "is NOT NULL, so it cannot be anonymised to NULL";
		if (c->method == PG_PSEUDO && !ci.string)
			why = "is no text column, so it cannot hold a pseudonym";
		if (c->method == PG_PSEUDO && ci.string && ci.typmod >= 4 && ci.typmod - 4 < 64)
			why = "is too short for a pseudonym (64 hex digits)";
		if (c->method == PG_TRUNC && !ci.string && ci.type != INETOID)
			why = "is neither text nor inet, so it holds no IP address to truncate";
		if (why) {
			rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, c->line, c->col,
			             "table %s: column %s (%s) %s", tname, c->name, ci.typname,
			             why);
			bad = 1;
		}
		tc->anon_inet[i] = c->method == PG_TRUNC && ci.type == INETOID;
		if ((c->method == PG_PSEUDO || c->method == PG_TRUNC) && !ci.can_select) {
			no_priv(k, c->line, c->col, role, "SELECT", tname);
			bad = 1;
		}
		if (c->method == PG_REPLACE && !why) {
			/* the constant must be a value of the column's type */
			const char *v[1] = {c->value};
			PGresult *r =
			    PQexecParams(k->conn, "SELECT $1", 1, &ci.type, v, NULL, NULL, 0);
			if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
				if (PQstatus(k->conn) != CONNECTION_OK) {
					PQclear(r);
					snprintf(k->err, k->errlen, "%s", PQerrorMessage(k->conn));
					pg_oneline(k->err);
					k->lost = true;
					return -EIO;
				}
				char msg[256];
				snprintf(msg, sizeof(msg), "%s",
				         PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
				             ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
				             : "refused");
				rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, c->line, c->col,
				             "table %s: the value of \"replace %s\" is no %s: %s",
				             tname, c->name, ci.typname, msg);
				bad = 1;
			}
			PQclear(r);
		}
	}
	/* the key names one row */
	char arr[PG_KEY_MAX * 8], nk[8];
	if (cols_ok)
		attnum_array(kc, t->nkeys, arr, sizeof(arr));
	else
		snprintf(arr, sizeof(arr), "{}");
	snprintf(nk, sizeof(nk), "%zu", t->nkeys);
	const char *v3[3] = {oid, arr, nk};
	PGresult *r =
	    q(k,
	      "SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = $1::oid AND i.indisunique "
	      "AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = "
	      "$3::int AND (SELECT array_agg(u.k ORDER BY u.k) FROM unnest(i.indkey::int2[]) "
	      "WITH ORDINALITY AS u(k, o) WHERE u.o <= i.indnkeyatts) = $2::int2[]",
	      3, v3);
	if (!r)
		return -EIO;
	if (PQntuples(r) == 0 && cols_ok) {
		char cols[PG_KEY_MAX * (PG_IDENT_MAX + 2) + 1] = "";
		for (size_t i = 0; i < t->nkeys; i++) {
			strcat(cols, i ? ", " : "");
			strcat(cols, t->keys[i].name);
		}
		rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, t->key_line, t->key_col,
		             "table %s has no primary key or unique index on exactly (%s), so a "
		             "key could name more than one row",
		             tname, cols);
		bad = 1;
	}
	PQclear(r);

	/* foreign keys that reference the table from columns no index starts with */
	const char *v1[1] = {oid};
	r = q(k,
	      "SELECT c.conname, c.conrelid::regclass::text, (SELECT string_agg(a.attname, ', ' "
	      "ORDER BY u.o) FROM unnest(c.conkey) WITH ORDINALITY AS u(k, o) JOIN "
	      "pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.k) FROM "
	      "pg_catalog.pg_constraint c WHERE c.contype = 'f' AND c.confrelid = $1::oid AND NOT "
	      "EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.conrelid AND "
	      "i.indisvalid AND i.indpred IS NULL AND (i.indkey::int2[])[0:cardinality(c.conkey) "
	      "- 1] @> c.conkey AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey) "
	      "ORDER BY 1",
	      1, v1);
	if (!r)
		return -EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		rtn_diag_add(k->d, RTN_SEV_ERROR, k->c->file, t->line, t->col,
		             "table %s: foreign key %s of table %s references it from (%s), which "
		             "no index starts with: every deleted row would be a sequential scan "
		             "of %s; create an index on %s (%s)",
		             tname, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		             PQgetvalue(r, i, 1), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
		bad = 1;
	}
	PQclear(r);

	/* privileges */
	rc = 0;
	if (!privilege(k, oid, "DELETE", &rc)) {
		if (rc)
			return rc;
		no_priv(k, t->line, t->col, role, "DELETE", tname);
		bad = 1;
	}
	if (t->nanon && !privilege(k, oid, "UPDATE", &rc)) {
		if (rc)
			return rc;
		no_priv(k, t->line, t->col, role, "UPDATE", tname);
		bad = 1;
	}

	if (check_vacuum(k, oid, tname, role, t->line, t->col) < 0)
		return -EIO;
	/* row-level security: a row its policies hide is not found, and reported gone */
	r = q(k,
	      "SELECT c.relrowsecurity AND NOT (SELECT rolsuper OR rolbypassrls FROM "
	      "pg_catalog.pg_roles WHERE rolname = current_user) FROM pg_catalog.pg_class c "
	      "WHERE c.oid = $1::oid",
	      1, v1);
	if (!r)
		return -EIO;
	if (is_true(r, 0, 0))
		rtn_diag_add(k->d, RTN_SEV_WARNING, k->c->file, t->line, t->col,
		             "table %s has row-level security: a row its policies hide from the "
		             "role %s is not found, and its job reports it gone",
		             tname, role);
	PQclear(r);

	/* the also tables */
	for (size_t a = 0; a < t->nalso; a++) {
		const struct pg_also *al = &t->also[a];
		const char *as = al->schema ? al->schema : t->schema;
		char aoid[16], aname[2 * PG_IDENT_MAX + 2];
		snprintf(aname, sizeof(aname), "%s.%s", as, al->table);
		if ((rc = catalog_table(k, as, al->table, al->line, al->col, aoid, false, 0, 0)) ==
		    -EIO)
			return rc;
		if (rc) {
			bad = 1;
			continue;
		}
		struct colinfo ac[PG_KEY_MAX];
		int abad = 0;
		for (size_t i = 0; i < al->ncols; i++) {
			if ((rc = catalog_col(k, aoid, aname, al->cols[i], al->line, al->col,
			                      &ac[i])) == -EIO)
				return rc;
			if (rc) {
				abad = 1;
			} else if (!ac[i].can_select) {
				no_priv(k, al->line, al->col, role, "SELECT", aname);
				abad = 1;
			}
		}
		if (!privilege(k, aoid, "DELETE", &rc)) {
			if (rc)
				return rc;
			no_priv(k, al->line, al->col, role, "DELETE", aname);
			abad = 1;
		}
		bad |= abad;
		if (abad)
			continue;
		if (check_vacuum(k, aoid, aname, role, al->line, al->col) < 0)
			return -EIO;
		char aarr[PG_KEY_MAX * 8];
		attnum_array(ac, al->ncols, aarr, sizeof(aarr));
		const char *va[2] = {aoid, aarr};
		r = q(
		    k,
		    "SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = $1::oid AND "
		    "i.indisvalid AND i.indpred IS NULL AND (i.indkey::int2[])[0:cardinality($2::"
		    "int2[]) - 1] @> $2::int2[] AND (i.indkey::int2[])[0:cardinality($2::int2[]) - "
		    "1] <@ $2::int2[]",
		    2, va);
		if (!r)
			return -EIO;
		if (PQntuples(r) == 0)
			rtn_diag_add(
			    k->d, RTN_SEV_WARNING, k->c->file, al->line, al->col,
			    "no index of table %s starts with the columns of \"also\": each "
			    "deletion scans the whole table",
			    aname);
		PQclear(r);
	}
	if (bad)
		return -EINVAL;

	if (build(k->conn, t, tc) < 0) {
		snprintf(k->err, k->errlen, "cannot quote a name: %s", PQerrorMessage(k->conn));
		k->lost = PQstatus(k->conn) != CONNECTION_OK;
		return k->lost ? -EIO : -EINVAL;
	}
	size_t K = t->nkeys, np = 2 * K;
	unsigned *types = rtn_xcalloc(2 * K + t->nanon + 1, sizeof(unsigned));
	for (size_t i = 0; i < K; i++) {
		types[i] = tc->key_types[i];
		types[K + i] = TEXTOID;
	}
	for (size_t i = 0; i < t->nanon; i++)
		if (t->anon[i].method != PG_NULL)
			types[np++] = tc->anon_types[i];
	char name[32];
	snprintf(name, sizeof(name), "rd%zu", ti);
	rc = prepare(k, t, name, tc->del_sql, (int)(2 * K), types);
	if (!rc && tc->anon_sql) {
		snprintf(name, sizeof(name), "ra%zu", ti);
		rc = prepare(k, t, name, tc->anon_sql, (int)np, types);
	}
	if (!rc && tc->read_sql) {
		snprintf(name, sizeof(name), "rr%zu", ti);
		rc = prepare(k, t, name, tc->read_sql, (int)(2 * K), types);
	}
	if (!rc && tc->write_sql) {
		snprintf(name, sizeof(name), "rw%zu", ti);
		rc = prepare(k, t, name, tc->write_sql, (int)np, types);
	}
	if (!rc) { /* the scan's pages: LIMIT $1, then the key after which to go on */
		unsigned *st = rtn_xcalloc(K + 1, sizeof(unsigned));
		st[0] = 20; /* int8 */
		for (size_t i = 0; i < K; i++)
			st[i + 1] = tc->key_types[i];
		snprintf(name, sizeof(name), "rs%zu", ti);
		rc = prepare(k, t, name, tc->scan_sql[0], 1, st);
		snprintf(name, sizeof(name), "rn%zu", ti);
		if (!rc)
			rc = prepare(k, t, name, tc->scan_sql[1], (int)K + 1, st);
		free(st);
	}
	free(types);
	return rc;
}

int pg_check(const struct pg_conf *c, PGconn *conn, struct pg_cat *cat, struct rtn_diags *d,
             char *err, size_t errlen)
{
	struct ck k = {.c = c, .conn = conn, .d = d, .err = err, .errlen = errlen};
	pg_cat_fini(cat);
	cat->t = rtn_xcalloc(c->ntables, sizeof(*cat->t));
	cat->n = c->ntables;
	PGresult *r = q(&k,
	                "SELECT current_user, (SELECT rolsuper OR rolbypassrls FROM "
	                "pg_catalog.pg_roles WHERE rolname = current_user)",
	                0, NULL);
	if (!r)
		return -EIO;
	char role[PG_IDENT_MAX + 1];
	snprintf(role, sizeof(role), "%s", PQgetvalue(r, 0, 0));
	if (is_true(r, 0, 1))
		rtn_diag_add(d, RTN_SEV_WARNING, c->file, c->conninfo_line, c->conninfo_col,
		             "the role %s is a superuser (or bypasses row security): a role that "
		             "may only SELECT, DELETE and UPDATE the mapped tables is safer",
		             role);
	PQclear(r);
	int bad = 0;
	for (size_t i = 0; i < c->ntables; i++) {
		int rc = check_table(&k, i, role, &cat->t[i]);
		if (rc == -EIO || k.lost)
			return -EIO;
		bad |= rc < 0;
	}
	return bad ? -EINVAL : 0;
}

void pg_cat_fini(struct pg_cat *cat)
{
	for (size_t i = 0; i < cat->n; i++) {
		struct pg_tcat *t = &cat->t[i];
		free(t->qname);
		free(t->key_types);
		free(t->anon_types);
		free(t->anon_inet);
		if (t->also_qnames)
			for (size_t a = 0; a < t->nalso; a++)
				free(t->also_qnames[a]);
		free(t->also_qnames);
		free(t->del_sql);
		free(t->anon_sql);
		free(t->read_sql);
		free(t->write_sql);
		free(t->scan_sql[0]);
		free(t->scan_sql[1]);
	}
	free(cat->t);
	memset(cat, 0, sizeof(*cat));
}
