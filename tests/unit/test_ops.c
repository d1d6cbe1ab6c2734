/* test_ops.c - holds, reviews, erasure requests and job retries: never while held, an
 * erasure completes once nothing of it is pending */
#include "fixture.h"

/* rtn_ops_hold, its count in *count. */
static int hold(bool place, const char *kind, const char *value, const char *name, rtn_time_t now,
                size_t *count)
{
	*count = 99;
	return rtn_ops_hold(&FX.eng, place, kind, value, name, "litigation", "uid:0", now, count);
}

/* The names of the holds that record.get shows for id, comma-separated. */
static char *holds_of(const char *id)
{
	json_t *g;
	ck_assert_int_eq(rtn_engine_get(&FX.eng, id, FX_NOW, &g), 0);
	char *out = rtn_xstrdup("");
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(g, "holds"), i, h)
	{
		char *t = rtn_xasprintf("%s%s%s", out, i ? "," : "", json_string_value(h));
		free(out);
		out = t;
	}
	json_decref(g);
	return out;
}

START_TEST(hold_by_id_comes_and_goes)
{
	fx_doc("a1", "t.doc", "person:1");
	fx_doc("a2", "t.doc", "person:1");
	size_t n;
	ck_assert_int_eq(hold(true, "id", "a1", "h", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fx_state("a1"), "held");
	ck_assert_int_eq(fx_next_at("a1"), RTN_TIME_NONE);
	ck_assert_str_eq(fx_state("a2"), "active");
	char *h = holds_of("a1");
	ck_assert_str_eq(h, "h");
	free(h);
	/* the same hold twice: a conflict, nothing changes */
	ck_assert_int_eq(hold(true, "id", "a1", "h", FX_NOW, &n), -EEXIST);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(fx_state("a1"), "held");
	/* while held it does not fall due */
	ck_assert_int_eq(fx_advance(FX_DUE + 60), 1); /* a2 */
	ck_assert_str_eq(fx_state("a1"), "held");
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 60, 10, &out), 1);
	ck_assert_str_eq(out[0].record, "a2");
	rtn_outjobs_free(out, 1);
	/* released past its deadline: due at once */
	ck_assert_int_eq(hold(false, "id", "a1", "h", FX_DUE + 120, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fx_state("a1"), "queued");
	ck_assert_int_eq(fx_next_at("a1"), FX_DUE);
	h = holds_of("a1");
	ck_assert_str_eq(h, "");
	free(h);
	ck_assert_int_eq(hold(false, "id", "a1", "h", FX_DUE + 120, &n), -ENOENT);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(hold(false, "id", "a9", "other", FX_DUE, &n), -ENOENT);
}
END_TEST

