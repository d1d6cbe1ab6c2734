/* test_audit.c - the audit log: canonical form, writer, rotation, verifier, query */
#include "testutil.h"
#include "audit.c" /* the fast path's statics */
#include "../../daemon/verify.c"
#include "rtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BASE ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */

static char dir[64];
static struct rtn_zone *zone; /* the format zone: audit times carry its offsets */

static void setup(void)
{
	strcpy(dir, "/tmp/test_audit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	zone = rtn_zone_open("Europe/Oslo");
	ck_assert_ptr_nonnull(zone);
	rtn_time_set_format_zone(zone);
}

static void teardown(void)
{
	rtn_test_rmrf(dir);
	rtn_time_set_format_zone(rtn_zone_utc());
	rtn_zone_free(zone);
}

static const char *P(const char *name)
{
	return rtn_test_path(dir, name);
}

static struct rtn_audit *open_log(const char *path)
{
	char err[256] = "";
	struct rtn_audit *a = NULL;
	int r = rtn_audit_open(path, BASE, &a, err, sizeof(err));
	ck_assert_msg(r == 0, "open %s: %d %s", path, r, err);
	return a;
}

/* Entry i of a varied stream: optional members, a subject, non-ASCII, controls. */
static void add(struct rtn_audit *a, unsigned long i)
{
	static const char *const notes[] = {"plain", "S\xc3\xb8knad \xc3\x85se", "tab\t\"q\"\\",
	                                    "del \x7f", "emoji \xf0\x9f\x93\x84"};
	char rec[32], subj[32];
	snprintf(rec, sizeof(rec), "r/%lu", i % 50);
	snprintf(subj, sizeof(subj), "person:%lu", i % 7);
	json_t *d =
	    json_pack("{s:s,s:s,s:I}", "subject", subj, "note", notes[i % 5], "n", (json_int_t)i);
	struct rtn_audit_entry e = {.type = i % 3 == 0 ? "job.sent" : "record.put",
	                            .actor = i % 4 == 3 ? "uid:1000" : "scheduler",
	                            .record = rec,
	                            .category = i % 2 ? "job_application" : "travel_expense",
	                            .rule = i % 3 == 0 ? "rule-a" : NULL,
	                            .basis = i % 3 == 0 ? "Bookkeeping Act \xc2\xa7 13" : NULL,
	                            .job = i % 3 == 0 ? "J-00000001" : NULL,
	                            .detail = d};
	ck_assert_int_eq(rtn_audit_append(a, BASE + (rtn_time_t)i * 3600, &e, 0), 0);
	json_decref(d);
}

static void write_log(const char *path, unsigned long n)
{
	struct rtn_audit *a = open_log(path);
	unsigned long s = rtn_audit_seq(a);
	for (unsigned long i = 0; i < n; i++)
		add(a, s + i);
	ck_assert_int_eq(rtn_audit_sync(a), 0);
	rtn_audit_close(a);
}

static json_t *verify_n(const char *const *paths, size_t n, const char *head)
{
	char err[256] = "";
	json_t *res = NULL;
	int r = rtn_audit_verify(paths, n, head, &res, err, sizeof(err));
	ck_assert_msg(r == 0, "verify: %d %s", r, err);
	return res;
}

static json_t *verify1(const char *path, const char *head)
{
	return verify_n(&path, 1, head);
}

static long long inum(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* res is valid with n entries. Consumes res. */
static void assert_valid(json_t *res, long long n)
{
	char *s = json_dumps(res, JSON_COMPACT);
	ck_assert_msg(json_is_true(json_object_get(res, "valid")), "not valid: %s", s);
	ck_assert_msg(inum(res, "entries") == n, "entries %lld != %lld", inum(res, "entries"), n);
	free(s);
	json_decref(res);
}

/* res is invalid with its first bad entry at file:line. Consumes res. */
static void assert_bad_at(json_t *res, const char *file, long long line, const char *what)
{
	json_t *b = json_object_get(res, "first_bad");
	char *s = json_dumps(res, JSON_COMPACT);
	ck_assert_msg(json_is_false(json_object_get(res, "valid")) && b, "%s: valid: %s", what, s);
	ck_assert_msg(inum(b, "line") == line, "%s: first bad line %lld, want %lld: %s", what,
	              inum(b, "line"), line, s);
	if (file)
		ck_assert_str_eq(json_string_value(json_object_get(b, "file")), file);
	free(s);
	json_decref(res);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *p = malloc(*len + 1);
	ck_assert_uint_eq(fread(p, 1, *len, f), *len);
	p[*len] = '\0';
	fclose(f);
	return p;
}

static void spit(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	fclose(f);
}

/* ---- canonical form ------------------------------------------------------------------ */

static void canon_is(json_t *v, bool with_hash, const char *want)
{
	char *c = NULL;
	ck_assert_int_eq(rtn_audit_canonical(v, with_hash, &c, NULL), 0);
	ck_assert_str_eq(c, want);
	free(c);
	json_decref(v);
}

START_TEST(canonical_form)
{
	canon_is(json_loads("{\"b\":1,\"a\":{\"d\":[1,\"x\",{}],\"c\":true},\"n\":null}", 0, NULL),
	         true, "{\"a\":{\"c\":true,\"d\":[1,\"x\",{}]},\"b\":1,\"n\":null}");
	/* keys by byte: "Z" < "a" < "z" < "é" (0xc3) */
	canon_is(json_pack("{s:i,s:i,s:i,s:i}", "z", 1, "\xc3\xa9", 2, "Z", 3, "a", 4), true,
	         "{\"Z\":3,\"a\":4,\"z\":1,\"\\u00e9\":2}");
	/* lower-case hex, surrogate pairs, DEL and controls escaped, '/' not */
	canon_is(json_pack("[s,s,s,s,s]", "\xc3\xa9\xe2\x80\xa8", "\xf0\x9f\x98\x80",
	                   "\x7f\x1f\x01", "\"\\/\b\f\n\r\t", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"),
	         true,
	         "[\"\\u00e9\\u2028\",\"\\ud83d\\ude00\",\"\\u007f\\u001f\\u0001\","
	         "\"\\\"\\\\/\\b\\f\\n\\r\\t\",\"\\uffff\\udbff\\udfff\"]");
	canon_is(json_pack("{s:I,s:I,s:i}", "max", (json_int_t)9223372036854775807LL, "min",
	                   (json_int_t)(-9223372036854775807LL - 1), "neg", -5),
	         true, "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"neg\":-5}");
	/* "hash" is left out at the top only */
	canon_is(json_pack("{s:s,s:{s:s},s:i}", "hash", "h", "detail", "hash", "x", "seq", 1),
	         false, "{\"detail\":{\"hash\":\"x\"},\"seq\":1}");
	char *c = NULL;
	json_t *v = json_pack("{s:f}", "x", 1.5);
	ck_assert_int_eq(rtn_audit_canonical(v, true, &c, NULL), -EINVAL);
	json_decref(v);
	v = json_pack("{s:s%}", "x", "a\0b", (size_t)3);
	ck_assert_int_eq(rtn_audit_canonical(v, true, &c, NULL), -EINVAL);
	json_decref(v);
	ck_assert_ptr_null(c);
}
END_TEST

/* Every code point class through C and through Python's json.dumps: the same bytes. */
START_TEST(canonical_matches_python)
{
	if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_audit: python3 not found, cross-check skipped\n");
		return;
	}
	const char *lines = P("canon.jsonl");
	FILE *f = fopen(lines, "w");
	ck_assert_ptr_nonnull(f);
	static const unsigned cps[] = {0x01,   0x1f,    0x20,    0x22,    0x2f,   0x5c,
	                               0x7e,   0x7f,    0x80,    0xa0,    0xff,   0x100,
	                               0x7ff,  0x800,   0xd7ff,  0xe000,  0xfeff, 0xfffd,
	                               0xffff, 0x10000, 0x1f600, 0x10ffff};
	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		char s[8];
		unsigned cp = cps[i];
		int n = cp < 0x80      ? (s[0] = (char)cp, 1)
		        : cp < 0x800   ? (s[0] = (char)(0xc0 | cp >> 6), 2)
		        : cp < 0x10000 ? (s[0] = (char)(0xe0 | cp >> 12), 3)
		                       : (s[0] = (char)(0xf0 | cp >> 18), 4);
		for (int k = 1; k < n; k++)
			s[k] = (char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
		json_t *v = json_pack("{s:s#,s#:i,s:[s#,i]}", "v", s, (size_t)n, s, (size_t)n,
		                      (int)i, "z", s, (size_t)n, -(int)i);
		char *c = NULL;
		ck_assert_int_eq(rtn_audit_canonical(v, true, &c, NULL), 0);
		fprintf(f, "%s\n", c);
		free(c);
		json_decref(v);
	}
	/* a whole log, too */
	fclose(f);
	write_log(P("py.log"), 40);
	char *cmd = NULL;
	ck_assert_int_ge(
	    asprintf(&cmd,
	             "python3 -c 'import json,sys\n"
	             "for p in sys.argv[1:]:\n"
	             "  for l in open(p, encoding=\"ascii\"):\n"
	             "    l = l.rstrip(\"\\n\")\n"
	             "    d = json.dumps(json.loads(l), sort_keys=True, separators=(\",\", \":\"), "
	             "ensure_ascii=True)\n"
	             "    if d != l: sys.exit(\"differs:\\n\" + l + \"\\n\" + d)\n' %s %s",
	             lines, P("py.log")),
	    0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

START_TEST(append_rejects)
{
	struct rtn_audit *a = open_log(P("a.log"));
	json_t *real = json_pack("{s:f}", "x", 0.5);
	struct rtn_audit_entry e = {.type = "job.done", .actor = "scheduler", .detail = real};
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, 0), -EINVAL);
	json_decref(real);
	e.detail = NULL;
	e.actor = "root";
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, 0), -EINVAL);
	e.actor = "uid:";
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, 0), -EINVAL);
	e.actor = "uid:0";
	e.type = "Job done";
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, 0), -EINVAL);
	e.type = "job.done";
	e.record = "\xff";
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, 0), -EINVAL);
	e.record = NULL;
	ck_assert_int_eq(rtn_audit_append(a, RTN_TIME_MAX + 1, &e, 0), -ERANGE);
	ck_assert_uint_eq(rtn_audit_seq(a), 0);
	ck_assert_str_eq(rtn_audit_head(a), RTN_AUDIT_GENESIS);
	/* absent members are left out, not null */
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, RTN_AUDIT_SYNC), 0);
	ck_assert_uint_eq(rtn_audit_seq(a), 1);
	size_t len;
	char *p = slurp(P("a.log"), &len);
	ck_assert_ptr_null(strstr(p, "null"));
	ck_assert_ptr_null(strstr(p, "record"));
	ck_assert_ptr_nonnull(strstr(p, "\"actor\":\"uid:0\","));
	ck_assert_ptr_nonnull(strstr(p, "\"time\":\"2026-01-01T01:00:00+01:00\""));
	free(p);
	/* one writer at a time */
	struct rtn_audit *b = NULL;
	char err[256];
	ck_assert_int_eq(rtn_audit_open(P("a.log"), BASE, &b, err, sizeof(err)), -EBUSY);
	rtn_audit_close(a);
}
END_TEST

