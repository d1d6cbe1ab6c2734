/* engine.c - records and rules together: put, get, explain, plan, due actions */
#include "engine.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "util.h"

void rtn_engine_init(struct rtn_engine *e, struct rtn_inv *inv, const struct rtn_ruleset *rules)
{
	memset(e, 0, sizeof(*e));
	e->inv = inv;
	e->rules = rules;
	e->guard_window = RTN_GUARD_WINDOW;
	rtn_engine_refresh(e);
}

void rtn_engine_refresh(struct rtn_engine *e)
{
	e->holds_exist = rtn_inv_any_holds(e->inv);
	e->erasures_exist = rtn_inv_any_erasures(e->inv);
}

void rtn_engine_fini(struct rtn_engine *e)
{
	rtn_view_buf_fini(&e->vb);
}

void rtn_engine_set_rules(struct rtn_engine *e, const struct rtn_ruleset *rules)
{
	e->rules = rules;
}

/* --- transactions ------------------------------------------------------------------ */

static const char AUDIT_FULL[] = "the audit log cannot take entries: nothing was changed";

int rtn_engine_begin(struct rtn_engine *e)
{
	if (e->depth++ > 0)
		return 0;
	e->doomed = false;
	e->why[0] = '\0';
	if (rtn_inv_begin(e->inv) < 0) {
		e->depth = 0;
		return -EIO;
	}
	if (e->journal)
		e->journal->mark(e->journal->ctx);
	return 0;
}

int rtn_engine_commit(struct rtn_engine *e)
{
	if (e->depth <= 0 || e->doomed)
		return -EIO;
	if (e->depth > 1) {
		e->depth--;
		return 0;
	}
	if (e->journal && e->journal->sync(e->journal->ctx) < 0) {
		snprintf(e->why, sizeof(e->why), "%s", AUDIT_FULL);
		return -EIO;
	}
	if (rtn_inv_commit(e->inv) < 0)
		return -EIO;
	e->depth = 0;
	return 0;
}

int rtn_engine_end(struct rtn_engine *e, int r)
{
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0)
		rtn_engine_rollback(e);
	return r;
}

void rtn_engine_rollback(struct rtn_engine *e)
{
	if (e->depth == 0) {
		rtn_inv_rollback(e->inv); /* nothing of ours is open */
		return;
	}
	if (e->depth > 1) {
		e->depth--;
		e->doomed = true;
		return;
	}
	e->depth = 0;
	e->doomed = false;
	rtn_inv_rollback(e->inv);
	if (e->journal)
		e->journal->undo(e->journal->ctx);
	rtn_engine_refresh(e); /* holds or requests of the change are gone again */
}

const char *rtn_engine_errmsg(struct rtn_engine *e)
{
	if (e->why[0])
		return e->why;
	const char *m = rtn_inv_errmsg(e->inv);
	return m && strcmp(m, "not an error") != 0 ? m : "the inventory cannot be written";
}

int rtn_engine_audit(struct rtn_engine *e, const struct rtn_audit_entry *entry)
{
	if (!e->journal)
		return 0;
	if (e->journal->append(e->journal->ctx, entry) < 0) {
		snprintf(e->why, sizeof(e->why), "%s", AUDIT_FULL);
		return -EIO;
	}
	return 0;
}

