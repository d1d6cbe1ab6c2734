/* test_jobs.c - due actions become jobs, results change records: never early, committed
 * before sent, never lost, never while held */
#include "fixture.h"

#include <stdint.h>

#include "bproto.h"
#include "config.h"

/* The job row of job, which must exist; free with rtn_inv_job_fini. */
static void job_row(const char *job, struct rtn_inv_job *j)
{
	int r = rtn_inv_job_get(FX.inv, job, j);
	ck_assert_msg(r == 0, "job %s: %d", job, r);
}

START_TEST(take_makes_a_committed_job)
{
	fx_put_json("{\"id\": \"r1\", \"category\": \"t.doc\", \"subject\": \"person:1\", "
	            "\"locator\": {\"path\": \"/srv/r1\"}, \"events\": {\"due\": 1767229200}}",
	            FX_NOW, NULL);
	ck_assert_int_eq(fx_advance(FX_DUE), 1);
	ck_assert_str_eq(fx_state("r1"), "queued");
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	char want[RTN_JOB_ID_LEN];
	fx_job_id("r1", "delete", "d", FX_DUE, want);
	ck_assert_str_eq(out[0].job, want);
	ck_assert_str_eq(out[0].record, "r1");
	ck_assert_int_eq(out[0].rid, fx_rid("r1"));
	ck_assert_str_eq(out[0].action, "delete");
	ck_assert_str_eq(out[0].rule, "d");
	ck_assert_str_eq(out[0].category, "t.doc");
	ck_assert_int_eq(out[0].attempt, 1);

	/* the line is a job of the backend protocol, about this record */
	ck_assert_uint_gt(out[0].len, 1);
	ck_assert_uint_eq(strlen(out[0].line), out[0].len);
	ck_assert_int_eq(out[0].line[out[0].len - 1], '\n');
	struct rtn_bjob bj;
	char err[256];
	ck_assert_int_eq(rtn_bproto_decode_job(out[0].line, out[0].len, &bj, err, sizeof(err)), 0);
	ck_assert_str_eq(bj.job, want);
	ck_assert_str_eq(bj.action, "delete");
	ck_assert_int_eq(bj.act, RTN_BACT_DELETE);
	ck_assert_int_eq(bj.attempt, 1);
	ck_assert_str_eq(bj.id, "r1");
	ck_assert_str_eq(bj.category, "t.doc");
	ck_assert_str_eq(bj.subject, "person:1");
	ck_assert_str_eq(json_string_value(json_object_get(bj.locator, "path")), "/srv/r1");
	ck_assert_str_eq(bj.rule, "d");
	rtn_time_t due;
	ck_assert_int_eq(rtn_time_parse(bj.due, &due), 0);
	ck_assert_int_eq(due, FX_DUE);
	rtn_bproto_job_fini(&bj);

	/* committed before it is returned: another connection sees the job */
	struct rtn_inv *other;
	ck_assert_int_eq(rtn_inv_open(FX.db, &other, err, sizeof(err)), 0);
	struct rtn_inv_job j;
	ck_assert_int_eq(rtn_inv_job_get(other, want, &j), 0);
	ck_assert_str_eq(j.state, "sent");
	ck_assert_str_eq(j.backend, "b1");
	ck_assert_str_eq(j.record, "r1");
	ck_assert_str_eq(j.action, "delete");
	ck_assert_str_eq(j.rule, "d");
	ck_assert_int_eq(j.attempts, 1);
	ck_assert_int_eq(j.due, FX_DUE);
	ck_assert_int_eq(j.sent_at, FX_DUE);
	rtn_inv_job_fini(&j);
	rtn_inv_close(other);

	/* the record waits for the result; its entry is in the journal, synced */
	ck_assert_str_eq(fx_state("r1"), "queued");
	ck_assert_int_eq(fx_next_at("r1"), RTN_TIME_NONE);
	ck_assert_uint_eq(fx_count("job.sent", "r1"), 1);
	ck_assert_str_eq(fx_last("job.sent", "r1")->job, want);
	ck_assert_ptr_nonnull(strstr(fx_last("job.sent", "r1")->detail, "\"attempt\":1"));
	ck_assert_int_ge(FX.syncs, 1);
	rtn_outjobs_free(out, 1);

	/* and it is not sent twice */
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 100, 10, &out), 0);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(fx_count("job.sent", NULL), 1);
}
END_TEST

START_TEST(take_is_never_early)
{
	fx_doc("r1", "t.doc", NULL);
	fx_doc("r2", "t.doc", NULL);
	/* a waiting record, however late, is not the take's: advance makes it due */
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 86400, 10, &out), 0);
	ck_assert_str_eq(fx_state("r1"), "active");
	/* a queued record one second before its deadline: nothing */
	ck_assert_int_eq(fx_advance(FX_DUE), 2);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE - 1, 10, &out), 0);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_NOW, 10, &out), 0);
	ck_assert_str_eq(fx_state("r1"), "queued");
	ck_assert_int_eq(fx_next_at("r1"), FX_DUE);
	ck_assert_uint_eq(fx_count("job.sent", NULL), 0);
	char id[RTN_JOB_ID_LEN];
	fx_job_id("r1", "delete", "d", FX_DUE, id);
	ck_assert_str_eq(fx_job_state(id), "(none)");
	/* at the deadline: taken */
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 2);
	ck_assert_str_eq(out[0].job, id);
	ck_assert_str_eq(fx_job_state(id), "sent");
	rtn_outjobs_free(out, 2);
}
END_TEST

START_TEST(take_only_its_backends)
{
	fx_doc("r1", "t.doc", NULL);                         /* rule d names b1 */
	fx_doc("r2", "t.two", NULL);                         /* rule d2 names b2 */
	fx_doc_at("r3", "t.orphan", NULL, "b2", FX_DUE + 1); /* its own backend */
	ck_assert_int_eq(fx_advance(FX_DUE + 1), 3);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 1, 10, &out), 1);
	ck_assert_str_eq(out[0].record, "r1");
	rtn_outjobs_free(out, 1);
	ck_assert_int_eq(fx_next_at("r2"), FX_DUE);
	ck_assert_int_eq(fx_next_at("r3"), FX_DUE + 1);
	ck_assert_int_eq(fx_take(&fx_b2, FX_ALL, FX_DUE + 1, 10, &out), 2);
	ck_assert_str_eq(out[0].record, "r2");
	ck_assert_str_eq(out[1].record, "r3");
	ck_assert_str_eq(out[1].rule, "o");
	struct rtn_inv_job j;
	job_row(out[1].job, &j);
	ck_assert_str_eq(j.backend, "b2");
	rtn_inv_job_fini(&j);
	rtn_outjobs_free(out, 2);
}
END_TEST

