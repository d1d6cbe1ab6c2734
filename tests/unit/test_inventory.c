/* test_inventory.c - the inventory's storage interface, through inventory.h only
 *
 * Nothing here knows which implementation it talks to: open_inventory() is the one place
 * that opens one, so the same tests run against another implementation (PostgreSQL) by
 * making it open that one instead.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inventory.h"

#define NOW ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */

static char dir[64];
static char db[96];
static struct rtn_inv *inv;

/* The inventory under test, open; every test starts from an empty one. */
static struct rtn_inv *open_inventory(void)
{
	char err[256] = "";
	struct rtn_inv *i = NULL;
	int r = rtn_inv_open(db, &i, err, sizeof(err));
	ck_assert_msg(r == 0, "cannot open %s: %s", db, err);
	ck_assert_ptr_nonnull(i);
	return i;
}

static void setup(void)
{
	strcpy(dir, "/tmp/test_inventory.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/inventory.db", dir);
	inv = open_inventory();
}

static void teardown(void)
{
	rtn_inv_close(inv);
	inv = NULL;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void reopen(void)
{
	rtn_inv_close(inv);
	inv = open_inventory();
}

/* A schedule: delete by rule "r.del" at del (and so next), by backend "bk". */
static struct rtn_inv_sched sched_del(rtn_time_t del)
{
	return (struct rtn_inv_sched){.anon_at = RTN_TIME_NONE,
	                              .del_at = del,
	                              .next_at = del,
	                              .del_rule = "r.del",
	                              .next_backend = del == RTN_TIME_NONE ? NULL : "bk"};
}

/* Write a record (new when *rid is 0): category, subject (may be NULL), a locator
 * {"path": id} and attribute {"kept": true}, created at NOW. */
static int write_rec(const char *id, const char *category, const char *subject, const char *state,
                     const struct rtn_inv_sched *sc, int64_t *rid)
{
	struct rtn_record r = {
	    .id = (char *)id,
	    .category = (char *)category,
	    .subject = (char *)subject,
	    .backend = "bk",
	    .locator = json_pack("{s:s}", "path", id),
	    .attributes = json_pack("{s:b}", "kept", 1),
	    .events = json_pack("{s:I}", "created", (json_int_t)NOW),
	};
	int ret = rtn_inv_upsert(inv, &r, NULL, state, sc, NOW, rid);
	json_decref(r.locator);
	json_decref(r.attributes);
	json_decref(r.events);
	return ret;
}

/* A new record; its row id. */
static int64_t put(const char *id, const char *category, const char *subject, const char *state,
                   rtn_time_t next_at)
{
	struct rtn_inv_sched sc = sched_del(next_at);
	int64_t rid = 0;
	ck_assert_int_eq(write_rec(id, category, subject, state, &sc, &rid), 0);
	ck_assert_int_gt(rid, 0);
	return rid;
}

static const char *state_of(int64_t rid)
{
	static char st[16];
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get_rid(inv, rid, &row), 0);
	snprintf(st, sizeof(st), "%s", row.state);
	rtn_inv_row_fini(&row);
	return st;
}

static rtn_time_t next_at_of(int64_t rid)
{
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get_rid(inv, rid, &row), 0);
	rtn_time_t t = row.sched.next_at;
	rtn_inv_row_fini(&row);
	return t;
}

static bool exists(const char *id)
{
	struct rtn_inv_row row;
	int r = rtn_inv_get(inv, id, &row);
	if (r == 0)
		rtn_inv_row_fini(&row);
	ck_assert(r == 0 || r == -ENOENT);
	return r == 0;
}

/* The JSON text of j (compact, keys sorted); caller frees. */
static char *dump(const json_t *j)
{
	ck_assert_ptr_nonnull(j);
	char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* j (a new reference, freed here) prints as want. */
static void assert_json(json_t *j, const char *want)
{
	char *t = dump(j);
	ck_assert_str_eq(t, want);
	free(t);
	json_decref(j);
}

static struct rtn_inv_job job_of(const char *job, int64_t rid, const char *backend,
                                 const char *state, rtn_time_t due, rtn_time_t next_attempt,
                                 rtn_time_t updated)
{
	return (struct rtn_inv_job){.job = (char *)job,
	                            .rid = rid,
	                            .record = "rec",
	                            .category = "t.doc",
	                            .action = "delete",
	                            .rule = "r.del",
	                            .backend = (char *)backend,
	                            .state = (char *)state,
	                            .attempts = 1,
	                            .due = due,
	                            .next_attempt = next_attempt,
	                            .sent_at = NOW,
	                            .done_at = RTN_TIME_NONE,
	                            .created = NOW,
	                            .updated = updated};
}

static const char *job_state(const char *job)
{
	static char st[16];
	struct rtn_inv_job j;
	ck_assert_int_eq(rtn_inv_job_get(inv, job, &j), 0);
	snprintf(st, sizeof(st), "%s", j.state);
	rtn_inv_job_fini(&j);
	return st;
}

/* --- opening ----------------------------------------------------------------------- */

START_TEST(reopen_keeps_the_data)
{
	int64_t rid = put("a", "t.doc", "person:1", "active", NOW + 60);
	ck_assert_int_eq(rtn_inv_meta_set(inv, "k", "v"), 0);
	reopen();
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get(inv, "a", &row), 0);
	ck_assert_int_eq(row.rid, rid);
	ck_assert_str_eq(row.rec.category, "t.doc");
	ck_assert_str_eq(row.rec.subject, "person:1");
	ck_assert_str_eq(row.rec.backend, "bk");
	ck_assert_str_eq(row.state, "active");
	ck_assert_int_eq(row.sched.del_at, NOW + 60);
	ck_assert_int_eq(row.sched.next_at, NOW + 60);
	ck_assert_int_eq(row.sched.anon_at, RTN_TIME_NONE);
	ck_assert_str_eq(row.sched.del_rule, "r.del");
	ck_assert_ptr_null(row.sched.anon_rule);
	ck_assert_str_eq(row.sched.next_backend, "bk");
	ck_assert_int_eq(row.created, NOW);
	ck_assert_int_eq(row.anonymized_at, RTN_TIME_NONE);
	ck_assert_int_eq(row.deleted_at, RTN_TIME_NONE);
	char *t = dump(row.rec.locator);
	ck_assert_str_eq(t, "{\"path\":\"a\"}");
	free(t);
	t = dump(row.rec.attributes);
	ck_assert_str_eq(t, "{\"kept\":true}");
	free(t);
	t = dump(row.rec.events);
	ck_assert_str_eq(t, "{\"created\":1767225600}");
	free(t);
	rtn_inv_row_fini(&row);
	char *v = rtn_inv_meta_get(inv, "k");
	ck_assert_str_eq(v, "v");
	free(v);
}
END_TEST

