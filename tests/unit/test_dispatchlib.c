/* test_dispatchlib.c - the dispatcher's lib calls: a batch (results, then takes, then
 * erasure settling) in one transaction, timeouts, and jobs marked for re-sending */
#include "fixture.h"

#include "jobs.h"
#include "nextaction.h"
#include "ops.h"

#define RULES "rule t { category t.doc; delete 1 day after due; backend b1 }\n"

static struct rtn_backend_conf B = {
    .name = "b1",
    .socket = "/nonexistent",
    .max_inflight = 8,
    .timeout_ms = 30000,
    .retry_min_ms = 60000,
    .retry_max_ms = 3600000,
    .max_attempts = 3,
};
#define ACTIONS (RTN_BACT_DELETE | RTN_BACT_ANONYMIZE)

static void setup(void)
{
	fx_setup();
	fx_rules(RULES);
}

/* n records whose deletion falls due at now: queued as they are stored. */
static void queue_due(int n)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		fx_doc_at(id, "t.doc", NULL, "b1", FX_NOW - FX_DAY);
		ck_assert_str_eq(fx_state(id), "queued");
	}
}

/* A batch without results: take up to room jobs. */
static size_t take(size_t room, rtn_time_t now, struct rtn_outjob **out)
{
	size_t n;
	ck_assert_int_eq(
	    rtn_jobs_batch(&FX.eng, &B, ACTIONS, NULL, 0, room, now, NULL, out, &n, NULL), 0);
	return n;
}

static const char *job_state(const char *job)
{
	static char state[16];
	struct rtn_inv_job j;
	ck_assert_int_eq(rtn_inv_job_get(FX.inv, job, &j), 0);
	snprintf(state, sizeof(state), "%s", j.state);
	rtn_inv_job_fini(&j);
	return state;
}

START_TEST(batch_takes_due_jobs_committed_before_they_are_returned)
{
	queue_due(3);
	int marks = FX.marks, syncs = FX.syncs;
	struct rtn_outjob *out;
	ck_assert_uint_eq(take(2, FX_NOW, &out), 2);
	ck_assert_int_eq(FX.marks, marks + 1); /* one transaction */
	ck_assert_int_eq(FX.syncs, syncs + 1);
	ck_assert_uint_eq(fx_count("job.sent", NULL), 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_str_eq(job_state(out[i].job), "sent");
		ck_assert_ptr_nonnull(strstr(out[i].line, out[i].job));
		ck_assert_str_eq(out[i].action, "delete");
	}
	rtn_outjobs_free(out, 2);
}
END_TEST

START_TEST(nothing_is_taken_before_its_deadline)
{
	queue_due(2);
	struct rtn_outjob *out;
	/* Queued by a clock that ran ahead; the batch's own now is before the deadline. */
	ck_assert_uint_eq(take(8, FX_NOW - 1, &out), 0);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(fx_count("job.sent", NULL), 0);
	/* A record due tomorrow is not queued, and not taken. */
	fx_doc_at("later", "t.doc", NULL, "b1", FX_NOW);
	ck_assert_uint_eq(take(8, FX_NOW, &out), 2);
	rtn_outjobs_free(out, 2);
	ck_assert_str_eq(fx_state("later"), "active");
}
END_TEST

START_TEST(results_and_takes_share_one_transaction)
{
	queue_due(3);
	struct rtn_outjob *sent;
	ck_assert_uint_eq(take(2, FX_NOW, &sent), 2);
	struct rtn_job_result res[3] = {
	    {.job = sent[0].job, .status = RTN_BST_DONE, .sent = &sent[0]},
	    {.job = sent[1].job, .status = RTN_BST_FAILED, .error = "busy", .retry = true},
	    {.job = "J-0000000000-000000000000", .status = RTN_BST_DONE},
	};
	struct rtn_job_outcome oc[3];
	struct rtn_outjob *out;
	size_t n;
	json_t *completed = NULL;
	int marks = FX.marks, syncs = FX.syncs;
	ck_assert_int_eq(
	    rtn_jobs_batch(&FX.eng, &B, ACTIONS, res, 3, 5, FX_NOW, oc, &out, &n, &completed), 0);
	ck_assert_int_eq(FX.marks, marks + 1);
	ck_assert_int_eq(FX.syncs, syncs + 1);
	/* The outcomes. */
	ck_assert(oc[0].finished && !oc[0].ignored);
	ck_assert_str_eq(oc[0].record, sent[0].record);
	ck_assert(oc[1].retry && !oc[1].dead && !oc[1].finished);
	ck_assert_int_gt(oc[1].next_attempt, FX_NOW);
	ck_assert(oc[2].ignored);
	ck_assert_str_eq(job_state(sent[0].job), "done");
	ck_assert_str_eq(job_state(sent[1].job), "retry");
	ck_assert_str_eq(fx_state(sent[0].record), "deleted");
	/* The third record was taken in the same transaction; the retry waits its time. */
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(job_state(out[0].job), "sent");
	rtn_time_t next;
	ck_assert_int_eq(rtn_jobs_next_retry(&FX.eng, &next), 0);
	ck_assert_int_eq(next, oc[1].next_attempt);
	json_decref(completed);
	rtn_outjobs_free(out, n);
	rtn_outjobs_free(sent, 2);
}
END_TEST