/* line with from replaced by to and its hash recomputed over the bytes as they are: what
 * a forger who knows the algorithm writes. false if from is not in line. */
static bool forge(const char *line, const char *from, const char *to, char *out, size_t max)
{
	const char *at = strstr(line, from);
	if (!at)
		return false;
	snprintf(out, max, "%.*s%s%s", (int)(at - line), line, to, at + strlen(from));
	char *h = strstr(out, ",\"hash\":\"");
	const char *prev = strstr(out, "\"prev\":\"");
	ck_assert(h && prev);
	struct cut c = {.start = (size_t)(h - out), .end = (size_t)(h - out) + 1 + 8 + 64 + 1};
	char sum[RTN_AUDIT_HASH_LEN + 1];
	chain_hash(prev + 8, out, strlen(out), &c, sum);
	memcpy(h + 9, sum, RTN_AUDIT_HASH_LEN);
	return true;
}

static void paths_agree(const char *line, size_t len, bool want_ok);

/* Lines that hash right but are not canonical: both paths refuse every one. */
START_TEST(fast_path_is_strict)
{
	const char *log = P("a.log");
	write_log(log, 5);
	size_t len;
	char *all = slurp(log, &len), *lines[5], out[2048];
	for (int i = 0; i < 5; i++) {
		lines[i] = strtok(i ? NULL : all, "\n");
		paths_agree(lines[i], strlen(lines[i]), true);
	}
	static const char *const bad[][2] = {
	    {"\\u00f8", "\\u00F8"},                                    /* upper-case hex */
	    {"\\u00f8", "\xc3\xb8"},                                   /* raw UTF-8 */
	    {"\\u00f8", "\\ud800"},                                    /* lone surrogate */
	    {"\\ud83d\\udcc4", "\\uD83D\\udcc4"},                      /* upper-case surrogate */
	    {"\\u007f", "\x7f"},                                       /* raw DEL */
	    {"\\t", "\t"},                                             /* raw tab */
	    {"\\t", "\\u0009"},                                        /* \u for a short escape */
	    {"\\\"q", "\\u0022q"},                                     /* \u for a quote */
	    {"plain", "pl\\u0061in"},                                  /* \u for a printable */
	    {"\"r/", "\"r\\/"},                                        /* escaped slash */
	    {",\"seq\":", ", \"seq\":"},                               /* whitespace */
	    {"\"seq\":1,", "\"seq\":01,"},                             /* leading zero */
	    {"\"seq\":1,", "\"seq\":1.0,"},                            /* a real */
	    {"\"n\":0,", "\"n\":-0,"},                                 /* negative zero */
	    {"\"n\":0,", "\"n\":99999999999999999999,"},               /* out of range */
	    {"\"n\":0,", "\"n\":1e2,"},                                /* exponent */
	    {"{\"actor\"", "{\"zzz\":1,\"actor\""},                    /* unsorted */
	    {"{\"actor\"", "{\"actor\":\"daemon\",\"actor\""},         /* duplicate */
	    {"\"type\":\"record.put\"}", "\"type\":\"record.put\"}x"}, /* trailing bytes */
	    {"\"type\":\"record.put\"}", "\"type\":\"record.put\",}"}, /* trailing comma */
	    {"\"detail\":{", "\"detail\":["},                          /* detail not an object */
	    {"\"actor\":\"scheduler\"", "\"actor\":\"root\""},         /* unknown actor */
	    {"\"time\":\"2026-", "\"time\":\"2O26-"},                  /* bad time */
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		int hits = 0;
		for (int i = 0; i < 5; i++)
			if (forge(lines[i], bad[k][0], bad[k][1], out, sizeof(out)))
				paths_agree(out, strlen(out), false), hits++;
		ck_assert_msg(hits > 0, "no line has %s", bad[k][0]);
	}
	/* the forger's helper itself works: a changed value, re-hashed, is valid */
	ck_assert(forge(lines[0], "plain", "plaim", out, sizeof(out)));
	paths_agree(out, strlen(out), true);
	free(all);
}
END_TEST

