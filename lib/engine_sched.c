/* engine_sched.c - schedules decided again (one record, or all after a rule change, with
 * the guard), due records moved on, and the jobs a new decision no longer wants cancelled */
#include "engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "util.h"

/* The notice of schedule a (new) against b (stored): the same notice (deadline, rule,
 * backend), and its time where it is still to be made. Not compared when no rule sends
 * notices (the columns are not written then). */
static bool notice_equal(const struct rtn_inv_sched *a, const struct rtn_inv_sched *b)
{
	if (!a->notice_any)
		return true;
	bool na = a->notice_rule && a->notice_for != RTN_TIME_NONE;
	bool nb = b->notice_rule && b->notice_for != RTN_TIME_NONE;
	if (!na || !nb)
		return na == nb && (na || b->notice_at == RTN_TIME_NONE);
	return a->notice_for == b->notice_for && !strcmp(a->notice_rule, b->notice_rule) &&
	       !strcmp(a->notice_backend ? a->notice_backend : "",
	               b->notice_backend ? b->notice_backend : "") &&
	       (b->notice_at == RTN_TIME_NONE || b->notice_at == a->notice_at);
}

static bool sched_equal(const struct rtn_inv_sched *a, const struct rtn_inv_sched *b)
{
	return notice_equal(a, b) && a->anon_at == b->anon_at && a->del_at == b->del_at &&
	       a->next_at == b->next_at && a->anon_review == b->anon_review &&
	       a->del_review == b->del_review &&
	       !strcmp(a->anon_rule ? a->anon_rule : "", b->anon_rule ? b->anon_rule : "") &&
	       !strcmp(a->del_rule ? a->del_rule : "", b->del_rule ? b->del_rule : "");
}

/* Why a job is cancelled, from the decision that replaced it. */
static void cancel_why(struct rtn_eval *ev, const char *state, char *buf, size_t n)
{
	char at[RTN_TIME_FMT_LEN];
	if (!strcmp(state, "held")) {
		snprintf(buf, n, "a hold applies (%s)", ev->v.nholds ? ev->v.holds[0] : "?");
	} else if (ev->next) {
		if (rtn_time_format(ev->next_at, at, sizeof(at)) < 0)
			snprintf(at, sizeof(at), "%lld", (long long)ev->next_at);
		snprintf(buf, n, "the current rules want %s by rule %.128s at %s instead",
		         rtn_action_name(ev->next->action), rtn_eval_rule(ev, ev->next), at);
	} else {
		snprintf(buf, n, "the current rules set no action");
	}
}

static bool waiting_state(const char *s)
{
	return !strcmp(s, "active") || !strcmp(s, "anonymized");
}

int rtn_engine_redecide(struct rtn_engine *e, int64_t rid, rtn_time_t now, bool guard,
                        bool *changed, bool *paused)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get_rid(e->inv, rid, &row);
	*changed = false;
	if (paused)
		*paused = false;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (row.deleted_at != RTN_TIME_NONE) {
		/* Deleted already (a late result of an earlier job): nothing more goes out. */
		struct rtn_inv_job j;
		int k = rtn_inv_job_latest_for(e->inv, rid, &j);
		if (k == 0 && strcmp(j.state, "sent") != 0) {
			*changed = true;
			r = rtn_journal_job_close(e, &j, "cancelled",
			                          "the record was deleted already", NULL, now);
		} else if (k < 0 && k != -ENOENT) {
			r = -EIO;
		}
		if (k == 0)
			rtn_inv_job_fini(&j);
		rtn_inv_row_fini(&row);
		return r;
	}
	struct rtn_eval ev;
	struct rtn_inv_sched sc;
	r = rtn_eval_record(e, &row.rec, row.anonymized_at, &ev, false);
	ev.rid = row.rid;
	const char *state = rtn_eval_derive(&ev, row.anonymized_at, row.review_mark, now, &sc);
	bool was_due = !strcmp(row.state, "queued") || !strcmp(row.state, "review") ||
	               !strcmp(row.state, "paused");
	bool held_row = !strcmp(row.state, "held"), force = false;
	if (r < 0)
		goto out; /* holds unknown: change nothing */
	if (rtn_row_job_out(&row) || held_row) {
		/* A job exists (out, waiting to retry, or dead): it stays only while it is the
		 * action the current decision wants now. */
		struct rtn_inv_job j;
		int k = rtn_inv_job_latest_for(e->inv, rid, &j);
		if (k == -ENOENT && !held_row)
			goto out; /* failed without a job (an orphan): stays visible */
		if (k < 0 && k != -ENOENT) {
			r = -EIO;
			goto out;
		}
		if (k == 0) {
			bool current = !strcmp(state, "queued") && ev.next &&
			               !strcmp(rtn_eval_job(&ev, ev.next), j.job);
			const char *keep = NULL;
			if (!strcmp(j.state, "sent"))
				/* Out: it cannot be called back. A hold shows on the record at
				 * once; the result, or its absence, settles the job. */
				keep = !strcmp(state, "held") ? "held" : "queued";
			else if (current)
				keep = !strcmp(j.state, "dead") ? "failed" : "queued";
			if (keep) {
				if (strcmp(row.state, keep) != 0) {
					*changed = true;
					if (rtn_inv_mark(e->inv, rid, keep, RTN_TIME_NONE, now) < 0)
						r = -EIO;
				}
				rtn_inv_job_fini(&j);
				goto out;
			}
			char why[256];
			cancel_why(&ev, state, why, sizeof(why));
			r = rtn_journal_job_close(e, &j, "cancelled", why, NULL, now);
			rtn_inv_job_fini(&j);
			if (r < 0)
				goto out;
			was_due = false; /* decided afresh */
			force = true;
		}
	}
	/* The guard holds back what a change makes due now, and what it brings forward to
	 * within its window: deadlines a few minutes after a reload are as much a typo's
	 * doing as those at the instant. */
	bool is_due = !strcmp(state, "queued") || !strcmp(state, "review");
	bool soon = is_due || (waiting_state(state) && sc.next_at != RTN_TIME_NONE &&
	                       sc.next_at <= now + e->guard_window);
	bool earlier =
	    force || row.sched.next_at == RTN_TIME_NONE || sc.next_at < row.sched.next_at;
	if (soon && !strcmp(row.state, "paused"))
		state = "paused"; /* stays paused until rules.confirm */
	else if (soon && !was_due && earlier && guard) {
		state = "paused";
		if (paused)
			*paused = true;
	}
	if (force || strcmp(state, row.state) != 0 || !sched_equal(&sc, &row.sched)) {
		*changed = true;
		if (rtn_inv_set_schedule(e->inv, rid, state, &sc, now) < 0)
			r = -EIO;
	}