START_TEST(hold_by_subject_and_category)
{
	fx_doc("a1", "t.doc", "person:1");
	fx_doc("a2", "t.doc", "person:1");
	fx_doc("b1", "t.two", "person:2");
	fx_doc("b2", "t.two", NULL);
	fx_doc("c1", "t.doc", "person:3");
	size_t n;
	ck_assert_int_eq(hold(true, "subject", "person:1", "hs", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(hold(true, "category", "t.two", "hc", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(hold(true, "subject", "person:1", "hs", FX_NOW, &n), -EEXIST);
	ck_assert_int_eq(hold(true, "subject", "person:9", "hs", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 0);     /* a hold on nobody yet holds nothing */
	fx_doc("b3", "t.two", NULL); /* put under a hold: held from the start */
	ck_assert_str_eq(fx_state("b3"), "held");
	ck_assert_int_eq(fx_next_at("b3"), RTN_TIME_NONE);
	static const char *const held[] = {"a1", "a2", "b1", "b2"};
	for (int i = 0; i < 4; i++)
		ck_assert_str_eq(fx_state(held[i]), "held");
	ck_assert_str_eq(fx_state("c1"), "active");
	/* a record under two holds stays held until both are gone */
	ck_assert_int_eq(hold(true, "id", "b1", "hi", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(hold(false, "category", "t.two", "hc", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(fx_state("b1"), "held");
	ck_assert_str_eq(fx_state("b2"), "active");
	ck_assert_int_eq(fx_next_at("b2"), FX_DUE);
	ck_assert_int_eq(hold(false, "subject", "person:1", "hs", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(fx_state("a1"), "active");
	ck_assert_str_eq(fx_state("a2"), "active");
	ck_assert_int_eq(hold(false, "category", "t.two", "hc", FX_NOW, &n), -ENOENT);
	ck_assert_int_eq(hold(false, "id", "b1", "hi", FX_NOW, &n), 0);
	ck_assert_str_eq(fx_state("b1"), "active");
	ck_assert_int_eq(fx_advance(FX_DUE), 6);
}
END_TEST

START_TEST(hold_cancels_a_waiting_retry)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, job);
	size_t n;
	struct rtn_outjob *out;
	ck_assert_int_eq(hold(true, "id", "r1", "stop", FX_DUE + 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fx_state("r1"), "held");
	ck_assert_str_eq(fx_job_state(job), "cancelled");
	ck_assert_uint_eq(fx_count("job.cancelled", "r1"), 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 3600, 10, &out), 0);
	/* released: decided afresh, its action goes out again from the first attempt */
	ck_assert_int_eq(hold(false, "id", "r1", "stop", FX_DUE + 3600, &n), 0);
	ck_assert_str_eq(fx_state("r1"), "queued");
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 3600, 10, &out), 1);
	ck_assert_str_eq(out[0].job, job);
	ck_assert_int_eq(out[0].attempt, 1);
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(hold_shows_on_a_record_whose_job_is_out)
{
	fx_doc("r1", "t.doc", NULL);
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	size_t n;
	ck_assert_int_eq(hold(true, "id", "r1", "late", FX_DUE + 1, &n), 0);
	ck_assert_str_eq(fx_state("r1"), "held");
	ck_assert_str_eq(fx_job_state(out[0].job), "sent"); /* it cannot be called back */
	ck_assert_uint_eq(fx_count("job.cancelled", NULL), 0);
	/* its result is still recorded: the action happened */
	struct rtn_job_outcome o;
	fx_result(&fx_b1, out[0].job, RTN_BST_DONE, false, FX_DUE + 2, 0, &out[0], &o);
	ck_assert(o.finished);
	ck_assert_str_eq(fx_state("r1"), "deleted");
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(hold_stops_the_retry_of_a_job_that_was_out)
{
	char job[RTN_JOB_ID_LEN];
	fx_send("r1", NULL, job);
	size_t n;
	ck_assert_int_eq(hold(true, "id", "r1", "late", FX_DUE + 1, &n), 0);
	/* the backend fails it: it is not retried while held */
	struct rtn_job_outcome o;
	fx_result(&fx_b1, job, RTN_BST_FAILED, true, FX_DUE + 2, 0, NULL, &o);
	ck_assert_str_eq(fx_job_state(job), "cancelled");
	ck_assert_str_eq(fx_state("r1"), "held");
	ck_assert_uint_eq(fx_count("job.failed", "r1"), 1);
	ck_assert_uint_eq(fx_count("job.cancelled", "r1"), 1);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 86400, 10, &out), 0);
}
END_TEST

/* hold.place counts every record the hold covers that shows held, also one whose job is
 * at the backend already (it shows held; its late result is still recorded). */
START_TEST(hold_count_includes_a_record_whose_job_is_in_flight)
{
	fx_doc("r1", "t.doc", NULL);
	fx_doc("r2", "t.doc", NULL);
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 1, &out), 1);
	ck_assert_str_eq(out[0].record, "r1");
	rtn_outjobs_free(out, 1);
	size_t n;
	ck_assert_int_eq(hold(true, "category", "t.doc", "late", FX_DUE + 1, &n), 0);
	ck_assert_uint_eq(n, 2); /* r2, and r1 whose job is at the backend */
}
END_TEST

START_TEST(hold_changes_nothing_when_the_journal_refuses)
{
	fx_doc("a1", "t.doc", NULL);
	FX.fail_sync = true;
	size_t n;
	ck_assert_int_eq(hold(true, "id", "a1", "h", FX_NOW, &n), -EIO);
	FX.fail_sync = false;
	ck_assert_str_eq(fx_state("a1"), "active");
	ck_assert(!FX.eng.holds_exist);
	ck_assert_int_eq(hold(false, "id", "a1", "h", FX_NOW, &n), -ENOENT);
	ck_assert_int_eq(hold(true, "id", "a1", "h", FX_NOW, &n), 0);
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* --- review ------------------------------------------------------------------------ */

START_TEST(review_list_and_approve)
{
	fx_doc("v1", "t.rev", "person:1");
	fx_doc_at("v2", "t.rev", NULL, NULL, FX_DUE + 86400);
	ck_assert_int_eq(fx_advance(FX_DUE), 1);
	ck_assert_str_eq(fx_state("v1"), "review");
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 10, 10, &out), 0); /* waits */
	json_t *l = rtn_ops_review_list(&FX.eng, 10);
	ck_assert_uint_eq(json_array_size(l), 1);
	json_t *x = json_array_get(l, 0);
	ck_assert_str_eq(fx_jstr(x, "id"), "v1");
	ck_assert_str_eq(fx_jstr(x, "category"), "t.rev");
	ck_assert_str_eq(fx_jstr(x, "subject"), "person:1");
	ck_assert_str_eq(fx_jstr(x, "action"), "delete");
	ck_assert_int_eq(fx_jtime(json_object_get(x, "due")), FX_DUE);
	ck_assert_str_eq(fx_jstr(x, "rule"), "rv");
	ck_assert_str_eq(fx_jstr(x, "basis"), "review basis");
	json_decref(l);

	json_t *res = NULL;
	char job[RTN_JOB_ID_LEN], want[RTN_JOB_ID_LEN], err[256];
	ck_assert_int_eq(
	    rtn_ops_review(&FX.eng, "v1", true, FX_DUE + 20, &res, job, err, sizeof(err)), 0);
	fx_job_id("v1", "delete", "rv", FX_DUE, want);
	ck_assert_str_eq(job, want);
	ck_assert_str_eq(fx_jstr(res, "id"), "v1");
	ck_assert_str_eq(fx_jstr(res, "decision"), "approved");
	ck_assert_str_eq(fx_jstr(res, "action"), "delete");
	ck_assert_str_eq(fx_jstr(res, "job"), want);
	ck_assert_str_eq(fx_jstr(res, "rule"), "rv");
	ck_assert_str_eq(fx_jstr(res, "state"), "queued");
	json_decref(res);
	ck_assert_str_eq(fx_state("v1"), "queued");
	l = rtn_ops_review_list(&FX.eng, 10);
	ck_assert_uint_eq(json_array_size(l), 0);
	json_decref(l);
	/* the approved action goes out under the id the reviewer was shown */
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 20, 10, &out), 1);
	ck_assert_str_eq(out[0].job, want);
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(review_reject_skips_the_action)
{
	fx_doc("v1", "t.rev", NULL);
	fx_advance(FX_DUE);
	json_t *res = NULL;
	char job[RTN_JOB_ID_LEN], err[256];
	ck_assert_int_eq(
	    rtn_ops_review(&FX.eng, "v1", false, FX_DUE + 20, &res, job, err, sizeof(err)), 0);
	ck_assert_str_eq(fx_jstr(res, "decision"), "rejected");
	ck_assert_str_eq(fx_jstr(res, "state"), "active");
	json_decref(res);
	ck_assert_str_eq(fx_state("v1"), "active");
	ck_assert_int_eq(fx_next_at("v1"), RTN_TIME_NONE);
	ck_assert_int_eq(fx_advance(FX_DUE + 86400), 0);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 86400, 10, &out), 0);
	/* the decision stands when the record is put again */
	fx_doc("v1", "t.rev", NULL);
	ck_assert_str_eq(fx_state("v1"), "active");
	ck_assert_int_eq(fx_advance(FX_DUE + 86400), 0);
	/* no longer waiting: a second decision is a conflict */
	ck_assert_int_eq(
	    rtn_ops_review(&FX.eng, "v1", true, FX_DUE + 30, &res, job, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "is active, not waiting for review"));
	ck_assert_int_eq(
	    rtn_ops_review(&FX.eng, "nope", true, FX_DUE + 30, &res, job, err, sizeof(err)),
	    -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no record \"nope\""));
}
END_TEST

/* Review every year: a rejection brings the record back for review a year later. */
static const char RY_RULE[] = "rule ry { category t.yr; delete immediately after due; review "
                              "every 1 year; backend b1; basis \"yearly\" }\n";

