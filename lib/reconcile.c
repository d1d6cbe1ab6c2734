/* reconcile.c - what a backend's scan says it holds, reconciled with the inventory */
#include "reconcile.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "jsonw.h"
#include "utf8.h"
#include "util.h"

#define LEFT_BATCH 1000

struct rtn_scan {
	struct rtn_engine *e;
	char id[RTN_SCAN_ID_MAX];
	char actor[RTN_SCAN_ID_MAX + 8]; /* "scan:S-..." */
	char *backend;
	long guard;
	rtn_time_t started;
	struct rtn_scan_stats st;
	int64_t *seen; /* the row ids the scan reported, in the order seen */
	size_t nseen, cap;
	bool failed; /* a page was not stored: the scan can only fail */
};

const char *rtn_scan_id(const struct rtn_scan *s)
{
	return s->id;
}

const char *rtn_scan_actor(const struct rtn_scan *s)
{
	return s->actor;
}

const struct rtn_scan_stats *rtn_scan_stats(const struct rtn_scan *s)
{
	return &s->st;
}

static int entry(struct rtn_engine *e, const char *type, const char *actor, const char *record,
                 const char *category, json_t *detail)
{
	struct rtn_audit_entry x = {
	    .type = type, .actor = actor, .record = record, .category = category, .detail = detail};
	int r = detail ? rtn_engine_audit(e, &x) : -EIO;
	json_decref(detail);
	return r;
}

static char *meta_key(const char *backend)
{
	size_t n = strlen(backend) + 6;
	char *k = rtn_xcalloc(1, n);
	snprintf(k, n, "scan:%s", backend);
	return k;
}

int rtn_scan_begin(struct rtn_engine *e, const char *backend, const char *by, long guard,
                   rtn_time_t now, struct rtn_scan **out)
{
	*out = NULL;
	if (rtn_engine_begin(e) < 0)
		return -EIO;
	char *v = rtn_inv_meta_get(e->inv, "scan_seq");
	long long seq = v ? atoll(v) + 1 : 1;
	free(v);
	char num[24];
	snprintf(num, sizeof(num), "%lld", seq);
	struct rtn_scan *s = rtn_xcalloc(1, sizeof(*s));
	s->e = e;
	snprintf(s->id, sizeof(s->id), "S-%lld", seq);
	snprintf(s->actor, sizeof(s->actor), "scan:%s", s->id);
	s->backend = rtn_xstrdup(backend);
	s->guard = guard;
	s->started = now;
	int r = rtn_inv_meta_set(e->inv, "scan_seq", num) < 0 ? -EIO : 0;
	if (r == 0)
		r = entry(e, "scan.started", by, NULL, NULL,
		          json_pack("{s:s, s:s}", "scan", s->id, "backend", backend));
	if (rtn_engine_end(e, r) < 0) {
		rtn_scan_free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void rtn_scan_free(struct rtn_scan *s)
{
	if (!s)
		return;
	free(s->backend);
	free(s->seen);
	free(s);
}

/* The content hash's input: every value as a type letter, then what it holds, strings and
 * containers with their length first, so that no two trees write the same bytes. */
static void tree_put(struct rtn_jw *b, char type, uint64_t n, const char *s)
{
	char head[1 + sizeof(n)];
	head[0] = type;
	memcpy(head + 1, &n, sizeof(n));
	rtn_jw_put(b, head, sizeof(head));
	if (s)
		rtn_jw_put(b, s, (size_t)n);
}

static void tree_bytes(struct rtn_jw *b, const json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		tree_put(b, 'o', json_object_size(v), NULL);
		json_object_foreach((json_t *)v, k, m)
		{
			tree_put(b, 'k', strlen(k), k);
			tree_bytes(b, m);
		}
		break;
	case JSON_ARRAY:
		tree_put(b, 'a', json_array_size(v), NULL);
		json_array_foreach(v, i, m) tree_bytes(b, m);
		break;
	case JSON_STRING:
		tree_put(b, 's', json_string_length(v), json_string_value(v));
		break;
	case JSON_INTEGER:
		tree_put(b, 'i', (uint64_t)json_integer_value(v), NULL);
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t u;
		memcpy(&u, &d, sizeof(u));
		tree_put(b, 'r', u, NULL);
		break;
	}
	default:
		tree_put(b, json_is_true(v) ? 't' : json_is_false(v) ? 'f' : 'n', 0, NULL);
	}
}

/* The hash of what the backend reported of a record: SHA-256 of its tree, members in the
 * order the backend wrote them (a backend lists a record the same way each time). The
 * tree is hashed as it was parsed, not written out again as text. */
