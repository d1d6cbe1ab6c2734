/* reconcile.h - what a backend's scan says it holds, reconciled with the inventory: new
 * records inserted, changed ones updated and decided again, records it no longer holds
 * marked as having left by other means (only after a complete scan), tombstones seen again
 * reported and acted on again. Every transition is an audit entry naming the scan. Each
 * call opens and closes its own transaction of the engine; "now" is an argument. The
 * semantics are in ARCHITECTURE.md ("Scans"). */
#ifndef RTN_RECONCILE_H
#define RTN_RECONCILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define RTN_SCAN_ID_MAX 32 /* "S-" and a number, with its NUL */

struct rtn_scan_stats {
	int64_t received;      /* records of the pages reconciled */
	int64_t added;         /* new ids inserted */
	int64_t changed;       /* known ids whose content changed */
	int64_t unchanged;     /* known ids as they were: no write, no entry */
	int64_t left;          /* marked as having left by other means (complete scans only) */
	int64_t reappeared;    /* tombstones seen again */
	int64_t busy;          /* known ids with a job out or dead: not changed */
	int64_t conflicts;     /* ids the inventory has under another backend */
	int64_t invalid;       /* records that failed validation (the first message kept) */
	int64_t skipped;       /* what the backend could not read (from its end marker) */
	int64_t future;        /* records with an event time in the future (from its end marker) */
	int64_t paused;        /* records the guard paused (rtn_guard_step, cause "scan") */
	int64_t left_withheld; /* not seen, but more than the guard allows: not marked left */
	char first_invalid[256];
};

struct rtn_scan;

/* A scan of backend starts (by: "timer" or the peer's actor string): its id ("S-" and a
 * number kept in the inventory's meta, never reused) goes to *out's id, and "scan.started"
 * is written. guard is the configured mass-deletion guard (rtn_guard_limit's floor).
 * 0 or -EIO (nothing started). Free with rtn_scan_free(). */
int rtn_scan_begin(struct rtn_engine *e, const char *backend, const char *by, long guard,
                   rtn_time_t now, struct rtn_scan **out);
/* The scan's id. */
const char *rtn_scan_id(const struct rtn_scan *s);
/* The actor of the entries of its transitions: "scan:" and its id. */
const char *rtn_scan_actor(const struct rtn_scan *s);
/* The stats so far. */
const struct rtn_scan_stats *rtn_scan_stats(const struct rtn_scan *s);
/* One page (a JSON array of records as the backend sent them; borrowed) reconciled in one
 * transaction. A record that fails validation is counted and skipped; the page is not
 * refused for it. 0, or -EIO: nothing of the page is stored, and the scan can only fail. */
int rtn_scan_page(struct rtn_scan *s, json_t *records, rtn_time_t now);
/* rtn_scan_page in two steps, so that the first may run on another thread: it needs only
 * the page (records: taken) and touches nothing else: the records are checked and hashed;
 * then the page is reconciled on the engine's thread. Free with rtn_scan_prep_free (any
 * thread). */
struct rtn_scan_prep;
struct rtn_scan_prep *rtn_scan_prepare(json_t *records, const char *backend);
int rtn_scan_page_prepared(struct rtn_scan *s, struct rtn_scan_prep *p, rtn_time_t now);
void rtn_scan_prep_free(struct rtn_scan_prep *p);
/* The backend's end marker. complete and count == the records received: what an earlier scan
 * of this backend saw and this one did not (and has no job out) is marked left, unless that
 * is more than rtn_guard_limit() (a root not mounted looks empty: counted as left_withheld
 * and nothing is marked), then "scan.completed"; otherwise
 * (or error != NULL) "scan.failed" and no record is marked left. The result is kept in meta
 * for rtn_scan_last(). 0, or -EIO (the outcome was not stored: the scan failed). */
int rtn_scan_end(struct rtn_scan *s, bool complete, int64_t count, int64_t skipped, int64_t future,
                 const char *error, rtn_time_t now);
/* The scan ends without its end marker (connection lost, daemon stopping, a page not
 * stored): "scan.failed" with why, nothing marked left. */
void rtn_scan_abort(struct rtn_scan *s, const char *why, rtn_time_t now);
/* Free the scan (after rtn_scan_end or rtn_scan_abort, or instead of both on -EIO). */
void rtn_scan_free(struct rtn_scan *s);
/* The last scan of backend as stored: {"scan", "complete", "started", "finished", "error",
 * and the stats}, or NULL when it never scanned. New reference. */
json_t *rtn_scan_last(struct rtn_engine *e, const char *backend);

#endif