static rtn_time_t at_(const char *s)
{
	rtn_time_t t;
	ck_assert_int_eq(rtn_time_parse(s, &t), 0);
	return t;
}

/* A reviewer's decision on id at now, which must succeed; its result (caller frees). */
static json_t *decide_review(const char *id, bool approve, rtn_time_t now, char *job)
{
	json_t *res = NULL;
	char err[256];
	int r = rtn_ops_review(&FX.eng, id, approve, now, &res, job, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	return res;
}

/* The only entry of review.list (there must be one), with its round and due. */
static json_t *only_review(unsigned round, rtn_time_t due)
{
	json_t *l = rtn_ops_review_list(&FX.eng, 10);
	ck_assert_uint_eq(json_array_size(l), 1);
	json_t *x = json_incref(json_array_get(l, 0));
	json_decref(l);
	ck_assert_int_eq(json_integer_value(json_object_get(x, "round")), round);
	ck_assert_int_eq(fx_jtime(json_object_get(x, "due")), due);
	return x;
}

START_TEST(review_every_brings_a_rejected_record_back)
{
	char rules[2048];
	snprintf(rules, sizeof(rules), "%s%s", FX_RULES, RY_RULE);
	fx_rules(rules);
	fx_doc("y1", "t.yr", "person:1");
	ck_assert_int_eq(fx_advance(FX_DUE), 1);
	ck_assert_str_eq(fx_state("y1"), "review");
	json_decref(only_review(1, FX_DUE));
	char job[RTN_JOB_ID_LEN], want[RTN_JOB_ID_LEN];
	fx_job_id("y1", "delete", "ry", FX_DUE, want);

	/* rejected on day D: kept, and back in review on D + 1 year */
	rtn_time_t d1 = at_("2026-01-01T01:00:20Z"), r2 = at_("2027-01-01T01:00:20Z");
	json_t *res = decide_review("y1", false, d1, job);
	ck_assert_str_eq(job, want);
	ck_assert_str_eq(fx_jstr(res, "decision"), "rejected");
	ck_assert_str_eq(fx_jstr(res, "state"), "active");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "round")), 1);
	ck_assert_str_eq(fx_jstr(res, "next_review"), "2027-01-01T01:00:20Z");
	json_decref(res);
	ck_assert_str_eq(fx_state("y1"), "active");
	ck_assert_int_eq(fx_next_at("y1"), r2);
	json_t *l = rtn_ops_review_list(&FX.eng, 10);
	ck_assert_uint_eq(json_array_size(l), 0);
	json_decref(l);
	/* a re-put keeps the rejection and its next round */
	fx_doc("y1", "t.yr", "person:1");
	ck_assert_str_eq(fx_state("y1"), "active");
	ck_assert_int_eq(fx_next_at("y1"), r2);
	/* never early: nothing is due, nothing sent, the second before the round */
	ck_assert_int_eq(fx_advance(r2 - 1), 0);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, r2 - 1, 10, &out), 0);
	ck_assert_str_eq(fx_state("y1"), "active");
	ck_assert_int_eq(fx_advance(r2), 1);
	ck_assert_str_eq(fx_state("y1"), "review");
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, r2 + 10, 10, &out), 0); /* waits again */
	json_t *x = only_review(2, r2);
	ck_assert_int_eq(fx_jtime(json_object_get(x, "rejected")), d1);
	ck_assert_str_eq(fx_jstr(x, "every"), "1 year");
	ck_assert_str_eq(fx_jstr(x, "rule"), "ry");
	json_decref(x);
	json_t *ex;
	ck_assert_int_eq(rtn_engine_explain(&FX.eng, "y1", r2 + 10, &ex), 0);
	json_t *rv = json_object_get(ex, "review");
	ck_assert_int_eq(json_integer_value(json_object_get(rv, "round")), 2);
	ck_assert_int_eq(fx_jtime(json_object_get(rv, "due")), r2);
	ck_assert_int_eq(fx_jtime(json_object_get(rv, "rejected")), d1);
	json_decref(ex);

	/* rejected again in the second round: back a year after that rejection */
	rtn_time_t d2 = at_("2027-01-01T01:02:00Z"), r3 = at_("2028-01-01T01:02:00Z");
	res = decide_review("y1", false, d2, job);
	ck_assert_str_eq(job, want); /* the same action, round after round */
	ck_assert_int_eq(json_integer_value(json_object_get(res, "round")), 2);
	ck_assert_str_eq(fx_jstr(res, "next_review"), "2028-01-01T01:02:00Z");
	json_decref(res);
	ck_assert_int_eq(fx_next_at("y1"), r3);
	ck_assert_int_eq(fx_advance(r3 - 1), 0);
	ck_assert_int_eq(fx_advance(r3), 1);
	ck_assert_str_eq(fx_state("y1"), "review");
	json_decref(only_review(3, r3));

	/* approved in the third round: carried out under the action's own id */
	res = decide_review("y1", true, r3 + 5, job);
	ck_assert_str_eq(job, want);
	ck_assert_str_eq(fx_jstr(res, "state"), "queued");
	ck_assert_ptr_null(json_object_get(res, "next_review"));
	json_decref(res);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, r3 + 5, 10, &out), 1);
	ck_assert_str_eq(out[0].job, want);
	rtn_outjobs_free(out, 1);
}
END_TEST

/* recompute after a rule change */
static void ry_rules(const char *review)
{
	char rules[2048];
	snprintf(rules, sizeof(rules),
	         "%srule ry { category t.yr; delete immediately after due; %s; backend b1 }\n",
	         FX_RULES, review);
	fx_rules(rules);
	size_t changed, paused;
	ck_assert_int_eq(
	    rtn_engine_recompute_all(&FX.eng, FX_DUE + 60, 100, false, &changed, &paused), 0);
}

