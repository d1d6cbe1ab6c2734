/* test_metrics.c - the exposition text (lib/metrics.c), the metrics options of
 * retentiond.conf (lib/config.c) and the inventory reads behind them
 * (lib/inv_sqlite_metrics.c) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "inventory.h"
#include "metrics.h"
#include "util.h"

#include "testutil.h"

#define NOW 1800000000

static char *escaped(const char *v)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	ck_assert_ptr_nonnull(f);
	rtn_metrics_escape(f, v);
	fclose(f);
	return out;
}

START_TEST(escape_label_values)
{
	static const char *const cases[][2] = {
	    {"plain", "plain"},         {"a\"b", "a\\\"b"},
	    {"a\\b", "a\\\\b"},         {"a\nb", "a\\nb"},
	    {"\\\"\n", "\\\\\\\"\\n"},  {"", ""},
	    {"tab\there", "tab\there"}, {"ø-æ", "ø-æ"}, /* UTF-8 as it is */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = escaped(cases[i][0]);
		ck_assert_str_eq(e, cases[i][1]);
		free(e);
	}
}
END_TEST

/* The line of text that starts with prefix ("" if none). */
static const char *line_of(const char *text, const char *prefix, char *buf, size_t cap)
{
	buf[0] = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, prefix, strlen(prefix))) {
			size_t n = strcspn(p, "\n");
			snprintf(buf, cap, "%.*s", (int)n, p);
			return buf;
		}
	}
	return buf;
}

START_TEST(render_figures)
{
	struct rtn_metrics_count rec[] = {{"active", NULL, 5}, {"queued", NULL, 2}};
	struct rtn_metrics_count jobs[] = {{"fs", "done", 7}, {"b\"q", "sent", 1}};
	struct rtn_metrics_count up[] = {{"fs", NULL, 1}, {"db", NULL, 0}};
	struct rtn_metrics_count done[] = {{"r.del", "deleted", 6}, {"erasure", "not_found", 1}};
	struct rtn_metrics m = {.version = "1.2.3",
	                        .now = NOW,
	                        .started = NOW - 60,
	                        .records = rec,
	                        .nrecords = 2,
	                        .jobs = jobs,
	                        .njobs = 2,
	                        .backends = up,
	                        .nbackends = 2,
	                        .done = done,
	                        .ndone = 2,
	                        .oldest_overdue = NOW - 90,
	                        .reviews = 3,
	                        .oldest_review = NOW - 7,
	                        .erasures = 1,
	                        .erasures_at_risk = 0,
	                        .oldest_erasure = NOW - 86400,
	                        .next_erasure_deadline = NOW + 86400 * 29,
	                        .audit_entries = 42,
	                        .audit_ok = true,
	                        .last_verify = RTN_TIME_NONE};
	size_t len;
	char *t = rtn_metrics_render(&m, &len);
	char b[256];
	ck_assert_uint_eq(len, strlen(t));
	ck_assert(len > 0 && t[len - 1] == '\n');
	ck_assert_str_eq(line_of(t, "retentiond_info", b, sizeof(b)),
	                 "retentiond_info{version=\"1.2.3\"} 1");
	ck_assert_str_eq(line_of(t, "retentiond_start_time_seconds", b, sizeof(b)),
	                 "retentiond_start_time_seconds 1799999940");
	ck_assert_str_eq(line_of(t, "retentiond_records{state=\"queued\"}", b, sizeof(b)),
	                 "retentiond_records{state=\"queued\"} 2");
	ck_assert_str_eq(line_of(t, "retentiond_jobs{backend=\"b", b, sizeof(b)),
	                 "retentiond_jobs{backend=\"b\\\"q\",state=\"sent\"} 1");
	ck_assert_str_eq(line_of(t, "retentiond_backend_up{backend=\"db\"}", b, sizeof(b)),
	                 "retentiond_backend_up{backend=\"db\"} 0");
	ck_assert_str_eq(line_of(t, "# TYPE retentiond_actions_done_total", b, sizeof(b)),
	                 "# TYPE retentiond_actions_done_total counter");
	ck_assert_str_eq(line_of(t, "retentiond_actions_done_total{rule=\"r.del\"", b, sizeof(b)),
	                 "retentiond_actions_done_total{rule=\"r.del\",outcome=\"deleted\"} 6");
	ck_assert_str_eq(line_of(t, "retentiond_oldest_overdue_action_age_seconds ", b, sizeof(b)),
	                 "retentiond_oldest_overdue_action_age_seconds 90");
	ck_assert_str_eq(line_of(t, "retentiond_oldest_review_age_seconds ", b, sizeof(b)),
	                 "retentiond_oldest_review_age_seconds 7");
	ck_assert_str_eq(line_of(t, "retentiond_oldest_erasure_request_age_seconds ", b, sizeof(b)),
	                 "retentiond_oldest_erasure_request_age_seconds 86400");
	ck_assert_str_eq(
	    line_of(t, "retentiond_erasure_request_next_deadline_timestamp_seconds ", b, sizeof(b)),
	    "retentiond_erasure_request_next_deadline_timestamp_seconds 1802505600");
	ck_assert_str_eq(line_of(t, "retentiond_audit_entries_total ", b, sizeof(b)),
	                 "retentiond_audit_entries_total 42");
	ck_assert_str_eq(
	    line_of(t, "retentiond_audit_last_verify_timestamp_seconds ", b, sizeof(b)),
	    "retentiond_audit_last_verify_timestamp_seconds 0");
	/* every family has its HELP and TYPE before its samples */
	ck_assert_ptr_nonnull(strstr(t, "# HELP retentiond_records Records in the inventory by "
	                                "state.\n# TYPE retentiond_records gauge\n"
	                                "retentiond_records{state=\"active\"} 5\n"));
	free(t);

	/* nothing overdue, none waiting, no open request: 0 ages and no deadline sample */
	m.oldest_overdue = m.oldest_review = m.oldest_erasure = RTN_TIME_NONE;
	m.next_erasure_deadline = RTN_TIME_NONE;
	m.last_verify = NOW - 5;
	t = rtn_metrics_render(&m, NULL);
	ck_assert_str_eq(line_of(t, "retentiond_oldest_overdue_action_age_seconds ", b, sizeof(b)),
	                 "retentiond_oldest_overdue_action_age_seconds 0");
	ck_assert_str_eq(line_of(t, "retentiond_oldest_review_age_seconds ", b, sizeof(b)),
	                 "retentiond_oldest_review_age_seconds 0");
	ck_assert_str_eq(
	    line_of(t, "retentiond_erasure_request_next_deadline_timestamp_seconds ", b, sizeof(b)),
	    "");
	ck_assert_ptr_nonnull(
	    strstr(t, "# TYPE retentiond_erasure_request_next_deadline_timestamp_seconds gauge\n"));
	ck_assert_str_eq(
	    line_of(t, "retentiond_audit_last_verify_timestamp_seconds ", b, sizeof(b)),
	    "retentiond_audit_last_verify_timestamp_seconds 1799999995");
	free(t);
}
END_TEST

