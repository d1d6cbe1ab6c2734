/* test_engine.c - the engine's transactions and their journal: audit before effect */
#include "testutil.h"
#include "fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "rules.h"

#define NOW ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */

static char dir[64];
static char db[96];
static struct rtn_inv *inv;
static struct rtn_ruleset rules;
static struct rtn_engine eng;

/* A journal that counts what the engine asks of it and can refuse to sync. */
static struct {
	int marks, appends, syncs, undos;
	bool fail_sync, fail_append;
} J;

static void j_mark(void *ctx)
{
	(void)ctx;
	J.marks++;
}
static int j_append(void *ctx, const struct rtn_audit_entry *e)
{
	(void)ctx;
	(void)e;
	J.appends++;
	return J.fail_append ? -EIO : 0;
}
static int j_sync(void *ctx)
{
	(void)ctx;
	J.syncs++;
	return J.fail_sync ? -ENOSPC : 0;
}
static void j_undo(void *ctx)
{
	(void)ctx;
	J.undos++;
}
static const struct rtn_journal journal = {j_mark, j_append, j_sync, j_undo, NULL};

static void setup(void)
{
	strcpy(dir, "/tmp/test_engine.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/inventory.db", dir);
	char err[256];
	ck_assert_int_eq(rtn_inv_open(db, &inv, err, sizeof(err)), 0);
	struct rtn_diags d;
	rtn_diags_init(&d);
	rtn_ruleset_init(&rules);
	static const char text[] = "rule t { category t.doc; delete immediately after due }\n";
	ck_assert_int_eq(rtn_rules_parse("t.rules", text, sizeof(text) - 1, &rules, &d), 0);
	ck_assert_int_eq(rtn_ruleset_finish(&rules, &d), 0);
	rtn_diags_fini(&d);
	rtn_engine_init(&eng, inv, &rules);
	eng.journal = &journal;
	memset(&J, 0, sizeof(J));
}

static void teardown(void)
{
	rtn_engine_fini(&eng);
	rtn_inv_close(inv);
	rtn_ruleset_free(&rules);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int put(const char *id)
{
	char text[256], err[256];
	snprintf(text, sizeof(text),
	         "{\"id\": \"%s\", \"category\": \"t.doc\", \"events\": {\"due\": %lld}}", id,
	         (long long)NOW + 3600);
	json_t *args = json_loads(text, 0, NULL), *details = NULL, *result = NULL;
	struct rtn_put *p = NULL;
	ck_assert_int_eq(rtn_put_prepare(args, NOW, &p, &details, err, sizeof(err)), 0);
	int r = rtn_engine_put_prepared(&eng, p, NOW, &result, err, sizeof(err));
	rtn_put_free(p);
	json_decref(args);
	json_decref(result);
	return r;
}

static bool exists(const char *id)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(inv, id, &row);
	if (r == 0)
		rtn_inv_row_fini(&row);
	return r == 0;
}

START_TEST(commit_syncs_the_journal_first)
{
	ck_assert_int_eq(put("a"), 0);
	ck_assert(exists("a"));
	ck_assert_int_eq(J.marks, 1);
	ck_assert_int_eq(J.syncs, 1);
	ck_assert_int_eq(J.undos, 0);
	ck_assert_int_eq(eng.depth, 0);
}
END_TEST

START_TEST(failed_sync_changes_nothing)
{
	J.fail_sync = true;
	ck_assert_int_eq(put("b"), -EIO);
	ck_assert(!exists("b"));
	ck_assert_int_eq(J.undos, 1); /* the entries are taken back */
	ck_assert_int_eq(eng.depth, 0);
	ck_assert_ptr_nonnull(strstr(rtn_engine_errmsg(&eng), "audit log"));
	J.fail_sync = false;
	ck_assert_int_eq(put("b"), 0); /* and it works again */
	ck_assert(exists("b"));
}
END_TEST

START_TEST(nested_levels_commit_once)
{
	ck_assert_int_eq(rtn_engine_begin(&eng), 0);
	ck_assert_int_eq(put("c"), 0); /* its own begin and commit are inner levels */
	ck_assert_int_eq(J.syncs, 0);
	ck_assert_int_eq(J.marks, 1);
	ck_assert_int_eq(put("d"), 0);
	ck_assert_int_eq(rtn_engine_commit(&eng), 0);
	ck_assert_int_eq(J.syncs, 1);
	ck_assert(exists("c") && exists("d"));
}
END_TEST

START_TEST(outer_rollback_undoes_inner_commits)
{
	ck_assert_int_eq(rtn_engine_begin(&eng), 0);
	ck_assert_int_eq(put("e"), 0);
	rtn_engine_rollback(&eng);
	ck_assert(!exists("e"));
	ck_assert_int_eq(J.undos, 1);
	ck_assert_int_eq(J.syncs, 0);
	ck_assert_int_eq(eng.depth, 0);
}
END_TEST

START_TEST(inner_rollback_dooms_the_outer_commit)
{
	ck_assert_int_eq(rtn_engine_begin(&eng), 0);
	ck_assert_int_eq(put("f"), 0);
	ck_assert_int_eq(rtn_engine_begin(&eng), 0);
	rtn_engine_rollback(&eng); /* an inner failure */
	ck_assert_int_eq(rtn_engine_commit(&eng), -EIO);
	rtn_engine_rollback(&eng);
	ck_assert(!exists("f"));
	ck_assert_int_eq(eng.depth, 0);
	ck_assert_int_eq(put("g"), 0); /* the next transaction is whole again */
	ck_assert(exists("g"));
}
END_TEST

START_TEST(lost_entry_refuses_the_commit)
{
	eng.journal = &journal;
	ck_assert_int_eq(rtn_engine_begin(&eng), 0);
	J.fail_append = true;
	struct rtn_audit_entry e = {.type = "record.put", .actor = "uid:0"};
	ck_assert_int_eq(rtn_engine_audit(&eng, &e), -EIO);
	rtn_engine_rollback(&eng);
	ck_assert_int_eq(J.undos, 1);
}
END_TEST

START_TEST(rollback_outside_a_transaction_undoes_nothing)
{
	rtn_engine_rollback(&eng);
	ck_assert_int_eq(J.undos, 0);
	ck_assert_int_eq(eng.depth, 0);
}
END_TEST

/* --- records: put, get, event, set, forget (on the shared fixture) ------------------ */

/* The schedule entry i of a result's first record ({"records": [{"schedule"}]}) or of a
 * brief ({"schedule"}). */
