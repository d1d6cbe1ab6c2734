/* engine.h - records and rules together: every operation on the inventory that needs a
 * decision. No clock and no sockets: "now" is an argument. Results are JSON in the
 * shapes of doc/control-protocol.md. The transactions are engine_tx.c (the bottom layer,
 * which the journal of job entries calls), one record's decision engine_eval.c, the
 * commands engine.c, recomputing and advancing engine_sched.c.
 */
#ifndef RTN_ENGINE_H
#define RTN_ENGINE_H

#include <jansson.h>

#include "audit.h"
#include "decide.h"
#include "inventory.h"
#include "job.h"
#include "jsonw.h"
#include "pseudonym.h"
#include "rules.h"

#define RTN_PUT_MAX       10000 /* records in one record.put */
#define RTN_IMPORT_ID_MAX 64    /* bytes of an import's id */
#define RTN_GUARD_WINDOW  3600  /* seconds: what a rule change brings due this soon is guarded */

/* Where the engine's entries go, and the audit log's part in every commit: an entry is on
 * disk before the change it records is committed, and entries of a change rolled back are
 * taken back. The daemon's audit log implements it; NULL (tests, tools): no entries. */
struct rtn_journal {
	void (*mark)(void *ctx);                                   /* a transaction begins */
	int (*append)(void *ctx, const struct rtn_audit_entry *e); /* 0 or -errno */
	int (*sync)(void *ctx);  /* before the commit: 0, or -errno and nothing commits */
	void (*undo)(void *ctx); /* the transaction was rolled back */
	void *ctx;
};

struct rtn_engine {
	struct rtn_inv *inv;               /* borrowed */
	const struct rtn_journal *journal; /* borrowed; may be NULL */
	const struct rtn_ruleset *rules;   /* borrowed; swap with rtn_engine_set_rules */
	const struct rtn_zone *zone;       /* borrowed; of the calendar arithmetic (UTC at init) */
	/* borrowed; the key of the subjects' pseudonyms in entries and in what is kept after
	 * the fact (pseudonym.h). NULL: subjects are written as given (tools, unit tests). */
	const struct rtn_pseudo *pseudo;
	struct rtn_view_buf vb;
	bool holds_exist;    /* any hold at all: else per-record hold lookups are skipped */
	bool erasures_exist; /* any record covered by an erasure request: likewise */
	/* Given the entries of a put (for the audit log): "record.put" of each record stored
	 * (r), and "record.unchanged" (r NULL) once for the records a batch left as they were;
	 * detail is the entry's canonical detail text (the hook takes it and frees detail->p),
	 * err < 0 when a string of it was not UTF-8. May be NULL (no entries made). */
	void (*put_hook)(void *ctx, const char *type, const struct rtn_record *r,
	                 struct rtn_jw *detail, int err);
	void *hook_ctx;
	rtn_time_t guard_window; /* the guard also holds back what falls due this soon */
	int depth;               /* nested rtn_engine_begin() calls */
	bool doomed;             /* an inner level rolled back: the outer commit fails */
	char why[128];           /* why the last commit failed, when not the inventory's doing */
	/* notice.missed entries committed since start (rtn_jobs_take; status shows it) */
	uint64_t notices_missed;
};

/* Start an engine on an open inventory and a finished rule set. */
void rtn_engine_init(struct rtn_engine *e, struct rtn_inv *inv, const struct rtn_ruleset *rules);
/* Free the engine's buffers (not the inventory or rules). */
void rtn_engine_fini(struct rtn_engine *e);
/* Re-read whether holds and erasure requests exist (after placing or ending one). */
void rtn_engine_refresh(struct rtn_engine *e);
/* Transactions: begin, commit, rollback nest; only the outermost level touches the
 * inventory. The outermost commit first syncs the journal (an entry is on disk before
 * its change commits); a rollback takes the journal's entries back. A failed commit
 * leaves the level open: the caller rolls back. 0 or -EIO. */
int rtn_engine_begin(struct rtn_engine *e);
int rtn_engine_commit(struct rtn_engine *e);
void rtn_engine_rollback(struct rtn_engine *e);
/* The end of a level begun with rtn_engine_begin(): commit when r is 0, else (or when the
 * commit fails) roll back. Returns r, or the commit's error. */
int rtn_engine_end(struct rtn_engine *e, int r);
/* Why the last operation failed, for messages ("the audit log cannot take entries", or
 * the inventory's error). */
const char *rtn_engine_errmsg(struct rtn_engine *e);
/* Append an entry to the journal (inside a transaction: it commits with it). 0, or -EIO
 * (the transaction cannot commit). */