static int content_hash(const json_t *j, struct rtn_jw *b, char out[65])
{
	b->len = 0;
	tree_bytes(b, j);
	unsigned char md[32];
	unsigned int n = 0;
	if (!EVP_Digest(b->p, b->len, md, &n, rtn_sha256(), NULL))
		return -EIO;
	rtn_hex(md, 32, out);
	return 0;
}

/* Members of the stored object that the scanned one does not name stay. */
static void keep_missing(json_t *scanned, const json_t *stored)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)stored, k, v) if (!json_object_get(scanned, k))
	    json_object_set(scanned, k, v);
}

/* A changed record takes the stored one's events, attributes and subject that the scan
 * does not report: a scan replaces what it knows and leaves the rest. */
static int merge_stored(struct rtn_engine *e, struct rtn_record *rec)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(e->inv, rec->id, &row);
	if (r < 0)
		return r;
	keep_missing(rec->events, row.rec.events);
	keep_missing(rec->attributes, row.rec.attributes);
	if (!rec->subject && row.rec.subject)
		rec->subject = rtn_xstrdup(row.rec.subject);
	rtn_inv_row_fini(&row);
	return 0;
}

enum kind { K_NEW, K_CHANGED, K_REAPPEARED };

/* What one page does, kept apart until its transaction commits. */
struct page {
	size_t cap, m;
	struct rtn_record *recs;
	bool *given;
	char (*hash)[65];
	enum kind *kind;
	int64_t *seen, *due;
	size_t nseen, ndue;
	struct rtn_scan_stats st;
};

static void invalid(struct page *pg, const char *id, const char *why)
{
	if (!pg->st.invalid++)
		snprintf(pg->st.first_invalid, sizeof(pg->st.first_invalid), "%s%.*s%s%s",
		         id ? "record \"" : "", id ? rtn_utf8_clip(id, 96) : 0, id ? id : "",
		         id ? "\": " : "", why);
}

/* One record of a page as rtn_scan_prepare made it. */
struct prep_rec {
	const char *id; /* borrowed from the page's tree; NULL: not even an id */
	char hash[65];  /* of what the backend reported */
	bool ok;        /* rec is valid (else why says what is wrong) */
	bool given;     /* it named its "created" event */
	json_t *j;      /* the record as reported (borrowed), until checked */
	struct rtn_record rec;
	char why[200];
};

struct rtn_scan_prep {
	json_t *records; /* owned */
	size_t n;
	struct prep_rec *r;
};

struct rtn_scan_prep *rtn_scan_prepare(json_t *records, const char *backend)
{
	struct rtn_scan_prep *p = rtn_xcalloc(1, sizeof(*p));
	p->records = records;
	p->n = json_array_size(records);
	p->r = rtn_xcalloc(p->n ? p->n : 1, sizeof(*p->r));
	struct rtn_jw buf = {0};
	for (size_t i = 0; i < p->n; i++) {
		struct prep_rec *x = &p->r[i];
		json_t *j = json_array_get(records, i);
		x->id = json_string_value(json_object_get(j, "id"));
		if (!json_is_object(j) || !x->id) {
			x->id = NULL;
			snprintf(x->why, sizeof(x->why),
			         "a record must be an object with an \"id\"");
			continue;
		}
		json_t *named = json_object_get(j, "backend");
		if (named &&
		    !(json_is_string(named) && !strcmp(json_string_value(named), backend))) {
			snprintf(x->why, sizeof(x->why),
			         "a scanned record cannot name another backend");
			continue;
		}
		json_object_del(j, "backend");
		if (content_hash(j, &buf, x->hash) < 0) {
			snprintf(x->why, sizeof(x->why), "cannot be hashed");
			continue;
		}
		x->j = j; /* checked as a record only if it is new or changed */
	}
	free(buf.p);
	return p;
}

/* Record x checked (on the engine's thread: most records of a scan are unchanged and
 * need no check). */
static bool check(struct prep_rec *x, const char *backend, rtn_time_t now)
{
	if (x->ok || !x->j)
		return x->ok;
	if (rtn_record_from_json(x->j, now, &x->rec, x->why, sizeof(x->why)) < 0) {
		x->j = NULL;
		return false;
	}
	free(x->rec.backend);
	x->rec.backend = rtn_xstrdup(backend);
	x->given = json_object_get(json_object_get(x->j, "events"), "created") != NULL;
	x->ok = true;
	return true;
}

void rtn_scan_prep_free(struct rtn_scan_prep *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		if (p->r[i].ok)
			rtn_record_fini(&p->r[i].rec);
	free(p->r);
	json_decref(p->records);
	free(p);
}

