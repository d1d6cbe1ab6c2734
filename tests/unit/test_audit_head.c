/* test_audit_head.c - the recorded head: its file, and the start-up check of a log */
#include "testutil.h"
#include "audit_head.h"
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
	strcpy(dir, "/tmp/test_audit_head.XXXXXX");
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

static const char *tag = "r"; /* the record of the entries add() writes */

/* Append n entries to the log at path (created if need be). */
static void add(const char *path, int n)
{
	char err[256] = "";
	struct rtn_audit *a = NULL;
	ck_assert_msg(rtn_audit_open(path, BASE, &a, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < n; i++) {
		struct rtn_audit_entry e = {
		    .type = "record.put", .actor = "uid:1000", .record = tag};
		ck_assert_int_eq(rtn_audit_append(a, BASE + i, &e, 0), 0);
	}
	ck_assert_int_eq(rtn_audit_sync(a), 0);
	rtn_audit_close(a);
}

/* The head of the log at path as the daemon records it (file: path). */
static struct rtn_audit_head head_of(const char *path)
{
	char err[256] = "";
	struct rtn_audit *a = NULL;
	ck_assert_msg(rtn_audit_open(path, BASE, &a, err, sizeof(err)) == 0, "%s", err);
	struct rtn_audit_head h = {.seq = rtn_audit_seq(a),
	                           .file = rtn_xstrdup(path),
	                           .size = rtn_audit_size(a),
	                           .time = BASE};
	memcpy(h.hash, rtn_audit_head(a), sizeof(h.hash));
	rtn_audit_close(a);
	return h;
}

static void rotate(const char *path, const char *to)
{
	char err[256] = "";
	struct rtn_audit *a = NULL;
	ck_assert_msg(rtn_audit_open(path, BASE, &a, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(rtn_audit_rotate(a, BASE, to), 0);
	rtn_audit_close(a);
}

/* Check path against h: the result, and found's reason (or "") into why. */
static int check(const char *path, const struct rtn_audit_head *h, long long *after, char *why,
                 size_t whylen)
{
	char err[256] = "";
	json_t *found = NULL;
	int r = rtn_audit_head_check(path, h, &found, err, sizeof(err));
	ck_assert_msg(r == 0 || r == -EILSEQ, "check: %d %s", r, err);
	ck_assert_ptr_nonnull(found);
	const char *reason = json_string_value(json_object_get(found, "reason"));
	snprintf(why, whylen, "%s", reason ? reason : "");
	*after = (long long)json_integer_value(json_object_get(found, "entries_after"));
	ck_assert_msg((r == 0) == !reason, "a reason exactly when refused: %d %s", r, why);
	json_decref(found);
	return r;
}

static void truncate_by(const char *path, off_t n)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size - n), 0);
}

static void append_bytes(const char *path, const char *s)
{
	FILE *f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputs(s, f);
	fclose(f);
}

