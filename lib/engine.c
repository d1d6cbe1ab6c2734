/* engine.c - records and rules together: put, get, event, set, forget, explain, plan,
 * subject */
#include "engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void rtn_engine_init(struct rtn_engine *e, struct rtn_inv *inv, const struct rtn_ruleset *rules)
{
	memset(e, 0, sizeof(*e));
	e->inv = inv;
	e->rules = rules;
	e->zone = rtn_zone_utc();
	e->guard_window = RTN_GUARD_WINDOW;
	rtn_engine_refresh(e);
}

void rtn_engine_fini(struct rtn_engine *e)
{
	rtn_view_buf_fini(&e->vb);
}

void rtn_engine_set_rules(struct rtn_engine *e, const struct rtn_ruleset *rules)
{
	e->rules = rules;
}

json_t *rtn_engine_schedule_json(const struct rtn_decision *d, const char *erasure_request)
{
	json_t *a = json_array();
	if (d->state != RTN_DS_ACTIVE)
		return a;
	for (size_t i = 0; i < d->nsched; i++) {
		const struct rtn_sched *s = &d->sched[i];
		json_t *rule =
		    s->rule ? json_string(s->rule->name)
		            : json_sprintf("erasure:%s", erasure_request ? erasure_request : "");
		json_t *ent = json_pack("{s:s, s:o, s:o, s:b, s:s?}", "action",
		                        rtn_action_name(s->action), "at", rtn_time_to_json(s->at),
		                        "rule", rule, "review", s->review, "backend", s->backend);
		/* "notify SPAN before": when the notice of this action is due, and to whom */
		if (ent && s->notice_at != RTN_TIME_NONE) {
			json_object_set_new(ent, "notice", rtn_time_to_json(s->notice_at));
			if (s->notice_backend)
				json_object_set_new(ent, "notice_backend",
				                    json_string(s->notice_backend));
		}
		json_array_append_new(a, ent);
	}
	return a;
}

static json_t *events_json(const json_t *events)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)events, k, v)
	    json_object_set_new(o, k, rtn_time_to_json((rtn_time_t)json_integer_value(v)));
	return o;
}

static json_t *hold_names(const json_t *holds)
{
	json_t *a = json_array();
	size_t i;
	json_t *h;
	json_array_foreach(holds, i, h) json_array_append(a, json_object_get(h, "hold"));
	return a;
}

static json_t *record_json(struct rtn_engine *e, const struct rtn_inv_row *row)
{
	if (row->deleted_at != RTN_TIME_NONE)
		return json_pack("{s:s, s:s, s:s, s:[], s:{s:o, s:s?, s:s?, s:s?}}", "id",
		                 row->rec.id, "category", row->rec.category, "state", "deleted",
		                 "schedule", "deleted", "at", rtn_time_to_json(row->deleted_at),
		                 "rule", row->deleted_rule, "job", row->deleted_job, "outcome",
		                 row->deleted_outcome);
	struct rtn_eval ev;
	rtn_eval_record(e, &row->rec, row->anonymized_at, &ev, false);
	json_t *o = json_pack(
	    "{s:s, s:s, s:s?, s:s?, s:O?, s:o, s:O, s:s, s:o, s:o}", "id", row->rec.id, "category",
	    row->rec.category, "subject", row->rec.subject, "backend", row->rec.backend, "locator",
	    row->rec.locator, "events", events_json(row->rec.events), "attributes",
	    row->rec.attributes, "state", row->state, "schedule",
	    rtn_engine_schedule_json(&ev.d, ev.erasure_request), "holds", hold_names(ev.holds));
	if (row->anonymized_at != RTN_TIME_NONE)
		json_object_set_new(o, "anonymized", rtn_time_to_json(row->anonymized_at));
	rtn_eval_fini(&ev);
	return o;
}

static json_t *brief_json(const char *id, const char *state, const struct rtn_eval *ev)
{
	return json_pack("{s:s, s:s, s:o}", "id", id, "state", state, "schedule",
	                 rtn_engine_schedule_json(&ev->d, ev->erasure_request));
}

/* --- record.put ------------------------------------------------------------------ */

struct rtn_put {
	size_t n;
	bool quiet, batch;
	struct rtn_record *recs;
	struct rtn_inv_text *text; /* each record's JSON members, encoded */
	bool *given_created;       /* the record named its "created" event */
	json_t **old_events;       /* an updated record's events before the put, or NULL */
	char **old_subject;        /* an updated record's subject before the put, or NULL */
	bool *deleted;             /* a tombstone's id, skipped (a batch only) */
	size_t already_deleted;    /* how many */
	char *import;              /* the import the batch belongs to, or NULL */
	int64_t *due;              /* the rows the put made due (queued or review) */
	int64_t *rid;              /* each record's row, once put (0: not stored) */
	size_t ndue;
};

void rtn_put_free(struct rtn_put *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		rtn_record_fini(&p->recs[i]);
		rtn_inv_text_fini(&p->text[i]);
		json_decref(p->old_events[i]);
		free(p->old_subject[i]);
	}
	free(p->old_events);
	free(p->old_subject);
	free(p->deleted);
	free(p->import);
	free(p->due);
	free(p->rid);
	free(p->recs);
	free(p->text);
	free(p->given_created);
	free(p);
}