START_TEST(a_uri_is_refused_and_makes_no_file)
{
	static const char *const uris[] = {"postgresql://u:secret@host/db", "sqlite://x.db",
	                                   "x+y.z-1://anything"};
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		char err[256] = "";
		struct rtn_inv *other = NULL;
		ck_assert_int_eq(rtn_inv_open(uris[i], &other, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_null(other);
		ck_assert_msg(strstr(err, "://") != NULL, "%s", err);
		ck_assert_msg(strstr(err, "secret") == NULL, "the message shows a password: %s",
		              err);
	}
	char err[256] = "";
	struct rtn_inv *other = NULL;
	ck_assert_int_eq(rtn_inv_open(uris[0], &other, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "\"postgresql://\""));
	ck_assert_int_ne(access("postgresql:", F_OK), 0);
	/* A colon in a file name is a path, not a scheme. */
	char path[128];
	snprintf(path, sizeof(path), "%s/in:ventory.db", dir);
	ck_assert_int_eq(rtn_inv_open(path, &other, err, sizeof(err)), 0);
	rtn_inv_close(other);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/* --- records ----------------------------------------------------------------------- */

START_TEST(upsert_inserts_replaces_and_refuses_a_taken_id)
{
	int64_t rid = put("a", "t.doc", "person:1", "active", NOW + 60);
	int64_t rid2 = put("b", "t.doc", NULL, "active", NOW + 60);
	ck_assert_int_ne(rid, rid2);
	/* a second insert of "a" writes nothing */
	struct rtn_inv_sched sc = sched_del(NOW + 5);
	int64_t fresh = 0;
	ck_assert_int_eq(write_rec("a", "other.doc", "person:2", "held", &sc, &fresh), -EEXIST);
	ck_assert_int_eq(fresh, 0);
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get(inv, "a", &row), 0);
	ck_assert_str_eq(row.rec.category, "t.doc");
	ck_assert_str_eq(row.state, "active");
	rtn_inv_row_fini(&row);
	/* a replace by row id */
	ck_assert_int_eq(write_rec("a", "other.doc", "person:2", "held", &sc, &rid), 0);
	ck_assert_int_eq(rtn_inv_get_rid(inv, rid, &row), 0);
	ck_assert_str_eq(row.rec.id, "a");
	ck_assert_str_eq(row.rec.category, "other.doc");
	ck_assert_str_eq(row.rec.subject, "person:2");
	ck_assert_str_eq(row.state, "held");
	ck_assert_int_eq(row.sched.next_at, NOW + 5);
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(rtn_inv_get_rid(inv, rid2, &row), 0);
	ck_assert_str_eq(row.rec.id, "b");
	ck_assert_ptr_null(row.rec.subject);
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(rtn_inv_get(inv, "nobody", &row), -ENOENT);
	ck_assert_int_eq(rtn_inv_get_rid(inv, rid2 + 100, &row), -ENOENT);
}
END_TEST

START_TEST(text_of_encodes_what_upsert_stores)
{
	struct rtn_record r = {
	    .id = "t",
	    .category = "t.doc",
	    .locator = json_pack("[i,s]", 1, "x"),
	    .attributes = json_pack("{s:s}", "a", "b"),
	    .events = json_pack("{s:I}", "created", (json_int_t)NOW - 10),
	};
	struct rtn_inv_text t;
	rtn_inv_text_of(&r, &t);
	ck_assert_str_eq(t.locator, "[1,\"x\"]");
	ck_assert_str_eq(t.attributes, "{\"a\":\"b\"}");
	ck_assert_str_eq(t.events, "{\"created\":1767225590}");
	struct rtn_inv_sched sc = sched_del(RTN_TIME_NONE);
	int64_t rid = 0;
	ck_assert_int_eq(rtn_inv_upsert(inv, &r, &t, "unmanaged", &sc, NOW, &rid), 0);
	rtn_inv_text_fini(&t);
	ck_assert_ptr_null(t.locator);
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get(inv, "t", &row), 0);
	char *s = dump(row.rec.locator);
	ck_assert_str_eq(s, "[1,\"x\"]");
	free(s);
	ck_assert_ptr_null(row.rec.subject);
	ck_assert_ptr_null(row.rec.backend);
	ck_assert_ptr_null(row.sched.next_backend);
	ck_assert_int_eq(row.sched.next_at, RTN_TIME_NONE);
	rtn_inv_row_fini(&row);
	struct rtn_inv_brief b;
	ck_assert_int_eq(rtn_inv_lookup(inv, "t", &b), 0);
	ck_assert_int_eq(b.created, NOW - 10);
	json_decref(r.locator);
	/* no locator: none encoded, none stored */
	r.locator = NULL;
	rtn_inv_text_of(&r, &t);
	ck_assert_ptr_null(t.locator);
	ck_assert_int_eq(rtn_inv_upsert(inv, &r, &t, "unmanaged", &sc, NOW, &rid), 0);
	rtn_inv_text_fini(&t);
	ck_assert_int_eq(rtn_inv_get(inv, "t", &row), 0);
	ck_assert_ptr_null(row.rec.locator);
	rtn_inv_row_fini(&row);
	json_decref(r.attributes);
	json_decref(r.events);
}
END_TEST

START_TEST(lookup_tells_busy_and_marks)
{
	int64_t a = put("a", "t.doc", NULL, "active", NOW + 60);
	int64_t q = put("q", "t.doc", NULL, "queued", NOW);
	int64_t f = put("f", "t.doc", NULL, "failed", NOW);
	struct rtn_inv_brief b;
	ck_assert_int_eq(rtn_inv_lookup(inv, "a", &b), 0);
	ck_assert_int_eq(b.rid, a);
	ck_assert_int_eq(b.created, NOW);
	ck_assert_int_eq(b.anonymized_at, RTN_TIME_NONE);
	ck_assert_int_eq(b.deleted_at, RTN_TIME_NONE);
	ck_assert(!b.busy);
	ck_assert_str_eq(b.review_mark, "");
	ck_assert_int_eq(rtn_inv_lookup(inv, "q", &b), 0);
	ck_assert(!b.busy); /* queued, due: not out yet */
	ck_assert_int_eq(rtn_inv_mark(inv, q, "queued", RTN_TIME_NONE, NOW), 0);
	ck_assert_int_eq(rtn_inv_lookup(inv, "q", &b), 0);
	ck_assert(b.busy); /* its job is out */
	ck_assert_int_eq(rtn_inv_lookup(inv, "f", &b), 0);
	ck_assert_int_eq(b.rid, f);
	ck_assert(b.busy);
	ck_assert_int_eq(rtn_inv_set_review_mark(inv, a, "approve J-1"), 0);
	ck_assert_int_eq(rtn_inv_set_anonymized(inv, a, NOW + 1), 0);
	ck_assert_int_eq(rtn_inv_lookup(inv, "a", &b), 0);
	ck_assert_str_eq(b.review_mark, "approve J-1");
	ck_assert_int_eq(b.anonymized_at, NOW + 1);
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get_rid(inv, a, &row), 0);
	ck_assert_str_eq(row.review_mark, "approve J-1");
	ck_assert_int_eq(row.anonymized_at, NOW + 1);
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(rtn_inv_set_review_mark(inv, a, NULL), 0);
	ck_assert_int_eq(rtn_inv_lookup(inv, "a", &b), 0);
	ck_assert_str_eq(b.review_mark, "");
	ck_assert_int_eq(rtn_inv_lookup(inv, "nobody", &b), -ENOENT);
}
END_TEST

START_TEST(forget_removes_the_record_and_what_is_about_it)
{
	put("a", "t.doc", "person:1", "active", NOW + 60);
	int64_t b = put("b", "t.doc", "person:1", "active", NOW + 60);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "id", "b", "H1", "case", "uid:0", NOW), 0);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "subject", "person:1", "H2", NULL, "uid:0", NOW), 0);
	struct rtn_inv_job j = job_of("J-b", b, "bk", "sent", NOW, RTN_TIME_NONE, NOW);
	ck_assert_int_eq(rtn_inv_job_insert(inv, &j), 0);
	char req[32];
	size_t covered = 0;
	ck_assert_int_eq(rtn_inv_erasure_add(inv, "person:1", "letter", "uid:0", NOW, NOW + 100,
	                                     NULL, req, &covered),
	                 0);
	ck_assert_uint_eq(covered, 2);
	ck_assert_int_eq(rtn_inv_forget(inv, b), 0);
	ck_assert(!exists("b"));
	ck_assert(exists("a"));
	struct rtn_inv_job got;
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-b", &got), -ENOENT);
	json_t *holds = NULL;
	ck_assert_int_eq(rtn_inv_holds_for(inv, "b", NULL, NULL, &holds), 0);
	assert_json(holds, "[]");
	ck_assert_int_eq(rtn_inv_holds_for(inv, "a", "person:1", NULL, &holds), 0);
	ck_assert_uint_eq(json_array_size(holds), 1); /* the subject's hold stays */
	json_decref(holds);
	/* a new record (it may get the forgotten one's row id) is not under the request */
	put("c", "t.doc", "person:3", "active", NOW + 60);
	rtn_time_t at;
	char *r = NULL;
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "c", &at, &r), -ENOENT);
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "a", &at, &r), 0);
	ck_assert_str_eq(r, req);
	free(r);
	json_t *open = rtn_inv_erasures_open(inv);
	ck_assert_uint_eq(json_array_size(open), 1);
	json_t *e = json_array_get(open, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "records")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "forgotten")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "retained")), 1);
	json_decref(open);
	ck_assert_int_eq(rtn_inv_forget(inv, b + 100), -ENOENT);
	ck_assert_int_eq(rtn_inv_live_count(inv), 2);
}
END_TEST