void rtn_job_id(int64_t rid, const char *record, const char *action, const char *rule,
                rtn_time_t due, char out[RTN_JOB_ID_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int n = 0;
	char t[24];
	int tl = snprintf(t, sizeof(t), "%lld", (long long)due);
	if (!c || !EVP_DigestInit_ex(c, rtn_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, record, strlen(record) + 1) ||
	    !EVP_DigestUpdate(c, action, strlen(action) + 1) ||
	    !EVP_DigestUpdate(c, rule, strlen(rule) + 1) || !EVP_DigestUpdate(c, t, (size_t)tl) ||
	    !EVP_DigestFinal_ex(c, md, &n))
		abort(); /* libcrypto cannot fail on in-memory SHA-256 */
	EVP_MD_CTX_free(c);
	int at = snprintf(out, RTN_JOB_ID_LEN, "J-%010llx-", (unsigned long long)rid);
	rtn_hex(md, 6, out + at);
}

/* --- evaluating one record ------------------------------------------------------- */

struct eval {
	struct rtn_record_view v;
	struct rtn_decision d;
	json_t *holds; /* array of {"hold", "reason", "selector"} */
	const char *holdnames[8];
	char *erasure_request;
	char erasure_rule[RTN_ID_MAX + 16];
	char job_ids[2][RTN_JOB_ID_LEN]; /* of each schedule entry, filled by entry_job */
	const struct rtn_sched *next;    /* the entry derive() chose as next, or NULL */
	int64_t rid;                     /* the record's row id (0 before it has one) */
};

/* Decide rec now. A hold or erasure request that cannot be read makes it held (fail
 * closed) and returns -EIO: nothing may act on a record whose holds are unknown. */
static int evaluate(struct rtn_engine *e, const struct rtn_record *rec, rtn_time_t anonymized_at,
                    struct eval *ev, bool explain)
{
	static const char *const unknown[] = {"(holds cannot be read)"};
	int r = 0;
	memset(ev, 0, sizeof(*ev));
	rtn_record_view(rec, &e->vb, &ev->v);
	ev->v.anonymized_at = anonymized_at;
	if (e->holds_exist) {
		r = rtn_inv_holds_for(e->inv, rec->id, rec->subject, rec->category, &ev->holds);
		size_t n = json_array_size(ev->holds);
		for (size_t i = 0; i < n && i < 8; i++)
			ev->holdnames[i] = json_string_value(
			    json_object_get(json_array_get(ev->holds, i), "hold"));
		ev->v.holds = ev->holdnames;
		ev->v.nholds = n < 8 ? n : 8;
	} else {
		ev->holds = json_array();
	}
	/* An erasure request covers the records it was made for, until they are anonymised:
	 * looked up by record, never by subject (a record put later is not covered). A lookup
	 * that fails leaves the record held (below), never without its request. */
	if (e->erasures_exist && anonymized_at == RTN_TIME_NONE && r == 0) {
		rtn_time_t at;
		int k = rtn_inv_erasure_for(e->inv, rec->id, &at, &ev->erasure_request);
		if (k == 0) {
			ev->v.erasure_at = at;
			ev->v.erasure_request = ev->erasure_request;
			snprintf(ev->erasure_rule, sizeof(ev->erasure_rule), "erasure:%s",
			         ev->erasure_request);
		} else if (k != -ENOENT) {
			r = -EIO;
		}
	}
	if (r < 0) {
		ev->v.holds = (const char **)unknown;
		ev->v.nholds = 1;
	}
	if (explain)
		rtn_decide(e->rules, &ev->v, &ev->d);
	else
		rtn_decide_quick(e->rules, &ev->v, &ev->d);
	return r;
}

static void eval_fini(struct eval *ev)
{
	rtn_decision_free(&ev->d);
	json_decref(ev->holds);
	free(ev->erasure_request);
}

static const char *entry_rule(const struct eval *ev, const struct rtn_sched *s)
{
	return s->rule ? s->rule->name : ev->erasure_rule;
}

/* The job id of schedule entry s. */
static const char *entry_job(struct eval *ev, const struct rtn_sched *s)
{
	size_t i = (size_t)(s - ev->d.sched);
	if (!ev->job_ids[i][0])
		rtn_job_id(ev->rid, ev->v.id, rtn_action_name(s->action), entry_rule(ev, s), s->at,
		           ev->job_ids[i]);
	return ev->job_ids[i];
}

/* The stored state and schedule of a live record. A due entry makes the record queued
 * (review when its rule asks for a human, unless a reviewer approved exactly this action;
 * an action a reviewer rejected is skipped). */
static const char *derive(struct eval *ev, rtn_time_t anonymized_at, const char *mark,
                          rtn_time_t now, struct rtn_inv_sched *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->anon_at = sc->del_at = sc->next_at = RTN_TIME_NONE;
	if (ev->d.state == RTN_DS_UNMANAGED)
		return "unmanaged";
	if (ev->d.state == RTN_DS_HELD)
		return "held";
	const struct rtn_sched *next = NULL;
	for (size_t i = 0; i < ev->d.nsched; i++) {
		const struct rtn_sched *s = &ev->d.sched[i];
		if (s->action == RTN_ACT_ANONYMIZE) {
			sc->anon_at = s->at;
			sc->anon_rule = entry_rule(ev, s);
			sc->anon_review = s->review;
		} else {
			sc->del_at = s->at;
			sc->del_rule = entry_rule(ev, s);
			sc->del_review = s->review;
		}
		if (!next && !(mark && s->review && strncmp(mark, "reject ", 7) == 0 &&
		               strcmp(mark + 7, entry_job(ev, s)) == 0))
			next = s;
	}
	const char *idle = anonymized_at != RTN_TIME_NONE ? "anonymized" : "active";
	ev->next = next;
	if (!next)
		return idle;
	sc->next_at = next->at;
	sc->next_backend = next->backend;
	if (next->at > now)
		return idle;
	bool approved =
	    mark && strncmp(mark, "approve ", 8) == 0 && strcmp(mark + 8, entry_job(ev, next)) == 0;
	return next->review && !approved ? "review" : "queued";
}

/* A record whose job is out (sent, or waiting to be retried) or dead: only a result
 * or jobs.retry may change it, so nothing is ever sent twice under two ids. */
static bool job_out(const struct rtn_inv_row *row)
{
	return (strcmp(row->state, "queued") == 0 && row->sched.next_at == RTN_TIME_NONE) ||
	       strcmp(row->state, "failed") == 0;
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
		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:b, s:s?}", "action",
		                                   rtn_action_name(s->action), "at",
		                                   rtn_time_to_json(s->at), "rule", rule, "review",
		                                   s->review, "backend", s->backend));
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
		return json_pack("{s:s, s:s, s:s, s:[], s:{s:o, s:s?, s:s?}}", "id", row->rec.id,
		                 "category", row->rec.category, "state", "deleted", "schedule",
		                 "deleted", "at", rtn_time_to_json(row->deleted_at), "rule",
		                 row->deleted_rule, "job", row->deleted_job);
	struct eval ev;
	evaluate(e, &row->rec, row->anonymized_at, &ev, false);
	json_t *o = json_pack(
	    "{s:s, s:s, s:s?, s:s?, s:O?, s:o, s:O, s:s, s:o, s:o}", "id", row->rec.id, "category",
	    row->rec.category, "subject", row->rec.subject, "backend", row->rec.backend, "locator",
	    row->rec.locator, "events", events_json(row->rec.events), "attributes",
	    row->rec.attributes, "state", row->state, "schedule",
	    rtn_engine_schedule_json(&ev.d, ev.erasure_request), "holds", hold_names(ev.holds));
	if (row->anonymized_at != RTN_TIME_NONE)
		json_object_set_new(o, "anonymized", rtn_time_to_json(row->anonymized_at));
	eval_fini(&ev);
	return o;
}