START_TEST(failed_sync_commits_nothing)
{
	queue_due(3);
	struct rtn_outjob *sent;
	ck_assert_uint_eq(take(1, FX_NOW, &sent), 1);
	size_t entries = FX.n;
	struct rtn_job_result res = {.job = sent[0].job, .status = RTN_BST_DONE, .sent = &sent[0]};
	struct rtn_job_outcome oc;
	struct rtn_outjob *out = (void *)1;
	size_t n = 99;
	FX.fail_sync = true;
	ck_assert_int_eq(
	    rtn_jobs_batch(&FX.eng, &B, ACTIONS, &res, 1, 5, FX_NOW, &oc, &out, &n, NULL), -EIO);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(FX.eng.depth, 0);
	ck_assert_uint_eq(FX.n, entries); /* taken back */
	/* The result is not recorded and no job was made: the batch can be tried again. */
	ck_assert_str_eq(job_state(sent[0].job), "sent");
	ck_assert_str_eq(fx_state(sent[0].record), "queued");
	FX.fail_sync = false;
	ck_assert_int_eq(
	    rtn_jobs_batch(&FX.eng, &B, ACTIONS, &res, 1, 5, FX_NOW, &oc, &out, &n, NULL), 0);
	ck_assert(oc.finished);
	ck_assert_uint_eq(n, 2);
	rtn_outjobs_free(out, n);
	rtn_outjobs_free(sent, 1);
}
END_TEST

START_TEST(timeouts_fail_for_retry_in_one_transaction)
{
	queue_due(2);
	struct rtn_outjob *sent;
	ck_assert_uint_eq(take(2, FX_NOW, &sent), 2);
	char jobs[2][RTN_JOB_ID_LEN];
	for (size_t i = 0; i < 2; i++)
		snprintf(jobs[i], sizeof(jobs[i]), "%s", sent[i].job);
	struct rtn_job_outcome oc[2];
	int marks = FX.marks;
	ck_assert_int_eq(rtn_jobs_timeouts(&FX.eng, &B, (const char(*)[RTN_JOB_ID_LEN])jobs, 2,
	                                   "no result within 30 s", FX_NOW, 42, oc),
	                 0);
	ck_assert_int_eq(FX.marks, marks + 1);
	for (size_t i = 0; i < 2; i++) {
		ck_assert(oc[i].retry);
		ck_assert_int_ge(oc[i].next_attempt, FX_NOW);
		ck_assert_str_eq(job_state(jobs[i]), "retry");
	}
	ck_assert_uint_eq(fx_count("job.failed", NULL), 2);
	/* A failing sync records none of them. */
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_jobs_timeouts(&FX.eng, &B, (const char(*)[RTN_JOB_ID_LEN])jobs, 2,
	                                   "no result", FX_NOW, 42, oc),
	                 -EIO);
	ck_assert_uint_eq(fx_count("job.failed", NULL), 2);
	rtn_outjobs_free(sent, 2);
}
END_TEST

START_TEST(timeouts_after_the_last_attempt_are_dead)
{
	queue_due(1);
	B.max_attempts = 1;
	struct rtn_outjob *sent;
	ck_assert_uint_eq(take(1, FX_NOW, &sent), 1);
	struct rtn_job_outcome oc;
	ck_assert_int_eq(rtn_jobs_timeouts(&FX.eng, &B, (const char(*)[RTN_JOB_ID_LEN])sent[0].job,
	                                   1, "no result", FX_NOW, 7, &oc),
	                 0);
	B.max_attempts = 3;
	ck_assert(oc.dead);
	ck_assert_str_eq(job_state(sent[0].job), "dead");
	ck_assert_str_eq(fx_state(sent[0].record), "failed");
	rtn_outjobs_free(sent, 1);
}
END_TEST

