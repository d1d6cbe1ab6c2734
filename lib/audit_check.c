/* audit_check.c - replay the audit log and prove never early, never lost, never missed
 *
 * One pass, line by line: each line is verified (canonical form, hash, chain) like the
 * verifier does it, its type read from the end of the line (in canonical form "type" is
 * the last member), and only the entries the proofs need are parsed. What is kept: per
 * job its last job.sent and whether it closed; per record the schedule of its latest
 * record.put or record.event, which of its actions were sent since, and the last entry
 * that changed its course; the lateness of each job.sent (for the p99).
 */
#include "audit_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_int.h"
#include "util.h"

#define NO_REC   UINT32_MAX
#define MAX_ITEM 4 /* actions in a record's schedule (anonymize, delete) */

/* ---- a string -> index table (open addressing, never shrinks) ---------------------- */

struct table {
	char **keys;
	uint32_t *vals;
	size_t cap, n; /* cap a power of two */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of key: its value in *val and true, or false (then *slot is where it goes). */
static bool table_find(const struct table *t, const char *key, size_t *slot)
{
	size_t i = (size_t)hash_str(key) & (t->cap - 1);
	while (t->keys[i]) {
		if (strcmp(t->keys[i], key) == 0) {
			*slot = i;
			return true;
		}
		i = (i + 1) & (t->cap - 1);
	}
	*slot = i;
	return false;
}

static void table_grow(struct table *t)
{
	struct table b = {.cap = t->cap ? t->cap * 2 : 1024};
	b.keys = rtn_xcalloc(b.cap, sizeof(*b.keys));
	b.vals = rtn_xcalloc(b.cap, sizeof(*b.vals));
	for (size_t i = 0; i < t->cap; i++) {
		size_t s;
		if (!t->keys[i])
			continue;
		table_find(&b, t->keys[i], &s);
		b.keys[s] = t->keys[i];
		b.vals[s] = t->vals[i];
	}
	b.n = t->n;
	free(t->keys);
	free(t->vals);
	*t = b;
}

/* The index of key, or next (added) when it is new; *added says which. */
static uint32_t table_get(struct table *t, const char *key, uint32_t next, bool *added)
{
	size_t s;
	if (t->cap && table_find(t, key, &s)) {
		*added = false;
		return t->vals[s];
	}
	if ((t->n + 1) * 2 > t->cap) {
		table_grow(t);
		table_find(t, key, &s);
	}
	t->keys[s] = rtn_xstrdup(key);
	t->vals[s] = next;
	t->n++;
	*added = true;
	return next;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->vals);
}

/* ---- what is kept ------------------------------------------------------------------ */

enum { ACT_OTHER, ACT_ANONYMIZE, ACT_DELETE };

struct item {
	unsigned char action;
	bool sent, review;
	rtn_time_t due;
};

struct rec {
	uint64_t seq, changed; /* its latest record.put/event; the latest entry changing it */
	unsigned char open;    /* bit per action: a job of it is out */
	unsigned char nitems;
	struct item items[MAX_ITEM];
};

struct job {
	uint64_t seq; /* its last job.sent */
	uint32_t rec;
	unsigned char action;
	bool open, counted; /* counted: a job.sent of it fell in the period */
	bool out;           /* open at the end, and (online) the inventory agrees */
};

struct state {
	const struct rtn_audit_check_opts *o;
	bool has_since, has_until;
	struct table jobs_t, recs_t;
	struct job *jobs;
	struct rec *recs;
	char **rec_ids; /* by index, for the messages */
	size_t njobs, capjobs, nrecs, caprecs;
	int64_t *late;
	size_t nlate, caplate;
	uint64_t global; /* the latest entry changing every record's course */
	json_int_t entries, actions, undated, early, open, lost, missed, waiting, unverifiable;
	json_int_t left_off;
	json_t *problems;
};

static unsigned char action_of(const char *a)
{
	return !a                        ? ACT_OTHER
	       : !strcmp(a, "anonymize") ? ACT_ANONYMIZE
	       : !strcmp(a, "delete")    ? ACT_DELETE
	                                 : ACT_OTHER;
}

