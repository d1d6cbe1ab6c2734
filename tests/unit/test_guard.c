/* test_guard.c - a rule change under the mass-deletion guard: the threshold, the release
 * of a small change, the pause of a large one, the entries and the stored hash and zone */
#include <openssl/sha.h>

#include "fixture.h"

#include "guard.h"

#define RULES_OLD "rule t { category t.doc; delete 1 year after due; backend b1 }\n"
#define RULES_NEW "rule t { category t.doc; delete 1 day after due; backend b1 }\n"

static struct rtn_ruleset *next;

static void setup(void)
{
	fx_setup();
	fx_rules(RULES_OLD);
	next = fx_ruleset(RULES_NEW);
}

static void teardown(void)
{
	rtn_ruleset_free(next);
	free(next);
	fx_teardown();
}

/* n records, each due ten days ago: the new rules make them all due now. */
static void put_due(int n)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		fx_doc_at(id, "t.doc", NULL, "b1", FX_NOW - 10 * FX_DAY);
		ck_assert_str_eq(fx_state(id), "active");
	}
}

static void assert_states(int n, const char *state)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		ck_assert_str_eq(fx_state(id), state);
	}
}

/* Three records made due by the new rules, applied under guard. */
static int change(long guard, struct rtn_guard_result *g)
{
	put_due(3);
	rtn_engine_set_rules(&FX.eng, next);
	return rtn_guard_apply(&FX.eng, guard, "UTC", "daemon", 100, FX_NOW, g);
}

/* j (taken) as sorted compact JSON is want. */
static void assert_json_text(json_t *j, const char *want)
{
	ck_assert_ptr_nonnull(j);
	char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(got, want);
	free(got);
	json_decref(j);
}