START_TEST(unanswered_jobs_are_sent_again_under_the_same_ids)
{
	queue_due(3);
	struct rtn_outjob *sent;
	ck_assert_uint_eq(take(3, FX_NOW, &sent), 3);
	char one[1][RTN_JOB_ID_LEN];
	snprintf(one[0], sizeof(one[0]), "%s", sent[0].job);
	/* The jobs of a connection that was lost, by name. */
	ck_assert_int_eq(
	    rtn_jobs_resend(&FX.eng, NULL, (const char(*)[RTN_JOB_ID_LEN])one, 1, FX_NOW), 0);
	ck_assert_str_eq(job_state(sent[0].job), "retry");
	ck_assert_str_eq(job_state(sent[1].job), "sent");
	/* Every job of the backend, and at start-up every job of every backend. */
	ck_assert_int_eq(rtn_jobs_resend(&FX.eng, "b2", NULL, 0, FX_NOW), 0);
	ck_assert_int_eq(rtn_jobs_resend(&FX.eng, "b1", NULL, 0, FX_NOW), 2);
	ck_assert_int_eq(rtn_jobs_resend(&FX.eng, NULL, NULL, 0, FX_NOW), 0);
	rtn_time_t next;
	ck_assert_int_eq(rtn_jobs_next_retry(&FX.eng, &next), 0);
	ck_assert_int_eq(next, FX_NOW);
	/* They go out again with the same ids. */
	struct rtn_outjob *again;
	ck_assert_uint_eq(take(8, FX_NOW, &again), 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(job_state(sent[i].job), "sent");
		ck_assert_int_eq(again[i].attempt, 2);
	}
	rtn_outjobs_free(again, 3);
	rtn_outjobs_free(sent, 3);
}
END_TEST

START_TEST(next_wake_is_the_earliest_waiting_action)
{
	rtn_time_t at;
	ck_assert_int_eq(rtn_jobs_next_wake(&FX.eng, &at), 0);
	ck_assert_int_eq(at, RTN_TIME_NONE);
	fx_doc_at("a", "t.doc", NULL, "b1", FX_NOW + 5 * FX_DAY);
	fx_doc_at("b", "t.doc", NULL, "b1", FX_NOW + 2 * FX_DAY);
	ck_assert_int_eq(rtn_jobs_next_wake(&FX.eng, &at), 0);
	ck_assert_int_eq(at, FX_NOW + 3 * FX_DAY);
}
END_TEST

START_TEST(a_batch_closes_the_erasure_requests_its_results_ended)
{
	fx_doc_at("e1", "t.doc", "alice", "b1", FX_NOW + 100 * FX_DAY);
	json_t *req = NULL;
	struct rtn_span deadline = {.days = 30};
	ck_assert_int_eq(rtn_ops_erase(&FX.eng, "alice", "asked", "uid:0", &deadline, FX_NOW, &req),
	                 0);
	json_decref(req);
	ck_assert_str_eq(fx_state("e1"), "queued");
	struct rtn_outjob *sent;
	ck_assert_uint_eq(take(1, FX_NOW, &sent), 1);
	struct rtn_job_result res = {.job = sent[0].job, .status = RTN_BST_DONE, .sent = &sent[0]};
	struct rtn_job_outcome oc;
	struct rtn_outjob *out;
	size_t n;
	json_t *completed = NULL;
	int marks = FX.marks;
	ck_assert_int_eq(
	    rtn_jobs_batch(&FX.eng, &B, ACTIONS, &res, 1, 0, FX_NOW, &oc, &out, &n, &completed), 0);
	ck_assert_int_eq(FX.marks, marks + 1); /* the completion commits with the result */
	ck_assert_uint_eq(json_array_size(completed), 1);
	ck_assert_uint_eq(fx_count("erase.completed", NULL), 1);
	json_decref(completed);
	json_t *open = rtn_ops_erasures_status(&FX.eng, FX_NOW);
	ck_assert_uint_eq(json_array_size(open), 0);
	json_decref(open);
	rtn_outjobs_free(sent, 1);
}
END_TEST

