/* test_proto.c - the control protocol's codec (lib/proto.c) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

#include "testutil.h"

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

/* Decode line, which must fail; the message is returned in err. */
static void refused(const char *line, char *err, size_t errlen)
{
	struct rtn_request req;
	ck_assert_int_eq(rtn_request_decode(line, strlen(line), &req, err, errlen), -EINVAL);
	rtn_request_fini(&req);
}

START_TEST(test_decode)
{
	struct rtn_request req;
	char err[256];
	const char *line = "{\"id\": 7, \"cmd\": \"record.get\", \"args\": {\"id\": \"x\"}}";
	ck_assert_int_eq(rtn_request_decode(line, strlen(line), &req, err, sizeof(err)), 0);
	ck_assert_str_eq(req.cmd, "record.get");
	ck_assert_int_eq(json_integer_value(req.id), 7);
	ck_assert_str_eq(json_string_value(json_object_get(req.args, "id")), "x");
	rtn_request_fini(&req);

	/* no id, no args: JSON null and an empty object */
	line = "{\"cmd\": \"status\"}";
	ck_assert_int_eq(rtn_request_decode(line, strlen(line), &req, err, sizeof(err)), 0);
	ck_assert(json_is_null(req.id));
	ck_assert(json_is_object(req.args) && json_object_size(req.args) == 0);
	rtn_request_fini(&req);

	refused("{\"cmd\": 7}", err, sizeof(err));
	ck_assert_str_eq(err, "\"cmd\" must be a string naming a command");
	refused("{\"cmd\": \"status\", \"args\": []}", err, sizeof(err));
	ck_assert_str_eq(err, "\"args\" must be an object");
	refused("{\"cmd\": \"status\", \"x\": 1}", err, sizeof(err));
	ck_assert_str_eq(err, "unknown member \"x\" in request");
	refused("[1]", err, sizeof(err));
	ck_assert_str_eq(err, "a request is a JSON object");
}
END_TEST

/* A message that quotes the request is valid UTF-8 however long the quote: the reply
 * carries it in JSON, and an invalid one would reach the client as a placeholder. */
START_TEST(test_messages_utf8)
{
	char err[256];

	/* an unknown member's name is cut at 64 bytes between two characters */
	char *name = repeat("\xc3\xa9", 200); /* é, two bytes each */
	char *line = rtn_xasprintf("{\"cmd\": \"status\", \"%s\": 1}", name);
	refused(line, err, sizeof(err));
	ck_assert(rtn_valid_utf8(err, strlen(err)));
	char *want = rtn_xasprintf("unknown member \"%.64s\" in request", name);
	ck_assert_str_eq(err, want);
	free(want);
	free(line);

	/* one byte of ASCII in front puts a character across the 64th byte */
	line = rtn_xasprintf("{\"cmd\": \"status\", \"a%s\": 1}", name);
	refused(line, err, sizeof(err));
	ck_assert(rtn_valid_utf8(err, strlen(err)));
	want = rtn_xasprintf("unknown member \"a%.62s\" in request", name);
	ck_assert_str_eq(err, want);
	free(want);
	free(line);

	/* a buffer that cuts the message inside a character */
	line = rtn_xasprintf("{\"cmd\": \"status\", \"%s\": 1}", name);
	char small[24];
	refused(line, small, sizeof(small));
	ck_assert_str_eq(small, "unknown member \"\xc3\xa9\xc3\xa9\xc3\xa9");
	free(line);
	free(name);
}
END_TEST

/* jansson quotes the text near a bad escape up to the first byte of the character after
 * the backslash: that byte is left out (found by fuzz_proto). */
START_TEST(test_jansson_message_utf8)
{
	char err[256];
	refused("{\"id\": \"a\\\xc3\xa9\"}", err, sizeof(err));
	ck_assert_msg(rtn_valid_utf8(err, strlen(err)), "not UTF-8: %s", err);
	ck_assert_str_eq(err, "malformed JSON at column 11: invalid escape near '\"a\\'");
}
END_TEST

START_TEST(test_encode_round_trip)
{
	json_t *id = json_pack("{s:[i, s]}", "n", 1, "\xc3\xa9");
	json_t *args = json_pack("{s:s, s:I}", "id", "a\"b\\c\n", "at", (json_int_t)1740817800);
	size_t n;
	char *line = rtn_request_encode(id, "record.event", args, &n);
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_eq(line[n - 1], '\n');
	struct rtn_request req;
	char err[256];
	ck_assert_int_eq(rtn_request_decode(line, n - 1, &req, err, sizeof(err)), 0);
	ck_assert_str_eq(req.cmd, "record.event");
	ck_assert(json_equal(req.id, id));
	ck_assert(json_equal(req.args, args));
	rtn_request_fini(&req);
	free(line);
	json_decref(id);
	json_decref(args);
}
END_TEST

/* The version a reply line says, decoded. */
static int reply_version(const char *line)
{
	struct rtn_reply rep;
	char err[256];
	ck_assert_int_eq(rtn_reply_decode(line, strlen(line), &rep, err, sizeof(err)), 0);
	int v = rep.protocol;
	rtn_reply_fini(&rep);
	return v;
}

/* Every reply says the protocol's version; a reply without it is of version 1, and one
 * whose version is not a positive integer decodes as 0 (not a version). */
START_TEST(test_reply_protocol)
{
	size_t n;
	json_t *id = json_integer(3);
	char *ok = rtn_reply_ok(id, json_pack("{s:i}", "a", 1), &n);
	json_decref(id);
	json_t *o = json_loadb(ok, n - 1, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "protocol")), RTN_CONTROL_VERSION);
	ck_assert_int_eq(reply_version(ok), RTN_CONTROL_VERSION);
	json_decref(o);
	free(ok);

	char *bad = rtn_reply_error(NULL, RTN_E_NOT_FOUND, "no record", NULL, &n);
	o = json_loadb(bad, n - 1, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "protocol")), RTN_CONTROL_VERSION);
	ck_assert_int_eq(reply_version(bad), RTN_CONTROL_VERSION);
	json_decref(o);
	free(bad);

	ck_assert_int_eq(reply_version("{\"id\": 1, \"ok\": true, \"result\": {}}"), 1);
	ck_assert_int_eq(reply_version("{\"id\": 1, \"ok\": true, \"protocol\": 2}"), 2);
	ck_assert_int_eq(reply_version("{\"ok\": false, \"protocol\": 7, \"error\": "
	                               "{\"code\": \"internal\", \"message\": \"m\"}}"),
	                 7);
	ck_assert_int_eq(reply_version("{\"ok\": true, \"protocol\": \"1\"}"), 0);
	ck_assert_int_eq(reply_version("{\"ok\": true, \"protocol\": 0}"), 0);
	ck_assert_int_eq(reply_version("{\"ok\": true, \"protocol\": -1}"), 0);
	ck_assert_int_eq(reply_version("{\"ok\": true, \"protocol\": 1.0}"), 0);
	ck_assert_int_eq(reply_version("{\"ok\": true, \"protocol\": 4294967296}"), 0);
	ck_assert_int_eq(reply_version("{\"ok\": true, \"protocol\": null}"), 0);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_messages_utf8);
	tcase_add_test(tc, test_jansson_message_utf8);
	tcase_add_test(tc, test_encode_round_trip);
	tcase_add_test(tc, test_reply_protocol);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(proto_suite)