/* ---- the writer ------------------------------------------------------------------------ */

START_TEST(reopen_continues)
{
	const char *log = P("a.log");
	struct rtn_audit *a = open_log(log);
	for (unsigned long i = 0; i < 10; i++)
		add(a, i);
	ck_assert_int_eq(rtn_audit_flush(a), 0);
	char head[RTN_AUDIT_HASH_LEN + 1];
	strcpy(head, rtn_audit_head(a));
	rtn_audit_close(a); /* syncs */
	a = open_log(log);
	ck_assert_uint_eq(rtn_audit_seq(a), 10);
	ck_assert_str_eq(rtn_audit_head(a), head);
	for (unsigned long i = 10; i < 15; i++)
		add(a, i);
	json_t *d = json_pack("{s:s}", "subject", "person:x");
	struct rtn_audit_entry e = {.type = "erase.request", .actor = "uid:0", .detail = d};
	ck_assert_int_eq(rtn_audit_append(a, BASE, &e, RTN_AUDIT_SYNC), 0);
	json_decref(d);
	strcpy(head, rtn_audit_head(a));
	rtn_audit_close(a);
	json_t *res = verify1(log, head);
	ck_assert_str_eq(json_string_value(json_object_get(res, "head")), head);
	ck_assert_int_eq(inum(json_object_get(res, "journal_head"), "entries_after"), 0);
	assert_valid(res, 16);
	/* the journal's head may be an earlier entry */
	res = verify1(log, RTN_AUDIT_GENESIS);
	ck_assert_int_eq(inum(json_object_get(res, "journal_head"), "entries_after"), 16);
	assert_valid(res, 16);
}
END_TEST

