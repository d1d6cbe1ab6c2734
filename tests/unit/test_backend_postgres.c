/* test_backend_postgres.c - retention-postgres (backends/postgres/): the config, the key
 * file, the locator and the pseudonym; what needs a server is in
 * tests/integration/test_backend_postgres.py */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backends/postgres/pgcat.c"
#include "../../backends/postgres/pgconf.c"
#include "../../backends/postgres/pgjob.c"
#include "../../backends/postgres/pgscan.c"
#include "testutil.h"

static char T[256];
static char CONFP[300];
static struct pg_conf C;
static struct rtn_backend_opts O;

static const struct rtn_backend_def def = {
    .name = "retention-postgres",
    .keywords = "conninfo, table",
    .actions = RTN_BACT_DELETE | RTN_BACT_ANONYMIZE,
    .workers = 2,
    .config = pg_config,
    .configured = pg_configured,
};

/* A server that is not there: connecting fails at once. */
#define NOWHERE "conninfo \"host=/nonexistent/pg dbname=hr\"\n"

static void setup(void)
{
	snprintf(T, sizeof(T), "/tmp/test_backend_postgres.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T));
	snprintf(CONFP, sizeof(CONFP), "%s/pg.conf", T);
	pg_conf_init(&C);
	rtn_log_set_level(RTN_LOG_ERR);
}

static void teardown(void)
{
	pg_conf_fini(&C);
	rtn_backend_opts_fini(&O);
	char *cmd = rtn_xasprintf("rm -rf '%s'", T);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static void write_key(const char *name, size_t n, mode_t mode)
{
	char *p = rtn_xasprintf("%s/%s", T, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < n; i++)
		fputc('k', f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
	free(p);
}

/* Load text as the config; the diagnostics with the file name cut, in *out (caller
 * frees). */
static int load(const char *text, char **out)
{
	FILE *f = fopen(CONFP, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	pg_conf_fini(&C);
	pg_conf_init(&C);
	rtn_backend_opts_fini(&O);
	struct rtn_diags d;
	rtn_diags_init(&d);
	int r = rtn_backend_load_config(&def, &C, CONFP, &O, &d);
	size_t len = 0;
	char *all = NULL;
	FILE *m = open_memstream(&all, &len);
	for (size_t i = 0; i < d.n; i++) {
		char *s = rtn_diag_format(&d.v[i]);
		fprintf(m, "%s\n", strncmp(s, CONFP, strlen(CONFP)) == 0 ? s + strlen(CONFP) : s);
		free(s);
	}
	fclose(m);
	rtn_diags_fini(&d);
	*out = all;
	return r;
}

START_TEST(test_config_good)
{
	char *diags;
	write_key("k", 32, 0600);
	ck_assert_int_eq(load(NOWHERE "statement-timeout 3 seconds\nlock-timeout 0 seconds\n"
	                              "application-name hr-retention\nbatch 50\n"
	                              "transaction-limit 2 seconds\nhmac-key k\nvacuum on\n"
	                              "table apps {\n"
	                              "  schema hr; category job_application cv\n"
	                              "  key id; anonymize name phone; pseudonymize email\n"
	                              "  replace status \"with drawn\"\n"
	                              "  truncate-ip ip ipv6 56\n"
	                              "  also notes app_id; also other.files app_id\n"
	                              "}\n"
	                              "table Enrol { category enrolment; key course person }\n",
	                      &diags),
	                 0);
	ck_assert_str_eq(diags, "");
	ck_assert_int_eq(C.statement_ms, 3000);
	ck_assert_int_eq(C.lock_ms, 0);
	ck_assert_int_eq(C.idle_ms, 10000);
	ck_assert_int_eq(C.tx_limit_ms, 2000);
	ck_assert_uint_eq(C.batch, 50);
	ck_assert_uint_eq(O.batch, 50);
	ck_assert(C.vacuum);
	ck_assert_str_eq(C.app_name, "hr-retention");
	ck_assert_uint_eq(C.keylen, 32);
	ck_assert_uint_eq(O.actions, RTN_BACT_DELETE | RTN_BACT_ANONYMIZE);
	ck_assert_uint_eq(C.ntables, 2);
	const struct pg_table *t = &C.tables[0];
	ck_assert_str_eq(t->schema, "hr");
	ck_assert_uint_eq(t->ncats, 2);
	ck_assert_uint_eq(t->nanon, 5);
	ck_assert_int_eq(t->anon[2].method, PG_PSEUDO);
	ck_assert_int_eq(t->anon[3].method, PG_REPLACE);
	ck_assert_str_eq(t->anon[3].value, "with drawn");
	ck_assert_int_eq(t->anon[4].method, PG_TRUNC);
	ck_assert_int_eq(t->anon[4].v4, 3);
	ck_assert_int_eq(t->anon[4].v6, 56);
	ck_assert(t->two_step);
	ck_assert_uint_eq(t->nalso, 2);
	ck_assert_ptr_null(t->also[0].schema);
	ck_assert_str_eq(t->also[1].schema, "other");
	ck_assert_str_eq(t->also[1].table, "files");
	ck_assert_str_eq(C.tables[1].schema, "public");
	ck_assert_str_eq(C.tables[1].name, "Enrol");
	ck_assert_uint_eq(C.tables[1].nkeys, 2);
	ck_assert_ptr_eq(pg_table_of(&C, "cv", NULL), t);
	ck_assert_ptr_null(pg_table_of(&C, "nope", NULL));
	free(diags);
	/* the defaults; delete only */
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\n", &diags), 0);
	ck_assert_int_eq(C.statement_ms, 5000);
	ck_assert_int_eq(C.lock_ms, 2000);
	ck_assert_int_eq(C.tx_limit_ms, 1000);
	ck_assert_uint_eq(C.batch, 100);
	ck_assert(!C.vacuum);
	ck_assert_str_eq(C.app_name, "retention-postgres");
	ck_assert_uint_eq(O.actions, RTN_BACT_DELETE);
	ck_assert_uint_eq(O.workers, 2);
	free(diags);
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"table t { category c; key id }\n", ": no \"conninfo\""},
	    {NOWHERE, ": no \"table\" block"},
	    {"conninfo \"host=/x password=s3cret\"\ntable t { category c; key id }\n",
	     ":1:10: the conninfo holds a password"},
	    {"conninfo \"postgresql://u:s3cret@db/hr\"\ntable t { category c; key id }\n",
	     ":1:10: the conninfo holds a password"},
	    {"conninfo \"host = = x\"\ntable t { category c; key id }\n",
	     ":1:10: invalid conninfo: "},
	    {"conninfo \"password='s3cret\"\ntable t { category c; key id }\n",
	     ":1:10: invalid conninfo: libpq cannot read it\n"},
	    {NOWHERE NOWHERE "table t { category c; key id }\n",
	     ":2:1: \"conninfo\" is given twice; first at 1:1"},
	    {NOWHERE "table t { category c; key id }\nbatch 0\n", ":3:7: expected a whole number"},
	    {NOWHERE "table t { category c; key id }\ntransaction-limit 0 seconds\n",
	     ":3:1: \"transaction-limit\" is more than 0 and 1 hour at most"},
	    {NOWHERE "table t { category c; key id }\nlock-timeout 2 months\n", ":3:"},
	    {NOWHERE "table t { category c; key id }\nvacuum yes\n",
	     ":3:8: expected \"vacuum on\" or \"vacuum off\""},
	    {NOWHERE "table t { category c; key id }\nworkers 65\n",
	     ":3:1: \"workers\" is at most 64"},
	    {NOWHERE "table t { category c; key id; pseudonymize e }\n",
	     ":2:44: \"pseudonymize\" needs \"hmac-key FILE\""},
	    {NOWHERE "table t { category c; key id; anonymize id }\n",
	     ":2:41: table t: the key column id cannot be anonymised"},
	    {NOWHERE "table t { category c; key id; anonymize a; replace a 1 }\n",
	     ":2:52: column a is listed twice; first at 2:41"},
	    {NOWHERE "table t { category c; key a b; also n x }\n",
	     ":2:32: \"also n\" names 1 column; the key of table t has 2"},
	    {NOWHERE "table t { category c; key a a }\n", ":2:29: key column a is listed twice"},
	    {NOWHERE "table t { category c }\n", ":2:1: table t needs \"key COLUMN...\""},
	    {NOWHERE "table t { key id }\n", ":2:1: table t needs \"category NAME...\""},
	    {NOWHERE "table t { category c; key id }\ntable u { category c; key id }\n",
	     ":3:20: category \"c\" already maps to table t"},
	    {NOWHERE "table t { category c; key id }\ntable t { category d; key id }\n",
	     ":3:1: table public.t is given twice; first at 2:1"},
	    {NOWHERE "table t { category c; key id; truncate-ip ip ipv4 5 }\n", ":2:51: "},
	    {NOWHERE "table t { category c; key id; colour red }\n",
	     ":2:31: unknown statement \"colour\" in table t"},
	    {NOWHERE "table t { category c; key id; schema a; schema b }\n",
	     ":2:41: \"schema\" is given twice in table t"},
	    {NOWHERE "table \"\" { category c; key id }\n", ":2:7: invalid table name \"\""},
	    {NOWHERE "table t { category c; key "
	             "a234567890123456789012345678901234567890123456789012345678901234 }\n",
	     ":2:27: invalid key column"},
	    {NOWHERE "table t { category c; key id }\nhmac-key nokey\n",
	     ":3:10: cannot open the key file"},
	    {NOWHERE "table t { category c; key id }\nbogus 1\n", ":3:1: unknown statement"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *diags;
		ck_assert_msg(load(cases[i].text, &diags) == -EINVAL, "%s", cases[i].text);
		ck_assert_msg(strstr(diags, cases[i].want), "%s: got %s", cases[i].text, diags);
		free(diags);
	}
}
END_TEST

START_TEST(test_key_file)
{
	char *diags;
	write_key("short", 31, 0600);
	write_key("open", 32, 0640);
	write_key("long", 4097, 0600);
	write_key("good", 4096, 0400);
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\nhmac-key short\n", &diags),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, ":3:10: the key file "));
	ck_assert_ptr_nonnull(strstr(diags, "fewer than 32 bytes (mode 0600, 31 bytes)"));
	free(diags);
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\nhmac-key open\n", &diags),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, "may be read or written by others than its owner"));
	free(diags);
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\nhmac-key long\n", &diags),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, "more than 4096 bytes"));
	free(diags);
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\nhmac-key .\n", &diags),
	                 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, "is not a regular file"));
	free(diags);
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\nhmac-key good\n", &diags),
	                 0);
	ck_assert_uint_eq(C.keylen, 4096);
	free(diags);
}
END_TEST