static json_t *sched_of(json_t *res, size_t i)
{
	json_t *recs = json_object_get(res, "records");
	json_t *r = recs ? json_array_get(recs, 0) : res;
	return json_array_get(json_object_get(r, "schedule"), i);
}

START_TEST(put_one_record)
{
	json_t *res = NULL;
	ck_assert_int_eq(
	    fx_put_json("{\"id\": \"p1\", \"category\": \"t.doc\", \"subject\": \"s\", "
	                "\"events\": {\"due\": 1767229200}}",
	                FX_NOW, &res),
	    0);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "count")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "inserted")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "updated")), 0);
	json_t *r0 = json_array_get(json_object_get(res, "records"), 0);
	ck_assert_str_eq(fx_jstr(r0, "id"), "p1");
	ck_assert_str_eq(fx_jstr(r0, "state"), "active");
	json_t *s0 = sched_of(res, 0);
	ck_assert_str_eq(fx_jstr(s0, "action"), "delete");
	ck_assert_int_eq(fx_jtime(json_object_get(s0, "at")), FX_DUE);
	ck_assert_str_eq(fx_jstr(s0, "rule"), "d");
	ck_assert_str_eq(fx_jstr(s0, "backend"), "b1");
	ck_assert(json_is_false(json_object_get(s0, "review")));
	ck_assert_ptr_null(sched_of(res, 1));
	json_decref(res);
	struct rtn_inv_row row;
	fx_row("p1", &row);
	ck_assert_str_eq(row.state, "active");
	ck_assert_str_eq(row.rec.subject, "s");
	ck_assert_int_eq(row.sched.del_at, FX_DUE);
	ck_assert_int_eq(row.sched.next_at, FX_DUE);
	ck_assert_str_eq(row.sched.del_rule, "d");
	ck_assert_str_eq(row.sched.next_backend, "b1");
	ck_assert_int_eq(row.sched.anon_at, RTN_TIME_NONE);
	ck_assert_int_eq(json_integer_value(json_object_get(row.rec.events, "created")), FX_NOW);
	rtn_inv_row_fini(&row);
	/* due already when put: queued at once; a category no rule names: unmanaged */
	ck_assert_int_eq(fx_put_json("{\"id\": \"p2\", \"category\": \"t.doc\", "
	                             "\"events\": {\"due\": 1767225000}}",
	                             FX_NOW, NULL),
	                 0);
	ck_assert_str_eq(fx_state("p2"), "queued");
	ck_assert_int_eq(fx_next_at("p2"), FX_NOW - 600);
	ck_assert_int_eq(fx_put_json("{\"id\": \"p3\", \"category\": \"t.none\"}", FX_NOW, NULL),
	                 0);
	ck_assert_str_eq(fx_state("p3"), "unmanaged");
	ck_assert_int_eq(fx_next_at("p3"), RTN_TIME_NONE);
}
END_TEST

START_TEST(put_a_batch)
{
	fx_doc("p1", "t.doc", NULL);
	json_t *res = NULL;
	ck_assert_int_eq(
	    fx_put_json(
	        "{\"records\": ["
	        "{\"id\": \"p2\", \"category\": \"t.doc\", \"events\": {\"due\": 1767229300}},"
	        "{\"id\": \"p3\", \"category\": \"t.anon\", \"events\": {\"due\": 1767229400}},"
	        "{\"id\": \"p1\", \"category\": \"t.doc\", \"events\": {\"due\": 1767229500}}"
	        "]}",
	        FX_NOW + 5, &res),
	    0);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "count")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "inserted")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "updated")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "records")), 3);
	json_decref(res);
	ck_assert_int_eq(fx_next_at("p1"), FX_DUE + 300); /* updated */
	ck_assert_int_eq(fx_next_at("p2"), FX_DUE + 100);
	struct rtn_inv_row row;
	fx_row("p3", &row);
	ck_assert_int_eq(row.sched.anon_at, FX_DUE + 200);
	ck_assert_int_eq(row.sched.del_at, FX_DUE + 200 + 30 * 86400);
	ck_assert_int_eq(row.sched.next_at, FX_DUE + 200);
	rtn_inv_row_fini(&row);
	/* the update kept the original creation time */
	fx_row("p1", &row);
	ck_assert_int_eq(json_integer_value(json_object_get(row.rec.events, "created")), FX_NOW);
	rtn_inv_row_fini(&row);
	/* quiet: counts only */
	ck_assert_int_eq(fx_put_json("{\"quiet\": true, \"records\": [{\"id\": \"p4\", "
	                             "\"category\": \"t.doc\"}]}",
	                             FX_NOW, &res),
	                 0);
	ck_assert_ptr_null(json_object_get(res, "records"));
	ck_assert_int_eq(json_integer_value(json_object_get(res, "inserted")), 1);
	json_decref(res);
	ck_assert_str_eq(fx_state("p4"), "active");
}
END_TEST

/* The entries of a put as the daemon's hook gets them, through the fixture's journal. */
static void put_hook(void *ctx, const char *type, const struct rtn_record *r, struct rtn_jw *detail,
                     int err)
{
	(void)ctx;
	ck_assert_int_eq(err, 0);
	struct rtn_audit_entry e = {
	    .type = type, .actor = "uid:0", .record = r ? r->id : NULL, .detail_json = detail->p};
	ck_assert_int_eq(rtn_engine_audit(&FX.eng, &e), 0);
	free(detail->p);
	detail->p = NULL;
}

static const char BATCH3[] =
    "{\"records\": ["
    "{\"id\": \"u1\", \"category\": \"t.doc\", \"subject\": \"s:1\", \"events\": {\"due\": "
    "1767229300}, \"attributes\": {\"b\": \"secret\", \"a\": 1}},"
    "{\"id\": \"u2\", \"category\": \"t.anon\", \"events\": {\"due\": 1767229400}},"
    "{\"id\": \"u3\", \"category\": \"t.doc\", \"events\": {\"due\": 1767229500}}]}";

