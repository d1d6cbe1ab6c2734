/* jobs.c - due actions become jobs, and results change records */
#include "jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "journal.h"
#include "log.h"
#include "nextaction.h"
#include "ops.h"
#include "util.h"

void rtn_outjobs_free(struct rtn_outjob *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].record);
		free(v[i].line);
		free(v[i].action);
		free(v[i].rule);
		free(v[i].category);
		free(v[i].subject);
		free(v[i].anchor);
		free(v[i].notice_of);
	}
	free(v);
}

void rtn_outjob_move(struct rtn_outjob *dst, struct rtn_outjob *src)
{
	*dst = *src;
	dst->line = NULL;
	dst->len = 0;
	src->record = src->action = src->rule = src->category = src->subject = src->anchor = NULL;
	src->notice_of = NULL;
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
	o->subject = j->subject ? rtn_xstrdup(j->subject) : NULL;
	o->anchor = j->anchor ? rtn_xstrdup(j->anchor) : NULL;
	o->due = j->due;
	o->anchor_time = j->anchor_time;
	o->first_sent = j->first_sent;
	o->notice_deadline = RTN_TIME_NONE;
	if (j->notice_of) {
		char deadline[RTN_TIME_FMT_LEN];
		if (rtn_time_format(j->notice_deadline, deadline, sizeof(deadline)) < 0)
			snprintf(deadline, sizeof(deadline), "%lld", (long long)j->notice_deadline);
		o->notice_of = rtn_xstrdup(j->notice_of);
		o->notice_deadline = j->notice_deadline;
		o->line = rtn_bproto_notice(j->job, j->attempts, row->rec.id, row->rec.category,
		                            row->rec.subject, row->locator_text, j->rule, due,
		                            j->notice_of, deadline, &o->len);
		return;
	}
	o->line = rtn_bproto_job(j->job, j->action, j->attempts, row->rec.id, row->rec.category,
	                         row->rec.subject, row->locator_text, j->rule, due, &o->len);
}

static unsigned action_bit(const char *a)
{
	return strcmp(a, "delete") == 0 ? RTN_BACT_DELETE : RTN_BACT_ANONYMIZE;
}

/* What the deadline of action n of row is anchored on: the rule's anchor event and its
 * time in the record, or an erasure request and its time. *anchor is borrowed (from the
 * rules, or static); NULL and RTN_TIME_NONE when it cannot be told. */
static void anchor_of(struct rtn_engine *e, const struct rtn_inv_row *row, const struct rtn_next *n,
                      const char **anchor, rtn_time_t *at)
{
	*anchor = NULL;
	*at = RTN_TIME_NONE;
	if (!n->rule)
		return;
	if (!strncmp(n->rule, "erasure:", 8)) {
		char *req = NULL;
		if (rtn_inv_erasure_for(e->inv, row->rec.id, at, &req) == 0)
			*anchor = "erasure";
		else
			*at = RTN_TIME_NONE;
		free(req);
		return;
	}
	const struct rtn_rule *rule = e->rules ? rtn_ruleset_find(e->rules, n->rule) : NULL;
	if (!rule || rule->forever || !rule->anchor.event)
		return;
	*anchor = rule->anchor.event;
	json_t *t = json_object_get(row->rec.events, rule->anchor.event);
	if (json_is_integer(t))
		*at = (rtn_time_t)json_integer_value(t);
	/* An anchor of the subject: the time of the subject's record it came from. */
	bool latest = rule->anchor.kind == RTN_ANCHOR_SUBJECT_LATEST;
	rtn_time_t o;
	char *from = NULL;
	if (RTN_ANCHOR_IS_SUBJECT(&rule->anchor) && row->rec.subject &&
	    rtn_inv_subject_event(e->inv, row->rec.subject, rule->anchor.event, latest, row->rec.id,
	                          &o, &from) == 0 &&
	    (*at == RTN_TIME_NONE || (latest ? o > *at : o < *at)))
		*at = o;
	free(from);
}

/* The job row of a record's due action n, made now for backend (id and ps filled in): the
 * one constructor of new jobs. Sent, or dead and never sent when dead_why (borrowed) says
 * why it cannot go. It keeps what its entries will say: the pseudonym of the record's
 * subject (ps), the anchor. */