static const char *action_name(unsigned char a)
{
	return a == ACT_ANONYMIZE ? "anonymize" : a == ACT_DELETE ? "delete" : "?";
}

static bool in_period(const struct state *st, rtn_time_t t)
{
	return (!st->has_since || t >= st->o->since) && (!st->has_until || t < st->o->until);
}

static void problem(struct state *st, const char *kind, uint64_t seq, const char *job,
                    const char *record, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void problem(struct state *st, const char *kind, uint64_t seq, const char *job,
                    const char *record, const char *fmt, ...)
{
	if (json_array_size(st->problems) >= RTN_AUDIT_CHECK_PROBLEMS) {
		st->left_off++;
		return;
	}
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *p = json_pack("{s:s,s:I,s:s?,s:s?,s:s}", "kind", kind, "seq", (json_int_t)seq,
	                      "job", job, "record", record, "message", msg);
	if (!p) /* a name that is not UTF-8 cannot be in a valid entry; be safe anyway */
		p = json_pack("{s:s,s:I,s:s}", "kind", kind, "seq", (json_int_t)seq, "message",
		              msg);
	json_array_append_new(st->problems, p);
}

static uint32_t rec_index(struct state *st, const char *id)
{
	bool added;
	uint32_t i = table_get(&st->recs_t, id, (uint32_t)st->nrecs, &added);
	if (added) {
		RTN_GROW(st->recs, st->nrecs + 1, st->caprecs);
		size_t cap = st->caprecs;
		st->rec_ids = rtn_xreallocarray(st->rec_ids, cap, sizeof(*st->rec_ids));
		st->recs[st->nrecs] = (struct rec){0};
		st->rec_ids[st->nrecs] = rtn_xstrdup(id);
		st->nrecs++;
	}
	return i;
}

static bool time_of(const json_t *o, const char *key, rtn_time_t *t)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && rtn_time_parse(s, t) == 0;
}

/* ---- the entries --------------------------------------------------------------------- */

/* A record.put or record.event: its schedule replaces the record's. */
static void on_record(struct state *st, struct rec *r, uint64_t seq, const json_t *detail)
{
	const json_t *sched = json_object_get(detail, "schedule");
	r->seq = seq;
	r->changed = 0;
	r->nitems = 0;
	size_t i;
	const json_t *it;
	json_array_foreach(sched, i, it)
	{
		struct item x = {.action =
		                     action_of(json_string_value(json_object_get(it, "action"))),
		                 .review = json_is_true(json_object_get(it, "review"))};
		if (r->nitems == MAX_ITEM || x.action == ACT_OTHER || !time_of(it, "due", &x.due))
			continue;
		x.sent = (r->open >> x.action) & 1; /* its job is already out */
		r->items[r->nitems++] = x;
	}
	(void)st;
}

static void on_sent(struct state *st, const json_t *e, uint64_t seq, const char *jid,
                    const char *record)
{
	const json_t *d = json_object_get(e, "detail");
	unsigned char action = action_of(json_string_value(json_object_get(d, "action")));
	bool added;
	uint32_t ji = table_get(&st->jobs_t, jid, (uint32_t)st->njobs, &added);
	if (added) {
		RTN_GROW(st->jobs, st->njobs + 1, st->capjobs);
		st->jobs[st->njobs++] = (struct job){.rec = NO_REC};
	}
	struct job *j = &st->jobs[ji];
	j->seq = seq;
	j->open = true;
	j->action = action;
	if (record) {
		j->rec = rec_index(st, record);
		struct rec *r = &st->recs[j->rec];
		r->open |= (unsigned char)(1u << action);
		for (unsigned k = 0; k < r->nitems; k++)
			if (r->items[k].action == action)
				r->items[k].sent = true;
	}
	rtn_time_t t, due;
	if (!time_of(e, "time", &t) || !in_period(st, t))
		return;
	st->actions++;
	j->counted = true;
	if (!time_of(d, "due", &due)) {
		st->undated++;
		return;
	}
	if (t < due) {
		st->early++;
		problem(st, "early", seq, jid, record, "sent %s, %lld s before it was due (%s)",
		        json_string_value(json_object_get(e, "time")), (long long)(due - t),
		        json_string_value(json_object_get(d, "due")));
		return;
	}
	RTN_GROW(st->late, st->nlate + 1, st->caplate);
	st->late[st->nlate++] = t - due;
}