int rtn_engine_audit(struct rtn_engine *e, const struct rtn_audit_entry *entry);
/* Once per subject key: the subjects an older version kept in clear in what outlives the
 * records replaced by their pseudonyms (rtn_inv_pseudonymize_kept); *n counts them; *other
 * is the id of another key the inventory was used with before (caller frees), else NULL. 0 or
 * -EIO. Nothing without a key. */
int rtn_engine_pseudonymize_kept(struct rtn_engine *e, int64_t *n, char **other);
/* After deletions: the inventory's residue of them cut off (rtn_inv_checkpoint). 0, -EBUSY
 * or -EIO. */
int rtn_engine_checkpoint(struct rtn_engine *e);
/* How subject is written in an entry or kept after the fact: its pseudonym in buf under
 * the engine's key (or subject itself when the engine has none; NULL for NULL). */
const char *rtn_engine_pseudonym(const struct rtn_engine *e, const char *subject,
                                 char buf[RTN_PSEUDONYM_LEN + 1]);

/* Use another rule set from now on (call rtn_engine_recompute_all after). */
void rtn_engine_set_rules(struct rtn_engine *e, const struct rtn_ruleset *rules);

/* record.put, in two steps so that the first may run on another thread: it needs nothing
 * but the request. rtn_put_prepare() validates and encodes args, one record or
 * {"records": [...]} with an optional "quiet": if any record is invalid nothing is
 * prepared, *details lists the problems and the return is -EINVAL (message in err); each
 * valid record in "records" is replaced with null as it goes (its copy is prepared).
 * rtn_engine_put_prepared() stores them in one transaction: 0, -EEXIST for a deleted id
 * or a record with a job out (conflict), -EIO. A record put again as it is stored (same
 * category, subject, backend, locator, events and attributes, deciding to the same state
 * and schedule) is left as it was: no write, no record.put entry (the batch's one
 * record.unchanged entry counts them). Free with rtn_put_free() (any thread). */
struct rtn_put;
int rtn_put_prepare(json_t *args, rtn_time_t now, struct rtn_put **out, json_t **details, char *err,
                    size_t errlen);
int rtn_engine_put_prepared(struct rtn_engine *e, struct rtn_put *p, rtn_time_t now,
                            json_t **result, char *err, size_t errlen);
void rtn_put_free(struct rtn_put *p);
/* A put of records already validated (moved from recs[0..n), which are left zeroed;
 * given_created[i]: record i named its "created" event; scan_hash, when given, each
 * record's content hash for its scan mark), quiet: its rows come from rtn_put_rid(). */
struct rtn_put *rtn_put_of(struct rtn_record *recs, const bool *given_created,
                           const char (*scan_hash)[65], size_t n);
/* The row of record i of a put of rtn_put_of once it was put (0: not stored). With
 * scan_hash[i] given there, the write marked it as its backend's scan's with that hash
 * (a record found as it was stored is not written, and keeps its mark). */
int64_t rtn_put_rid(const struct rtn_put *p, size_t i);
/* In a batch ({"records": [...]}) a tombstone's id is no conflict: it is counted as
 * already deleted (rtn_put_already_deleted, "already_deleted" in the result, which "count"
 * leaves out) and skipped, with no entry and no change; a single record put with it stays
 * a conflict. The batch's optional "import" names the import it belongs to
 * (rtn_put_import_valid: 1 to RTN_IMPORT_ID_MAX of [A-Za-z0-9-_.:]). After
 * rtn_engine_put_prepared(): the import (NULL when none), the rows the put made due
 * (queued or review, and not due before: rtn_guard_step's step), and the tombstones
 * skipped. All borrowed from p. */
bool rtn_put_import_valid(const char *id);
const char *rtn_put_import(const struct rtn_put *p);
const int64_t *rtn_put_due(const struct rtn_put *p, size_t *n);
size_t rtn_put_already_deleted(const struct rtn_put *p);
/* The id of record i of p (NULL past the end), and in *n how many p has. Borrowed. */
const char *rtn_put_id(const struct rtn_put *p, size_t i, size_t *n);
/* record.get: 0 with the RECORD shape, or -ENOENT. */
int rtn_engine_get(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result);
/* record.event: set one event's time. 0, -ENOENT, -EINVAL (err), -EEXIST (deleted), -EIO. */
int rtn_engine_event(struct rtn_engine *e, const char *id, const char *event, json_t *at,
                     rtn_time_t now, json_t **result, char *err, size_t errlen);
/* record.set: merge attributes (null removes). Same returns as rtn_engine_event. */
int rtn_engine_set(struct rtn_engine *e, const char *id, json_t *attrs, rtn_time_t now,
                   json_t **result, char *err, size_t errlen);
/* record.forget (the other records of its subject decided again at now): 0, -ENOENT, -EEXIST if the
 * record was acted on (err says how), -EIO. */
int rtn_engine_forget(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result,
                      char *err, size_t errlen);
