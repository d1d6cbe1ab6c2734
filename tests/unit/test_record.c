/* test_record.c - a record's JSON form (lib/record.c) and its use by record.put's
 * preparation (rtn_put_prepare) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "record.h"
#include "rtime.h"
#include "util.h"

#include "testutil.h"

#define NOW ((rtn_time_t)1740817800) /* 2025-03-01T09:30:00+01:00 */

static struct rtn_record rec;
static char err[256];
static struct rtn_zone *zone; /* the format zone: JSON times carry its offsets */

static void setup(void)
{
	zone = rtn_zone_open("Europe/Oslo");
	ck_assert_ptr_nonnull(zone);
	rtn_time_set_format_zone(zone);
	memset(&rec, 0, sizeof(rec));
	err[0] = '\0';
}

static void teardown(void)
{
	rtn_record_fini(&rec);
	rtn_time_set_format_zone(rtn_zone_utc());
	rtn_zone_free(zone);
}

/* Validate the record in text (JSON); 0 or -EINVAL with the message in err. */
static int from_text(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
	ck_assert_msg(j != NULL, "bad JSON in the test: %s", je.text);
	rtn_record_fini(&rec);
	int r = rtn_record_from_json(j, NOW, &rec, err, sizeof(err));
	json_decref(j);
	return r;
}

/* n copies of s, concatenated; the caller frees. */
static char *repeat(const char *s, size_t n)
{
	size_t len = strlen(s);
	char *out = rtn_xmalloc(len * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return out;
}

START_TEST(test_valid)
{
	ck_assert_int_eq(from_text("{\"id\": \"hr/1\", \"category\": \"job_application\", "
	                           "\"subject\": \"person:7f3a\", \"backend\": \"hr-files\", "
	                           "\"locator\": {\"path\": \"/srv/x.pdf\"}, "
	                           "\"events\": {\"received\": \"2025-03-01T09:30:00+01:00\", "
	                           "\"checked\": 1741000000}, "
	                           "\"attributes\": {\"hired\": false, \"n\": 2, \"s\": null}}"),
	                 0);
	ck_assert_str_eq(rec.id, "hr/1");
	ck_assert_str_eq(rec.subject, "person:7f3a");
	ck_assert_str_eq(rec.backend, "hr-files");
	ck_assert_int_eq(json_integer_value(json_object_get(rec.events, "received")), NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(rec.events, "checked")), 1741000000);
	ck_assert_int_eq(json_integer_value(json_object_get(rec.events, "created")), NOW);
	ck_assert_uint_eq(json_object_size(rec.attributes), 3);

	/* ids of 1 and 512 bytes; 0 and 513 are refused */
	char *id = repeat("\xc3\xa9", 256);
	char *t = rtn_xasprintf("{\"id\": \"%s\", \"category\": \"c\"}", id);
	ck_assert_int_eq(from_text(t), 0);
	ck_assert_uint_eq(strlen(rec.id), 512);
	free(t);
	t = rtn_xasprintf("{\"id\": \"x%s\", \"category\": \"c\"}", id);
	ck_assert_int_eq(from_text(t), -EINVAL);
	ck_assert_str_eq(err, "\"id\" is required: a string of 1 to 512 bytes");
	free(t);
	free(id);
	ck_assert_int_eq(from_text("{\"id\": \"\", \"category\": \"c\"}"), -EINVAL);
	ck_assert_int_eq(from_text("{\"id\": \"a\\u0000b\", \"category\": \"c\"}"), -EINVAL);
}
END_TEST

/* A name quoted in a message is cut between characters, so the message stays UTF-8:
 * 63 bytes of ASCII and then a character of two bytes across the 64th. */