START_TEST(take_respects_max)
{
	fx_doc_at("r3", "t.doc", NULL, NULL, FX_DUE + 2);
	fx_doc_at("r1", "t.doc", NULL, NULL, FX_DUE);
	fx_doc_at("r2", "t.doc", NULL, NULL, FX_DUE + 1);
	ck_assert_int_eq(fx_advance(FX_DUE + 2), 3);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 2, 0, &out), 0);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 2, 2, &out), 2);
	ck_assert_str_eq(out[0].record, "r1"); /* earliest first */
	ck_assert_str_eq(out[1].record, "r2");
	rtn_outjobs_free(out, 2);
	ck_assert_int_eq(fx_next_at("r3"), FX_DUE + 2); /* still waiting its turn */
	ck_assert_uint_eq(fx_count("job.sent", NULL), 2);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 2, 2, &out), 1);
	ck_assert_str_eq(out[0].record, "r3");
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(take_fails_an_action_the_backend_lacks)
{
	fx_doc("r1", "t.doc", NULL);
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, RTN_BACT_ANONYMIZE, FX_DUE, 10, &out), 0);
	char id[RTN_JOB_ID_LEN];
	fx_job_id("r1", "delete", "d", FX_DUE, id);
	struct rtn_inv_job j;
	job_row(id, &j);
	ck_assert_str_eq(j.state, "dead");
	ck_assert_int_eq(j.attempts, 0); /* never sent */
	ck_assert_str_eq(j.last_error, "backend b1 cannot delete");
	rtn_inv_job_fini(&j);
	ck_assert_str_eq(fx_state("r1"), "failed");
	ck_assert_uint_eq(fx_count("job.dead", "r1"), 1);
	ck_assert_uint_eq(fx_count("job.sent", NULL), 0);
	/* a failed record is not taken again */
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 10, 10, &out), 0);
}
END_TEST

START_TEST(retry_goes_out_again_with_the_same_id)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, job);
	ck_assert_int_eq(fx_next_retry(job), FX_DUE + 60);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 59, 10, &out), 0);
	ck_assert_str_eq(fx_job_state(job), "retry");
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 60, 10, &out), 1);
	ck_assert_str_eq(out[0].job, job);
	ck_assert_int_eq(out[0].attempt, 2);
	struct rtn_bjob bj;
	char err[256];
	ck_assert_int_eq(rtn_bproto_decode_job(out[0].line, out[0].len, &bj, err, sizeof(err)), 0);
	ck_assert_int_eq(bj.attempt, 2);
	ck_assert_str_eq(bj.job, job);
	rtn_bproto_job_fini(&bj);
	rtn_outjobs_free(out, 1);
	struct rtn_inv_job j;
	job_row(job, &j);
	ck_assert_str_eq(j.state, "sent");
	ck_assert_int_eq(j.attempts, 2);
	ck_assert_int_eq(j.sent_at, FX_DUE + 60);
	ck_assert_int_eq(j.next_attempt, RTN_TIME_NONE);
	rtn_inv_job_fini(&j);
	ck_assert_uint_eq(fx_count("job.sent", "r1"), 2);
	ck_assert_ptr_nonnull(strstr(fx_last("job.sent", "r1")->detail, "\"attempt\":2"));
}
END_TEST

START_TEST(retry_is_decided_again_before_it_is_sent)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, job);
	/* a hold comes while the job waits, and nothing decides the record again */
	fx_raw_hold("id", "r1", "legal");
	ck_assert_str_eq(fx_job_state(job), "retry");
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 3600, 10, &out), 0);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(fx_job_state(job), "cancelled");
	ck_assert_str_eq(fx_state("r1"), "held");
	ck_assert_uint_eq(fx_count("job.sent", "r1"), 1);
	const struct fx_entry *c = fx_last("job.cancelled", "r1");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->job, job);
	ck_assert_ptr_nonnull(strstr(c->detail, "a hold applies (legal)"));
	/* and later takes leave it alone */
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 7200, 10, &out), 0);
	ck_assert_uint_eq(fx_count("job.sent", NULL), 1);
}
END_TEST

START_TEST(take_sends_retries_first)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, job); /* again at FX_DUE + 60 */
	fx_doc_at("r2", "t.doc", NULL, NULL, FX_DUE + 30);
	ck_assert_int_eq(fx_advance(FX_DUE + 60), 1);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 60, 1, &out), 1);
	ck_assert_str_eq(out[0].job, job);
	ck_assert_int_eq(out[0].attempt, 2);
	rtn_outjobs_free(out, 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 60, 1, &out), 1);
	ck_assert_str_eq(out[0].record, "r2");
	ck_assert_int_eq(out[0].attempt, 1);
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(take_commits_nothing_when_the_journal_refuses)
{
	fx_doc("r1", "t.doc", NULL);
	fx_advance(FX_DUE);
	size_t before = FX.n;
	FX.fail_sync = true;
	struct rtn_outjob *out = (void *)1;
	size_t n = 99;
	ck_assert_int_eq(rtn_jobs_take(&FX.eng, &fx_b1, FX_ALL, FX_DUE, 10, &out, &n), -EIO);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(FX.n, before); /* the job.sent entry was taken back */
	char id[RTN_JOB_ID_LEN];
	fx_job_id("r1", "delete", "d", FX_DUE, id);
	ck_assert_str_eq(fx_job_state(id), "(none)");
	ck_assert_str_eq(fx_state("r1"), "queued");
	ck_assert_int_eq(fx_next_at("r1"), FX_DUE);
	FX.fail_sync = false;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	ck_assert_str_eq(out[0].job, id);
	rtn_outjobs_free(out, 1);
}
END_TEST

/* --- results ---------------------------------------------------------------------- */

