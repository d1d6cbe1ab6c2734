/* guard.h - the mass-deletion guard: what one step makes due at once (a rule change, an
 * import, a scan, a start-up, a jump of the wall clock) is released when it is small and
 * paused (until guard.confirm, or the cause is undone) when it is large. A rule change is
 * rtn_guard_apply; every other step rtn_guard_step. Calls open and close their own
 * transactions of the engine unless said otherwise; "now" is an argument. */
#ifndef RTN_GUARD_H
#define RTN_GUARD_H

#include <jansson.h>
#include <stdbool.h>

#include "engine.h"

/* The most records one step (a rule change, an import, a scan, a start-up, a clock jump)
 * may make due at once without the guard holding them:
 * guard (the configured floor), or one in twenty of the live records when that is more.
 * A guard of 0 or below is no floor. Pure. */
int64_t rtn_guard_limit(long guard, int64_t live);

/* True when the inventory was last scheduled by other rules (hash) or, when zone is not
 * NULL, in another time zone than zone (or neither is stored yet). An unreadable value
 * counts as different. Reads only. */
bool rtn_guard_stale(struct rtn_engine *e, const char *hash, const char *zone);

/* The "rules.loaded" entry of rule set rs in zone by actor (hash, rule count, files in
 * order, zone), in a transaction of its own: on disk when this returns 0, before the
 * rules may take effect. 0 or -EIO. */
int rtn_guard_rules_loaded(struct rtn_engine *e, const struct rtn_ruleset *rs, const char *zone,
                           const char *actor);

struct rtn_guard_result {
	size_t changed;  /* records whose state or schedule changed */
	size_t paused;   /* records the guard holds now (0 when they were released) */
	int released;    /* records released at once (a small change) */
	int64_t limit;   /* rtn_guard_limit() of the inventory */
	json_t *by_rule; /* [{"rule", "records"}] of the records held; NULL when none */
};

/* After the engine's rules changed: recompute every record (in transactions of batch
 * records) under the guard when guard > 0, then in one transaction: release the paused
 * records when it was a small change (at most rtn_guard_limit(), and none was paused
 * before), store the rules' hash and zone ("rules_hash", "timezone" in meta), and write
 * "schedule.changed" (rules_hash, rescheduled, paused, released) and, when records stay
 * paused, "guard.paused" (records, rules) by actor. 0 (free out->by_rule with
 * json_decref), or -EIO: the outcome is not stored (out->changed says how far the
 * recomputation got). */
int rtn_guard_apply(struct rtn_engine *e, long guard, const char *zone, const char *actor,
                    size_t batch, rtn_time_t now, struct rtn_guard_result *out);

/* guard.confirm (and its alias rules.confirm): release every record the guard paused,
 * whatever the cause (to queued or review when due, else back to waiting), and forget the
 * steps counted so far (one that goes on is counted afresh); when causes is not NULL it
 * gets {CAUSE: records released} (new reference), in a transaction of the
 * engine (nested in the caller's when one is open). Count or -EIO. */
int rtn_guard_confirm(struct rtn_engine *e, rtn_time_t now, json_t **causes);

/* The cause undone (the wall clock set back after a jump, cause "clock"): the records it
 * paused whose next action is not due at now any more go back to waiting, with a
 * "guard.released" {cause, released} entry, in a transaction of the engine. Count or -EIO. */
int rtn_guard_undone(struct rtn_engine *e, const char *cause, rtn_time_t now);

/* One step other than a rule change made the records rids[0..n) due at once (state queued
 * or review), inside the caller's transaction: cause "import" (ref: the import's id, or NULL
 * for a single put), "scan" (ref: the scan's id), "start-up" or "clock" (a wall-clock jump;
 * ref NULL). When the step's due records (these and the earlier ones of the same cause and
 * ref within RTN_GUARD_WINDOW) exceed rtn_guard_limit(guard, live), these and the step's
 * records not yet sent are paused with the cause (shown in status per rule and cause,
 * released by guard.confirm) and "guard.paused" {cause, ref, records, step, rules} is
 * written; once a step is paused, what it makes due later in the window is paused too.
 * Only rids that are due and not yet sent count (the others are passed over), so a caller
 * may pass every record it touched. A record due before the step is not the step's. Steps
 * without a ref of one cause count together within the window. guard <= 0: no guard (0).
 * The steps of the window are kept in the inventory's meta ("guard_steps"), so a restart
 * does not forget them. Any caller (an import, a scan's page, the scheduler's start-up and
 * clock steps) uses this one function. The number paused now, or -EIO. */
int rtn_guard_step(struct rtn_engine *e, long guard, const char *cause, const char *ref,
                   const int64_t *rids, size_t n, rtn_time_t now);

/* rtn_engine_advance() as one step of cause ("start-up", or "clock" after a jump of the
 * wall clock): every record whose next action is due at now moves on (at most max, one
 * transaction), and what became due goes through rtn_guard_step (ref NULL). *n says how
 * many moved, *paused how many the guard paused. 0 or -EIO. */
int rtn_guard_advance(struct rtn_engine *e, long guard, const char *cause, rtn_time_t now,
                      size_t max, size_t *n, int *paused);

#endif