bool rtn_put_import_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (!n || n > RTN_IMPORT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("-_.:", id[i]) && !(id[i] >= '0' && id[i] <= '9') &&
		    !(id[i] >= 'a' && id[i] <= 'z') && !(id[i] >= 'A' && id[i] <= 'Z'))
			return false;
	return true;
}

const char *rtn_put_import(const struct rtn_put *p)
{
	return p->import;
}

int64_t rtn_put_rid(const struct rtn_put *p, size_t i)
{
	return i < p->n ? p->rid[i] : 0;
}

const int64_t *rtn_put_due(const struct rtn_put *p, size_t *n)
{
	*n = p->ndue;
	return p->due;
}

size_t rtn_put_already_deleted(const struct rtn_put *p)
{
	return p->already_deleted;
}

const char *rtn_put_id(const struct rtn_put *p, size_t i, size_t *n)
{
	*n = p->n;
	return i < p->n ? p->recs[i].id : NULL;
}

/* A put of n records, every array zeroed. */
static struct rtn_put *put_new(size_t n)
{
	size_t c = n ? n : 1;
	struct rtn_put *p = rtn_xcalloc(1, sizeof(*p));
	p->n = n;
	p->recs = rtn_xcalloc(c, sizeof(*p->recs));
	p->text = rtn_xcalloc(c, sizeof(*p->text));
	p->given_created = rtn_xcalloc(c, sizeof(*p->given_created));
	p->old_events = rtn_xcalloc(c, sizeof(*p->old_events));
	p->old_subject = rtn_xcalloc(c, sizeof(*p->old_subject));
	p->deleted = rtn_xcalloc(c, sizeof(*p->deleted));
	p->due = rtn_xcalloc(c, sizeof(*p->due));
	p->rid = rtn_xcalloc(c, sizeof(*p->rid));
	return p;
}

int rtn_put_prepare(json_t *args, rtn_time_t now, struct rtn_put **out, json_t **details, char *err,
                    size_t errlen)
{
	json_t *list = json_object_get(args, "records");
	bool batch = list != NULL;
	*out = NULL;
	*details = NULL;
	if (batch) {
		if (!json_is_array(list) || json_array_size(list) == 0 ||
		    json_array_size(list) > RTN_PUT_MAX) {
			snprintf(err, errlen, "\"records\" must be an array of 1 to %d records",
			         RTN_PUT_MAX);
			return -EINVAL;
		}
		const char *k;
		json_t *v;
		json_object_foreach(args, k, v) if (strcmp(k, "records") && strcmp(k, "quiet") &&
		                                    strcmp(k, "import"))
		{
			snprintf(err, errlen, "unknown argument \"%.*s\" beside \"records\"",
			         rtn_utf8_clip(k, 64), k);
			return -EINVAL;
		}
		json_t *im = json_object_get(args, "import");
		if (im && !rtn_put_import_valid(json_string_value(im))) {
			snprintf(
			    err, errlen,
			    "\"import\" must be a string of 1 to %d letters, digits, '-', '_', "
			    "'.' or ':'",
			    RTN_IMPORT_ID_MAX);
			return -EINVAL;
		}
	}
	json_t *single = NULL;
	if (!batch && json_object_get(args, "quiet")) {
		single = json_copy(args); /* "quiet" is an argument, not a member of the record */
		json_object_del(single, "quiet");
	}
	struct rtn_put *p = put_new(batch ? json_array_size(list) : 1);
	p->batch = batch;
	p->quiet = json_is_true(json_object_get(args, "quiet"));
	if (batch && json_object_get(args, "import"))
		p->import = rtn_xstrdup(json_string_value(json_object_get(args, "import")));
	json_t *bad = json_array();
	for (size_t i = 0; i < p->n; i++) {
		json_t *j = batch ? json_array_get(list, i) : single ? single : args;
		char msg[256];
		if (rtn_record_from_json(j, now, &p->recs[i], msg, sizeof(msg)) < 0) {
			json_t *id = json_object_get(j, "id");
			json_t *x = json_pack("{s:I, s:O?, s:s}", "index", (json_int_t)i, "id",
			                      json_is_string(id) ? id : NULL, "message", msg);
			/* Never lost: an entry jansson refuses still makes the record invalid. */
			json_array_append_new(
			    bad, x ? x
			           : json_pack("{s:I, s:s}", "index", (json_int_t)i, "message",
			                       "invalid record (its message cannot be shown)"));
			continue;
		}
		p->given_created[i] =
		    json_object_get(json_object_get(j, "events"), "created") != NULL;
		rtn_inv_text_of(&p->recs[i], &p->text[i]);
		/* Copied: the request's tree of it goes now, so that a batch is not held
		 * twice at the peak. */
		if (batch)
			json_array_set_new(list, i, json_null());
	}
	json_decref(single);
	if (json_array_size(bad)) {
		json_t *first = json_array_get(bad, 0);
		if (batch)
			snprintf(err, errlen,
			         "%zu of %zu records are invalid; nothing was written; "
			         "first: record %lld: %s",
			         json_array_size(bad), p->n,
			         (long long)json_integer_value(json_object_get(first, "index")),
			         json_string_value(json_object_get(first, "message")));
		else
			snprintf(err, errlen, "%s",
			         json_string_value(json_object_get(first, "message")));
		*details = bad;
		rtn_put_free(p);
		return -EINVAL;
	}
	json_decref(bad);
	*out = p;
	return 0;
}

