/* bench_ref_dispatch.c - the physical reference for dispatch in `make bench`: the same
 * SQLite work per record as the daemon's dispatch (select the due rows by the queue
 * index, write the job, mark the record taken; then mark the job done and write the
 * tombstone), in batches of BATCH records per transaction, synchronous=FULL, on a copy
 * of an inventory whose records are all queued. No sockets, no JSON.
 *
 * usage: bench_ref_dispatch DB BACKEND BATCH [on|off]
 * on or off sets PRAGMA secure_delete on the connection (and reads it back; exit 1 if it
 * did not take); without it the library's compile-time default stays.
 * prints: records seconds records_per_second
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *q)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", q, sqlite3_errmsg(db));
		exit(1);
	}
	return s;
}

int main(int argc, char **argv)
{
	if ((argc != 4 && argc != 5) ||
	    (argc == 5 && strcmp(argv[4], "on") != 0 && strcmp(argv[4], "off") != 0)) {
		fprintf(stderr, "usage: bench_ref_dispatch DB BACKEND BATCH [on|off]\n");
		return 2;
	}
	int batch = atoi(argv[3]);
	sqlite3 *db;
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
	if (argc == 5) {
		int want = strcmp(argv[4], "on") == 0;
		sqlite3_exec(db, want ? "PRAGMA secure_delete = ON" : "PRAGMA secure_delete = OFF",
		             NULL, NULL, NULL);
		sqlite3_stmt *q = prep(db, "PRAGMA secure_delete");
		int got = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
		sqlite3_finalize(q);
		if (got != want) {
			fprintf(stderr, "bench_ref_dispatch: secure_delete reads %d, not %d\n", got,
			        want);
			return 1;
		}
	}
	sqlite3_stmt *take = prep(db, "SELECT rid, id, del_rule, next_at FROM records INDEXED BY "
	                              "records_queue WHERE next_backend = ?1 AND state = 'queued' "
	                              "AND next_at IS NOT NULL AND next_at <= ?2 ORDER BY next_at "
	                              "LIMIT ?3");
	sqlite3_stmt *ins =
	    prep(db, "INSERT INTO jobs(job, rid, record, category, action, rule, "
	             "backend, state, attempts, due, sent_at, created, updated) "
	             "VALUES(?1, ?2, ?3, 'c', 'delete', ?4, ?5, 'sent', 1, ?6, ?7, ?7, "
	             "?7)");
	sqlite3_stmt *mark =
	    prep(db, "UPDATE records SET next_at = NULL, updated = ?2 WHERE rid = ?1");
	sqlite3_stmt *done = prep(db, "UPDATE jobs SET state = 'done', done_at = ?2, updated = ?2 "
	                              "WHERE job = ?1");
	sqlite3_stmt *tomb = prep(
	    db,
	    "UPDATE records SET subject = NULL, locator = NULL, attributes = '{}', events = "
	    "'{}', backend = NULL, state = 'deleted', anon_at = NULL, anon_rule = NULL, "
	    "del_at = NULL, del_rule = NULL, review = 0, next_at = NULL, next_backend = NULL, "
	    "deleted_at = ?2, deleted_rule = 'r', deleted_job = ?3, updated = ?2 WHERE rid = ?1");
	long long now = time(NULL), total = 0;
	long long *rids = calloc((size_t)batch, sizeof(*rids));
	char(*jobs)[24] = calloc((size_t)batch, 24);
	double t0 = now_s();
	for (;;) {
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		sqlite3_bind_text(take, 1, argv[2], -1, SQLITE_STATIC);
		sqlite3_bind_int64(take, 2, now);
		sqlite3_bind_int(take, 3, batch);
		int n = 0;
		while (sqlite3_step(take) == SQLITE_ROW) {
			rids[n] = sqlite3_column_int64(take, 0);
			snprintf(jobs[n], 24, "J-%016llx",
			         (unsigned long long)rids[n] * 2654435761u);
			sqlite3_bind_text(ins, 1, jobs[n], -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 2, rids[n]);
			sqlite3_bind_text(ins, 3, (const char *)sqlite3_column_text(take, 1), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 4, (const char *)sqlite3_column_text(take, 2), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 5, argv[2], -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 6, sqlite3_column_int64(take, 3));
			sqlite3_bind_int64(ins, 7, now);
			sqlite3_step(ins);
			sqlite3_reset(ins);
			sqlite3_bind_int64(mark, 1, rids[n]);
			sqlite3_bind_int64(mark, 2, now);
			sqlite3_step(mark);
			sqlite3_reset(mark);
			n++;
		}
		sqlite3_reset(take);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (n == 0)
			break;
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (int i = 0; i < n; i++) {
			sqlite3_bind_text(done, 1, jobs[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(done, 2, now);
			sqlite3_step(done);
			sqlite3_reset(done);
			sqlite3_bind_int64(tomb, 1, rids[i]);
			sqlite3_bind_int64(tomb, 2, now);
			sqlite3_bind_text(tomb, 3, jobs[i], -1, SQLITE_STATIC);
			sqlite3_step(tomb);
			sqlite3_reset(tomb);
		}
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		total += n;
	}
	double t = now_s() - t0;
	printf("%lld %.3f %.0f\n", total, t, total / t);
	sqlite3_close(db);
	free(rids);
	free(jobs);
	return 0;
}
