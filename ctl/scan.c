/* scan.c - retentionctl scan (and --wait for its outcome), and the scans in status */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "print.h"
#include "show.h"

#define WAIT_POLL_MIN_NS 5000000L /* the first polls come soon: a small scan is quick */
#define WAIT_POLL_MAX_NS 200000000L

static long long sc_count(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *sc_text(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/* The outcome of a scan, as status's "last" gives it. */
static int print_outcome(const json_t *last)
{
	bool ok = json_is_true(json_object_get(last, "complete"));
	char *err = ctl_sanitize(sc_text(last, "error"), strlen(sc_text(last, "error")));
	printf("scan %s of %s %s at %s: %lld received, %lld added, %lld changed, %lld "
	       "unchanged, %lld left, %lld reappeared, %lld skipped, %lld in the future, %lld "
	       "paused\n",
	       sc_text(last, "scan"), sc_text(last, "backend"), ok ? "completed" : "failed",
	       sc_text(last, "finished"), sc_count(last, "received"), sc_count(last, "added"),
	       sc_count(last, "changed"), sc_count(last, "unchanged"), sc_count(last, "left"),
	       sc_count(last, "reappeared"), sc_count(last, "skipped"), sc_count(last, "future"),
	       sc_count(last, "paused"));
	if (!ok)
		printf("  error: %s\n", err);
	if (sc_count(last, "left_withheld"))
		printf("  %lld record%s not seen, more than the guard allows at once: none is "
		       "marked as having left\n",
		       sc_count(last, "left_withheld"),
		       sc_count(last, "left_withheld") == 1 ? "" : "s");
	if (sc_count(last, "invalid")) {
		char *first = ctl_sanitize(sc_text(last, "first_invalid"),
		                           strlen(sc_text(last, "first_invalid")));
		printf("  %lld invalid records; first: %s\n", sc_count(last, "invalid"), first);
		free(first);
	}
	free(err);
	return ok ? 0 : 1;
}

/* N of "S-N"; 0 when it is not one. */
static long long scan_number(const char *id)
{
	return !strncmp(id, "S-", 2) ? atoll(id + 2) : 0;
}

/* The outcome of scan id from its scan.completed or scan.failed entry. */
static int outcome_from_log(struct ctl_client *c, const char *id)
{
	json_t *args = json_pack("{s:s, s:i}", "type", "scan.", "limit", 1000);
	struct rtn_reply rep;
	int r = ctl_client_call(c, "audit.query", args, &rep);
	json_decref(args);
	if (r < 0 || !rep.ok) {
		fprintf(stderr, "retentionctl: the outcome of scan %s: %s\n", id,
		        r < 0 ? c->err : rep.message);
		if (r == 0)
			rtn_reply_fini(&rep);
		return 1;
	}
	int st = 1;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(rep.result, "entries"), i, e)
	{
		const char *type = sc_text(e, "type");
		json_t *d = json_object_get(e, "detail");
		if (strcmp(sc_text(d, "scan"), id) || !strncmp(type, "scan.started", 12))
			continue;
		json_t *last = json_deep_copy(d);
		json_object_set_new(last, "complete",
		                    json_boolean(!strcmp(type, "scan.completed")));
		json_object_set(last, "finished", json_object_get(e, "time"));
		st = print_outcome(last);
		json_decref(last);
	}
	rtn_reply_fini(&rep);
	return st;
}

/* The scan section of backend name in a status reply, or NULL. */
static json_t *scan_of(json_t *status, const char *name)
{
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(status, "backends"), i, b)
	{
		if (!strcmp(sc_text(b, "name"), name))
			return json_object_get(b, "scan");
	}
	return NULL;
}

int ctl_show_scan(const json_t *r, const struct ctl_show_opts *o)
{
	const char *id = sc_text(r, "scan"), *name = sc_text(r, "backend");
	if (!json_is_true(json_object_get(o->args, "wait"))) {
		printf("scan %s of %s started\n", id, name);
		return 0;
	}
	long poll = WAIT_POLL_MIN_NS;
	for (;;) {
		struct rtn_reply rep;
		if (ctl_client_call(o->client, "status", NULL, &rep) < 0) {
			fprintf(stderr, "retentionctl: %s\n", o->client->err);
			return 1;
		}
		if (!rep.ok) {
			fprintf(stderr, "retentionctl: status: %s\n", rep.message);
			rtn_reply_fini(&rep);
			return 1;
		}
		json_t *last = json_object_get(scan_of(rep.result, name), "last");
		if (!strcmp(sc_text(last, "scan"), id)) {
			int st = print_outcome(last);
			rtn_reply_fini(&rep);
			return st;
		}
		if (scan_number(sc_text(last, "scan")) > scan_number(id)) {
			/* a later scan ended since: ours is in the audit log */
			rtn_reply_fini(&rep);
			return outcome_from_log(o->client, id);
		}
		rtn_reply_fini(&rep);
		struct timespec ts = {0, poll};
		nanosleep(&ts, NULL);
		poll = poll * 2 > WAIT_POLL_MAX_NS ? WAIT_POLL_MAX_NS : poll * 2;
	}
}

void ctl_status_scans(const json_t *backends)
{
	static const char *const headers[] = {"BACKEND",  "EVERY",      "RUNNING", "LAST",
	                                      "FINISHED", "RESULT",     "ADDED",   "CHANGED",
	                                      "LEFT",     "REAPPEARED", "SKIPPED"};
	struct ctl_table *t = ctl_table_new(11, headers);
	for (int c = 6; c < 11; c++)
		ctl_table_flags(t, c, CTL_COUNT);
	size_t i;
	json_t *b;
	json_array_foreach((json_t *)backends, i, b)
	{
		json_t *s = json_object_get(b, "scan");
		json_t *last = json_object_get(s, "last"), *run = json_object_get(s, "running");
		if (!json_is_true(json_object_get(s, "can")) && !last)
			continue;
		ctl_table_row(t);
		ctl_table_cell(t, sc_text(b, "name"), NULL);
		if (sc_count(s, "every"))
			ctl_table_cellf(t, "%llds", sc_count(s, "every"));
		else
			ctl_table_cell(t, "off", NULL);
		if (run)
			ctl_table_cellf(t, "%s (%lld)", sc_text(run, "scan"),
			                sc_count(run, "received"));
		else
			ctl_table_cell(t, "-", NULL);
		ctl_table_cell(t, last ? sc_text(last, "scan") : "-", NULL);
		ctl_table_cell(t, last ? sc_text(last, "finished") : "-", NULL);
		ctl_table_cell(t,
		               !last                                             ? "-"
		               : json_is_true(json_object_get(last, "complete")) ? "complete"
		                                                                 : "failed",
		               NULL);
		const char *const keys[] = {"added", "changed", "left", "reappeared", "skipped"};
		for (int k = 0; k < 5; k++)
			ctl_table_value(t, last ? json_object_get(last, keys[k]) : NULL, CTL_COUNT);
	}
	if (ctl_table_rows(t)) {
		printf("scans:\n");
		ctl_table_print(t, stdout, 2);
	}
	ctl_table_free(t);
}