static struct rtn_inv_job new_job(struct rtn_engine *e, const struct rtn_inv_row *row,
                                  const struct rtn_next *n, const char *backend,
                                  char id[RTN_JOB_ID_LEN], char ps[RTN_PSEUDONYM_LEN + 1],
                                  rtn_time_t now, char *dead_why)
{
	const char *anchor;
	rtn_time_t anchor_time;
	anchor_of(e, row, n, &anchor, &anchor_time);
	rtn_job_id(row->rid, row->rec.id, n->action, n->rule, n->at, id);
	return (struct rtn_inv_job){
	    .job = id,
	    .rid = row->rid,
	    .record = row->rec.id,
	    .category = row->rec.category,
	    .action = (char *)n->action,
	    .rule = (char *)n->rule,
	    .backend = (char *)backend,
	    .state = dead_why ? "dead" : "sent",
	    .attempts = dead_why ? 0 : 1,
	    .due = n->at,
	    .next_attempt = RTN_TIME_NONE,
	    .sent_at = dead_why ? RTN_TIME_NONE : now,
	    .done_at = RTN_TIME_NONE,
	    .created = now,
	    .updated = now,
	    .last_error = dead_why,
	    .subject = (char *)rtn_engine_pseudonym(e, row->rec.subject, ps),
	    .anchor = (char *)anchor,
	    .anchor_time = anchor_time,
	    .first_sent = dead_why ? RTN_TIME_NONE : now,
	    .notice_deadline = RTN_TIME_NONE,
	};
}

static bool is_notice(const char *action)
{
	return !strcmp(action, "notice");
}

/* The action a record's stored notice announces: anonymize when the anonymisation is at
 * its deadline under its rule, else delete. */
static const char *notice_of(const struct rtn_inv_sched *s)
{
	bool anon = s->anon_at == s->notice_for && s->anon_rule && s->notice_rule &&
	            !strcmp(s->anon_rule, s->notice_rule);
	return anon ? "anonymize" : "delete";
}

/* The notice job of a record's stored notice, made now for backend (id and ps filled in):
 * action "notice", due at the notice's time, its id over the action it announces' rule and
 * deadline (a moved deadline is a new notice; the same one is the same notice). Sent, or
 * dead and never sent when dead_why (borrowed) says why it cannot go. */
static struct rtn_inv_job new_notice(struct rtn_engine *e, const struct rtn_inv_row *row,
                                     const char *backend, char id[RTN_JOB_ID_LEN],
                                     char ps[RTN_PSEUDONYM_LEN + 1], rtn_time_t now, char *dead_why)
{
	const struct rtn_inv_sched *s = &row->sched;
	struct rtn_next n = {.action = notice_of(s),
	                     .rule = s->notice_rule,
	                     .backend = backend,
	                     .at = s->notice_for};
	struct rtn_inv_job j = new_job(e, row, &n, backend, id, ps, now, dead_why);
	rtn_job_id(row->rid, row->rec.id, "notice", s->notice_rule, s->notice_for, id);
	j.action = "notice";
	j.due = s->notice_at;
	j.notice_of = (char *)n.action;
	j.notice_deadline = s->notice_for;
	return j;
}

/* The entry of a job's transition. */
static int job_entry(struct rtn_engine *e, const char *type, const struct rtn_inv_job *j,
                     const char *error, const char *status)
{
	return rtn_journal_inv_job(e, type, j, error, NULL, status);
}

/* Store dead job j: its record becomes failed, and its entry says why. */
static int put_dead(struct rtn_engine *e, const struct rtn_inv_job *j, const char *why,
                    const char *status, rtn_time_t now)
{
	if (rtn_inv_job_put(e->inv, j) < 0 ||
	    rtn_inv_mark(e->inv, j->rid, "failed", RTN_TIME_NONE, now) < 0 ||
	    job_entry(e, "job.dead", j, why, status) < 0)
		return -EIO;
	return 0;
}

/* Make job j dead with why (status: the backend's, or NULL when none answered); its record
 * becomes failed. Audited. */