START_TEST(put_entries_and_unchanged_reputs)
{
	FX.eng.put_hook = put_hook;
	ck_assert_int_eq(fx_put_json(BATCH3, FX_NOW, NULL), 0);
	ck_assert_uint_eq(fx_count("record.put", NULL), 3);
	char want[512];
	snprintf(want, sizeof(want),
	         "{\"changed\":[\"a\",\"b\"],\"events\":{\"created\":\"2026-01-01T00:00:00Z\","
	         "\"due\":\"2026-01-01T01:01:40Z\"},\"inserted\":true,\"schedule\":[{\"action\":"
	         "\"delete\",\"due\":\"2026-01-01T01:01:40Z\",\"rule\":\"d\"}],\"state\":"
	         "\"active\",\"subject\":\"s:1\"}");
	ck_assert_str_eq(fx_last("record.put", "u1")->detail, want);
	ck_assert_ptr_nonnull(
	    strstr(fx_last("record.put", "u2")->detail,
	           "\"schedule\":[{\"action\":\"anonymize\",\"due\":"
	           "\"2026-01-01T01:03:20Z\",\"rule\":\"a\"},{\"action\":"
	           "\"delete\",\"due\":\"2026-01-31T01:03:20Z\",\"rule\":\"ad\"}]"));
	/* The same batch later: nothing is written, not even the update time; one entry. */
	ck_assert_int_eq(fx_put_json(BATCH3, FX_NOW + 100, NULL), 0);
	ck_assert_uint_eq(fx_count("record.put", NULL), 3);
	ck_assert_uint_eq(fx_count("record.unchanged", NULL), 1);
	char *d = fx_detail("record.unchanged");
	ck_assert_str_eq(d, "{\"records\":3}");
	free(d);
	struct rtn_inv_row row;
	fx_row("u1", &row);
	ck_assert_int_eq(row.updated, FX_NOW);
	rtn_inv_row_fini(&row);
	/* One attribute changed, one removed; the others as they were. */
	ck_assert_int_eq(
	    fx_put_json("{\"records\": [{\"id\": \"u1\", \"category\": \"t.doc\", \"subject\": "
	                "\"s:1\", \"events\": {\"due\": 1767229300}, \"attributes\": {\"a\": 2}},"
	                "{\"id\": \"u2\", \"category\": \"t.anon\", \"events\": {\"due\": "
	                "1767229400}}]}",
	                FX_NOW + 200, NULL),
	    0);
	ck_assert_uint_eq(fx_count("record.put", NULL), 4);
	ck_assert_ptr_nonnull(
	    strstr(fx_last("record.put", "u1")->detail, "{\"changed\":[\"a\",\"b\"],"));
	ck_assert_ptr_null(strstr(fx_last("record.put", "u1")->detail, "secret"));
	ck_assert_ptr_nonnull(strstr(fx_last("record.put", "u1")->detail, "\"inserted\":false"));
	d = fx_detail("record.unchanged");
	ck_assert_str_eq(d, "{\"records\":1}");
	free(d);
	fx_row("u1", &row);
	ck_assert_int_eq(row.updated, FX_NOW + 200);
	rtn_inv_row_fini(&row);
	/* Nothing unchanged: no record.unchanged entry. */
	size_t before = fx_count("record.unchanged", NULL);
	fx_doc("u9", "t.doc", NULL);
	ck_assert_uint_eq(fx_count("record.unchanged", NULL), before);
	FX.eng.put_hook = NULL;
}
END_TEST

START_TEST(put_invalid_stores_nothing)
{
	static const char *const bad[] = {
	    "{\"records\": [{\"id\": \"q1\", \"category\": \"t.doc\"}, {\"id\": \"q2\"}, "
	    "{\"id\": 7, \"category\": \"t.doc\"}]}",
	    "{\"id\": \"q1\"}",
	    "{\"records\": []}",
	    "{\"records\": [{\"id\": \"q1\", \"category\": \"t.doc\"}], \"extra\": 1}",
	    "{\"id\": \"q1\", \"category\": \"t.doc\", \"events\": {\"due\": \"yesterday\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *args = json_loads(bad[i], 0, NULL), *details = NULL;
		ck_assert_ptr_nonnull(args);
		struct rtn_put *p = (void *)1;
		char err[512] = "";
		ck_assert_int_eq(rtn_put_prepare(args, FX_NOW, &p, &details, err, sizeof(err)),
		                 -EINVAL);
		ck_assert_ptr_null(p);
		ck_assert_msg(err[0], "%s: no message", bad[i]);
		if (i == 0) {
			ck_assert_ptr_nonnull(
			    strstr(err, "2 of 3 records are invalid; nothing was written"));
			ck_assert_uint_eq(json_array_size(details), 2);
			json_t *d0 = json_array_get(details, 0), *d1 = json_array_get(details, 1);
			ck_assert_int_eq(json_integer_value(json_object_get(d0, "index")), 1);
			ck_assert_str_eq(fx_jstr(d0, "id"), "q2");
			ck_assert_str_ne(fx_jstr(d0, "message"), "(none)");
			ck_assert_int_eq(json_integer_value(json_object_get(d1, "index")), 2);
			ck_assert(json_is_null(json_object_get(d1, "id")) ||
			          !json_object_get(d1, "id"));
		}
		json_decref(details);
		json_decref(args);
	}
	ck_assert_str_eq(fx_state("q1"), "(none)");
	ck_assert_int_eq(rtn_inv_live_count(FX.inv), 0);
	ck_assert_uint_eq(FX.n, 0);
}
END_TEST

START_TEST(put_of_a_deleted_id_conflicts_alone_and_is_skipped_in_a_batch)
{
	char job[RTN_JOB_ID_LEN];
	fx_doc("d1", "t.doc", NULL);
	fx_act("d1", FX_DUE, job);
	ck_assert_str_eq(fx_state("d1"), "deleted");
	json_t *res = (void *)1;
	ck_assert_int_eq(fx_put_json("{\"id\": \"d1\", \"category\": \"t.doc\"}", FX_DUE, &res),
	                 -EEXIST);
	ck_assert_ptr_null(res);
	/* in a batch (an import repeated): counted as already deleted and skipped, the rest
	 * stored; no entry of it */
	ck_assert_int_eq(fx_put_json("{\"records\": [{\"id\": \"n1\", \"category\": \"t.doc\"}, "
	                             "{\"id\": \"d1\", \"category\": \"t.doc\"}]}",
	                             FX_DUE, &res),
	                 0);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "already_deleted")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "count")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "inserted")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "updated")), 0);
	json_decref(res);
	ck_assert_str_ne(fx_state("n1"), "(none)");
	ck_assert_str_eq(fx_state("d1"), "deleted");

	struct rtn_inv_row row;
	fx_row("d1", &row);
	ck_assert_int_eq(row.deleted_at, FX_DUE);
	ck_assert_str_eq(row.deleted_job, job);
	rtn_inv_row_fini(&row);
	/* a record whose job is out cannot change either */
	fx_doc("b1", "t.doc", NULL);
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	rtn_outjobs_free(out, 1);
	ck_assert_int_eq(fx_put_json("{\"id\": \"b1\", \"category\": \"t.doc\", "
	                             "\"events\": {\"due\": 1767300000}}",
	                             FX_DUE, NULL),
	                 -EEXIST);
	ck_assert_str_eq(fx_state("b1"), "queued");
	ck_assert_int_eq(fx_next_at("b1"), RTN_TIME_NONE);
}
END_TEST