START_TEST(done_leaves_a_tombstone)
{
	fx_put_json("{\"id\": \"r1\", \"category\": \"t.doc\", \"subject\": \"person:1\", "
	            "\"locator\": {\"path\": \"/srv/r1\"}, \"attributes\": {\"x\": 1}, "
	            "\"events\": {\"due\": 1767229200}}",
	            FX_NOW, NULL);
	fx_doc("r2", "t.doc", "person:1");
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 2);
	/* r1 with what was sent (the common case), r2 read back */
	struct rtn_job_outcome o;
	fx_result(&fx_b1, out[0].job, RTN_BST_DONE, false, FX_DUE + 5, 0, &out[0], &o);
	ck_assert(o.finished && !o.ignored && !o.dead && !o.retry);
	ck_assert_str_eq(o.record, "r1");
	ck_assert_str_eq(o.action, "delete");
	ck_assert_str_eq(o.rule, "d");
	ck_assert_str_eq(o.category, "t.doc");
	fx_result(&fx_b1, out[1].job, RTN_BST_DONE, false, FX_DUE + 6, 0, NULL, &o);
	ck_assert(o.finished && !o.ignored);
	ck_assert_str_eq(o.record, "r2");
	for (int i = 0; i < 2; i++) {
		struct rtn_inv_row row;
		fx_row(out[i].record, &row);
		ck_assert_int_eq(row.deleted_at, FX_DUE + 5 + i);
		ck_assert_ptr_null(row.rec.subject);
		ck_assert_ptr_null(row.rec.locator);
		ck_assert(!row.rec.attributes || json_object_size(row.rec.attributes) == 0);
		ck_assert_str_eq(row.rec.category, "t.doc");
		ck_assert_str_eq(row.deleted_rule, "d");
		ck_assert_str_eq(row.deleted_job, out[i].job);
		rtn_inv_row_fini(&row);
		struct rtn_inv_job j;
		job_row(out[i].job, &j);
		ck_assert_str_eq(j.state, "done");
		ck_assert_int_eq(j.done_at, FX_DUE + 5 + i);
		ck_assert_ptr_null(j.last_error);
		ck_assert_str_eq(j.outcome, "deleted");
		ck_assert_ptr_null(j.subject); /* a tombstone's jobs keep no subject either */
		ck_assert_int_eq(j.first_sent, FX_DUE);
		ck_assert_str_eq(j.anchor, "due");
		ck_assert_int_eq(j.anchor_time, FX_DUE);
		rtn_inv_job_fini(&j);
		ck_assert_uint_eq(fx_count("job.done", out[i].record), 1);
		ck_assert_str_eq(fx_last("job.done", out[i].record)->job, out[i].job);
		ck_assert_ptr_nonnull(
		    strstr(fx_last("job.done", out[i].record)->detail, "\"done\""));
	}
	/* Each entry carries its evidence, alike whether the result came with what was sent
	 * (r1) or the job was read back (r2): due, the anchor event and its time, the rules,
	 * the subject, the first send, the outcome. */
	for (int i = 0; i < 2; i++) {
		char want[1024];
		snprintf(want, sizeof(want),
		         "{\"action\":\"delete\",\"anchor\":\"due\",\"anchor_time\":"
		         "\"2026-01-01T01:00:00Z\",\"attempt\":1,\"backend\":\"b1\",\"due\":"
		         "\"2026-01-01T01:00:00Z\",\"rules\":\"%s\",\"subject\":\"person:1\"}",
		         FX.eng.rules->hash);
		ck_assert_str_eq(fx_last("job.sent", out[i].record)->detail, want);
		snprintf(want, sizeof(want),
		         "{\"action\":\"delete\",\"anchor\":\"due\",\"anchor_time\":"
		         "\"2026-01-01T01:00:00Z\",\"backend\":\"b1\",\"due\":"
		         "\"2026-01-01T01:00:00Z\",\"outcome\":\"deleted\",\"rules\":\"%s\","
		         "\"sent\":\"2026-01-01T01:00:00Z\",\"status\":\"done\",\"subject\":"
		         "\"person:1\"}",
		         FX.eng.rules->hash);
		ck_assert_str_eq(fx_last("job.done", out[i].record)->detail, want);
	}
	/* the tombstone as the protocol shows it */
	json_t *g;
	ck_assert_int_eq(rtn_engine_get(&FX.eng, "r1", FX_DUE + 10, &g), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(g, "deleted"), "outcome")),
	    "deleted");
	ck_assert_str_eq(json_string_value(json_object_get(g, "state")), "deleted");
	ck_assert_ptr_null(json_object_get(g, "subject"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(g, "deleted"), "job")),
	                 out[0].job);
	json_decref(g);
	rtn_outjobs_free(out, 2);
}
END_TEST

START_TEST(gone_counts_as_done)
{
	char job[RTN_JOB_ID_LEN];
	fx_send("r1", "person:1", job);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, job, RTN_BST_GONE, false, FX_DUE + 1, 0, NULL, &o);
	ck_assert(o.finished);
	struct rtn_inv_job j;
	job_row(job, &j);
	ck_assert_str_eq(j.state, "done");
	ck_assert_str_eq(j.last_error, "gone: nothing was there");
	rtn_inv_job_fini(&j);
	struct rtn_inv_row row;
	fx_row("r1", &row);
	ck_assert_int_eq(row.deleted_at, FX_DUE + 1);
	ck_assert_ptr_null(row.rec.subject);
	/* nothing was there: a tombstone, but not a deletion */
	ck_assert_str_eq(row.deleted_outcome, "not_found");
	rtn_inv_row_fini(&row);
	ck_assert_ptr_nonnull(strstr(fx_last("job.done", "r1")->detail, "\"gone\""));
	ck_assert_ptr_nonnull(
	    strstr(fx_last("job.done", "r1")->detail, "\"outcome\":\"not_found\""));
	job_row(job, &j);
	ck_assert_str_eq(j.outcome, "not_found");
	rtn_inv_job_fini(&j);
	json_t *g;
	ck_assert_int_eq(rtn_engine_get(&FX.eng, "r1", FX_DUE + 2, &g), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(g, "deleted"), "outcome")),
	    "not_found");
	json_decref(g);
	json_t *list = rtn_ops_jobs_list(&FX.eng, NULL, 10);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "outcome")),
	                 "not_found");
	json_decref(list);
	json_int_t total;
	json_t *tomb = rtn_ops_deleted_between(&FX.eng, FX_NOW, FX_DUE + 10, NULL, &total);
	ck_assert_int_eq(total, 0); /* the backend deleted nothing */
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(tomb, 0), "not_found")),
	                 1);
	json_decref(tomb);
}
END_TEST

