/* engine_fixture.h - an engine on an inventory in a temporary directory, with a journal
 * that keeps the entries it is given and can refuse to sync; for the unit tests of the
 * lib calls that open their own transactions (test_guard.c, test_dispatchlib.c). */
#ifndef RTN_ENGINE_FIXTURE_H
#define RTN_ENGINE_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "rules.h"
#include "testutil.h"

#define NOW ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define DAY ((rtn_time_t)86400)

static struct {
	char dir[64];
	struct rtn_inv *inv;
	struct rtn_ruleset rules;
	struct rtn_engine eng;
	/* the journal */
	int marks, syncs, undos;
	bool fail_sync;
	json_t *entries; /* [{"type", "actor", "detail"}] appended and not taken back */
	size_t at_mark;
} F;

static void fx_mark(void *ctx)
{
	(void)ctx;
	F.marks++;
	F.at_mark = json_array_size(F.entries);
}
static int fx_append(void *ctx, const struct rtn_audit_entry *e)
{
	(void)ctx;
	json_t *d = e->detail        ? json_incref(e->detail)
	            : e->detail_json ? json_loads(e->detail_json, 0, NULL)
	                             : json_null();
	json_array_append_new(F.entries, json_pack("{s:s, s:s, s:o}", "type", e->type, "actor",
	                                           e->actor, "detail", d));
	return 0;
}
static int fx_sync(void *ctx)
{
	(void)ctx;
	F.syncs++;
	return F.fail_sync ? -ENOSPC : 0;
}
static void fx_undo(void *ctx)
{
	(void)ctx;
	F.undos++;
	while (json_array_size(F.entries) > F.at_mark)
		json_array_remove(F.entries, json_array_size(F.entries) - 1);
}
static const struct rtn_journal fx_journal = {fx_mark, fx_append, fx_sync, fx_undo, NULL};

/* Rules from text into rs (finished; any error fails the test). */
static inline void fx_rules(struct rtn_ruleset *rs, const char *text)
{
	struct rtn_diags d;
	rtn_diags_init(&d);
	rtn_ruleset_init(rs);
	ck_assert_int_eq(rtn_rules_parse("t.rules", text, strlen(text), rs, &d), 0);
	ck_assert_int_eq(rtn_ruleset_finish(rs, &d), 0);
	rtn_diags_fini(&d);
}

static inline void fx_setup(const char *rules_text)
{
	memset(&F, 0, sizeof(F));
	strcpy(F.dir, "/tmp/test_fixture.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	char db[96], err[256];
	snprintf(db, sizeof(db), "%s/inventory.db", F.dir);
	ck_assert_int_eq(rtn_inv_open(db, &F.inv, err, sizeof(err)), 0);
	fx_rules(&F.rules, rules_text);
	rtn_engine_init(&F.eng, F.inv, &F.rules);
	F.eng.journal = &fx_journal;
	F.entries = json_array();
}

static inline void fx_teardown(void)
{
	rtn_engine_fini(&F.eng);
	rtn_inv_close(F.inv);
	rtn_ruleset_free(&F.rules);
	json_decref(F.entries);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Store record id of category t.doc for backend b1 (of subject, when not NULL) whose
 * event "due" is at due. */
static inline void fx_put_of(const char *id, const char *subject, rtn_time_t due)
{
	char text[256], err[256];
	snprintf(text, sizeof(text),
	         "{\"id\": \"%s\", \"category\": \"t.doc\", \"backend\": \"b1\", \"events\": "
	         "{\"due\": %lld}%s%s%s}",
	         id, (long long)due, subject ? ", \"subject\": \"" : "", subject ? subject : "",
	         subject ? "\"" : "");
	json_t *args = json_loads(text, 0, NULL), *details = NULL, *result = NULL;
	ck_assert_ptr_nonnull(args);
	struct rtn_put *p = NULL;
	ck_assert_int_eq(rtn_put_prepare(args, NOW, &p, &details, err, sizeof(err)), 0);
	ck_assert_int_eq(rtn_engine_put_prepared(&F.eng, p, NOW, &result, err, sizeof(err)), 0);
	rtn_put_free(p);
	json_decref(args);
	json_decref(result);
}

static inline void fx_put(const char *id, rtn_time_t due)
{
	fx_put_of(id, NULL, due);
}

/* The state of record id ("" when there is none). */
static inline const char *fx_state(const char *id)
{
	static char state[16];
	struct rtn_inv_row row;
	state[0] = '\0';
	if (rtn_inv_get(F.inv, id, &row) == 0) {
		snprintf(state, sizeof(state), "%s", row.state);
		rtn_inv_row_fini(&row);
	}
	return state;
}

/* How many of the entries kept are of type. */
static inline size_t fx_count(const char *type)
{
	size_t i, n = 0;
	json_t *e;
	json_array_foreach(F.entries, i, e) n +=
	    !strcmp(json_string_value(json_object_get(e, "type")), type);
	return n;
}

/* The detail of the last entry of type, as compact text with sorted keys (caller frees),
 * or NULL. */
static inline char *fx_detail(const char *type)
{
	for (size_t i = json_array_size(F.entries); i-- > 0;) {
		json_t *e = json_array_get(F.entries, i);
		if (!strcmp(json_string_value(json_object_get(e, "type")), type))
			return json_dumps(json_object_get(e, "detail"),
			                  JSON_COMPACT | JSON_SORT_KEYS);
	}
	return NULL;
}

#endif