/* --- config ------------------------------------------------------------------------ */

#define C "/etc/retentiond/retentiond.conf"

static int parse(const char *text, struct rtn_config *c, char **diags)
{
	struct rtn_diags d;
	rtn_config_defaults(c);
	rtn_diags_init(&d);
	int r = rtn_config_parse(C, text, strlen(text), c, &d);
	*diags = rtn_test_diags_joined(&d);
	rtn_diags_fini(&d);
	return r;
}

START_TEST(config_metrics)
{
	struct rtn_config c;
	char *e;
	ck_assert_int_eq(parse("guard 5\n", &c, &e), 0);
	ck_assert_ptr_null(c.metrics_file);
	ck_assert_uint_eq(c.metrics_listen_port, 0);
	rtn_config_free(&c);
	free(e);

	ck_assert_int_eq(
	    parse("metrics-file metrics/r.prom\nmetrics-listen 127.0.0.1:9464\n", &c, &e), 0);
	ck_assert_str_eq(e, "");
	ck_assert_str_eq(c.metrics_file, "/etc/retentiond/metrics/r.prom");
	ck_assert_str_eq(c.metrics_listen_host, "127.0.0.1");
	ck_assert_uint_eq(c.metrics_listen_port, 9464);
	rtn_config_free(&c);
	free(e);

	ck_assert_int_eq(parse("metrics-listen [::1]:1\n", &c, &e), 0);
	ck_assert_str_eq(c.metrics_listen_host, "::1");
	ck_assert_uint_eq(c.metrics_listen_port, 1);
	rtn_config_free(&c);
	free(e);

	ck_assert_int_eq(parse("metrics-listen-public yes\nmetrics-listen 10.1.2.3:9464\n", &c, &e),
	                 0);
	ck_assert_str_eq(c.metrics_listen_host, "10.1.2.3");
	rtn_config_free(&c);
	free(e);

	ck_assert_int_eq(parse("\nmetrics-listen 10.1.2.3:9464\n", &c, &e), -EINVAL);
	ck_assert_str_eq(e, C ":2:16: metrics-listen 10.1.2.3:9464 is not a loopback address; "
	                      "metrics are served to this host only unless \"metrics-listen-public "
	                      "yes\" is set");
	rtn_config_free(&c);
	free(e);

	ck_assert_int_eq(
	    parse("metrics-listen-public no\nmetrics-listen [::ffff:10.0.0.1]:9\n", &c, &e),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(e, "is not a loopback address"));
	rtn_config_free(&c);
	free(e);

	static const char *const bad[] = {
	    "metrics-listen 127.0.0.1",       "metrics-listen :9464",
	    "metrics-listen 127.0.0.1:",      "metrics-listen 127.0.0.1:x",
	    "metrics-listen 127.0.0.1:70000", "metrics-listen [::1:9464",
	    "metrics-listen host:9464",       "metrics-listen 127.0.0.1:+80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(bad[i], &c, &e), -EINVAL);
		ck_assert_msg(strstr(e, C ":1:16: expected ADDRESS:PORT"), "%s: %s", bad[i], e);
		rtn_config_free(&c);
		free(e);
	}
	ck_assert_int_eq(parse("metrics-listen-public sure", &c, &e), -EINVAL);
	ck_assert_str_eq(e, C ":1:23: expected yes or no, found \"sure\"");
	rtn_config_free(&c);
	free(e);
}
END_TEST