START_TEST(anonymize_moves_on_to_the_next_stage)
{
	fx_doc("n1", "t.anon", "person:1");
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	ck_assert_str_eq(out[0].action, "anonymize");
	ck_assert_str_eq(out[0].rule, "a");
	struct rtn_job_outcome o;
	fx_result(&fx_b1, out[0].job, RTN_BST_DONE, false, FX_DUE + 2, 0, &out[0], &o);
	ck_assert(o.finished);
	ck_assert_str_eq(o.action, "anonymize");
	ck_assert_str_eq(fx_job_state(out[0].job), "done");
	rtn_outjobs_free(out, 1);
	struct rtn_inv_row row;
	fx_row("n1", &row);
	ck_assert_str_eq(row.state, "anonymized");
	ck_assert_int_eq(row.anonymized_at, FX_DUE + 2);
	ck_assert_int_eq(row.deleted_at, RTN_TIME_NONE);
	ck_assert_int_eq(row.sched.next_at, FX_DUE + 30 * 86400);
	ck_assert_int_eq(row.sched.del_at, FX_DUE + 30 * 86400);
	ck_assert_str_eq(row.sched.del_rule, "ad");
	rtn_inv_row_fini(&row);
	/* the delete comes at its own deadline, not before */
	ck_assert_int_eq(fx_advance(FX_DUE + 30 * 86400 - 1), 0);
	ck_assert_int_eq(fx_advance(FX_DUE + 30 * 86400), 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 30 * 86400, 10, &out), 1);
	ck_assert_str_eq(out[0].action, "delete");
	ck_assert_str_eq(out[0].rule, "ad");
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(failure_with_retry_backs_off_within_bounds)
{
	struct rtn_backend_conf b = fx_b1;
	b.max_attempts = 10;
	fx_doc("r1", "t.doc", NULL);
	fx_advance(FX_DUE);
	/* attempt n waits within [60 s, 60 s * 2^(n-1)]; rnd picks the top of the range */
	static const struct {
		uint64_t rnd;
		rtn_time_t wait;
	} want[] = {{UINT64_MAX, 60}, {60000, 120}, {180000, 240}, {0, 60}, {900000, 960}};
	rtn_time_t t = FX_DUE;
	char job[RTN_JOB_ID_LEN] = "";
	for (int i = 0; i < 5; i++) {
		struct rtn_outjob *out;
		ck_assert_int_eq(fx_take(&b, FX_ALL, t, 10, &out), 1);
		ck_assert_int_eq(out[0].attempt, i + 1);
		if (i == 0)
			snprintf(job, sizeof(job), "%s", out[0].job);
		ck_assert_str_eq(out[0].job, job);
		rtn_outjobs_free(out, 1);
		struct rtn_job_outcome o;
		fx_result(&b, job, RTN_BST_FAILED, true, t, want[i].rnd, NULL, &o);
		ck_assert(o.retry && !o.dead && !o.finished && !o.ignored);
		ck_assert_int_eq(o.next_attempt, t + want[i].wait);
		ck_assert_int_ge(o.next_attempt, t + 60);
		ck_assert_int_le(o.next_attempt, t + (60 << i));
		struct rtn_inv_job j;
		job_row(job, &j);
		ck_assert_str_eq(j.state, "retry");
		ck_assert_int_eq(j.attempts, i + 1);
		ck_assert_int_eq(j.next_attempt, o.next_attempt);
		ck_assert_str_eq(j.last_error, "it broke");
		rtn_inv_job_fini(&j);
		ck_assert_str_eq(fx_state("r1"), "queued");
		char na[48];
		snprintf(na, sizeof(na), "\"next_attempt\":%lld", (long long)o.next_attempt);
		ck_assert_ptr_nonnull(strstr(fx_last("job.failed", "r1")->detail, na));
		ck_assert_uint_eq(fx_count("job.failed", "r1"), (size_t)i + 1);
		t = o.next_attempt;
	}
}
END_TEST

START_TEST(failure_without_retry_is_dead)
{
	char job[RTN_JOB_ID_LEN];
	fx_send("r1", "person:1", job);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, job, RTN_BST_FAILED, false, FX_DUE + 1, 0, NULL, &o);
	ck_assert(o.dead && !o.retry && !o.finished);
	struct rtn_inv_job j;
	job_row(job, &j);
	ck_assert_str_eq(j.state, "dead");
	ck_assert_int_eq(j.next_attempt, RTN_TIME_NONE);
	ck_assert_ptr_nonnull(strstr(j.last_error, "retrying cannot help"));
	rtn_inv_job_fini(&j);
	ck_assert_str_eq(fx_state("r1"), "failed");
	ck_assert_uint_eq(fx_count("job.dead", "r1"), 1);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 86400, 10, &out), 0);
}
END_TEST

START_TEST(failure_after_the_last_attempt_is_dead)
{
	char job[RTN_JOB_ID_LEN];
	fx_send("r1", "person:1", job);
	rtn_time_t t = FX_DUE;
	struct rtn_job_outcome o;
	for (int i = 1; i <= 3; i++) { /* fx_b1 makes 3 attempts */
		fx_result(&fx_b1, job, RTN_BST_FAILED, true, t, 0, NULL, &o);
		if (i < 3) {
			ck_assert(o.retry);
			t = o.next_attempt;
			struct rtn_outjob *out;
			ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, t, 10, &out), 1);
			ck_assert_int_eq(out[0].attempt, i + 1);
			rtn_outjobs_free(out, 1);
		}
	}
	ck_assert(o.dead && !o.retry);
	struct rtn_inv_job j;
	job_row(job, &j);
	ck_assert_str_eq(j.state, "dead");
	ck_assert_int_eq(j.attempts, 3);
	ck_assert_ptr_nonnull(strstr(j.last_error, "gave up after 3 attempts"));
	rtn_inv_job_fini(&j);
	ck_assert_str_eq(fx_state("r1"), "failed");
	ck_assert_uint_eq(fx_count("job.failed", "r1"), 2);
	ck_assert_uint_eq(fx_count("job.dead", "r1"), 1);
}
END_TEST

START_TEST(unknown_late_and_strange_results_are_ignored)
{
	char job[RTN_JOB_ID_LEN];
	fx_send("r1", "person:1", job);
	size_t before = FX.n;
	struct rtn_job_outcome o;
	/* a job nobody made */
	fx_result(&fx_b1, "J-0000000099-000000000000", RTN_BST_DONE, false, FX_DUE, 0, NULL, &o);
	ck_assert(o.ignored && !o.finished);
	fx_result(&fx_b1, "J-0000000099-000000000000", RTN_BST_FAILED, false, FX_DUE, 0, NULL, &o);
	ck_assert(o.ignored && !o.dead);
	/* another backend cannot speak for b1's job, read back or as sent */
	fx_result(&fx_b2, job, RTN_BST_DONE, false, FX_DUE, 0, NULL, &o);
	ck_assert(o.ignored && !o.finished);
	struct rtn_outjob sent = {.rid = fx_rid("r1"),
	                          .record = "r1",
	                          .action = "delete",
	                          .rule = "d",
	                          .category = "t.doc"};
	snprintf(sent.job, sizeof(sent.job), "%s", job);
	fx_result(&fx_b2, job, RTN_BST_DONE, false, FX_DUE, 0, &sent, &o);
	ck_assert(o.ignored && !o.finished);
	fx_result(&fx_b2, job, RTN_BST_FAILED, false, FX_DUE, 0, NULL, &o);
	ck_assert(o.ignored && !o.dead);
	ck_assert_str_eq(fx_job_state(job), "sent");
	ck_assert_str_eq(fx_state("r1"), "queued");
	ck_assert_uint_eq(FX.n, before); /* nothing was audited */
	/* the real result, then late duplicates of it */
	fx_result(&fx_b1, job, RTN_BST_DONE, false, FX_DUE + 1, 0, &sent, &o);
	ck_assert(o.finished);
	before = FX.n;
	fx_result(&fx_b1, job, RTN_BST_DONE, false, FX_DUE + 2, 0, &sent, &o);
	ck_assert(o.ignored && !o.finished);
	fx_result(&fx_b1, job, RTN_BST_GONE, false, FX_DUE + 3, 0, NULL, &o);
	ck_assert(o.ignored && !o.finished);
	fx_result(&fx_b1, job, RTN_BST_FAILED, true, FX_DUE + 4, 0, NULL, &o);
	ck_assert(o.ignored && !o.retry);
	ck_assert_uint_eq(FX.n, before);
	struct rtn_inv_job j;
	job_row(job, &j);
	ck_assert_str_eq(j.state, "done");
	ck_assert_int_eq(j.done_at, FX_DUE + 1);
	rtn_inv_job_fini(&j);
	ck_assert_int_eq(fx_deleted_at("r1"), FX_DUE + 1);
}
END_TEST

