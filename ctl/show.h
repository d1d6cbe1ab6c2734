/* show.h - retentionctl's human output for each command's result (doc/control-protocol.md) */
#ifndef CTL_SHOW_H
#define CTL_SHOW_H

#include <jansson.h>

struct ctl_client;

/* What the command line adds to a result's printing. */
struct ctl_show_opts {
	const char *format;        /* --format: table, csv, json (report: html); else NULL */
	const char *file;          /* rules check FILE: named in its problems; else NULL */
	const char *output;        /* report --output FILE; else NULL (stdout) */
	struct ctl_client *client; /* the connection the result came on */
	const json_t *args;        /* the request's arguments */
};

/* A printer of one command's result on stdout. Returns the exit status: 0, or 1 when the
 * result itself reports a failure. */
typedef int (*ctl_show_fn)(const json_t *result, const struct ctl_show_opts *o);

/* status: a key/value block, then backends and guard tables. */
int ctl_show_status(const json_t *r, const struct ctl_show_opts *o);
/* record.get, record.event, record.set: a key/value block, events, attributes, schedule. */
int ctl_show_record(const json_t *r, const struct ctl_show_opts *o);
/* record.put: counts and each record's next action. */
int ctl_show_put(const json_t *r, const struct ctl_show_opts *o);
/* record.forget: one line. */
int ctl_show_forget(const json_t *r, const struct ctl_show_opts *o);
/* explain: the decision first, then the rules considered and the holds. */
int ctl_show_explain(const json_t *r, const struct ctl_show_opts *o);
/* plan: the actions due by then, in time order. */
int ctl_show_plan(const json_t *r, const struct ctl_show_opts *o);
/* subject.show: a table of the subject's records. */
int ctl_show_subject(const json_t *r, const struct ctl_show_opts *o);
/* rules.list: a table of the loaded rules. */
int ctl_show_rules(const json_t *r, const struct ctl_show_opts *o);
/* rules.check: problems as FILE:LINE:COL lines, unmanaged categories; 1 if not valid. */
int ctl_show_check(const json_t *r, const struct ctl_show_opts *o);
/* rules.reload: one line and any problems. */
int ctl_show_reload(const json_t *r, const struct ctl_show_opts *o);
/* jobs.list: a table of jobs. */
int ctl_show_jobs(const json_t *r, const struct ctl_show_opts *o);
/* hold.list: a table of the holds in force. */
int ctl_show_holds(const json_t *r, const struct ctl_show_opts *o);
/* review.list: a table of actions awaiting review. */
int ctl_show_review(const json_t *r, const struct ctl_show_opts *o);
/* audit.query: a table of audit entries. */
int ctl_show_audit(const json_t *r, const struct ctl_show_opts *o);
/* audit.verify: one line; 1 if the chain is broken. */
int ctl_show_verify(const json_t *r, const struct ctl_show_opts *o);
int ctl_show_audit_check(const json_t *r, const struct ctl_show_opts *o);
/* scan: the scan's id, or with "wait" in the arguments, its outcome once it ends (polling
 * status); 1 when it failed. */
int ctl_show_scan(const json_t *r, const struct ctl_show_opts *o);
/* status: the scans of each backend that can scan or did (a table; nothing when none). */
void ctl_status_scans(const json_t *backends);
/* erase: the request, the records scheduled for deletion and those retained, with why. */
int ctl_show_erase(const json_t *r, const struct ctl_show_opts *o);
/* Any other result: key/value block and tables, or "ok" for an empty result. */
int ctl_show_generic(const json_t *r, const struct ctl_show_opts *o);

#endif