/* Classify record x of the page: unchanged, busy and conflicting ones are told at once;
 * new, changed and reappeared ones go to the page's put (x->rec moves there). 0 or
 * -EIO. */
static int classify(struct rtn_scan *s, struct page *pg, struct prep_rec *x, rtn_time_t now)
{
	struct rtn_engine *e = s->e;
	pg->st.received++;
	if (!x->id || !x->j) {
		invalid(pg, x->id, x->why);
		return 0;
	}
	struct rtn_inv_scan_brief b;
	int r = rtn_inv_scan_lookup(e->inv, x->id, &b);
	if (r == -EIO)
		return -EIO;
	enum kind kind = K_NEW;
	if (r == 0 && b.tombstone) {
		kind = K_REAPPEARED;
	} else if (r == 0) {
		if ((b.backend[0] && strcmp(b.backend, s->backend)) ||
		    (b.scan_backend[0] && strcmp(b.scan_backend, s->backend))) {
			pg->st.conflicts++;
			return 0;
		}
		RTN_GROW(pg->seen, pg->nseen + 1, pg->cap);
		if (b.busy) {
			pg->st.busy++;
			pg->seen[pg->nseen++] = b.rid;
			return 0;
		}
		if (!strcmp(b.scan_hash, x->hash) && !strcmp(b.scan_backend, s->backend)) {
			pg->st.unchanged++;
			pg->seen[pg->nseen++] = b.rid;
			return 0;
		}
		kind = K_CHANGED;
	}
	if (!check(x, s->backend, now)) {
		invalid(pg, x->id, x->why);
		return 0;
	}
	struct rtn_record rec = x->rec;
	x->ok = false; /* moved */
	if (kind == K_CHANGED && (r = merge_stored(e, &rec)) < 0) {
		rtn_record_fini(&rec);
		return r == -ENOENT ? 0 : -EIO;
	}
	if (kind == K_REAPPEARED) {
		int64_t rid;
		if (rtn_inv_scan_revive(e->inv, b.rid, &rid) < 0 ||
		    entry(e, "record.reappeared", s->actor, rec.id, rec.category,
		          json_pack("{s:s, s:s, s:s}", "scan", s->id, "backend", s->backend, "was",
		                    b.outcome[0] ? b.outcome : "deleted")) < 0) {
			rtn_record_fini(&rec);
			return -EIO;
		}
		pg->st.reappeared++;
	}
	size_t i = pg->m++;
	pg->recs[i] = rec;
	pg->given[i] = x->given;
	memcpy(pg->hash[i], x->hash, sizeof(x->hash));
	pg->kind[i] = kind;
	return 0;
}

/* The page's new, changed and reappeared records stored (and decided) as one put, each
 * marked as this scan's; those due at once go to the guard. 0 or -EIO. */
static int put_page(struct rtn_scan *s, struct page *pg, rtn_time_t now)
{
	struct rtn_engine *e = s->e;
	struct rtn_put *p = rtn_put_of(pg->recs, pg->given, (const char(*)[65])pg->hash, pg->m);
	json_t *res = NULL;
	char err[256];
	int r = rtn_engine_put_prepared(e, p, now, &res, err, sizeof(err));
	for (size_t i = 0; i < pg->m && r == 0; i++) {
		/* The write marked it; a changed record the put found as it was stored was not
		 * written (its content hash changes all the same). */
		int64_t rid = rtn_put_rid(p, i);
		size_t n;
		if (!rid || (pg->kind[i] == K_CHANGED &&
		             rtn_inv_scan_mark(e->inv, rtn_put_id(p, i, &n), s->backend,
		                               pg->hash[i], &rid) < 0)) {
			r = -EIO;
			break;
		}
		RTN_GROW(pg->seen, pg->nseen + 1, pg->cap);
		pg->seen[pg->nseen++] = rid;
		if (pg->kind[i] == K_NEW)
			pg->st.added++;
		else if (pg->kind[i] == K_CHANGED)
			pg->st.changed++;
	}
	size_t ndue;
	const int64_t *due = rtn_put_due(p, &ndue);
	if (r == 0 && ndue)
		memcpy(pg->due, due, ndue * sizeof(*due));
	pg->ndue = r == 0 ? ndue : 0;
	json_decref(res);
	rtn_put_free(p);
	return r == 0 ? 0 : -EIO;
}

