/* pgscan.c - retention-postgres: keyset pagination over a mapped table
 *
 * The seam for the scan capability of the backend protocol (an inventory that keeps
 * itself: the backend lists what it holds, the daemon compares). A page is
 *   SELECT "k1"::text, "k2"::text FROM "s"."t" WHERE ("k1", "k2") > ($2, $3)
 *       ORDER BY "k1", "k2" LIMIT $1
 * which the key's unique index answers without a sort and without an OFFSET that reads
 * every row before it; the statements are built with the others (pgcat.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgbk.h"
#include "util.h"

long pg_scan(PGconn *conn, const struct pg_conf *c, size_t t, const struct pg_cat *cat,
             const char *const *after, long limit, pg_scan_fn fn, void *arg, char *err,
             size_t errlen)
{
	const struct pg_table *tb = &c->tables[t];
	const struct pg_tcat *tc = &cat->t[t];
	size_t K = tb->nkeys;
	const char **vals = rtn_xcalloc(K + 1, sizeof(char *));
	unsigned *types = rtn_xcalloc(K + 1, sizeof(unsigned));
	char lim[24];
	snprintf(lim, sizeof(lim), "%ld", limit > 0 ? limit : 1);
	vals[0] = lim;
	types[0] = 20; /* int8 */
	for (size_t i = 0; after && i < K; i++) {
		vals[i + 1] = after[i];
		types[i + 1] = tc->key_types[i];
	}
	PGresult *r = PQexecParams(conn, tc->scan_sql[after ? 1 : 0], after ? (int)K + 1 : 1, types,
	                           vals, NULL, NULL, 0);
	free(vals);
	free(types);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		rtn_errf(err, errlen, 0, "table %s.%s: %s", tb->schema, tb->name,
		         PQerrorMessage(conn));
		pg_oneline(err);
		PQclear(r);
		return -EIO;
	}
	long got = 0;
	const char *key[PG_KEY_MAX];
	for (int row = 0; row < PQntuples(r); row++) {
		for (size_t i = 0; i < K; i++)
			key[i] = PQgetvalue(r, row, (int)i);
		got++;
		if (fn(arg, key, K))
			break;
	}
	PQclear(r);
	return got;
}