START_TEST(review_every_rounds_follow_a_rule_change)
{
	ry_rules("review every 1 year");
	fx_doc("y1", "t.yr", NULL);
	fx_advance(FX_DUE);
	char job[RTN_JOB_ID_LEN];
	json_decref(decide_review("y1", false, FX_DUE + 20, job));
	ck_assert_int_eq(fx_next_at("y1"), at_("2027-01-01T01:00:20Z"));
	/* a shorter span: one span after the same rejection */
	ry_rules("review every 6 months");
	ck_assert_str_eq(fx_state("y1"), "active");
	ck_assert_int_eq(fx_next_at("y1"), at_("2026-07-01T01:00:20Z"));
	/* plain review: the rejection stands for good, as it always did */
	ry_rules("review");
	ck_assert_str_eq(fx_state("y1"), "active");
	ck_assert_int_eq(fx_next_at("y1"), RTN_TIME_NONE);
	ck_assert_int_eq(fx_advance(FX_DUE + 10 * 366 * FX_DAY), 0);
	/* every again: the round comes back from the rejection it remembers */
	ry_rules("review every 1 year");
	ck_assert_int_eq(fx_next_at("y1"), at_("2027-01-01T01:00:20Z"));
	/* a span so short that the round is past: in review again at once */
	ry_rules("review every 10 seconds");
	ck_assert_str_eq(fx_state("y1"), "review");
	json_decref(only_review(2, FX_DUE + 30));
}
END_TEST

/* A rejected anonymisation whose next round is after the record's deletion: the deletion
 * is the next action, at its own time. */
/* review by GROUP...: the groups are resolved when read (root and daemon exist on every
 * host); the reviewers here are credentials as the daemon hands them over. */
static const char RS_RULE[] = "rule rs { category t.st; delete immediately after due; review "
                              "by root daemon; backend b1; basis \"in stages\" }\n";

static int review_as(const char *id, bool approve, uid_t uid, gid_t gid, gid_t extra,
                     rtn_time_t now, json_t **res, char *err)
{
	gid_t groups[1] = {extra};
	struct rtn_reviewer rw = {uid, gid, groups, 1};
	char job[RTN_JOB_ID_LEN];
	*res = NULL;
	return rtn_ops_review_as(&FX.eng, id, approve, &rw, now, res, job, err, 256);
}

START_TEST(review_in_stages)
{
	char rules[2048];
	snprintf(rules, sizeof(rules), "%s%s", FX_RULES, RS_RULE);
	fx_rules(rules);
	gid_t g_root = 0, g_daemon = rtn_ruleset_find(FX.eng.rules, "rs")->review_gids[1];
	ck_assert_uint_ne(g_daemon, g_root);
	const gid_t none = 65000;
	fx_doc("s1", "t.st", NULL);
	ck_assert_int_eq(fx_advance(FX_DUE), 1);
	ck_assert_str_eq(fx_state("s1"), "review");
	json_t *l = rtn_ops_review_list(&FX.eng, 10), *x = json_array_get(l, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(x, "stage")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(x, "stages")), 2);
	ck_assert_str_eq(fx_jstr(x, "group"), "root");
	json_decref(l);
	json_t *res;
	char err[256];
	/* nobody's groups (rtn_ops_review), and a peer in neither group: refused */
	char job[RTN_JOB_ID_LEN];
	ck_assert_int_eq(rtn_ops_review(&FX.eng, "s1", true, FX_DUE + 1, &res, job, err, 256),
	                 -EPERM);
	ck_assert_int_eq(review_as("s1", true, 1000, none, none, FX_DUE + 1, &res, err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "is not in group \"root\""));
	ck_assert_int_eq(review_as("s1", false, 1000, none, g_daemon, FX_DUE + 1, &res, err),
	                 -EPERM);
	/* stage 1 by a member of root (a supplementary group): still waiting, on daemon */
	ck_assert_int_eq(review_as("s1", true, 1000, none, g_root, FX_DUE + 2, &res, err), 0);
	ck_assert_str_eq(fx_jstr(res, "state"), "review");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "next_stage")), 2);
	ck_assert_str_eq(fx_jstr(res, "next_group"), "daemon");
	json_decref(res);
	ck_assert_str_eq(fx_state("s1"), "review");
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 3, 10, &out), 0);
	l = rtn_ops_review_list(&FX.eng, 10);
	x = json_array_get(l, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(x, "stage")), 2);
	ck_assert_str_eq(fx_jstr(x, "group"), "daemon");
	json_t *a = json_array_get(json_object_get(x, "approved"), 0);
	ck_assert_str_eq(fx_jstr(a, "by"), "uid:1000");
	ck_assert_str_eq(fx_jstr(a, "group"), "root");
	ck_assert_int_eq(fx_jtime(json_object_get(a, "at")), FX_DUE + 2);
	json_decref(l);
	/* a re-put keeps the stage */
	char text[256];
	snprintf(text, sizeof(text),
	         "{\"id\": \"s1\", \"category\": \"t.st\", \"locator\": {\"path\": \"s1\"}, "
	         "\"events\": {\"due\": %lld}}",
	         (long long)FX_DUE);
	ck_assert_int_eq(fx_put_json(text, FX_DUE + 3, NULL), 0);
	ck_assert_str_eq(fx_state("s1"), "review");
	l = rtn_ops_review_list(&FX.eng, 10);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(l, 0), "stage")), 2);
	json_decref(l);
	/* four eyes: uid 1000, in daemon too (its primary group), may not take stage 2 */
	ck_assert_int_eq(review_as("s1", true, 1000, g_daemon, g_root, FX_DUE + 4, &res, err),
	                 -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "approved stage 1"));
	ck_assert_int_eq(review_as("s1", true, 1001, none, g_root, FX_DUE + 4, &res, err), -EPERM);
	/* stage 2 by another member of daemon: the action goes ahead under its one id */
	ck_assert_int_eq(review_as("s1", true, 1001, g_daemon, none, FX_DUE + 5, &res, err), 0);
	ck_assert_str_eq(fx_jstr(res, "state"), "queued");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "stage")), 2);
	ck_assert_ptr_null(json_object_get(res, "next_stage"));
	json_decref(res);
	char want[RTN_JOB_ID_LEN];
	fx_job_id("s1", "delete", "rs", FX_DUE, want);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 6, 10, &out), 1);
	ck_assert_str_eq(out[0].job, want);
	rtn_outjobs_free(out, 1);

	/* a rejection at stage 2 keeps the record for good */
	fx_doc("s2", "t.st", NULL);
	ck_assert_int_eq(fx_advance(FX_DUE + 10), 1);
	ck_assert_int_eq(review_as("s2", true, 1000, g_root, none, FX_DUE + 11, &res, err), 0);
	json_decref(res);
	ck_assert_int_eq(review_as("s2", false, 1001, g_daemon, none, FX_DUE + 12, &res, err), 0);
	ck_assert_str_eq(fx_jstr(res, "decision"), "rejected");
	ck_assert_str_eq(fx_jstr(res, "state"), "active");
	json_decref(res);
	ck_assert_int_eq(fx_next_at("s2"), RTN_TIME_NONE);

	/* the list of stages changed while one waits: its approvals are void, stage 1 again */
	fx_doc("s3", "t.st", NULL);
	ck_assert_int_eq(fx_advance(FX_DUE + 20), 1);
	ck_assert_int_eq(review_as("s3", true, 1000, g_root, none, FX_DUE + 21, &res, err), 0);
	json_decref(res);
	char *swapped = rtn_xstrdup(rules);
	char *p = strstr(swapped, "by root daemon");
	memcpy(p, "by daemon root", 14);
	fx_rules(swapped);
	free(swapped);
	l = rtn_ops_review_list(&FX.eng, 10);
	x = json_array_get(l, 0);
	ck_assert_str_eq(fx_jstr(x, "id"), "s3");
	ck_assert_int_eq(json_integer_value(json_object_get(x, "stage")), 1);
	ck_assert_str_eq(fx_jstr(x, "group"), "daemon");
	ck_assert_uint_eq(json_array_size(json_object_get(x, "approved")), 0);
	ck_assert(json_is_true(json_object_get(x, "restarted")));
	json_decref(l);
	/* uid 1000's approval under the old list does not count against it */
	ck_assert_int_eq(review_as("s3", true, 1000, g_daemon, none, FX_DUE + 22, &res, err), 0);
	ck_assert_str_eq(fx_jstr(res, "state"), "review");
	json_decref(res);
}
END_TEST

