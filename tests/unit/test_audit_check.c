/* test_audit_check.c - the files of a rotated log for a period; the check of the promises */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_check.h"
#include "rtime.h"

#define BASE ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define H    3600

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test_audit_check.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	rtn_test_rmrf(dir);
}

static const char *P(const char *name)
{
	return rtn_test_path(dir, name);
}

static struct rtn_audit *open_log(const char *path, rtn_time_t now)
{
	char err[256] = "";
	struct rtn_audit *a = NULL;
	int r = rtn_audit_open(path, now, &a, err, sizeof(err));
	ck_assert_msg(r == 0, "open %s: %d %s", path, r, err);
	return a;
}

/* One entry at t; detail is canonical JSON text or NULL. */
static void put(struct rtn_audit *a, rtn_time_t t, const char *type, const char *record,
                const char *job, const char *detail)
{
	struct rtn_audit_entry e = {.type = type,
	                            .actor = "scheduler",
	                            .record = record,
	                            .job = job,
	                            .detail_json = detail};
	ck_assert_int_eq(rtn_audit_append(a, t, &e, 0), 0);
}

static const char *T(rtn_time_t t)
{
	static char bufs[8][RTN_TIME_FMT_LEN];
	static int i;
	char *b = bufs[i++ % 8];
	rtn_time_format(t, b, RTN_TIME_FMT_LEN);
	return b;
}

/* A job entry's detail: action and due. */
static char *jd(const char *action, rtn_time_t due)
{
	return rtn_xasprintf("{\"action\":\"%s\",\"due\":\"%s\"}", action, T(due));
}

/* A record entry's detail with one scheduled action. */
static char *rd(const char *action, rtn_time_t due)
{
	return rtn_xasprintf("{\"schedule\":[{\"action\":\"%s\",\"due\":\"%s\",\"rule\":\"r1\"}]}",
	                     action, T(due));
}

static void job(struct rtn_audit *a, rtn_time_t t, const char *type, const char *record,
                const char *id, rtn_time_t due)
{
	char *d = jd("delete", due);
	put(a, t, type, record, id, d);
	free(d);
}

static void rec(struct rtn_audit *a, rtn_time_t t, const char *record, rtn_time_t due)
{
	char *d = rd("delete", due);
	put(a, t, "record.put", record, NULL, d);
	free(d);
}

static json_t *check(const char *const *paths, size_t n, const struct rtn_audit_check_opts *o)
{
	char err[512] = "";
	json_t *res = NULL;
	int r = rtn_audit_check(paths, n, o, &res, err, sizeof(err));
	ck_assert_msg(r == 0, "check: %d %s", r, err);
	return res;
}

static json_int_t num(const json_t *r, const char *k)
{
	ck_assert_msg(json_is_integer(json_object_get(r, k)), "no %s", k);
	return json_integer_value(json_object_get(r, k));
}

/* The problem of kind in r (the first), or NULL. */
static json_t *problem_of(const json_t *r, const char *kind)
{
	size_t i;
	json_t *p;
	json_array_foreach(
	    json_object_get(r, "problems"), i,
	    p) if (!strcmp(json_string_value(json_object_get(p, "kind")), kind)) return p;
	return NULL;
}

static const char *pstr(const json_t *p, const char *k)
{
	return json_string_value(json_object_get(p, k));
}

/* ---- the files of a period ----------------------------------------------------------- */

/* log.1 holds [BASE, BASE+10h), log.2 [BASE+10h, BASE+20h), log from BASE+20h. */
static void three_files(void)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	for (int i = 0; i < 5; i++)
		put(a, BASE + i * H, "daemon.start", NULL, NULL, NULL);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 10 * H, P("log.1")), 0);
	for (int i = 11; i < 15; i++)
		put(a, BASE + i * H, "daemon.start", NULL, NULL, NULL);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 20 * H, P("log.2")), 0);
	for (int i = 21; i < 25; i++)
		put(a, BASE + i * H, "daemon.start", NULL, NULL, NULL);
	rtn_audit_close(a);
}

static void expect_files(rtn_time_t since, rtn_time_t until, const char *want)
{
	char err[512] = "", **paths;
	size_t n;
	int r = rtn_audit_files(P("log"), since, until, &paths, &n, err, sizeof(err));
	ck_assert_msg(r == 0, "files: %d %s", r, err);
	char got[512] = "";
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(paths[i], '/');
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
		         slash + 1);
	}
	ck_assert_str_eq(got, want);
	rtn_audit_files_free(paths, n);
}