/* --- the inventory's reads --------------------------------------------------------- */

static char dir[64];
static struct rtn_inv *inv;

static void inv_setup(void)
{
	char db[128], err[256];
	strcpy(dir, "/tmp/test_metrics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/inventory.db", dir);
	ck_assert_int_eq(rtn_inv_open(db, &inv, err, sizeof(err)), 0);
}

static void inv_teardown(void)
{
	rtn_inv_close(inv);
	rtn_test_rmrf(dir);
}

static int64_t rec(const char *id, const char *state, rtn_time_t next_at)
{
	struct rtn_record r = {.id = (char *)id,
	                       .category = "t.doc",
	                       .backend = "bk",
	                       .locator = json_pack("{s:s}", "path", id),
	                       .attributes = json_object(),
	                       .events = json_pack("{s:I}", "created", (json_int_t)NOW)};
	struct rtn_inv_sched s = {.anon_at = RTN_TIME_NONE,
	                          .del_at = next_at,
	                          .next_at = next_at,
	                          .del_rule = "r.del",
	                          .next_backend = "bk"};
	int64_t rid = 0;
	ck_assert_int_eq(rtn_inv_upsert(inv, &r, NULL, state, &s, NOW, &rid), 0);
	json_decref(r.locator);
	json_decref(r.attributes);
	json_decref(r.events);
	return rid;
}

static void job(const char *id, int64_t rid, const char *backend, const char *rule,
                const char *state, rtn_time_t due, const char *outcome)
{
	struct rtn_inv_job j = {.job = (char *)id,
	                        .rid = rid,
	                        .record = "rec",
	                        .category = "t.doc",
	                        .action = "delete",
	                        .rule = (char *)rule,
	                        .backend = (char *)backend,
	                        .state = (char *)state,
	                        .attempts = 1,
	                        .due = due,
	                        .next_attempt = RTN_TIME_NONE,
	                        .sent_at = NOW,
	                        .done_at = RTN_TIME_NONE,
	                        .created = NOW,
	                        .updated = NOW,
	                        .anchor_time = RTN_TIME_NONE,
	                        .first_sent = NOW,
	                        .outcome = (char *)outcome};
	ck_assert_int_eq(rtn_inv_job_insert(inv, &j), 0);
}

/* The same job written again under its id (rtn_inv_job_put: INSERT OR REPLACE). */
static void job_put(const char *id, int64_t rid, const char *backend, const char *rule,
                    const char *state, rtn_time_t due)
{
	struct rtn_inv_job j = {.job = (char *)id,
	                        .rid = rid,
	                        .record = "rec",
	                        .category = "t.doc",
	                        .action = "delete",
	                        .rule = (char *)rule,
	                        .backend = (char *)backend,
	                        .state = (char *)state,
	                        .attempts = 2,
	                        .due = due,
	                        .next_attempt = NOW + 60,
	                        .sent_at = NOW,
	                        .done_at = RTN_TIME_NONE,
	                        .created = NOW,
	                        .updated = NOW,
	                        .anchor_time = RTN_TIME_NONE,
	                        .first_sent = NOW};
	ck_assert_int_eq(rtn_inv_job_put(inv, &j), 0);
}

