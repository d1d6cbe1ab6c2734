/* test_backend_sqlite.c - retention-sqlite (backends/sqlite/sqlbk.c): identifiers, the
 * config, the SQL it builds, and jobs on a temporary database */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backends/sqlite/sqlbk.c"
#include "testutil.h"

static char T[256];
static char DB[300], CONF[300];
static struct sq_conf C;
static struct rtn_backend_opts O;

static const struct rtn_backend_def def = {
    .name = "retention-sqlite",
    .keywords = "database, busy-timeout, table",
    .actions = RTN_BACT_DELETE | RTN_BACT_ANONYMIZE,
    .config = sq_config,
    .configured = sq_configured,
};

static void exec_sql(const char *sql)
{
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(DB, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
}

static long long count(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open(DB, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void setup(void)
{
	snprintf(T, sizeof(T), "/tmp/test_backend_sqlite.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T));
	snprintf(DB, sizeof(DB), "%s/hr.db", T);
	snprintf(CONF, sizeof(CONF), "%s/sq.conf", T);
	exec_sql("CREATE TABLE apps (id TEXT PRIMARY KEY, name TEXT, email TEXT, score INT);"
	         "CREATE TABLE emp (n INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	         "INSERT INTO apps VALUES ('a1','Ann','a@x',1), ('a2','Bob','b@x',2);"
	         "INSERT INTO emp VALUES (1,'Eve'), (2,'Finn');");
	memset(&C, 0, sizeof(C));
	C.busy_ms = 0;
}

static void teardown(void)
{
	sq_conf_fini(&C);
	rtn_backend_opts_fini(&O);
	char *cmd = rtn_xasprintf("rm -rf '%s'", T);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* Load text as the config; the diagnostics, one per line, in *out (caller frees). */
static int load(const char *text, char **out)
{
	FILE *f = fopen(CONF, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	sq_conf_fini(&C);
	rtn_backend_opts_fini(&O);
	struct rtn_diags d;
	rtn_diags_init(&d);
	int r = rtn_backend_load_config(&def, &C, CONF, &O, &d);
	size_t len;
	f = open_memstream(out, &len);
	rtn_diags_print(&d, f);
	fclose(f);
	rtn_diags_fini(&d);
	return r;
}

#define GOOD                                                                                       \
	"database hr.db\n"                                                                         \
	"table apps { category job_application cv; key id; anonymize name email }\n"               \
	"table emp { category employee; key n }\n"

START_TEST(test_identifiers)
{
	static const char *good[] = {"apps", "_x", "A1_b", "t123"};
	static const char *bad[] = {"",         "1abc",          "a b", "a\"b", "a;b", "a-b",
	                            "sqlite_x", "SQLite_master", "ä",   "a.b",  "x]",  "x'--"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(sq_valid_ident(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(!sq_valid_ident(bad[i]), "%s", bad[i]);
	char longname[SQ_IDENT_MAX + 2];
	memset(longname, 'a', sizeof(longname));
	longname[SQ_IDENT_MAX] = '\0';
	ck_assert(sq_valid_ident(longname));
	longname[SQ_IDENT_MAX] = 'a';
	longname[SQ_IDENT_MAX + 1] = '\0';
	ck_assert(!sq_valid_ident(longname));
}
END_TEST

START_TEST(test_config_and_sql)
{
	char *diags;
	ck_assert_int_eq(load(GOOD "busy-timeout 2 seconds\n", &diags), 0);
	ck_assert_str_eq(diags, "");
	free(diags);
	ck_assert_str_eq(C.database, DB);
	ck_assert_int_eq(C.busy_ms, 2000);
	ck_assert_uint_eq(C.ntables, 2);
#define MATCH_ID "\"id\" = ?1 AND (typeof(\"id\") = 'text' OR CAST(\"id\" AS TEXT) = ?1)"
	ck_assert_str_eq(C.tables[0].del_sql, "DELETE FROM \"apps\" WHERE " MATCH_ID);
	ck_assert_str_eq(C.tables[0].anon_sql,
	                 "UPDATE \"apps\" SET \"name\" = NULL, \"email\" = NULL WHERE " MATCH_ID);
	ck_assert_ptr_null(C.tables[1].anon_sql);
	ck_assert_uint_eq(O.actions, RTN_BACT_DELETE | RTN_BACT_ANONYMIZE);
	ck_assert_int_eq(load("database hr.db\ntable emp { category e; key n }\n", &diags), 0);
	ck_assert_uint_eq(O.actions, RTN_BACT_DELETE);
	free(diags);
	/* a quoted name that is no column is an error, not a string literal */
	ck_assert_int_eq(load("database hr.db\ntable apps { category a; key idd }\n", &diags),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, "sq.conf:2:1: table apps: no such column: idd"));
	free(diags);
	ck_assert_int_eq(
	    load("database hr.db\ntable emp { category a; key n; anonymize name }\n", &diags),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, "column name is NOT NULL"));
	free(diags);
	ck_assert_int_eq(load("database hr.db\ntable \"a\\\"b\" { category a; key n }\n", &diags),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, "sq.conf:2:7: invalid table name \"a\"b\""));
	free(diags);
}
END_TEST

/* A job line for category and key (JSON text) and action. */
static int run_job(struct sq_worker *w, const char *action, const char *category, const char *key,
                   char *err)
{
	char *line = rtn_xasprintf(
	    "{\"type\":\"job\",\"job\":\"J\",\"action\":\"%s\",\"attempt\":1,\"record\":{\"id\":"
	    "\"r\",\"category\":\"%s\",\"locator\":{\"key\":%s}},\"rule\":\"x\",\"due\":\"y\"}",
	    action, category, key);
	struct rtn_bjob j;
	ck_assert_int_eq(rtn_bproto_decode_job(line, strlen(line), &j, err, 256), 0);
	err[0] = '\0';
	int r = sq_handle(w, &j, err, 256);
	rtn_bproto_job_fini(&j);
	free(line);
	return r;
}

START_TEST(test_jobs)
{
	char *diags, err[256];
	ck_assert_int_eq(load(GOOD, &diags), 0);
	free(diags);
	struct sq_worker *w = sq_worker_init(&C, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(run_job(w, "delete", "cv", "\"a1\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "cv", "\"a1\"", err), RTN_BST_GONE);
	ck_assert_int_eq(run_job(w, "anonymize", "job_application", "\"a2\"", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM apps WHERE id = 'a2' AND name IS NULL AND "
	                       "email IS NULL AND score = 2"),
	                 1);
	ck_assert_int_eq(run_job(w, "delete", "employee", "1", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "employee", "\"2\"", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM emp"), 0);
	ck_assert_int_eq(run_job(w, "anonymize", "employee", "3", err), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(run_job(w, "delete", "other", "3", err), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(run_job(w, "delete", "cv", "1.5", err), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(run_job(w, "delete", "cv", "null", err), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(run_job(w, "delete", "cv", "[\"a2\"]", err), RTN_BACKEND_FAIL_FINAL);
	/* injections are values, matched literally */
	static const char *inj[] = {"\"a2' OR '1'='1\"", "\"1 OR 1=1\"",
	                            "\"a2\\\"; DELETE FROM apps; --\"", "\"%\"", "\"\""};
	for (size_t i = 0; i < sizeof(inj) / sizeof(*inj); i++)
		ck_assert_int_eq(run_job(w, "delete", "cv", inj[i], err), RTN_BST_GONE);
	ck_assert_int_eq(count("SELECT count(*) FROM apps"), 1);
	exec_sql("INSERT INTO apps (id) VALUES ('x'' OR 1=1 --')");
	ck_assert_int_eq(run_job(w, "delete", "cv", "\"x' OR 1=1 --\"", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM apps"), 1);
	sq_worker_fini(w);
}
END_TEST

/* A key column of INTEGER, NUMERIC or REAL affinity matches a string key only in its
 * canonical decimal form: SQLite would turn "01", " 2", "3.0" or "2 " into 1, 2, 3 and 2
 * when it compares them with such a column. Text and untyped columns compare as stored. */
START_TEST(test_integer_keys_exact)
{
	exec_sql("CREATE TABLE nums (k INTEGER PRIMARY KEY, v TEXT);"
	         "INSERT INTO nums VALUES (1,'a'), (2,'b'), (3,'c'), (118,'d'), (-5,'e');"
	         "CREATE TABLE loose (k INT, v TEXT);"
	         "INSERT INTO loose VALUES (1,'a'), (2,'b'), ('abc','c');"
	         "CREATE TABLE untyped (k, v);"
	         "INSERT INTO untyped VALUES ('118','a'), (7,'b'), ('01','c'), (8,'d');"
	         "CREATE TABLE texty (k TEXT, v);"
	         "INSERT INTO texty VALUES ('01','a'), ('2','b'), (' 2','c');"
	         "CREATE TABLE plain (v TEXT);"
	         "INSERT INTO plain VALUES ('a'), ('b');");
	char *diags, err[256];
	ck_assert_int_eq(load("database hr.db\n"
	                      "table nums { category n; key k }\n"
	                      "table loose { category l; key k }\n"
	                      "table untyped { category u; key k }\n"
	                      "table texty { category t; key k }\n"
	                      "table plain { category p; key rowid }\n",
	                      &diags),
	                 0);
	free(diags);
	struct sq_worker *w = sq_worker_init(&C, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	static const char *const near[] = {"\"01\"",  "\" 2\"",   "\"3.0\"", "\"2 \"",  "\"+1\"",
	                                   "\"1e0\"", "\"0x1\"",  "\"\"",    "\"-0\"",  "\"-05\"",
	                                   "\"3.\"",  "\"\\t3\"", "3.0",     "\"1\\n\""};
	for (size_t i = 0; i < sizeof(near) / sizeof(*near); i++) {
		int r = run_job(w, "delete", "n", near[i], err);
		ck_assert_msg(r == RTN_BST_GONE || r == RTN_BACKEND_FAIL_FINAL, "%s: %d", near[i],
		              r);
		ck_assert_msg(run_job(w, "delete", "l", near[i], err) != RTN_BST_DONE, "%s",
		              near[i]);
		ck_assert_msg(run_job(w, "delete", "p", near[i], err) != RTN_BST_DONE, "%s",
		              near[i]);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM nums"), 5);
	ck_assert_int_eq(count("SELECT count(*) FROM loose"), 3);
	ck_assert_int_eq(count("SELECT count(*) FROM plain"), 2);
	/* the canonical form, and a JSON integer */
	ck_assert_int_eq(run_job(w, "delete", "n", "\"1\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "n", "2", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "n", "\"118\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "n", "\"-5\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "anonymize", "n", "\"3\"", err), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(count("SELECT count(*) FROM nums"), 1);
	ck_assert_int_eq(run_job(w, "delete", "n", "\"99999999999999999999\"", err), RTN_BST_GONE);
	ck_assert_int_eq(run_job(w, "delete", "l", "\"abc\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "l", "\"1\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "l", "2", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "p", "\"1\"", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM plain"), 1);
	/* untyped: as stored, text is text and integers are integers */
	ck_assert_int_eq(run_job(w, "delete", "u", "\"118\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "u", "\"01\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "u", "\"7\"", err), RTN_BST_GONE);
	ck_assert_int_eq(run_job(w, "delete", "u", "7", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "u", "\"08\"", err), RTN_BST_GONE);
	ck_assert_int_eq(count("SELECT count(*) FROM untyped"), 1);
	/* text: exactly the text; an integer as its decimal text */
	ck_assert_int_eq(run_job(w, "delete", "t", "\"1\"", err), RTN_BST_GONE);
	ck_assert_int_eq(run_job(w, "delete", "t", "\"01\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "t", "\" 2\"", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "delete", "t", "2", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM texty"), 0);
	sq_worker_fini(w);
}
END_TEST

START_TEST(test_busy)
{
	char *diags, err[256];
	ck_assert_int_eq(load(GOOD "busy-timeout 0 seconds\n", &diags), 0);
	free(diags);
	struct sq_worker *w = sq_worker_init(&C, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	sqlite3 *other;
	ck_assert_int_eq(sqlite3_open(DB, &other), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(run_job(w, "delete", "cv", "\"a1\"", err), RTN_BACKEND_FAIL_RETRY);
	ck_assert_ptr_nonnull(strstr(err, "locked"));
	ck_assert_int_eq(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	ck_assert_int_eq(run_job(w, "delete", "cv", "\"a1\"", err), RTN_BST_DONE);
	sq_worker_fini(w);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend_sqlite");
	TCase *tc = tcase_create("sqlbk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identifiers);
	tcase_add_test(tc, test_config_and_sql);
	tcase_add_test(tc, test_jobs);
	tcase_add_test(tc, test_integer_keys_exact);
	tcase_add_test(tc, test_busy);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