static void assert_detail(const char *type, const char *want)
{
	char *got = fx_detail(type);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(limit_is_the_floor_or_a_twentieth)
{
	ck_assert_int_eq(rtn_guard_limit(1000, 0), 1000);
	ck_assert_int_eq(rtn_guard_limit(1000, 19999), 1000);
	ck_assert_int_eq(rtn_guard_limit(1000, 20000), 1000);
	ck_assert_int_eq(rtn_guard_limit(1000, 20020), 1001);
	ck_assert_int_eq(rtn_guard_limit(1000, 1000000), 50000);
	ck_assert_int_eq(rtn_guard_limit(5, 200), 10);
	ck_assert_int_eq(rtn_guard_limit(0, 19), 0);
	ck_assert_int_eq(rtn_guard_limit(0, 100), 5);
	ck_assert_int_eq(rtn_guard_limit(1, -1), 1); /* an unknown count leaves the floor */
}
END_TEST

START_TEST(small_change_is_released)
{
	put_due(3);
	rtn_engine_set_rules(&FX.eng, next);
	struct rtn_guard_result g;
	ck_assert(rtn_guard_stale(&FX.eng, next->hash, "UTC"));
	ck_assert_int_eq(rtn_guard_apply(&FX.eng, 1000, "UTC", "daemon", 100, FX_NOW, &g), 0);
	ck_assert_uint_eq(g.changed, 3);
	ck_assert_uint_eq(g.paused, 0);
	ck_assert_int_eq(g.released, 3);
	ck_assert_int_eq(g.limit, 1000);
	ck_assert_ptr_null(g.by_rule);
	assert_states(3, "queued");
	char want[256];
	snprintf(want, sizeof(want),
	         "{\"paused\":0,\"released\":3,\"rescheduled\":3,\"rules_hash\":\"%s\"}",
	         next->hash);
	assert_detail("schedule.changed", want);
	ck_assert_uint_eq(fx_count("guard.paused", NULL), 0);
	/* The rules' hash and the zone are stored with the outcome. */
	ck_assert(!rtn_guard_stale(&FX.eng, next->hash, "UTC"));
	ck_assert(!rtn_guard_stale(&FX.eng, next->hash, NULL));
	ck_assert(rtn_guard_stale(&FX.eng, next->hash, "Europe/Oslo"));
	ck_assert(rtn_guard_stale(&FX.eng, FX.rules->hash, NULL));
}
END_TEST

START_TEST(large_change_is_paused_until_confirmed)
{
	struct rtn_guard_result g;
	ck_assert_int_eq(change(2, &g), 0);
	ck_assert_uint_eq(g.paused, 3);
	ck_assert_int_eq(g.released, 0);
	ck_assert_int_eq(g.limit, 2);
	ck_assert_ptr_nonnull(g.by_rule);
	json_decref(g.by_rule);
	assert_states(3, "paused");
	char want[256];
	snprintf(want, sizeof(want),
	         "{\"paused\":3,\"released\":0,\"rescheduled\":3,\"rules_hash\":\"%s\"}",
	         next->hash);
	assert_detail("schedule.changed", want);
	snprintf(want, sizeof(want),
	         "{\"cause\":\"rules\",\"records\":3,\"ref\":\"%s\",\"rules\":[{\"records\":3,"
	         "\"rule\":\"t\"}]}",
	         next->hash);
	assert_detail("guard.paused", want);
	ck_assert(!rtn_guard_stale(&FX.eng, next->hash, "UTC"));
	/* rules.confirm releases them, in one transaction. */
	int syncs = FX.syncs;
	ck_assert_int_eq(rtn_guard_confirm(&FX.eng, FX_NOW, NULL), 3);
	ck_assert_int_eq(FX.syncs, syncs + 1);
	assert_states(3, "queued");
}
END_TEST

START_TEST(paused_records_are_not_released_by_a_later_small_change)
{
	struct rtn_guard_result g;
	ck_assert_int_eq(change(2, &g), 0);
	json_decref(g.by_rule);
	/* The guard already holds records: only rules.confirm releases them. */
	ck_assert_int_eq(rtn_guard_apply(&FX.eng, 1000, "UTC", "daemon", 100, FX_NOW, &g), 0);
	ck_assert_int_eq(g.released, 0);
	json_decref(g.by_rule);
	assert_states(3, "paused");
}
END_TEST

START_TEST(without_a_guard_nothing_is_paused)
{
	struct rtn_guard_result g;
	ck_assert_int_eq(change(0, &g), 0);
	ck_assert_uint_eq(g.paused, 0);
	ck_assert_int_eq(g.released, 0);
	assert_states(3, "queued");
	ck_assert_uint_eq(fx_count("schedule.changed", NULL), 1);
}
END_TEST

START_TEST(failed_sync_stores_no_outcome)
{
	put_due(3);
	rtn_engine_set_rules(&FX.eng, next);
	FX.fail_sync = true;
	struct rtn_guard_result g;
	ck_assert_int_eq(rtn_guard_apply(&FX.eng, 1000, "UTC", "daemon", 100, FX_NOW, &g), -EIO);
	ck_assert_ptr_null(g.by_rule);
	ck_assert_uint_eq(fx_count("schedule.changed", NULL), 0);
	ck_assert(rtn_guard_stale(&FX.eng, next->hash, NULL));
	assert_states(3, "active");
	ck_assert_int_eq(FX.eng.depth, 0);
}
END_TEST

START_TEST(rules_loaded_is_synced_in_its_own_transaction)
{
	int syncs = FX.syncs;
	ck_assert_int_eq(rtn_guard_rules_loaded(&FX.eng, next, "UTC", "daemon"), 0);
	ck_assert_int_eq(FX.syncs, syncs + 1);
	/* Each rule's definition: its canonical text, whose SHA-256 is its hash. */
	const char *text = "rule t\ncategory t.doc\ndelete 1 day after due\nbackend b1\nreview "
	                   "0\nbasis 0:\n";
	char *canon = rtn_rule_canonical(&next->rules[0]);
	ck_assert_str_eq(canon, text);
	free(canon);
	unsigned char md[32];
	char hex[65];
	SHA256((const unsigned char *)text, strlen(text), md);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ck_assert_str_eq(hex, next->rules[0].hash);
	char want[1024];
	snprintf(want, sizeof(want),
	         "{\"definitions\":[{\"action\":\"delete\",\"anchor\":\"due\",\"categories\":"
	         "[\"t.doc\"],\"file\":\"t.rules\",\"hash\":\"%s\",\"line\":1,\"name\":\"t\","
	         "\"span\":\"1 day\",\"text\":\"rule t\\ncategory t.doc\\ndelete 1 day after "
	         "due\\nbackend b1\\nreview 0\\nbasis 0:\\n\"}],\"files\":[\"t.rules\"],\"hash\":"
	         "\"%s\",\"namespaces\":[],\"rules\":1,\"timezone\":\"UTC\"}",
	         hex, next->hash);
	assert_detail("rules.loaded", want);
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_guard_rules_loaded(&FX.eng, next, "UTC", "daemon"), -EIO);
	ck_assert_uint_eq(fx_count("rules.loaded", NULL), 1);
	ck_assert_int_eq(FX.eng.depth, 0);
}
END_TEST

