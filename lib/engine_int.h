/* engine_int.h - what the engine's files share: one record decided against its holds and
 * erasure requests, and the stored state and schedule that follow. Not for other modules.
 */
#ifndef RTN_ENGINE_INT_H
#define RTN_ENGINE_INT_H

#include "engine.h"
#include "job.h"

/* One record decided now: its view, the decision, the holds and erasure request read. */
struct rtn_eval {
	struct rtn_record_view v;
	struct rtn_decision d;
	json_t *holds; /* array of {"hold", "reason", "selector"} */
	const char *holdnames[8];
	char *erasure_request;
	char erasure_rule[RTN_ID_MAX + 16];
	char job_ids[2][RTN_JOB_ID_LEN]; /* of each schedule entry, filled by rtn_eval_job */
	const struct rtn_sched *next;    /* the entry rtn_eval_derive() chose as next, or NULL */
	rtn_time_t next_at;              /* its time: a rejected action's next review round */
	unsigned round;                  /* its review round: 1, n + 1 after n rejections */
	rtn_time_t rejected;             /* its last rejection, RTN_TIME_NONE before one */
	const struct rtn_zone *zone;     /* of the rounds' calendar arithmetic */
	int64_t rid;                     /* the record's row id (0 before it has one) */
	struct rtn_subject_time *subject_times; /* of the anchors of the subject; owned */
	size_t nsubject_times;
	bool notice_any; /* the rules send notices: the stored schedule's notice is written */
};

/* Decide rec now into ev (release with rtn_eval_fini). A hold or erasure request that
 * cannot be read makes it held (fail closed) and returns -EIO: nothing may act on a
 * record whose holds are unknown. explain: the full explanation per rule. */
int rtn_eval_record(struct rtn_engine *e, const struct rtn_record *rec, rtn_time_t anonymized_at,
                    struct rtn_eval *ev, bool explain);
/* A change of one record of a subject, for rtn_engine_redecide_subject: its id and its
 * events before (NULL: none, a new record); now it is as stored, or gone. */
struct rtn_subject_change {
	const char *id;
	const json_t *old_events;
};

/* After the changes ch[0..n) of records of subject (in the order made, each record decided
 * when it was changed), decide again the live records of subject whose category has a rule
 * anchored on the subject and whose anchor the changes after it moved. In the caller's
 * transaction: each whose state or schedule changed gets a record.redecided entry naming
 * the last change's record as its cause. One query for the subject's records; nothing
 * when no rule anchors on a subject. 0 or -EIO. */
int rtn_engine_redecide_subject(struct rtn_engine *e, const char *subject,
                                const struct rtn_subject_change *ch, size_t n, rtn_time_t now);
/* Free what rtn_eval_record() filled. */
void rtn_eval_fini(struct rtn_eval *ev);
/* The rule name of schedule entry s ("erasure:REQUEST" for an erasure request's). */
const char *rtn_eval_rule(const struct rtn_eval *ev, const struct rtn_sched *s);
/* The job id of schedule entry s (kept in ev). */
const char *rtn_eval_job(struct rtn_eval *ev, const struct rtn_sched *s);
/* The stored state of a live record and its schedule into sc: a due entry makes it queued
 * (review when its rule asks for a human, unless mark approves exactly this action; an
 * action mark rejects is skipped, or, when its rule says "review every SPAN", comes back
 * for review one SPAN after the rejection: its time in sc is then that round's). Sets
 * ev->next, ev->next_at and its round. Returns a static string. */
const char *rtn_eval_derive(struct rtn_eval *ev, rtn_time_t anonymized_at, const char *mark,
                            rtn_time_t now, struct rtn_inv_sched *sc);
/* A record whose job is out (sent, or waiting to be retried) or dead: only a result or
 * jobs.retry may change it, so nothing is ever sent twice under two ids. */
bool rtn_row_job_out(const struct rtn_inv_row *row);

/* --- entries (engine_entry.c) --- */

/* ,"schedule":[{"action", "due", "rule"}] of what ev's decision scheduled, in time order;
 * nothing when it scheduled nothing. 0, or -EINVAL (a string not UTF-8). */
int rtn_entry_schedule(struct rtn_jw *d, const struct rtn_eval *ev);
/* The detail of rec's record.put entry: "changed" (the attribute names added, removed or
 * changed from old_attrs; all of them when inserted), "events" (name -> time), "inserted",
 * "schedule" (rtn_entry_schedule), "state", "subject" (as the caller writes it: its
 * pseudonym). Never an attribute's value. 0, or -EINVAL (a string not UTF-8). */
int rtn_entry_put(struct rtn_jw *d, const struct rtn_record *rec, const char *subject,
                  bool inserted, const char *state, const json_t *old_attrs,
                  const struct rtn_eval *ev);

#endif