/* --- schedules ------------------------------------------------------------------- */

START_TEST(set_schedule_next_wake_and_due_rids)
{
	rtn_time_t at = 0;
	char *id = (char *)"x";
	ck_assert_int_eq(rtn_inv_next_wake(inv, &at, &id), 0);
	ck_assert_int_eq(at, RTN_TIME_NONE);
	ck_assert_ptr_null(id);
	int64_t r10 = put("r10", "t.doc", NULL, "active", NOW + 10);
	int64_t r5 = put("r5", "t.doc", NULL, "anonymized", NOW + 5);
	int64_t r20 = put("r20", "t.doc", NULL, "active", NOW + 20);
	put("q1", "t.doc", NULL, "queued", NOW + 1); /* due already: not waited for */
	put("h1", "t.doc", NULL, "held", NOW + 2);
	ck_assert_int_eq(rtn_inv_next_wake(inv, &at, &id), 0);
	ck_assert_int_eq(at, NOW + 5);
	ck_assert_str_eq(id, "r5");
	free(id);
	ck_assert_int_eq(rtn_inv_next_wake(inv, &at, NULL), 0);
	ck_assert_int_eq(at, NOW + 5);
	int64_t rids[8];
	ck_assert_int_eq(rtn_inv_due_rids(inv, NOW + 15, rids, 8), 2);
	ck_assert_int_eq(rids[0], r5);
	ck_assert_int_eq(rids[1], r10);
	ck_assert_int_eq(rtn_inv_due_rids(inv, NOW + 100, rids, 1), 1);
	ck_assert_int_eq(rids[0], r5);
	ck_assert_int_eq(rtn_inv_due_rids(inv, NOW + 4, rids, 8), 0);
	/* a new schedule moves r20 first */
	struct rtn_inv_sched sc = {.anon_at = NOW + 1,
	                           .del_at = NOW + 30,
	                           .next_at = NOW + 1,
	                           .anon_rule = "r.anon",
	                           .del_rule = "r.del",
	                           .anon_review = true,
	                           .next_backend = "bk2"};
	ck_assert_int_eq(rtn_inv_set_schedule(inv, r20, "active", &sc, NOW + 3), 0);
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get_rid(inv, r20, &row), 0);
	ck_assert_str_eq(row.state, "active");
	ck_assert_int_eq(row.sched.anon_at, NOW + 1);
	ck_assert_int_eq(row.sched.del_at, NOW + 30);
	ck_assert_str_eq(row.sched.anon_rule, "r.anon");
	ck_assert(row.sched.anon_review);
	ck_assert(!row.sched.del_review);
	ck_assert_str_eq(row.sched.next_backend, "bk2");
	ck_assert_int_eq(row.updated, NOW + 3);
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(rtn_inv_due_rids(inv, NOW + 15, rids, 8), 3);
	ck_assert_int_eq(rids[0], r20);
	ck_assert_int_eq(rids[1], r5);
	ck_assert_int_eq(rids[2], r10);
	ck_assert_int_eq(rtn_inv_next_wake(inv, &at, NULL), 0);
	ck_assert_int_eq(at, NOW + 1);
}
END_TEST

START_TEST(rids_after_walks_the_live_records)
{
	int64_t a = put("a", "t.doc", NULL, "active", NOW + 10);
	int64_t b = put("b", "t.doc", NULL, "active", NOW + 10);
	int64_t c = put("c", "t.doc", NULL, "active", NOW + 10);
	int64_t d = put("d", "t.doc", NULL, "active", NOW + 10);
	ck_assert_int_eq(rtn_inv_tombstone(inv, b, "r.del", "J-1", "deleted", NOW), 0);
	int64_t rids[8];
	ck_assert_int_eq(rtn_inv_rids_after(inv, 0, rids, 8), 3);
	ck_assert_int_eq(rids[0], a);
	ck_assert_int_eq(rids[1], c);
	ck_assert_int_eq(rids[2], d);
	ck_assert_int_eq(rtn_inv_rids_after(inv, a, rids, 1), 1);
	ck_assert_int_eq(rids[0], c);
	ck_assert_int_eq(rtn_inv_rids_after(inv, d, rids, 8), 0);
}
END_TEST

struct seen {
	char ids[8][16];
	char states[8][16];
	int n, stop_after;
};

static int plan_cb(const struct rtn_inv_plan_row *row, void *ctx)
{
	struct seen *s = ctx;
	ck_assert_int_lt(s->n, 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", row->id);
	snprintf(s->states[s->n], sizeof(s->states[0]), "%s", row->state);
	ck_assert_str_eq(row->backend, "bk");
	ck_assert_str_eq(row->sched.del_rule, "r.del");
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

START_TEST(foreach_until_in_next_at_order)
{
	put("a", "t.doc", NULL, "active", NOW + 30);
	put("b", "u.doc", NULL, "queued", NOW + 10);
	put("c", "t.doc", NULL, "review", NOW + 20);
	put("d", "t.doc", NULL, "held", NOW + 15);   /* held: nothing to do */
	put("e", "t.doc", NULL, "active", NOW + 99); /* later */
	put("f", "t.doc", NULL, "paused", NOW + 5);
	struct seen s = {0};
	ck_assert_int_eq(rtn_inv_foreach_until(inv, NOW + 30, NULL, plan_cb, &s), 0);
	ck_assert_int_eq(s.n, 4);
	ck_assert_str_eq(s.ids[0], "f");
	ck_assert_str_eq(s.ids[1], "b");
	ck_assert_str_eq(s.ids[2], "c");
	ck_assert_str_eq(s.ids[3], "a");
	ck_assert_str_eq(s.states[1], "queued");
	ck_assert_str_eq(s.states[2], "review");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(rtn_inv_foreach_until(inv, NOW + 30, "t.doc", plan_cb, &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.ids[0], "f");
	ck_assert_str_eq(s.ids[1], "c");
	ck_assert_str_eq(s.ids[2], "a");
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	ck_assert_int_eq(rtn_inv_foreach_until(inv, NOW + 100, NULL, plan_cb, &s), 0);
	ck_assert_int_eq(s.n, 2);
}
END_TEST

static int subject_cb(const struct rtn_inv_row *row, void *ctx)
{
	struct seen *s = ctx;
	ck_assert_int_lt(s->n, 8);
	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", row->rec.id);
	ck_assert_str_eq(row->rec.subject, "person:1");
	return 0;
}

START_TEST(foreach_subject_in_id_order)
{
	put("z", "t.doc", "person:1", "active", NOW + 30);
	put("m", "t.doc", "person:2", "active", NOW + 30);
	put("b", "u.doc", "person:1", "held", NOW + 30);
	struct seen s = {0};
	ck_assert_int_eq(rtn_inv_foreach_subject(inv, "person:1", subject_cb, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.ids[0], "b");
	ck_assert_str_eq(s.ids[1], "z");
}
END_TEST

/* --- holds ----------------------------------------------------------------------- */

START_TEST(holds_add_find_select_remove)
{
	ck_assert(!rtn_inv_any_holds(inv));
	int64_t a = put("a", "t.doc", "person:1", "active", NOW + 60);
	int64_t b = put("b", "t.doc", "person:1", "active", NOW + 60);
	int64_t c = put("c", "u.doc", "person:2", "active", NOW + 60);
	int64_t gone = put("g", "t.doc", "person:1", "active", NOW + 60);
	ck_assert_int_eq(rtn_inv_tombstone(inv, gone, "r.del", "J-9", "deleted", NOW), 0);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "id", "a", "H-z", "case 1", "uid:0", NOW), 0);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "id", "a", "H-z", "again", "uid:0", NOW), -EEXIST);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "subject", "person:1", "H-a", NULL, NULL, NOW), 0);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "category", "u.doc", "H-cat", "audit", "u", NOW), 0);
	ck_assert(rtn_inv_any_holds(inv));
	json_t *h = NULL;
	ck_assert_int_eq(rtn_inv_holds_for(inv, "a", "person:1", "t.doc", &h), 0);
	assert_json(h,
	            "[{\"hold\":\"H-a\",\"reason\":null,\"selector\":{\"subject\":\"person:1\"}},"
	            "{\"hold\":\"H-z\",\"reason\":\"case 1\",\"selector\":{\"id\":\"a\"}}]");
	ck_assert_int_eq(rtn_inv_holds_for(inv, "c", "person:2", "u.doc", &h), 0);
	assert_json(h, "[{\"hold\":\"H-cat\",\"reason\":\"audit\",\"selector\":{\"category\":"
	               "\"u.doc\"}}]");
	ck_assert_int_eq(rtn_inv_holds_for(inv, "b", NULL, "t.doc", &h), 0);
	assert_json(h, "[]");
	int64_t *rids = NULL;
	ck_assert_int_eq(rtn_inv_select(inv, "id", "a", &rids), 1);
	ck_assert_int_eq(rids[0], a);
	free(rids);
	ck_assert_int_eq(rtn_inv_select(inv, "subject", "person:1", &rids), 2); /* not g */
	ck_assert(rids[0] != rids[1] && (rids[0] == a || rids[0] == b) &&
	          (rids[1] == a || rids[1] == b));
	free(rids);
	ck_assert_int_eq(rtn_inv_select(inv, "category", "u.doc", &rids), 1);
	ck_assert_int_eq(rids[0], c);
	free(rids);
	rids = NULL;
	ck_assert_int_eq(rtn_inv_select(inv, "id", "g", &rids), 0);
	free(rids);
	ck_assert_int_eq(rtn_inv_hold_remove(inv, "id", "a", "H-z"), 0);
	ck_assert_int_eq(rtn_inv_hold_remove(inv, "id", "a", "H-z"), -ENOENT);
	ck_assert_int_eq(rtn_inv_hold_remove(inv, "subject", "person:1", "H-other"), -ENOENT);
	ck_assert_int_eq(rtn_inv_holds_for(inv, "a", NULL, NULL, &h), 0);
	assert_json(h, "[]");
	ck_assert_int_eq(rtn_inv_hold_remove(inv, "subject", "person:1", "H-a"), 0);
	ck_assert_int_eq(rtn_inv_hold_remove(inv, "category", "u.doc", "H-cat"), 0);
	ck_assert(!rtn_inv_any_holds(inv));
}
END_TEST