struct rtn_put *rtn_put_of(struct rtn_record *recs, const bool *given_created,
                           const char (*scan_hash)[65], size_t n)
{
	struct rtn_put *p = put_new(n);
	p->batch = true;
	p->quiet = true; /* the rows and states are read from the put itself */
	for (size_t i = 0; i < n; i++) {
		p->recs[i] = recs[i];
		memset(&recs[i], 0, sizeof(recs[i]));
		p->given_created[i] = given_created[i];
		rtn_inv_text_of(&p->recs[i], &p->text[i]);
		if (scan_hash)
			p->text[i].scan_hash = rtn_xstrdup(scan_hash[i]);
	}
	return p;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_json(const json_t *a, const json_t *b)
{
	return a == b || (a && b && json_equal((json_t *)a, (json_t *)b));
}

/* A re-put that changes nothing: the stored record old has the same data, state and
 * schedule as rec would get. */
static bool unchanged(const struct rtn_inv_row *old, const struct rtn_record *rec,
                      const char *state, const struct rtn_inv_sched *sc)
{
	const struct rtn_inv_sched *o = &old->sched;
	return !strcmp(old->state, state) && same_str(old->rec.category, rec->category) &&
	       same_str(old->rec.subject, rec->subject) &&
	       same_str(old->rec.backend, rec->backend) && o->anon_at == sc->anon_at &&
	       o->del_at == sc->del_at && o->next_at == sc->next_at &&
	       o->anon_review == sc->anon_review && o->del_review == sc->del_review &&
	       same_str(o->anon_rule, sc->anon_rule) && same_str(o->del_rule, sc->del_rule) &&
	       same_str(o->next_backend, sc->next_backend) &&
	       same_json(old->rec.locator, rec->locator) &&
	       same_json(old->rec.events, rec->events) &&
	       same_json(old->rec.attributes, rec->attributes);
}

/* What the put of one record did, for its entry. */
struct put_note {
	struct rtn_jw detail; /* the record.put entry's detail; empty when none is written */
	int err;              /* < 0: a string of it was not UTF-8 */
};

/* Store record i of p (or find it stored as it is: *same). Its entry's detail goes to
 * note when wanted. 0, -EEXIST (err) or -EIO. */
static int put_one(struct rtn_engine *e, struct rtn_put *p, size_t i, rtn_time_t now, json_t *out,
                   bool *fresh, bool *same, struct put_note *note, char *err, size_t errlen)
{
	struct rtn_record *rec = &p->recs[i];
	struct rtn_eval ev;
	struct rtn_inv_sched sc;
	int r = 0;
	*same = false;
	/* Most records of a put are new: insert as new, and only when the id exists look at
	 * the stored record and decide again as an update. */
	if (rtn_eval_record(e, rec, RTN_TIME_NONE, &ev, false) < 0)
		r = -EIO;
	const char *state = rtn_eval_derive(&ev, RTN_TIME_NONE, NULL, now, &sc);
	int64_t rid = 0;
	int ir = r < 0 ? 0 : rtn_inv_upsert(e->inv, rec, &p->text[i], state, &sc, now, &rid);
	bool existed = ir == -EEXIST;
	if (ir < 0 && !existed)
		r = -EIO;
	struct rtn_inv_brief b = {0};
	struct rtn_inv_row old = {0};
	bool have_old = false;
	b.anonymized_at = RTN_TIME_NONE;
	if (existed && rtn_inv_lookup(e->inv, rec->id, &b) < 0)
		r = -EIO;
	if (existed && r == 0 && b.deleted_at != RTN_TIME_NONE && p->batch) {
		/* A batch (an import, repeated from the source system) counts it and goes on:
		 * the tombstone stays as it is, and nothing is written of it. */
		p->deleted[i] = true;
		p->already_deleted++;
		*fresh = false;
		*same = false;
		rtn_eval_fini(&ev);
		return 0;
	} else if (existed && r == 0 && b.deleted_at != RTN_TIME_NONE) {
		snprintf(err, errlen,
		         "record \"%.*s\" was deleted; its id stays a tombstone and is not reused",
		         rtn_utf8_clip(rec->id, 128), rec->id);
		r = -EEXIST;
	} else if (existed && r == 0 && b.busy) {
		snprintf(err, errlen,
		         "record \"%.*s\" has a job out (or a dead one); it cannot change until "
		         "the backend answers or jobs.retry",
		         rtn_utf8_clip(rec->id, 128), rec->id);
		r = -EEXIST;
	} else if (existed && r == 0) {
		/* A put without "created" keeps the record's original creation time. */
		if (!p->given_created[i] && b.created != RTN_TIME_NONE) {
			json_object_set_new(rec->events, "created", json_integer(b.created));
			free(p->text[i].events);
			p->text[i].events = NULL; /* encoded again */
		}
		rtn_eval_fini(&ev);
		if (rtn_eval_record(e, rec, b.anonymized_at, &ev, false) < 0)
			r = -EIO;
		ev.rid = b.rid;
		/* A reviewer's decision on this action stands: a re-put keeps it. */
		state = rtn_eval_derive(&ev, b.anonymized_at,
		                        b.review_mark[0] ? b.review_mark : NULL, now, &sc);
		rid = b.rid;
		if (r == 0 && rtn_inv_get_rid(e->inv, b.rid, &old) < 0)
			r = -EIO;
		have_old = r == 0;
		if (have_old) {
			json_decref(p->old_events[i]); /* a batch may name an id twice */
			free(p->old_subject[i]);
			p->old_events[i] = json_incref(old.rec.events);
			p->old_subject[i] = old.rec.subject ? rtn_xstrdup(old.rec.subject) : NULL;
		}
		/* What the guard paused stays paused while it is due: a re-put does not release
		 * it (guard.confirm does, or undoing the cause). */
		if (have_old && !strcmp(old.state, "paused") &&
		    (!strcmp(state, "queued") || !strcmp(state, "review")))
			state = "paused";
		*same = have_old && unchanged(&old, rec, state, &sc);
		if (r == 0 && !*same &&
		    rtn_inv_upsert(e->inv, rec, &p->text[i], state, &sc, now, &rid) < 0)
			r = -EIO;
	}
	/* Made due by this put: new, or waiting before (not already due or paused). */
	if (r == 0 && (!strcmp(state, "queued") || !strcmp(state, "review")) &&
	    (!have_old || !strcmp(old.state, "active") || !strcmp(old.state, "anonymized") ||
	     !strcmp(old.state, "held") || !strcmp(old.state, "unmanaged")))
		p->due[p->ndue++] = rid;
	if (r == 0 && out)
		json_array_append_new(out, brief_json(rec->id, state, &ev));
	if (r == 0 && note && !*same) {
		char ps[RTN_PSEUDONYM_LEN + 1];
		note->err =
		    rtn_entry_put(&note->detail, rec, rtn_engine_pseudonym(e, rec->subject, ps),
		                  !existed, state, have_old ? old.rec.attributes : NULL, &ev);
	}
	*fresh = !existed;
	if (r == 0)
		p->rid[i] = rid;
	if (have_old)
		rtn_inv_row_fini(&old);
	rtn_eval_fini(&ev);
	return r;
}

/* Indexes of p's records by subject, then by their order in the put. */
static int subject_order(const void *a, const void *b, void *put)
{
	const struct rtn_put *p = put;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(p->recs[x].subject, p->recs[y].subject);
	return c ? c : (x > y) - (x < y);
}

/* After a put, the records of each subject it touched are decided again where a rule
 * anchors on the subject's records and the put moved their anchor: once per subject, with
 * the changes of its records in the order put (a record moved to another subject is gone
 * from the one it left). */
static int redecide_subjects(struct rtn_engine *e, const struct rtn_put *p, rtn_time_t now)
{
	if (!e->rules || !rtn_ruleset_any_subject(e->rules))
		return 0;
	size_t *v = rtn_xcalloc(p->n, sizeof(*v)), m = 0;
	struct rtn_subject_change *ch = rtn_xcalloc(p->n, sizeof(*ch));
	int r = 0;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		const char *was = p->old_subject[i];
		if (p->deleted[i])
			continue; /* a tombstone skipped: nothing of it changed */
		if (p->recs[i].subject)
			v[m++] = i;
		if (was && !same_str(was, p->recs[i].subject)) {
			struct rtn_subject_change gone = {p->recs[i].id, p->old_events[i]};
			r = rtn_engine_redecide_subject(e, was, &gone, 1, now);
		}
	}
	if (m > 1)
		qsort_r(v, m, sizeof(*v), subject_order, (void *)p);
	for (size_t i = 0, first = 0; i < m && r == 0; i++) {
		const struct rtn_record *rec = &p->recs[v[i]];
		bool same = same_str(p->old_subject[v[i]], rec->subject);
		ch[i - first] =
		    (struct rtn_subject_change){rec->id, same ? p->old_events[v[i]] : NULL};
		if (i + 1 < m && !strcmp(rec->subject, p->recs[v[i + 1]].subject))
			continue; /* the subject's changes are told together */
		r = rtn_engine_redecide_subject(e, rec->subject, ch, i + 1 - first, now);
		first = i + 1;
	}
	free(ch);
	free(v);
	return r;
}

