/* report.h - retentionctl report: the proof-of-deletion report as a table, CSV, JSON or a
 * self-contained HTML page */
#ifndef CTL_REPORT_H
#define CTL_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "show.h"

/* One line of the report's "what deletion means here" section: what a deletion by
 * retentiond does and does not prove, the same in the table, JSON and HTML. */
struct ctl_deletion_note {
	const char *topic, *text;
};
/* The section's lines, ended by one whose topic is NULL. */
extern const struct ctl_deletion_note ctl_deletion_notes[];

/* report: the result in o->format ("table" or NULL, "csv", "json", "html") on stdout or in
 * o->output. For "html", also asks o->client for audit.check over the same period
 * (o->args' since and until); a daemon without it gets a page that says so. 0 or 1. */
int ctl_show_report(const json_t *r, const struct ctl_show_opts *o);

/* The HTML page of report r and audit.check's result check (NULL: not available, why in
 * check_error) on f. */
void ctl_report_html(FILE *f, const json_t *r, const json_t *check, const char *check_error);

/* s with &, <, >, " and ' as character references and control characters as U+FFFD. */
void ctl_html_text(FILE *f, const char *s);

#endif