static void stats_add(struct rtn_scan_stats *to, const struct rtn_scan_stats *from)
{
	to->received += from->received;
	to->added += from->added;
	to->changed += from->changed;
	to->unchanged += from->unchanged;
	to->reappeared += from->reappeared;
	to->busy += from->busy;
	to->conflicts += from->conflicts;
	to->paused += from->paused;
	if (from->invalid && !to->invalid)
		memcpy(to->first_invalid, from->first_invalid, sizeof(to->first_invalid));
	to->invalid += from->invalid;
}

static void page_fini(struct page *pg)
{
	for (size_t i = 0; i < pg->m; i++)
		rtn_record_fini(&pg->recs[i]);
	free(pg->recs);
	free(pg->given);
	free(pg->hash);
	free(pg->kind);
	free(pg->seen);
	free(pg->due);
}

int rtn_scan_page_prepared(struct rtn_scan *s, struct rtn_scan_prep *p, rtn_time_t now)
{
	if (s->failed)
		return -EIO;
	size_t n = p->n;
	struct page pg = {0};
	size_t c = n ? n : 1;
	pg.recs = rtn_xcalloc(c, sizeof(*pg.recs));
	pg.given = rtn_xcalloc(c, sizeof(*pg.given));
	pg.hash = rtn_xcalloc(c, sizeof(*pg.hash));
	pg.kind = rtn_xcalloc(c, sizeof(*pg.kind));
	pg.due = rtn_xcalloc(c, sizeof(*pg.due));
	int r = rtn_engine_begin(s->e);
	for (size_t i = 0; i < n && r == 0; i++)
		r = classify(s, &pg, &p->r[i], now);
	if (r == 0 && pg.m)
		r = put_page(s, &pg, now);
	if (r == 0 && pg.ndue && s->guard > 0) {
		int paused = rtn_guard_step(s->e, s->guard, "scan", s->id, pg.due, pg.ndue, now);
		if (paused < 0)
			r = -EIO;
		else
			pg.st.paused += paused;
	}
	r = rtn_engine_end(s->e, r);
	if (r == 0) {
		stats_add(&s->st, &pg.st);
		RTN_GROW(s->seen, s->nseen + pg.nseen, s->cap);
		if (pg.nseen)
			memcpy(s->seen + s->nseen, pg.seen, pg.nseen * sizeof(*pg.seen));
		s->nseen += pg.nseen;
	} else {
		s->failed = true;
	}
	page_fini(&pg);
	return r;
}

int rtn_scan_page(struct rtn_scan *s, json_t *records, rtn_time_t now)
{
	struct rtn_scan_prep *p = rtn_scan_prepare(json_incref(records), s->backend);
	int r = rtn_scan_page_prepared(s, p, now);
	rtn_scan_prep_free(p);
	return r;
}

static json_t *stats_json(const struct rtn_scan *s)
{
	const struct rtn_scan_stats *t = &s->st;
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	                      "s:I}",
	                      "scan", s->id, "backend", s->backend, "received",
	                      (json_int_t)t->received, "added", (json_int_t)t->added, "changed",
	                      (json_int_t)t->changed, "unchanged", (json_int_t)t->unchanged, "left",
	                      (json_int_t)t->left, "reappeared", (json_int_t)t->reappeared, "busy",
	                      (json_int_t)t->busy, "conflicts", (json_int_t)t->conflicts, "invalid",
	                      (json_int_t)t->invalid, "skipped", (json_int_t)t->skipped, "future",
	                      (json_int_t)t->future, "paused", (json_int_t)t->paused);
	if (o && t->left_withheld)
		json_object_set_new(o, "left_withheld", json_integer(t->left_withheld));
	if (o && t->invalid)
		json_object_set_new(o, "first_invalid", json_string(t->first_invalid));
	return o;
}

/* The outcome, in the inventory's meta for rtn_scan_last, and its entry. */
static int finish(struct rtn_scan *s, bool complete, const char *error, rtn_time_t now)
{
	struct rtn_engine *e = s->e;
	json_t *d = stats_json(s);
	if (d && error) {
		json_t *why = json_string(error);
		json_object_set_new(d, "error", why ? why : json_string("(not valid UTF-8)"));
	}
	int r = rtn_engine_begin(e);
	if (r < 0) {
		json_decref(d);
		return -EIO;
	}
	json_t *last = d ? json_deep_copy(d) : NULL;
	if (last) {
		json_object_set_new(last, "complete", json_boolean(complete));
		json_object_set_new(last, "started", json_integer(s->started));
		json_object_set_new(last, "finished", json_integer(now));
	}
	char *text = last ? json_dumps(last, JSON_COMPACT) : NULL;
	char *key = meta_key(s->backend);
	r = text && rtn_inv_meta_set(e->inv, key, text) == 0 ? 0 : -EIO;
	free(key);
	free(text);
	json_decref(last);
	if (r == 0)
		r = entry(e, complete ? "scan.completed" : "scan.failed", s->actor, NULL, NULL, d);
	else
		json_decref(d);
	return rtn_engine_end(e, r);
}