START_TEST(test_pseudonym)
{
	char *diags, out[65];
	write_key("k", 32, 0600);
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\nhmac-key k\n", &diags), 0);
	free(diags);
	/* HMAC-SHA-256 under 32 bytes "k", as Python's hmac computes it */
	ck_assert_int_eq(pg_pseudonym(&C, "ann@example.org", 15, out), 0);
	ck_assert_str_eq(out, "c48c044f1ee71ac099dd6dbcfd7e7e00deed52c3a5daf36abdd60e785f2ede08");
	ck_assert_int_eq(pg_pseudonym(&C, "", 0, out), 0);
	ck_assert_str_eq(out, "a4ad8e340e32bf1d916005cb1dc92795148897965e36ae56c0adc357474b5372");
}
END_TEST

/* Decode the locator text for table t of C; the values joined by "|" or the error. */
static int locator(size_t t, const char *json, char *out, size_t outlen)
{
	json_error_t je;
	json_t *loc = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	ck_assert_msg(loc != NULL, "%s", json);
	const char *vals[PG_KEY_MAX];
	char buf[PG_KEY_BUF], err[512];
	int r = pg_locator_key(&C.tables[t], loc, vals, buf, sizeof(buf), err, sizeof(err));
	out[0] = '\0';
	if (r == 0) {
		for (size_t i = 0; i < C.tables[t].nkeys; i++) {
			size_t l = strlen(out);
			snprintf(out + l, outlen - l, "%s%s", i ? "|" : "", vals[i]);
		}
	} else {
		snprintf(out, outlen, "%s", err);
	}
	json_decref(loc);
	return r;
}