static void on_closed(struct state *st, const char *jid, const char *record)
{
	bool added;
	uint32_t ji = table_get(&st->jobs_t, jid, (uint32_t)st->njobs, &added);
	if (added) {
		RTN_GROW(st->jobs, st->njobs + 1, st->capjobs);
		st->jobs[st->njobs++] = (struct job){.rec = NO_REC};
	}
	struct job *j = &st->jobs[ji];
	j->open = false;
	if (j->rec == NO_REC && record)
		j->rec = rec_index(st, record);
	if (j->rec != NO_REC)
		st->recs[j->rec].open &= (unsigned char)~(1u << j->action);
}

static bool prefix(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && memcmp(s, p, pl) == 0;
}

/* The type of a canonical line, from its end: ..."type":"T"} (false if not so). */
static bool line_type(const char *s, size_t n, const char **type, size_t *tl)
{
	static const char key[] = "\"type\":\"";
	if (n < sizeof(key) + 2 || s[n - 1] != '}' || s[n - 2] != '"')
		return false;
	size_t end = n - 2, i = end;
	while (i > 0 && s[i - 1] != '"')
		i--;
	if (i < sizeof(key) - 1 || memcmp(s + i - (sizeof(key) - 1), key, sizeof(key) - 1) != 0)
		return false;
	*type = s + i;
	*tl = end - i;
	return true;
}

/* One verified line. */
static void replay(struct state *st, const char *s, size_t n, uint64_t seq)
{
	const char *t;
	size_t tl;
	bool known = line_type(s, n, &t, &tl);
	if (known && !prefix(t, tl, "job.") && !prefix(t, tl, "record.") &&
	    !prefix(t, tl, "hold.") && !prefix(t, tl, "review.") && !prefix(t, tl, "erase.") &&
	    !prefix(t, tl, "rules.") && !prefix(t, tl, "schedule.") && !prefix(t, tl, "guard."))
		return; /* daemon.*, audit.*, request.forbidden: nothing to prove */
	json_t *e = json_loadb(s, n, 0, NULL);
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *record = json_string_value(json_object_get(e, "record"));
	const char *jid = json_string_value(json_object_get(e, "job"));
	if (!type) {
		json_decref(e);
		return;
	}
	if (!strcmp(type, "job.sent") && jid) {
		on_sent(st, e, seq, jid, record);
	} else if ((!strcmp(type, "job.done") || !strcmp(type, "job.dead") ||
	            !strcmp(type, "job.cancelled")) &&
	           jid) {
		on_closed(st, jid, record);
		if (!strcmp(type, "job.cancelled") && record) {
			uint32_t ri = rec_index(st, record);
			st->recs[ri].changed = seq;
		}
	} else if (!strncmp(type, "job.", 4)) {
		/* job.failed: the job stays out */
	} else if (record && (!strcmp(type, "record.put") || !strcmp(type, "record.event"))) {
		uint32_t ri = rec_index(st, record);
		on_record(st, &st->recs[ri], seq, json_object_get(e, "detail"));
	} else if (record) {
		uint32_t ri = rec_index(st, record);
		st->recs[ri].changed = seq; /* record.set, hold, review, ... */
	} else if (strncmp(type, "record.", 7) != 0) {
		st->global =
		    seq; /* rules, schedule.changed, guard, holds and erasures by subject */
	}
	json_decref(e);
}

/* ---- the end: open jobs, owed actions ---------------------------------------------- */