out:
	rtn_eval_fini(&ev);
	rtn_inv_row_fini(&row);
	return r;
}

int rtn_engine_recompute_all(struct rtn_engine *e, rtn_time_t now, size_t batch, bool guard,
                             size_t *changed, size_t *paused)
{
	int64_t *rids = rtn_xcalloc(batch, sizeof(*rids)), after = 0;
	int r = 0;
	*changed = 0;
	*paused = 0;
	rtn_engine_refresh(e);
	for (;;) {
		int n = rtn_inv_rids_after(e->inv, after, rids, (int)batch);
		if (n <= 0) {
			r = n;
			break;
		}
		if ((r = rtn_engine_begin(e)) < 0)
			break;
		size_t c_batch = 0, p_batch = 0;
		for (int i = 0; i < n && r == 0; i++) {
			bool c, p;
			r = rtn_engine_redecide(e, rids[i], now, guard, &c, &p);
			c_batch += c;
			p_batch += p;
		}
		if (r == 0)
			r = rtn_engine_commit(e);
		if (r < 0) {
			rtn_engine_rollback(e);
			break;
		}
		*changed += c_batch; /* counted once committed */
		*paused += p_batch;
		after = rids[n - 1];
	}
	free(rids);
	return r;
}

int rtn_engine_advance(struct rtn_engine *e, rtn_time_t now, size_t max, size_t *n)
{
	int64_t *rids = rtn_xcalloc(max, sizeof(*rids));
	*n = 0;
	int k = rtn_inv_due_rids(e->inv, now, rids, (int)max), r = 0;
	if (k <= 0) {
		free(rids);
		return k;
	}
	if ((r = rtn_engine_begin(e)) == 0) {
		for (int i = 0; i < k && r == 0; i++) {
			bool c;
			r = rtn_engine_redecide(e, rids[i], now, false, &c, NULL);
		}
		if ((r = rtn_engine_end(e, r)) == 0)
			*n = (size_t)k;
	}
	free(rids);
	return r;
}

/* The record.redecided entry of a record a change of another record of its subject moved:
 * its state and schedule now, the record whose change moved it. */
static int redecided_entry(struct rtn_engine *e, int64_t rid, const char *cause)
{
	struct rtn_inv_row row;
	if (rtn_inv_get_rid(e->inv, rid, &row) < 0)
		return -EIO;
	const struct rtn_inv_sched *s = &row.sched;
	struct {
		const char *action, *rule;
		rtn_time_t at;
	} ent[2] = {{"anonymize", s->anon_rule, s->anon_at}, {"delete", s->del_rule, s->del_at}};
	if (ent[0].at != RTN_TIME_NONE && ent[1].at != RTN_TIME_NONE && ent[1].at < ent[0].at) {
		ent[0].action = "delete", ent[0].rule = s->del_rule, ent[0].at = s->del_at;
		ent[1].action = "anonymize", ent[1].rule = s->anon_rule, ent[1].at = s->anon_at;
	}
	json_t *sched = json_array();
	for (int i = 0; i < 2; i++)
		if (ent[i].at != RTN_TIME_NONE && ent[i].rule)
			json_array_append_new(
			    sched, json_pack("{s:s, s:o, s:s}", "action", ent[i].action, "due",
			                     rtn_time_to_json(ent[i].at), "rule", ent[i].rule));
	char ps[RTN_PSEUDONYM_LEN + 1];
	json_t *detail = json_pack("{s:s, s:s, s:s?}", "cause", cause, "state", row.state,
	                           "subject", rtn_engine_pseudonym(e, row.rec.subject, ps));
	if (json_array_size(sched))
		json_object_set(detail, "schedule", sched);
	json_decref(sched);
	struct rtn_audit_entry entry = {.type = "record.redecided",
	                                .actor = "daemon",
	                                .record = row.rec.id,
	                                .category = row.rec.category,
	                                .detail = detail};
	int r = detail ? rtn_engine_audit(e, &entry) : -EIO;
	json_decref(detail);
	rtn_inv_row_fini(&row);
	return r;
}