START_TEST(files_of_a_period)
{
	three_files();
	expect_files(RTN_TIME_NONE, RTN_TIME_NONE, "log.1 log.2 log");
	expect_files(BASE + 21 * H, RTN_TIME_NONE, "log");
	expect_files(BASE + 20 * H, BASE + 30 * H, "log");
	expect_files(BASE + 12 * H, BASE + 13 * H, "log.2");
	expect_files(BASE + 2 * H, BASE + 22 * H, "log.1 log.2 log");
	expect_files(BASE + 2 * H, BASE + 10 * H, "log.1");
	expect_files(RTN_TIME_NONE, BASE + 11 * H, "log.1 log.2");
	expect_files(BASE - 5 * H, BASE - H, "");
}
END_TEST

START_TEST(files_gap_named)
{
	three_files();
	ck_assert_int_eq(unlink(P("log.2")), 0);
	char err[512] = "", **paths = NULL;
	size_t n = 0;
	/* the current file alone is enough for a period in it */
	expect_files(BASE + 21 * H, RTN_TIME_NONE, "log");
	int r =
	    rtn_audit_files(P("log"), RTN_TIME_NONE, RTN_TIME_NONE, &paths, &n, err, sizeof(err));
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_msg(strstr(err, "log.2 is missing"), "%s", err);
	/* log.1 holds seq 1..5; log.2 begins at seq 6 with its audit.rotated entry and ends at
	 * seq 10; log begins at 11. */
	ck_assert_msg(strstr(err, "seq 6..10"), "%s", err);
	/* also with the first file gone: the range runs from 1 */
	ck_assert_int_eq(unlink(P("log.1")), 0);
	r = rtn_audit_files(P("log"), BASE, RTN_TIME_NONE, &paths, &n, err, sizeof(err));
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_msg(strstr(err, "seq 1..10"), "%s", err);
}
END_TEST

START_TEST(files_old_removed_not_needed)
{
	three_files();
	ck_assert_int_eq(unlink(P("log.1")), 0);
	expect_files(BASE + 12 * H, RTN_TIME_NONE, "log.2 log");
	char err[512] = "", **paths = NULL;
	size_t n = 0;
	int r =
	    rtn_audit_files(P("log"), BASE + 5 * H, RTN_TIME_NONE, &paths, &n, err, sizeof(err));
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_msg(strstr(err, "log.1 is missing") && strstr(err, "seq 1..5"), "%s", err);
}
END_TEST

START_TEST(files_found_beside_when_moved)
{
	three_files();
	char *moved = rtn_xasprintf("%s/moved", dir),
	     *cmd = rtn_xasprintf("mkdir '%s' && mv '%s'/log* '%s'/", moved, dir, moved);
	ck_assert_int_eq(system(cmd), 0);
	char *cur = rtn_xasprintf("%s/log", moved), err[512] = "", **paths;
	size_t n;
	int r = rtn_audit_files(cur, RTN_TIME_NONE, RTN_TIME_NONE, &paths, &n, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(strrchr(paths[0], '/') + 1, "log.1");
	ck_assert_ptr_nonnull(strstr(paths[0], "/moved/"));
	rtn_audit_files_free(paths, n);
	free(cur);
	free(cmd);
	free(moved);
}
END_TEST

/* ---- the check ----------------------------------------------------------------------- */

static struct rtn_audit_check_opts offline(void)
{
	return (struct rtn_audit_check_opts){
	    .since = RTN_TIME_NONE, .until = RTN_TIME_NONE, .now = BASE + 100 * H};
}

START_TEST(check_all_kept)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	rec(a, BASE, "r1", BASE + 2 * H);
	rec(a, BASE, "r2", BASE + 3 * H);
	job(a, BASE + 2 * H, "job.sent", "r1", "J-1", BASE + 2 * H);
	job(a, BASE + 2 * H + 5, "job.done", "r1", "J-1", BASE + 2 * H);
	job(a, BASE + 3 * H + 70, "job.sent", "r2", "J-2", BASE + 3 * H);
	job(a, BASE + 3 * H + 71, "job.failed", "r2", "J-2", BASE + 3 * H);
	job(a, BASE + 3 * H + 90, "job.sent", "r2", "J-2", BASE + 3 * H);
	job(a, BASE + 3 * H + 95, "job.dead", "r2", "J-2", BASE + 3 * H);
	rtn_audit_close(a);
	const char *p = P("log");
	struct rtn_audit_check_opts o = offline();
	json_t *r = check(&p, 1, &o);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert(json_is_true(json_object_get(r, "valid")));
	ck_assert_int_eq(num(r, "entries"), 8);
	ck_assert_int_eq(num(r, "actions"), 2); /* J-2 sent twice: one action, 70 s late */
	ck_assert_int_eq(num(r, "early"), 0);
	ck_assert_int_eq(num(r, "late_max"), 70);
	ck_assert_int_eq(num(r, "late_p99"), 70);
	ck_assert_int_eq(num(r, "open"), 0);
	ck_assert_int_eq(num(r, "lost"), 0);
	ck_assert_int_eq(num(r, "missed"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(r, "problems")), 0);
	json_decref(r);
}
END_TEST