static char *dumped(json_t *j)
{
	ck_assert_ptr_nonnull(j);
	char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return t;
}

START_TEST(inventory_reads)
{
	rtn_time_t t;
	ck_assert_int_eq(rtn_inv_oldest_in_state(inv, "queued", &t), 0);
	ck_assert_int_eq(t, RTN_TIME_NONE);
	ck_assert_int_eq(rtn_inv_oldest_job(inv, &t), 0);
	ck_assert_int_eq(t, RTN_TIME_NONE);
	char *s = dumped(rtn_inv_count_jobs_by_backend(inv));
	ck_assert_str_eq(s, "{}");
	free(s);

	rec("q1", "queued", NOW - 50);
	rec("q2", "queued", NOW - 200);
	rec("a1", "active", NOW + 100);
	int64_t r1 = rec("r1", "review", NOW - 30);
	ck_assert_int_eq(rtn_inv_oldest_in_state(inv, "queued", &t), 0);
	ck_assert_int_eq(t, NOW - 200);
	ck_assert_int_eq(rtn_inv_oldest_in_state(inv, "active", &t), 0);
	ck_assert_int_eq(t, NOW + 100);
	ck_assert_int_eq(rtn_inv_oldest_in_state(inv, "review", &t), 0);
	ck_assert_int_eq(t, NOW - 30);

	job("J-1", r1, "bk", "r.del", "sent", NOW - 10, NULL);
	job("J-2", r1, "bk", "r.del", "dead", NOW - 400, NULL);
	job("J-3", r1, "bk", "r.del", "done", NOW - 900, "deleted");
	job("J-4", r1, "fs", "r.del", "done", NOW - 900, "deleted");
	job("J-5", r1, "fs", "erasure:R-1", "done", NOW - 900, "not_found");
	job("J-6", r1, "fs", "r.anon", "retry", NOW - 20, NULL);
	ck_assert_int_eq(rtn_inv_oldest_job(inv, &t), 0);
	ck_assert_int_eq(t, NOW - 400); /* the dead one */
	s = dumped(rtn_inv_count_jobs_by_backend(inv));
	ck_assert_str_eq(
	    s, "{\"bk\":{\"dead\":1,\"done\":1,\"sent\":1},\"fs\":{\"done\":2,\"retry\":1}}");
	free(s);
	s = dumped(rtn_inv_count_done(inv));
	ck_assert_str_eq(s, "[{\"jobs\":1,\"outcome\":\"not_found\",\"rule\":\"erasure\"},"
	                    "{\"jobs\":2,\"outcome\":\"deleted\",\"rule\":\"r.del\"}]");
	free(s);

	/* the counts follow every change of a job: written again under its id (the dead one
	 * retried), done, removed with its record */
	job_put("J-2", r1, "bk", "r.del", "retry", NOW - 400);
	ck_assert_int_eq(rtn_inv_job_done(inv, "J-1", "bk", NOW, NULL, "deleted"), 0);
	s = dumped(rtn_inv_count_jobs_by_backend(inv));
	ck_assert_str_eq(s, "{\"bk\":{\"done\":2,\"retry\":1},\"fs\":{\"done\":2,\"retry\":1}}");
	free(s);
	ck_assert_int_eq(rtn_inv_oldest_job(inv, &t), 0);
	ck_assert_int_eq(t, NOW - 400); /* retried: still open */
	s = dumped(rtn_inv_count_done(inv));
	ck_assert_str_eq(s, "[{\"jobs\":1,\"outcome\":\"not_found\",\"rule\":\"erasure\"},"
	                    "{\"jobs\":3,\"outcome\":\"deleted\",\"rule\":\"r.del\"}]");
	free(s);
	ck_assert_int_eq(rtn_inv_forget(inv, r1), 0);
	s = dumped(rtn_inv_count_done(inv));
	ck_assert_str_eq(s, "[]");
	free(s);
	s = dumped(rtn_inv_count_jobs_by_backend(inv));
	ck_assert_str_eq(s, "{}"); /* a backend with no job left is not listed */
	free(s);
	ck_assert_int_eq(rtn_inv_oldest_job(inv, &t), 0);
	ck_assert_int_eq(t, RTN_TIME_NONE);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");
	tcase_add_test(tc, escape_label_values);
	tcase_add_test(tc, render_figures);
	tcase_add_test(tc, config_metrics);
	suite_add_tcase(s, tc);
	tc = tcase_create("inventory");
	tcase_add_checked_fixture(tc, inv_setup, inv_teardown);
	tcase_add_test(tc, inventory_reads);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(metrics_suite)