/* rtn_ops_run's command: stores record "cmd" and says whether to settle. */
static int put_cmd(void *ctx, bool *settle)
{
	fx_doc_at("cmd", "t.doc", NULL, "b1", FX_NOW + 100 * FX_DAY);
	*settle = true;
	return *(int *)ctx;
}

START_TEST(a_command_runs_in_one_transaction)
{
	int fn_r, want = 0;
	json_t *completed = (void *)1;
	ck_assert_int_eq(rtn_ops_run(&FX.eng, FX_NOW, put_cmd, &want, &fn_r, &completed), 0);
	ck_assert_int_eq(fn_r, 0);
	ck_assert_ptr_null(completed); /* nothing to close */
	ck_assert_str_eq(fx_state("cmd"), "active");
	ck_assert_int_eq(FX.eng.depth, 0);
}
END_TEST

START_TEST(a_failed_command_changes_nothing)
{
	int fn_r, want = -1;
	ck_assert_int_eq(rtn_ops_run(&FX.eng, FX_NOW, put_cmd, &want, &fn_r, NULL), -EIO);
	ck_assert_int_eq(fn_r, -1);
	ck_assert_str_eq(fx_state("cmd"), "(none)");
	/* A command whose entries cannot be synced neither. */
	want = 0;
	FX.fail_sync = true;
	ck_assert_int_eq(rtn_ops_run(&FX.eng, FX_NOW, put_cmd, &want, &fn_r, NULL), -EIO);
	ck_assert_int_eq(fn_r, 0);
	ck_assert_str_eq(fx_state("cmd"), "(none)");
	ck_assert_int_eq(FX.eng.depth, 0);
}
END_TEST

START_TEST(the_next_action_of_a_schedule)
{
	struct rtn_inv_sched s = {.anon_at = 100,
	                          .del_at = 200,
	                          .next_at = 100,
	                          .anon_rule = "a",
	                          .del_rule = "d",
	                          .next_backend = "b1"};
	struct rtn_next n;
	ck_assert(rtn_next_action(&s, 100, &n));
	ck_assert_str_eq(n.action, "anonymize");
	ck_assert_str_eq(n.rule, "a");
	ck_assert_str_eq(n.backend, "b1");
	ck_assert_int_eq(n.at, 100);
	ck_assert(rtn_next_action(&s, 200, &n));
	ck_assert_str_eq(n.action, "delete");
	ck_assert_str_eq(n.rule, "d");
	/* Nothing of the schedule falls at 150: shown as the deletion, not a job. */
	ck_assert(!rtn_next_action(&s, 150, &n));
	ck_assert_str_eq(n.action, "delete");
	/* An entry without its rule is no job either. */
	s.del_rule = NULL;
	ck_assert(!rtn_next_action(&s, 200, &n));
	ck_assert_ptr_null(n.rule);
	s.anon_at = s.del_at = RTN_TIME_NONE;
	ck_assert(!rtn_next_action(&s, 200, &n));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dispatchlib");
	TCase *tc = tcase_create("batches");
	tcase_add_checked_fixture(tc, setup, fx_teardown);
	tcase_add_test(tc, batch_takes_due_jobs_committed_before_they_are_returned);
	tcase_add_test(tc, nothing_is_taken_before_its_deadline);
	tcase_add_test(tc, results_and_takes_share_one_transaction);
	tcase_add_test(tc, failed_sync_commits_nothing);
	tcase_add_test(tc, timeouts_fail_for_retry_in_one_transaction);
	tcase_add_test(tc, timeouts_after_the_last_attempt_are_dead);
	tcase_add_test(tc, unanswered_jobs_are_sent_again_under_the_same_ids);
	tcase_add_test(tc, next_wake_is_the_earliest_waiting_action);
	tcase_add_test(tc, a_batch_closes_the_erasure_requests_its_results_ended);
	suite_add_tcase(s, tc);
	TCase *cmd = tcase_create("commands");
	tcase_add_checked_fixture(cmd, setup, fx_teardown);
	tcase_add_test(cmd, a_command_runs_in_one_transaction);
	tcase_add_test(cmd, a_failed_command_changes_nothing);
	suite_add_tcase(s, cmd);
	TCase *pure = tcase_create("next action");
	tcase_add_test(pure, the_next_action_of_a_schedule);
	suite_add_tcase(s, pure);
	return s;
}

RTN_TEST_MAIN(suite)