/* A record of the subject, as the one query for them read it. */
struct subj_row {
	int64_t rid;
	char *id, *category;
	json_t *events; /* a reference */
	bool live;
};

struct subj_rows {
	struct subj_row *v;
	size_t n, cap;
};

static int subject_row(const struct rtn_inv_subject_row *row, void *ctx)
{
	struct subj_rows *s = ctx;
	RTN_GROW(s->v, s->n + 1, s->cap);
	s->v[s->n++] = (struct subj_row){row->rid, rtn_xstrdup(row->id), rtn_xstrdup(row->category),
	                                 json_incref(row->events), true};
	return 0;
}

static rtn_time_t event_of(const json_t *events, const char *name)
{
	json_t *t = events ? json_object_get(events, name) : NULL;
	return json_is_integer(t) ? (rtn_time_t)json_integer_value(t) : RTN_TIME_NONE;
}

static rtn_time_t fold(rtn_time_t a, rtn_time_t b, bool latest)
{
	if (a == RTN_TIME_NONE || b == RTN_TIME_NONE)
		return a == RTN_TIME_NONE ? b : a;
	return latest ? (a > b ? a : b) : (a < b ? a : b);
}

static bool changed_after(const struct rtn_subject_change *ch, size_t from, size_t n,
                          const char *id)
{
	for (size_t k = from; k < n; k++)
		if (!strcmp(ch[k].id, id))
			return true;
	return false;
}

/* Does the anchor of record y (rows[y]) on event move with the changes ch[from..n) (each
 * record from its old events to what rows show, or gone)? */
static bool anchor_moves(const struct subj_rows *rows, size_t y,
                         const struct rtn_subject_change *ch, size_t from, size_t n,
                         const char *event, bool latest)
{
	rtn_time_t now_t = RTN_TIME_NONE, was = RTN_TIME_NONE;
	for (size_t k = from; k < n; k++)
		if (strcmp(ch[k].id, rows->v[y].id) != 0)
			was = fold(was, event_of(ch[k].old_events, event), latest);
	for (size_t i = 0; i < rows->n; i++) {
		const struct subj_row *r = &rows->v[i];
		rtn_time_t t = event_of(r->events, event);
		now_t = fold(now_t, t, latest);
		if (i != y && !changed_after(ch, from, n, r->id))
			was = fold(was, t, latest);
	}
	return fold(was, event_of(rows->v[y].events, event), latest) != now_t;
}

/* Is record y decided otherwise after the changes? A record of the changes was decided
 * with those before it: only those after it count. */
static bool moved(const struct rtn_engine *e, const struct subj_rows *rows, size_t y,
                  const struct rtn_subject_change *ch, size_t n)
{
	size_t from = 0;
	for (size_t k = 0; k < n; k++)
		if (!strcmp(ch[k].id, rows->v[y].id))
			from = k + 1;
	if (from == n)
		return false; /* the last change: decided with every other */
	size_t nr;
	const struct rtn_rule *const *rules =
	    rtn_ruleset_for_category(e->rules, rows->v[y].category, &nr);
	for (size_t i = 0; i < nr; i++) {
		const struct rtn_rule *r = rules[i];
		if (!r->forever && RTN_ANCHOR_IS_SUBJECT(&r->anchor) &&
		    anchor_moves(rows, y, ch, from, n, r->anchor.event,
		                 r->anchor.kind == RTN_ANCHOR_SUBJECT_LATEST))
			return true;
	}
	return false;
}

int rtn_engine_redecide_subject(struct rtn_engine *e, const char *subject,
                                const struct rtn_subject_change *ch, size_t n, rtn_time_t now)
{
	if (!subject || !n || !e->rules || !rtn_ruleset_any_subject(e->rules))
		return 0;
	/* One query for the subject's records; those whose anchor of the subject the changes
	 * moved are decided again after it, as deciding writes. */
	struct subj_rows rows = {0};
	int r = rtn_inv_subject_rows(e->inv, subject, subject_row, &rows) < 0 ? -EIO : 0;
	for (size_t i = 0; i < rows.n && r == 0; i++) {
		bool changed;
		if (!moved(e, &rows, i, ch, n))
			continue;
		r = rtn_engine_redecide(e, rows.v[i].rid, now, false, &changed, NULL);
		if (r == 0 && changed)
			r = redecided_entry(e, rows.v[i].rid, ch[n - 1].id);
	}
	for (size_t i = 0; i < rows.n; i++) {
		free(rows.v[i].id);
		free(rows.v[i].category);
		json_decref(rows.v[i].events);
	}
	free(rows.v);
	return r;
}