int rtn_engine_put_prepared(struct rtn_engine *e, struct rtn_put *p, rtn_time_t now,
                            json_t **result, char *err, size_t errlen)
{
	size_t n = p->n;
	*result = NULL;
	int r = 0;
	if (rtn_engine_begin(e) < 0) {
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		return -EIO;
	}
	json_t *out = p->quiet ? NULL : json_array();
	size_t inserted = 0, same_n = 0;
	p->ndue = p->already_deleted = 0;
	memset(p->deleted, 0, n * sizeof(*p->deleted));
	struct put_note *notes = e->put_hook ? rtn_xcalloc(n, sizeof(*notes)) : NULL;
	for (size_t i = 0; i < n && r == 0; i++) {
		bool fresh, same;
		r = put_one(e, p, i, now, out, &fresh, &same, notes ? &notes[i] : NULL, err,
		            errlen);
		inserted += fresh;
		same_n += same;
	}
	/* Told before the commit: the audit entries are on disk before the records are. */
	for (size_t i = 0; i < n && r == 0 && notes; i++)
		if (notes[i].detail.p)
			e->put_hook(e->hook_ctx, "record.put", &p->recs[i], &notes[i].detail,
			            notes[i].err);
	if (r == 0 && notes && same_n) {
		struct rtn_jw d = {0};
		JW_LIT(&d, "{\"records\":");
		rtn_jw_int(&d, (long long)same_n);
		JW_LIT(&d, "}");
		e->put_hook(e->hook_ctx, "record.unchanged", NULL, &d, 0);
	}
	for (size_t i = 0; notes && i < n; i++)
		free(notes[i].detail.p);
	free(notes);
	if (r == 0)
		r = redecide_subjects(e, p, now);
	if (r == 0 && rtn_engine_commit(e) < 0)
		r = -EIO;
	if (r < 0) {
		if (r == -EIO)
			snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		rtn_engine_rollback(e);
		json_decref(out);
		return r;
	}
	size_t stored = n - p->already_deleted;
	*result = json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)stored, "inserted",
	                    (json_int_t)inserted, "updated", (json_int_t)(stored - inserted),
	                    "already_deleted", (json_int_t)p->already_deleted);
	if (out)
		json_object_set_new(*result, "records", out);
	return 0;
}