START_TEST(get_shows_the_record)
{
	ck_assert_int_eq(
	    fx_put_json("{\"id\": \"g1\", \"category\": \"t.doc\", \"subject\": \"s\", "
	                "\"backend\": \"own\", \"locator\": {\"path\": \"/x\"}, "
	                "\"attributes\": {\"n\": 3}, "
	                "\"events\": {\"due\": 1767229200}}",
	                FX_NOW, NULL),
	    0);
	json_t *g;
	ck_assert_int_eq(rtn_engine_get(&FX.eng, "g1", FX_NOW, &g), 0);
	ck_assert_str_eq(fx_jstr(g, "id"), "g1");
	ck_assert_str_eq(fx_jstr(g, "category"), "t.doc");
	ck_assert_str_eq(fx_jstr(g, "subject"), "s");
	ck_assert_str_eq(fx_jstr(g, "backend"), "own");
	ck_assert_str_eq(fx_jstr(json_object_get(g, "locator"), "path"), "/x");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(g, "attributes"), "n")),
	                 3);
	json_t *ev = json_object_get(g, "events");
	ck_assert_int_eq(fx_jtime(json_object_get(ev, "due")), FX_DUE);
	ck_assert_int_eq(fx_jtime(json_object_get(ev, "created")), FX_NOW);
	ck_assert_str_eq(fx_jstr(g, "state"), "active");
	ck_assert_uint_eq(json_array_size(json_object_get(g, "schedule")), 1);
	ck_assert_int_eq(fx_jtime(json_object_get(sched_of(g, 0), "at")), FX_DUE);
	ck_assert_str_eq(fx_jstr(sched_of(g, 0), "backend"), "b1"); /* the rule's */
	ck_assert_uint_eq(json_array_size(json_object_get(g, "holds")), 0);
	json_decref(g);
	g = (void *)1;
	ck_assert_int_eq(rtn_engine_get(&FX.eng, "nope", FX_NOW, &g), -ENOENT);
	ck_assert_uint_eq(FX.n, 0); /* reads change nothing */
}
END_TEST

START_TEST(event_moves_the_schedule)
{
	fx_doc("e1", "t.doc", NULL);
	json_t *res = NULL, *at = json_integer(FX_DUE + 100);
	char err[256];
	ck_assert_int_eq(rtn_engine_event(&FX.eng, "e1", "due", at, FX_NOW, &res, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(fx_jstr(res, "id"), "e1");
	ck_assert_str_eq(fx_jstr(res, "state"), "active");
	ck_assert_int_eq(fx_jtime(json_object_get(sched_of(res, 0), "at")), FX_DUE + 100);
	json_decref(res);
	json_decref(at);
	ck_assert_int_eq(fx_next_at("e1"), FX_DUE + 100);
	/* a time already past: due at once */
	at = json_integer(FX_NOW - 1);
	ck_assert_int_eq(rtn_engine_event(&FX.eng, "e1", "due", at, FX_NOW, &res, err, sizeof(err)),
	                 0);
	json_decref(res);
	ck_assert_str_eq(fx_state("e1"), "queued");
	ck_assert_int_eq(fx_next_at("e1"), FX_NOW - 1);
	ck_assert_int_eq(rtn_engine_event(&FX.eng, "e9", "due", at, FX_NOW, &res, err, sizeof(err)),
	                 -ENOENT);
	ck_assert_int_eq(rtn_engine_event(&FX.eng, "e1", "Bad", at, FX_NOW, &res, err, sizeof(err)),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "invalid event name"));
	json_decref(at);
	at = json_string("soon");
	ck_assert_int_eq(rtn_engine_event(&FX.eng, "e1", "due", at, FX_NOW, &res, err, sizeof(err)),
	                 -EINVAL);
	json_decref(at);
	ck_assert_int_eq(fx_next_at("e1"), FX_NOW - 1);
	/* deleted: a tombstone cannot change */
	fx_act("e1", FX_NOW, NULL);
	at = json_integer(FX_DUE);
	ck_assert_int_eq(rtn_engine_event(&FX.eng, "e1", "due", at, FX_NOW, &res, err, sizeof(err)),
	                 -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "was deleted"));
	json_decref(at);
}
END_TEST

START_TEST(set_merges_attributes)
{
	fx_doc("f1", "t.flag", NULL);
	ck_assert_int_eq(fx_next_at("f1"), FX_DUE + 30 * 86400); /* rule fs */
	json_t *res = NULL, *attrs = json_pack("{s:b, s:s}", "fast", 1, "note", "x");
	char err[256];
	ck_assert_int_eq(rtn_engine_set(&FX.eng, "f1", attrs, FX_NOW, &res, err, sizeof(err)), 0);
	ck_assert_str_eq(fx_jstr(sched_of(res, 0), "rule"), "f");
	json_decref(res);
	json_decref(attrs);
	struct rtn_inv_row row;
	fx_row("f1", &row);
	ck_assert_int_eq(row.sched.next_at, FX_DUE);
	ck_assert_str_eq(row.sched.del_rule, "f");
	ck_assert(json_is_true(json_object_get(row.rec.attributes, "fast")));
	rtn_inv_row_fini(&row);
	/* null removes; the other attribute stays */
	attrs = json_pack("{s:n}", "fast");
	ck_assert_int_eq(rtn_engine_set(&FX.eng, "f1", attrs, FX_NOW, &res, err, sizeof(err)), 0);
	json_decref(res);
	json_decref(attrs);
	fx_row("f1", &row);
	ck_assert_int_eq(row.sched.next_at, FX_DUE + 30 * 86400);
	ck_assert_ptr_null(json_object_get(row.rec.attributes, "fast"));
	ck_assert_str_eq(json_string_value(json_object_get(row.rec.attributes, "note")), "x");
	rtn_inv_row_fini(&row);
	/* bad input changes nothing */
	attrs = json_pack("{s:b}", "Fast", 1);
	ck_assert_int_eq(rtn_engine_set(&FX.eng, "f1", attrs, FX_NOW, &res, err, sizeof(err)),
	                 -EINVAL);
	json_decref(attrs);
	attrs = json_pack("[i]", 1);
	ck_assert_int_eq(rtn_engine_set(&FX.eng, "f1", attrs, FX_NOW, &res, err, sizeof(err)),
	                 -EINVAL);
	json_decref(attrs);
	attrs = json_pack("{s:{}}", "deep");
	ck_assert_int_eq(rtn_engine_set(&FX.eng, "f1", attrs, FX_NOW, &res, err, sizeof(err)),
	                 -EINVAL);
	ck_assert_int_eq(rtn_engine_set(&FX.eng, "f9", json_object_get(attrs, "deep"), FX_NOW, &res,
	                                err, sizeof(err)),
	                 -ENOENT);
	json_decref(attrs);
	ck_assert_int_eq(fx_next_at("f1"), FX_DUE + 30 * 86400);
}
END_TEST

