/* report.c - retentionctl report: the report's table, CSV and JSON, the file it goes to,
 * and audit.check asked for the HTML page (report_html.c) */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "print.h"
#include "util.h"

static const struct ctl_col rp_row_cols[] = {
    {"rule", "RULE", 0},
    {"category", "CATEGORY", 0},
    {"deleted", "DELETED", CTL_COUNT},
    {"anonymized", "ANONYMIZED", CTL_COUNT},
    {"not_found", "NOT FOUND", CTL_COUNT},
    {"failed", "FAILED", CTL_COUNT},
    {"retained", "RETAINED", CTL_COUNT},
    {"left", "LEFT", CTL_COUNT},
    {"reappeared", "REAPPEARED", CTL_COUNT},
    {"basis", "BASIS", 0},
    {"flag", "FLAG", 0},
    {NULL, NULL, 0},
};

static const struct ctl_col rp_record_cols[] = {
    {"seq", "SEQ", CTL_RIGHT},
    {"time", "TIME", 0},
    {"record", "RECORD", 0},
    {"category", "CATEGORY", 0},
    {"rule", "RULE", 0},
    {"basis", "BASIS", 0},
    {"outcome", "OUTCOME", CTL_STATE},
    {"due", "DUE", 0},
    {"sent", "SENT", 0},
    {"job", "JOB", 0},
    {NULL, NULL, 0},
};

const struct ctl_deletion_note ctl_deletion_notes[] = {
    {"deleted", "a record is counted as deleted or anonymised when the backend that holds it "
                "answered done (not found: it answered gone, nothing was at the locator); the "
                "inventory keeps a tombstone without subject, locator or attributes"},
    {"retention-fs", "the file is unlinked: its name goes and its data blocks are freed, not "
                     "erased, unless the backend runs with overwrite (zeros written over the "
                     "file and synced first); other hard links and open descriptors keep it"},
    {"retention-sqlite", "the row is deleted, or its columns set to NULL, with secure_delete "
                         "on, so SQLite overwrites the old values in the database file; the "
                         "WAL is checkpointed and emptied after each batch"},
    {"retention-postgres", "deleted and updated rows stay in the table's files as dead tuples "
                           "until VACUUM reclaims them"},
    {"other backends", "what their own documentation says"},
    {"not covered", "copies outside the backends: backups, snapshots, replicas and exports, "
                    "and old blocks kept by copy-on-write file systems and SSDs"},
    {"audit log", "subjects are written as keyed pseudonyms (HMAC-SHA-256 with the daemon's "
                  "key), not in clear; record ids, and the reasons given for holds, erasures "
                  "and reviews, are kept as written"},
    {NULL, NULL},
};

