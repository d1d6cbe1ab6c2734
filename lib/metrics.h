/* metrics.h - the daemon's figures in the Prometheus text exposition format (0.0.4)
 *
 * Pure: the caller gathers the figures (daemon/metrics.c, from the status reads and
 * rtn_ops_metrics) and this writes them as text; no clock, no inventory. Every name has
 * the prefix retentiond_, times are seconds, counters end in _total; label values are
 * states, backends, rules and outcomes only (never a record id or a subject).
 * retentiond(8) lists every metric.
 */
#ifndef RTN_METRICS_H
#define RTN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rtime.h"

#define RTN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One sample of a family with up to two labels: a and b are its label values (the
 * family says what they are; NULL when it has fewer). */
struct rtn_metrics_count {
	const char *a, *b;
	int64_t n;
};

struct rtn_metrics {
	const char *version;
	rtn_time_t now, started;
	const struct rtn_metrics_count *records; /* a: state */
	size_t nrecords;
	const struct rtn_metrics_count *jobs; /* a: backend, b: state */
	size_t njobs;
	const struct rtn_metrics_count *backends; /* a: backend; n: 1 connected, 0 not */
	size_t nbackends;
	const struct rtn_metrics_count *done; /* a: rule, b: outcome */
	size_t ndone;
	rtn_time_t oldest_overdue; /* the deadline of the oldest overdue action; NONE: none */
	int64_t reviews;
	rtn_time_t oldest_review; /* when the oldest action awaiting review fell due; NONE */
	int64_t erasures, erasures_at_risk;
	rtn_time_t oldest_erasure;        /* when the oldest open request was made; NONE */
	rtn_time_t next_erasure_deadline; /* the earliest deadline of an open request; NONE */
	int64_t audit_entries;
	bool audit_ok;
	rtn_time_t last_verify; /* the last audit.verify that found the chain valid; NONE */
};

/* Write label value v to f escaped as the format asks: backslash, double quote and line
 * feed as \\, \" and \n; everything else as it is. */
void rtn_metrics_escape(FILE *f, const char *v);
/* The text of m (NUL-terminated, caller frees); *len (may be NULL) its length. */
char *rtn_metrics_render(const struct rtn_metrics *m, size_t *len);

#endif
