/* jobs.c - due actions become jobs, and results change records */
#include "jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "journal.h"
#include "util.h"

void rtn_outjobs_free(struct rtn_outjob *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].record);
		free(v[i].line);
		free(v[i].action);
		free(v[i].rule);
		free(v[i].category);
	}
	free(v);
}

static void add_out(struct rtn_outjob **v, size_t *n, size_t *cap, const struct rtn_inv_job *j,
                    const struct rtn_inv_row *row)
{
	char due[RTN_TIME_FMT_LEN];
	if (rtn_time_format(j->due, due, sizeof(due)) < 0)
		snprintf(due, sizeof(due), "%lld", (long long)j->due);
	RTN_GROW(*v, *n + 1, *cap);
	struct rtn_outjob *o = &(*v)[(*n)++];
	memset(o, 0, sizeof(*o));
	snprintf(o->job, sizeof(o->job), "%s", j->job);
	o->rid = j->rid;
	o->record = rtn_xstrdup(j->record);
	o->attempt = j->attempts;
	o->action = rtn_xstrdup(j->action);
	o->rule = rtn_xstrdup(j->rule);
	o->category = rtn_xstrdup(j->category);
	o->line = rtn_bproto_job(j->job, j->action, j->attempts, row->rec.id, row->rec.category,
	                         row->rec.subject, row->locator_text, j->rule, due, &o->len);
}

/* The entry of the stored schedule that fell due: the one at next_at. */
static bool due_entry(const struct rtn_inv_row *row, rtn_time_t at, const char **action,
                      const char **rule)
{
	const struct rtn_inv_sched *s = &row->sched;
	if (s->anon_at != RTN_TIME_NONE && s->anon_at == at && s->anon_rule) {
		*action = "anonymize";
		*rule = s->anon_rule;
		return true;
	}
	if (s->del_at != RTN_TIME_NONE && s->del_at == at && s->del_rule) {
		*action = "delete";
		*rule = s->del_rule;
		return true;
	}
	return false;
}

static unsigned action_bit(const char *a)
{
	return strcmp(a, "delete") == 0 ? RTN_BACT_DELETE : RTN_BACT_ANONYMIZE;
}

/* The entry of a job's transition. */
static int job_entry(struct rtn_engine *e, const char *type, const struct rtn_inv_job *j,
                     const char *error, const char *status)
{
	return rtn_journal_inv_job(e, type, j, error, NULL, status);
}

/* Make job j dead with why (status: the backend's, or NULL when none answered); its record
 * becomes failed. Audited. */
static int kill_job(struct rtn_engine *e, struct rtn_inv_job *j, const char *why,
                    const char *status, rtn_time_t now)
{
	free(j->state);
	j->state = rtn_xstrdup("dead");
	free(j->last_error);
	j->last_error = rtn_xstrdup(why);
	j->next_attempt = RTN_TIME_NONE;
	j->updated = now;
	if (rtn_inv_job_put(e->inv, j) < 0 ||
	    rtn_inv_mark(e->inv, j->rid, "failed", RTN_TIME_NONE, now) < 0 ||
	    job_entry(e, "job.dead", j, why, status) < 0)
		return -EIO;
	return 0;
}

/* After a failure: the job stays (to retry, or dead and visible) only while the current
 * decision wants it; a hold placed while it was out, or a changed rule, cancels it now. */
static int still_wanted(struct rtn_engine *e, const struct rtn_inv_job *j, rtn_time_t now)
{
	bool changed;
	return rtn_engine_redecide(e, j->rid, now, false, &changed, NULL);
}

/* A job waiting for its retry goes out again only if the current decision still wants
 * exactly it now: rules, holds and erasure requests are read again (a changed rule, a
 * hold, keep forever cancel it instead; rtn_engine_redecide). *send says whether it goes;
 * j is read again. */
static int recheck(struct rtn_engine *e, struct rtn_inv_job *j, rtn_time_t now, bool *send)
{
	*send = false;
	int r = still_wanted(e, j, now);
	if (r < 0)
		return r;
	char id[RTN_JOB_ID_LEN];
	snprintf(id, sizeof(id), "%s", j->job);
	rtn_inv_job_fini(j);
	if (rtn_inv_job_get(e->inv, id, j) < 0)
		return -EIO;
	*send = !strcmp(j->state, "retry");
	return 0;
}