/* Entries of a change that did not happen are taken back: from the buffer, or cut from
 * the file when already written; the chain continues from the mark. */
START_TEST(undo_to_mark)
{
	const char *log = P("u.log");
	struct rtn_audit *a = open_log(log);
	for (unsigned long i = 0; i < 5; i++)
		add(a, i);
	ck_assert_int_eq(rtn_audit_sync(a), 0);
	char head[RTN_AUDIT_HASH_LEN + 1];
	strcpy(head, rtn_audit_head(a));
	struct stat before;
	ck_assert_int_eq(stat(log, &before), 0);

	struct rtn_audit_mark m;
	rtn_audit_mark(a, &m);
	add(a, 5); /* buffered only */
	ck_assert_int_eq(rtn_audit_undo(a, &m), 0);
	ck_assert_uint_eq(rtn_audit_seq(a), 5);
	ck_assert_str_eq(rtn_audit_head(a), head);

	rtn_audit_mark(a, &m);
	add(a, 6);
	add(a, 7);
	ck_assert_int_eq(rtn_audit_sync(a), 0); /* written and synced, then undone */
	struct stat grown;
	ck_assert_int_eq(stat(log, &grown), 0);
	ck_assert_int_gt(grown.st_size, before.st_size);
	ck_assert_int_eq(rtn_audit_undo(a, &m), 0);
	struct stat cut;
	ck_assert_int_eq(stat(log, &cut), 0);
	ck_assert_int_eq(cut.st_size, before.st_size);
	ck_assert_uint_eq(rtn_audit_seq(a), 5);
	/* an undo with nothing after the mark changes nothing */
	ck_assert_int_eq(rtn_audit_undo(a, &m), 0);
	add(a, 8);
	ck_assert_int_eq(rtn_audit_sync(a), 0);
	strcpy(head, rtn_audit_head(a));
	rtn_audit_close(a);
	json_t *res = verify1(log, head);
	assert_valid(res, 6);
}
END_TEST