static int finish_jobs(struct state *st, const char **jobkeys, char *err, size_t errlen)
{
	const struct rtn_audit_check_opts *o = st->o;
	for (size_t i = 0; i < st->njobs; i++) {
		struct job *j = &st->jobs[i];
		if (!j->counted || !j->open)
			continue;
		char state[32] = "";
		if (!o->job_state) {
			st->open++;
			j->out = true;
			continue;
		}
		int r = o->job_state(o->ctx, jobkeys[i], state, sizeof(state));
		if (r < 0 && r != -ENOENT)
			return rtn_errf(err, errlen, r,
			                "the inventory cannot say what became of %s", jobkeys[i]);
		if (r == 0 && (!strcmp(state, "sent") || !strcmp(state, "retry"))) {
			st->open++;
			j->out = true;
			continue;
		}
		st->lost++;
		problem(st, "lost", j->seq, jobkeys[i],
		        j->rec == NO_REC ? NULL : st->rec_ids[j->rec],
		        "sent (seq %llu) and never done, dead or cancelled; the inventory %s%s",
		        (unsigned long long)j->seq, r == 0 ? "shows it " : "does not know it",
		        r == 0 ? state : "");
	}
	return 0;
}

static int finish_records(struct state *st, char *err, size_t errlen)
{
	const struct rtn_audit_check_opts *o = st->o;
	rtn_time_t grace = o->grace ? o->grace : RTN_AUDIT_CHECK_GRACE;
	for (size_t i = 0; i < st->nrecs; i++) {
		struct rec *r = &st->recs[i];
		for (unsigned k = 0; k < r->nitems; k++) {
			struct item *it = &r->items[k];
			if (it->sent || !in_period(st, it->due) || it->due > o->now - grace)
				continue;
			bool changed = r->changed > r->seq || st->global > r->seq;
			int v = RTN_CHECK_REC_MISSED;
			if (o->record_state) {
				v = o->record_state(o->ctx, st->rec_ids[i], o->now, grace);
				if (v < 0)
					return rtn_errf(
					    err, errlen, v,
					    "the inventory cannot say what became of %s",
					    st->rec_ids[i]);
			} else if (changed || it->review) {
				st->unverifiable++;
				continue;
			}
			if (v == RTN_CHECK_REC_WAITING || (v == RTN_CHECK_REC_OK && changed)) {
				st->waiting += v == RTN_CHECK_REC_WAITING;
				continue;
			}
			st->missed++;
			char due[RTN_TIME_FMT_LEN];
			rtn_time_format(it->due, due, sizeof(due));
			problem(st, "missed", r->seq, NULL, st->rec_ids[i],
			        "%s due %s (scheduled by seq %llu) was never sent%s",
			        action_name(it->action), due, (unsigned long long)r->seq,
			        changed ? "; the inventory shows it overdue without a job" : "");
		}
	}
	return 0;
}

/* The jobs still out, named after the failures (a job whose job.done entry was removed
 * looks like this offline). */