START_TEST(forget_removes_what_was_not_acted_on)
{
	fx_doc("x1", "t.doc", NULL);
	json_t *res = NULL;
	char err[256];
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "x1", FX_NOW, &res, err, sizeof(err)), 0);
	ck_assert_str_eq(fx_jstr(res, "id"), "x1");
	ck_assert(json_is_true(json_object_get(res, "forgotten")));
	json_decref(res);
	ck_assert_str_eq(fx_state("x1"), "(none)");
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "x1", FX_NOW, &res, err, sizeof(err)), -ENOENT);
	/* anonymised, or deleted: proof stays */
	fx_doc("n1", "t.anon", NULL);
	fx_act("n1", FX_DUE, NULL);
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "n1", FX_NOW, &res, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "was anonymized"));
	ck_assert_str_eq(fx_state("n1"), "anonymized");
	fx_doc_at("d1", "t.doc", NULL, NULL, FX_DUE + 10);
	fx_act("d1", FX_DUE + 10, NULL);
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "d1", FX_NOW, &res, err, sizeof(err)), -EEXIST);
	ck_assert_str_eq(fx_state("d1"), "deleted");
	/* a job out: the backend's answer settles it first */
	char job[RTN_JOB_ID_LEN];
	fx_send("s1", NULL, job);
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "s1", FX_NOW, &res, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "has a job out"));
	ck_assert_str_eq(fx_job_state(job), "sent");
	/* a refused journal: still there */
	fx_doc("x2", "t.doc", NULL);
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "x2", FX_NOW, &res, err, sizeof(err)), -EIO);
	FX.fail_sync = false;
	ck_assert_str_eq(fx_state("x2"), "active");
}
END_TEST

/* --- redecide, recompute, advance, plan ------------------------------------------------ */

static int redecide(const char *id, rtn_time_t now, bool guard, bool *changed, bool *paused)
{
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	int r = rtn_engine_redecide(&FX.eng, fx_rid(id), now, guard, changed, paused);
	ck_assert_int_eq(rtn_engine_end(&FX.eng, r), r);
	return r;
}

START_TEST(redecide_follows_a_changed_rule)
{
	fx_doc("c1", "t.doc", NULL);
	bool changed = true, paused = true;
	ck_assert_int_eq(redecide("c1", FX_NOW, false, &changed, &paused), 0);
	ck_assert(!changed && !paused);
	fx_rules("rule d { category t.doc; delete 2 hours after due; backend b1 }\n");
	ck_assert_int_eq(redecide("c1", FX_NOW, false, &changed, &paused), 0);
	ck_assert(changed && !paused);
	ck_assert_int_eq(fx_next_at("c1"), FX_DUE + 7200);
	ck_assert_str_eq(fx_state("c1"), "active");
	/* a rule that lets go of the category: unmanaged, nothing scheduled */
	fx_rules("rule other { category t.two; delete 2 hours after due }\n");
	ck_assert_int_eq(redecide("c1", FX_NOW, false, &changed, &paused), 0);
	ck_assert(changed);
	ck_assert_str_eq(fx_state("c1"), "unmanaged");
	ck_assert_int_eq(fx_next_at("c1"), RTN_TIME_NONE);
	/* a row that is not there: nothing to do */
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_engine_redecide(&FX.eng, 9999, FX_NOW, false, &changed, NULL), 0);
	ck_assert(!changed);
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), 0);
}
END_TEST

START_TEST(redecide_cancels_a_retry_under_a_hold)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, job);
	fx_raw_hold("id", "r1", "h");
	bool changed, paused;
	ck_assert_int_eq(redecide("r1", FX_DUE + 1, false, &changed, &paused), 0);
	ck_assert(changed);
	ck_assert_str_eq(fx_job_state(job), "cancelled");
	ck_assert_str_eq(fx_state("r1"), "held");
	const struct fx_entry *c = fx_last("job.cancelled", "r1");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->job, job);
	ck_assert_str_eq(c->rule, "d");
	ck_assert_ptr_nonnull(strstr(c->detail, "a hold applies (h)"));
	/* once is enough */
	ck_assert_int_eq(redecide("r1", FX_DUE + 2, false, &changed, &paused), 0);
	ck_assert(!changed);
	ck_assert_uint_eq(fx_count("job.cancelled", NULL), 1);
}
END_TEST

START_TEST(redecide_cancels_a_retry_the_rules_no_longer_want)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, job);
	fx_rules("rule d { category t.doc; delete 1 day after due; backend b1 }\n");
	bool changed, paused;
	ck_assert_int_eq(redecide("r1", FX_DUE + 1, false, &changed, &paused), 0);
	ck_assert(changed);
	ck_assert_str_eq(fx_job_state(job), "cancelled");
	ck_assert_str_eq(fx_state("r1"), "active");
	ck_assert_int_eq(fx_next_at("r1"), FX_DUE + 86400);
	ck_assert_ptr_nonnull(strstr(fx_last("job.cancelled", "r1")->detail,
	                             "the current rules want delete by rule d"));
	/* the retry time passes: nothing goes out early */
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 3600, 10, &out), 0);
}
END_TEST

START_TEST(redecide_leaves_a_job_in_flight)
{
	fx_doc("r1", "t.doc", NULL);
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	fx_raw_hold("id", "r1", "h");
	bool changed, paused;
	ck_assert_int_eq(redecide("r1", FX_DUE + 1, false, &changed, &paused), 0);
	ck_assert(changed);
	ck_assert_str_eq(fx_job_state(out[0].job), "sent");
	ck_assert_str_eq(fx_state("r1"), "held");
	ck_assert_uint_eq(fx_count("job.cancelled", NULL), 0);
	/* a changed rule does not call it back either */
	fx_rules("rule d { category t.doc; delete 1 day after due; backend b1 }\n");
	ck_assert_int_eq(redecide("r1", FX_DUE + 2, false, &changed, &paused), 0);
	ck_assert_str_eq(fx_job_state(out[0].job), "sent");
	ck_assert_uint_eq(fx_count("job.cancelled", NULL), 0);
	rtn_outjobs_free(out, 1);
}
END_TEST