START_TEST(check_early_named)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	rec(a, BASE, "r1", BASE + 2 * H);
	job(a, BASE + 2 * H - 1, "job.sent", "r1", "J-1", BASE + 2 * H);
	job(a, BASE + 2 * H + 5, "job.done", "r1", "J-1", BASE + 2 * H);
	put(a, BASE + 3 * H, "job.sent", "r9", "J-9", "{\"action\":\"delete\"}"); /* undated */
	put(a, BASE + 3 * H, "job.done", "r9", "J-9", "{\"action\":\"delete\"}");
	rtn_audit_close(a);
	const char *p = P("log");
	struct rtn_audit_check_opts o = offline();
	json_t *r = check(&p, 1, &o);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "early"), 1);
	ck_assert_int_eq(num(r, "undated"), 1);
	json_t *e = problem_of(r, "early");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(num(e, "seq"), 2);
	ck_assert_str_eq(pstr(e, "job"), "J-1");
	ck_assert_str_eq(pstr(e, "record"), "r1");
	ck_assert_msg(strstr(pstr(e, "message"), "1 s before"), "%s", pstr(e, "message"));
	json_decref(r);
}
END_TEST

static int job_state_is(void *ctx, const char *job, char *state, size_t len)
{
	(void)job;
	if (!ctx)
		return -ENOENT;
	snprintf(state, len, "%s", (const char *)ctx);
	return 0;
}

static int rec_state_is(void *ctx, const char *record, rtn_time_t now, rtn_time_t grace)
{
	(void)ctx;
	(void)record;
	(void)now;
	(void)grace;
	return RTN_CHECK_REC_MISSED;
}

START_TEST(check_lost_online_open_offline)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	rec(a, BASE, "r1", BASE + 2 * H);
	job(a, BASE + 2 * H, "job.sent", "r1", "J-1", BASE + 2 * H);
	rtn_audit_close(a);
	const char *p = P("log");
	struct rtn_audit_check_opts o = offline();
	json_t *r = check(&p, 1, &o);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "open"), 1);
	ck_assert_int_eq(num(r, "lost"), 0);
	json_t *op = problem_of(r, "open"); /* named, though not a failure */
	ck_assert_ptr_nonnull(op);
	ck_assert_str_eq(pstr(op, "job"), "J-1");
	json_decref(r);
	/* online: the inventory says done, so the job.done entry is missing */
	o.job_state = job_state_is;
	o.ctx = "done";
	r = check(&p, 1, &o);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "lost"), 1);
	json_t *l = problem_of(r, "lost");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(num(l, "seq"), 2);
	ck_assert_str_eq(pstr(l, "job"), "J-1");
	ck_assert_str_eq(pstr(l, "record"), "r1");
	json_decref(r);
	o.ctx = NULL; /* not in the inventory at all */
	r = check(&p, 1, &o);
	ck_assert_int_eq(num(r, "lost"), 1);
	json_decref(r);
	o.ctx = "retry"; /* still out */
	r = check(&p, 1, &o);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "open"), 1);
	json_decref(r);
}
END_TEST