START_TEST(test_locator)
{
	char *diags, out[1024];
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\n"
	                              "table e { category e; key course person }\n",
	                      &diags),
	                 0);
	free(diags);
	ck_assert_int_eq(locator(0, "{\"key\": \"2025-118\"}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "2025-118");
	ck_assert_int_eq(locator(0, "{\"key\": -9007199254740993}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "-9007199254740993");
	ck_assert_int_eq(locator(0, "{\"key\": \"x'; DROP TABLE t; --\"}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "x'; DROP TABLE t; --");
	ck_assert_int_eq(
	    locator(1, "{\"key\": {\"person\": 7, \"course\": \"12\"}}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "12|7"); /* in key order */
	static const char *bad0[] = {
	    "{\"key\": 1.5}",
	    "{\"key\": true}",
	    "{\"key\": null}",
	    "{\"key\": [1]}",
	    "{\"key\": {\"id\": 1}}",
	    "{\"id\": 1}",
	    "{}",
	    "\"1\"",
	    "{\"key\": 1, \"also\": 2}",
	    "{\"key\": \"a\\u0000b\"}",
	};
	for (size_t i = 0; i < sizeof(bad0) / sizeof(*bad0); i++) {
		ck_assert_msg(locator(0, bad0[i], out, sizeof(out)) == -EINVAL, "%s", bad0[i]);
		ck_assert_ptr_nonnull(strstr(out, "must be {\"key\": V}"));
	}
	static const char *bad1[] = {
	    "{\"key\": 12}",
	    "{\"key\": {\"course\": 12}}",
	    "{\"key\": {\"course\": 12, \"person\": 7, \"x\": 1}}",
	    "{\"key\": {\"course\": 12, \"Person\": 7}}",
	    "{\"key\": {\"course\": 12, \"person\": null}}",
	};
	for (size_t i = 0; i < sizeof(bad1) / sizeof(*bad1); i++) {
		ck_assert_msg(locator(1, bad1[i], out, sizeof(out)) == -EINVAL, "%s", bad1[i]);
		ck_assert_ptr_nonnull(
		    strstr(out, "must be {\"key\": {\"course\": V1, \"person\": V2}}"));
	}
}
END_TEST

START_TEST(test_unreachable)
{
	/* serving: the server may come later, so it is no configuration error */
	char *diags;
	ck_assert_int_eq(load(NOWHERE "table t { category c; key id }\n", &diags), 0);
	free(diags);
	/* checking (-n): it is, at the conninfo */
	struct rtn_diags d;
	rtn_diags_init(&d);
	O.check = true;
	ck_assert_int_eq(pg_configured(&C, CONFP, &O, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_int_eq(d.v[0].line, 1);
	ck_assert_int_eq(d.v[0].col, 10);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "cannot connect to check the tables: "));
	ck_assert_ptr_null(strchr(d.v[0].msg, '\n'));
	rtn_diags_fini(&d);
	char out[64];
	pg_oneline(strcpy(out, "a\n\tb\nc\n"));
	ck_assert_str_eq(out, "a b c");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend_postgres");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_good);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_key_file);
	tcase_add_test(tc, test_pseudonym);
	tcase_add_test(tc, test_locator);
	tcase_add_test(tc, test_unreachable);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
