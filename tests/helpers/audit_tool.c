/* audit_tool.c - drive lib/audit from the shell: the Python cross-check and the bench
 *
 * usage: audit_tool append FILE N [SYNC_EVERY]   N generated entries (sync every K; 0: at end)
 *        audit_tool bench FILE N SYNC_EVERY      the same, timed: "N entries in S s: R/s"
 *        audit_tool jobs FILE N                  N entries shaped like the daemon's deletions:
 *                                                record.put (schedule), job.sent (due), job.done
 *        audit_tool appendjson FILE              one entry per stdin line: {"type", "actor",
 *                                                "record", ..., "detail", "at"}
 *        audit_tool rotate FILE ROTATED
 *        audit_tool canon                        stdin JSON lines -> canonical lines
 *        audit_tool verify FILE... [--head HEX]  the result object; exit 0 valid, 1 not
 *        audit_tool query FILE [type=T] [record=R] [subject=S] [category=C] [since=T]
 *                         [until=T] [limit=N] [last]
 * Times are in AUDIT_TOOL_ZONE (default Europe/Oslo); generated entries start at
 * 2026-01-01T00:00:00Z, one a minute.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "rtime.h"

#define BASE ((rtn_time_t)1767225600)

static int die(const char *what, int r, const char *err)
{
	fprintf(stderr, "audit_tool: %s: %s\n", what, err && *err ? err : strerror(-r));
	return 2;
}

/* Entry i of a varied, deterministic stream: every member, non-ASCII, controls, DEL. */
static int append_generated(struct rtn_audit *a, unsigned long i)
{
	static const char *const types[] = {"record.put", "schedule.changed", "job.sent",
	                                    "job.done", "request.forbidden"};
	static const char *const notes[] = {"plain",
	                                    "Søknad fra Åse Ærø",
	                                    "tab\there",
	                                    "quote \" and \\ backslash",
	                                    "del \x7f and \x01",
	                                    "emoji \xf0\x9f\x93\x84 and \xe2\x80\xa8"};
	char rec[64], job[32], subj[32];
	snprintf(rec, sizeof(rec), "hr/applications/2026-%lu-ø", i % 997);
	snprintf(job, sizeof(job), "J-%08lx", i * 2654435761ul & 0xfffffffful);
	snprintf(subj, sizeof(subj), "person:%04lx", i % 251);
	const char *type = types[i % 5];
	json_t *d =
	    json_pack("{s:s,s:s,s:I,s:[i,b,n],s:{}}", "subject", subj, "note", notes[i % 6],
	              "attempt", (json_int_t)(i % 7) - 3, "list", (int)i, (int)(i & 1), "empty");
	struct rtn_audit_entry e = {
	    .type = type,
	    .actor = i % 5 == 4 ? "uid:1000" : "scheduler",
	    .record = i % 5 == 4 ? NULL : rec,
	    .category = i % 5 == 4 ? NULL : "job_application",
	    .rule = i % 5 >= 2 && i % 5 < 4 ? "framsikt-job-applications" : NULL,
	    .basis = i % 5 >= 2 && i % 5 < 4 ? "Framsikt personvernerklæring, punkt d" : NULL,
	    .job = i % 5 >= 2 && i % 5 < 4 ? job : NULL,
	    .detail = d,
	};
	int r = rtn_audit_append(a, BASE + (rtn_time_t)i * 60, &e, 0);
	json_decref(d);
	return r;
}

static int append_main(const char *path, unsigned long n, unsigned long every, bool timed)
{
	char err[512] = "";
	struct rtn_audit *a;
	struct timespec t0, t1;
	int r = rtn_audit_open(path, BASE, &a, err, sizeof(err));
	if (r < 0)
		return die(path, r, err);
	unsigned long start = rtn_audit_seq(a);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < n && r == 0; i++) {
		r = append_generated(a, start + i);
		if (r == 0 && every && (i + 1) % every == 0)
			r = rtn_audit_sync(a);
	}
	if (r == 0)
		r = rtn_audit_sync(a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r < 0) {
		rtn_audit_close(a);
		return die("append", r, NULL);
	}
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (timed)
		printf("%lu entries in %.3f s: %.0f entries/s\n", n, s, s > 0 ? (double)n / s : 0);
	else
		printf("%llu %s\n", (unsigned long long)rtn_audit_seq(a), rtn_audit_head(a));
	rtn_audit_close(a);
	return 0;
}

