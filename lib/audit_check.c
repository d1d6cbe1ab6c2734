/* audit_check.c - replay the audit log and prove never early, never lost, never missed
 *
 * One pass, line by line: each line is verified (canonical form, hash, chain) like the
 * verifier does it, its type read from the end of the line (in canonical form "type" is
 * the last member), and only the entries the proofs need are parsed. What is kept: per
 * job its last job.sent and whether it closed; per record the schedule of its latest
 * record.put or record.event, which of its actions were sent since, and the last entry
 * that changed its course (the first after it: a change after an action was owed does
 * not excuse it); the lateness of each job.sent (for the p99).
 */
#include "audit_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "util.h"

#define NO_REC   UINT32_MAX
#define MAX_ITEM 4 /* actions in a record's schedule (anonymize, delete) */

/* ---- a string -> index table (open addressing, never shrinks) ---------------------- */

struct slot {
	char *key; /* NULL: free */
	uint64_t hash;
	uint32_t val;
};

struct table {
	struct slot *s;
	size_t cap, n; /* cap a power of two */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of key (of hash h): true if it holds key, false if it is where key goes. */
static bool table_find(const struct table *t, const char *key, uint64_t h, size_t *slot)
{
	size_t i = (size_t)h & (t->cap - 1);
	while (t->s[i].key) {
		if (t->s[i].hash == h && strcmp(t->s[i].key, key) == 0) {
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
	struct table b = {.cap = t->cap ? t->cap * 2 : 1024, .n = t->n};
	b.s = rtn_xcalloc(b.cap, sizeof(*b.s));
	for (size_t i = 0; i < t->cap; i++) {
		size_t at = (size_t)t->s[i].hash & (b.cap - 1);
		if (!t->s[i].key)
			continue;
		while (b.s[at].key)
			at = (at + 1) & (b.cap - 1);
		b.s[at] = t->s[i];
	}
	free(t->s);
	*t = b;
}

/* The index of key, or next (added) when it is new; *added says which. */
static uint32_t table_get(struct table *t, const char *key, uint32_t next, bool *added)
{
	size_t at = 0;
	uint64_t h = hash_str(key);
	if (t->cap && table_find(t, key, h, &at)) {
		*added = false;
		return t->s[at].val;
	}
	if ((t->n + 1) * 2 > t->cap) {
		table_grow(t);
		table_find(t, key, h, &at);
	}
	t->s[at] = (struct slot){rtn_xstrdup(key), h, next};
	t->n++;
	*added = true;
	return next;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->s[i].key);
	free(t->s);
}

/* ---- what is kept ------------------------------------------------------------------ */

enum { ACT_OTHER, ACT_ANONYMIZE, ACT_DELETE };

struct item {
	unsigned char action;
	bool sent, review;
	rtn_time_t due;
};

struct rec {
	uint64_t seq;       /* its latest record.put/event */
	rtn_time_t changed; /* the time of the first entry changing its course after it */
	unsigned char open; /* bit per action: a job of it is out */
	unsigned char nitems;
	struct item items[MAX_ITEM];
};

struct job {
	uint64_t seq; /* its last job.sent */
	uint32_t rec;
	unsigned char action;
	bool open, counted; /* counted: a job.sent of it fell in the period */
	bool out;           /* open at the end, and (online) the inventory agrees */
	bool notice;        /* a notice: it announces an action, its end changes no course */
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
	struct mark {
		uint64_t seq;
		rtn_time_t time;
	} * global; /* the entries changing every record's course, in log order */
	size_t nglobal, capglobal;
	json_int_t entries, actions, undated, early, open, lost, missed, waiting, unverifiable;
	json_int_t left_off;
	json_t *problems;
	uint64_t last_seq; /* of the last entry verified */
};

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

static char *unraw(const char *raw);

static uint32_t rec_index(struct state *st, const char *id)
{
	bool added;
	uint32_t i = table_get(&st->recs_t, id, (uint32_t)st->nrecs, &added);
	if (added) {
		size_t cap = st->caprecs;
		RTN_GROW(st->recs, st->nrecs + 1, st->caprecs);
		if (st->caprecs != cap || !st->rec_ids)
			st->rec_ids =
			    rtn_xreallocarray(st->rec_ids, st->caprecs, sizeof(*st->rec_ids));
		st->recs[st->nrecs] = (struct rec){.changed = RTN_TIME_NONE};
		st->rec_ids[st->nrecs] = unraw(id); /* decoded, for messages and the inventory */
		st->nrecs++;
	}
	return i;
}

/* ---- reading a canonical line without a tree ---------------------------------------- */

/* A verified line is in canonical form: no whitespace, keys sorted, strings with only \"
 * \\ and \-escapes inside. A span is a value's text; a string's without its quotes. */
struct span {
	const char *p;
	size_t n;
};

/* The closing quote of the string whose opening quote is at p, or NULL. */
static const char *string_end(const char *p, const char *end)
{
	const char *start = p + 1;
	for (const char *q = start; q < end;) {
		const char *c = memchr(q, '"', (size_t)(end - q));
		if (!c)
			return NULL;
		size_t bs = 0;
		while (c - bs > start && c[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return c;
		q = c + 1;
	}
	return NULL;
}

/* The end of the value at p (before end), or NULL. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	for (; p < end; p++) {
		char c = *p;
		if (c == '"') {
			if (!(p = string_end(p, end)))
				return NULL;
			if (depth == 0)
				return p + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return p; /* the end of a scalar at the end of its container */
			if (depth == 0)
				return p + 1;
		} else if (depth == 0 && c == ',') {
			return p;
		}
	}
	return depth == 0 ? p : NULL;
}

/* The members keys[0..n-1] (n <= 8) of the object o (its text, braces included), in one pass:
 * v[i] the value of keys[i] (a string's without quotes; n 0 when absent, p NULL). */
static void members(struct span o, const char *const *keys, struct span *v, size_t n)
{
	const char *p = o.p, *end = o.p + o.n;
	size_t klen[8];
	for (size_t i = 0; i < n; i++) {
		v[i] = (struct span){NULL, 0};
		klen[i] = strlen(keys[i]);
	}
	if (o.n < 2 || *p != '{')
		return;
	for (p++; p < end && *p == '"';) {
		const char *k = p + 1,
		           *ke = memchr(k, '"', (size_t)(end - k)); /* keys: no quotes */
		if (!ke || ke + 1 >= end || ke[1] != ':')
			return;
		const char *vs = ke + 2, *ve = skip_value(vs, end);
		if (!ve)
			return;
		size_t kl = (size_t)(ke - k);
		for (size_t i = 0; i < n; i++)
			if (klen[i] == kl && memcmp(k, keys[i], kl) == 0) {
				bool str = *vs == '"';
				v[i] = (struct span){vs + str, (size_t)(ve - vs) - 2 * str};
			}
		p = ve < end && *ve == ',' ? ve + 1 : end;
	}
}

static bool member(struct span o, const char *key, struct span *v)
{
	members(o, &key, v, 1);
	return v->p != NULL;
}

static bool is(struct span v, const char *s)
{
	size_t n = strlen(s);
	return v.n == n && memcmp(v.p, s, n) == 0;
}

static bool starts(struct span v, const char *s)
{
	size_t n = strlen(s);
	return v.n >= n && memcmp(v.p, s, n) == 0;
}

/* v as a NUL-terminated string in buf (false if it does not fit). */
static bool cstr(struct span v, char *buf, size_t len)
{
	if (v.n >= len)
		return false;
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	return true;
}

static bool span_time(struct span v, rtn_time_t *t)
{
	char buf[64];
	return v.p && cstr(v, buf, sizeof(buf)) && rtn_time_parse(buf, t) == 0;
}

/* The text of a string as it is written in a line (escapes and all) decoded: allocated. */
static char *unraw(const char *raw)
{
	if (!raw)
		return NULL;
	if (!strchr(raw, '\\'))
		return rtn_xstrdup(raw);
	char *q = rtn_xasprintf("\"%s\"", raw);
	json_t *v = json_loads(q, JSON_DECODE_ANY, NULL);
	char *out = rtn_xstrdup(json_string_value(v) ? json_string_value(v) : raw);
	json_decref(v);
	free(q);
	return out;
}

/* ---- the entries --------------------------------------------------------------------- */

static unsigned char span_action(struct span a)
{
	return is(a, "anonymize") ? ACT_ANONYMIZE : is(a, "delete") ? ACT_DELETE : ACT_OTHER;
}

/* A record.put or record.event: its schedule replaces the record's. */
static void on_record(struct rec *r, uint64_t seq, struct span detail)
{
	static const char *const keys[] = {"action", "due", "review"};
	struct span sched;
	r->seq = seq;
	r->changed = RTN_TIME_NONE;
	r->nitems = 0;
	if (!member(detail, "schedule", &sched) || sched.n < 2 || sched.p[0] != '[')
		return;
	const char *p = sched.p + 1, *end = sched.p + sched.n - 1;
	while (p < end && *p == '{') {
		const char *e = skip_value(p, end);
		if (!e)
			return;
		struct span v[3];
		members((struct span){p, (size_t)(e - p)}, keys, v, 3);
		struct item x = {.action = span_action(v[0]), .review = is(v[2], "true")};
		if (r->nitems < MAX_ITEM && x.action != ACT_OTHER && span_time(v[1], &x.due)) {
			x.sent = (r->open >> x.action) & 1; /* its job is already out */
			r->items[r->nitems++] = x;
		}
		p = e < end && *e == ',' ? e + 1 : end;
	}
}

static uint32_t job_index(struct state *st, const char *jid)
{
	bool added;
	uint32_t ji = table_get(&st->jobs_t, jid, (uint32_t)st->njobs, &added);
	if (added) {
		RTN_GROW(st->jobs, st->njobs + 1, st->capjobs);
		st->jobs[st->njobs++] = (struct job){.rec = NO_REC};
	}
	return ji;
}

static void on_sent(struct state *st, struct span time, struct span detail, uint64_t seq,
                    const char *jid, const char *record)
{
	static const char *const keys[] = {"action", "due"};
	struct span d[2];
	members(detail, keys, d, 2);
	unsigned char action = span_action(d[0]);
	bool notice = is(d[0], "notice"); /* a notice announces an action; it is none */
	uint32_t ji = job_index(st, jid);
	struct job *j = &st->jobs[ji];
	j->seq = seq;
	j->open = true;
	j->action = action;
	j->notice = notice;
	if (record) {
		j->rec = rec_index(st, record);
		struct rec *r = &st->recs[j->rec];
		r->open |= (unsigned char)(1u << action);
		for (unsigned k = 0; k < r->nitems; k++)
			if (r->items[k].action == action)
				r->items[k].sent = true;
	}
	rtn_time_t t, due;
	if (!span_time(time, &t) || !in_period(st, t))
		return;
	bool dated = span_time(d[1], &due), first = !j->counted;
	if (first && !notice) { /* an action: its first send in the period (a resend is later
		                 * still) */
		st->actions++;
		j->counted = true;
		if (!dated)
			st->undated++;
		else if (t >= due) {
			RTN_GROW(st->late, st->nlate + 1, st->caplate);
			st->late[st->nlate++] = t - due;
		}
	}
	if (dated && t < due) { /* any send before the due time, a resend too */
		char ts[RTN_TIME_FMT_LEN], ds[RTN_TIME_FMT_LEN];
		char *job = unraw(jid), *rec = unraw(record);
		rtn_time_format(t, ts, sizeof(ts));
		rtn_time_format(due, ds, sizeof(ds));
		st->early++;
		problem(st, "early", seq, job, rec, "sent %s, %lld s before it was due (%s)", ts,
		        (long long)(due - t), ds);
		free(job);
		free(rec);
	}
}

static void on_closed(struct state *st, const char *jid, const char *record)
{
	uint32_t ji = job_index(st, jid);
	struct job *j = &st->jobs[ji];
	j->open = false;
	if (j->rec == NO_REC && record)
		j->rec = rec_index(st, record);
	if (j->rec != NO_REC)
		st->recs[j->rec].open &= (unsigned char)~(1u << j->action);
}

/* The type of a canonical line, from its end: ..."type":"T"} ("type" sorts last of the
 * members the daemon writes); false if the line does not end so. */
static bool line_type(const char *s, size_t n, struct span *type)
{
	static const char key[] = "\"type\":\"";
	if (n < sizeof(key) + 2 || s[n - 1] != '}' || s[n - 2] != '"')
		return false;
	size_t end = n - 2, i = end;
	while (i > 0 && s[i - 1] != '"')
		i--;
	if (i < sizeof(key) - 1 || memcmp(s + i - (sizeof(key) - 1), key, sizeof(key) - 1) != 0)
		return false;
	*type = (struct span){s + i, end - i};
	return true;
}

static bool worth_reading(struct span type)
{
	return starts(type, "job.") || starts(type, "record.") || starts(type, "hold.") ||
	       starts(type, "review.") || starts(type, "erase.") || starts(type, "rules.") ||
	       starts(type, "schedule.") || starts(type, "guard.");
}

/* An entry about record changed its course at time (a span of the entry's "time"). */
static void course_changed(struct state *st, const char *record, struct span time)
{
	rtn_time_t t;
	uint32_t ri = rec_index(st, record);
	if (st->recs[ri].changed == RTN_TIME_NONE && span_time(time, &t))
		st->recs[ri].changed = t;
}

/* One verified line. */
static void replay(struct state *st, const char *s, size_t n, uint64_t seq)
{
	enum { TYPE, RECORD, JOB, DETAIL, TIME, NKEYS };
	static const char *const keys[] = {"type", "record", "job", "detail", "time"};
	struct span v[NKEYS], type;
	char record[1024], jid[1024];
	if (line_type(s, n, &type) && !worth_reading(type))
		return; /* daemon.*, audit.*, request.forbidden: nothing to prove */
	members((struct span){s, n}, keys, v, NKEYS);
	type = v[TYPE];
	if (!type.p || !worth_reading(type))
		return;
	const char *rec = v[RECORD].p && cstr(v[RECORD], record, sizeof(record)) ? record : NULL;
	bool has_job = v[JOB].p && cstr(v[JOB], jid, sizeof(jid));
	struct span detail = v[DETAIL].p ? v[DETAIL] : (struct span){"", 0};
	if (is(type, "job.sent") && has_job) {
		on_sent(st, v[TIME], detail, seq, jid, rec);
	} else if ((is(type, "job.done") || is(type, "job.dead") || is(type, "job.cancelled")) &&
	           has_job) {
		on_closed(st, jid, rec);
		if (is(type, "job.cancelled") && rec && !st->jobs[job_index(st, jid)].notice)
			course_changed(st, rec, v[TIME]);
	} else if (starts(type, "job.")) {
		/* job.failed: the job stays out */
	} else if (rec && (is(type, "record.put") || is(type, "record.event"))) {
		uint32_t ri = rec_index(st, rec);
		on_record(&st->recs[ri], seq, detail);
	} else if (rec) {
		course_changed(st, rec, v[TIME]); /* record.set, hold, review, ... */
	} else if (!starts(type, "record.")) {
		/* rules, schedule.changed, guard, holds and erasures by subject */
		rtn_time_t t;
		if (span_time(v[TIME], &t)) {
			RTN_GROW(st->global, st->nglobal + 1, st->capglobal);
			st->global[st->nglobal++] = (struct mark){seq, t};
		}
	}
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

/* The time of the first entry after r's latest record entry that changed its course, or
 * RTN_TIME_NONE. */
static rtn_time_t first_change(const struct state *st, const struct rec *r)
{
	size_t lo = 0, hi = st->nglobal; /* the first global mark after r->seq */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->global[mid].seq <= r->seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	rtn_time_t g = lo < st->nglobal ? st->global[lo].time : RTN_TIME_NONE;
	if (r->changed == RTN_TIME_NONE)
		return g;
	return g == RTN_TIME_NONE || r->changed < g ? r->changed : g;
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
			rtn_time_t first = first_change(st, r);
			bool changed = first != RTN_TIME_NONE && first < it->due + grace;
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

/* The reply, with the verifier's verdict v on the chain of the files read. */
static json_t *summary(struct state *st, const json_t *v)
{
	json_t *bad = json_object_get(v, "first_bad");
	const char *head = json_string_value(json_object_get(v, "head"));
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
	    "problems_left_off", st->left_off, "ok", ok, "last_seq", (json_int_t)st->last_seq,
	    "head", head ? head : RTN_AUDIT_GENESIS);
	if (bad)
		json_object_set(res, "first_bad", bad);
	return res;
}

/* ---- the pass ------------------------------------------------------------------------ */

/* One verified line: replayed. */
static void each_line(void *ctx, const char *s, size_t len, const struct rtn_audit_line *f)
{
	struct state *st = ctx;
	st->entries++;
	st->last_seq = f->seq;
	replay(st, s, len, f->seq);
}

int rtn_audit_check(const char *const *paths, size_t n, const struct rtn_audit_check_opts *o,
                    json_t **result, char *err, size_t errlen)
{
	struct state st = {.o = o,
	                   .has_since = o->since != RTN_TIME_NONE && o->since != 0,
	                   .has_until = o->until != RTN_TIME_NONE && o->until != 0,
	                   .problems = json_array()};
	json_t *verdict = NULL;
	*result = NULL;
	int r =
	    n ? rtn_audit_verify_each(paths, n, NULL, each_line, &st, &verdict, err, errlen) : 0;
	/* the names of the jobs still open, decoded (the table holds them as written) */
	const char **jobkeys = rtn_xcalloc(st.njobs + 1, sizeof(*jobkeys));
	for (size_t i = 0; i < st.jobs_t.cap; i++) {
		const struct slot *sl = &st.jobs_t.s[i];
		struct job *j = sl->key ? &st.jobs[sl->val] : NULL;
		if (j && j->counted && j->open)
			jobkeys[sl->val] = unraw(sl->key);
	}
	if (r == 0)
		r = finish_jobs(&st, jobkeys, err, errlen);
	if (r == 0)
		r = finish_records(&st, err, errlen);
	if (r == 0) {
		name_open(&st, jobkeys);
		*result = summary(&st, verdict);
	}
	json_decref(verdict);
	for (size_t i = 0; i < st.njobs; i++)
		free((char *)jobkeys[i]);
	free(jobkeys);
	table_free(&st.jobs_t);
	table_free(&st.recs_t);
	for (size_t i = 0; i < st.nrecs; i++)
		free(st.rec_ids[i]);
	free(st.rec_ids);
	free(st.recs);
	free(st.jobs);
	free(st.late);
	free(st.global);
	json_decref(st.problems);
	return r;
}