/* --- single records ---------------------------------------------------------------- */

int rtn_engine_get(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(e->inv, id, &row);
	(void)now;
	if (r < 0)
		return r;
	*result = record_json(e, &row);
	rtn_inv_row_fini(&row);
	return 0;
}

/* Re-decide a stored record after its data changed, in one transaction. */
static int restore(struct rtn_engine *e, struct rtn_inv_row *row, const json_t *old_events,
                   rtn_time_t now, json_t **result, char *err, size_t errlen)
{
	struct rtn_eval ev;
	struct rtn_inv_sched sc;
	int r = rtn_eval_record(e, &row->rec, row->anonymized_at, &ev, false);
	ev.rid = row->rid;
	const char *state = rtn_eval_derive(&ev, row->anonymized_at, row->review_mark, now, &sc);
	struct rtn_subject_change change = {row->rec.id, old_events};
	bool began = r == 0 && rtn_engine_begin(e) == 0;
	if (!began || (rtn_inv_upsert(e->inv, &row->rec, NULL, state, &sc, now, &row->rid) < 0 ||
	               rtn_engine_redecide_subject(e, row->rec.subject, &change, 1, now) < 0 ||
	               rtn_engine_commit(e) < 0))
		r = -EIO;
	if (r < 0) {
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		if (began)
			rtn_engine_rollback(e);
	} else {
		*result = brief_json(row->rec.id, state, &ev);
	}
	rtn_eval_fini(&ev);
	return r;
}

static int load_live(struct rtn_engine *e, const char *id, struct rtn_inv_row *row, char *err,
                     size_t errlen)
{
	int r = rtn_inv_get(e->inv, id, row);
	if (r == -ENOENT)
		snprintf(err, errlen, "no record \"%.*s\"", rtn_utf8_clip(id, 128), id);
	if (r < 0)
		return r;
	if (row->deleted_at != RTN_TIME_NONE) {
		snprintf(err, errlen, "record \"%.*s\" was deleted; a tombstone cannot change",
		         rtn_utf8_clip(id, 128), id);
		rtn_inv_row_fini(row);
		return -EEXIST;
	}
	struct rtn_inv_job j;
	bool out = rtn_row_job_out(row);
	if (!out && !strcmp(row->state, "held") &&
	    rtn_inv_job_open_for(e->inv, row->rid, &j) == 0) {
		out = true; /* held, but its job is at the backend: the result settles it */
		rtn_inv_job_fini(&j);
	}
	if (out) {
		snprintf(err, errlen,
		         "record \"%.*s\" has a job out (or a dead one); it cannot change until "
		         "the backend answers or jobs.retry",
		         rtn_utf8_clip(id, 128), id);
		rtn_inv_row_fini(row);
		return -EEXIST;
	}
	return 0;
}

int rtn_engine_event(struct rtn_engine *e, const char *id, const char *event, json_t *at,
                     rtn_time_t now, json_t **result, char *err, size_t errlen)
{
	rtn_time_t t;
	if (rtn_event_check(event, at, &t, err, errlen) < 0)
		return -EINVAL;
	struct rtn_inv_row row;
	int r = load_live(e, id, &row, err, errlen);
	if (r < 0)
		return r;
	json_t *old = json_deep_copy(row.rec.events);
	json_object_set_new(row.rec.events, event, json_integer(t));
	r = restore(e, &row, old, now, result, err, errlen);
	json_decref(old);
	rtn_inv_row_fini(&row);
	return r;
}