/* The rules before a "typo": t.doc deleted 30 days after due. */
static const char RULES_30D[] = "rule d { category t.doc; delete 30 days after due; backend b1 }\n"
                                "rule d2 { category t.two; delete immediately after due; "
                                "backend b2 }\n";

/* g1 falls due at once under FX_RULES, g2 within the guard's window, g3 a day later; g0
 * is due under both rule sets, and t2 (t.two) does not change. */
static void guard_records(void)
{
	fx_rules(RULES_30D);
	fx_doc_at("g1", "t.doc", NULL, NULL, FX_NOW - 86400);
	fx_doc_at("g2", "t.doc", NULL, NULL, FX_NOW + 1800);
	fx_doc_at("g3", "t.doc", NULL, NULL, FX_NOW + 86400);
	fx_doc_at("t2", "t.two", NULL, NULL, FX_NOW + 86400);
	fx_doc_at("g0", "t.doc", NULL, NULL, FX_NOW - 31 * 86400); /* due under both */
	ck_assert_str_eq(fx_state("g1"), "active");
	ck_assert_str_eq(fx_state("g0"), "queued");
	fx_rules(FX_RULES);
}

START_TEST(recompute_all_with_the_guard_pauses)
{
	guard_records();
	size_t changed = 99, paused = 99;
	ck_assert_int_eq(rtn_engine_recompute_all(&FX.eng, FX_NOW, 2, true, &changed, &paused), 0);
	ck_assert_uint_eq(changed, 4); /* g0's schedule moved too */
	ck_assert_uint_eq(paused, 2);
	ck_assert_str_eq(fx_state("g1"), "paused");
	ck_assert_str_eq(fx_state("g2"), "paused");
	ck_assert_str_eq(fx_state("g3"), "active");
	ck_assert_int_eq(fx_next_at("g3"), FX_NOW + 86400);
	ck_assert_str_eq(fx_state("t2"), "active");
	ck_assert_str_eq(fx_state("g0"), "queued"); /* due before the change: not held back */
	/* paused records are not sent, not even once due */
	ck_assert_int_eq(fx_advance(FX_NOW + 3600), 0);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_NOW + 3600, 10, &out), 1);
	ck_assert_str_eq(out[0].record, "g0");
	rtn_outjobs_free(out, 1);
	/* and a second pass keeps them paused */
	ck_assert_int_eq(
	    rtn_engine_recompute_all(&FX.eng, FX_NOW + 60, 10, true, &changed, &paused), 0);
	ck_assert_str_eq(fx_state("g1"), "paused");
	ck_assert_uint_eq(paused, 0);
}
END_TEST

START_TEST(recompute_all_without_the_guard)
{
	guard_records();
	size_t changed, paused;
	ck_assert_int_eq(rtn_engine_recompute_all(&FX.eng, FX_NOW, 3, false, &changed, &paused), 0);
	ck_assert_uint_eq(changed, 4);
	ck_assert_uint_eq(paused, 0);
	ck_assert_str_eq(fx_state("g1"), "queued");
	ck_assert_int_eq(fx_next_at("g1"), FX_NOW - 86400);
	ck_assert_str_eq(fx_state("g2"), "active");
	ck_assert_int_eq(fx_next_at("g2"), FX_NOW + 1800);
	/* nothing changed: nothing counted */
	ck_assert_int_eq(rtn_engine_recompute_all(&FX.eng, FX_NOW, 3, false, &changed, &paused), 0);
	ck_assert_uint_eq(changed, 0);
}
END_TEST

START_TEST(recompute_all_commits_nothing_when_the_journal_refuses)
{
	guard_records();
	FX.fail_sync = true;
	size_t changed = 99, paused = 99;
	ck_assert_int_eq(rtn_engine_recompute_all(&FX.eng, FX_NOW, 10, true, &changed, &paused),
	                 -EIO);
	FX.fail_sync = false;
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(paused, 0);
	ck_assert_str_eq(fx_state("g1"), "active");
	ck_assert_int_eq(fx_next_at("g1"), FX_NOW - 86400 + 30 * 86400);
}
END_TEST

START_TEST(advance_moves_what_is_due)
{
	fx_doc_at("a1", "t.doc", NULL, NULL, FX_DUE);
	fx_doc_at("a2", "t.doc", NULL, NULL, FX_DUE + 1);
	fx_doc_at("v1", "t.rev", NULL, NULL, FX_DUE);
	fx_doc_at("n1", "t.anon", NULL, NULL, FX_DUE - 1);
	ck_assert_int_eq(fx_advance(FX_DUE - 2), 0);
	ck_assert_int_eq(fx_advance(FX_DUE), 3);
	ck_assert_str_eq(fx_state("a1"), "queued");
	ck_assert_int_eq(fx_next_at("a1"), FX_DUE); /* the time it fell due */
	ck_assert_str_eq(fx_state("v1"), "review");
	ck_assert_str_eq(fx_state("n1"), "queued");
	ck_assert_str_eq(fx_state("a2"), "active"); /* a second later: not yet */
	ck_assert_int_eq(fx_advance(FX_DUE), 0);
	ck_assert_int_eq(fx_advance(FX_DUE + 1), 1);
	ck_assert_str_eq(fx_state("a2"), "queued");
}
END_TEST