START_TEST(test_messages_utf8)
{
	char *a63 = repeat("a", 63);
	static const char *const forms[][2] = {
	    {"{\"id\": \"x\", \"category\": \"c\", \"%s\xc3\xa9\": 1}",
	     "unknown member \"%s\"; a record has id, category, subject, backend, locator, "
	     "events and attributes"},
	    {"{\"id\": \"x\", \"category\": \"c\", \"events\": {\"%s\xc3\xa9\": 1}}",
	     "invalid event name \"%s\"; names are lower-case letters, digits, '_', '.' and "
	     "'-', starting with a letter"},
	    {"{\"id\": \"x\", \"category\": \"c\", \"attributes\": {\"%s\xc3\xa9\": 1}}",
	     "invalid attribute name \"%s\"; names are lower-case letters, digits, '_', '.' "
	     "and '-', starting with a letter"},
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *text = rtn_xasprintf(forms[i][0], a63);
		char *want = rtn_xasprintf(forms[i][1], a63);
		ck_assert_int_eq(from_text(text), -EINVAL);
		ck_assert_msg(rtn_valid_utf8(err, strlen(err)), "not UTF-8: %s", err);
		ck_assert_str_eq(err, want);
		free(text);
		free(want);
	}

	/* an event's name and time checked alone (record.event) */
	json_t *at = json_integer(1);
	rtn_time_t t;
	char *name = rtn_xasprintf("%s\xc3\xa9", a63);
	ck_assert_int_eq(rtn_event_check(name, at, &t, err, sizeof(err)), -EINVAL);
	ck_assert(rtn_valid_utf8(err, strlen(err)));
	free(name);
	json_decref(at);
	free(a63);
}
END_TEST

/* The same records given to record.put: refused, each named in the details. Before the
 * messages were kept UTF-8, the details could not hold the message, the record was not
 * counted as invalid, and record.put went on with an empty record (the daemon crashed). */
START_TEST(test_put_prepare_refuses)
{
	char *a63 = repeat("a", 63);
	char *bad = rtn_xasprintf("{\"id\": \"x\", \"category\": \"c\", \"%s\xc3\xa9\": 1}", a63);
	char *texts[2] = {
	    rtn_xstrdup(bad),
	    rtn_xasprintf("{\"records\": [{\"id\": \"y\", \"category\": \"c\"}, %s]}", bad)};
	for (size_t i = 0; i < 2; i++) {
		json_error_t je;
		json_t *args = json_loads(texts[i], 0, &je);
		ck_assert_ptr_nonnull(args);
		struct rtn_put *p = NULL;
		json_t *details = NULL;
		int r = rtn_put_prepare(args, NOW, &p, &details, err, sizeof(err));
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_ptr_null(p);
		ck_assert_uint_eq(json_array_size(details), 1);
		json_t *d = json_array_get(details, 0);
		ck_assert_int_eq(json_integer_value(json_object_get(d, "index")), (json_int_t)i);
		const char *m = json_string_value(json_object_get(d, "message"));
		ck_assert_ptr_nonnull(m);
		ck_assert_msg(strncmp(m, "unknown member \"aaa", 19) == 0, "got: %s", m);
		ck_assert(rtn_valid_utf8(err, strlen(err)));
		json_decref(details);
		json_decref(args);
		free(texts[i]);
	}
	free(bad);
	free(a63);
}
END_TEST

/* Times are RFC 3339 strings (a fraction rounds up) or integer Unix seconds, in range. */
START_TEST(test_times)
{
	static const struct {
		const char *json;
		int r;
		rtn_time_t t;
	} cases[] = {
	    {"1740817800", 0, NOW},
	    {"\"2025-03-01T09:30:00+01:00\"", 0, NOW},
	    {"\"2025-03-01T08:30:00Z\"", 0, NOW},
	    {"\"2025-03-01T08:29:59.5Z\"", 0, NOW},
	    {"-62135596800", 0, RTN_TIME_MIN},
	    {"253402300799", 0, RTN_TIME_MAX},
	    {"-62135596801", -EINVAL, 0},
	    {"253402300800", -EINVAL, 0},
	    {"1740817800.0", -EINVAL, 0},
	    {"\"1740817800\"", -EINVAL, 0},
	    {"\"2025-03-01T09:30:00\"", -EINVAL, 0},
	    {"null", -EINVAL, 0},
	    {"[1]", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t je;
		json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, &je);
		ck_assert_ptr_nonnull(j);
		rtn_time_t t = 0;
		ck_assert_msg(rtn_time_from_json(j, &t) == cases[i].r, "%s", cases[i].json);
		if (cases[i].r == 0)
			ck_assert_msg(t == cases[i].t, "%s: %lld", cases[i].json, (long long)t);
		json_decref(j);
	}
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_messages_utf8);
	tcase_add_test(tc, test_put_prepare_refuses);
	tcase_add_test(tc, test_times);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(record_suite)