START_TEST(check_missed)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	rec(a, BASE, "r1", BASE + 2 * H);        /* never sent: missed */
	rec(a, BASE, "r2", BASE + 100 * H - 60); /* due within the grace: not owed yet */
	rec(a, BASE, "r3", BASE + 2 * H);        /* its course changed later */
	rec(a, BASE, "r4", BASE + 2 * H);        /* re-put while its job is out */
	rec(a, BASE + H, "r5", BASE + 200 * H);  /* due after now */
	job(a, BASE + 2 * H, "job.sent", "r4", "J-4", BASE + 2 * H);
	rec(a, BASE + 2 * H + 1, "r4", BASE + 2 * H);
	job(a, BASE + 2 * H + 2, "job.done", "r4", "J-4", BASE + 2 * H);
	put(a, BASE + H, "hold.place", "r3", NULL, "{\"hold\":\"h\"}");
	/* a change after the action was owed does not excuse it */
	rec(a, BASE, "r6", BASE + 2 * H);
	put(a, BASE + 5 * H, "hold.place", "r6", NULL, "{\"hold\":\"h\"}");
	put(a, BASE + 5 * H, "rules.loaded", NULL, NULL, "{\"rules\":1}");
	rtn_audit_close(a);
	const char *p = P("log");
	struct rtn_audit_check_opts o = offline();
	json_t *r = check(&p, 1, &o);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "missed"), 2);
	ck_assert_int_eq(num(r, "unverifiable"), 1);
	json_t *m = problem_of(r, "missed");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(pstr(m, "record"), "r1");
	ck_assert_int_eq(num(m, "seq"), 1);
	m = json_array_get(json_object_get(r, "problems"), 1);
	ck_assert_str_eq(pstr(m, "record"), "r6");
	json_decref(r);
	/* a period that ends before r1 was due owes nothing */
	o.until = BASE + 2 * H;
	r = check(&p, 1, &o);
	ck_assert_int_eq(num(r, "missed"), 0);
	json_decref(r);
	/* online the inventory decides about r3 */
	o.until = RTN_TIME_NONE;
	o.record_state = rec_state_is;
	r = check(&p, 1, &o);
	ck_assert_int_eq(num(r, "missed"), 3);
	ck_assert_int_eq(num(r, "unverifiable"), 0);
	json_decref(r);
}
END_TEST

START_TEST(check_across_rotation_and_broken_chain)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	rec(a, BASE, "r1", BASE + 2 * H);
	job(a, BASE + 2 * H, "job.sent", "r1", "J-1", BASE + 2 * H);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 3 * H, P("log.1")), 0);
	job(a, BASE + 3 * H + 1, "job.done", "r1", "J-1", BASE + 2 * H);
	rtn_audit_close(a);
	const char *both[] = {P("log.1"), P("log")};
	struct rtn_audit_check_opts o = offline();
	json_t *r = check(both, 2, &o);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "open"), 0);
	ck_assert_int_eq(num(r, "actions"), 1);
	json_decref(r);
	/* the current file alone: it continues log.1; the done of an unseen job is fine */
	r = check(both + 1, 1, &o);
	ck_assert(json_is_true(json_object_get(r, "valid")));
	json_decref(r);
	/* the files in the wrong order: the chain is broken, and that is not ok */
	const char *wrong[] = {P("log"), P("log.1")};
	r = check(wrong, 2, &o);
	ck_assert(json_is_false(json_object_get(r, "valid")));
	ck_assert(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
}
END_TEST

START_TEST(check_many_late_p99)
{
	struct rtn_audit *a = open_log(P("log"), BASE);
	for (int i = 0; i < 200; i++) {
		char id[16], rid[16];
		snprintf(id, sizeof(id), "J-%d", i);
		snprintf(rid, sizeof(rid), "r%d", i);
		rec(a, BASE, rid, BASE + H);
		job(a, BASE + H + i, "job.sent", rid, id, BASE + H); /* late by i s */
		job(a, BASE + H + i, "job.done", rid, id, BASE + H);
	}
	rtn_audit_close(a);
	const char *p = P("log");
	struct rtn_audit_check_opts o = offline();
	json_t *r = check(&p, 1, &o);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	ck_assert_int_eq(num(r, "actions"), 200);
	ck_assert_int_eq(num(r, "late_max"), 199);
	ck_assert_int_eq(num(r, "late_p99"), 197); /* the 198th of 200 */
	json_decref(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("audit_check");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, files_of_a_period);
	tcase_add_test(tc, files_gap_named);
	tcase_add_test(tc, files_old_removed_not_needed);
	tcase_add_test(tc, files_found_beside_when_moved);
	tcase_add_test(tc, check_all_kept);
	tcase_add_test(tc, check_early_named);
	tcase_add_test(tc, check_lost_online_open_offline);
	tcase_add_test(tc, check_missed);
	tcase_add_test(tc, check_across_rotation_and_broken_chain);
	tcase_add_test(tc, check_many_late_p99);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