START_TEST(late_done_of_a_dead_job_still_counts)
{
	char job[RTN_JOB_ID_LEN];
	fx_send_failed("r1", false, job);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, job, RTN_BST_DONE, false, FX_DUE + 9, 0, NULL, &o);
	ck_assert(o.finished && !o.ignored);
	ck_assert_str_eq(fx_job_state(job), "done");
	ck_assert_int_eq(fx_deleted_at("r1"), FX_DUE + 9);
}
END_TEST

START_TEST(result_commits_nothing_when_the_journal_refuses)
{
	char job[RTN_JOB_ID_LEN];
	fx_send("r1", "person:1", job);
	size_t before = FX.n;
	struct rtn_job_outcome o;
	static const enum rtn_bstatus sts[] = {RTN_BST_DONE, RTN_BST_FAILED, RTN_BST_FAILED};
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
		ck_assert_int_eq(rtn_jobs_result(&FX.eng, &fx_b1, job, sts[i], "x", i == 1,
		                                 FX_DUE + 1, 0, NULL, &o),
		                 0);
		FX.fail_sync = true;
		ck_assert_int_eq(rtn_engine_commit(&FX.eng), -EIO);
		rtn_engine_rollback(&FX.eng);
		FX.fail_sync = false;
		ck_assert_uint_eq(FX.n, before);
		ck_assert_str_eq(fx_job_state(job), "sent");
		struct rtn_inv_row row;
		fx_row("r1", &row);
		ck_assert_str_eq(row.state, "queued");
		ck_assert_int_eq(row.deleted_at, RTN_TIME_NONE);
		ck_assert_str_eq(row.rec.subject, "person:1");
		rtn_inv_row_fini(&row);
	}
	/* the result comes again (the dispatcher keeps it) and is recorded */
	fx_result(&fx_b1, job, RTN_BST_DONE, false, FX_DUE + 2, 0, NULL, &o);
	ck_assert(o.finished);
	ck_assert_uint_eq(fx_count("job.done", "r1"), 1);
}
END_TEST

/* A late "done" of a job that was cancelled (or given up) is recorded (the action
 * happened), but a record that is a tombstone by now stays one, with the time, rule and
 * job of the deletion that made it: neither "anonymized" again nor tombstoned anew. */
START_TEST(late_done_of_an_anonymize_job_leaves_a_tombstone)
{
	fx_doc("n1", "t.anon", NULL);
	fx_advance(FX_DUE);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE, 10, &out), 1);
	ck_assert_str_eq(out[0].action, "anonymize");
	char anon[RTN_JOB_ID_LEN];
	snprintf(anon, sizeof(anon), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, anon, RTN_BST_FAILED, true, FX_DUE, 0, NULL, &o);
	ck_assert(o.retry);
	/* the rules change: t.anon is deleted at once; the waiting anonymisation is cancelled */
	fx_rules("rule x { category t.anon; delete immediately after due; backend b1 }\n");
	size_t changed, paused;
	ck_assert_int_eq(
	    rtn_engine_recompute_all(&FX.eng, FX_DUE + 1, 10, false, &changed, &paused), 0);
	ck_assert_str_eq(fx_job_state(anon), "cancelled");
	ck_assert_str_eq(fx_state("n1"), "queued");
	char del[RTN_JOB_ID_LEN];
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 1, 10, &out), 1);
	ck_assert_str_eq(out[0].action, "delete");
	snprintf(del, sizeof(del), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	fx_result(&fx_b1, del, RTN_BST_DONE, false, FX_DUE + 2, 0, NULL, &o);
	ck_assert_str_eq(fx_state("n1"), "deleted");
	/* the backend's late "done" of the cancelled anonymisation arrives */
	fx_result(&fx_b1, anon, RTN_BST_DONE, false, FX_DUE + 3, 0, NULL, &o);
	struct rtn_inv_row row;
	fx_row("n1", &row);
	ck_assert_str_eq(row.state, "deleted"); /* a tombstone stays one */
	ck_assert_int_eq(row.deleted_at, FX_DUE + 2);
	ck_assert_str_eq(row.deleted_job, del);
	rtn_inv_row_fini(&row);
}
END_TEST

START_TEST(late_done_of_a_cancelled_delete_keeps_the_tombstone)
{
	char first[RTN_JOB_ID_LEN];
	fx_send_failed("r1", true, first);
	/* the rule changes: the deletion moves a minute later; the waiting job is cancelled */
	fx_rules("rule d { category t.doc; delete 1 minute after due; backend b1 }\n");
	size_t changed, paused;
	ck_assert_int_eq(
	    rtn_engine_recompute_all(&FX.eng, FX_DUE + 1, 10, false, &changed, &paused), 0);
	ck_assert_str_eq(fx_job_state(first), "cancelled");
	ck_assert_int_eq(fx_advance(FX_DUE + 60), 1);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, FX_DUE + 60, 10, &out), 1);
	char second[RTN_JOB_ID_LEN];
	snprintf(second, sizeof(second), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	ck_assert_str_ne(first, second);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, second, RTN_BST_DONE, false, FX_DUE + 61, 0, NULL, &o);
	ck_assert_int_eq(fx_deleted_at("r1"), FX_DUE + 61);
	/* a late "done" of the cancelled first job: the action happened, but the proof of
	 * the deletion stays what it was */
	fx_result(&fx_b1, first, RTN_BST_DONE, false, FX_DUE + 90, 0, NULL, &o);
	struct rtn_inv_row row;
	fx_row("r1", &row);
	ck_assert_str_eq(row.state, "deleted");
	ck_assert_int_eq(row.deleted_at, FX_DUE + 61);
	ck_assert_str_eq(row.deleted_job, second);
	rtn_inv_row_fini(&row);
}
END_TEST

/* --- orphans ------------------------------------------------------------------------ */