/* --- erasure requests ------------------------------------------------------------- */

static json_int_t member(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ck_assert_msg(json_is_integer(v), "no integer %s", k);
	return json_integer_value(v);
}

START_TEST(erasure_requests_cover_and_count)
{
	ck_assert(!rtn_inv_any_erasures(inv));
	int64_t a = put("a", "t.doc", "person:1", "active", NOW + 100);
	int64_t q = put("q", "t.doc", "person:1", "queued", NOW);
	int64_t an = put("an", "t.doc", "person:1", "anonymized", NOW + 100);
	ck_assert_int_eq(rtn_inv_set_anonymized(inv, an, NOW - 1), 0);
	put("o", "t.doc", "person:2", "active", NOW + 100);
	char req[32];
	size_t covered = 99;
	ck_assert_int_eq(rtn_inv_erasure_add(inv, "person:1", "letter", "uid:0", NOW, NOW + 50,
	                                     NULL, req, &covered),
	                 0);
	ck_assert_str_eq(req, "R-000001");
	ck_assert_uint_eq(covered, 2); /* a and q: not the anonymised one, not person:2's */
	ck_assert(rtn_inv_any_erasures(inv));
	put("late", "t.doc", "person:1", "active", NOW + 100); /* put after: not covered */
	rtn_time_t at = 0;
	char *r = NULL;
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "a", &at, &r), 0);
	ck_assert_int_eq(at, NOW);
	ck_assert_str_eq(r, "R-000001");
	free(r);
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "late", &at, &r), -ENOENT);
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "o", &at, &r), -ENOENT);
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "an", &at, &r), -ENOENT);
	json_t *open = rtn_inv_erasures_open(inv);
	ck_assert_uint_eq(json_array_size(open), 1);
	json_t *e = json_array_get(open, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "request")), "R-000001");
	ck_assert_str_eq(json_string_value(json_object_get(e, "subject")), "person:1");
	ck_assert_str_eq(json_string_value(json_object_get(e, "reason")), "letter");
	ck_assert_int_eq(member(e, "records"), 2);
	ck_assert_int_eq(member(e, "retained"), 1); /* a: waits, deleted after the request */
	ck_assert_int_eq(member(e, "pending"), 1);  /* q: due */
	ck_assert_int_eq(member(e, "deleted"), 0);
	json_decref(open);
	ck_assert_int_eq(rtn_inv_tombstone(inv, q, "erasure:R-000001", "J-1", "deleted", NOW + 1),
	                 0);
	ck_assert_int_eq(rtn_inv_set_anonymized(inv, a, NOW + 2), 0);
	open = rtn_inv_erasures_open(inv);
	e = json_array_get(open, 0);
	ck_assert_int_eq(member(e, "deleted"), 1);
	ck_assert_int_eq(member(e, "anonymized"), 1);
	ck_assert_int_eq(member(e, "retained"), 0);
	ck_assert_int_eq(member(e, "pending"), 0);
	ck_assert_int_eq(member(e, "forgotten"), 0);
	json_decref(open);
	ck_assert(!rtn_inv_any_erasures(inv)); /* nothing live and unanonymised is covered */
	/* a second request, of a subject whose record a rule keeps */
	ck_assert_int_eq(rtn_inv_erasure_add(inv, "person:2", NULL, "uid:0", NOW + 5, NOW + 50,
	                                     NULL, req, &covered),
	                 0);
	ck_assert_str_eq(req, "R-000002");
	ck_assert_uint_eq(covered, 1);
	char *seq = rtn_inv_meta_get(inv, "erasure_seq");
	ck_assert_str_eq(seq, "2");
	free(seq);
	open = rtn_inv_erasures_open(inv);
	ck_assert_uint_eq(json_array_size(open), 2); /* oldest first */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(open, 1), "request")),
	                 "R-000002");
	json_decref(open);
	ck_assert_int_eq(rtn_inv_erasure_complete(inv, "R-000001", NULL, NOW + 10), 0);
	ck_assert_int_eq(rtn_inv_erasure_complete(inv, "R-000002", NULL, NOW + 10), 0);
	open = rtn_inv_erasures_open(inv);
	assert_json(open, "[]");
	/* completed: R-000001 keeps nothing (a is anonymised), R-000002 keeps o, retained */
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "a", &at, &r), -ENOENT);
	ck_assert_int_eq(rtn_inv_erasure_for(inv, "o", &at, &r), 0);
	ck_assert_str_eq(r, "R-000002");
	ck_assert_int_eq(at, NOW + 5);
	free(r);
}
END_TEST

/* --- jobs ------------------------------------------------------------------------ */

