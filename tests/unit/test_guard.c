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
	assert_detail("guard.paused", "{\"records\":3,\"rules\":[{\"records\":3,\"rule\":\"t\"}]}");
	ck_assert(!rtn_guard_stale(&FX.eng, next->hash, "UTC"));
	/* rules.confirm releases them, in one transaction. */
	int syncs = FX.syncs;
	ck_assert_int_eq(rtn_guard_confirm(&FX.eng, FX_NOW), 3);
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
	return s;
}

RTN_TEST_MAIN(suite)