START_TEST(orphans_fail_visibly)
{
	struct rtn_config cfg = {.backends = &fx_b1, .nbackends = 1};
	fx_doc("o1", "t.orphan", NULL);                      /* no backend at all */
	fx_doc_at("o2", "t.orphan", NULL, "nobody", FX_DUE); /* one not configured */
	fx_doc_at("o3", "t.orphan", NULL, "b1", FX_DUE);     /* b1's */
	fx_doc("r1", "t.doc", NULL);
	fx_doc_at("o4", "t.orphan", NULL, NULL, FX_DUE + 100); /* not due yet */
	ck_assert_int_eq(fx_advance(FX_DUE), 4);
	ck_assert_int_eq(rtn_jobs_fail_orphans(&FX.eng, &cfg, FX_DUE - 1), 0);
	ck_assert_str_eq(fx_state("o1"), "queued");

	size_t before = FX.n;
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_jobs_fail_orphans(&FX.eng, &cfg, FX_DUE), -EIO);
	FX.fail_sync = false;
	ck_assert_str_eq(fx_state("o1"), "queued");
	ck_assert_str_eq(fx_state("o2"), "queued");
	ck_assert_uint_eq(FX.n, before);

	ck_assert_int_eq(rtn_jobs_fail_orphans(&FX.eng, &cfg, FX_DUE), 2);
	static const char *const why[] = {"neither the record nor its rule names a backend",
	                                  "no backend named nobody is configured"};
	for (int i = 0; i < 2; i++) {
		const char *id = i ? "o2" : "o1";
		ck_assert_str_eq(fx_state(id), "failed");
		char jid[RTN_JOB_ID_LEN];
		fx_job_id(id, "delete", "o", FX_DUE, jid);
		struct rtn_inv_job j;
		job_row(jid, &j);
		ck_assert_str_eq(j.state, "dead");
		ck_assert_str_eq(j.last_error, why[i]);
		rtn_inv_job_fini(&j);
		ck_assert_uint_eq(fx_count("job.dead", id), 1);
	}
	ck_assert_str_eq(fx_state("o3"), "queued");
	ck_assert_str_eq(fx_state("r1"), "queued");
	ck_assert_str_eq(fx_state("o4"), "active");
	ck_assert_int_eq(rtn_jobs_fail_orphans(&FX.eng, &cfg, FX_DUE), 0);
}
END_TEST

/* --- notices ("notify SPAN before") ------------------------------------------------ */

#define NOTE_RULES                                                                                 \
	"rule n { category t.note; delete 1 day after due; notify 2 hours before; backend b1 }\n"
#define NOTE_DEADLINE (FX_DUE + FX_DAY)
#define NOTE_AT       (NOTE_DEADLINE - 7200)
#define FX_NOTICE     (FX_ALL | RTN_BACT_NOTICE)

/* Redecide record id now in a transaction of its own. */
static void redecide(const char *id, rtn_time_t now)
{
	bool changed;
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_engine_redecide(&FX.eng, fx_rid(id), now, false, &changed, NULL), 0);
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), 0);
}

/* The notice job id of record id for the deletion by rule at deadline. */
static void notice_id(const char *id, const char *rule, rtn_time_t deadline, char *out)
{
	rtn_job_id(fx_rid(id), id, "notice", rule, deadline, out);
}

START_TEST(notice_is_a_job_before_its_action)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r1", "t.note", "person:1");
	struct rtn_outjob *out;
	/* never early */
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT - 1, 10, &out), 0);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT, 10, &out), 1);
	char id[RTN_JOB_ID_LEN], action[RTN_JOB_ID_LEN];
	notice_id("r1", "n", NOTE_DEADLINE, id);
	fx_job_id("r1", "delete", "n", NOTE_DEADLINE, action);
	ck_assert_str_ne(id, action); /* the action's name is part of the id */
	ck_assert_str_eq(out[0].job, id);
	ck_assert_str_eq(out[0].action, "notice");
	ck_assert_str_eq(out[0].notice_of, "delete");
	ck_assert_int_eq(out[0].notice_deadline, NOTE_DEADLINE);
	ck_assert_int_eq(out[0].due, NOTE_AT);
	struct rtn_bjob bj;
	char err[256];
	ck_assert_int_eq(rtn_bproto_decode_job(out[0].line, out[0].len, &bj, err, sizeof(err)), 0);
	ck_assert_int_eq(bj.act, RTN_BACT_NOTICE);
	ck_assert_str_eq(json_string_value(json_object_get(bj.root, "announces")), "delete");
	rtn_time_t t;
	ck_assert_int_eq(
	    rtn_time_parse(json_string_value(json_object_get(bj.root, "deadline")), &t), 0);
	ck_assert_int_eq(t, NOTE_DEADLINE);
	rtn_bproto_job_fini(&bj);
	/* committed and audited, saying what it announces; the record waits */
	ck_assert_str_eq(fx_job_state(id), "sent");
	const struct fx_entry *x = fx_last("job.sent", "r1");
	ck_assert_str_eq(x->job, id);
	ck_assert_ptr_nonnull(strstr(x->detail, "\"announces\":\"delete\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"deadline\":\"2026-01-02T01:00:00Z\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"due\":\"2026-01-01T23:00:00Z\""));
	ck_assert_str_eq(fx_state("r1"), "active");
	struct rtn_job_outcome o;
	fx_result(&fx_b1, id, RTN_BST_DONE, false, NOTE_AT + 1, 0, &out[0], &o);
	rtn_outjobs_free(out, 1);
	/* done is no deletion: the record is active, its action still to come */
	ck_assert_str_eq(fx_job_state(id), "done");
	ck_assert_str_eq(fx_state("r1"), "active");
	ck_assert_int_eq(fx_next_at("r1"), NOTE_DEADLINE);
	ck_assert_ptr_nonnull(
	    strstr(fx_last("job.done", "r1")->detail, "\"outcome\":\"delivered\""));
	/* one notice per deadline: taken again, decided again, nothing more */
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 60, 10, &out), 0);
	redecide("r1", NOTE_AT + 70);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 80, 10, &out), 0);
	ck_assert_uint_eq(fx_count("job.sent", "r1"), 1);
	/* the action at its deadline, never before */
	ck_assert_int_eq(fx_advance(NOTE_DEADLINE - 1), 0);
	char done[RTN_JOB_ID_LEN];
	fx_act("r1", NOTE_DEADLINE, done);
	ck_assert_str_eq(done, action);
	ck_assert_str_eq(fx_state("r1"), "deleted");
}
END_TEST