static json_t *brief_json(const char *id, const char *state, const struct eval *ev)
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
};

void rtn_put_free(struct rtn_put *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		rtn_record_fini(&p->recs[i]);
		rtn_inv_text_fini(&p->text[i]);
	}
	free(p->recs);
	free(p->text);
	free(p->given_created);
	free(p);
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
		json_object_foreach(args, k, v) if (strcmp(k, "records") && strcmp(k, "quiet"))
		{
			snprintf(err, errlen, "unknown argument \"%.*s\" beside \"records\"",
			         rtn_utf8_clip(k, 64), k);
			return -EINVAL;
		}
	}
	json_t *single = NULL;
	if (!batch && json_object_get(args, "quiet")) {
		single = json_copy(args); /* "quiet" is an argument, not a member of the record */
		json_object_del(single, "quiet");
	}
	struct rtn_put *p = rtn_xcalloc(1, sizeof(*p));
	p->batch = batch;
	p->quiet = json_is_true(json_object_get(args, "quiet"));
	p->n = batch ? json_array_size(list) : 1;
	p->recs = rtn_xcalloc(p->n, sizeof(*p->recs));
	p->text = rtn_xcalloc(p->n, sizeof(*p->text));
	p->given_created = rtn_xcalloc(p->n, sizeof(*p->given_created));
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
	size_t inserted = 0;
	const char **states = rtn_xcalloc(n, sizeof(*states));
	bool *fresh = rtn_xcalloc(n, sizeof(*fresh));
	for (size_t i = 0; i < n && r == 0; i++) {
		struct rtn_record *rec = &p->recs[i];
		struct eval ev;
		struct rtn_inv_sched sc;
		/* Most records of a put are new: insert as new, and only when the id exists
		 * look at the stored record and decide again as an update. */
		if (evaluate(e, rec, RTN_TIME_NONE, &ev, false) < 0)
			r = -EIO;
		const char *state = derive(&ev, RTN_TIME_NONE, NULL, now, &sc);
		int64_t rid = 0;
		int ir =
		    r < 0 ? 0 : rtn_inv_upsert(e->inv, rec, &p->text[i], state, &sc, now, &rid);
		bool existed = ir == -EEXIST;
		if (ir < 0 && !existed)
			r = -EIO;
		struct rtn_inv_brief b = {0};
		b.anonymized_at = RTN_TIME_NONE;
		if (existed && rtn_inv_lookup(e->inv, rec->id, &b) < 0)
			r = -EIO;
		if (existed && r == 0 && b.deleted_at != RTN_TIME_NONE) {
			snprintf(err, errlen,
			         "record \"%.*s\" was deleted; its id stays a tombstone and is "
			         "not reused",
			         rtn_utf8_clip(rec->id, 128), rec->id);
			r = -EEXIST;
		} else if (existed && r == 0 && b.busy) {
			snprintf(err, errlen,
			         "record \"%.*s\" has a job out (or a dead one); it cannot change "
			         "until the backend answers or jobs.retry",
			         rtn_utf8_clip(rec->id, 128), rec->id);
			r = -EEXIST;
		} else if (existed && r == 0) {
			/* A put without "created" keeps the record's original creation time. */
			if (!p->given_created[i] && b.created != RTN_TIME_NONE) {
				json_object_set_new(rec->events, "created",
				                    json_integer(b.created));
				free(p->text[i].events);
				p->text[i].events = NULL; /* encoded again */
			}
			eval_fini(&ev);
			if (evaluate(e, rec, b.anonymized_at, &ev, false) < 0)
				r = -EIO;
			ev.rid = b.rid;
			/* A reviewer's decision on this action stands: a re-put keeps it. */
			state = derive(&ev, b.anonymized_at,
			               b.review_mark[0] ? b.review_mark : NULL, now, &sc);
			rid = b.rid;
			if (r == 0 &&
			    rtn_inv_upsert(e->inv, rec, &p->text[i], state, &sc, now, &rid) < 0)
				r = -EIO;
		}
		if (r == 0 && out)
			json_array_append_new(out, brief_json(rec->id, state, &ev));
		states[i] = state; /* static strings */
		fresh[i] = !existed;
		inserted += !existed;
		eval_fini(&ev);
	}
	/* Told before the commit: the audit entries are on disk before the records are. */
	for (size_t i = 0; i < n && r == 0 && e->put_hook; i++)
		e->put_hook(e->hook_ctx, &p->recs[i], fresh[i], states[i]);
	if (r == 0 && rtn_engine_commit(e) < 0)
		r = -EIO;
	if (r < 0) {
		if (r == -EIO)
			snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		rtn_engine_rollback(e);
		json_decref(out);
		free(states);
		free(fresh);
		return r;
	}
	free(states);
	free(fresh);
	*result = json_pack("{s:I, s:I, s:I}", "count", (json_int_t)n, "inserted",
	                    (json_int_t)inserted, "updated", (json_int_t)(n - inserted));
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
static int restore(struct rtn_engine *e, struct rtn_inv_row *row, rtn_time_t now, json_t **result,
                   char *err, size_t errlen)
{
	struct eval ev;
	struct rtn_inv_sched sc;
	int r = evaluate(e, &row->rec, row->anonymized_at, &ev, false);
	ev.rid = row->rid;
	const char *state = derive(&ev, row->anonymized_at, row->review_mark, now, &sc);
	bool began = r == 0 && rtn_engine_begin(e) == 0;
	if (!began || (rtn_inv_upsert(e->inv, &row->rec, NULL, state, &sc, now, &row->rid) < 0 ||
	               rtn_engine_commit(e) < 0))
		r = -EIO;
	if (r < 0) {
		snprintf(err, errlen, "inventory: %s", rtn_engine_errmsg(e));
		if (began)
			rtn_engine_rollback(e);
	} else {
		*result = brief_json(row->rec.id, state, &ev);
	}
	eval_fini(&ev);
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
	bool out = job_out(row);
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
	json_object_set_new(row.rec.events, event, json_integer(t));
	r = restore(e, &row, now, result, err, errlen);
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
	r = restore(e, &row, now, result, err, errlen);
	rtn_inv_row_fini(&row);
	return r;
}