START_TEST(torn_last_line)
{
	const char *log = P("a.log");
	write_log(log, 10);
	size_t len;
	char *orig = slurp(log, &len);
	const char *torn = "{\"actor\":\"scheduler\",\"detail\":{\"n";
	FILE *f = fopen(log, "a");
	fputs(torn, f);
	fclose(f);
	char want[64];
	snprintf(want, sizeof(want), "\"torn_bytes\":%zu", strlen(torn));
	json_t *res = verify1(log, NULL);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(json_object_get(res, "first_bad"), "reason")),
	           "torn"));
	assert_bad_at(res, log, 11, "torn");
	struct rtn_audit *a = open_log(log); /* cuts the torn line, records the repair */
	ck_assert_uint_eq(rtn_audit_seq(a), 11);
	rtn_audit_close(a);
	size_t len2;
	char *now = slurp(log, &len2);
	ck_assert_int_eq(memcmp(orig, now, len), 0);
	ck_assert_ptr_nonnull(strstr(now + len, want));
	ck_assert_ptr_nonnull(strstr(now + len, "\"type\":\"audit.repaired\""));
	assert_valid(verify1(log, NULL), 11);
	/* a bad last whole line is refused, and nothing is cut */
	now[len2 - 10] ^= 1;
	spit(log, now, len2);
	f = fopen(log, "a");
	fputs(torn, f);
	fclose(f);
	struct rtn_audit *b = NULL;
	char err[256];
	ck_assert_int_eq(rtn_audit_open(log, BASE, &b, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "hash mismatch"));
	struct stat st;
	ck_assert_int_eq(stat(log, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)(len2 + strlen(torn)));
	mode_t mask = umask(0);
	umask(mask);
	ck_assert_int_eq(st.st_mode & 0777, 0640 & ~mask);
	/* a file of nothing but a torn line */
	spit(log, "{\"seq\"", 6);
	a = open_log(log);
	ck_assert_uint_eq(rtn_audit_seq(a), 1);
	rtn_audit_close(a);
	assert_valid(verify1(log, NULL), 1);
	free(orig);
	free(now);
}
END_TEST

START_TEST(rotation_chain)
{
	const char *log = P("audit.log"), *r1 = P("audit.log.1"), *r2 = P("audit.log.2");
	struct rtn_audit *a = open_log(log);
	for (unsigned long i = 0; i < 10; i++)
		add(a, i);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 100, r1), 0);
	ck_assert_uint_eq(rtn_audit_seq(a), 11);
	for (unsigned long i = 11; i < 21; i++)
		add(a, i);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 200, r1), -EEXIST);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 200, r2), 0);
	for (unsigned long i = 22; i < 32; i++)
		add(a, i);
	char head[RTN_AUDIT_HASH_LEN + 1];
	strcpy(head, rtn_audit_head(a));
	rtn_audit_close(a);

	const char *all[] = {r1, r2, log};
	json_t *res = verify_n(all, 3, head);
	ck_assert_int_eq(inum(res, "last_seq"), 32);
	assert_valid(res, 32);
	/* the current file alone continues from r2 */
	res = verify1(log, NULL);
	json_t *c = json_object_get(res, "continues_from");
	ck_assert_str_eq(json_string_value(json_object_get(c, "file")), r2);
	ck_assert_int_eq(inum(c, "seq"), 21);
	assert_valid(res, 11);
	const char *swapped[] = {r2, r1, log};
	assert_bad_at(verify_n(swapped, 3, NULL), r1, 1, "files swapped");
	const char *gap[] = {r1, log};
	assert_bad_at(verify_n(gap, 2, NULL), log, 1, "middle file missing");
	/* a journal head newer than the last file given */
	const char *old[] = {r1, r2};
	assert_bad_at(verify_n(old, 2, head), r2, 12, "current file missing");

	/* a crash between the two renames of a rotation: the new file waits at .rotating */
	a = open_log(log);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE + 300, P("audit.log.3")), 0);
	rtn_audit_close(a);
	ck_assert_int_eq(rename(log, P("audit.log.rotating")), 0);
	a = open_log(log);
	ck_assert_uint_eq(rtn_audit_seq(a), 33);
	rtn_audit_close(a);
	/* a crash before them: a stray .rotating is removed */
	spit(P("audit.log.rotating"), "junk", 4);
	a = open_log(log);
	ck_assert_uint_eq(rtn_audit_seq(a), 33);
	rtn_audit_close(a);
	ck_assert_int_ne(access(P("audit.log.rotating"), F_OK), 0);
	const char *four[] = {r1, r2, P("audit.log.3"), log};
	assert_valid(verify_n(four, 4, NULL), 33);
}
END_TEST