START_TEST(notice_of_a_moved_deadline_is_a_new_job)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r1", "t.note", NULL);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT, 10, &out), 1);
	char first[RTN_JOB_ID_LEN];
	snprintf(first, sizeof(first), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	/* the rule now deletes a day later: a new deadline, a new notice */
	text = rtn_xasprintf("%s%s", FX_RULES,
	                     "rule n { category t.note; delete 2 days after due; notify 2 hours "
	                     "before; backend b1 }\n");
	fx_rules(text);
	free(text);
	size_t changed, paused;
	ck_assert_int_eq(
	    rtn_engine_recompute_all(&FX.eng, NOTE_AT + 10, 100, false, &changed, &paused), 0);
	ck_assert_uint_eq(changed, 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + FX_DAY - 1, 10, &out), 0);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + FX_DAY, 10, &out), 1);
	char second[RTN_JOB_ID_LEN];
	notice_id("r1", "n", NOTE_DEADLINE + FX_DAY, second);
	ck_assert_str_eq(out[0].job, second);
	ck_assert_str_ne(first, second);
	ck_assert_int_eq(out[0].notice_deadline, NOTE_DEADLINE + FX_DAY);
	rtn_outjobs_free(out, 1);
	/* the first, still out, is answered: it is done, and changes nothing */
	struct rtn_job_outcome o;
	fx_result(&fx_b1, first, RTN_BST_DONE, false, NOTE_AT + FX_DAY + 1, 0, NULL, &o);
	ck_assert_str_eq(fx_state("r1"), "active");
	ck_assert_int_eq(fx_next_at("r1"), NOTE_DEADLINE + FX_DAY);
	/* a new anchor time (the record put again with another due): a third notice; a put
	 * that keeps the deadline, none */
	fx_doc_at("r1", "t.note", NULL, NULL, FX_DUE + 3 * FX_DAY);
	rtn_time_t deadline = FX_DUE + 5 * FX_DAY;
	ck_assert_int_eq(fx_next_at("r1"), deadline);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, deadline - 7201, 10, &out), 0);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, deadline - 7200, 10, &out), 1);
	char third[RTN_JOB_ID_LEN];
	notice_id("r1", "n", deadline, third);
	ck_assert_str_eq(out[0].job, third);
	rtn_outjobs_free(out, 1);
	fx_doc_at("r1", "t.note", "person:9", NULL, FX_DUE + 3 * FX_DAY); /* written again */
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, deadline - 7000, 10, &out), 0);
	ck_assert_uint_eq(fx_count("job.sent", "r1"), 3);
}
END_TEST

START_TEST(notice_failing_never_delays_the_action)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r1", "t.note", NULL);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT, 10, &out), 1);
	char id[RTN_JOB_ID_LEN];
	snprintf(id, sizeof(id), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, id, RTN_BST_FAILED, true, NOTE_AT, 0, NULL, &o);
	ck_assert(o.retry);
	ck_assert_str_eq(fx_job_state(id), "retry");
	ck_assert_str_eq(fx_state("r1"), "active"); /* a failed notice fails no record */
	/* at the deadline the action goes; the notice still waiting is moot */
	ck_assert_int_eq(fx_advance(NOTE_DEADLINE), 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_DEADLINE, 10, &out), 1);
	char action[RTN_JOB_ID_LEN];
	fx_job_id("r1", "delete", "n", NOTE_DEADLINE, action);
	ck_assert_str_eq(out[0].job, action);
	rtn_outjobs_free(out, 1);
	ck_assert_str_eq(fx_job_state(id), "cancelled");
	ck_assert_ptr_nonnull(strstr(fx_last("job.cancelled", "r1")->detail, "moot"));
	/* one that gives up for good is dead, and its record is not failed */
	fx_doc("r2", "t.note", NULL);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT, 10, &out), 1);
	snprintf(id, sizeof(id), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	fx_result(&fx_b1, id, RTN_BST_FAILED, false, NOTE_AT, 0, NULL, &o);
	ck_assert(o.dead);
	ck_assert_str_eq(fx_job_state(id), "dead");
	ck_assert_str_eq(fx_state("r2"), "active");
	ck_assert_int_eq(fx_next_at("r2"), NOTE_DEADLINE);
	/* jobs retry: the notice goes again, its record untouched */
	size_t count;
	const char *names[] = {"b1", "b2"};
	ck_assert_int_eq(rtn_ops_jobs_retry(&FX.eng, id, names, 2, NOTE_AT + 10, &count), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(fx_state("r2"), "active");
	ck_assert_int_eq(fx_next_at("r2"), NOTE_DEADLINE);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 10, 10, &out), 1);
	ck_assert_str_eq(out[0].job, id);
	rtn_outjobs_free(out, 1);
}
END_TEST

/* A notice never made (its backend away) when its action falls due: the action goes at
 * its deadline, the notice is audited as missed before the action's job.sent, once, and
 * never made after; a notice made in time is no notice missed. */
START_TEST(notice_never_made_is_missed)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r1", "t.note", "person:1");
	fx_doc("r2", "t.note", NULL);
	struct rtn_outjob *out;
	/* r1's and r2's notices are made in time */
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT, 10, &out), 2);
	rtn_outjobs_free(out, 2);
	/* r3's, of the same deadline, is never taken before its action is due */
	fx_doc("r3", "t.note", "person:3");
	/* a refused transaction counts nothing */
	ck_assert_int_eq(fx_advance(NOTE_DEADLINE), 3);
	size_t before = FX.n, n;
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_jobs_take(&FX.eng, &fx_b1, FX_NOTICE, NOTE_DEADLINE, 10, &out, &n),
	                 -EIO);
	FX.fail_sync = false;
	ck_assert_uint_eq(FX.n, before);
	ck_assert_uint_eq(FX.eng.notices_missed, 0);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_DEADLINE, 10, &out), 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_str_ne(out[i].action, "notice");
	rtn_outjobs_free(out, 3);
	ck_assert_uint_eq(fx_count("notice.missed", NULL), 1);
	ck_assert_uint_eq(fx_count("notice.missed", "r3"), 1);
	ck_assert_uint_eq(FX.eng.notices_missed, 1);
	const struct fx_entry *x = fx_last("notice.missed", "r3");
	char action[RTN_JOB_ID_LEN], id[RTN_JOB_ID_LEN];
	fx_job_id("r3", "delete", "n", NOTE_DEADLINE, action);
	ck_assert_str_eq(x->job, action);
	ck_assert_str_eq(x->rule, "n");
	ck_assert_ptr_nonnull(strstr(x->detail, "\"action\":\"notice\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"announces\":\"delete\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"backend\":\"b1\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"deadline\":\"2026-01-02T01:00:00Z\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"due\":\"2026-01-01T23:00:00Z\""));
	ck_assert_ptr_nonnull(strstr(x->detail, "\"subject\":\"person:3\""));
	/* written before the action's job.sent */
	size_t at_missed = SIZE_MAX, at_sent = SIZE_MAX;
	for (size_t i = 0; i < FX.n; i++) {
		if (!strcmp(FX.v[i].type, "notice.missed"))
			at_missed = i;
		if (!strcmp(FX.v[i].type, "job.sent") && !strcmp(FX.v[i].job, action))
			at_sent = i;
	}
	ck_assert_uint_lt(at_missed, at_sent);
	/* cleared: no notice job, then or later */
	notice_id("r3", "n", NOTE_DEADLINE, id);
	ck_assert_str_eq(fx_job_state(id), "(none)");
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_DEADLINE + 10, 10, &out), 0);
	ck_assert_str_eq(fx_job_state(id), "(none)");
	ck_assert_uint_eq(fx_count("notice.missed", NULL), 1);
}
END_TEST