START_TEST(job_insert_get_put_done)
{
	int64_t rid = put("a", "t.doc", NULL, "queued", NOW);
	struct rtn_inv_job j = job_of("J-1", rid, "bk", "sent", NOW, RTN_TIME_NONE, NOW);
	j.last_error = "none yet";
	ck_assert_int_eq(rtn_inv_job_insert(inv, &j), 0);
	ck_assert_int_eq(rtn_inv_job_insert(inv, &j), -EIO); /* a taken job id */
	struct rtn_inv_job g;
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-1", &g), 0);
	ck_assert_str_eq(g.job, "J-1");
	ck_assert_int_eq(g.rid, rid);
	ck_assert_str_eq(g.record, "rec");
	ck_assert_str_eq(g.category, "t.doc");
	ck_assert_str_eq(g.action, "delete");
	ck_assert_str_eq(g.rule, "r.del");
	ck_assert_str_eq(g.backend, "bk");
	ck_assert_str_eq(g.state, "sent");
	ck_assert_int_eq(g.attempts, 1);
	ck_assert_int_eq(g.due, NOW);
	ck_assert_int_eq(g.next_attempt, RTN_TIME_NONE);
	ck_assert_int_eq(g.sent_at, NOW);
	ck_assert_int_eq(g.done_at, RTN_TIME_NONE);
	ck_assert_str_eq(g.last_error, "none yet");
	rtn_inv_job_fini(&g);
	ck_assert_int_eq(rtn_inv_job_open_for(inv, rid, &g), 0);
	ck_assert_str_eq(g.job, "J-1");
	rtn_inv_job_fini(&g);
	ck_assert_int_eq(rtn_inv_job_latest_for(inv, rid, &g), 0);
	ck_assert_str_eq(g.job, "J-1");
	rtn_inv_job_fini(&g);
	/* put replaces */
	j = job_of("J-1", rid, "bk", "retry", NOW, NOW + 30, NOW + 1);
	j.attempts = 2;
	ck_assert_int_eq(rtn_inv_job_put(inv, &j), 0);
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-1", &g), 0);
	ck_assert_str_eq(g.state, "retry");
	ck_assert_int_eq(g.attempts, 2);
	ck_assert_int_eq(g.next_attempt, NOW + 30);
	ck_assert_ptr_null(g.last_error);
	rtn_inv_job_fini(&g);
	/* done: only by its own backend, once */
	ck_assert_int_eq(rtn_inv_job_done(inv, "J-1", "other", NOW + 2, "ok", "deleted"), -ENOENT);
	ck_assert_str_eq(job_state("J-1"), "retry");
	ck_assert_int_eq(rtn_inv_job_done(inv, "J-1", "bk", NOW + 2, "ok", "deleted"), 0);
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-1", &g), 0);
	ck_assert_str_eq(g.state, "done");
	ck_assert_int_eq(g.done_at, NOW + 2);
	ck_assert_int_eq(g.updated, NOW + 2);
	ck_assert_int_eq(g.next_attempt, RTN_TIME_NONE);
	ck_assert_str_eq(g.last_error, "ok");
	rtn_inv_job_fini(&g);
	ck_assert_int_eq(rtn_inv_job_done(inv, "J-1", "bk", NOW + 3, "again", "deleted"), -ENOENT);
	ck_assert_int_eq(rtn_inv_job_done(inv, "J-none", "bk", NOW + 3, NULL, "deleted"), -ENOENT);
	ck_assert_int_eq(rtn_inv_job_open_for(inv, rid, &g), -ENOENT);
	ck_assert_int_eq(rtn_inv_job_latest_for(inv, rid, &g), -ENOENT);
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-none", &g), -ENOENT);
	/* the newest of several that are out or dead */
	j = job_of("J-2", rid, "bk", "dead", NOW, RTN_TIME_NONE, NOW + 5);
	ck_assert_int_eq(rtn_inv_job_insert(inv, &j), 0);
	j = job_of("J-3", rid, "bk", "dead", NOW, RTN_TIME_NONE, NOW + 9);
	ck_assert_int_eq(rtn_inv_job_insert(inv, &j), 0);
	ck_assert_int_eq(rtn_inv_job_latest_for(inv, rid, &g), 0);
	ck_assert_str_eq(g.job, "J-3");
	rtn_inv_job_fini(&g);
	ck_assert_int_eq(rtn_inv_job_open_for(inv, rid, &g), -ENOENT); /* dead is not out */
}
END_TEST

START_TEST(retries_due_unanswered_and_cancelled)
{
	int64_t a = put("a", "t.doc", NULL, "queued", NOW);
	int64_t b = put("b", "t.doc", NULL, "queued", NOW);
	rtn_time_t at = 0;
	ck_assert_int_eq(rtn_inv_jobs_next_retry(inv, &at), 0);
	ck_assert_int_eq(at, RTN_TIME_NONE);
	struct rtn_inv_job jobs[] = {
	    job_of("J-r20", a, "bk", "retry", NOW, NOW + 20, NOW),
	    job_of("J-r10", b, "bk", "retry", NOW, NOW + 10, NOW),
	    job_of("J-r99", a, "bk", "retry", NOW, NOW + 99, NOW),
	    job_of("J-o5", a, "other", "retry", NOW, NOW + 5, NOW),
	    job_of("J-s1", a, "bk", "sent", NOW, RTN_TIME_NONE, NOW),
	    job_of("J-s2", a, "bk", "sent", NOW, RTN_TIME_NONE, NOW),
	    job_of("J-s3", a, "other", "sent", NOW, RTN_TIME_NONE, NOW),
	};
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		ck_assert_int_eq(rtn_inv_job_insert(inv, &jobs[i]), 0);
	ck_assert_int_eq(rtn_inv_jobs_next_retry(inv, &at), 0);
	ck_assert_int_eq(at, NOW + 5);
	char *ids[8];
	ck_assert_int_eq(rtn_inv_jobs_retry_due(inv, "bk", NOW + 30, 8, ids), 2);
	ck_assert_str_eq(ids[0], "J-r10");
	ck_assert_str_eq(ids[1], "J-r20");
	free(ids[0]);
	free(ids[1]);
	ck_assert_int_eq(rtn_inv_jobs_retry_due(inv, "bk", NOW + 30, 1, ids), 1);
	ck_assert_str_eq(ids[0], "J-r10");
	free(ids[0]);
	ck_assert_int_eq(rtn_inv_jobs_retry_due(inv, "bk", NOW + 9, 8, ids), 0);
	/* one unanswered job; then all of one backend; then all */
	ck_assert_int_eq(rtn_inv_job_unanswered(inv, "J-s1", NOW + 40), 0);
	ck_assert_str_eq(job_state("J-s1"), "retry");
	ck_assert_int_eq(rtn_inv_job_unanswered(inv, "J-r10", NOW + 40), 0); /* not sent: stays */
	struct rtn_inv_job g;
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-r10", &g), 0);
	ck_assert_int_eq(g.next_attempt, NOW + 10);
	rtn_inv_job_fini(&g);
	ck_assert_int_eq(rtn_inv_jobs_unanswered(inv, "bk", NOW + 41), 1);
	ck_assert_int_eq(rtn_inv_job_get(inv, "J-s2", &g), 0);
	ck_assert_str_eq(g.state, "retry");
	ck_assert_int_eq(g.next_attempt, NOW + 41);
	rtn_inv_job_fini(&g);
	ck_assert_str_eq(job_state("J-s3"), "sent");
	ck_assert_int_eq(rtn_inv_jobs_unanswered(inv, NULL, NOW + 42), 1);
	ck_assert_str_eq(job_state("J-s3"), "retry");
	ck_assert_int_eq(rtn_inv_jobs_unanswered(inv, NULL, NOW + 43), 0);
	/* a hold cancels a record's retry */
	ck_assert_int_eq(rtn_inv_job_cancel_retry(inv, b, NOW + 50), 1);
	ck_assert_str_eq(job_state("J-r10"), "cancelled");
	ck_assert_str_eq(job_state("J-r20"), "retry"); /* a's */
	ck_assert_int_eq(rtn_inv_job_cancel_retry(inv, b, NOW + 51), 0);
}
END_TEST