int rtn_engine_set(struct rtn_engine *e, const char *id, json_t *attrs, rtn_time_t now,
                   json_t **result, char *err, size_t errlen)
{
	if (!json_is_object(attrs)) {
		snprintf(err, errlen, "\"attributes\" must be an object of NAME: VALUE");
		return -EINVAL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v)
	{
		if (!rtn_valid_name(k) || !rtn_attr_value_ok(v)) {
			snprintf(err, errlen,
			         "attribute \"%.*s\": names are lower-case letters, digits, '_', "
			         "'.' and '-'; values are true, false, numbers, strings or null",
			         rtn_utf8_clip(k, 64), k);
			return -EINVAL;
		}
	}
	struct rtn_inv_row row;
	int r = load_live(e, id, &row, err, errlen);
	if (r < 0)
		return r;
	json_object_foreach(attrs, k, v)
	{
		if (json_is_null(v))
			json_object_del(row.rec.attributes, k);
		else
			json_object_set(row.rec.attributes, k, v);
	}
	r = restore(e, &row, row.rec.events, now, result, err, errlen); /* events as they were */
	rtn_inv_row_fini(&row);
	return r;
}

int rtn_engine_forget(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result,
                      char *err, size_t errlen)
{
	struct rtn_inv_row row;
	int r = load_live(e, id, &row, err, errlen);
	if (r < 0)
		return r;
	if (row.anonymized_at != RTN_TIME_NONE) {
		snprintf(err, errlen,
		         "record \"%.*s\" was anonymized: it was acted on and stays "
		         "in the inventory as proof",
		         rtn_utf8_clip(id, 128), id);
		rtn_inv_row_fini(&row);
		return -EEXIST;
	}
	r = rtn_engine_begin(e);
	/* Its events no longer count for its subject: the others are decided without them. */
	struct rtn_subject_change gone = {row.rec.id, row.rec.events};
	if (r == 0 && (rtn_inv_forget(e->inv, row.rid) < 0 ||
	               rtn_engine_redecide_subject(e, row.rec.subject, &gone, 1, now) < 0 ||
	               rtn_engine_commit(e) < 0))
		r = -EIO;
	if (r < 0) {
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		rtn_engine_rollback(e);
	} else {
		*result = json_pack("{s:s, s:b}", "id", id, "forgotten", 1);
	}
	rtn_inv_row_fini(&row);
	return r;
}

/* explain's "review": the round of a next action that waits for a person, and when it
 * comes back for review after a rejection; NULL when the next action needs nobody. */
static json_t *review_json(struct rtn_engine *e, const struct rtn_inv_row *row, rtn_time_t now)
{
	struct rtn_review rv;
	if (rtn_engine_review(e, row, now, &rv) < 0)
		return NULL;
	json_t *o = json_pack("{s:s, s:s, s:i, s:o}", "action", rv.action, "rule", rv.rule_name,
	                      "round", (int)rv.round, "due", rtn_time_to_json(rv.at));
	if (rv.rejected != RTN_TIME_NONE) {
		json_object_set_new(o, "rejected", rtn_time_to_json(rv.rejected));
		json_object_set_new(o, "next_review", rtn_time_to_json(rv.at));
	}
	if (rv.every) {
		char *every = rtn_span_format(rv.every);
		json_object_set_new(o, "every", json_string(every));
		free(every);
	}
	if (rv.nstages) { /* review by GROUP...: the stage it waits on */
		json_object_set_new(o, "stage", json_integer(rv.stage));
		json_object_set_new(o, "stages", json_integer(rv.nstages));
		json_object_set_new(o, "group", json_string(rv.group));
	}
	return o;
}

int rtn_engine_explain(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(e->inv, id, &row);
	if (r < 0)
		return r;
	if (row.deleted_at != RTN_TIME_NONE) {
		*result = record_json(e, &row);
		json_object_set_new(*result, "decision",
		                    json_pack("{s:s, s:o, s:s?, s:n, s:s}", "action", "delete",
		                              "at", rtn_time_to_json(row.deleted_at), "rule",
		                              row.deleted_rule, "basis", "reason",
		                              "deleted: only a tombstone remains"));
		rtn_inv_row_fini(&row);
		return 0;
	}
	struct rtn_eval ev;
	rtn_eval_record(e, &row.rec, row.anonymized_at, &ev, true);
	const struct rtn_decision *d = &ev.d;
	json_t *rules = json_array();
	for (size_t i = 0; i < d->nevals; i++) {
		const struct rtn_rule_eval *x = &d->evals[i];
		json_array_append_new(
		    rules,
		    json_pack(
		        "{s:s, s:s, s:b, s:s, s:o, s:s?}", "rule", x->rule->name, "action",
		        x->rule->forever ? "keep" : rtn_action_name(x->rule->action), "applies",
		        x->applies, "why", x->why, "deadline",
		        rtn_time_to_json(x->deadline == RTN_TIME_MAX ? RTN_TIME_NONE : x->deadline),
		        "basis", x->rule->basis));
		/* An anchor of the subject: which record's event it was. */
		if (!x->rule->forever && RTN_ANCHOR_IS_SUBJECT(&x->rule->anchor) &&
		    x->anchor_at != RTN_TIME_NONE)
			json_object_set_new(
			    json_array_get(rules, json_array_size(rules) - 1), "anchor",
			    json_pack("{s:s, s:o, s:s}", "event", x->rule->anchor.event, "at",
			              rtn_time_to_json(x->anchor_at), "record",
			              x->anchor_record ? x->anchor_record : row.rec.id));
	}
	const char *basis = d->rule ? d->rule->basis : NULL;
	json_t *rule = d->rule ? json_string(d->rule->name)
	               : (d->outcome == RTN_OUT_DELETE && ev.erasure_request)
	                   ? json_sprintf("erasure:%s", ev.erasure_request)
	                   : json_null();
	json_t *decision =
	    json_pack("{s:s, s:o, s:o, s:s?, s:s}", "action", rtn_outcome_name(d->outcome), "at",
	              rtn_time_to_json(d->at), "rule", rule, "basis", basis, "reason",
	              d->reason ? d->reason : "");
	if (d->retained_by)
		json_object_set_new(decision, "retained_by", json_string(d->retained_by->name));
	*result = json_pack("{s:s, s:s, s:s, s:o, s:o, s:O, s:o}", "id", row.rec.id, "category",
	                    row.rec.category, "state", row.state, "schedule",
	                    rtn_engine_schedule_json(d, ev.erasure_request), "decision", decision,
	                    "holds", ev.holds, "rules", rules);
	json_t *review = review_json(e, &row, now);
	if (review)
		json_object_set_new(*result, "review", review);
	rtn_eval_fini(&ev);
	rtn_inv_row_fini(&row);
	return 0;
}