START_TEST(notice_never_takes_an_actions_place)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r2", "t.note", NULL);
	fx_doc_at("r1", "t.doc", NULL, NULL, NOTE_AT + 100);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT, 10, &out), 1);
	char notice[RTN_JOB_ID_LEN];
	snprintf(notice, sizeof(notice), "%s", out[0].job);
	rtn_outjobs_free(out, 1);
	struct rtn_job_outcome o;
	fx_result(&fx_b1, notice, RTN_BST_FAILED, true, NOTE_AT, 0, NULL, &o);
	ck_assert(o.retry);
	ck_assert_int_le(o.next_attempt, NOTE_AT + 3600);
	/* both due with room for one: the action goes first, the notice after it */
	rtn_time_t t = NOTE_AT + 3600;
	ck_assert_int_eq(fx_advance(t), 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, t, 1, &out), 1);
	ck_assert_str_eq(out[0].record, "r1");
	ck_assert_str_eq(out[0].action, "delete");
	rtn_outjobs_free(out, 1);
	ck_assert_str_eq(fx_job_state(notice), "retry");
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, t, 1, &out), 1);
	ck_assert_str_eq(out[0].job, notice);
	ck_assert_int_eq(out[0].attempt, 2);
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(notice_to_a_backend_without_notices_is_dead)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r1", "t.note", NULL);
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, NOTE_AT, 10, &out), 0);
	char id[RTN_JOB_ID_LEN];
	notice_id("r1", "n", NOTE_DEADLINE, id);
	ck_assert_str_eq(fx_job_state(id), "dead");
	ck_assert_ptr_nonnull(strstr(fx_last("job.dead", "r1")->detail, "does not take notices"));
	ck_assert_str_eq(fx_state("r1"), "active");
	ck_assert_int_eq(fx_advance(NOTE_DEADLINE), 1);
	ck_assert_int_eq(fx_take(&fx_b1, FX_ALL, NOTE_DEADLINE, 10, &out), 1);
	ck_assert_str_eq(out[0].action, "delete");
	rtn_outjobs_free(out, 1);
}
END_TEST

START_TEST(notice_waits_for_a_hold)
{
	char *text = rtn_xasprintf("%s%s", FX_RULES, NOTE_RULES);
	fx_rules(text);
	free(text);
	fx_doc("r1", "t.note", NULL);
	fx_raw_hold("id", "r1", "legal");
	redecide("r1", FX_NOW);
	ck_assert_str_eq(fx_state("r1"), "held");
	struct rtn_outjob *out;
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 60, 10, &out), 0);
	char id[RTN_JOB_ID_LEN];
	notice_id("r1", "n", NOTE_DEADLINE, id);
	ck_assert_str_eq(fx_job_state(id), "(none)");
	/* lifted before the deadline: the notice goes, late, the deadline unchanged */
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_inv_hold_remove(FX.inv, "id", "r1", "legal"), 0);
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), 0);
	rtn_engine_refresh(&FX.eng);
	redecide("r1", NOTE_AT + 120);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 120, 10, &out), 1);
	ck_assert_str_eq(out[0].job, id);
	rtn_outjobs_free(out, 1);
	/* a hold while it waits to be retried cancels it; lifted, the same notice goes again */
	struct rtn_job_outcome o;
	fx_result(&fx_b1, id, RTN_BST_FAILED, true, NOTE_AT + 120, 0, NULL, &o);
	fx_raw_hold("id", "r1", "legal");
	redecide("r1", NOTE_AT + 130);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 3600, 10, &out), 0);
	ck_assert_str_eq(fx_job_state(id), "cancelled");
	ck_assert_int_eq(rtn_engine_begin(&FX.eng), 0);
	ck_assert_int_eq(rtn_inv_hold_remove(FX.inv, "id", "r1", "legal"), 0);
	ck_assert_int_eq(rtn_engine_commit(&FX.eng), 0);
	rtn_engine_refresh(&FX.eng);
	redecide("r1", NOTE_AT + 3700);
	ck_assert_int_eq(fx_take(&fx_b1, FX_NOTICE, NOTE_AT + 3700, 10, &out), 1);
	ck_assert_str_eq(out[0].job, id);
	ck_assert_int_eq(out[0].attempt, 2);
	rtn_outjobs_free(out, 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("take");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, take_makes_a_committed_job);
	tcase_add_test(tc, take_is_never_early);
	tcase_add_test(tc, take_only_its_backends);
	tcase_add_test(tc, take_respects_max);
	tcase_add_test(tc, take_fails_an_action_the_backend_lacks);
	tcase_add_test(tc, retry_goes_out_again_with_the_same_id);
	tcase_add_test(tc, retry_is_decided_again_before_it_is_sent);
	tcase_add_test(tc, take_sends_retries_first);
	tcase_add_test(tc, take_commits_nothing_when_the_journal_refuses);
	suite_add_tcase(s, tc);
	tc = tcase_create("result");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, done_leaves_a_tombstone);
	tcase_add_test(tc, gone_counts_as_done);
	tcase_add_test(tc, anonymize_moves_on_to_the_next_stage);
	tcase_add_test(tc, failure_with_retry_backs_off_within_bounds);
	tcase_add_test(tc, failure_without_retry_is_dead);
	tcase_add_test(tc, failure_after_the_last_attempt_is_dead);
	tcase_add_test(tc, unknown_late_and_strange_results_are_ignored);
	tcase_add_test(tc, late_done_of_a_dead_job_still_counts);
	tcase_add_test(tc, result_commits_nothing_when_the_journal_refuses);
	tcase_add_test(tc, orphans_fail_visibly);
	tcase_add_test(tc, late_done_of_an_anonymize_job_leaves_a_tombstone);
	tcase_add_test(tc, late_done_of_a_cancelled_delete_keeps_the_tombstone);
	tcase_add_test(tc, notice_is_a_job_before_its_action);
	tcase_add_test(tc, notice_of_a_moved_deadline_is_a_new_job);
	tcase_add_test(tc, notice_failing_never_delays_the_action);
	tcase_add_test(tc, notice_to_a_backend_without_notices_is_dead);
	tcase_add_test(tc, notice_never_takes_an_actions_place);
	tcase_add_test(tc, notice_never_made_is_missed);
	tcase_add_test(tc, notice_waits_for_a_hold);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