static int rid_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static bool was_seen(const struct rtn_scan *s, int64_t rid)
{
	return bsearch(&rid, s->seen, s->nseen, sizeof(*s->seen), rid_cmp) != NULL;
}

/* The live records of the backend's scans that this one did not report (and that have no
 * job out: a record our own job is deleting is settled by its result). */
static int not_seen(struct rtn_scan *s, int64_t **out, size_t *n)
{
	int64_t rids[LEFT_BATCH], after = 0, *v = NULL;
	bool busy[LEFT_BATCH];
	size_t m = 0, cap = 0;
	int k;
	while ((k = rtn_inv_scan_rids(s->e->inv, s->backend, after, rids, busy, LEFT_BATCH)) > 0) {
		for (int i = 0; i < k; i++)
			if (!busy[i] && !was_seen(s, rids[i])) {
				RTN_GROW(v, m + 1, cap);
				v[m++] = rids[i];
			}
		after = rids[k - 1];
		if (k < LEFT_BATCH)
			break;
	}
	if (k < 0) {
		free(v);
		return -EIO;
	}
	*out = v;
	*n = m;
	return 0;
}

/* Each of rids[0..n) left by other means: a tombstone with outcome "left", and its entry. */
static int mark_left(struct rtn_scan *s, const int64_t *rids, size_t n, rtn_time_t now)
{
	struct rtn_engine *e = s->e;
	for (size_t at = 0; at < n; at += LEFT_BATCH) {
		size_t end = at + LEFT_BATCH < n ? at + LEFT_BATCH : n;
		int r = rtn_engine_begin(e);
		for (size_t i = at; i < end && r == 0; i++) {
			struct rtn_inv_row row;
			if (rtn_inv_get_rid(e->inv, rids[i], &row) < 0) {
				r = -EIO;
				break;
			}
			r = entry(e, "record.left", s->actor, row.rec.id, row.rec.category,
			          json_pack("{s:s, s:s}", "scan", s->id, "backend", s->backend));
			if (r == 0 &&
			    rtn_inv_tombstone(e->inv, rids[i], NULL, NULL, "left", now) < 0)
				r = -EIO;
			rtn_inv_row_fini(&row);
		}
		if (rtn_engine_end(e, r) < 0)
			return -EIO;
		s->st.left += (int64_t)(end - at);
	}
	return 0;
}

int rtn_scan_end(struct rtn_scan *s, bool complete, int64_t count, int64_t skipped, int64_t future,
                 const char *error, rtn_time_t now)
{
	s->st.skipped = skipped;
	s->st.future = future;
	char why[160] = "";
	if (s->failed)
		snprintf(why, sizeof(why), "a page could not be stored");
	else if (!complete || error)
		snprintf(why, sizeof(why), "%s",
		         error ? error : "the backend could not list everything");
	else if (count != s->st.received)
		snprintf(
		    why, sizeof(why),
		    "the backend counted %lld records but %lld arrived; nothing is marked left",
		    (long long)count, (long long)s->st.received);
	if (why[0])
		return finish(s, false, why, now);
	qsort(s->seen, s->nseen, sizeof(*s->seen), rid_cmp);
	int64_t *gone = NULL;
	size_t n = 0;
	if (not_seen(s, &gone, &n) < 0)
		return finish(s, false, "the inventory could not be read", now);
	int64_t limit = rtn_guard_limit(s->guard, rtn_inv_live_count(s->e->inv));
	int r = 0;
	if (s->guard > 0 && (int64_t)n > limit)
		s->st.left_withheld =
		    (int64_t)n; /* a root not mounted looks empty: told, not done */
	else
		r = mark_left(s, gone, n, now);
	free(gone);
	if (r < 0)
		return finish(s, false, "the records that left could not be marked", now);
	return finish(s, true, NULL, now);
}

void rtn_scan_abort(struct rtn_scan *s, const char *why, rtn_time_t now)
{
	finish(s, false, why ? why : "the scan ended without its end marker", now);
}

json_t *rtn_scan_last(struct rtn_engine *e, const char *backend)
{
	char *key = meta_key(backend);
	char *v = rtn_inv_meta_get(e->inv, key);
	free(key);
	json_t *j = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	return j;
}