START_TEST(jobs_list_dead_and_open)
{
	int64_t a = put("a", "t.doc", NULL, "queued", NOW);
	struct rtn_inv_job jobs[] = {
	    job_of("J-1", a, "bk", "done", NOW + 30, RTN_TIME_NONE, NOW + 1),
	    job_of("J-2", a, "bk", "dead", NOW + 20, RTN_TIME_NONE, NOW + 3),
	    job_of("J-3", a, "bk", "retry", NOW + 10, NOW + 60, NOW + 2),
	    job_of("J-4", a, "bk", "dead", NOW + 5, RTN_TIME_NONE, NOW + 4),
	    job_of("J-5", a, "bk", "sent", NOW + 15, RTN_TIME_NONE, NOW + 5),
	};
	jobs[4].category = "u.doc";
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		ck_assert_int_eq(rtn_inv_job_insert(inv, &jobs[i]), 0);
	json_t *l = rtn_inv_jobs_list(inv, NULL, 10);
	ck_assert_uint_eq(json_array_size(l), 5);
	static const char *const newest_first[] = {"J-5", "J-4", "J-2", "J-3", "J-1"};
	for (size_t i = 0; i < 5; i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, i), "job")),
		                 newest_first[i]);
	/* next_attempt is shown for a retry only */
	ck_assert(json_is_string(json_object_get(json_array_get(l, 3), "next_attempt")));
	ck_assert(json_is_null(json_object_get(json_array_get(l, 0), "next_attempt")));
	json_decref(l);
	l = rtn_inv_jobs_list(inv, "dead", 1);
	ck_assert_uint_eq(json_array_size(l), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 0), "job")), "J-4");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l, 0), "state")), "dead");
	json_decref(l);
	char **ids = NULL;
	int n = rtn_inv_jobs_dead(inv, NULL, &ids);
	ck_assert_int_eq(n, 2);
	ck_assert((!strcmp(ids[0], "J-2") && !strcmp(ids[1], "J-4")) ||
	          (!strcmp(ids[0], "J-4") && !strcmp(ids[1], "J-2")));
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	ck_assert_int_eq(rtn_inv_jobs_dead(inv, "J-2", &ids), 1);
	ck_assert_str_eq(ids[0], "J-2");
	free(ids[0]);
	free(ids);
	ck_assert_int_eq(rtn_inv_jobs_dead(inv, "J-3", &ids), 0);
	free(ids);
	assert_json(rtn_inv_count_jobs(inv), "{\"dead\":2,\"done\":1,\"retry\":1,\"sent\":1}");
}
END_TEST