START_TEST(review_every_round_after_the_delete)
{
	char rules[2048];
	snprintf(rules, sizeof(rules),
	         "%srule ya { category t.ya; anonymize immediately after due; review every 1 "
	         "year; backend b1 }\nrule yd { category t.ya; delete 30 days after due; backend "
	         "b1 }\n",
	         FX_RULES);
	fx_rules(rules);
	fx_doc("a1", "t.ya", NULL);
	ck_assert_int_eq(fx_advance(FX_DUE), 1);
	ck_assert_str_eq(fx_state("a1"), "review");
	char job[RTN_JOB_ID_LEN];
	json_t *res = decide_review("a1", false, FX_DUE + 20, job);
	ck_assert_str_eq(fx_jstr(res, "action"), "anonymize");
	json_decref(res);
	struct rtn_inv_row row;
	fx_row("a1", &row);
	ck_assert_int_eq(row.sched.anon_at, at_("2027-01-01T01:00:20Z"));
	ck_assert_int_eq(row.sched.del_at, FX_DUE + 30 * FX_DAY);
	ck_assert_int_eq(row.sched.next_at, FX_DUE + 30 * FX_DAY);
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(fx_advance(FX_DUE + 30 * FX_DAY - 1), 0);
	ck_assert_int_eq(fx_advance(FX_DUE + 30 * FX_DAY), 1);
	ck_assert_str_eq(fx_state("a1"), "queued"); /* the deletion needs no review */
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 30 * FX_DAY, 10, &out), 1);
	ck_assert_str_eq(out[0].action, "delete");
	ck_assert_str_eq(out[0].rule, "yd");
	rtn_outjobs_free(out, 1);
}
END_TEST

/* A rejection kept from before rounds existed ("reject JOB"): it stands for good. */
START_TEST(review_every_keeps_an_old_rejection_for_good)
{
	ry_rules("review every 1 year");
	fx_doc("y1", "t.yr", NULL);
	fx_advance(FX_DUE);
	char job[RTN_JOB_ID_LEN];
	fx_job_id("y1", "delete", "ry", FX_DUE, job);
	char *mark = rtn_xasprintf("reject %s", job);
	ck_assert_int_eq(rtn_inv_set_review_mark(FX.inv, fx_rid("y1"), mark), 0);
	free(mark);
	ry_rules("review every 1 year");
	ck_assert_str_eq(fx_state("y1"), "active");
	ck_assert_int_eq(fx_next_at("y1"), RTN_TIME_NONE);
}
END_TEST

/* --- erasure requests ------------------------------------------------------------- */

static const struct rtn_span THIRTY_DAYS = {.days = 30};
#define ERASE_AT (FX_DUE + 10)

/* Subject person:e has e1 (to delete in ten days), e2 (kept 5 years by rule k) and e3
 * (anonymised at FX_DUE); person:o has o1. Erase person:e at ERASE_AT. */
static json_t *erase_e(void)
{
	fx_doc_at("e1", "t.doc", "person:e", "b1", FX_DUE + 10 * 86400);
	fx_doc("e2", "t.keep", "person:e");
	fx_doc("e3", "t.anon", "person:e");
	fx_doc_at("o1", "t.doc", "person:o", NULL, FX_DUE + 10 * 86400);
	fx_act("e3", FX_DUE, NULL);
	ck_assert_str_eq(fx_state("e3"), "anonymized");
	json_t *res = NULL;
	ck_assert_int_eq(
	    rtn_ops_erase(&FX.eng, "person:e", "asked", "uid:0", &THIRTY_DAYS, ERASE_AT, &res), 0);
	return res;
}

