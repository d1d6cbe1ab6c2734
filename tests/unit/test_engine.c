/* test_engine.c - the engine's transactions and their journal: audit before effect */
#include "testutil.h"

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
	return s;
}

RTN_TEST_MAIN(suite)