/* Entries in threes: a record put with its deletion scheduled, its job sent up to a
 * minute late, done; the fields of the job and record entries as the daemon writes them. */
static int jobs_main(const char *path, unsigned long n)
{
	char err[512] = "";
	struct rtn_audit *a;
	int r = rtn_audit_open(path, BASE, &a, err, sizeof(err));
	if (r < 0)
		return die(path, r, err);
	for (unsigned long i = 0; i < n && r == 0; i++) {
		unsigned long k = i / 3;
		rtn_time_t at = BASE + (rtn_time_t)i * 20,
		           due = BASE + (rtn_time_t)(k * 3 + 1) * 20;
		char rec[64], job[40], subj[32], d[RTN_TIME_FMT_LEN], t[RTN_TIME_FMT_LEN];
		snprintf(rec, sizeof(rec), "hr/applications/%lu", k);
		snprintf(job, sizeof(job), "J-%010lu-%08lx", k + 1,
		         k * 2654435761ul & 0xfffffffful);
		snprintf(subj, sizeof(subj), "person:%04lx", k % 4093);
		rtn_time_format(due, d, sizeof(d));
		rtn_time_format(at - 3600, t, sizeof(t));
		json_t *detail;
		const char *type = i % 3 == 0 ? "record.put" : i % 3 == 1 ? "job.sent" : "job.done";
		if (i % 3 == 0)
			detail =
			    json_pack("{s:b,s:s,s:s,s:{s:s},s:[s,s],s:[{s:s,s:s,s:s}]}", "inserted",
			              1, "state", "active", "subject", subj, "events", "created", t,
			              "changed", "name", "email", "schedule", "action", "delete",
			              "rule", "job-applications", "due", d);
		else
			detail = json_pack(
			    "{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "action", "delete", "backend",
			    "fs", "attempt", (json_int_t)1, "due", d, "anchor", "created",
			    "anchor_time", t, "rules",
			    "5f1c0d7e9a8b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
			    "subject", subj);
		if (i % 3 == 2)
			json_object_set_new(detail, "outcome", json_string("deleted"));
		struct rtn_audit_entry e = {
		    .type = type,
		    .actor = i % 3 == 0 ? "uid:1000" : "scheduler",
		    .record = rec,
		    .category = "job_application",
		    .rule = i % 3 ? "job-applications" : NULL,
		    .basis = i % 3 ? "privacy notice, section d" : NULL,
		    .job = i % 3 ? job : NULL,
		    .detail = detail,
		};
		/* sent up to a minute after its due time */
		r = rtn_audit_append(a, i % 3 == 1 ? due + (rtn_time_t)(k % 61) : at, &e, 0);
		json_decref(detail);
	}
	if (r == 0)
		r = rtn_audit_sync(a);
	rtn_audit_close(a);
	return r < 0 ? die("jobs", r, NULL) : 0;
}

static int appendjson_main(const char *path)
{
	char err[512] = "", line[1 << 16];
	struct rtn_audit *a;
	int r = rtn_audit_open(path, BASE, &a, err, sizeof(err)), rejected = 0;
	if (r < 0)
		return die(path, r, err);
	for (unsigned long no = 1; fgets(line, sizeof(line), stdin); no++) {
		json_t *o = json_loads(line, 0, NULL);
		json_t *at = json_object_get(o, "at");
		struct rtn_audit_entry e = {
		    .type = json_string_value(json_object_get(o, "type")),
		    .actor = json_string_value(json_object_get(o, "actor")),
		    .record = json_string_value(json_object_get(o, "record")),
		    .category = json_string_value(json_object_get(o, "category")),
		    .rule = json_string_value(json_object_get(o, "rule")),
		    .basis = json_string_value(json_object_get(o, "basis")),
		    .job = json_string_value(json_object_get(o, "job")),
		    .detail = json_object_get(o, "detail"),
		};
		r = rtn_audit_append(a, json_is_integer(at) ? json_integer_value(at) : BASE, &e, 0);
		if (r < 0) {
			fprintf(stderr, "audit_tool: stdin:%lu: %s\n", no, strerror(-r));
			rejected++;
		}
		json_decref(o);
	}
	r = rtn_audit_sync(a);
	printf("%llu %s\n", (unsigned long long)rtn_audit_seq(a), rtn_audit_head(a));
	rtn_audit_close(a);
	return r < 0 ? die("sync", r, NULL) : rejected ? 1 : 0;
}