START_TEST(erase_covers_the_subjects_records)
{
	json_t *res = erase_e();
	const char *req = fx_jstr(res, "request");
	ck_assert_str_eq(req, "R-000001");
	ck_assert_str_eq(fx_jstr(res, "subject"), "person:e");
	ck_assert_int_eq(fx_jtime(json_object_get(res, "requested")), ERASE_AT);
	ck_assert_int_eq(fx_jtime(json_object_get(res, "deadline")), ERASE_AT + 30 * 86400);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "records")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pending")), 1);
	json_t *sch = json_object_get(res, "scheduled"), *ret = json_object_get(res, "retained");
	json_t *ano = json_object_get(res, "anonymized");
	ck_assert_uint_eq(json_array_size(sch), 1);
	ck_assert_str_eq(fx_jstr(json_array_get(sch, 0), "id"), "e1");
	ck_assert_int_eq(fx_jtime(json_object_get(json_array_get(sch, 0), "at")), ERASE_AT);
	ck_assert_str_eq(fx_jstr(json_array_get(sch, 0), "rule"), "erasure:R-000001");
	ck_assert_uint_eq(json_array_size(ret), 1);
	json_t *r0 = json_array_get(ret, 0);
	ck_assert_str_eq(fx_jstr(r0, "id"), "e2");
	ck_assert_str_eq(fx_jstr(r0, "rule"), "k");
	ck_assert_str_eq(fx_jstr(r0, "basis"), "keep basis");
	ck_assert(json_is_false(json_object_get(r0, "pending")));
	rtn_time_t five_years;
	struct rtn_span y5 = {.years = 5};
	ck_assert_int_eq(rtn_time_add(FX.eng.zone, FX_NOW, &y5, &five_years), 0);
	ck_assert_int_eq(fx_jtime(json_object_get(r0, "until")), five_years);
	ck_assert_uint_eq(json_array_size(ano), 1);
	ck_assert_str_eq(fx_jstr(json_array_get(ano, 0), "id"), "e3");
	ck_assert_int_eq(fx_jtime(json_object_get(json_array_get(ano, 0), "at")), FX_DUE);
	json_decref(res);

	/* e1 is due now, by the request; the others keep their schedules */
	struct rtn_inv_row row;
	fx_row("e1", &row);
	ck_assert_str_eq(row.state, "queued");
	ck_assert_int_eq(row.sched.next_at, ERASE_AT);
	ck_assert_str_eq(row.sched.del_rule, "erasure:R-000001");
	rtn_inv_row_fini(&row);
	ck_assert_str_eq(fx_state("e2"), "active");
	ck_assert_int_eq(fx_next_at("e2"), five_years);
	ck_assert_int_eq(fx_next_at("e3"), FX_DUE + 30 * 86400);
	ck_assert_int_eq(fx_next_at("o1"), FX_DUE + 10 * 86400);
	/* a record the subject gets later is not covered */
	fx_doc_at("e4", "t.doc", "person:e", NULL, FX_DUE + 10 * 86400);
	ck_assert_str_eq(fx_state("e4"), "active");
	ck_assert_int_eq(fx_next_at("e4"), FX_DUE + 10 * 86400);

	json_t *st = rtn_ops_erasures_status(&FX.eng, ERASE_AT);
	ck_assert_uint_eq(json_array_size(st), 1);
	ck_assert_str_eq(fx_jstr(json_array_get(st, 0), "request"), "R-000001");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(st, 0), "pending")), 1);
	ck_assert(json_is_false(json_object_get(json_array_get(st, 0), "at_risk")));
	json_decref(st);
	st = rtn_ops_erasures_status(&FX.eng, ERASE_AT + 29 * 86400 + 1);
	ck_assert(json_is_true(json_object_get(json_array_get(st, 0), "at_risk")));
	json_decref(st);
}
END_TEST

START_TEST(erasure_settles_once_nothing_is_pending)
{
	json_decref(erase_e());
	json_t *done = (void *)1;
	ck_assert_int_eq(rtn_ops_erasures_settle(&FX.eng, ERASE_AT, &done), 0);
	ck_assert_ptr_null(done);
	ck_assert_uint_eq(fx_count("erase.completed", NULL), 0);
	/* e1 goes, by the request's rule */
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, ERASE_AT, 10, &out), 1);
	ck_assert_str_eq(out[0].record, "e1");
	ck_assert_str_eq(out[0].rule, "erasure:R-000001");
	struct rtn_job_outcome o;
	fx_result(&fx_b1, out[0].job, RTN_BST_DONE, false, ERASE_AT + 5, 0, &out[0], &o);
	rtn_outjobs_free(out, 1);

	/* the completion commits with its entry or not at all */
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_ops_erasures_settle(&FX.eng, ERASE_AT + 6, NULL), 1);
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), -EIO);
	rtn_engine_rollback(&FX.eng);
	FX.fail_sync = false;
	ck_assert_uint_eq(fx_count("erase.completed", NULL), 0);
	json_t *st = rtn_ops_erasures_status(&FX.eng, ERASE_AT + 6);
	ck_assert_uint_eq(json_array_size(st), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(st, 0), "pending")), 0);
	json_decref(st);

	ck_assert_int_eq(rtn_ops_erasures_settle(&FX.eng, ERASE_AT + 7, &done), 1);
	ck_assert_uint_eq(json_array_size(done), 1);
	json_t *q = json_array_get(done, 0);
	ck_assert_str_eq(fx_jstr(q, "request"), "R-000001");
	ck_assert_int_eq(json_integer_value(json_object_get(q, "records")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(q, "deleted")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(q, "retained")), 1);
	json_decref(done);
	ck_assert_uint_eq(fx_count("erase.completed", NULL), 1);
	const char *d = fx_last("erase.completed", NULL)->detail;
	ck_assert_ptr_nonnull(strstr(d, "\"request\":\"R-000001\""));
	ck_assert_ptr_nonnull(strstr(d, "\"subject\":\"person:e\""));
	ck_assert_ptr_nonnull(strstr(d, "\"deleted\":1"));
	ck_assert_ptr_nonnull(strstr(d, "\"retained\":1"));
	ck_assert_ptr_nonnull(strstr(d, "\"records\":2"));
	st = rtn_ops_erasures_status(&FX.eng, ERASE_AT + 7);
	ck_assert_uint_eq(json_array_size(st), 0);
	json_decref(st);
	ck_assert_int_eq(rtn_ops_erasures_settle(&FX.eng, ERASE_AT + 8, NULL), 0);
	ck_assert_uint_eq(fx_count("erase.completed", NULL), 1);
}
END_TEST