static int kill_job(struct rtn_engine *e, struct rtn_inv_job *j, const char *why,
                    const char *status, rtn_time_t now)
{
	if (rtn_journal_job_close(e, j, "dead", why, status, now) < 0 ||
	    rtn_inv_mark(e->inv, j->rid, "failed", RTN_TIME_NONE, now) < 0)
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

/* A notice waiting for its retry goes out again only while it still announces what the
 * record's stored schedule wants: the record live and waiting for that same action at
 * that same deadline, not yet due. Else it is cancelled (audited), and why: the deadline
 * moved (its new notice is another job), the action fell due (the notice is moot: the
 * action is never held back for it), a hold applies (the same notice is sent again once
 * the hold is lifted, if the deadline stands), the record is gone. *send says whether it
 * goes. */
static int notice_recheck(struct rtn_engine *e, struct rtn_inv_job *j, rtn_time_t now, bool *send)
{
	*send = false;
	struct rtn_inv_row row;
	int r = rtn_inv_get_rid(e->inv, j->rid, &row);
	if (r < 0 && r != -ENOENT)
		return -EIO;
	const char *why = NULL;
	if (r == -ENOENT || row.deleted_at != RTN_TIME_NONE)
		why = "moot: the record is deleted or gone";
	else if (!strcmp(row.state, "held"))
		why = "a hold applies; the notice is sent again once it is lifted, if its "
		      "deadline stands";
	else if (strcmp(row.state, "active") != 0 && strcmp(row.state, "anonymized") != 0)
		why = "moot: the action it announces is due";
	else if (j->notice_deadline <= now)
		why = "moot: the deadline it announces has come";
	else if (row.sched.notice_for != j->notice_deadline || !row.sched.notice_rule ||
	         strcmp(row.sched.notice_rule, j->rule) != 0)
		why = "the deadline it announces moved (a new notice announces the new one)";
	if (r == 0)
		rtn_inv_row_fini(&row);
	if (why)
		return rtn_journal_job_close(e, j, "cancelled", why, NULL, now) < 0 ? -EIO : 0;
	*send = true;
	return 0;
}

/* Is the record's stored notice (from rtn_inv_notice_take) still one the rules send: its
 * rule notifies, the action it announces is the record's next, not yet due? */
static bool notice_current(struct rtn_engine *e, const struct rtn_inv_row *row, rtn_time_t now)
{
	const struct rtn_inv_sched *s = &row->sched;
	const struct rtn_rule *rule =
	    s->notice_rule && e->rules ? rtn_ruleset_find(e->rules, s->notice_rule) : NULL;
	return rule && rule->notify && s->notice_for != RTN_TIME_NONE &&
	       s->notice_for == s->next_at && s->notice_for > now && s->notice_at <= now;
}

/* Record row's action next is made into a job now while its stored notice was never
 * made (notice_at still set, for a deadline that has come): the notice is moot and is
 * never sent, the action goes ahead. Audited as notice.missed (the rule, the action it
 * announced and its deadline, the notice's own due time, its backend, the subject's
 * pseudonym ps) and cleared, in the caller's transaction. A notice for a deadline still
 * to come is another action's: it stays. 0 or -EIO. */
static int notice_missed(struct rtn_engine *e, const struct rtn_inv_row *row,
                         const struct rtn_next *next, const char *action_job, const char *ps,
                         rtn_time_t now)
{
	const struct rtn_inv_sched *s = &row->sched;
	if (s->notice_at == RTN_TIME_NONE || !s->notice_rule || s->notice_for == RTN_TIME_NONE ||
	    s->notice_for > now)
		return 0;
	struct rtn_job_entry x = {
	    .type = "notice.missed",
	    .job = action_job,
	    .record = row->rec.id,
	    .category = row->rec.category,
	    .rule = s->notice_rule,
	    .action = "notice",
	    .backend = s->notice_backend ? s->notice_backend : next->backend,
	    .reason = "its time passed before it was made (its backend away, or the record held "
	              "or known only after it); the action it announces is due and goes ahead",
	    .next_attempt = RTN_TIME_NONE,
	    .due = s->notice_at,
	    .anchor_time = RTN_TIME_NONE,
	    .sent = RTN_TIME_NONE,
	    .subject = ps,
	    .announces = notice_of(s),
	    .deadline = s->notice_for,
	};
	rtn_warn("notice of record %s (rule %s, due %lld) was never sent: its %s is due",
	         row->rec.id, s->notice_rule, (long long)s->notice_at, x.announces);
	if (rtn_journal_job(e, &x) < 0 || rtn_inv_notice_clear(e->inv, row->rid) < 0)
		return -EIO;
	e->notices_missed++;
	return 0;
}

/* The due notices of backend b (up to max) become jobs, after the actions: each record's
 * notice once per deadline (an existing job of the same id is not made again; one a hold
 * cancelled goes out again under its id). A backend whose hello does not name "notice"
 * gets none: the notice is dead at once (audited, shown in jobs list) and its action
 * goes ahead at its deadline all the same. */
static int notices_take(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                        rtn_time_t now, size_t max, struct rtn_outjob **out, size_t *n, size_t *cap)
{
	if (max == 0)
		return 0;
	struct rtn_inv_row *rows = rtn_xcalloc(max, sizeof(*rows));
	int k = rtn_inv_notice_take(e->inv, b->name, now, (int)max, rows), r = k < 0 ? -EIO : 0;
	for (int i = 0; i < k; i++) {
		struct rtn_inv_row *row = &rows[i];
		if (r < 0)
			goto next;
		if (rtn_inv_notice_clear(e->inv, row->rid) < 0) {
			r = -EIO;
			goto next;
		}
		if (!notice_current(e, row, now))
			goto next; /* stale or moot: nothing to announce */
		char id[RTN_JOB_ID_LEN], ps[RTN_PSEUDONYM_LEN + 1];
		bool able = actions & RTN_BACT_NOTICE;
		char *why = able ? NULL
		                 : rtn_xasprintf("backend %s does not take notices (its hello does "
		                                 "not name \"notice\")",
		                                 b->name);
		struct rtn_inv_job j = new_notice(e, row, b->name, id, ps, now, why);
		struct rtn_inv_job old;
		int g = rtn_inv_job_get(e->inv, id, &old);
		if (g == 0) {
			/* The same notice again: once cancelled under a hold, it goes out again
			 * under its id; any other is made already. */
			if (able && !strcmp(old.state, "cancelled")) {
				old.attempts++;
				free(old.state);
				old.state = rtn_xstrdup("sent");
				old.sent_at = old.updated = now;
				old.next_attempt = RTN_TIME_NONE;
				free(old.last_error);
				old.last_error = NULL;
				if (old.first_sent == RTN_TIME_NONE)
					old.first_sent = now;
				if (rtn_inv_job_put(e->inv, &old) < 0 ||
				    job_entry(e, "job.sent", &old, NULL, NULL) < 0)
					r = -EIO;
				else
					add_out(out, n, cap, &old, row);
			}
			rtn_inv_job_fini(&old);
		} else if (g != -ENOENT) {
			r = -EIO;
		} else if (!able) {
			rtn_warn("notice %s of record %s: %s; its %s goes ahead at its deadline",
			         id, row->rec.id, why, j.notice_of);
			if (rtn_inv_job_put(e->inv, &j) < 0 ||
			    job_entry(e, "job.dead", &j, why, NULL) < 0)
				r = -EIO;
		} else if (rtn_inv_job_put(e->inv, &j) < 0 ||
		           job_entry(e, "job.sent", &j, NULL, NULL) < 0) {
			r = -EIO;
		} else {
			add_out(out, n, cap, &j, row);
		}
		free(why);
	next:
		rtn_inv_row_fini(row);
	}
	free(rows);
	return r;
}

/* Job id, waiting for its retry, goes out again (its next attempt, the same id) if the
 * current decision still wants it; only a notice when notices, only an action else (the
 * other is left for its own pass). 0 or -EIO. */
static int retry_one(struct rtn_engine *e, const char *id, bool notices, unsigned actions,
                     rtn_time_t now, struct rtn_outjob **out, size_t *n, size_t *cap)
{
	struct rtn_inv_job j;
	struct rtn_inv_row row;
	bool send;
	int r = 0;
	if (rtn_inv_job_get(e->inv, id, &j) < 0)
		return -EIO;
	if (is_notice(j.action) != notices) {
		rtn_inv_job_fini(&j);
		return 0;
	}
	if (notices && !(actions & RTN_BACT_NOTICE)) {
		/* Never a notice to a backend that did not say it takes them (it may read an
		 * action it does not know as another): given up, audited, its action unharmed. */
		r = rtn_journal_job_close(
		    e, &j, "dead",
		    "the backend does not take notices (its hello does not name "
		    "\"notice\")",
		    NULL, now);
		rtn_inv_job_fini(&j);
		return r;
	}
	int br = rtn_inv_job_brief(e->inv, j.rid, &row);
	if (br < 0) {
		r = br == -ENOENT
		        ? kill_job(e, &j, "the record is gone from the inventory", NULL, now)
		        : -EIO;
		rtn_inv_job_fini(&j);
		return r;
	}
	if ((r = notices ? notice_recheck(e, &j, now, &send) : recheck(e, &j, now, &send)) < 0 ||
	    !send) {
		rtn_inv_job_fini(&j);
		rtn_inv_row_fini(&row);
		return r;
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
		add_out(out, n, cap, &j, &row);
	rtn_inv_job_fini(&j);
	rtn_inv_row_fini(&row);
	return r;
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
	int nr = rtn_inv_jobs_retry_due(e->inv, b->name, now, (int)max, ids);
	if (nr < 0)
		r = -EIO;
	/* Notices wait for the actions: they go out after the queued records, in the room
	 * left, so that a notice never takes an action's place. */
	for (int i = 0; i < nr && r == 0; i++)
		r = retry_one(e, ids[i], false, actions, now, out, n, &cap);
	if (r < 0)
		goto fail;

	/* Queued records, due by now: each gets its job. */
	struct rtn_inv_row *rows = rtn_xcalloc(max - *n ? max - *n : 1, sizeof(*rows));
	int k = rtn_inv_queue_take(e->inv, b->name, now, (int)(max - *n), rows);
	for (int i = 0; i < k; i++) {
		struct rtn_inv_row *row = &rows[i];
		struct rtn_next next;
		rtn_time_t due = row->sched.next_at;
		if (r < 0 || due == RTN_TIME_NONE || due > now ||
		    !rtn_next_action(&row->sched, due, &next)) {
			rtn_inv_row_fini(row); /* cannot happen: the query asked for due rows */
			continue;
		}
		char id[RTN_JOB_ID_LEN];
		bool able = actions & action_bit(next.action);
		char *why =
		    able ? NULL : rtn_xasprintf("backend %s cannot %s", b->name, next.action);
		char ps[RTN_PSEUDONYM_LEN + 1];
		struct rtn_inv_job j = new_job(e, row, &next, b->name, id, ps, now, why);
		if (notice_missed(e, row, &next, id, j.subject, now) < 0) {
			r = -EIO;
			free(why);
		} else if (!able) {
			r = put_dead(e, &j, why, NULL, now);
			free(why);
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
	/* Then the notices: those waiting for their retry, those due by now, in the room left,
	 * at most half the backend's window out at once (at least one): the rest stays for
	 * actions, as a notice may be slow to deliver and holds its place until answered. */
	size_t cap_out = b->max_inflight / 2 ? b->max_inflight / 2 : 1, nmax = *n;
	int sent = r == 0 ? rtn_inv_notices_sent(e->inv, b->name) : 0;
	if (sent < 0)
		r = -EIO;
	else if ((size_t)sent < cap_out)
		nmax = *n + (max - *n < cap_out - (size_t)sent ? max - *n : cap_out - (size_t)sent);
	for (int i = 0; i < nr && r == 0 && *n < nmax; i++)
		r = retry_one(e, ids[i], true, actions, now, out, n, &cap);
	if (r == 0 && *n < nmax)
		r = notices_take(e, b, actions, now, nmax - *n, out, n, &cap);
fail:
	for (int i = 0; i < nr; i++)
		free(ids[i]);
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
	uint64_t missed = e->notices_missed;
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	r = rtn_jobs_take_tx(e, b, actions, now, max, out, n);
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0) {
		rtn_engine_rollback(e);
		e->notices_missed = missed; /* their entries were taken back */
		rtn_outjobs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

/* A done job's outcome: what the backend said it found. */
static const char *outcome_word(const char *action, enum rtn_bstatus st)
{
	if (st == RTN_BST_GONE)
		return "not_found";
	if (!strcmp(action, "notice"))
		return "delivered";
	return !strcmp(action, "delete") ? "deleted" : "anonymized";
}

/* The action of a job that is done happened: a deletion leaves a tombstone (keeping its
 * outcome: deleted, or not_found when nothing was there), an anonymisation moves the
 * record on to its next stage. */
static int action_done(struct rtn_engine *e, int64_t rid, const char *action, const char *rule,
                       const char *job, const char *outcome, rtn_time_t now)
{
	/* A late "done" (of a job cancelled or given up) for a record deleted meanwhile: the
	 * action happened, and its job says so, but a tombstone stays what it is (the
	 * inventory leaves one alone) with the proof of the deletion that made it. */
	if (!strcmp(action, "delete"))
		return rtn_inv_tombstone(e->inv, rid, rule, job, outcome, now);
	struct rtn_inv_row row;
	int r = rtn_inv_get_rid(e->inv, rid, &row);
	bool tomb = r == 0 && row.deleted_at != RTN_TIME_NONE;
	if (r == 0)
		rtn_inv_row_fini(&row);
	if (r < 0 || tomb)
		return r == -ENOENT ? 0 : r;
	bool changed;
	r = rtn_inv_set_anonymized(e->inv, rid, now);
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

/* Every occurrence of what in *s replaced by mark (s reallocated). */
static void replace_all(char **s, const char *what, const char *mark)
{
	size_t wl = strlen(what), ml = strlen(mark);
	char *at;
	size_t from = 0;
	while ((at = strstr(*s + from, what))) {
		size_t off = (size_t)(at - *s), n = strlen(*s);
		char *t = rtn_xmalloc(n - wl + ml + 1);
		memcpy(t, *s, off);
		memcpy(t + off, mark, ml);
		memcpy(t + off + ml, at + wl, n - off - wl + 1);
		free(*s);
		*s = t;
		from = off + ml;
	}
}

/* The string values in a locator (at any depth) replaced in *s by "<locator>". */
static void scrub_locator(char **s, const json_t *v)
{
	if (json_is_string(v) && json_string_length(v) >= 3) {
		replace_all(s, json_string_value(v), "<locator>");
	} else if (json_is_object(v)) {
		const char *k;
		const json_t *x;
		json_object_foreach((json_t *)v, k, x) scrub_locator(s, x);
	} else if (json_is_array(v)) {
		size_t i;
		const json_t *x;
		json_array_foreach(v, i, x) scrub_locator(s, x);
	}
}

/* A backend's error as retentiond keeps it (audit entries, the job, the log): where the
 * record's locator values or subject appear in it (a path in a message of the file
 * system, say), they are replaced by "<locator>" and "<subject>", so that no message
 * outlives the data it names. Parts of them cannot be recognised: a backend should not
 * put personal data in its messages (retention-backend(7)). Caller frees. */
static char *scrubbed_error(struct rtn_engine *e, int64_t rid, const char *error)
{
	char *s = rtn_xstrdup(error);
	struct rtn_inv_row row;
	if (rtn_inv_get_rid(e->inv, rid, &row) < 0)
		return s;
	scrub_locator(&s, row.rec.locator);
	if (row.rec.subject && strlen(row.rec.subject) >= 3)
		replace_all(&s, row.rec.subject, "<subject>");
	rtn_inv_row_fini(&row);
	return s;
}

/* The error as kept, once the record (rid) is known: scrubbed into *kept (freed by the
 * caller) and o->error. NULL for NULL. */
static const char *keep_error(struct rtn_engine *e, int64_t rid, const char *error, char **kept,
                              struct rtn_job_outcome *o)
{
	if (!error)
		return NULL;
	*kept = scrubbed_error(e, rid, error);
	snprintf(o->error, sizeof(o->error), "%s", *kept);
	return *kept;
}

static int job_result(struct rtn_engine *e, const struct rtn_backend_conf *b, const char *job,
                      enum rtn_bstatus st, const char *error, bool retry, rtn_time_t now,
                      uint64_t rnd, const struct rtn_outjob *sent, struct rtn_job_outcome *o,
                      char **kept);

int rtn_jobs_result(struct rtn_engine *e, const struct rtn_backend_conf *b, const char *job,
                    enum rtn_bstatus st, const char *error, bool retry, rtn_time_t now,
                    uint64_t rnd, const struct rtn_outjob *sent, struct rtn_job_outcome *o)
{
	memset(o, 0, sizeof(*o));
	char *kept = NULL;
	int r = job_result(e, b, job, st, error, retry, now, rnd, sent, o, &kept);
	free(kept);
	return r;
}

static int job_result(struct rtn_engine *e, const struct rtn_backend_conf *b, const char *job,
                      enum rtn_bstatus st, const char *error, bool retry, rtn_time_t now,
                      uint64_t rnd, const struct rtn_outjob *sent, struct rtn_job_outcome *o,
                      char **kept)
{
	bool good = st == RTN_BST_DONE || st == RTN_BST_GONE;
	const char *gone = "gone: nothing was there", *status = rtn_bstatus_name(st);
	int r;
	if (good && sent && !strcmp(sent->job, job)) {
		/* The common case: the job is out and what it is about is known; one update
		 * of the job, then its record follows. */
		const char *outcome = outcome_word(sent->action, st);
		r = rtn_inv_job_done(e->inv, job, b->name, now, st == RTN_BST_GONE ? gone : NULL,
		                     outcome);
		if (r == -ENOENT) {
			o->ignored = true;
			return 0;
		}
		if (r < 0)
			return r;
		o->finished = true;
		outcome_of(o, sent->rid, sent->record, sent->action, sent->rule, sent->category);
		error = keep_error(e, sent->rid, error, kept, o);
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
		    .due = sent->due,
		    .anchor = sent->anchor,
		    .anchor_time = sent->anchor_time,
		    .sent = sent->first_sent,
		    .subject = sent->subject,
		    .outcome = outcome,
		};
		x.announces = sent->notice_of;
		x.deadline = sent->notice_deadline;
		if (rtn_journal_job(e, &x) < 0)
			return -EIO;
		if (is_notice(sent->action))
			return 0; /* delivered: the record waits for its action all the same */
		return action_done(e, sent->rid, sent->action, sent->rule, job, outcome, now) < 0
		           ? -EIO
		           : 0;
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
	error = keep_error(e, j.rid, error, kept, o);
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
		free(j.outcome);
		j.outcome = rtn_xstrdup(outcome_word(j.action, st));
		o->finished = true;
		r = rtn_inv_job_put(e->inv, &j);
		if (r == 0)
			r = job_entry(e, "job.done", &j, error, status);
		if (r == 0 && !is_notice(j.action))
			r = action_done(e, j.rid, j.action, j.rule, j.job, j.outcome, now);
	} else if (!retry || (unsigned)j.attempts >= b->max_attempts) {
		j.state = NULL;
		char *why = !retry ? rtn_xasprintf("%s (the backend says retrying cannot help)",
		                                   error ? error : "failed")
		                   : rtn_xasprintf("%s (gave up after %d attempts)",
		                                   error ? error : "failed", j.attempts);
		o->dead = true;
		/* A dead notice is only that: its record is not failed, its action goes ahead */
		r = is_notice(j.action) ? rtn_journal_job_close(e, &j, "dead", why, status, now)
		                        : kill_job(e, &j, why, status, now);
		free(why);
		if (r == 0 && !is_notice(j.action))
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
		if (r == 0 && !is_notice(j.action))
			r = still_wanted(e, &j, now);
	}
	rtn_inv_job_fini(&j);
	return r < 0 ? -EIO : 0;
}

int rtn_jobs_fail_orphans(struct rtn_engine *e, const struct rtn_config *cfg, rtn_time_t now)
{
	const char **names = rtn_config_backend_names(cfg);
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
			struct rtn_next next;
			if (rtn_inv_get_rid(e->inv, rids[i], &row) < 0) {
				r = -EIO;
				break;
			}
			if (!rtn_next_action(&row.sched, row.sched.next_at, &next)) {
				r = rtn_inv_mark(e->inv, row.rid, "failed", RTN_TIME_NONE, now);
				rtn_inv_row_fini(&row);
				continue;
			}
			char id[RTN_JOB_ID_LEN];
			char *why =
			    next.backend
			        ? rtn_xasprintf("no backend named %s is configured", next.backend)
			        : rtn_xstrdup("neither the record nor its rule names a "
			                      "backend");
			char ps[RTN_PSEUDONYM_LEN + 1];
			struct rtn_inv_job j = new_job(
			    e, &row, &next, next.backend ? next.backend : "", id, ps, now, why);
			r = put_dead(e, &j, why, NULL, now);
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

/* The results of a batch, each in its outcome; settle: close the erasure requests they
 * ended. Caller's transaction. */
static int record_results(struct rtn_engine *e, const struct rtn_backend_conf *b,
                          const struct rtn_job_result *res, size_t nres, rtn_time_t now,
                          struct rtn_job_outcome *oc)
{
	int r = 0;
	for (size_t i = 0; i < nres && r == 0; i++)
		r = rtn_jobs_result(e, b, res[i].job, res[i].status, res[i].error, res[i].retry,
		                    now, res[i].rnd, res[i].sent, &oc[i]);
	return r;
}

int rtn_jobs_batch(struct rtn_engine *e, const struct rtn_backend_conf *b, unsigned actions,
                   const struct rtn_job_result *res, size_t nres, size_t room, rtn_time_t now,
                   struct rtn_job_outcome *oc, struct rtn_outjob **out, size_t *n,
                   json_t **completed)
{
	*out = NULL;
	*n = 0;
	if (completed)
		*completed = NULL;
	int r = rtn_engine_begin(e);
	if (r < 0)
		return r;
	json_t *done = NULL;
	r = record_results(e, b, res, nres, now, oc);
	if (r == 0 && room)
		r = rtn_jobs_take_tx(e, b, actions, now, room, out, n);
	/* A result may have ended a request's last record: it closes in this transaction (a
	 * failure to write that fails the commit). */
	if (r == 0 && nres)
		rtn_ops_erasures_settle(e, now, &done);
	r = rtn_engine_end(e, r);
	if (r < 0) {
		rtn_outjobs_free(*out, *n);
		*out = NULL;
		*n = 0;
		json_decref(done);
		return r;
	}
	if (completed)
		*completed = done;
	else
		json_decref(done);
	return 0;
}

int rtn_jobs_timeouts(struct rtn_engine *e, const struct rtn_backend_conf *b,
                      const char (*jobs)[RTN_JOB_ID_LEN], size_t k, const char *why, rtn_time_t now,
                      uint64_t rnd, struct rtn_job_outcome *oc)
{
	struct rtn_job_result *res = rtn_xcalloc(k ? k : 1, sizeof(*res));
	for (size_t i = 0; i < k; i++) {
		rnd += 0x9e3779b97f4a7c15ull; /* splitmix64: one jitter per job */
		uint64_t z = rnd;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		res[i] = (struct rtn_job_result){.job = jobs[i],
		                                 .status = RTN_BST_FAILED,
		                                 .error = why,
		                                 .retry = true,
		                                 .rnd = z ^ (z >> 31)};
	}
	int r = rtn_engine_begin(e);
	if (r == 0)
		r = rtn_engine_end(e, record_results(e, b, res, k, now, oc));
	free(res);
	return r;
}

int rtn_jobs_resend(struct rtn_engine *e, const char *backend, const char (*jobs)[RTN_JOB_ID_LEN],
                    size_t n, rtn_time_t now)
{
	int r = rtn_engine_begin(e), count = 0;
	if (r < 0)
		return r;
	if (!jobs) {
		count = rtn_inv_jobs_unanswered(e->inv, backend, now);
		r = count < 0 ? -EIO : 0;
	}
	for (size_t i = 0; jobs && i < n && r == 0; i++)
		r = rtn_inv_job_unanswered(e->inv, jobs[i], now) < 0 ? -EIO : 0;
	r = rtn_engine_end(e, r);
	return r < 0 ? r : count;
}

int rtn_jobs_next_retry(struct rtn_engine *e, rtn_time_t *at)
{
	return rtn_inv_jobs_next_retry(e->inv, at) < 0 ? -EIO : 0;
}

int rtn_jobs_next_wake(struct rtn_engine *e, rtn_time_t *at)
{
	return rtn_inv_next_wake(e->inv, at, NULL) < 0 ? -EIO : 0;
}

int rtn_jobs_notice_wake(struct rtn_engine *e, rtn_time_t after, rtn_time_t *next)
{
	return rtn_inv_notice_wake(e->inv, after, next) < 0 ? -EIO : 0;
}
