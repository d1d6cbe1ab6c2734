/* test_backend_sqlite.c - retention-sqlite (backends/sqlite/sqlbk.c): identifiers, the
 * config, the SQL it builds, and jobs on a temporary database */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The library's side of a scan (lib/backend_scan.c) is replaced by a stand-in that
 * collects the records (the text sqlscan.c writes must read back as JSON): sqlscan.c calls
 * these under the library's names. */
#define rtn_scan_emit_text scan_emit_text
#define rtn_scan_skip      scan_skip
#define rtn_scan_future    scan_future
#include "../../backends/sqlite/sqlbk.c"
#include "../../backends/sqlite/sqlscan.c"
#include "testutil.h"

struct rtn_scan_out {
	json_t *recs; /* every record emitted */
	long long skipped, future;
	char why[256];    /* the last skip's */
	size_t cancel_at; /* emit says cancelled once this many were collected (0: never) */
	sqlite3 *writer;  /* if set, writes between records: no read transaction is open */
	int write_rc;     /* the first write that failed, or SQLITE_OK */
};

int scan_emit_text(struct rtn_scan_out *o, const char *text, size_t n)
{
	if (o->cancel_at && json_array_size(o->recs) >= o->cancel_at)
		return -ECANCELED;
	json_error_t e;
	json_t *r = json_loadb(text, n, 0, &e);
	ck_assert_msg(json_is_object(r) && !memchr(text, '\n', n), "%.*s: %s", (int)n, text,
	              e.text);
	json_array_append_new(o->recs, r);
	if (o->writer && json_array_size(o->recs) % 400 == 1) {
		int rc = sqlite3_exec(o->writer, "INSERT INTO w VALUES (1)", NULL, NULL, NULL);
		if (rc != SQLITE_OK && o->write_rc == SQLITE_OK)
			o->write_rc = rc;
	}
	return 0;
}

void scan_skip(struct rtn_scan_out *o, const char *what, const char *why)
{
	o->skipped++;
	snprintf(o->why, sizeof(o->why), "%s: %s", what, why);
}

void scan_future(struct rtn_scan_out *o)
{
	o->future++;
}

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
	struct rtn_backend_def *keep = C.def;
	sq_conf_fini(&C);
	C.def = keep;
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