static const char *rp_member(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A member to print: "?" when it is not a string. */
static const char *rp_text(const json_t *o, const char *k)
{
	const char *s = rp_member(o, k);
	return s ? s : "?";
}

static void rp_kv(struct ctl_table *t, const char *k, const char *v)
{
	ctl_table_row(t);
	ctl_table_cell(t, k, NULL);
	ctl_table_cell(t, v, NULL);
}

/* The table: what the report stands on, the rows, the totals, then the records. */
static void rp_table(FILE *f, const json_t *r)
{
	struct ctl_table *t = ctl_table_new(2, NULL);
	char *s = rtn_xasprintf("%s .. %s%s%s%s", rp_text(r, "since"), rp_text(r, "until"),
	                        rp_member(r, "timezone") ? " (" : "",
	                        rp_member(r, "timezone") ? rp_member(r, "timezone") : "",
	                        rp_member(r, "timezone") ? ")" : "");
	rp_kv(t, "period", s);
	free(s);
	if (rp_member(r, "category"))
		rp_kv(t, "category", rp_member(r, "category"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(r, "files"), i, v)
	    rp_kv(t, i ? "" : "files", json_string_value(v));
	const json_t *h = json_object_get(r, "head");
	if (json_is_object(h)) {
		s = rtn_xasprintf("seq %" JSON_INTEGER_FORMAT " at %s, hash %s",
		                  json_integer_value(json_object_get(h, "seq")), rp_text(h, "time"),
		                  rp_text(h, "hash"));
		rp_kv(t, "head", s);
		free(s);
	} else {
		rp_kv(t, "head", "no entry before the end of the period");
	}
	const json_t *ver = json_object_get(r, "verify"), *bad = json_object_get(ver, "first_bad");
	bool valid = json_is_true(json_object_get(ver, "valid"));
	if (valid)
		s = rtn_xasprintf("valid: %" JSON_INTEGER_FORMAT " entries",
		                  json_integer_value(json_object_get(ver, "entries")));
	else if (json_is_object(bad))
		s = rtn_xasprintf(
		    "NOT valid: %s:%" JSON_INTEGER_FORMAT ": %s", rp_text(bad, "file"),
		    json_integer_value(json_object_get(bad, "line")), rp_text(bad, "reason"));
	else
		s = rtn_xasprintf("NOT valid: %s", rp_text(ver, "error"));
	rp_kv(t, "audit log", s);
	free(s);
	ctl_table_print(t, f, 0);
	ctl_table_free(t);
	const json_t *rows = json_object_get(r, "rows");
	fputc('\n', f);
	if (json_array_size(rows))
		ctl_print_array(f, rows, rp_row_cols, NULL, 0);
	else
		fputs("nothing happened in the period\n", f);
	const json_t *tot = json_object_get(r, "totals");
	char b[7][CTL_COUNT_LEN];
	static const char *const keys[] = {"deleted",  "anonymized", "not_found", "failed",
	                                   "retained", "left",       "reappeared"};
	for (int k = 0; k < 7; k++)
		ctl_fmt_count(json_integer_value(json_object_get(tot, keys[k])), b[k]);
	fprintf(f, "\ntotal: %s deleted, %s anonymized, %s not found, %s failed, %s retained\n",
	        b[0], b[1], b[2], b[3], b[4]);
	if (json_integer_value(json_object_get(tot, "left")) ||
	    json_integer_value(json_object_get(tot, "reappeared")))
		fprintf(f,
		        "not by retentiond: %s left by other means (no longer seen by a scan), "
		        "%s deleted but seen again (acted on again)\n",
		        b[5], b[6]);
	json_array_foreach(rows, i, v)
	{
		const char *flag = rp_member(v, "flag"), *rule = rp_text(v, "rule");
		if (!flag || (i && !strcmp(rule, rp_text(json_array_get(rows, i - 1), "rule"))))
			continue;
		s = rtn_xasprintf("rule %s: %s", rule, flag);
		char *c = ctl_sanitize(s, strlen(s));
		fprintf(f, "%swarning: %s%s\n", ctl_err_color(true), c, ctl_reset());
		free(c);
		free(s);
	}
	fputs("\nwhat deletion means here:\n", f);
	for (const struct ctl_deletion_note *n = ctl_deletion_notes; n->topic; n++)
		fprintf(f, "  %s: %s\n", n->topic, n->text);
	const json_t *recs = json_object_get(r, "records");
	if (json_is_array(recs)) {
		fprintf(f, "\nrecords (%zu):\n", json_array_size(recs));
		ctl_print_array(f, recs, rp_record_cols, NULL, 2);
	}
}

/* audit.check over the report's period, for the page. NULL with *why when not available. */
static json_t *rp_ask_check(const struct ctl_show_opts *o, char **why)
{
	*why = NULL;
	if (!o->client) {
		*why = rtn_xstrdup("no connection to ask");
		return NULL;
	}
	json_t *args = json_object(), *res = NULL;
	static const char *const keys[] = {"since", "until"};
	for (int k = 0; k < 2; k++) {
		json_t *v = json_object_get(o->args, keys[k]);
		if (v)
			json_object_set(args, keys[k], v);
	}
	struct rtn_reply rep;
	if (ctl_client_call(o->client, "audit.check", args, &rep) < 0) {
		*why = rtn_xstrdup(o->client->err);
	} else {
		if (rep.ok && json_is_object(rep.result))
			res = json_incref(rep.result);
		else
			*why = rtn_xasprintf("%s: %s", rep.code ? rep.code : "error",
			                     rep.message ? rep.message : "no result");
		rtn_reply_fini(&rep);
	}
	json_decref(args);
	return res;
}

/* Write to o->output through a temporary file renamed into place, or to stdout. */
static int rp_emit(const json_t *r, const struct ctl_show_opts *o, const char *fmt)
{
	FILE *f = stdout;
	char *tmp = NULL;
	if (o->output && strcmp(o->output, "-")) {
		tmp = rtn_xasprintf("%s.tmp.%ld", o->output, (long)getpid());
		f = fopen(tmp, "w");
		if (!f) {
			fprintf(stderr, "retentionctl: %s: %s\n", tmp, strerror(errno));
			free(tmp);
			return 1;
		}
	}
	if (!strcmp(fmt, "json")) {
		json_t *c = json_copy((json_t *)r), *notes = json_array();
		for (const struct ctl_deletion_note *n = ctl_deletion_notes; n->topic; n++)
			json_array_append_new(
			    notes, json_pack("{s:s, s:s}", "topic", n->topic, "text", n->text));
		json_object_set_new(c, "deletion_means", notes);
		ctl_print_json(f, c);
		json_decref(c);
	} else if (!strcmp(fmt, "csv")) {
		const json_t *recs = json_object_get(r, "records");
		if (json_is_array(recs))
			ctl_csv_rows(f, recs, rp_record_cols);
		else
			ctl_csv_rows(f, json_object_get(r, "rows"), rp_row_cols);
	} else if (!strcmp(fmt, "html")) {
		char *why;
		json_t *check = rp_ask_check(o, &why);
		ctl_report_html(f, r, check, why);
		json_decref(check);
		free(why);
	} else {
		rp_table(f, r);
	}
	if (!tmp)
		return 0;
	int bad = ferror(f) | fflush(f) | fsync(fileno(f));
	bad |= fclose(f);
	if (bad || rename(tmp, o->output) < 0) {
		fprintf(stderr, "retentionctl: %s: %s\n", o->output, strerror(errno));
		unlink(tmp);
		free(tmp);
		return 1;
	}
	free(tmp);
	return 0;
}

int ctl_show_report(const json_t *r, const struct ctl_show_opts *o)
{
	int status = rp_emit(r, o, o->format ? o->format : "table");
	const json_t *ver = json_object_get(r, "verify"); /* an older daemon's has none */
	if (!status && json_is_object(ver) && !json_is_true(json_object_get(ver, "valid"))) {
		/* the report is written, and says where; a script must notice too */
		fprintf(stderr, "retentionctl: the audit log's hash chain does not verify\n");
		status = 1;
	}
	return status;
}