int rtn_engine_forget(struct rtn_engine *e, const char *id, json_t **result, char *err,
                      size_t errlen)
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
	if (r == 0 && (rtn_inv_forget(e->inv, row.rid) < 0 || rtn_engine_commit(e) < 0))
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

int rtn_engine_explain(struct rtn_engine *e, const char *id, rtn_time_t now, json_t **result)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(e->inv, id, &row);
	(void)now;
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
	struct eval ev;
	evaluate(e, &row.rec, row.anonymized_at, &ev, true);
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
	eval_fini(&ev);
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

static void plan_count(struct plan_ctx *p, const char *rule, const char *action)
{
	p->total++;
	for (size_t i = 0; i < p->nt; i++)
		if (p->t[i].action == action && strcmp(p->t[i].rule, rule) == 0) {
			p->t[i].n++;
			return;
		}
	RTN_GROW(p->t, p->nt + 1, p->tcap);
	p->t[p->nt++] = (struct plan_total){rtn_xstrdup(rule), action, 1};
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
		plan_count(p, ent[i].rule, ent[i].action);
		if (!list)
			continue;
		const char *backend = plan_backend(p->e, ent[i].rule, row->backend);
		plan_add(p, ent[i].at,
		         json_pack("{s:o, s:s, s:s, s:s, s:s, s:b, s:s?, s:s}", "at",
		                   rtn_time_to_json(ent[i].at), "action", ent[i].action, "record",
		                   row->id, "category", row->category, "rule", ent[i].rule,
		                   "review", ent[i].review, "backend", backend, "state",
		                   ent[i].at == s->next_at ? row->state : "active"));
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
	*result = json_pack("{s:o, s:I, s:I, s:b, s:o, s:o}", "until", rtn_time_to_json(until),
	                    "count", (json_int_t)p.total, "shown", (json_int_t)shown, "truncated",
	                    p.total > shown, "actions", a, "totals", totals);
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

/* --- recomputing and advancing ------------------------------------------------------ */

static bool sched_equal(const struct rtn_inv_sched *a, const struct rtn_inv_sched *b)
{
	return a->anon_at == b->anon_at && a->del_at == b->del_at && a->next_at == b->next_at &&
	       a->anon_review == b->anon_review && a->del_review == b->del_review &&
	       !strcmp(a->anon_rule ? a->anon_rule : "", b->anon_rule ? b->anon_rule : "") &&
	       !strcmp(a->del_rule ? a->del_rule : "", b->del_rule ? b->del_rule : "");
}

/* Cancel job j, which the current decision no longer wants sent: audited. */
static int cancel_job(struct rtn_engine *e, struct rtn_inv_job *j, const char *why, rtn_time_t now)
{
	free(j->state);
	j->state = rtn_xstrdup("cancelled");
	free(j->last_error);
	j->last_error = rtn_xstrdup(why);
	j->next_attempt = RTN_TIME_NONE;
	j->updated = now;
	if (rtn_inv_job_put(e->inv, j) < 0)
		return -EIO;
	return rtn_journal_inv_job(e, "job.cancelled", j, NULL, why, NULL);
}

/* Why a job is cancelled, from the decision that replaced it. */
static void cancel_why(struct eval *ev, const char *state, char *buf, size_t n)
{
	char at[RTN_TIME_FMT_LEN];
	if (!strcmp(state, "held")) {
		snprintf(buf, n, "a hold applies (%s)", ev->v.nholds ? ev->v.holds[0] : "?");
	} else if (ev->next) {
		if (rtn_time_format(ev->next->at, at, sizeof(at)) < 0)
			snprintf(at, sizeof(at), "%lld", (long long)ev->next->at);
		snprintf(buf, n, "the current rules want %s by rule %.128s at %s instead",
		         rtn_action_name(ev->next->action), entry_rule(ev, ev->next), at);
	} else {
		snprintf(buf, n, "the current rules set no action");
	}
}

static bool waiting_state(const char *s)
{
	return !strcmp(s, "active") || !strcmp(s, "anonymized");
}

int rtn_engine_redecide(struct rtn_engine *e, int64_t rid, rtn_time_t now, bool guard,
                        bool *changed, bool *paused)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get_rid(e->inv, rid, &row);
	*changed = false;
	if (paused)
		*paused = false;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (row.deleted_at != RTN_TIME_NONE) {
		/* Deleted already (a late result of an earlier job): nothing more goes out. */
		struct rtn_inv_job j;
		int k = rtn_inv_job_latest_for(e->inv, rid, &j);
		if (k == 0 && strcmp(j.state, "sent") != 0) {
			*changed = true;
			r = cancel_job(e, &j, "the record was deleted already", now);
		} else if (k < 0 && k != -ENOENT) {
			r = -EIO;
		}
		if (k == 0)
			rtn_inv_job_fini(&j);
		rtn_inv_row_fini(&row);
		return r;
	}
	struct eval ev;
	struct rtn_inv_sched sc;
	r = evaluate(e, &row.rec, row.anonymized_at, &ev, false);
	ev.rid = row.rid;
	const char *state = derive(&ev, row.anonymized_at, row.review_mark, now, &sc);
	bool was_due = !strcmp(row.state, "queued") || !strcmp(row.state, "review") ||
	               !strcmp(row.state, "paused");
	bool held_row = !strcmp(row.state, "held"), force = false;
	if (r < 0)
		goto out; /* holds unknown: change nothing */
	if (job_out(&row) || held_row) {
		/* A job exists (out, waiting to retry, or dead): it stays only while it is the
		 * action the current decision wants now. */
		struct rtn_inv_job j;
		int k = rtn_inv_job_latest_for(e->inv, rid, &j);
		if (k == -ENOENT && !held_row)
			goto out; /* failed without a job (an orphan): stays visible */
		if (k < 0 && k != -ENOENT) {
			r = -EIO;
			goto out;
		}
		if (k == 0) {
			bool current = !strcmp(state, "queued") && ev.next &&
			               !strcmp(entry_job(&ev, ev.next), j.job);
			const char *keep = NULL;
			if (!strcmp(j.state, "sent"))
				/* Out: it cannot be called back. A hold shows on the record at
				 * once; the result, or its absence, settles the job. */
				keep = !strcmp(state, "held") ? "held" : "queued";
			else if (current)
				keep = !strcmp(j.state, "dead") ? "failed" : "queued";
			if (keep) {
				if (strcmp(row.state, keep) != 0) {
					*changed = true;
					if (rtn_inv_mark(e->inv, rid, keep, RTN_TIME_NONE, now) < 0)
						r = -EIO;
				}
				rtn_inv_job_fini(&j);
				goto out;
			}
			char why[256];
			cancel_why(&ev, state, why, sizeof(why));
			r = cancel_job(e, &j, why, now);
			rtn_inv_job_fini(&j);
			if (r < 0)
				goto out;
			was_due = false; /* decided afresh */
			force = true;
		}
	}
	/* The guard holds back what a change makes due now, and what it brings forward to
	 * within its window: deadlines a few minutes after a reload are as much a typo's
	 * doing as those at the instant. */
	bool is_due = !strcmp(state, "queued") || !strcmp(state, "review");
	bool soon = is_due || (waiting_state(state) && sc.next_at != RTN_TIME_NONE &&
	                       sc.next_at <= now + e->guard_window);
	bool earlier =
	    force || row.sched.next_at == RTN_TIME_NONE || sc.next_at < row.sched.next_at;
	if (soon && !strcmp(row.state, "paused"))
		state = "paused"; /* stays paused until rules.confirm */
	else if (soon && !was_due && earlier && guard) {
		state = "paused";
		if (paused)
			*paused = true;
	}
	if (force || strcmp(state, row.state) != 0 || !sched_equal(&sc, &row.sched)) {
		*changed = true;
		if (rtn_inv_set_schedule(e->inv, rid, state, &sc, now) < 0)
			r = -EIO;
	}
out:
	eval_fini(&ev);
	rtn_inv_row_fini(&row);
	return r;
}