static int canon_main(void)
{
	char line[1 << 16];
	int bad = 0;
	while (fgets(line, sizeof(line), stdin)) {
		json_t *o = json_loads(line, 0, NULL);
		char *c = NULL;
		if (o && rtn_audit_canonical(o, true, &c, NULL) == 0) {
			printf("%s\n", c);
		} else {
			printf("ERROR\n");
			bad = 1;
		}
		free(c);
		json_decref(o);
	}
	return bad;
}

static int print_result(json_t *res)
{
	char *s = json_dumps(res, JSON_SORT_KEYS | JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	int ok = json_is_true(json_object_get(res, "valid"));
	json_decref(res);
	return ok ? 0 : 1;
}

static int query_main(int argc, char **argv)
{
	char err[512] = "";
	struct rtn_audit_filter f = {.since = RTN_TIME_NONE, .until = RTN_TIME_NONE};
	json_t *res;
	for (int i = 1; i < argc; i++) {
		char *v = strchr(argv[i], '=');
		v = v ? v + 1 : NULL;
		if (strncmp(argv[i], "type=", 5) == 0)
			f.type = v;
		else if (strncmp(argv[i], "record=", 7) == 0)
			f.record = v;
		else if (strncmp(argv[i], "subject=", 8) == 0)
			f.subject = v;
		else if (strncmp(argv[i], "category=", 9) == 0)
			f.category = v;
		else if (strncmp(argv[i], "since=", 6) == 0)
			rtn_time_parse_local(rtn_time_format_zone(), v, &f.since);
		else if (strncmp(argv[i], "until=", 6) == 0)
			rtn_time_parse_local(rtn_time_format_zone(), v, &f.until);
		else if (strncmp(argv[i], "limit=", 6) == 0)
			f.limit = strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "last") == 0)
			f.last = true;
	}
	int r = rtn_audit_query((const char *const *)argv, 1, &f, &res, err, sizeof(err));
	if (r < 0)
		return die("query", r, err);
	print_result(res);
	return 0;
}

int main(int argc, char **argv)
{
	char err[512] = "";
	/* The zone of local times read and written (UTC if the tz database lacks it). */
	struct rtn_zone *zone =
	    rtn_zone_open(getenv("AUDIT_TOOL_ZONE") ? getenv("AUDIT_TOOL_ZONE") : "Europe/Oslo");
	rtn_time_set_format_zone(zone ? zone : rtn_zone_utc());
	const char *cmd = argc > 1 ? argv[1] : "";
	if (strcmp(cmd, "append") == 0 && (argc == 4 || argc == 5))
		return append_main(argv[2], strtoul(argv[3], NULL, 10),
		                   argc == 5 ? strtoul(argv[4], NULL, 10) : 100, false);
	if (strcmp(cmd, "bench") == 0 && argc == 5)
		return append_main(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
		                   true);
	if (strcmp(cmd, "jobs") == 0 && argc == 4)
		return jobs_main(argv[2], strtoul(argv[3], NULL, 10));
	if (strcmp(cmd, "appendjson") == 0 && argc == 3)
		return appendjson_main(argv[2]);
	if (strcmp(cmd, "canon") == 0)
		return canon_main();
	if (strcmp(cmd, "rotate") == 0 && argc == 4) {
		struct rtn_audit *a;
		int r = rtn_audit_open(argv[2], BASE, &a, err, sizeof(err));
		if (r < 0)
			return die(argv[2], r, err);
		r = rtn_audit_rotate(a, BASE, argv[3]);
		rtn_audit_close(a);
		return r < 0 ? die("rotate", r, NULL) : 0;
	}
	if (strcmp(cmd, "verify") == 0 && argc >= 3) {
		const char *head = NULL;
		if (argc >= 5 && strcmp(argv[argc - 2], "--head") == 0) {
			head = argv[argc - 1];
			argc -= 2;
		}
		json_t *res;
		int r = rtn_audit_verify((const char *const *)argv + 2, (size_t)argc - 2, head,
		                         &res, err, sizeof(err));
		return r < 0 ? die("verify", r, err) : print_result(res);
	}
	if (strcmp(cmd, "query") == 0 && argc >= 3)
		return query_main(argc - 2, argv + 2);
	fprintf(stderr, "usage: audit_tool append|bench|jobs|appendjson|rotate|canon|verify|query "
	                "... (see the source)\n");
	return 2;
}