static int open_job_cb(const struct rtn_inv_job *j, void *ctx)
{
	struct seen *s = ctx;
	ck_assert_int_lt(s->n, 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", j->job);
	snprintf(s->states[s->n], sizeof(s->states[0]), "%s", j->state);
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

START_TEST(foreach_open_job_in_due_order)
{
	int64_t a = put("a", "t.doc", NULL, "queued", NOW);
	struct rtn_inv_job jobs[] = {
	    job_of("J-1", a, "bk", "sent", NOW + 30, RTN_TIME_NONE, NOW),
	    job_of("J-2", a, "bk", "retry", NOW + 10, NOW + 60, NOW),
	    job_of("J-3", a, "bk", "done", NOW + 5, RTN_TIME_NONE, NOW),
	    job_of("J-4", a, "bk", "sent", NOW + 20, RTN_TIME_NONE, NOW),
	    job_of("J-5", a, "bk", "sent", NOW + 99, RTN_TIME_NONE, NOW),
	};
	jobs[3].category = "u.doc";
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		ck_assert_int_eq(rtn_inv_job_insert(inv, &jobs[i]), 0);
	struct seen s = {0};
	ck_assert_int_eq(rtn_inv_foreach_open_job(inv, NOW + 30, NULL, open_job_cb, &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.ids[0], "J-2");
	ck_assert_str_eq(s.ids[1], "J-4");
	ck_assert_str_eq(s.ids[2], "J-1");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(rtn_inv_foreach_open_job(inv, NOW + 30, "t.doc", open_job_cb, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.ids[0], "J-2");
	ck_assert_str_eq(s.ids[1], "J-1");
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	ck_assert_int_eq(rtn_inv_foreach_open_job(inv, NOW + 100, NULL, open_job_cb, &s), 0);
	ck_assert_int_eq(s.n, 1);
}
END_TEST

START_TEST(queue_take_only_due_of_that_backend)
{
	struct rtn_inv_sched sc = sched_del(NOW + 3);
	int64_t late = 0;
	ck_assert_int_eq(write_rec("late", "t.doc", NULL, "queued", &sc, &late), 0); /* after now */
	int64_t b = put("b", "t.doc", "person:1", "queued", NOW - 5);
	int64_t a = put("a", "u.doc", NULL, "queued", NOW - 10);
	put("act", "t.doc", NULL, "active", NOW - 20); /* waiting, not queued */
	sc = sched_del(NOW - 30);
	sc.next_backend = "other";
	int64_t other = 0;
	ck_assert_int_eq(write_rec("oth", "t.doc", NULL, "queued", &sc, &other), 0);
	sc.next_backend = NULL;
	int64_t none = 0;
	ck_assert_int_eq(write_rec("none", "t.doc", NULL, "queued", &sc, &none), 0);
	struct rtn_inv_row rows[8];
	ck_assert_int_eq(rtn_inv_queue_take(inv, "bk", NOW, 8, rows), 2);
	ck_assert_int_eq(rows[0].rid, a);
	ck_assert_str_eq(rows[0].rec.id, "a");
	ck_assert_str_eq(rows[0].rec.category, "u.doc");
	ck_assert_str_eq(rows[0].locator_text, "{\"path\":\"a\"}");
	ck_assert_int_eq(rows[0].sched.next_at, NOW - 10);
	ck_assert_int_eq(rows[1].rid, b);
	ck_assert_str_eq(rows[1].rec.subject, "person:1");
	ck_assert_str_eq(rows[1].sched.del_rule, "r.del");
	for (int i = 0; i < 2; i++)
		rtn_inv_row_fini(&rows[i]);
	ck_assert_int_eq(rtn_inv_queue_take(inv, "bk", NOW, 1, rows), 1);
	ck_assert_int_eq(rows[0].rid, a);
	rtn_inv_row_fini(&rows[0]);
	ck_assert_int_eq(rtn_inv_queue_take(inv, "bk", NOW + 3, 8, rows), 3);
	ck_assert_int_eq(rows[2].rid, late);
	for (int i = 0; i < 3; i++)
		rtn_inv_row_fini(&rows[i]);
	ck_assert_int_eq(rtn_inv_queue_take(inv, "nobody", NOW, 8, rows), 0);
	/* the queued records no configured backend serves */
	int64_t rids[8];
	const char *const known[] = {"bk"};
	ck_assert_int_eq(rtn_inv_queue_orphans(inv, known, 1, NOW, 8, rids), 2);
	ck_assert_int_eq(rids[0], none);
	ck_assert_int_eq(rids[1], other);
	const char *const both[] = {"bk", "other"};
	ck_assert_int_eq(rtn_inv_queue_orphans(inv, both, 2, NOW, 8, rids), 1);
	ck_assert_int_eq(rids[0], none);
	ck_assert_int_eq(rtn_inv_queue_orphans(inv, NULL, 0, NOW, 8, rids), 4);
	ck_assert_int_eq(rtn_inv_queue_orphans(inv, NULL, 0, NOW, 2, rids), 2);
	/* the brief of one record */
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_job_brief(inv, b, &row), 0);
	ck_assert_int_eq(row.rid, b);
	ck_assert_str_eq(row.rec.id, "b");
	ck_assert_str_eq(row.locator_text, "{\"path\":\"b\"}");
	ck_assert_ptr_null(row.rec.locator);
	ck_assert_uint_eq(json_object_size(row.rec.attributes), 0);
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(rtn_inv_job_brief(inv, b + 100, &row), -ENOENT);
}
END_TEST

/* --- record transitions ------------------------------------------------------------ */

START_TEST(mark_and_tombstone)
{
	int64_t a = put("a", "t.doc", "person:1", "queued", NOW);
	ck_assert_int_eq(rtn_inv_mark(inv, a, "held", NOW + 7, NOW + 1), 0);
	ck_assert_str_eq(state_of(a), "held");
	ck_assert_int_eq(next_at_of(a), NOW + 7);
	ck_assert_int_eq(rtn_inv_mark(inv, a, "queued", RTN_TIME_NONE, NOW + 2), 0);
	ck_assert_int_eq(next_at_of(a), RTN_TIME_NONE);
	struct rtn_inv_sched sc = {.anon_at = NOW + 1,
	                           .del_at = NOW + 9,
	                           .next_at = NOW + 1,
	                           .anon_rule = "r.anon",
	                           .del_rule = "r.del",
	                           .del_review = true,
	                           .next_backend = "bk"};
	ck_assert_int_eq(rtn_inv_set_schedule(inv, a, "queued", &sc, NOW + 2), 0);
	ck_assert_int_eq(rtn_inv_set_review_mark(inv, a, "approve J-1"), 0);
	ck_assert_int_eq(rtn_inv_tombstone(inv, a, "r.del", "J-1", "deleted", NOW + 3), 0);
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get(inv, "a", &row), 0);
	ck_assert_str_eq(row.state, "deleted");
	ck_assert_str_eq(row.rec.category, "t.doc");
	ck_assert_ptr_null(row.rec.subject);
	ck_assert_ptr_null(row.rec.locator);
	ck_assert_ptr_null(row.rec.backend);
	ck_assert_uint_eq(json_object_size(row.rec.attributes), 0);
	ck_assert_uint_eq(json_object_size(row.rec.events), 0);
	ck_assert_int_eq(row.deleted_at, NOW + 3);
	ck_assert_str_eq(row.deleted_rule, "r.del");
	ck_assert_str_eq(row.deleted_job, "J-1");
	ck_assert_int_eq(row.sched.next_at, RTN_TIME_NONE);
	ck_assert_int_eq(row.sched.del_at, RTN_TIME_NONE);
	ck_assert_ptr_null(row.sched.del_rule);
	ck_assert_int_eq(row.sched.anon_at, RTN_TIME_NONE);
	ck_assert_ptr_null(row.sched.anon_rule);
	ck_assert(!row.sched.del_review);
	ck_assert_ptr_null(row.sched.next_backend);
	ck_assert_ptr_null(row.review_mark);
	ck_assert_int_eq(row.updated, NOW + 3);
	rtn_inv_row_fini(&row);
	struct rtn_inv_brief b;
	ck_assert_int_eq(rtn_inv_lookup(inv, "a", &b), 0);
	ck_assert_int_eq(b.deleted_at, NOW + 3);
	ck_assert_int_eq(rtn_inv_live_count(inv), 0);
}
END_TEST

START_TEST(paused_records_by_rule_and_released)
{
	/* p1 and p2 pause a delete (rule r.del), p3 an anonymisation (r.anon, for review) */
	int64_t p1 = put("p1", "t.doc", NULL, "paused", NOW); /* due now */
	int64_t p2 = put("p2", "t.doc", NULL, "paused", NOW + 50);
	struct rtn_inv_sched sc = {.anon_at = NOW - 1,
	                           .del_at = NOW + 99,
	                           .next_at = NOW - 1,
	                           .anon_rule = "r.anon",
	                           .del_rule = "r.del",
	                           .anon_review = true,
	                           .next_backend = "bk"};
	int64_t p3 = 0;
	ck_assert_int_eq(write_rec("p3", "t.doc", NULL, "paused", &sc, &p3), 0);
	int64_t p4 = put("p4", "t.doc", NULL, "paused", NOW + 60);
	ck_assert_int_eq(rtn_inv_set_anonymized(inv, p4, NOW - 100), 0);
	int64_t act = put("act", "t.doc", NULL, "active", NOW + 5);
	assert_json(rtn_inv_paused_by_rule(inv),
	            "[{\"cause\":\"rules\",\"records\":1,\"rule\":\"r.anon\"},"
	            "{\"cause\":\"rules\",\"records\":3,\"rule\":\"r.del\"}]");
	ck_assert_int_eq(rtn_inv_release_paused(inv, "import", NOW), 0);
	ck_assert_int_eq(rtn_inv_release_paused(inv, "rules", NOW), 4);
	ck_assert_str_eq(state_of(p1), "queued");
	ck_assert_str_eq(state_of(p2), "active");
	ck_assert_str_eq(state_of(p3), "review");
	ck_assert_str_eq(state_of(p4), "anonymized");
	ck_assert_str_eq(state_of(act), "active");
	assert_json(rtn_inv_paused_by_rule(inv), "[]");
	ck_assert_int_eq(rtn_inv_release_paused(inv, NULL, NOW), 0);
}
END_TEST

START_TEST(ids_in_state_and_deleted_between)
{
	put("r2", "t.doc", NULL, "review", NOW + 20);
	put("r1", "t.doc", NULL, "review", NOW + 10);
	put("r0", "t.doc", NULL, "review", NOW + 10);
	put("x", "t.doc", NULL, "active", NOW + 10);
	assert_json(rtn_inv_ids_in_state(inv, "review", 10), "[\"r0\",\"r1\",\"r2\"]");
	assert_json(rtn_inv_ids_in_state(inv, "review", 2), "[\"r0\",\"r1\"]");
	assert_json(rtn_inv_ids_in_state(inv, "held", 10), "[]");
	int64_t d1 = put("d1", "t.doc", NULL, "queued", NOW);
	int64_t d2 = put("d2", "t.doc", NULL, "queued", NOW);
	int64_t d3 = put("d3", "u.doc", NULL, "queued", NOW);
	int64_t d4 = put("d4", "t.doc", NULL, "queued", NOW);
	ck_assert_int_eq(rtn_inv_tombstone(inv, d1, "r.del", "J-1", "deleted", NOW + 100), 0);
	ck_assert_int_eq(rtn_inv_tombstone(inv, d2, "r.del", "J-2", "not_found", NOW + 150), 0);
	ck_assert_int_eq(rtn_inv_tombstone(inv, d3, "r.other", "J-3", "deleted", NOW + 199), 0);
	ck_assert_int_eq(rtn_inv_tombstone(inv, d4, "r.del", "J-4", "deleted", NOW + 200),
	                 0); /* until */
	/* A tombstone keeps its outcome: the backend deleted (d1) or found nothing (d2). */
	assert_json(rtn_inv_deleted_between(inv, NOW + 100, NOW + 200, NULL),
	            "[{\"category\":\"t.doc\",\"deleted\":1,\"not_found\":1,\"rule\":\"r.del\"},"
	            "{\"category\":\"u.doc\",\"deleted\":1,\"not_found\":0,\"rule\":\"r.other\"}]");
	assert_json(rtn_inv_deleted_between(inv, NOW + 101, NOW + 300, "t.doc"),
	            "[{\"category\":\"t.doc\",\"deleted\":1,\"not_found\":1,\"rule\":\"r.del\"}]");
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get(inv, "d2", &row), 0);
	ck_assert_str_eq(row.deleted_outcome, "not_found");
	rtn_inv_row_fini(&row);
	ck_assert_int_eq(rtn_inv_get(inv, "d1", &row), 0);
	ck_assert_str_eq(row.deleted_outcome, "deleted");
	rtn_inv_row_fini(&row);
	assert_json(rtn_inv_deleted_between(inv, NOW, NOW + 100, NULL), "[]");
}
END_TEST

START_TEST(counts_of_states_and_unmanaged)
{
	assert_json(rtn_inv_count_states(inv), "{\"total\":0}");
	assert_json(rtn_inv_count_jobs(inv), "{}");
	assert_json(rtn_inv_unmanaged(inv), "[]");
	ck_assert_int_eq(rtn_inv_live_count(inv), 0);
	put("a", "t.doc", NULL, "active", NOW + 5);
	put("b", "t.doc", NULL, "active", NOW + 5);
	put("u1", "z.doc", NULL, "unmanaged", RTN_TIME_NONE);
	put("u2", "y.doc", NULL, "unmanaged", RTN_TIME_NONE);
	put("u3", "z.doc", NULL, "unmanaged", RTN_TIME_NONE);
	int64_t d = put("d", "t.doc", NULL, "queued", NOW);
	ck_assert_int_eq(rtn_inv_tombstone(inv, d, "r.del", "J-1", "deleted", NOW), 0);
	assert_json(rtn_inv_count_states(inv),
	            "{\"active\":2,\"deleted\":1,\"total\":6,\"unmanaged\":3}");
	assert_json(rtn_inv_unmanaged(inv), "[{\"category\":\"y.doc\",\"records\":1},"
	                                    "{\"category\":\"z.doc\",\"records\":2}]");
	ck_assert_int_eq(rtn_inv_live_count(inv), 5);
}
END_TEST

static int collect_hold(const struct rtn_inv_hold *h, void *ctx)
{
	json_array_append_new(ctx, json_pack("[s, s, s, s?, I, s?]", h->kind, h->value, h->hold,
	                                     h->reason, (json_int_t)h->placed_at, h->by));
	return 0;
}

static json_t *holds_list(const char *kind, const char *value, const char *hold)
{
	json_t *a = json_array();
	ck_assert_int_eq(rtn_inv_holds_list(inv, kind, value, hold, collect_hold, a), 0);
	return a;
}

START_TEST(holds_listed_by_time_and_filtered)
{
	assert_json(holds_list(NULL, NULL, NULL), "[]");
	ck_assert_int_eq(rtn_inv_hold_add(inv, "id", "a", "lit", "case 1", "uid:7", NOW + 2), 0);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "subject", "person:1", "lit", NULL, NULL, NOW), 0);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "category", "u.doc", "audit", "a", "uid:0", NOW + 1),
	                 0);
	assert_json(holds_list(NULL, NULL, NULL),
	            "[[\"subject\",\"person:1\",\"lit\",null,1767225600,null],"
	            "[\"category\",\"u.doc\",\"audit\",\"a\",1767225601,\"uid:0\"],"
	            "[\"id\",\"a\",\"lit\",\"case 1\",1767225602,\"uid:7\"]]");
	assert_json(holds_list("id", NULL, NULL),
	            "[[\"id\",\"a\",\"lit\",\"case 1\",1767225602,\"uid:7\"]]");
	assert_json(holds_list("subject", "person:2", NULL), "[]");
	assert_json(holds_list(NULL, NULL, "lit"),
	            "[[\"subject\",\"person:1\",\"lit\",null,1767225600,null],"
	            "[\"id\",\"a\",\"lit\",\"case 1\",1767225602,\"uid:7\"]]");
	ck_assert_int_eq(rtn_inv_hold_remove(inv, "id", "a", "lit"), 0);
	assert_json(holds_list(NULL, NULL, "lit"),
	            "[[\"subject\",\"person:1\",\"lit\",null,1767225600,null]]");
}
END_TEST