START_TEST(erasure_settles_when_its_record_is_forgotten)
{
	fx_doc_at("e1", "t.doc", "person:e", "b1", FX_DUE + 10 * 86400);
	json_t *res = NULL;
	ck_assert_int_eq(
	    rtn_ops_erase(&FX.eng, "person:e", "asked", "uid:0", &THIRTY_DAYS, ERASE_AT, &res), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pending")), 1);
	json_decref(res);
	char err[256];
	ck_assert_int_eq(rtn_engine_forget(&FX.eng, "e1", FX_NOW, &res, err, sizeof(err)), 0);
	json_decref(res);
	ck_assert_int_eq(rtn_ops_erasures_settle(&FX.eng, ERASE_AT + 1, NULL), 1);
	const char *d = fx_last("erase.completed", NULL)->detail;
	ck_assert_ptr_nonnull(strstr(d, "\"forgotten\":1"));
	ck_assert_ptr_nonnull(strstr(d, "\"deleted\":0"));
}
END_TEST

/* --- erasure deadlines per namespace ---------------------------------------------- */

/* The usual rules and namespaces t and u with these erasure deadlines, v with none. */
static void ns_rules(const char *t_span, const char *u_span)
{
	char *text = rtn_xasprintf(
	    "%snamespace t { erasure-deadline %s }\nnamespace u { erasure-deadline %s }\n"
	    "namespace v { fiscal-year-start july }\n"
	    "rule u { category u.doc; delete 1 year after due; backend b1 }\n"
	    "rule v { category v.doc; delete 1 year after due; backend b1 }\n",
	    FX_RULES, t_span, u_span);
	fx_rules(text);
	free(text);
}

/* Erase subject at ERASE_AT; its deadline and who set it, also as status and the inventory
 * show them. */
static rtn_time_t erase_deadline(const char *subject, const char *set_by)
{
	json_t *res = NULL;
	ck_assert_int_eq(
	    rtn_ops_erase(&FX.eng, subject, "asked", "uid:0", &THIRTY_DAYS, ERASE_AT, &res), 0);
	ck_assert_str_eq(fx_jstr(res, "deadline_set_by"), set_by);
	rtn_time_t due = fx_jtime(json_object_get(res, "deadline"));
	const char *req = fx_jstr(res, "request");
	json_t *st = rtn_ops_erasures_status(&FX.eng, ERASE_AT);
	json_t *q, *mine = NULL;
	size_t i;
	json_array_foreach(st, i, q)
	{
		if (!strcmp(fx_jstr(q, "request"), req))
			mine = q;
	}
	ck_assert_ptr_nonnull(mine);
	ck_assert_str_eq(fx_jstr(mine, "deadline_set_by"), set_by);
	ck_assert_int_eq(fx_jtime(json_object_get(mine, "deadline")), due);
	json_decref(st);
	json_decref(res);
	return due;
}

START_TEST(erase_deadline_shorter_in_a_namespace)
{
	ns_rules("10 days", "60 days");
	fx_doc_at("e1", "t.doc", "person:e", NULL, FX_DUE + 100 * FX_DAY);
	fx_doc_at("e2", "u.doc", "person:e", NULL, FX_DUE + 100 * FX_DAY);
	/* the strictest of what applies: t's 10 days over u's 60 */
	ck_assert_int_eq(erase_deadline("person:e", "t"), ERASE_AT + 10 * FX_DAY);
	/* a record of a namespace without a deadline (v) or of none gets the default */
	fx_doc_at("f1", "u.doc", "person:f", NULL, FX_DUE + 100 * FX_DAY);
	fx_doc_at("f2", "v.doc", "person:f", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:f", "retentiond.conf"), ERASE_AT + 30 * FX_DAY);
	fx_doc_at("g1", "plain", "person:g", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:g", "retentiond.conf"), ERASE_AT + 30 * FX_DAY);
	/* an anonymised record is not covered: its namespace (t, 10 days) does not count */
	fx_doc("a1", "t.anon", "person:a");
	fx_act("a1", FX_DUE, NULL);
	ck_assert_str_eq(fx_state("a1"), "anonymized");
	fx_doc_at("a2", "u.doc", "person:a", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:a", "u"), ERASE_AT + 60 * FX_DAY);
	/* a request that covers nothing: the default */
	ck_assert_int_eq(erase_deadline("person:nobody", "retentiond.conf"),
	                 ERASE_AT + 30 * FX_DAY);
}
END_TEST

START_TEST(erase_deadline_longer_in_a_namespace)
{
	ns_rules("60 days", "2 months");
	fx_doc_at("e1", "t.doc", "person:e", NULL, FX_DUE + 100 * FX_DAY);
	/* a namespace's own deadline applies to its records, also when longer */
	ck_assert_int_eq(erase_deadline("person:e", "t"), ERASE_AT + 60 * FX_DAY);
	/* 2 months from January are 59 days: u is stricter than t */
	fx_doc_at("h1", "t.doc", "person:h", NULL, FX_DUE + 100 * FX_DAY);
	fx_doc_at("h2", "u.doc", "person:h", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:h", "u"), ERASE_AT + 59 * FX_DAY);
	/* with a record the default covers, the default is stricter */
	fx_doc_at("h3", "v.doc", "person:h", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:h", "retentiond.conf"), ERASE_AT + 30 * FX_DAY);
}
END_TEST

/* The deadline is fixed when the request is made: a rule change later moves neither it
 * nor who set it. */
START_TEST(erase_deadline_is_fixed_when_made)
{
	ns_rules("10 days", "60 days");
	fx_doc_at("e1", "t.doc", "person:e", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:e", "t"), ERASE_AT + 10 * FX_DAY);
	fx_rules(FX_RULES); /* no namespaces any more; the old rules are freed */
	json_t *st = rtn_ops_erasures_status(&FX.eng, ERASE_AT);
	ck_assert_uint_eq(json_array_size(st), 1);
	ck_assert_str_eq(fx_jstr(json_array_get(st, 0), "deadline_set_by"), "t");
	ck_assert_int_eq(fx_jtime(json_object_get(json_array_get(st, 0), "deadline")),
	                 ERASE_AT + 10 * FX_DAY);
	json_decref(st);
	/* a new request now gets the default */
	fx_doc_at("e2", "t.doc", "person:e2", NULL, FX_DUE + 100 * FX_DAY);
	ck_assert_int_eq(erase_deadline("person:e2", "retentiond.conf"), ERASE_AT + 30 * FX_DAY);
}
END_TEST

START_TEST(erasure_waits_for_a_hold)
{
	fx_doc_at("e1", "t.doc", "person:e", NULL, FX_DUE + 10 * 86400);
	size_t n;
	ck_assert_int_eq(hold(true, "id", "e1", "court", FX_NOW, &n), 0);
	json_t *res = NULL;
	ck_assert_int_eq(
	    rtn_ops_erase(&FX.eng, "person:e", "asked", "uid:0", &THIRTY_DAYS, ERASE_AT, &res), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "records")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pending")), 1);
	json_t *r0 = json_array_get(json_object_get(res, "retained"), 0);
	ck_assert_str_eq(fx_jstr(r0, "id"), "e1");
	ck_assert_str_eq(fx_jstr(r0, "rule"), "hold");
	ck_assert(json_is_true(json_object_get(r0, "pending")));
	ck_assert_uint_eq(json_array_size(json_object_get(res, "scheduled")), 0);
	json_decref(res);
	ck_assert_str_eq(fx_state("e1"), "held");
	ck_assert_int_eq(rtn_ops_erasures_settle(&FX.eng, ERASE_AT + 1, NULL), 0);
	/* the hold ends: the request's deletion is due at once */
	ck_assert_int_eq(hold(false, "id", "e1", "court", ERASE_AT + 2, &n), 0);
	ck_assert_str_eq(fx_state("e1"), "queued");
	ck_assert_int_eq(fx_next_at("e1"), ERASE_AT);
}
END_TEST

/* The deletion an erasure request makes due goes to the record's own backend, else where
 * the category's deletions go: a record whose rule names the backend, and which names none
 * itself, is deleted by it (it went to no backend, failed as an orphan, and its request
 * never completed). */
START_TEST(erasure_goes_to_the_backend_of_the_rules)
{
	fx_doc_at("x1", "t.doc", "person:x", NULL, FX_DUE + 10 * 86400);
	ck_assert_int_eq(fx_advance(ERASE_AT), 0);
	json_t *res = NULL;
	ck_assert_int_eq(
	    rtn_ops_erase(&FX.eng, "person:x", "asked", "uid:0", &THIRTY_DAYS, ERASE_AT, &res), 0);
	json_decref(res);
	ck_assert_str_eq(fx_state("x1"), "queued");
	struct rtn_inv_row row;
	fx_row("x1", &row);
	ck_assert_ptr_nonnull(row.sched.next_backend);
	ck_assert_str_eq(row.sched.next_backend, "b1");
	rtn_inv_row_fini(&row);
	struct rtn_config cfg = {.backends = &fx_b1, .nbackends = 1};
	ck_assert_int_eq(rtn_jobs_fail_orphans(&FX.eng, &cfg, ERASE_AT), 0);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, ERASE_AT, 10, &out), 1);
	ck_assert_str_eq(out[0].record, "x1");
	rtn_outjobs_free(out, 1);
}
END_TEST

/* --- jobs.retry -------------------------------------------------------------------- */

START_TEST(retry_of_a_dead_job)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", false, job);
	ck_assert_str_eq(fx_state("r1"), "failed");
	static const char *const only_b2[] = {"b2"}, *const b1[] = {"b1", "b2"};
	size_t n = 99;
	/* its backend is not configured: it stays dead */
	ck_assert_int_eq(rtn_ops_jobs_retry(&FX.eng, job, only_b2, 1, FX_DUE + 50, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(fx_job_state(job), "dead");
	ck_assert_str_eq(fx_state("r1"), "failed");
	ck_assert_int_eq(rtn_ops_jobs_retry(&FX.eng, job, b1, 2, FX_DUE + 100, &n), 0);
	ck_assert_uint_eq(n, 1);
	struct rtn_inv_job j;
	ck_assert_int_eq(rtn_inv_job_get(FX.inv, job, &j), 0);
	ck_assert_str_eq(j.state, "retry");
	ck_assert_int_eq(j.attempts, 0);
	ck_assert_int_eq(j.next_attempt, FX_DUE + 100);
	rtn_inv_job_fini(&j);
	ck_assert_str_eq(fx_state("r1"), "queued");
	/* out again, same id, a fresh count */
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 100, 10, &out), 1);
	ck_assert_str_eq(out[0].job, job);
	ck_assert_int_eq(out[0].attempt, 1);
	rtn_outjobs_free(out, 1);
	/* nothing dead is left */
	ck_assert_int_eq(rtn_ops_jobs_retry(&FX.eng, NULL, b1, 2, FX_DUE + 200, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(retry_of_a_dead_job_under_a_hold_cancels_it)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", false, job);
	ck_assert_str_eq(fx_state("r1"), "failed");
	fx_raw_hold("id", "r1", "legal");
	static const char *const b1[] = {"b1"};
	size_t n = 99;
	ck_assert_int_eq(rtn_ops_jobs_retry(&FX.eng, NULL, b1, 1, FX_DUE + 100, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(fx_job_state(job), "cancelled");
	ck_assert_str_eq(fx_state("r1"), "held");
	ck_assert_uint_eq(fx_count("job.cancelled", "r1"), 1);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 200, 10, &out), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("holds");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, hold_by_id_comes_and_goes);
	tcase_add_test(tc, hold_by_subject_and_category);
	tcase_add_test(tc, hold_cancels_a_waiting_retry);
	tcase_add_test(tc, hold_shows_on_a_record_whose_job_is_out);
	tcase_add_test(tc, hold_stops_the_retry_of_a_job_that_was_out);
	tcase_add_test(tc, hold_changes_nothing_when_the_journal_refuses);
	tcase_add_test(tc, hold_count_includes_a_record_whose_job_is_in_flight);
	suite_add_tcase(s, tc);
	tc = tcase_create("review");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, review_list_and_approve);
	tcase_add_test(tc, review_reject_skips_the_action);
	tcase_add_test(tc, review_every_brings_a_rejected_record_back);
	tcase_add_test(tc, review_every_rounds_follow_a_rule_change);
	tcase_add_test(tc, review_every_keeps_an_old_rejection_for_good);
	tcase_add_test(tc, review_every_round_after_the_delete);
	tcase_add_test(tc, review_in_stages);
	suite_add_tcase(s, tc);
	tc = tcase_create("erase");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, erase_covers_the_subjects_records);
	tcase_add_test(tc, erase_deadline_shorter_in_a_namespace);
	tcase_add_test(tc, erase_deadline_longer_in_a_namespace);
	tcase_add_test(tc, erase_deadline_is_fixed_when_made);
	tcase_add_test(tc, erasure_settles_once_nothing_is_pending);
	tcase_add_test(tc, erasure_settles_when_its_record_is_forgotten);
	tcase_add_test(tc, erasure_waits_for_a_hold);
	tcase_add_test(tc, erasure_goes_to_the_backend_of_the_rules);
	suite_add_tcase(s, tc);
	tc = tcase_create("jobs.retry");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, retry_of_a_dead_job);
	tcase_add_test(tc, retry_of_a_dead_job_under_a_hold_cancels_it);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