static void name_open(struct state *st, const char **jobkeys)
{
	for (size_t i = 0; i < st->njobs; i++) {
		struct job *j = &st->jobs[i];
		if (j->out)
			problem(st, "open", j->seq, jobkeys[i],
			        j->rec == NO_REC ? NULL : st->rec_ids[j->rec],
			        "sent (seq %llu), not done, dead or cancelled yet%s",
			        (unsigned long long)j->seq,
			        st->o->job_state ? "; the inventory shows it out"
			                         : " (offline: the inventory cannot tell whether "
			                           "it is still out)");
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static json_t *time_or_null(rtn_time_t t)
{
	char buf[RTN_TIME_FMT_LEN];
	if (t == RTN_TIME_NONE || t == 0)
		return json_null();
	rtn_time_format(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *summary(struct state *st, const struct rtn_audit_chain *c, json_t *bad)
{
	if (st->nlate)
		qsort(st->late, st->nlate, sizeof(*st->late), cmp_i64);
	int64_t max = st->nlate ? st->late[st->nlate - 1] : 0;
	size_t at = st->nlate ? (st->nlate * 99 + 99) / 100 - 1 : 0; /* ceil(0.99 n) - 1 */
	int64_t p99 = st->nlate ? st->late[at < st->nlate ? at : st->nlate - 1] : 0;
	bool ok = !bad && st->early == 0 && st->lost == 0 && st->missed == 0;
	json_t *res = json_pack(
	    "{s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o,s:I,s:b,s:I,s:s}",
	    "since", time_or_null(st->o->since), "until", time_or_null(st->o->until), "entries",
	    st->entries, "actions", st->actions, "undated", st->undated, "early", st->early,
	    "late_max", (json_int_t)max, "late_p99", (json_int_t)p99, "open", st->open, "lost",
	    st->lost, "missed", st->missed, "waiting", st->waiting, "unverifiable",
	    st->unverifiable, "valid", !bad, "problems", json_incref(st->problems),
	    "problems_left_off", st->left_off, "ok", ok, "last_seq", (json_int_t)c->seq, "head",
	    c->head);
	if (bad)
		json_object_set_new(res, "first_bad", bad);
	return res;
}

/* ---- the pass ------------------------------------------------------------------------ */

/* Verify and replay one file; *bad set at the first bad line. 0 or -errno. */
static int check_file(struct state *st, struct rtn_audit_chain *c, const char *path, json_t **bad,
                      char *err, size_t errlen)
{
	struct rtn_audit_lines l = {.fd = -1};
	int r = rtn_audit_open_lines(&l, path, err, errlen);
	while (r == 0 && !*bad) {
		const char *s;
		size_t len;
		char why[300] = "";
		struct rtn_audit_line f = {0};
		int k = rtn_audit_next_line(&l, &s, &len);
		if (k == LINE_EOF)
			break;
		if (k < 0) {
			r = rtn_errf(err, errlen, k, "%s: %s", path, strerror(-k));
			break;
		}
		if (k == LINE_TORN)
			snprintf(why, sizeof(why), "torn last line");
		else if (k == LINE_LONG)
			snprintf(why, sizeof(why), "line longer than %d bytes", RTN_AUDIT_LINE_MAX);
		else if (rtn_audit_check_line(s, len, &f, NULL, why, sizeof(why)) == 0) {
			json_t *e = NULL;
			if (c->entries == 0 && f.rotated)
				rtn_audit_check_line(s, len, &f, &e, why, sizeof(why));
			rtn_audit_link(c, &f, e, why, sizeof(why));
			json_decref(e);
		}
		if (why[0]) {
			*bad = json_pack("{s:s,s:I,s:s}", "file", path, "line", (json_int_t)l.no,
			                 "reason", why);
			if (*bad && f.seq)
				json_object_set_new(*bad, "seq", json_integer((json_int_t)f.seq));
			break;
		}
		st->entries++;
		replay(st, s, len, f.seq);
	}
	if (l.fd >= 0)
		close(l.fd);
	free(l.p);
	return r;
}

int rtn_audit_check(const char *const *paths, size_t n, const struct rtn_audit_check_opts *o,
                    json_t **result, char *err, size_t errlen)
{
	struct state st = {.o = o,
	                   .has_since = o->since != RTN_TIME_NONE && o->since != 0,
	                   .has_until = o->until != RTN_TIME_NONE && o->until != 0,
	                   .problems = json_array()};
	struct rtn_audit_chain c = {0};
	memcpy(c.head, RTN_AUDIT_GENESIS, sizeof(c.head));
	json_t *bad = NULL;
	int r = 0;
	*result = NULL;
	for (size_t i = 0; i < n && r == 0 && !bad; i++)
		r = check_file(&st, &c, paths[i], &bad, err, errlen);
	json_decref(c.continues);
	const char **jobkeys = rtn_xcalloc(st.njobs + 1, sizeof(*jobkeys));
	for (size_t i = 0; i < st.jobs_t.cap; i++)
		if (st.jobs_t.keys[i])
			jobkeys[st.jobs_t.vals[i]] = st.jobs_t.keys[i];
	if (r == 0)
		r = finish_jobs(&st, jobkeys, err, errlen);
	if (r == 0)
		r = finish_records(&st, err, errlen);
	if (r == 0) {
		name_open(&st, jobkeys);
		*result = summary(&st, &c, bad);
	} else
		json_decref(bad);
	free(jobkeys);
	table_free(&st.jobs_t);
	table_free(&st.recs_t);
	for (size_t i = 0; i < st.nrecs; i++)
		free(st.rec_ids[i]);
	free(st.rec_ids);
	free(st.recs);
	free(st.jobs);
	free(st.late);
	json_decref(st.problems);
	return r;
}
