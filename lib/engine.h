/* engine.h - records and rules together: every operation on the inventory that needs a
 * decision. No clock and no sockets: "now" is an argument. Results are JSON in the
 * shapes of doc/control-protocol.md.
 */
#ifndef RTN_ENGINE_H
#define RTN_ENGINE_H

#include <jansson.h>

#include "decide.h"
#include "inventory.h"
#include "rules.h"

#define RTN_PUT_MAX 10000 /* records in one record.put */

struct rtn_engine {
	struct rtn_inv *inv;             /* borrowed */
	const struct rtn_ruleset *rules; /* borrowed; swap with rtn_engine_set_rules */
	struct rtn_view_buf vb;
	bool holds_exist;    /* any hold at all: else per-record hold lookups are skipped */
	bool erasures_exist; /* any open erasure request: likewise */
	/* Told of every record a put stored (for the audit log); may be NULL. */
	void (*put_hook)(void *ctx, const struct rtn_record *r, bool inserted, const char *state);
	void *hook_ctx;
};

/* Start an engine on an open inventory and a finished rule set. */
void rtn_engine_init(struct rtn_engine *e, struct rtn_inv *inv, const struct rtn_ruleset *rules);
/* Free the engine's buffers (not the inventory or rules). */
void rtn_engine_fini(struct rtn_engine *e);
/* Re-read whether holds and erasure requests exist (after placing or ending one). */
void rtn_engine_refresh(struct rtn_engine *e);
/* Use another rule set from now on (call rtn_engine_recompute_all after). */
void rtn_engine_set_rules(struct rtn_engine *e, const struct rtn_ruleset *rules);

#define RTN_JOB_ID_LEN 32 /* bytes of a job id, NUL included */

/* The job id of an action: "J-", the record's row id in 10 hex digits, "-", and 12 hex
 * digits of SHA-256 over (record, action, rule, deadline). The same action always gets the
 * same id, so a job re-sent after a crash carries it; the row id in front keeps one
 * record's jobs together and new jobs at the end of the jobs table. */
void rtn_job_id(int64_t rid, const char *record, const char *action, const char *rule,
                rtn_time_t due, char out[RTN_JOB_ID_LEN]);

/* record.put, in two steps so that the first may run on another thread: it needs nothing
 * but the request. rtn_put_prepare() validates and encodes args, one record or
 * {"records": [...]} with an optional "quiet": if any record is invalid nothing is
 * prepared, *details lists the problems and the return is -EINVAL (message in err); each
 * valid record in "records" is replaced with null as it goes (its copy is prepared).
 * rtn_engine_put_prepared() stores them in one transaction: 0, -EEXIST for a deleted id
 * or a record with a job out (conflict), -EIO. Free with rtn_put_free() (any thread). */
struct rtn_put;
int rtn_put_prepare(json_t *args, rtn_time_t now, struct rtn_put **out, json_t **details, char *err,
                    size_t errlen);
int rtn_engine_put_prepared(struct rtn_engine *e, struct rtn_put *p, rtn_time_t now,
                            json_t **result, char *err, size_t errlen);
void rtn_put_free(struct rtn_put *p);
/* record.get: 0 with the RECORD shape, or -ENOENT. */
int rtn_engine_get(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result);
/* record.event: set one event's time. 0, -ENOENT, -EINVAL (err), -EEXIST (deleted), -EIO. */
int rtn_engine_event(struct rtn_engine *e, const char *id, const char *event, json_t *at,
                     rtn_time_t now, json_t **result, char *err, size_t errlen);
/* record.set: merge attributes (null removes). Same returns as rtn_engine_event. */
int rtn_engine_set(struct rtn_engine *e, const char *id, json_t *attrs, rtn_time_t now,
                   json_t **result, char *err, size_t errlen);
/* record.forget: 0, -ENOENT, -EEXIST if the record was acted on (err says how), -EIO. */
int rtn_engine_forget(struct rtn_engine *e, const char *id, json_t **result, char *err,
                      size_t errlen);
/* explain: 0 or -ENOENT. */
int rtn_engine_explain(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result);
/* plan: the actions due by until, in time order, at most limit. 0 or -EIO. */
int rtn_engine_plan(struct rtn_engine *e, rtn_time_t until, const char *category, size_t limit,
                    json_t **result);
/* subject.show: every record of the subject. 0 or -EIO. */
int rtn_engine_subject(struct rtn_engine *e, const char *subject, rtn_time_t now, json_t **result);

/* Recompute the schedule of every live record against the current rules, in transactions
 * of batch records. *changed counts records whose state or schedule changed. With guard,
 * records that were waiting and are now due become paused (counted in *paused) instead
 * of queued: the caller then releases them or waits for rules.confirm. */
int rtn_engine_recompute_all(struct rtn_engine *e, rtn_time_t now, size_t batch, bool guard,
                             size_t *changed, size_t *paused);
/* Recompute one record (inside the caller's transaction). Records with a job out and
 * tombstones are left alone. */
int rtn_engine_redecide(struct rtn_engine *e, int64_t rid, rtn_time_t now, bool guard,
                        bool *changed, bool *paused);
/* Move every record whose next action is due at now to queued (or review), creating its
 * job; at most max records per call (one transaction). *n says how many moved. */
int rtn_engine_advance(struct rtn_engine *e, rtn_time_t now, size_t max, size_t *n);

/* The schedule of a decision as JSON (SCHEDULE shape). New reference. */
json_t *rtn_engine_schedule_json(const struct rtn_decision *d, const char *erasure_request);

#endif