START_TEST(query)
{
	const char *log = P("a.log");
	write_log(log, 100); /* entry i at BASE + i hours */
	char err[256];
	json_t *res;
	struct rtn_audit_filter f = {.record = "r/3"}; /* zero times: unbounded */
	ck_assert_int_eq(rtn_audit_query(&log, 1, &f, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(inum(res, "count"), 2); /* i = 3, 53 */
	json_decref(res);
	f = (struct rtn_audit_filter){
	    .since = BASE + 10 * 3600, .until = BASE + 20 * 3600, .type = "job."};
	ck_assert_int_eq(rtn_audit_query(&log, 1, &f, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(inum(res, "count"), 3); /* 12, 15, 18 */
	json_decref(res);
	f = (struct rtn_audit_filter){.since = RTN_TIME_NONE,
	                              .until = RTN_TIME_NONE,
	                              .subject = "person:2",
	                              .limit = 3,
	                              .last = true};
	ck_assert_int_eq(rtn_audit_query(&log, 1, &f, &res, err, sizeof(err)), 0);
	json_t *es = json_object_get(res, "entries");
	ck_assert_int_eq(json_array_size(es), 3);
	ck_assert_int_eq(inum(json_array_get(es, 0), "seq"), 80); /* i = 79, 86, 93 */
	ck_assert_int_eq(inum(json_array_get(es, 2), "seq"), 94);
	ck_assert(json_is_true(json_object_get(res, "more")));
	json_decref(res);
	f.last = false;
	f.category = "travel_expense";
	ck_assert_int_eq(rtn_audit_query(&log, 1, &f, &res, err, sizeof(err)), 0);
	es = json_object_get(res, "entries");
	ck_assert_int_eq(inum(json_array_get(es, 0), "seq"), 3); /* i = 2, 16, 30 */
	ck_assert_int_eq(inum(json_array_get(es, 2), "seq"), 31);
	json_decref(res);
	const char *missing = P("nope");
	ck_assert_int_eq(rtn_audit_query(&missing, 1, &f, &res, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(rtn_audit_verify(&missing, 1, NULL, &res, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(rtn_audit_verify(&log, 1, "abc", &res, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- the tamper matrix on a 5 000-entry log ---------------------------------------------- */

#define N_ENTRIES 5000

static char *orig;
static size_t orig_len;
static size_t line_at[N_ENTRIES + 2]; /* byte offset of line i (1-based); [N+1] = length */

static void tamper_setup(void)
{
	setup();
	write_log(P("big.log"), N_ENTRIES);
	orig = slurp(P("big.log"), &orig_len);
	size_t n = 1;
	line_at[1] = 0;
	for (size_t i = 0; i < orig_len; i++)
		if (orig[i] == '\n')
			line_at[++n] = i + 1;
	ck_assert_uint_eq(n, N_ENTRIES + 1);
}

static void tamper_teardown(void)
{
	free(orig);
	teardown();
}

/* The line (1-based) holding byte p. */
static long long line_of(size_t p)
{
	size_t lo = 1, hi = N_ENTRIES;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		if (line_at[mid] <= p)
			lo = mid;
		else
			hi = mid - 1;
	}
	return (long long)lo;
}

/* The hash of line i, from the original. */
static const char *hash_of(size_t i, char *out)
{
	const char *h = strstr(orig + line_at[i], "\"hash\":\"") + 8;
	memcpy(out, h, RTN_AUDIT_HASH_LEN);
	out[RTN_AUDIT_HASH_LEN] = '\0';
	return out;
}

/* The fast path accepts only what the slow path accepts. */
static void paths_agree(const char *line, size_t len, bool want_ok)
{
	struct rtn_audit_line f;
	json_t *e = NULL;
	char why[256];
	bool fast = fast_check(line, len, &f);
	bool slow = rtn_audit_check_line(line, len, &f, &e, why, sizeof(why)) == 0;
	json_decref(e);
	ck_assert_msg(!fast || slow, "fast path accepts what the slow path refuses: %.*s", (int)len,
	              line);
	ck_assert_msg(slow == want_ok, "slow path %s: %.*s", slow ? "accepts" : "refuses", (int)len,
	              line);
	if (want_ok)
		ck_assert_msg(fast, "fast path refuses a valid line: %.*s", (int)len, line);
}

/* Flip byte p by x in the file, verify, expect the first bad line to hold p, restore. */
static void flip(int fd, const char *log, size_t p, unsigned char x)
{
	char b = (char)(orig[p] ^ x), what[64];
	long long l = line_of(p);
	if (orig[p] != '\n') {
		size_t n = line_at[l + 1] - line_at[l] - 1;
		char *copy = malloc(n);
		memcpy(copy, orig + line_at[l], n);
		copy[p - line_at[l]] = b;
		paths_agree(copy, n, false);
		free(copy);
	}
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)p), 1);
	json_t *res = verify1(log, NULL);
	long long want = line_of(p);
	char h[RTN_AUDIT_HASH_LEN + 1];
	ck_assert_int_eq(inum(res, "entries"), want - 1);
	if (want > 1)
		ck_assert_str_eq(json_string_value(json_object_get(res, "head")),
		                 hash_of((size_t)want - 1, h));
	snprintf(what, sizeof(what), "byte %zu ^ 0x%02x", p, x);
	assert_bad_at(res, log, want, what);
	ck_assert_int_eq(pwrite(fd, orig + p, 1, (off_t)p), 1);
}

START_TEST(tamper_bytes)
{
	const char *log = P("big.log");
	int fd = open(log, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	size_t cases = 0;
	/* ~260 bytes spread over the file, at every offset within a line over time */
	size_t stride = orig_len / 260 | 1;
	for (size_t p = 0; p < orig_len; p += stride + 37)
		flip(fd, log, p, 0x01), cases++;
	/* the bytes that matter most: every one of them in the first two lines, a few in a
	 * middle and in the last line */
	static const char *const marks[] = {"\"hash\":\"", "\"prev\":\"", "\"seq\":",
	                                    "\"type\"",    "\"note\":\"", "\"time\":\"2026-"};
	const size_t lines[] = {1, 2, 2500, N_ENTRIES};
	for (size_t li = 0; li < 4; li++) {
		size_t l = lines[li], start = line_at[l], end = line_at[l + 1] - 1;
		for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
			const char *at = strstr(orig + start, marks[m]);
			ck_assert(at && (size_t)(at - orig) < end);
			size_t p = (size_t)(at - orig), n = strlen(marks[m]) + 3;
			for (size_t k = 0; k<n; k += l> 2 ? n / 3 : 1)
				flip(fd, log, p + k, 0x01), flip(fd, log, p + k, 0x20), cases += 2;
		}
		size_t ends[] = {start, start + 1, end - 1, end}; /* '{', '"', '}', newline */
		for (size_t k = 0; k < 4; k++)
			flip(fd, log, ends[k], 0x01), flip(fd, log, ends[k], 0x2a), cases += 2;
	}
	close(fd);
	ck_assert_uint_ge(cases, 600);
	fprintf(stderr, "test_audit: %zu single-byte alterations\n", cases);
	assert_valid(verify1(log, NULL), N_ENTRIES);
}
END_TEST

/* Write the original with lines [a, b) left out and the line ins inserted before line at. */
static void edit(const char *log, size_t a, size_t b, size_t ins, size_t at)
{
	FILE *f = fopen(log, "wb");
	for (size_t i = 1; i <= N_ENTRIES; i++) {
		if (ins && i == at)
			fwrite(orig + line_at[ins], 1, line_at[ins + 1] - line_at[ins], f);
		if (i < a || i >= b)
			fwrite(orig + line_at[i], 1, line_at[i + 1] - line_at[i], f);
	}
	fclose(f);
}

START_TEST(tamper_lines)
{
	const char *log = P("big.log");
	char head[RTN_AUDIT_HASH_LEN + 1], h[RTN_AUDIT_HASH_LEN + 1];
	for (size_t i = 1; i <= N_ENTRIES; i++)
		paths_agree(orig + line_at[i], line_at[i + 1] - line_at[i] - 1, true);
	hash_of(N_ENTRIES, head);
	/* removed: the first, a middle and the last line */
	edit(log, 1, 2, 0, 0);
	assert_bad_at(verify1(log, NULL), log, 1, "first removed");
	edit(log, 2500, 2501, 0, 0);
	assert_bad_at(verify1(log, NULL), log, 2500, "middle removed");
	edit(log, N_ENTRIES, N_ENTRIES + 1, 0, 0);
	assert_valid(verify1(log, NULL), N_ENTRIES - 1); /* visible only against the journal */
	assert_bad_at(verify1(log, head), log, N_ENTRIES, "last removed");
	/* inserted copies: an old line, a duplicate next to itself, a copy at the end */
	edit(log, 0, 0, 100, 2001);
	assert_bad_at(verify1(log, NULL), log, 2001, "copy inserted");
	edit(log, 0, 0, 3000, 3001);
	assert_bad_at(verify1(log, NULL), log, 3001, "duplicate");
	edit(log, 0, 0, 17, 1);
	assert_bad_at(verify1(log, NULL), log, 1, "copy before the first");
	/* swapped neighbours */
	for (size_t i = 1; i < N_ENTRIES; i += 1234) {
		edit(log, i, i + 2, 0, 0);
		FILE *f = fopen(log, "r+b");
		fseek(f, (long)line_at[i], SEEK_SET);
		fwrite(orig + line_at[i + 1], 1, line_at[i + 2] - line_at[i + 1], f);
		fwrite(orig + line_at[i], 1, line_at[i + 1] - line_at[i], f);
		fwrite(orig + line_at[i + 2], 1, orig_len - line_at[i + 2], f);
		fclose(f);
		assert_bad_at(verify1(log, NULL), log, (long long)i, "swapped");
	}
	edit(log, N_ENTRIES - 1, N_ENTRIES + 1, N_ENTRIES, N_ENTRIES - 1);
	FILE *f = fopen(log, "ab");
	fwrite(orig + line_at[N_ENTRIES - 1], 1, line_at[N_ENTRIES] - line_at[N_ENTRIES - 1], f);
	fclose(f);
	assert_bad_at(verify1(log, NULL), log, N_ENTRIES - 1, "last two swapped");
	/* truncated by whole lines: only the journal's head tells */
	const size_t cuts[] = {1, 7, 2500, N_ENTRIES - 1, N_ENTRIES};
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		spit(log, orig, line_at[N_ENTRIES + 1 - cuts[k]]);
		assert_valid(verify1(log, NULL), (long long)(N_ENTRIES - cuts[k]));
		json_t *res = verify1(log, head);
		ck_assert_ptr_nonnull(strstr(
		    json_string_value(json_object_get(json_object_get(res, "first_bad"), "reason")),
		    "truncated"));
		assert_bad_at(res, log, (long long)(N_ENTRIES + 1 - cuts[k]), "truncated");
	}
	/* truncated mid-line: torn, with or without the journal */
	spit(log, orig, line_at[4321] + 50);
	assert_bad_at(verify1(log, NULL), log, 4321, "cut mid-line");
	assert_bad_at(verify1(log, head), log, 4321, "cut mid-line, journal");
	spit(log, orig, orig_len - 1);
	assert_bad_at(verify1(log, NULL), log, N_ENTRIES, "last newline cut");
	/* the journal's head is an earlier entry: fine, and how many follow is reported */
	spit(log, orig, orig_len);
	json_t *res = verify1(log, hash_of(4000, h));
	ck_assert_int_eq(inum(json_object_get(res, "journal_head"), "seq"), 4000);
	ck_assert_int_eq(inum(json_object_get(res, "journal_head"), "entries_after"), 1000);
	assert_valid(res, N_ENTRIES);
	/* a rewritten log: valid on its own, but not the one the journal saw */
	const char *other = P("other.log");
	write_log(other, 10);
	assert_bad_at(verify1(other, head), other, 11, "rewritten");
}
END_TEST

/* Run verify_audit_main with stdout in *out (caller frees); its exit status. */
static int run_verify(const char *const *files, size_t n, const char *head, char **out)
{
	const char *o = P("stdout");
	fflush(stdout);
	int saved = dup(1), fd = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 1);
	close(fd);
	int rc = verify_audit_main(files, n, head);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	size_t len;
	*out = slurp(o, &len);
	return rc;
}

START_TEST(verify_main)
{
	const char *log = P("audit.log"), *missing = P("missing.log");
	char *out;
	write_log(log, 20);
	ck_assert_int_eq(run_verify(&log, 1, NULL, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "audit log valid: 20 entries (seq 1..20) in 1 file\n"));
	ck_assert_ptr_nonnull(strstr(out, "head: "));
	free(out);
	size_t len;
	char *p = slurp(log, &len);
	p[len / 2] ^= 1;
	spit(log, p, len);
	ck_assert_int_eq(run_verify(&log, 1, NULL, &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "audit log NOT valid\n"));
	ck_assert_ptr_nonnull(strstr(out, log));
	free(out);
	free(p);
	ck_assert_int_eq(run_verify(&missing, 1, NULL, &out), 66); /* EX_NOINPUT */
	free(out);
	ck_assert_int_eq(run_verify(&log, 1, "xyz", &out), 2); /* usage: not a hash */
	free(out);
	ck_assert_int_eq(run_verify(NULL, 0, NULL, &out), 2);
	free(out);
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, canonical_form);
	tcase_add_test(tc, canonical_matches_python);
	tcase_add_test(tc, fast_path_is_strict);
	tcase_add_test(tc, append_rejects);
	tcase_add_test(tc, reopen_continues);
	tcase_add_test(tc, undo_to_mark);
	tcase_add_test(tc, torn_last_line);
	tcase_add_test(tc, rotation_chain);
	tcase_add_test(tc, query);
	tcase_add_test(tc, verify_main);
	suite_add_tcase(s, tc);
	tc = tcase_create("tamper");
	tcase_add_checked_fixture(tc, tamper_setup, tamper_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tamper_bytes);
	tcase_add_test(tc, tamper_lines);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(audit_suite)
