/* bench_ref_insert.c - the physical reference for `make bench`: the rows the daemon would
 * store for a JSON-lines inventory, inserted by a plain loop with one prepared statement
 * in 10 000-row transactions (WAL, synchronous=FULL, the inventory's own schema and
 * indexes). Parsing and deciding happen before the clock starts; only SQLite is timed.
 *
 * usage: bench_ref_insert RECORDS.jsonl DB RULES-DIR ZONE
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide.h"
#include "inventory.h"
#include "record.h"
#include "rules.h"
#include "util.h"

struct row {
	char *id, *category, *subject, *backend, *locator, *events, *attributes;
	const char *state;
	rtn_time_t del_at, anon_at, next_at;
	const char *del_rule, *anon_rule;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bind_time(sqlite3_stmt *s, int i, rtn_time_t t)
{
	if (t == RTN_TIME_NONE)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, t);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: bench_ref_insert RECORDS.jsonl DB RULES-DIR ZONE\n");
		return 2;
	}
	struct rtn_ruleset rs;
	struct rtn_diags d;
	rtn_ruleset_init(&rs);
	rtn_diags_init(&d);
	struct rtn_zone *zone = rtn_zone_open(argv[4]);
	if (!zone || rtn_rules_load_dir(argv[3], &rs, &d) < 0) {
		rtn_diags_print(&d, stderr);
		return 1;
	}
	rtn_time_set_format_zone(zone);
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	size_t n = 0, cap = 0;
	struct row *rows = NULL;
	char *line = NULL;
	size_t llen = 0;
	rtn_time_t now = (rtn_time_t)time(NULL);
	struct rtn_view_buf vb = {0};
	while (getline(&line, &llen, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		struct rtn_record r;
		char err[256];
		if (!j || rtn_record_from_json(j, now, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "bad line %zu\n", n + 1);
			return 1;
		}
		struct rtn_record_view v;
		struct rtn_decision dec;
		rtn_record_view(&r, &vb, &v);
		rtn_decide(&rs, zone, &v, &dec);
		RTN_GROW(rows, n + 1, cap);
		struct row *w = &rows[n++];
		memset(w, 0, sizeof(*w));
		w->id = rtn_xstrdup(r.id);
		w->category = rtn_xstrdup(r.category);
		w->subject = rtn_xstrdup(r.subject);
		w->backend = rtn_xstrdup(r.backend);
		w->locator =
		    r.locator ? json_dumps(r.locator, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		w->events = json_dumps(r.events, JSON_COMPACT);
		w->attributes = json_dumps(r.attributes, JSON_COMPACT);
		w->state = dec.state == RTN_DS_UNMANAGED ? "unmanaged" : "active";
		w->del_at = w->anon_at = w->next_at = RTN_TIME_NONE;
		for (size_t i = 0; i < dec.nsched; i++) {
			const struct rtn_sched *s = &dec.sched[i];
			if (s->action == RTN_ACT_DELETE) {
				w->del_at = s->at;
				w->del_rule = s->rule ? s->rule->name : NULL;
			} else {
				w->anon_at = s->at;
				w->anon_rule = s->rule ? s->rule->name : NULL;
			}
		}
		if (dec.nsched)
			w->next_at = dec.sched[0].at;
		rtn_decision_free(&dec);
		rtn_record_fini(&r);
		json_decref(j);
	}
	free(line);
	fclose(f);
	rtn_view_buf_fini(&vb);

	struct rtn_inv *inv;
	char err[256];
	if (rtn_inv_open(argv[2], &inv, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rtn_inv_close(inv); /* the schema exists; now a plain connection does the work */
	sqlite3 *db;
	sqlite3_open(argv[2], &db);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
	sqlite3_stmt *ins;
	sqlite3_prepare_v2(db,
	                   "INSERT INTO records(id, category, subject, backend, locator, events, "
	                   "attributes, state, created, updated, anon_at, anon_rule, del_at, "
	                   "del_rule, review, next_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	                   "?9, ?10, ?11, ?12, ?13, 0, ?14)",
	                   -1, &ins, NULL);
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		if (i % 10000 == 0)
			sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		struct row *w = &rows[i];
		sqlite3_bind_text(ins, 1, w->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, w->category, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, w->subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, w->backend, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, w->locator, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, w->events, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, w->attributes, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 8, w->state, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 9, now);
		bind_time(ins, 10, w->anon_at);
		sqlite3_bind_text(ins, 11, w->anon_rule, -1, SQLITE_STATIC);
		bind_time(ins, 12, w->del_at);
		sqlite3_bind_text(ins, 13, w->del_rule, -1, SQLITE_STATIC);
		bind_time(ins, 14, w->next_at);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(ins);
		if (i % 10000 == 9999 || i == n - 1)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	double t = now_s() - t0;
	sqlite3_finalize(ins);
	sqlite3_close(db);
	printf("%zu %.3f %.0f\n", n, t, n / t);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].id);
		free(rows[i].category);
		free(rows[i].subject);
		free(rows[i].backend);
		free(rows[i].locator);
		free(rows[i].events);
		free(rows[i].attributes);
	}
	free(rows);
	rtn_ruleset_free(&rs);
	rtn_diags_fini(&d);
	return 0;
}