START_TEST(advance_respects_max_and_the_journal)
{
	fx_doc_at("a3", "t.doc", NULL, NULL, FX_DUE + 2);
	fx_doc_at("a1", "t.doc", NULL, NULL, FX_DUE);
	fx_doc_at("a2", "t.doc", NULL, NULL, FX_DUE + 1);
	size_t n = 99;
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_engine_advance(&FX.eng, FX_DUE + 2, 10, &n), -EIO);
	FX.fail_sync = false;
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(fx_state("a1"), "active");
	ck_assert_int_eq(rtn_engine_advance(&FX.eng, FX_DUE + 2, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(fx_state("a1"), "queued"); /* earliest first */
	ck_assert_str_eq(fx_state("a2"), "queued");
	ck_assert_str_eq(fx_state("a3"), "active");
	ck_assert_int_eq(rtn_engine_advance(&FX.eng, FX_DUE + 2, 2, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fx_state("a3"), "queued");
}
END_TEST

/* The record and time of plan action i. */
static const char *plan_rec(json_t *p, size_t i, rtn_time_t *at)
{
	json_t *a = json_array_get(json_object_get(p, "actions"), i);
	*at = fx_jtime(json_object_get(a, "at"));
	return fx_jstr(a, "record");
}

START_TEST(plan_lists_in_time_order)
{
	fx_doc_at("p1", "t.doc", NULL, NULL, FX_DUE + 300);
	fx_doc_at("p2", "t.doc", NULL, NULL, FX_DUE + 100);
	fx_doc_at("p3", "t.doc", NULL, NULL, FX_DUE + 200);
	fx_doc_at("n1", "t.anon", NULL, NULL, FX_DUE + 50);
	fx_doc_at("late", "t.doc", NULL, NULL, FX_DUE + 5000);
	size_t entries = FX.n;
	json_t *p;
	ck_assert_int_eq(rtn_engine_plan(&FX.eng, FX_DUE + 1000, NULL, 10, &p), 0);
	ck_assert_int_eq(fx_jtime(json_object_get(p, "until")), FX_DUE + 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "count")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "shown")), 4);
	ck_assert(json_is_false(json_object_get(p, "truncated")));
	static const struct {
		const char *id;
		rtn_time_t at;
	} want[] = {
	    {"n1", FX_DUE + 50}, {"p2", FX_DUE + 100}, {"p3", FX_DUE + 200}, {"p1", FX_DUE + 300}};
	for (size_t i = 0; i < 4; i++) {
		rtn_time_t at;
		ck_assert_str_eq(plan_rec(p, i, &at), want[i].id);
		ck_assert_int_eq(at, want[i].at);
	}
	json_t *a0 = json_array_get(json_object_get(p, "actions"), 0);
	ck_assert_str_eq(fx_jstr(a0, "action"), "anonymize");
	ck_assert_str_eq(fx_jstr(a0, "rule"), "a");
	ck_assert_str_eq(fx_jstr(a0, "backend"), "b1");
	ck_assert_str_eq(fx_jstr(a0, "state"), "active");
	json_t *t = json_object_get(p, "totals");
	ck_assert_uint_eq(json_array_size(t), 2);
	ck_assert_str_eq(fx_jstr(json_array_get(t, 0), "rule"), "a");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 0), "count")), 1);
	ck_assert_str_eq(fx_jstr(json_array_get(t, 1), "rule"), "d");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 1), "count")), 3);
	json_decref(p);
	/* a limit shows the first, counts them all */
	ck_assert_int_eq(rtn_engine_plan(&FX.eng, FX_DUE + 1000, NULL, 2, &p), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "count")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "shown")), 2);
	ck_assert(json_is_true(json_object_get(p, "truncated")));
	ck_assert_uint_eq(json_array_size(json_object_get(p, "actions")), 2);
	rtn_time_t at;
	ck_assert_str_eq(plan_rec(p, 0, &at), "n1");
	ck_assert_str_eq(plan_rec(p, 1, &at), "p2");
	json_decref(p);
	/* one category; the later stage of n1 once until reaches it */
	ck_assert_int_eq(rtn_engine_plan(&FX.eng, FX_DUE + 40 * 86400, "t.anon", 10, &p), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "count")), 2);
	ck_assert_str_eq(fx_jstr(json_array_get(json_object_get(p, "actions"), 1), "action"),
	                 "delete");
	ck_assert_str_eq(fx_jstr(json_array_get(json_object_get(p, "actions"), 1), "rule"), "ad");
	json_decref(p);
	/* what is due already is listed with its state; reading changes nothing */
	ck_assert_int_eq(fx_advance(FX_DUE + 100), 2);
	entries = FX.n;
	ck_assert_int_eq(rtn_engine_plan(&FX.eng, FX_DUE + 1000, NULL, 10, &p), 0);
	ck_assert_str_eq(fx_jstr(json_array_get(json_object_get(p, "actions"), 1), "state"),
	                 "queued");
	json_decref(p);
	ck_assert_uint_eq(FX.n, entries);
	ck_assert_str_eq(fx_state("p3"), "active");
}
END_TEST

/* --- anchors of the subject ---------------------------------------------------------- */

static const char SUBJECT_RULES[] =
    "rule s { category t.subj; delete 30 days after latest(seen) of subject; backend b1 }\n"
    "rule se { category t.first; delete 10 days after earliest(seen) of subject; backend b1 "
    "}\n"
    "rule d { category t.doc; delete immediately after due; backend b1 }\n";

/* Put a record of category (subject may be NULL) with its "seen" event at seen. */
static void put_seen(const char *id, const char *category, const char *subject, rtn_time_t seen)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s?, s:{s:I, s:I}}", "id", id, "category", category, "subject",
	              subject, "events", "seen", (json_int_t)seen, "due", (json_int_t)FX_DUE);
	char *text = json_dumps(o, JSON_COMPACT);
	ck_assert_int_eq(fx_put_json(text, FX_NOW, NULL), 0);
	free(text);
	json_decref(o);
}

