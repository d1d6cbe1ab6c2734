/* pgscan.c - retention-postgres: keyset pagination over a mapped table
 *
 * The seam for the scan capability of the backend protocol (an inventory that keeps
 * itself: the backend lists what it holds, the daemon compares). A page is
 *   SELECT x."k1"::text, x."k2"::text FROM "s"."t" x WHERE (x."k1", x."k2") > ($2, $3)
 *       ORDER BY x."k1", x."k2" LIMIT $1
 * which the key's unique index answers without a sort and without an OFFSET that reads
 * every row before it; the statements are built and prepared with the others (pgcat.c),
 * so every connection's check proves them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgbk.h"
#include "util.h"

long pg_scan(PGconn *conn, const struct pg_conf *c, size_t t, const char *const *after, long limit,
             pg_scan_fn fn, void *arg, char *err, size_t errlen)
{
	const struct pg_table *tb = &c->tables[t];
	size_t K = tb->nkeys;
	const char **vals = rtn_xcalloc(K + 1, sizeof(char *));
	char lim[24], name[32];
	snprintf(lim, sizeof(lim), "%ld", limit > 0 ? limit : 1);
	vals[0] = lim;
	for (size_t i = 0; after && i < K; i++)
		vals[i + 1] = after[i];
	snprintf(name, sizeof(name), "r%c%zu", after ? 'n' : 's', t);
	PGresult *r = PQexecPrepared(conn, name, after ? (int)K + 1 : 1, vals, NULL, NULL, 0);
	free(vals);
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