/* The counts of what a plan leaves out agree with a count of every record. */
START_TEST(plan_unscheduled_counts)
{
	struct rtn_inv_unscheduled u = {-1, -1, -1};
	ck_assert_int_eq(rtn_inv_plan_unscheduled(inv, NULL, &u), 0);
	ck_assert(u.held == 0 && u.no_deadline == 0 && u.unmanaged == 0);
	put("a", "t.doc", NULL, "active", NOW + 5);            /* planned */
	put("k", "t.doc", NULL, "active", RTN_TIME_NONE);      /* no deadline */
	put("k2", "u.doc", NULL, "anonymized", RTN_TIME_NONE); /* no further deadline */
	put("h", "t.doc", NULL, "held", RTN_TIME_NONE);
	put("h2", "u.doc", NULL, "held", NOW + 5);
	put("u", "z.doc", NULL, "unmanaged", RTN_TIME_NONE);
	put("q", "t.doc", NULL, "queued", NOW); /* planned */
	int64_t d = put("d", "t.doc", NULL, "queued", NOW);
	ck_assert_int_eq(rtn_inv_tombstone(inv, d, "r.del", "J-1", "deleted", NOW), 0);
	ck_assert_int_eq(rtn_inv_plan_unscheduled(inv, NULL, &u), 0);
	ck_assert_int_eq(u.held, 2);
	ck_assert_int_eq(u.no_deadline, 2);
	ck_assert_int_eq(u.unmanaged, 1);
	ck_assert_int_eq(rtn_inv_plan_unscheduled(inv, "t.doc", &u), 0);
	ck_assert(u.held == 1 && u.no_deadline == 1 && u.unmanaged == 0);
	ck_assert_int_eq(rtn_inv_plan_unscheduled(inv, "none", &u), 0);
	ck_assert(u.held == 0 && u.no_deadline == 0 && u.unmanaged == 0);
	/* against the full count of states: held and unmanaged are states of their own */
	json_t *st = rtn_inv_count_states(inv);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "held")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "unmanaged")), 1);
	json_decref(st);
}
END_TEST

/* --- meta and transactions --------------------------------------------------------- */

START_TEST(meta_get_and_set)
{
	ck_assert_ptr_null(rtn_inv_meta_get(inv, "k"));
	ck_assert_int_eq(rtn_inv_meta_set(inv, "k", "one"), 0);
	ck_assert_int_eq(rtn_inv_meta_set(inv, "k", "two"), 0);
	ck_assert_int_eq(rtn_inv_meta_set(inv, "j", "other"), 0);
	char *v = rtn_inv_meta_get(inv, "k");
	ck_assert_str_eq(v, "two");
	free(v);
	v = rtn_inv_meta_get(inv, "j");
	ck_assert_str_eq(v, "other");
	free(v);
}
END_TEST

START_TEST(rollback_discards_and_commit_keeps)
{
	rtn_inv_rollback(inv); /* outside a transaction: nothing */
	ck_assert_int_eq(rtn_inv_begin(inv), 0);
	ck_assert_int_eq(rtn_inv_begin(inv), -EIO); /* flat: no nesting here */
	put("gone", "t.doc", NULL, "active", NOW + 5);
	ck_assert_int_eq(rtn_inv_meta_set(inv, "k", "rolled back"), 0);
	ck_assert(exists("gone")); /* a transaction reads its own writes */
	rtn_inv_rollback(inv);
	ck_assert(!exists("gone"));
	ck_assert_ptr_null(rtn_inv_meta_get(inv, "k"));
	ck_assert_int_eq(rtn_inv_begin(inv), 0);
	int64_t rid = put("kept", "t.doc", NULL, "active", NOW + 5);
	ck_assert_int_eq(rtn_inv_hold_add(inv, "id", "kept", "H", NULL, NULL, NOW), 0);
	ck_assert_int_eq(rtn_inv_commit(inv), 0);
	rtn_inv_rollback(inv); /* after the commit: nothing to undo */
	reopen();
	struct rtn_inv_row row;
	ck_assert_int_eq(rtn_inv_get(inv, "kept", &row), 0);
	ck_assert_int_eq(row.rid, rid);
	rtn_inv_row_fini(&row);
	ck_assert(rtn_inv_any_holds(inv));
	ck_assert(!exists("gone"));
	ck_assert_ptr_nonnull(rtn_inv_errmsg(inv));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("inventory");
	struct {
		const char *name;
		const TTest *tests[8];
	} cases[] = {
	    {"open", {reopen_keeps_the_data, a_uri_is_refused_and_makes_no_file}},
	    {"records",
	     {upsert_inserts_replaces_and_refuses_a_taken_id, text_of_encodes_what_upsert_stores,
	      lookup_tells_busy_and_marks, forget_removes_the_record_and_what_is_about_it}},
	    {"schedules",
	     {set_schedule_next_wake_and_due_rids, rids_after_walks_the_live_records,
	      foreach_until_in_next_at_order, foreach_subject_in_id_order}},
	    {"holds", {holds_add_find_select_remove, holds_listed_by_time_and_filtered}},
	    {"plan", {plan_unscheduled_counts}},
	    {"erasures", {erasure_requests_cover_and_count}},
	    {"jobs",
	     {job_insert_get_put_done, retries_due_unanswered_and_cancelled,
	      jobs_list_dead_and_open, foreach_open_job_in_due_order,
	      queue_take_only_due_of_that_backend}},
	    {"transitions",
	     {mark_and_tombstone, paused_records_by_rule_and_released,
	      ids_in_state_and_deleted_between, counts_of_states_and_unmanaged}},
	    {"transactions", {meta_get_and_set, rollback_discards_and_commit_keeps}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		for (size_t k = 0; k < 8 && cases[i].tests[k]; k++)
			tcase_add_test(tc, cases[i].tests[k]);
		suite_add_tcase(s, tc);
	}
	return s;
}

RTN_TEST_MAIN(suite)
