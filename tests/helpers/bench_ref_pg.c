/* bench_ref_pg.c - the physical references for retention-postgres in `make bench`, and
 * a watcher of its transactions.
 *
 * bench_ref_pg delete CONNINFO TABLE FIRST COUNT BATCH
 *     deletes the rows id = FIRST .. FIRST+COUNT-1 of TABLE, one prepared DELETE per row
 *     (the key a bound parameter), BATCH rows per transaction (1: each DELETE is its own
 *     transaction, no BEGIN). Every DELETE must delete one row.
 *     prints: rows seconds rows_per_second
 *
 * bench_ref_pg watch CONNINFO APPNAME INTERVAL_MS
 *     until its standard input is closed, samples pg_stat_activity every INTERVAL_MS for
 *     the oldest open transaction of the sessions whose application_name is APPNAME
 *     (clock_timestamp() - xact_start, on the server's clock).
 *     prints: longest_seconds samples samples_with_a_transaction_open
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static PGconn *connect_or_die(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench_ref_pg: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void check(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
	if (PQresultStatus(r) != want) {
		fprintf(stderr, "bench_ref_pg: %s: %s", what, PQerrorMessage(c));
		exit(1);
	}
}

static void run(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	check(c, r, PGRES_COMMAND_OK, sql);
	PQclear(r);
}

static int delete_rows(const char *conninfo, const char *table, long long first, long long n,
                       long long batch)
{
	PGconn *c = connect_or_die(conninfo);
	char *ident = PQescapeIdentifier(c, table, strlen(table));
	if (!ident) {
		fprintf(stderr, "bench_ref_pg: %s", PQerrorMessage(c));
		return 1;
	}
	size_t len = strlen(ident) + 64;
	char *sql = malloc(len);
	snprintf(sql, len, "DELETE FROM %s WHERE id = $1", ident);
	PQfreemem(ident);
	PGresult *r = PQprepare(c, "del", sql, 1, NULL);
	check(c, r, PGRES_COMMAND_OK, sql);
	PQclear(r);
	double t0 = now_s();
	for (long long i = 0; i < n; i++) {
		if (batch > 1 && i % batch == 0)
			run(c, "BEGIN");
		char key[32];
		snprintf(key, sizeof(key), "%lld", first + i);
		const char *params[1] = {key};
		r = PQexecPrepared(c, "del", 1, params, NULL, NULL, 0);
		check(c, r, PGRES_COMMAND_OK, sql);
		if (strcmp(PQcmdTuples(r), "1")) {
			fprintf(stderr, "bench_ref_pg: id %s: %s rows deleted, expected 1\n", key,
			        PQcmdTuples(r));
			return 1;
		}
		PQclear(r);
		if (batch > 1 && (i % batch == batch - 1 || i == n - 1))
			run(c, "COMMIT");
	}
	double secs = now_s() - t0;
	printf("%lld %.3f %.0f\n", n, secs, n / secs);
	free(sql);
	PQfinish(c);
	return 0;
}

static int watch(const char *conninfo, const char *app, int interval_ms)
{
	PGconn *c = connect_or_die(conninfo);
	PGresult *r = PQprepare(
	    c, "age",
	    "SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), -1) "
	    "FROM pg_stat_activity WHERE application_name = $1 AND xact_start IS NOT NULL",
	    1, NULL);
	check(c, r, PGRES_COMMAND_OK, "prepare");
	PQclear(r);
	double longest = 0;
	long long samples = 0, open = 0;
	for (;;) {
		const char *params[1] = {app};
		r = PQexecPrepared(c, "age", 1, params, NULL, NULL, 0);
		check(c, r, PGRES_TUPLES_OK, "pg_stat_activity");
		double age = atof(PQgetvalue(r, 0, 0));
		PQclear(r);
		samples++;
		if (age >= 0) {
			open++;
			if (age > longest)
				longest = age;
		}
		struct pollfd p = {.fd = 0, .events = POLLIN};
		if (poll(&p, 1, interval_ms) > 0) {
			char buf[256];
			if (read(0, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	printf("%.3f %lld %lld\n", longest, samples, open);
	PQfinish(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "delete")) {
		long long first = atoll(argv[4]), n = atoll(argv[5]), batch = atoll(argv[6]);
		if (n < 1 || batch < 1) {
			fprintf(stderr, "bench_ref_pg: COUNT and BATCH must be at least 1\n");
			return 2;
		}
		return delete_rows(argv[2], argv[3], first, n, batch);
	}
	if (argc == 5 && !strcmp(argv[1], "watch")) {
		int ms = atoi(argv[4]);
		return watch(argv[2], argv[3], ms > 0 ? ms : 10);
	}
	fprintf(stderr, "usage: bench_ref_pg delete CONNINFO TABLE FIRST COUNT BATCH\n"
	                "       bench_ref_pg watch CONNINFO APPNAME INTERVAL_MS\n");
	return 2;
}