/* --- one step of another cause (rtn_guard_step) ------------------------------------- */

static void step_setup(void)
{
	fx_setup();
	next = NULL;
}

/* An import's batch as the daemon stores it: records from..from+n-1 of category, due a day
 * ago (so due at once), put and passed to the guard in one transaction. The number the
 * guard paused. */
static int batch(const char *ref, int from, int n, const char *category, long guard, rtn_time_t now)
{
	json_t *recs = json_array();
	for (int i = from; i < from + n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		json_array_append_new(recs, json_pack("{s:s, s:s, s:s, s:{s:I}}", "id", id,
		                                      "category", category, "backend", "b1",
		                                      "events", "due", (json_int_t)(now - FX_DAY)));
	}
	json_t *args = json_pack("{s:o, s:b}", "records", recs, "quiet", 1), *details = NULL,
	       *res = NULL;
	if (ref)
		json_object_set_new(args, "import", json_string(ref));
	char err[256];
	struct rtn_put *p;
	ck_assert_int_eq(rtn_put_prepare(args, now, &p, &details, err, sizeof(err)), 0);
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_engine_put_prepared(&FX.eng, p, now, &res, err, sizeof(err)), 0);
	size_t ndue;
	const int64_t *due = rtn_put_due(p, &ndue);
	int paused = rtn_guard_step(&FX.eng, guard, "import", rtn_put_import(p), due, ndue, now);
	ck_assert_int_ge(paused, 0);
	ck_assert_int_eq(rtn_engine_end(&FX.eng, 0), 0);
	json_decref(res);
	json_decref(args);
	rtn_put_free(p);
	return paused;
}

static void assert_range(int from, int n, const char *state)
{
	for (int i = from; i < from + n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		ck_assert_msg(!strcmp(fx_state(id), state), "%s: %s, not %s", id, fx_state(id),
		              state);
	}
}

START_TEST(step_under_the_limit_is_not_paused)
{
	ck_assert_int_eq(batch("import-1", 0, 3, "t.doc", 3, FX_NOW), 0);
	assert_range(0, 3, "queued");
	ck_assert_uint_eq(fx_count("guard.paused", NULL), 0);
	assert_json_text(rtn_inv_paused_by_rule(FX.inv), "[]");
}
END_TEST