START_TEST(subject_anchor_moves_with_the_subject)
{
	fx_rules(SUBJECT_RULES);
	put_seen("a1", "t.subj", "P", FX_NOW);
	put_seen("b1", "t.subj", "Q", FX_NOW);
	put_seen("n1", "t.subj", NULL, FX_NOW + 3 * FX_DAY);
	ck_assert_int_eq(fx_next_at("a1"), FX_NOW + 30 * FX_DAY);
	/* a second record of P, seen later, moves a1 (audited), not b1 of Q */
	put_seen("a2", "t.subj", "P", FX_NOW + 10 * FX_DAY);
	ck_assert_int_eq(fx_next_at("a1"), FX_NOW + 40 * FX_DAY);
	ck_assert_int_eq(fx_next_at("a2"), FX_NOW + 40 * FX_DAY);
	ck_assert_int_eq(fx_next_at("b1"), FX_NOW + 30 * FX_DAY);
	ck_assert_int_eq(fx_next_at("n1"), FX_NOW + 33 * FX_DAY);
	ck_assert_uint_eq(fx_count("record.redecided", "a1"), 1);
	ck_assert_uint_eq(fx_count("record.redecided", NULL), 1);
	const struct fx_entry *x = fx_last("record.redecided", "a1");
	ck_assert_str_eq(x->detail, "{\"cause\":\"a2\",\"schedule\":[{\"action\":\"delete\","
	                            "\"due\":\"2026-02-10T00:00:00Z\",\"rule\":\"s\"}],"
	                            "\"state\":\"active\",\"subject\":\"P\"}");
	/* explain says where the anchor's time came from */
	json_t *res = NULL;
	ck_assert_int_eq(rtn_engine_explain(&FX.eng, "a1", FX_NOW, &res), 0);
	json_t *an = json_object_get(json_array_get(json_object_get(res, "rules"), 0), "anchor");
	ck_assert_str_eq(fx_jstr(an, "record"), "a2");
	ck_assert_str_eq(fx_jstr(an, "event"), "seen");
	ck_assert_int_eq(fx_jtime(json_object_get(an, "at")), FX_NOW + 10 * FX_DAY);
	json_decref(res);
	/* the earliest form: the earliest seen of P is a1's */
	put_seen("e1", "t.first", "P", FX_NOW + 5 * FX_DAY);
	ck_assert_int_eq(fx_next_at("e1"), FX_NOW + 10 * FX_DAY);
	/* record.event of a2 moves a1 again; forget of a2 gives a1 back its own */
	char err[256];
	json_t *at = json_integer(FX_NOW + 20 * FX_DAY);
	ck_assert_int_eq(
	    rtn_engine_event(&FX.eng, "a2", "seen", at, FX_NOW, &res, err, sizeof(err)), 0);
	json_decref(at);
	json_decref(res);
	ck_assert_int_eq(fx_next_at("a1"), FX_NOW + 50 * FX_DAY);
	ck_assert_uint_eq(fx_count("record.redecided", "a1"), 2);
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "a2", FX_NOW, &res, err, sizeof(err)), 0);
	json_decref(res);
	/* every record of P counts, of any category: e1's seen is now the latest */
	ck_assert_int_eq(fx_next_at("a1"), FX_NOW + 35 * FX_DAY);
	ck_assert_int_eq(fx_next_at("e1"), FX_NOW + 10 * FX_DAY);
	ck_assert_int_eq(fx_next_at("b1"), FX_NOW + 30 * FX_DAY);
	ck_assert_uint_eq(fx_count("record.redecided", "b1"), 0);
	ck_assert_uint_eq(fx_count("record.redecided", "n1"), 0);
}
END_TEST

START_TEST(subject_anchor_in_one_batch)
{
	fx_rules(SUBJECT_RULES);
	ck_assert_int_eq(fx_put_json("{\"records\": [{\"id\": \"r1\", \"category\": \"t.subj\", "
	                             "\"subject\": \"R\", \"events\": {\"seen\": 1767225600}}, "
	                             "{\"id\": \"r2\", \"category\": \"t.subj\", \"subject\": "
	                             "\"R\", \"events\": {\"seen\": 1767657600}}]}",
	                             FX_NOW, NULL),
	                 0);
	ck_assert_int_eq(fx_next_at("r1"), FX_NOW + 35 * FX_DAY);
	ck_assert_int_eq(fx_next_at("r2"), FX_NOW + 35 * FX_DAY);
	/* a deleted record no longer counts: its subject and events went with it */
	put_seen("z1", "t.doc", "S", FX_NOW + 100 * FX_DAY);
	fx_act("z1", FX_DUE, NULL);
	ck_assert_str_eq(fx_state("z1"), "deleted");
	put_seen("s1", "t.subj", "S", FX_NOW);
	ck_assert_int_eq(fx_next_at("s1"), FX_NOW + 30 * FX_DAY);
}
END_TEST

/* A job's entries carry the anchor's time as the subject's records gave it. */
START_TEST(subject_anchor_time_in_the_job_entry)
{
	fx_rules("rule sn { category t.subj; delete immediately after latest(seen) of subject; "
	         "backend b1 }\n");
	put_seen("x1", "t.subj", "P", FX_NOW - 2 * FX_DAY);
	put_seen("x2", "t.other", "P", FX_NOW - FX_DAY);
	ck_assert_int_eq(fx_next_at("x1"), FX_NOW - FX_DAY);
	fx_act("x1", FX_NOW, NULL);
	const struct fx_entry *x = fx_last("job.sent", "x1");
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(strstr(x->detail, "\"anchor\":\"seen\",\"anchor_time\":"
	                                        "\"2025-12-31T00:00:00Z\""));
}
END_TEST

/* Without a rule anchored on the subject nothing else is looked at or decided again. */
START_TEST(subject_anchor_only_when_a_rule_asks)
{
	fx_doc("p1", "t.doc", "P");
	fx_doc("p2", "t.doc", "P");
	ck_assert_uint_eq(fx_count("record.redecided", NULL), 0);
	ck_assert_int_eq(fx_next_at("p1"), FX_DUE);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("transactions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, commit_syncs_the_journal_first);
	tcase_add_test(tc, failed_sync_changes_nothing);
	tcase_add_test(tc, nested_levels_commit_once);
	tcase_add_test(tc, outer_rollback_undoes_inner_commits);
	tcase_add_test(tc, inner_rollback_dooms_the_outer_commit);
	tcase_add_test(tc, lost_entry_refuses_the_commit);
	tcase_add_test(tc, rollback_outside_a_transaction_undoes_nothing);
	suite_add_tcase(s, tc);
	tc = tcase_create("records");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, put_one_record);
	tcase_add_test(tc, put_a_batch);
	tcase_add_test(tc, put_invalid_stores_nothing);
	tcase_add_test(tc, put_entries_and_unchanged_reputs);
	tcase_add_test(tc, put_of_a_deleted_id_conflicts_alone_and_is_skipped_in_a_batch);
	tcase_add_test(tc, get_shows_the_record);
	tcase_add_test(tc, event_moves_the_schedule);
	tcase_add_test(tc, set_merges_attributes);
	tcase_add_test(tc, forget_removes_what_was_not_acted_on);
	suite_add_tcase(s, tc);
	tc = tcase_create("schedule");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, redecide_follows_a_changed_rule);
	tcase_add_test(tc, redecide_cancels_a_retry_under_a_hold);
	tcase_add_test(tc, redecide_cancels_a_retry_the_rules_no_longer_want);
	tcase_add_test(tc, redecide_leaves_a_job_in_flight);
	tcase_add_test(tc, recompute_all_with_the_guard_pauses);
	tcase_add_test(tc, recompute_all_without_the_guard);
	tcase_add_test(tc, recompute_all_commits_nothing_when_the_journal_refuses);
	tcase_add_test(tc, advance_moves_what_is_due);
	tcase_add_test(tc, advance_respects_max_and_the_journal);
	tcase_add_test(tc, plan_lists_in_time_order);
	tcase_add_test(tc, subject_anchor_moves_with_the_subject);
	tcase_add_test(tc, subject_anchor_in_one_batch);
	tcase_add_test(tc, subject_anchor_only_when_a_rule_asks);
	tcase_add_test(tc, subject_anchor_time_in_the_job_entry);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