int rtn_engine_recompute_all(struct rtn_engine *e, rtn_time_t now, size_t batch, bool guard,
                             size_t *changed, size_t *paused)
{
	int64_t *rids = rtn_xcalloc(batch, sizeof(*rids)), after = 0;
	int r = 0;
	*changed = 0;
	*paused = 0;
	rtn_engine_refresh(e);
	for (;;) {
		int n = rtn_inv_rids_after(e->inv, after, rids, (int)batch);
		if (n <= 0) {
			r = n;
			break;
		}
		if ((r = rtn_engine_begin(e)) < 0)
			break;
		size_t c_batch = 0, p_batch = 0;
		for (int i = 0; i < n && r == 0; i++) {
			bool c, p;
			r = rtn_engine_redecide(e, rids[i], now, guard, &c, &p);
			c_batch += c;
			p_batch += p;
		}
		if (r == 0)
			r = rtn_engine_commit(e);
		if (r < 0) {
			rtn_engine_rollback(e);
			break;
		}
		*changed += c_batch; /* counted once committed */
		*paused += p_batch;
		after = rids[n - 1];
	}
	free(rids);
	return r;
}

int rtn_engine_advance(struct rtn_engine *e, rtn_time_t now, size_t max, size_t *n)
{
	int64_t *rids = rtn_xcalloc(max, sizeof(*rids));
	*n = 0;
	int k = rtn_inv_due_rids(e->inv, now, rids, (int)max), r = 0;
	if (k <= 0) {
		free(rids);
		return k;
	}
	if ((r = rtn_engine_begin(e)) == 0) {
		for (int i = 0; i < k && r == 0; i++) {
			bool c;
			r = rtn_engine_redecide(e, rids[i], now, false, &c, NULL);
		}
		if ((r = rtn_engine_end(e, r)) == 0)
			*n = (size_t)k;
	}
	free(rids);
	return r;
}