START_TEST(step_over_the_limit_is_paused_with_its_cause)
{
	ck_assert_int_eq(batch("import-1", 0, 5, "t.doc", 1, FX_NOW), 5);
	assert_range(0, 5, "paused");
	assert_detail("guard.paused", "{\"cause\":\"import\",\"records\":5,\"ref\":\"import-1\","
	                              "\"rules\":[{\"records\":5,\"rule\":\"d\"}],\"step\":5}");
	assert_json_text(rtn_inv_paused_by_rule(FX.inv),
	                 "[{\"cause\":\"import\",\"records\":5,\"rule\":\"d\"}]");
	/* nothing of them is taken for a backend */
	struct rtn_outjob *out = NULL;
	ck_assert_uint_eq(fx_take(&fx_b1, FX_ALL, FX_NOW, 100, &out), 0);
	rtn_outjobs_free(out, 0);
	/* a re-put of a paused record leaves it paused */
	ck_assert_int_eq(batch("import-2", 0, 1, "t.doc", 1000, FX_NOW), 0);
	ck_assert_str_eq(fx_state("r0"), "paused");
	/* guard.confirm releases them all */
	json_t *causes;
	ck_assert_int_eq(rtn_guard_confirm(&FX.eng, FX_NOW, &causes), 5);
	assert_json_text(causes, "{\"import\":5}");
	assert_range(0, 5, "queued");
	assert_json_text(rtn_inv_paused_by_rule(FX.inv), "[]");
	/* and the step counts afresh: one more of the import is no longer over the limit */
	ck_assert_int_eq(batch("import-1", 5, 1, "t.doc", 1, FX_NOW + 1), 0);
	assert_range(5, 1, "queued");
}
END_TEST

START_TEST(batches_of_one_import_are_one_step)
{
	/* limit 4: 3 pass; 2 more of the same import make 5, and the 3 not yet sent are
	 * paused with them, but not the one already sent */
	ck_assert_int_eq(batch("import-1", 0, 3, "t.doc", 4, FX_NOW), 0);
	struct rtn_outjob *out = NULL;
	ck_assert_uint_eq(fx_take(&fx_b1, FX_ALL, FX_NOW, 1, &out), 1);
	rtn_outjobs_free(out, 1);
	ck_assert_int_eq(batch("import-1", 3, 2, "t.doc", 4, FX_NOW + 10), 4);
	int paused = 0;
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		paused += !strcmp(fx_state(id), "paused");
	}
	ck_assert_int_eq(paused, 4);
	/* once paused, what the import makes due later in the window is paused too */
	ck_assert_int_eq(batch("import-1", 5, 1, "t.doc", 4, FX_NOW + 20), 1);
	assert_range(5, 1, "paused");
	/* another import is a step of its own */
	ck_assert_int_eq(batch("import-2", 6, 3, "t.doc", 4, FX_NOW + 30), 0);
	assert_range(6, 3, "queued");
}
END_TEST

START_TEST(a_step_older_than_the_window_counts_no_more)
{
	ck_assert_int_eq(batch("import-1", 0, 3, "t.doc", 4, FX_NOW), 0);
	ck_assert_int_eq(batch("import-1", 3, 3, "t.doc", 4, FX_NOW + RTN_GUARD_WINDOW), 0);
	assert_range(0, 6, "queued");
}
END_TEST

START_TEST(only_what_the_step_made_due_counts)
{
	/* not due (a year ahead): nothing counts, nothing is paused */
	fx_doc_at("later", "t.doc", NULL, "b1", FX_NOW + 365 * FX_DAY);
	int64_t rid = fx_rid("later");
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_guard_step(&FX.eng, 1, "scan", "S-1", &rid, 1, FX_NOW), 0);
	ck_assert_int_eq(rtn_engine_end(&FX.eng, 0), 0);
	ck_assert_str_eq(fx_state("later"), "active");
	/* without a guard nothing is paused */
	ck_assert_int_eq(batch("import-1", 0, 5, "t.doc", 0, FX_NOW), 0);
	assert_range(0, 5, "queued");
}
END_TEST