START_TEST(record_round_trip)
{
	char err[256] = "";
	struct rtn_audit_head h = {.seq = 42, .file = "/var/log/a.log", .size = 9000, .time = BASE};
	memset(h.hash, 'c', RTN_AUDIT_HASH_LEN);
	h.hash[RTN_AUDIT_HASH_LEN] = '\0';
	ck_assert_msg(rtn_audit_head_write(P("audit.head"), &h, err, sizeof(err)) == 0, "%s", err);
	struct stat st;
	ck_assert_int_eq(stat(P("audit.head"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	ck_assert_int_ne(access(P("audit.head.tmp"), F_OK), 0);
	struct rtn_audit_head g;
	ck_assert_int_eq(rtn_audit_head_read(P("audit.head"), &g, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.seq, 42);
	ck_assert_str_eq(g.hash, h.hash);
	ck_assert_str_eq(g.file, h.file);
	ck_assert_int_eq(g.size, 9000);
	ck_assert_int_eq(g.time, BASE);
	rtn_audit_head_fini(&g);
	/* rewritten in place */
	h.seq = 43;
	ck_assert_int_eq(rtn_audit_head_write(P("audit.head"), &h, err, sizeof(err)), 0);
	ck_assert_int_eq(rtn_audit_head_read(P("audit.head"), &g, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.seq, 43);
	rtn_audit_head_fini(&g);
	/* nothing to record */
	h.seq = 0;
	ck_assert_int_eq(rtn_audit_head_write(P("audit.head"), &h, err, sizeof(err)), -EINVAL);
	/* a directory that does not exist */
	h.seq = 1;
	ck_assert_int_lt(rtn_audit_head_write(P("no/audit.head"), &h, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "no/audit.head"));
}
END_TEST

START_TEST(record_refused)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{\"seq\":0,\"hash\":\"" RTN_AUDIT_GENESIS "\",\"file\":\"f\",\"size\":1}",
	    "{\"seq\":1,\"hash\":\"ABC\",\"file\":\"f\",\"size\":1}",
	    "{\"seq\":1,\"hash\":\"" RTN_AUDIT_GENESIS "\",\"size\":1}",
	    "{\"seq\":1,\"hash\":\"" RTN_AUDIT_GENESIS "\",\"file\":\"f\",\"size\":\"1\"}",
	    "{\"seq\":1,\"seq\":2,\"hash\":\"" RTN_AUDIT_GENESIS "\",\"file\":\"f\",\"size\":1}",
	};
	char err[256];
	struct rtn_audit_head g;
	ck_assert_int_eq(rtn_audit_head_read(P("none"), &g, err, sizeof(err)), -ENOENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(P("audit.head"), "w");
		fputs(bad[i], f);
		fclose(f);
		err[0] = '\0';
		ck_assert_msg(rtn_audit_head_read(P("audit.head"), &g, err, sizeof(err)) ==
		                  -EBADMSG,
		              "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, P("audit.head")));
		ck_assert_ptr_null(g.file);
	}
	mkdir(P("adir"), 0700);
	ck_assert_int_eq(rtn_audit_head_read(P("adir"), &g, err, sizeof(err)), -EBADMSG);
	/* unknown members are a later version's: fine */
	FILE *f = fopen(P("audit.head"), "w");
	fputs("{\"seq\":3,\"hash\":\"" RTN_AUDIT_GENESIS "\",\"file\":\"f\",\"size\":7,\"x\":[1]}",
	      f);
	fclose(f);
	ck_assert_int_eq(rtn_audit_head_read(P("audit.head"), &g, err, sizeof(err)), 0);
	ck_assert_int_eq(g.time, 0);
	rtn_audit_head_fini(&g);
}
END_TEST

START_TEST(check_tail)
{
	char why[1024];
	long long after;
	char log[128];
	snprintf(log, sizeof(log), "%s", P("audit.log"));
	add(log, 5);
	struct rtn_audit_head h = head_of(log);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 0);
	/* a crash: entries after the head, and a torn line (rtn_audit_open cuts it) */
	add(log, 3);
	append_bytes(log, "{\"actor\":\"daemon\",\"det");
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 3);
	/* an entry after the head altered */
	struct rtn_audit_head h8 = head_of(log); /* cuts the torn line, appends audit.repaired */
	ck_assert_uint_eq(h8.seq, 9);
	FILE *f = fopen(log, "r+");
	fseek(f, -40, SEEK_END);
	fputc('#', f);
	fclose(f);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "breaks at byte"), "%s", why);
	rtn_audit_head_fini(&h8);
	/* cut back to before the head */
	unlink(log);
	add(log, 5);
	struct rtn_audit_head h5 = head_of(log);
	truncate_by(log, 1); /* the head's own newline */
	ck_assert_int_eq(check(log, &h5, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "cut off its end"), "%s", why);
	add(log, 0); /* the torn line cut: one whole entry fewer */
	ck_assert_int_eq(check(log, &h5, &after, why, sizeof(why)), -EILSEQ);
	rtn_audit_head_fini(&h5);
	rtn_audit_head_fini(&h);
}
END_TEST

START_TEST(check_rewritten)
{
	char why[1024];
	long long after;
	char log[128];
	snprintf(log, sizeof(log), "%s", P("audit.log"));
	add(log, 5);
	struct rtn_audit_head h = head_of(log);
	/* another chain, longer: something else ends at (or spans) the recorded size */
	unlink(log);
	tag = "another";
	add(log, 9);
	tag = "r";
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "rewritten"), "%s", why);
	/* the same chain with one byte more in an early entry */
	unlink(log);
	add(log, 5);
	char *text = NULL;
	size_t len;
	ck_assert_int_eq(rtn_read_file(log, 1 << 20, &text, &len), 0);
	size_t at = (size_t)(strchr(text, '\n') - text) + 2; /* inside the second line */
	FILE *f = fopen(log, "w");
	fwrite(text, 1, at, f);
	fputc(' ', f);
	fwrite(text + at, 1, len - at, f);
	fclose(f);
	free(text);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "rewritten"), "%s", why);
	/* empty, missing */
	f = fopen(log, "w");
	fclose(f);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "holds no entry"), "%s", why);
	unlink(log);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "does not exist"), "%s", why);
	/* not a file */
	mkdir(log, 0700);
	json_t *found = (json_t *)1;
	char err[256];
	ck_assert_int_eq(rtn_audit_head_check(log, &h, &found, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(found);
	rtn_audit_head_fini(&h);
}
END_TEST

START_TEST(check_across_rotations)
{
	char why[1024];
	long long after;
	char log[128];
	snprintf(log, sizeof(log), "%s", P("audit.log"));
	add(log, 4);
	struct rtn_audit_head h = head_of(log); /* seq 4 */
	add(log, 2);
	rotate(log, P("audit.log.1")); /* seq 7 begins the new file */
	add(log, 1);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 4); /* 5, 6 in the old file; 7, 8 in the new */
	rotate(log, P("audit.log.2"));
	add(log, 2);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 7);
	/* the head recorded in the old file is gone with it */
	rename(P("audit.log.1"), P("away"));
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	ck_assert_msg(strstr(why, "does not exist"), "%s", why);
	rename(P("away"), P("audit.log.1"));
	/* a cut of the old file is a loss too */
	truncate_by(P("audit.log.1"), 1);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), -EILSEQ);
	/* the head that was the last entry of a rotated file needs no more than its hash */
	struct rtn_audit_head h10 = head_of(log);
	rotate(log, P("audit.log.3"));
	unlink(P("audit.log.3"));
	ck_assert_int_eq(check(log, &h10, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 1);
	/* a head recorded after the rotation, in the new file, and that file cut */
	struct rtn_audit_head h12 = head_of(log);
	add(log, 1);
	struct rtn_audit_head h13 = head_of(log);
	truncate_by(log, 1);
	ck_assert_int_eq(check(log, &h12, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(check(log, &h13, &after, why, sizeof(why)), -EILSEQ);
	rtn_audit_head_fini(&h);
	rtn_audit_head_fini(&h10);
	rtn_audit_head_fini(&h12);
	rtn_audit_head_fini(&h13);
}
END_TEST

START_TEST(check_interrupted_rotation)
{
	char why[1024];
	long long after;
	char log[128];
	snprintf(log, sizeof(log), "%s", P("audit.log"));
	add(log, 3);
	struct rtn_audit_head h = head_of(log);
	rotate(log, P("audit.log.1"));
	/* as a crash between the two renames leaves it: no PATH, the new file at
	 * PATH.rotating; rtn_audit_open puts it in place */
	ck_assert_int_eq(rename(log, P("audit.log.rotating")), 0);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 1);
	add(log, 1);
	ck_assert_int_eq(access(P("audit.log.rotating"), F_OK), -1);
	ck_assert_int_eq(check(log, &h, &after, why, sizeof(why)), 0);
	ck_assert_int_eq(after, 2);
	rtn_audit_head_fini(&h);
}
END_TEST

static Suite *audit_head_suite(void)
{
	Suite *s = suite_create("audit_head");
	TCase *tc = tcase_create("head");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, record_round_trip);
	tcase_add_test(tc, record_refused);
	tcase_add_test(tc, check_tail);
	tcase_add_test(tc, check_rewritten);
	tcase_add_test(tc, check_across_rotations);
	tcase_add_test(tc, check_interrupted_rotation);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(audit_head_suite)