/* The review round of a record's next action, one that waits for a person. */
struct rtn_review {
	char job[RTN_JOB_ID_LEN];     /* the action's job id: the same in every round */
	const char *action;           /* "delete" or "anonymize" */
	const struct rtn_rule *rule;  /* borrowed from the engine's rules */
	const char *rule_name;        /* its name (borrowed) */
	rtn_time_t due;               /* the action's own deadline (its first round) */
	rtn_time_t at;                /* this round's: when it waits (or will wait) for review */
	unsigned round;               /* 1 for the first review, n + 1 after n rejections */
	rtn_time_t rejected;          /* the last rejection, RTN_TIME_NONE before one */
	const struct rtn_span *every; /* the rule's "review every" span, or NULL */
	/* "review by GROUP...": the stage this round waits on (1-based) of nstages, its group,
	 * and who approved the stages before it (and when); nstages 0 for a plain review.
	 * restarted: approvals were kept for another list of stages or another action (the
	 * rules changed while it waited): they count for nothing, it waits on stage 1. */
	unsigned stage, nstages;
	const char *group; /* borrowed from the rule */
	gid_t gid;
	unsigned napproved; /* stage - 1 */
	uid_t approved_by[RTN_REVIEW_STAGES_MAX];
	rtn_time_t approved_at[RTN_REVIEW_STAGES_MAX];
	bool restarted;
};
/* The review round of row's next action (decided now): 0, -ENOENT when its next action
 * does not wait for a person (none, or rejected for good), -EIO when holds cannot be read.
 */
int rtn_engine_review(struct rtn_engine *e, const struct rtn_inv_row *row, rtn_time_t now,
                      struct rtn_review *out);
/* A reviewer's decision as the record keeps it (rtn_inv_set_review_mark): "approve JOB",
 * or "reject JOB AT ROUND" (rejected at AT in round ROUND). Caller frees. */
char *rtn_engine_review_mark(bool approve, const char *job, rtn_time_t at, unsigned round);
/* The mark of a review in stages whose stages before rv->stage are approved, and now also
 * rv->stage by uid at at (so it waits on the next one): "stage JOB ROUND REJECTED GROUPS
 * UID@TIME,...", GROUPS the rule's list as it was (a changed list voids the approvals).
 * rv as rtn_engine_review filled it, with rv->stage < rv->nstages. Caller frees. */
char *rtn_engine_review_stage_mark(const struct rtn_review *rv, uid_t uid, rtn_time_t at);
/* explain: 0 or -ENOENT. */
int rtn_engine_explain(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result);
/* plan: the actions due by until, in time order, at most limit. 0 or -EIO. */
int rtn_engine_plan(struct rtn_engine *e, rtn_time_t until, const char *category, size_t limit,
                    json_t **result);
/* plan of some records: the totals of rtn_engine_plan() (the same rows, the same actions)
 * over the records called ids[0..n) only (an id named twice counts once, one not stored
 * not at all), each with the first and last time: [{"rule", "action", "count", "first",
 * "last"}] in *totals (new reference). 0 or -EIO. */
int rtn_engine_plan_ids(struct rtn_engine *e, const char *const *ids, size_t n, rtn_time_t until,
                        json_t **totals);
/* subject.show: every record of the subject. 0 or -EIO. */
int rtn_engine_subject(struct rtn_engine *e, const char *subject, rtn_time_t now, json_t **result);

/* Recompute the schedule of every live record against the current rules, in transactions
 * of batch records. *changed counts records whose state or schedule changed. With guard,
 * records that were waiting and are now due, or whose next action moved to within
 * guard_window from now, become paused (counted in *paused) instead: the caller then
 * releases them or waits for rules.confirm. */
int rtn_engine_recompute_all(struct rtn_engine *e, rtn_time_t now, size_t batch, bool guard,
                             size_t *changed, size_t *paused);
/* Recompute one record (inside the caller's transaction). Tombstones are left alone. A
 * job waiting to retry, or dead, that the current decision no longer wants now (a hold,
 * a changed rule, keep forever) is cancelled (audited) and the record decided afresh; a
 * job in flight stays (it cannot be called back), and a hold shows on its record. An
 * unreadable hold changes nothing and returns -EIO. */
int rtn_engine_redecide(struct rtn_engine *e, int64_t rid, rtn_time_t now, bool guard,
                        bool *changed, bool *paused);
/* Move every record whose next action is due at now to queued (or review), creating its
 * job; at most max records per call (one transaction). *n says how many moved. */
int rtn_engine_advance(struct rtn_engine *e, rtn_time_t now, size_t max, size_t *n);

/* The schedule of a decision as JSON (SCHEDULE shape). New reference. */
json_t *rtn_engine_schedule_json(const struct rtn_decision *d, const char *erasure_request);

#endif