START_TEST(start_up_and_clock_steps_advance_under_the_guard)
{
	for (int i = 0; i < 4; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		fx_doc_at(id, "t.doc", NULL, "b1", FX_NOW + 365 * FX_DAY);
	}
	fx_doc_at("soon", "t.doc", NULL, "b1", FX_NOW + 60);
	/* the daemon starts two minutes on: one record fell due, under the limit */
	size_t n;
	int paused;
	ck_assert_int_eq(rtn_guard_advance(&FX.eng, 2, "start-up", FX_NOW + 120, 100, &n, &paused),
	                 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(paused, 0);
	ck_assert_str_eq(fx_state("soon"), "queued");
	/* the clock jumps a year ahead: four at once, over the limit of 2 */
	rtn_time_t later = FX_NOW + 366 * FX_DAY;
	ck_assert_int_eq(rtn_guard_advance(&FX.eng, 2, "clock", later, 100, &n, &paused), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(paused, 4);
	assert_range(0, 4, "paused");
	ck_assert_str_eq(fx_state("soon"), "queued"); /* due before the jump: not its */
	assert_detail("guard.paused", "{\"cause\":\"clock\",\"records\":4,\"ref\":null,"
	                              "\"rules\":[{\"records\":4,\"rule\":\"d\"}],\"step\":4}");
	assert_json_text(rtn_inv_paused_by_rule(FX.inv),
	                 "[{\"cause\":\"clock\",\"records\":4,\"rule\":\"d\"}]");
	/* the clock set right again: what the jump paused is not due and waits again */
	ck_assert_int_eq(rtn_guard_undone(&FX.eng, "clock", FX_NOW + 200), 4);
	assert_range(0, 4, "active");
	assert_detail("guard.released", "{\"cause\":\"clock\",\"released\":4}");
	assert_json_text(rtn_inv_paused_by_rule(FX.inv), "[]");
}
END_TEST

START_TEST(a_start_up_too_large_is_paused_from_its_first_batch)
{
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		fx_doc_at(id, "t.doc", NULL, "b1", FX_NOW + 60 + i);
	}
	/* limit 3, two a transaction: the first two are paused already, as all five are due */
	size_t n;
	int paused;
	rtn_time_t at = FX_NOW + 120;
	ck_assert_int_eq(rtn_guard_advance(&FX.eng, 3, "start-up", at, 2, &n, &paused), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(paused, 2);
	ck_assert_int_eq(rtn_guard_advance(&FX.eng, 3, "start-up", at, 2, &n, &paused), 0);
	ck_assert_int_eq(paused, 2);
	ck_assert_int_eq(rtn_guard_advance(&FX.eng, 3, "start-up", at, 2, &n, &paused), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(paused, 1);
	assert_range(0, 5, "paused");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("guard");
	TCase *pure = tcase_create("limit");
	tcase_add_test(pure, limit_is_the_floor_or_a_twentieth);
	suite_add_tcase(s, pure);
	TCase *tc = tcase_create("rule change");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, small_change_is_released);
	tcase_add_test(tc, large_change_is_paused_until_confirmed);
	tcase_add_test(tc, paused_records_are_not_released_by_a_later_small_change);
	tcase_add_test(tc, without_a_guard_nothing_is_paused);
	tcase_add_test(tc, failed_sync_stores_no_outcome);
	tcase_add_test(tc, rules_loaded_is_synced_in_its_own_transaction);
	suite_add_tcase(s, tc);
	TCase *st = tcase_create("step");
	tcase_add_checked_fixture(st, step_setup, fx_teardown);
	tcase_add_test(st, step_under_the_limit_is_not_paused);
	tcase_add_test(st, step_over_the_limit_is_paused_with_its_cause);
	tcase_add_test(st, batches_of_one_import_are_one_step);
	tcase_add_test(st, a_step_older_than_the_window_counts_no_more);
	tcase_add_test(st, only_what_the_step_made_due_counts);
	tcase_add_test(st, start_up_and_clock_steps_advance_under_the_guard);
	tcase_add_test(st, a_start_up_too_large_is_paused_from_its_first_batch);
	suite_add_tcase(s, st);
	return s;
}

RTN_TEST_MAIN(suite)