/* --- plan ------------------------------------------------------------------------- */

struct plan_item {
	rtn_time_t at;
	json_t *j;
};

struct plan_total {
	char *rule;
	const char *action;
	size_t n;
	rtn_time_t first, last;
};

struct plan_ctx {
	struct rtn_engine *e;
	rtn_time_t until;
	size_t limit, first_stage, total;
	struct plan_item *v;
	size_t n, cap;
	struct plan_total *t;
	size_t nt, tcap;
	rtn_time_t last;
	bool more;
};

static void plan_add(struct plan_ctx *p, rtn_time_t at, json_t *j)
{
	RTN_GROW(p->v, p->n + 1, p->cap);
	p->v[p->n].at = at;
	p->v[p->n].j = j;
	p->n++;
}

static void plan_count(struct plan_ctx *p, const char *rule, const char *action, rtn_time_t at)
{
	p->total++;
	for (size_t i = 0; i < p->nt; i++)
		if (p->t[i].action == action && strcmp(p->t[i].rule, rule) == 0) {
			struct plan_total *t = &p->t[i];
			t->n++;
			t->first = at < t->first ? at : t->first;
			t->last = at > t->last ? at : t->last;
			return;
		}
	RTN_GROW(p->t, p->nt + 1, p->tcap);
	p->t[p->nt++] = (struct plan_total){rtn_xstrdup(rule), action, 1, at, at};
}

static const char *plan_backend(const struct rtn_engine *e, const char *rule, const char *own)
{
	const struct rtn_rule *r = rule ? rtn_ruleset_find(e->rules, rule) : NULL;
	return r && r->backend ? r->backend : own;
}

/* Rows come in next_at order; once limit first-stage actions are listed, later rows can
 * only add later actions, so they are counted, not listed. */
static int plan_row(const struct rtn_inv_plan_row *row, void *ctx)
{
	struct plan_ctx *p = ctx;
	bool list = !(p->first_stage >= p->limit && row->sched.next_at > p->last);
	if (list)
		p->last = row->sched.next_at;
	else
		p->more = true;
	const struct rtn_inv_sched *s = &row->sched;
	struct {
		const char *action;
		rtn_time_t at;
		const char *rule;
		bool review;
	} ent[2] = {{"anonymize", s->anon_at, s->anon_rule, s->anon_review},
	            {"delete", s->del_at, s->del_rule, s->del_review}};
	for (int i = 0; i < 2; i++) {
		if (ent[i].at == RTN_TIME_NONE || ent[i].at > p->until || !ent[i].rule)
			continue;
		plan_count(p, ent[i].rule, ent[i].action, ent[i].at);
		if (!list)
			continue;
		const char *backend = plan_backend(p->e, ent[i].rule, row->backend);
		json_t *item = json_pack("{s:o, s:s, s:s, s:s, s:s, s:b, s:s?, s:s}", "at",
		                         rtn_time_to_json(ent[i].at), "action", ent[i].action,
		                         "record", row->id, "category", row->category, "rule",
		                         ent[i].rule, "review", ent[i].review, "backend", backend,
		                         "state", ent[i].at == s->next_at ? row->state : "active");
		/* Its notice, while it is still to be sent ("notify SPAN before") */
		if (item && s->notice_at != RTN_TIME_NONE && s->notice_for == ent[i].at &&
		    s->notice_rule && !strcmp(s->notice_rule, ent[i].rule))
			json_object_set_new(item, "notice", rtn_time_to_json(s->notice_at));
		plan_add(p, ent[i].at, item);
		if (ent[i].at == s->next_at)
			p->first_stage++;
	}
	return 0;
}