/* Truncation by inet_pton and inet_ntop: IPv4 keeps its first octets, IPv6 a prefix. */
START_TEST(test_truncate_ip)
{
	static const struct {
		const char *in;
		int v4, v6;
		const char *out;
	} ok[] = {
	    {"192.0.2.77", 3, 48, "192.0.2.0"},
	    {"195.159.103.82", 3, 48, "195.159.103.0"},
	    {"195.159.103.82", 2, 48, "195.159.0.0"},
	    {"195.159.103.82", 4, 48, "195.159.103.82"},
	    {"195.159.103.82", 0, 48, "0.0.0.0"},
	    {"2001:db8:85a3:8d3:1319:8a2e:370:7348", 3, 48, "2001:db8:85a3::"},
	    {"2001:DB8:85A3::1", 3, 48, "2001:db8:85a3::"},
	    {"2001:db8:85a3:8d3::1", 3, 56, "2001:db8:85a3:800::"},
	    {"2001:db8:85a3:8d3::1", 3, 52, "2001:db8:85a3::"},
	    {"2001:db8:85a3:8d3::1", 3, 128, "2001:db8:85a3:8d3::1"},
	    {"2001:db8::1", 3, 0, "::"},
	    {"::1", 3, 48, "::"},
	    {"::ffff:192.0.2.77", 3, 48, "::"},
	};
	static const char *bad[] = {"",
	                            "192.0.2",
	                            "192.0.2.256",
	                            "192.0.2.77 ",
	                            " 192.0.2.1",
	                            "192.0.2.1/24",
	                            "fe80::1%eth0",
	                            "2001:db8::/48",
	                            "example.org",
	                            "1.2.3.4.5",
	                            "0x7f.0.0.1",
	                            "2001:db8:::1"};
	char out[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		ck_assert_msg(rtn_ip_truncate(ok[i].in, ok[i].v4, ok[i].v6, out, sizeof(out)) == 0,
		              "%s", ok[i].in);
		ck_assert_str_eq(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(rtn_ip_truncate(bad[i], 3, 48, out, sizeof(out)) == -EINVAL, "%s",
		              bad[i]);
}
END_TEST

#define VISITS                                                                                     \
	"database hr.db\n"                                                                         \
	"table visits { category visitor_ip; key id; anonymize agent; truncate-ip ip }\n"

START_TEST(test_truncate_config)
{
	char *diags;
	exec_sql("CREATE TABLE visits (id INTEGER PRIMARY KEY, ip TEXT NOT NULL, agent TEXT, "
	         "page TEXT);");
	/* NOT NULL is no obstacle: truncation writes an address, not NULL */
	ck_assert_int_eq(load(VISITS, &diags), 0);
	ck_assert_str_eq(diags, "");
	free(diags);
	ck_assert_uint_eq(O.actions, RTN_BACT_DELETE | RTN_BACT_ANONYMIZE);
#define MATCH_N "\"id\" = ?1 AND (typeof(\"id\") = 'text' OR CAST(\"id\" AS TEXT) = ?1)"
	ck_assert_str_eq(C.tables[0].anon_sql,
	                 "UPDATE \"visits\" SET \"agent\" = NULL, \"ip\" = "
	                 "retention_truncate_ip(\"ip\", 3, 48, 'ip') WHERE " MATCH_N);
	ck_assert_int_eq(load("database hr.db\ntable visits { category v; key id\n"
	                      "truncate-ip ip ipv6 56 ipv4 2 }\n",
	                      &diags),
	                 0);
	free(diags);
	ck_assert_str_eq(C.tables[0].anon_sql,
	                 "UPDATE \"visits\" SET \"ip\" = retention_truncate_ip(\"ip\", 2, 56, "
	                 "'ip') WHERE " MATCH_N);
	/* truncation alone offers anonymize */
	ck_assert_uint_eq(O.actions, RTN_BACT_DELETE | RTN_BACT_ANONYMIZE);
	static const struct {
		const char *body, *msg;
	} bad[] = {
	    {"truncate-ip ip ipv4 5", "sq.conf:3:21: "},
	    {"truncate-ip ip ipv6 129", "sq.conf:3:21: "},
	    {"truncate-ip ip ipv4", "expected \"truncate-ip COLUMN [ipv4 OCTETS] [ipv6 BITS]\""},
	    {"truncate-ip ip ipv4 3 ipv4 2", "each at most once"},
	    {"truncate-ip ip bits 3", "expected \"truncate-ip COLUMN"},
	    {"truncate-ip ip; truncate-ip ip", "column ip is listed twice"},
	    {"anonymize ip; truncate-ip ip", "column ip is listed twice"},
	    {"truncate-ip ip; anonymize ip", "column ip is listed twice"},
	    {"truncate-ip id", "the key column id cannot be anonymised"},
	    {"truncate-ip \"a b\"", "invalid column \"a b\""},
	    {"truncate-ip", "truncate-ip"},
	    {"truncate-ip nosuch", "no such column: nosuch"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *conf = rtn_xasprintf(
		    "database hr.db\ntable visits { category v; key id\n%s }\n", bad[i].body);
		ck_assert_msg(load(conf, &diags) == -EINVAL, "%s", bad[i].body);
		ck_assert_msg(strstr(diags, bad[i].msg) != NULL, "%s: %s", bad[i].body, diags);
		free(diags);
		free(conf);
	}
}
END_TEST

START_TEST(test_truncate_jobs)
{
	char *diags, err[256];
	exec_sql("CREATE TABLE visits (id INTEGER PRIMARY KEY, ip TEXT, agent TEXT, page TEXT);"
	         "INSERT INTO visits VALUES (1, '195.159.103.82', 'Firefox', '/a'),"
	         " (2, '2001:db8:85a3:8d3:1319:8a2e:370:7348', 'Chromium', '/b'),"
	         " (3, NULL, 'curl', '/c'),"
	         " (4, 'not an address', 'w3m', '/d'),"
	         " (5, X'C000024D', 'lynx', '/e'),"
	         " (6, '192.0.2.1'' OR 1=1 --', 'x', '/f');");
	ck_assert_int_eq(load(VISITS, &diags), 0);
	free(diags);
	struct sq_worker *w = sq_worker_init(&C, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(run_job(w, "anonymize", "visitor_ip", "1", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM visits WHERE id = 1 AND ip = '195.159.103.0' "
	                       "AND agent IS NULL AND page = '/a'"),
	                 1);
	/* again: an address already truncated stays as it is */
	ck_assert_int_eq(run_job(w, "anonymize", "visitor_ip", "1", err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM visits WHERE id = 1 AND ip = '195.159.103.0'"),
	                 1);
	ck_assert_int_eq(run_job(w, "anonymize", "visitor_ip", "\"2\"", err), RTN_BST_DONE);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM visits WHERE id = 2 AND ip = '2001:db8:85a3::' AND "
	          "agent IS NULL"),
	    1);
	/* NULL has nothing to truncate */
	ck_assert_int_eq(run_job(w, "anonymize", "visitor_ip", "3", err), RTN_BST_DONE);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM visits WHERE id = 3 AND ip IS NULL AND agent IS NULL"), 1);
	/* not an address: a permanent failure, nothing written (agent kept too), and the
	 * message names the column, never the value */
	static const struct {
		const char *key, *what;
	} bad[] = {{"4", "text that is no IP address"},
	           {"5", "a blob"},
	           {"6", "text that is no IP address"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_int_eq(run_job(w, "anonymize", "visitor_ip", bad[i].key, err),
		                 RTN_BACKEND_FAIL_FINAL);
		ck_assert_msg(strstr(err, "table visits: column ip holds ") &&
		                  strstr(err, bad[i].what),
		              "%s", err);
		ck_assert_ptr_null(strstr(err, "address'"));
		ck_assert_ptr_null(strstr(err, "C000024D"));
		ck_assert_ptr_null(strstr(err, "not an address"));
	}
	ck_assert_int_eq(count("SELECT count(*) FROM visits WHERE agent IS NOT NULL"), 3);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM visits WHERE id = 4 AND ip = 'not an address'"), 1);
	/* the failure left no transaction open: the next job works */
	ck_assert_int_eq(run_job(w, "delete", "visitor_ip", "4", err), RTN_BST_DONE);
	ck_assert_int_eq(run_job(w, "anonymize", "visitor_ip", "99", err), RTN_BST_GONE);
	sq_worker_fini(w);
	/* the function is the backend's own: another connection has none */
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(DB, &db), SQLITE_OK);
	ck_assert_int_ne(sqlite3_exec(db, "SELECT retention_truncate_ip('1.2.3.4', 3, 48, 'x')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
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

/* The scan statements of a table block, their errors where they are, the SQL built. */
START_TEST(test_scan_config)
{
	char *diags;
	exec_sql("CREATE TABLE \"order\" (\"select\" INTEGER PRIMARY KEY, who TEXT, at INT);");
	ck_assert_int_eq(load("database hr.db\n"
	                      "table apps {\n"
	                      "  category job_application cv\n"
	                      "  key id\n"
	                      "  scan category cv\n"
	                      "  subject = name\n"
	                      "  event received = score\n"
	                      "  event seen = email\n"
	                      "  attribute hired = score\n"
	                      "}\n"
	                      "table emp { category employee; key n }\n"
	                      "table order { category ord; key select; scan category ord; "
	                      "event placed = at }\n",
	                      &diags),
	                 0);
	ck_assert_str_eq(diags, "");
	free(diags);
	const struct sq_table *t = &C.tables[0];
	ck_assert_str_eq(t->scan_cat, "cv");
	ck_assert_str_eq(t->subject.col, "name");
	ck_assert_uint_eq(t->nevents, 2);
	ck_assert_str_eq(t->events[1].name, "seen");
	ck_assert_str_eq(t->events[1].col, "email");
	ck_assert_uint_eq(t->nattrs, 1);
	ck_assert_str_eq(t->scan_first_sql,
	                 "SELECT \"id\", \"name\", \"score\", \"email\", \"score\" FROM "
	                 "\"apps\" WHERE \"id\" IS NOT NULL ORDER BY \"id\" LIMIT 1000");
	ck_assert_str_eq(t->scan_next_sql,
	                 "SELECT \"id\", \"name\", \"score\", \"email\", \"score\" FROM "
	                 "\"apps\" WHERE \"id\" > ?1 ORDER BY \"id\" LIMIT 1000");
	ck_assert_str_eq(t->scan_null_sql, "SELECT count(*) FROM \"apps\" WHERE \"id\" IS NULL");
	ck_assert_ptr_null(C.tables[1].scan_cat);
	ck_assert_ptr_null(C.tables[1].scan_first_sql);
	ck_assert_str_eq(C.tables[2].scan_next_sql,
	                 "SELECT \"select\", \"at\" FROM \"order\" WHERE \"select\" > ?1 "
	                 "ORDER BY \"select\" LIMIT 1000");

	static const struct {
		const char *body, *diag, *diag2;
	} bad[] = {
	    {"scan category cv\n  event received score",
	     "sq.conf:4:18: expected \"event NAME = COLUMN\" (with spaces around '=')", NULL},
	    {"scan category cv\n  event received=score",
	     "sq.conf:4:9: expected \"event NAME = COLUMN\"", NULL},
	    {"scan category cv\n  event received = score; event received = email",
	     "sq.conf:4:33: event received is given twice; first at 4:9", NULL},
	    {"scan category cv\n  attribute a = score; attribute a = name",
	     "sq.conf:4:34: attribute a is given twice; first at 4:13", NULL},
	    {"scan category cv\n  event Received = score",
	     "sq.conf:4:9: invalid event \"Received\"", NULL},
	    {"scan category cv\n  event received = \"sco re\"",
	     "sq.conf:4:20: invalid column \"sco re\"", NULL},
	    {"scan category cv\n  subject = name; subject = email",
	     "sq.conf:4:19: \"subject\" is given twice in table apps; first at 4:3", NULL},
	    {"scan category cv\n  subject name", "sq.conf:4:11: expected \"subject = COLUMN\"",
	     NULL},
	    {"scan category cv; scan category cv",
	     "sq.conf:3:21: \"scan\" is given twice in table apps; first at 3:17", NULL},
	    {"scan cv", "sq.conf:3:3: expected \"scan category NAME\"", NULL},
	    {"scan category other",
	     "sq.conf:3:17: scan category other is not a category of table apps", NULL},
	    {"event received = score",
	     "sq.conf:3:3: table apps: subject, event and attribute say what a scan lists; they "
	     "need \"scan category NAME\"",
	     NULL},
	    /* columns are checked against the table, each where it is named */
	    {"scan category cv\n  event received = recieved_at\n  attribute x = nope",
	     "sq.conf:4:20: table apps: no such column: recieved_at",
	     "sq.conf:5:17: table apps: no such column: nope"},
	    {"scan category cv; subject = nobody",
	     "sq.conf:3:31: table apps: no such column: nobody", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *text = rtn_xasprintf("database hr.db\n"
		                           "table apps { category cv; key id\n  %s\n}\n",
		                           bad[i].body);
		ck_assert_msg(load(text, &diags) == -EINVAL, "%s", bad[i].body);
		ck_assert_msg(strstr(diags, bad[i].diag), "%s:\n%s\nwanted %s", bad[i].body, diags,
		              bad[i].diag);
		ck_assert_msg(!bad[i].diag2 || strstr(diags, bad[i].diag2), "%s:\n%s\nwanted %s",
		              bad[i].body, diags, bad[i].diag2);
		free(diags);
		free(text);
	}
}
END_TEST

/* Run a scan of C into o (zeroed, records collected); sq_scan's return. */
static int run_scan(struct rtn_scan_out *o, char *err)
{
	o->recs = json_array();
	err[0] = '\0';
	return sq_scan(&C, o, err, 256);
}

/* The record of o with id, or NULL. */
static json_t *rec_of(const struct rtn_scan_out *o, const char *id)
{
	size_t i;
	json_t *r;
	json_array_foreach(o->recs, i, r) if (strcmp(json_string_value(json_object_get(r, "id")),
	                                             id) == 0) return r;
	return NULL;
}

/* r as compact JSON with sorted keys, in a static buffer. */
static const char *dump(const json_t *r)
{
	static char buf[1024];
	char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	return buf;
}

/* What a row becomes: id, locator, subject, events as Unix seconds, attributes as JSON;
 * a row whose time or attribute cannot be read is skipped and counted. */
START_TEST(test_scan_records)
{
	char *diags, err[256];
	long long now = (long long)time(NULL);
	exec_sql("CREATE TABLE cand (id INTEGER PRIMARY KEY, who, got, hired, note);");
	char *ins = rtn_xasprintf("INSERT INTO cand VALUES"
	                          " (1, 'p-1', 1740000000, 1, 'ok'),"
	                          " (2, 7, '2025-03-01 09:30:00', 0.5, NULL),"
	                          " (3, NULL, '2025-03-01T09:30:00+01:00', 'yes', 'x'),"
	                          " (4, '', '2025-03-01', NULL, ''),"
	                          " (5, 'p-5', '2025-03-01 09:30:00.250', 1, 'a'),"
	                          " (6, 'p-6', '1740000000', 1, 'a'),"
	                          " (7, 'p-7', NULL, 1, 'a'),"
	                          " (8, 'p-8', 'yesterday', 1, 'a'),"
	                          " (9, 'p-9', 2460000.5, 1, 'a'),"
	                          " (10, 'p-10', 1740000000, x'00ff', 'a'),"
	                          " (11, 'p-11', %lld, 1, 'a'),"
	                          " (12, x'01', 1740000000, 1, 'a'),"
	                          " (13, 'p-13', %lld, 1, 'a');",
	                          now + 3600, now + 60);
	exec_sql(ins);
	free(ins);
	ck_assert_int_eq(load("database hr.db\n"
	                      "table cand { category cv; key id; scan category cv\n"
	                      "  subject = who; event received = got\n"
	                      "  attribute hired = hired; attribute note = note }\n",
	                      &diags),
	                 0);
	free(diags);
	struct rtn_scan_out o = {0};
	ck_assert_int_eq(run_scan(&o, err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(json_array_size(o.recs), 9);
	ck_assert_int_eq(o.skipped, 4);
	ck_assert_int_eq(o.future, 1);
	ck_assert_str_eq(dump(rec_of(&o, "cand:1")),
	                 "{\"attributes\":{\"hired\":1,\"note\":\"ok\"},\"category\":\"cv\","
	                 "\"events\":{\"received\":1740000000},\"id\":\"cand:1\",\"locator\":{"
	                 "\"key\":1},\"subject\":\"p-1\"}");
	ck_assert_str_eq(dump(rec_of(&o, "cand:2")),
	                 "{\"attributes\":{\"hired\":0.5,\"note\":null},\"category\":\"cv\","
	                 "\"events\":{\"received\":1740821400},\"id\":\"cand:2\",\"locator\":{"
	                 "\"key\":2},\"subject\":\"7\"}");
	/* no subject for NULL or '', the offset is kept, a date is midnight UTC */
	ck_assert_str_eq(dump(rec_of(&o, "cand:3")),
	                 "{\"attributes\":{\"hired\":\"yes\",\"note\":\"x\"},\"category\":\"cv\","
	                 "\"events\":{\"received\":1740817800},\"id\":\"cand:3\",\"locator\":{"
	                 "\"key\":3}}");
	ck_assert_str_eq(dump(json_object_get(rec_of(&o, "cand:4"), "events")),
	                 "{\"received\":1740787200}");
	ck_assert_ptr_null(json_object_get(rec_of(&o, "cand:4"), "subject"));
	ck_assert_str_eq(dump(json_object_get(rec_of(&o, "cand:5"), "events")),
	                 "{\"received\":1740821401}");
	ck_assert_str_eq(dump(json_object_get(rec_of(&o, "cand:6"), "events")),
	                 "{\"received\":1740000000}");
	ck_assert_str_eq(dump(json_object_get(rec_of(&o, "cand:7"), "events")), "{}");
	ck_assert_ptr_null(rec_of(&o, "cand:8"));
	ck_assert_ptr_null(rec_of(&o, "cand:9"));
	ck_assert_ptr_null(rec_of(&o, "cand:10"));
	ck_assert_ptr_nonnull(rec_of(&o, "cand:11"));
	ck_assert_ptr_null(rec_of(&o, "cand:12"));
	ck_assert_ptr_nonnull(rec_of(&o, "cand:13")); /* a minute ahead is not the future */
	ck_assert_str_eq(o.why, "cand:12: its subject (who) is a blob, text that is not UTF-8 or "
	                        "longer than 512 bytes");
	/* every record is one the daemon takes */
	size_t i;
	json_t *r;
	json_array_foreach(o.recs, i, r)
	{
		struct rtn_record rec;
		char why[256];
		ck_assert_msg(rtn_record_from_json(r, now, &rec, why, sizeof(why)) == 0, "%s: %s",
		              dump(r), why);
		rtn_record_fini(&rec);
	}
	json_decref(o.recs);
}
END_TEST

START_TEST(test_text_time)
{
	static const struct {
		const char *in;
		long long t; /* -1: no time */
	} v[] = {
	    {"2025-03-01 09:30:00", 1740821400},
	    {"2025-03-01T09:30:00", 1740821400},
	    {"2025-03-01 09:30", 1740821400},
	    {"2025-03-01", 1740787200},
	    {"2025-03-01T09:30:00Z", 1740821400},
	    {"2025-03-01T10:30:00+01:00", 1740821400},
	    {"2025-03-01 09:30:00.000", 1740821400},
	    {"2025-03-01 09:29:59.001", 1740821400},
	    {"1740821400", 1740821400},
	    {"-1", -1 - 0LL},
	    {"0", 0},
	    {"yesterday", -1},
	    {"", -1},
	    {"2025-02-30", -1},
	    {" 2025-03-01", -1},
	    {"2025-03-01 ", -1},
	    {"1e9", -1},
	    {"99999999999999", -1},
	    {"2025-03-01 25:00:00", -1},
	    {"-", -1},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		rtn_time_t t = 12345;
		int r = text_time(v[i].in, strlen(v[i].in), &t);
		if (strcmp(v[i].in, "-1") == 0) {
			ck_assert_int_eq(r, 0);
			ck_assert_int_eq(t, -1);
		} else if (v[i].t == -1) {
			ck_assert_msg(r == -EINVAL, "%s", v[i].in);
		} else {
			ck_assert_msg(r == 0 && t == v[i].t, "%s: %d %lld", v[i].in, r,
			              (long long)t);
		}
	}
	rtn_time_t t;
	ck_assert_int_eq(text_time("2025-03-01\0x", 12, &t), -EINVAL);
}
END_TEST

/* Pages of 1000 rows in key order, each its own read transaction: a writer gets in while
 * the records are emitted. The records' locators are what a job finds the row by. */
START_TEST(test_scan_pages)
{
	char *diags, err[256];
	exec_sql("PRAGMA journal_mode = DELETE;"
	         "CREATE TABLE big (k TEXT PRIMARY KEY, at INT);"
	         "CREATE TABLE w (x);"
	         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)"
	         " INSERT INTO big SELECT printf('k%05d', i), 1740000000 + i FROM n;"
	         "INSERT INTO big VALUES (NULL, 1);");
	ck_assert_int_eq(load("database hr.db\n"
	                      "table big { category b; key k; scan category b; event at = at }\n",
	                      &diags),
	                 0);
	free(diags);
	struct rtn_scan_out o = {0};
	ck_assert_int_eq(sqlite3_open(DB, &o.writer), SQLITE_OK);
	ck_assert_int_eq(run_scan(&o, err), 0);
	ck_assert_int_eq(o.write_rc, SQLITE_OK);
	sqlite3_close(o.writer);
	ck_assert_uint_eq(json_array_size(o.recs), 2500);
	ck_assert_int_eq(o.skipped, 1); /* the NULL key */
	for (size_t i = 0; i < 2500; i++) {
		char id[32];
		snprintf(id, sizeof(id), "big:k%05zu", i + 1);
		json_t *r = json_array_get(o.recs, i);
		ck_assert_str_eq(json_string_value(json_object_get(r, "id")), id);
	}
	/* the locator of a scanned record deletes its row */
	struct sq_worker *w = sq_worker_init(&C, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	char *key = json_dumps(
	    json_object_get(json_object_get(json_array_get(o.recs, 1700), "locator"), "key"),
	    JSON_ENCODE_ANY);
	ck_assert_str_eq(key, "\"k01701\"");
	ck_assert_int_eq(run_job(w, "delete", "b", key, err), RTN_BST_DONE);
	ck_assert_int_eq(count("SELECT count(*) FROM big WHERE k = 'k01701'"), 0);
	free(key);
	sq_worker_fini(w);
	json_decref(o.recs);
	/* cancelled midway: what was read is freed, the scan ends */
	struct rtn_scan_out c = {.cancel_at = 1200};
	ck_assert_int_eq(run_scan(&c, err), 0);
	ck_assert_uint_eq(json_array_size(c.recs), 1200);
	json_decref(c.recs);
}
END_TEST

/* Keys of every kind: integers and reals find their row again, blobs are skipped; an
 * awkward name is quoted; a table gone since the start makes the scan incomplete. */
START_TEST(test_scan_keys_and_tables)
{
	char *diags, err[256];
	exec_sql("CREATE TABLE \"order\" (\"select\" PRIMARY KEY, \"from\" INT);"
	         "INSERT INTO \"order\" VALUES (3, 1), (2.5, 1), ('t', 1), (x'00', 1), (-7, 1);"
	         "CREATE TABLE gone (k INTEGER PRIMARY KEY);");
	ck_assert_int_eq(load("database hr.db\n"
	                      "table order { category o; key select; scan category o\n"
	                      "  event from = from }\n"
	                      "table emp { category employee; key n }\n",
	                      &diags),
	                 0);
	free(diags);
	struct rtn_backend_def d = {.scan = sq_scan};
	struct rtn_scan_out o = {0};
	ck_assert_int_eq(run_scan(&o, err), 0);
	ck_assert_uint_eq(json_array_size(o.recs), 3);
	ck_assert_int_eq(o.skipped, 2); /* the real number and the blob */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(o.recs, 0), "id")),
	                 "order:-7");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(o.recs, 1), "id")),
	                 "order:3");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(o.recs, 2), "id")),
	                 "order:t");
	struct sq_worker *w = sq_worker_init(&C, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	for (size_t i = 0; i < 3; i++) {
		char *key = json_dumps(
		    json_object_get(json_object_get(json_array_get(o.recs, i), "locator"), "key"),
		    JSON_ENCODE_ANY);
		ck_assert_msg(run_job(w, "delete", "o", key, err) == RTN_BST_DONE, "%s: %s", key,
		              err);
		free(key);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM \"order\""), 2);
	sq_worker_fini(w);
	json_decref(o.recs);

	/* a key without an index: every page sorts the table, which is worth a warning */
	exec_sql("CREATE TABLE loose (k INT, v TEXT)");
	ck_assert_int_eq(load("database hr.db\ntable loose { category l; key k; scan category l }\n"
	                      "table order { category o; key select; scan category o }\n",
	                      &diags),
	                 0);
	ck_assert_msg(strstr(diags, "sq.conf:2:48: warning: table loose: no index begins "
	                            "with the key k, so every page of a scan sorts"),
	              "%s", diags);
	ck_assert_ptr_null(strstr(diags, "table order"));
	free(diags);

	/* def->scan stays set with a scanned table, and is cleared without one */
	sq_conf_fini(&C);
	C.def = &d;
	ck_assert_int_eq(
	    load("database hr.db\ntable gone { category g; key k; scan category g }\n", &diags), 0);
	free(diags);
	ck_assert_ptr_nonnull(d.scan);
	exec_sql("DROP TABLE gone");
	struct rtn_scan_out g = {0};
	ck_assert_int_eq(run_scan(&g, err), -1);
	ck_assert_str_eq(err, "table gone: no such table: gone");
	json_decref(g.recs);
	C.def = &d;
	ck_assert_int_eq(load(GOOD, &diags), 0);
	free(diags);
	ck_assert_ptr_null(d.scan);
	C.def = NULL;
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
	tcase_add_test(tc, test_truncate_ip);
	tcase_add_test(tc, test_truncate_config);
	tcase_add_test(tc, test_truncate_jobs);
	tcase_add_test(tc, test_scan_config);
	tcase_add_test(tc, test_scan_records);
	tcase_add_test(tc, test_text_time);
	tcase_add_test(tc, test_scan_pages);
	tcase_add_test(tc, test_scan_keys_and_tables);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
