/* metrics.c - the Prometheus text exposition format (0.0.4) of the daemon's figures */
#include "metrics.h"

#include <stdlib.h>

void rtn_metrics_escape(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP retentiond_%s %s\n# TYPE retentiond_%s %s\n", name, help, name, type);
}

static void label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	rtn_metrics_escape(f, v ? v : "");
	fputc('"', f);
}

/* A family of counts with one or two labels (lb NULL: one). */
static void counts(FILE *f, const char *name, const char *type, const char *help, const char *la,
                   const char *lb, const struct rtn_metrics_count *c, size_t n)
{
	family(f, name, type, help);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "retentiond_%s{", name);
		label(f, la, c[i].a, true);
		if (lb)
			label(f, lb, c[i].b, false);
		fprintf(f, "} %lld\n", (long long)c[i].n);
	}
}

static void gauge(FILE *f, const char *name, const char *help, long long v)
{
	family(f, name, "gauge", help);
	fprintf(f, "retentiond_%s %lld\n", name, v);
}

/* Seconds from t to now; 0 when t is none (or in the future). */
static long long age(const struct rtn_metrics *m, rtn_time_t t)
{
	return t == RTN_TIME_NONE || t > m->now ? 0 : (long long)(m->now - t);
}

char *rtn_metrics_render(const struct rtn_metrics *m, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (!f)
		abort(); /* out of memory, as rtn_xmalloc */
	family(f, "info", "gauge", "The version of retentiond (always 1).");
	fputs("retentiond_info{", f);
	label(f, "version", m->version, true);
	fputs("} 1\n", f);
	gauge(f, "start_time_seconds", "When the daemon started, in Unix seconds.",
	      (long long)m->started);
	counts(f, "records", "gauge", "Records in the inventory by state.", "state", NULL,
	       m->records, m->nrecords);
	counts(f, "jobs", "gauge", "Jobs by backend and state.", "backend", "state", m->jobs,
	       m->njobs);
	counts(f, "backend_up", "gauge",
	       "Whether the daemon is connected to the backend (1) or not (0).", "backend", NULL,
	       m->backends, m->nbackends);
	counts(f, "actions_done_total", "counter",
	       "Actions the backends carried out, by rule and outcome (deleted, anonymized, "
	       "not_found).",
	       "rule", "outcome", m->done, m->ndone);
	gauge(f, "oldest_overdue_action_age_seconds",
	      "Seconds since the deadline of the oldest action that is due and not done (0 when "
	      "none is overdue).",
	      age(m, m->oldest_overdue));
	gauge(f, "reviews_pending", "Actions awaiting a reviewer's decision.",
	      (long long)m->reviews);
	gauge(f, "oldest_review_age_seconds",
	      "Seconds the oldest action awaiting review has waited since it fell due (0 when "
	      "none waits).",
	      age(m, m->oldest_review));
	gauge(f, "erasure_requests_open", "Erasure requests not yet completed.",
	      (long long)m->erasures);
	gauge(f, "erasure_requests_at_risk",
	      "Open erasure requests whose deadline is less than a day away or past.",
	      (long long)m->erasures_at_risk);
	gauge(f, "oldest_erasure_request_age_seconds",
	      "Seconds since the oldest open erasure request was made (0 when none is open).",
	      age(m, m->oldest_erasure));
	family(f, "erasure_request_next_deadline_timestamp_seconds", "gauge",
	       "The earliest deadline of an open erasure request, in Unix seconds (no sample "
	       "when none is open).");
	if (m->next_erasure_deadline != RTN_TIME_NONE)
		fprintf(f, "retentiond_erasure_request_next_deadline_timestamp_seconds %lld\n",
		        (long long)m->next_erasure_deadline);
	family(f, "audit_entries_total", "counter", "Entries written to the audit log.");
	fprintf(f, "retentiond_audit_entries_total %lld\n", (long long)m->audit_entries);
	gauge(f, "audit_ok", "Whether the audit log is being written (1) or has failed (0).",
	      m->audit_ok ? 1 : 0);
	gauge(f, "audit_last_verify_timestamp_seconds",
	      "When audit verify last found the hash chain valid, in Unix seconds (0: not since "
	      "the daemon started).",
	      m->last_verify == RTN_TIME_NONE ? 0 : (long long)m->last_verify);
	if (fclose(f) != 0)
		abort();
	if (len)
		*len = n;
	return text;
}