static int plan_cmp(const void *a, const void *b)
{
	const struct plan_item *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int total_cmp(const void *a, const void *b)
{
	const struct plan_total *x = a, *y = b;
	int c = strcmp(x->rule, y->rule);
	return c ? c : strcmp(x->action, y->action);
}

int rtn_engine_plan(struct rtn_engine *e, rtn_time_t until, const char *category, size_t limit,
                    json_t **result)
{
	struct plan_ctx p = {.e = e, .until = until, .limit = limit, .last = RTN_TIME_NONE};
	int r = rtn_inv_foreach_until(e->inv, until, category, plan_row, &p);
	/* What the plan leaves out, counted rather than left out silently. */
	struct rtn_inv_unscheduled u = {0};
	if (r == 0)
		r = rtn_inv_plan_unscheduled(e->inv, category, &u);
	if (p.n)
		qsort(p.v, p.n, sizeof(*p.v), plan_cmp);
	if (p.nt)
		qsort(p.t, p.nt, sizeof(*p.t), total_cmp);
	json_t *a = json_array(), *totals = json_array();
	size_t shown = p.n < limit ? p.n : limit;
	for (size_t i = 0; i < p.n; i++) {
		if (i < shown && r == 0)
			json_array_append_new(a, p.v[i].j);
		else
			json_decref(p.v[i].j);
	}
	for (size_t i = 0; i < p.nt; i++) {
		json_array_append_new(totals,
		                      json_pack("{s:s, s:s, s:I}", "rule", p.t[i].rule, "action",
		                                p.t[i].action, "count", (json_int_t)p.t[i].n));
		free(p.t[i].rule);
	}
	free(p.v);
	free(p.t);
	if (r < 0) {
		json_decref(a);
		json_decref(totals);
		return r;
	}
	*result = json_pack("{s:o, s:I, s:I, s:b, s:o, s:o, s:{s:I, s:I, s:I}}", "until",
	                    rtn_time_to_json(until), "count", (json_int_t)p.total, "shown",
	                    (json_int_t)shown, "truncated", p.total > shown, "actions", a, "totals",
	                    totals, "unscheduled", "held", (json_int_t)u.held, "no_deadline",
	                    (json_int_t)u.no_deadline, "unmanaged", (json_int_t)u.unmanaged);
	return 0;
}

static int id_order(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool plan_live(const char *state)
{
	static const char *const live[] = {"active", "anonymized", "queued",
	                                   "review", "paused",     "failed"};
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (!strcmp(state, live[i]))
			return true;
	return false;
}

int rtn_engine_plan_ids(struct rtn_engine *e, const char *const *ids, size_t n, rtn_time_t until,
                        json_t **totals)
{
	const char **v = rtn_xcalloc(n ? n : 1, sizeof(*v));
	memcpy(v, ids, n * sizeof(*v));
	qsort(v, n, sizeof(*v), id_order);
	struct plan_ctx p = {.e = e, .until = until, .limit = 0, .last = RTN_TIME_NONE};
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (i && !strcmp(v[i], v[i - 1]))
			continue; /* named twice: counted once, as the inventory has it once */
		struct rtn_inv_row row;
		int k = rtn_inv_get(e->inv, v[i], &row);
		if (k == -ENOENT)
			continue;
		if (k < 0) {
			r = -EIO;
			break;
		}
		/* As rtn_inv_foreach_until() picks the rows of a plan. */
		if (plan_live(row.state) && row.sched.next_at != RTN_TIME_NONE &&
		    row.sched.next_at <= until) {
			struct rtn_inv_plan_row pr = {row.rec.id, row.rec.category, row.rec.backend,
			                              row.state, row.sched};
			plan_row(&pr, &p);
		}
		rtn_inv_row_fini(&row);
	}
	free(v);
	if (p.nt)
		qsort(p.t, p.nt, sizeof(*p.t), total_cmp);
	json_t *a = json_array();
	for (size_t i = 0; i < p.nt; i++) {
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:o, s:o}", "rule", p.t[i].rule,
		                                   "action", p.t[i].action, "count",
		                                   (json_int_t)p.t[i].n, "first",
		                                   rtn_time_to_json(p.t[i].first), "last",
		                                   rtn_time_to_json(p.t[i].last)));
		free(p.t[i].rule);
	}
	for (size_t i = 0; i < p.n; i++)
		json_decref(p.v[i].j);
	free(p.v);
	free(p.t);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*totals = a;
	return 0;
}

/* --- subject ----------------------------------------------------------------------- */

struct subject_ctx {
	struct rtn_engine *e;
	json_t *a;
};

static int subject_row(const struct rtn_inv_row *row, void *ctx)
{
	struct subject_ctx *s = ctx;
	json_array_append_new(s->a, record_json(s->e, row));
	return 0;
}

int rtn_engine_subject(struct rtn_engine *e, const char *subject, rtn_time_t now, json_t **result)
{
	struct subject_ctx s = {e, json_array()};
	(void)now;
	int r = rtn_inv_foreach_subject(e->inv, subject, subject_row, &s);
	if (r < 0) {
		json_decref(s.a);
		return r;
	}
	*result = json_pack("{s:s, s:o}", "subject", subject, "records", s.a);
	return 0;
}