int rtn_jobs_take_tx(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                     rtn_time_t now, size_t max, struct rtn_outjob **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	size_t cap = 0;
	char **ids = rtn_xcalloc(max, sizeof(*ids));
	int r = 0;

	/* Jobs whose retry time has come: the same id, the next attempt. */
	int k = rtn_inv_jobs_retry_due(e->inv, b->name, now, (int)max, ids);
	if (k < 0)
		r = -EIO;
	for (int i = 0; i < k && r == 0; i++) {
		struct rtn_inv_job j;
		struct rtn_inv_row row;
		bool send;
		if (rtn_inv_job_get(e->inv, ids[i], &j) < 0) {
			r = -EIO;
			break;
		}
		int br = rtn_inv_job_brief(e->inv, j.rid, &row);
		if (br < 0) {
			r = br == -ENOENT ? kill_job(e, &j, "the record is gone from the inventory",
			                             NULL, now)
			                  : -EIO;
			rtn_inv_job_fini(&j);
			continue;
		}
		if ((r = recheck(e, &j, now, &send)) < 0 || !send) {
			rtn_inv_job_fini(&j);
			rtn_inv_row_fini(&row);
			continue;
		}
		j.attempts++;
		free(j.state);
		j.state = rtn_xstrdup("sent");
		j.sent_at = now;
		j.updated = now;
		j.next_attempt = RTN_TIME_NONE;
		if (rtn_inv_job_put(e->inv, &j) < 0 || job_entry(e, "job.sent", &j, NULL, NULL) < 0)
			r = -EIO;
		else
			add_out(out, n, &cap, &j, &row);
		rtn_inv_job_fini(&j);
		rtn_inv_row_fini(&row);
	}
	for (int i = 0; i < k; i++)
		free(ids[i]);
	if (r < 0)
		goto fail;

	/* Queued records, due by now: each gets its job. */
	struct rtn_inv_row *rows = rtn_xcalloc(max - *n ? max - *n : 1, sizeof(*rows));
	k = rtn_inv_queue_take(e->inv, b->name, now, (int)(max - *n), rows);
	for (int i = 0; i < k; i++) {
		struct rtn_inv_row *row = &rows[i];
		const char *action, *rule;
		rtn_time_t due = row->sched.next_at;
		if (r < 0 || due == RTN_TIME_NONE || due > now ||
		    !due_entry(row, due, &action, &rule)) {
			rtn_inv_row_fini(row); /* cannot happen: the query asked for due rows */
			continue;
		}
		struct rtn_inv_job j = {
		    .rid = row->rid,
		    .record = row->rec.id,
		    .category = row->rec.category,
		    .action = (char *)action,
		    .rule = (char *)rule,
		    .backend = b->name,
		    .state = "sent",
		    .attempts = 1,
		    .due = due,
		    .next_attempt = RTN_TIME_NONE,
		    .sent_at = now,
		    .done_at = RTN_TIME_NONE,
		    .created = now,
		    .updated = now,
		};
		char id[RTN_JOB_ID_LEN];
		rtn_job_id(row->rid, row->rec.id, action, rule, due, id);
		j.job = id;
		if (!(actions & action_bit(action))) {
			j.state = "dead";
			j.attempts = 0; /* never sent */
			j.sent_at = RTN_TIME_NONE;
			j.last_error = rtn_xasprintf("backend %s cannot %s", b->name, action);
			if (rtn_inv_job_put(e->inv, &j) < 0 ||
			    rtn_inv_mark(e->inv, row->rid, "failed", RTN_TIME_NONE, now) < 0 ||
			    job_entry(e, "job.dead", &j, j.last_error, NULL) < 0)
				r = -EIO;
			free(j.last_error);
		} else if (rtn_inv_job_put(e->inv, &j) < 0 ||
		           rtn_inv_mark(e->inv, row->rid, "queued", RTN_TIME_NONE, now) < 0 ||
		           job_entry(e, "job.sent", &j, NULL, NULL) < 0) {
			r = -EIO;
		} else {
			add_out(out, n, &cap, &j, row);
		}
		rtn_inv_row_fini(row);
	}
	free(rows);
	if (k < 0)
		r = -EIO;
fail:
	if (r < 0) {
		rtn_outjobs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	free(ids);
	return r;
}

int rtn_jobs_take(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                  rtn_time_t now, size_t max, struct rtn_outjob **out, size_t *n)
{
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	r = rtn_jobs_take_tx(e, b, actions, now, max, out, n);
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0) {
		rtn_engine_rollback(e);
		rtn_outjobs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

/* The action of a job that is done happened: a deletion leaves a tombstone, an
 * anonymisation moves the record on to its next stage. */
static int action_done(struct rtn_engine *e, int64_t rid, const char *action, const char *rule,
                       const char *job, rtn_time_t now)
{
	if (!strcmp(action, "delete"))
		return rtn_inv_tombstone(e->inv, rid, rule, job, now);
	bool changed;
	int r = rtn_inv_set_anonymized(e->inv, rid, now);
	/* The next stage: recompute with the record no longer queued. */
	if (r == 0)
		r = rtn_inv_mark(e->inv, rid, "anonymized", RTN_TIME_NONE, now);
	if (r == 0)
		r = rtn_engine_redecide(e, rid, now, false, &changed, NULL);
	return r;
}

static void outcome_of(struct rtn_job_outcome *o, int64_t rid, const char *record,
                       const char *action, const char *rule, const char *category)
{
	o->rid = rid;
	snprintf(o->record, sizeof(o->record), "%s", record);
	snprintf(o->action, sizeof(o->action), "%s", action);
	snprintf(o->rule, sizeof(o->rule), "%s", rule);
	snprintf(o->category, sizeof(o->category), "%s", category);
}

int rtn_jobs_result(struct rtn_engine *e, const struct rtn_backend_conf *b, const char *job,
                    enum rtn_bstatus st, const char *error, bool retry, rtn_time_t now,
                    uint64_t rnd, const struct rtn_outjob *sent, struct rtn_job_outcome *o)
{
	memset(o, 0, sizeof(*o));
	bool good = st == RTN_BST_DONE || st == RTN_BST_GONE;
	const char *gone = "gone: nothing was there", *status = rtn_bstatus_name(st);
	int r;
	if (good && sent && !strcmp(sent->job, job)) {
		/* The common case: the job is out and what it is about is known; one update
		 * of the job, then its record follows. */
		r = rtn_inv_job_done(e->inv, job, b->name, now, st == RTN_BST_GONE ? gone : NULL);
		if (r == -ENOENT) {
			o->ignored = true;
			return 0;
		}
		if (r < 0)
			return r;
		o->finished = true;
		outcome_of(o, sent->rid, sent->record, sent->action, sent->rule, sent->category);
		struct rtn_job_entry x = {
		    .type = "job.done",
		    .job = job,
		    .record = sent->record,
		    .category = sent->category,
		    .rule = sent->rule,
		    .action = sent->action,
		    .backend = b->name,
		    .error = error,
		    .status = status,
		    .next_attempt = RTN_TIME_NONE,
		};
		if (rtn_journal_job(e, &x) < 0)
			return -EIO;
		return action_done(e, sent->rid, sent->action, sent->rule, job, now) < 0 ? -EIO : 0;
	}
	struct rtn_inv_job j;
	r = rtn_inv_job_get(e->inv, job, &j);
	if (r == -ENOENT) {
		o->ignored = true;
		return 0;
	}
	if (r < 0)
		return r;
	if (strcmp(j.backend, b->name) != 0) {
		o->ignored = true; /* another backend's job: it cannot speak for it */
		rtn_inv_job_fini(&j);
		return 0;
	}
	outcome_of(o, j.rid, j.record, j.action, j.rule, j.category);
	bool open = !strcmp(j.state, "sent") || !strcmp(j.state, "retry");
	/* A late "done" after a timeout, or after the job was given up or cancelled, is
	 * still news: the action happened (its entry says so). Anything else about a
	 * finished job changes nothing. */
	if (!open && !(good && (!strcmp(j.state, "dead") || !strcmp(j.state, "cancelled")))) {
		o->ignored = true;
		rtn_inv_job_fini(&j);
		return 0;
	}
	free(j.state);
	j.updated = now;
	if (good) {
		j.state = rtn_xstrdup("done");
		j.done_at = now;
		j.next_attempt = RTN_TIME_NONE;
		free(j.last_error);
		j.last_error = st == RTN_BST_GONE ? rtn_xstrdup(gone) : NULL;
		o->finished = true;
		r = rtn_inv_job_put(e->inv, &j);
		if (r == 0)
			r = job_entry(e, "job.done", &j, error, status);
		if (r == 0)
			r = action_done(e, j.rid, j.action, j.rule, j.job, now);
	} else if (!retry || (unsigned)j.attempts >= b->max_attempts) {
		j.state = NULL;
		char *why = !retry ? rtn_xasprintf("%s (the backend says retrying cannot help)",
		                                   error ? error : "failed")
		                   : rtn_xasprintf("%s (gave up after %d attempts)",
		                                   error ? error : "failed", j.attempts);
		o->dead = true;
		r = kill_job(e, &j, why, status, now);
		free(why);
		if (r == 0)
			r = still_wanted(e, &j, now);
	} else {
		j.state = rtn_xstrdup("retry");
		free(j.last_error);
		j.last_error = rtn_xstrdup(error ? error : "failed");
		int64_t ms =
		    rtn_backoff_ms((unsigned)j.attempts, b->retry_min_ms, b->retry_max_ms, rnd);
		j.next_attempt = now + (ms + 999) / 1000;
		o->retry = true;
		o->next_attempt = j.next_attempt;
		r = rtn_inv_job_put(e->inv, &j);
		if (r == 0)
			r = job_entry(e, "job.failed", &j, error, status);
		if (r == 0)
			r = still_wanted(e, &j, now);
	}
	rtn_inv_job_fini(&j);
	return r < 0 ? -EIO : 0;
}

int rtn_jobs_fail_orphans(struct rtn_engine *e, const struct rtn_config *cfg, rtn_time_t now)
{
	const char **names = rtn_xcalloc(cfg->nbackends + 1, sizeof(*names));
	for (size_t i = 0; i < cfg->nbackends; i++)
		names[i] = cfg->backends[i].name;
	int64_t rids[256];
	int total = 0, r = 0;
	for (;;) {
		int k = rtn_inv_queue_orphans(e->inv, names, cfg->nbackends, now, 256, rids);
		if (k <= 0) {
			r = k;
			break;
		}
		if ((r = rtn_engine_begin(e)) < 0)
			break;
		for (int i = 0; i < k && r == 0; i++) {
			struct rtn_inv_row row;
			const char *action, *rule;
			if (rtn_inv_get_rid(e->inv, rids[i], &row) < 0) {
				r = -EIO;
				break;
			}
			if (!due_entry(&row, row.sched.next_at, &action, &rule)) {
				r = rtn_inv_mark(e->inv, row.rid, "failed", RTN_TIME_NONE, now);
				rtn_inv_row_fini(&row);
				continue;
			}
			char id[RTN_JOB_ID_LEN];
			rtn_job_id(row.rid, row.rec.id, action, rule, row.sched.next_at, id);
			char *why = row.sched.next_backend
			                ? rtn_xasprintf("no backend named %s is configured",
			                                row.sched.next_backend)
			                : rtn_xstrdup("neither the record nor its rule names a "
			                              "backend");
			struct rtn_inv_job j = {
			    .job = id,
			    .rid = row.rid,
			    .record = row.rec.id,
			    .category = row.rec.category,
			    .action = (char *)action,
			    .rule = (char *)rule,
			    .backend =
			        (char *)(row.sched.next_backend ? row.sched.next_backend : ""),
			    .state = "dead",
			    .due = row.sched.next_at,
			    .next_attempt = RTN_TIME_NONE,
			    .sent_at = RTN_TIME_NONE,
			    .done_at = RTN_TIME_NONE,
			    .created = now,
			    .updated = now,
			    .last_error = why,
			};
			if (rtn_inv_job_put(e->inv, &j) < 0 ||
			    rtn_inv_mark(e->inv, row.rid, "failed", RTN_TIME_NONE, now) < 0 ||
			    job_entry(e, "job.dead", &j, why, NULL) < 0)
				r = -EIO;
			free(why);
			rtn_inv_row_fini(&row);
			total++;
		}
		if (r == 0)
			r = rtn_engine_commit(e);
		if (r < 0) {
			rtn_engine_rollback(e);
			break;
		}
	}
	free(names);
	return r < 0 ? r : total;
}
