/* test_ctl.c - retentionctl: CSV and JSON lines import, batching, numbers, tables, printers */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "values.h"

#include "../../ctl/client.c"
#include "../../ctl/print.c"
#include "../../ctl/show.c"
#include "../../ctl/show_audit.c"
#include "../../ctl/scan.c"
#include "../../ctl/report.c"
#include "../../ctl/report_html.c"
#include "../../ctl/import_read.c"
#include "../../ctl/import.c"

/* --- helpers ------------------------------------------------------------------------------- */

/* What the fake daemon saw and how it answers. */
static struct {
	int calls;
	size_t sizes[64];   /* records per request */
	size_t bytes[64];   /* bytes per request line */
	json_t *seen;       /* every record accepted, in order */
	const char *reject; /* ids with this prefix are refused with details */
	const char *fail;   /* error code for every request, or NULL */
	int transport;      /* -errno from send, or 0 */
} fake;

/* The fake daemon answers at once; the replies wait here until the importer reads them. */
static struct {
	json_int_t id[8];
	char *line[8];
	int n;
} replies;

static int fake_start(struct importer *im, const char *text, size_t tlen, json_int_t *rid,
                      char *err, size_t errlen)
{
	(void)im;
	if (fake.transport) {
		snprintf(err, errlen, "connection lost");
		return fake.transport;
	}
	json_error_t je;
	json_t *args = json_loadb(text, tlen, 0, &je);
	ck_assert_msg(args != NULL, "args are not JSON: %s", je.text);
	json_t *recs = json_object_get(args, "records");
	ck_assert(json_is_true(json_object_get(args, "quiet")));
	static json_int_t next_id = 1;
	json_int_t id = next_id++;
	size_t len;
	json_t *jid = json_integer(id);
	char *line = rtn_request_encode(jid, "record.put", args, &len);
	json_decref(jid);
	ck_assert_uint_le(len - 1, RTN_LINE_MAX);
	if (fake.calls < 64) {
		fake.sizes[fake.calls] = json_array_size(recs);
		fake.bytes[fake.calls] = len;
	}
	fake.calls++;
	free(line);
	json_t *reply, *details = json_array(), *r;
	size_t i;
	json_array_foreach(recs, i, r)
	{
		const char *rid = json_string_value(json_object_get(r, "id"));
		if (fake.reject && rid && !strncmp(rid, fake.reject, strlen(fake.reject)))
			json_array_append_new(details,
			                      json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
			                                "id", rid, "message", "refused"));
	}
	if (fake.fail)
		reply = json_pack("{s:I, s:b, s:{s:s, s:s}}", "id", id, "ok", 0, "error", "code",
		                  fake.fail, "message", "no");
	else if (json_array_size(details))
		reply =
		    json_pack("{s:I, s:b, s:{s:s, s:s, s:O}}", "id", id, "ok", 0, "error", "code",
		              "bad_request", "message", "invalid records", "details", details);
	else {
		json_array_extend(fake.seen, recs);
		reply = json_pack("{s:I, s:b, s:{s:I, s:I, s:I}}", "id", id, "ok", 1, "result",
		                  "count", (json_int_t)json_array_size(recs), "inserted",
		                  (json_int_t)json_array_size(recs), "updated", (json_int_t)0);
	}
	json_decref(details);
	json_decref(args);
	ck_assert_int_lt(replies.n, 8);
	replies.id[replies.n] = id;
	replies.line[replies.n++] = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	*rid = id;
	return 0;
}

/* The reply to request id: requests are answered in order, like the daemon does. */
static int fake_finish(struct importer *im, json_int_t id, struct rtn_reply *rep, char *err,
                       size_t errlen)
{
	(void)im;
	ck_assert_int_gt(replies.n, 0);
	ck_assert_int_eq(replies.id[0], id);
	char *s = replies.line[0];
	replies.n--;
	memmove(&replies.id[0], &replies.id[1], replies.n * sizeof(replies.id[0]));
	memmove(&replies.line[0], &replies.line[1], replies.n * sizeof(replies.line[0]));
	ck_assert_int_eq(rtn_reply_decode(s, strlen(s), rep, err, errlen), 0);
	free(s);
	return 0;
}

struct run {
	struct importer im;
	FILE *in, *err;
	char *msgs;
	size_t msgs_len;
	int status;
};

/* Set up an importer reading text; the fake daemon is reset. */
static void start(struct run *r, const char *text)
{
	json_decref(fake.seen);
	memset(&fake, 0, sizeof(fake));
	while (replies.n)
		free(replies.line[--replies.n]); /* left unread by a lost connection */
	fake.seen = json_array();
	r->in = fmemopen((void *)text, strlen(text), "r");
	ck_assert_ptr_nonnull(r->in);
	r->err = open_memstream(&r->msgs, &r->msgs_len);
	importer_init(&r->im, r->in, "in.csv", r->err);
	r->im.start = fake_start;
	r->im.finish = fake_finish;
}

/* Run the import; messages are in r->msgs. */
static void finish(struct run *r)
{
	r->status = import_run(&r->im);
	fflush(r->err);
}

static void cleanup(struct run *r)
{
	while (replies.n)
		free(replies.line[--replies.n]);
	importer_fini(&r->im);
	fclose(r->in);
	fclose(r->err);
	free(r->msgs);
}

/* Import text in one go with the default limits. */
static void run_text(struct run *r, const char *text)
{
	start(r, text);
	finish(r);
}

/* The record accepted at index i equals the JSON text want. */
static void seen_is(size_t i, const char *want)
{
	json_t *w = json_loads(want, 0, NULL), *got = json_array_get(fake.seen, i);
	ck_assert_ptr_nonnull(w);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(w, got), "record %zu is %s", i, g ? g : "(none)");
	free(g);
	json_decref(w);
}

/* Read CSV rows of text, checking each against the fields of want (NULL-separated rows). */
static int row_of(struct importer *im, size_t *line, char *err)
{
	return ctl_import_csv_row(im, line, err, 256);
}

static const char *field(struct importer *im, size_t i)
{
	ck_assert_uint_lt(i, im->nfields);
	return im->row + im->off[i];
}

/* --- numbers, widths, tables --------------------------------------------------------------- */

START_TEST(thousands)
{
	char b[CTL_COUNT_LEN];
	ck_assert_str_eq(ctl_fmt_count(0, b), "0");
	ck_assert_str_eq(ctl_fmt_count(999, b), "999");
	ck_assert_str_eq(ctl_fmt_count(1000, b), "1,000");
	ck_assert_str_eq(ctl_fmt_count(1000000, b), "1,000,000");
	ck_assert_str_eq(ctl_fmt_count(123456789, b), "123,456,789");
	ck_assert_str_eq(ctl_fmt_count(-1234567, b), "-1,234,567");
	ck_assert_str_eq(ctl_fmt_count(LLONG_MAX, b), "9,223,372,036,854,775,807");
	ck_assert_str_eq(ctl_fmt_count(LLONG_MIN, b), "-9,223,372,036,854,775,808");
}
END_TEST

START_TEST(widths)
{
	ck_assert_uint_eq(ctl_width(""), 0);
	ck_assert_uint_eq(ctl_width("abc"), 3);
	ck_assert_uint_eq(ctl_width("Åsa Ødegård"), 11);
	ck_assert_uint_eq(ctl_width("日本"), 4);
	ck_assert_uint_eq(ctl_width("e\xcc\x81"), 1); /* e + combining acute */
	ck_assert_uint_eq(ctl_width("\xff"
	                            "a"),
	                  2); /* a stray byte counts as one */
}
END_TEST

START_TEST(sanitize)
{
	const char in[] = "a\nb\tc\x1b[31m\xff\xe2\x80\xae"
	                  "d";
	char *s = ctl_sanitize(in, sizeof(in) - 1);
	ck_assert_str_eq(s, "a\\nb\\tc\\x1b[31m\\xff\\u202ed");
	free(s);
	s = ctl_sanitize("Ærlig 日本", strlen("Ærlig 日本"));
	ck_assert_str_eq(s, "Ærlig 日本");
	free(s);
}
END_TEST

/* The table printed into a string; the caller frees. */
static char *table_text(struct ctl_table *t, int indent)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ctl_table_print(t, f, indent);
	fclose(f);
	return out;
}

START_TEST(table_utf8)
{
	static const char *const hdr[] = {"NAME", "RECORDS", "STATE"};
	struct ctl_table *t = ctl_table_new(3, hdr);
	ctl_table_flags(t, 1, CTL_COUNT);
	json_t *n1 = json_integer(1000000), *n2 = json_integer(5), *n3 = json_integer(42);
	ctl_table_row(t);
	ctl_table_cell(t, "Åsa Ødegård", NULL);
	ctl_table_value(t, n1, CTL_COUNT);
	ctl_table_cell(t, "active", NULL);
	ctl_table_row(t);
	ctl_table_cell(t, "日本", NULL);
	ctl_table_value(t, n2, CTL_COUNT);
	ctl_table_cell(t, "held", NULL);
	ctl_table_row(t);
	ctl_table_cell(t, "x", NULL);
	ctl_table_value(t, n3, CTL_COUNT); /* short row: no trailing blanks */
	char *s = table_text(t, 2);
	ck_assert_str_eq(s, "  NAME           RECORDS  STATE\n"
	                    "  Åsa Ødegård  1,000,000  active\n"
	                    "  日本                 5  held\n"
	                    "  x                   42\n");
	free(s);
	ctl_table_free(t);
	json_decref(n1);
	json_decref(n2);
	json_decref(n3);
}
END_TEST

START_TEST(table_sanitized)
{
	struct ctl_table *t = ctl_table_new(2, NULL);
	ctl_table_row(t);
	ctl_table_cell(t, "id:", NULL);
	ctl_table_cell(t, "a\x1b]0;pwned\x07", NULL);
	char *s = table_text(t, 0);
	ck_assert_str_eq(s, "id:  a\\x1b]0;pwned\\x07\n");
	free(s);
	ctl_table_free(t);
}
END_TEST

START_TEST(array_columns)
{
	json_t *a = json_loads("[{\"seq\": 1042, \"type\": \"job.done\", \"n\": 1000, \"x\": null},"
	                       " {\"seq\": 7, \"type\": \"rules.loaded\", \"hash\": \"ab\"}]",
	                       0, NULL);
	static const struct ctl_col cols[] = {{"type", "TYPE", 0},
	                                      {"seq", "SEQ", CTL_RIGHT},
	                                      {"absent", "ABSENT", 0},
	                                      {NULL, NULL, 0}};
	static const char *const skip[] = {"hash", NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ctl_print_array(f, a, cols, skip, 0);
	ctl_print_array_csv(f, a, cols, skip);
	fclose(f);
	ck_assert_str_eq(out, "TYPE           SEQ      N  X\n"
	                      "job.done      1042  1,000  -\n"
	                      "rules.loaded     7\n"
	                      "type,seq,n,x\r\n"
	                      "job.done,1042,1000,\r\n"
	                      "rules.loaded,7,,\r\n");
	free(out);
	json_decref(a);
}
END_TEST

/* Every printer survives results of unexpected shapes. */
START_TEST(printers_robust)
{
	static const ctl_show_fn fns[] = {
	    ctl_show_status,  ctl_show_record,  ctl_show_put,   ctl_show_forget, ctl_show_explain,
	    ctl_show_plan,    ctl_show_subject, ctl_show_rules, ctl_show_check,  ctl_show_reload,
	    ctl_show_jobs,    ctl_show_review,  ctl_show_audit, ctl_show_verify, ctl_show_report,
	    ctl_show_generic, ctl_show_erase,
	};
	static const char *const results[] = {
	    "null",
	    "[]",
	    "\"text\"",
	    "42",
	    "{}",
	    "[1, \"a\", {\"b\": [1, {\"c\": null}]}]",
	    "{\"records\": 5, \"jobs\": [1], \"rules\": \"x\", \"schedule\": {\"a\": 1},"
	    " \"problems\": [1, null, {\"line\": \"x\"}], \"holds\": 3, \"decision\": [],"
	    " \"actions\": {\"a\": []}, \"count\": \"many\", \"valid\": \"yes\","
	    " \"uptime\": -5, \"backends\": [null, 3, {\"name\": 1}], \"guard\": {\"paused\": 2,"
	    " \"rules\": 7}, \"events\": [], \"attributes\": {\"a\": {\"b\": [1]}},"
	    " \"deleted\": {\"at\": 1}, \"unmanaged\": [{\"records\": \"x\"}], \"rows\": [[]]}",
	    "{\"records\": [{\"schedule\": [{\"action\": 5}]}, 7], \"entries\": [{}],"
	    " \"rules\": [{\"line\": 3, \"file\": null, \"hash\": 5, \"categories\": {}}],"
	    " \"next_deadline\": {\"at\": null}, \"jobs\": {\"dead\": \"x\"},"
	    " \"audit\": {\"entries\": \"x\"}, \"decision\": {\"action\": 1}}",
	};
	struct ctl_show_opts opts[] = {{.format = NULL},
	                               {.format = "csv", .file = "f.rules"},
	                               {.format = "json"},
	                               {.format = "html"}};
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	ck_assert(freopen("/dev/null", "w", stdout) != NULL);
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		json_t *r = json_loads(results[i], JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(r);
		for (size_t j = 0; j < sizeof(fns) / sizeof(fns[0]); j++)
			for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
				fns[j](r, &opts[k]);
		json_decref(r);
	}
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}
END_TEST

/* --- values -------------------------------------------------------------------------------- */

static void value_is(const char *in, bool null_word, const char *want)
{
	json_t *v = ctl_value_parse(in, strlen(in), null_word);
	ck_assert_ptr_nonnull(v);
	char *s = json_dumps(v, JSON_ENCODE_ANY);
	ck_assert_msg(!strcmp(s, want), "%s -> %s, not %s", in, s, want);
	free(s);
	json_decref(v);
}

START_TEST(values)
{
	value_is("true", false, "true");
	value_is("false", false, "false");
	value_is("null", true, "null");
	value_is("null", false, "\"null\"");
	value_is("12", false, "12");
	value_is("-7", false, "-7");
	value_is("1.5", false, "1.5");
	value_is("2e3", false, "2000.0");
	value_is("0123", false, "\"0123\""); /* a postcode stays text */
	value_is("0x10", false, "\"0x10\"");
	value_is("1e999", false, "\"1e999\"");
	value_is("99999999999999999999", false, "1e20");
	value_is("TRUE", false, "\"TRUE\"");
	value_is("", false, "\"\"");
	value_is("Åsa", false, "\"Åsa\"");
	ck_assert_ptr_null(ctl_value_parse("\xff", 1, false));
}
END_TEST

/* --- CSV parsing --------------------------------------------------------------------------- */

START_TEST(csv_quotes)
{
	struct run r;
	const char *text = "a,\"b,c\",\"say \"\"hi\"\"\",,\"\"\n"
	                   "\"multi\nline\",x\r\n"
	                   "last,row";
	start(&r, text);
	size_t line;
	char err[256];
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert_uint_eq(line, 1);
	ck_assert_uint_eq(r.im.nfields, 5);
	ck_assert_str_eq(field(&r.im, 0), "a");
	ck_assert_str_eq(field(&r.im, 1), "b,c");
	ck_assert_str_eq(field(&r.im, 2), "say \"hi\"");
	ck_assert_str_eq(field(&r.im, 3), "");
	ck_assert_str_eq(field(&r.im, 4), "");
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert_uint_eq(line, 2);
	ck_assert_uint_eq(r.im.nfields, 2);
	ck_assert_str_eq(field(&r.im, 0), "multi\nline");
	ck_assert_str_eq(field(&r.im, 1), "x"); /* CRLF ends the row, the CR is not data */
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert_uint_eq(line, 4); /* the embedded newline counted */
	ck_assert_str_eq(field(&r.im, 1), "row");
	ck_assert_int_eq(row_of(&r.im, &line, err), 0);
	cleanup(&r);
}
END_TEST

START_TEST(csv_crlf_inside_quotes)
{
	struct run r;
	start(&r, "\"a\r\nb\",c\r\n\r\nd\r,e\r\n");
	size_t line;
	char err[256];
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert_str_eq(field(&r.im, 0), "a\r\nb"); /* kept as it was inside quotes */
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert(ctl_import_row_blank(&r.im));
	ck_assert_uint_eq(line, 3);
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert_str_eq(field(&r.im, 0), "d\r"); /* a lone CR is data */
	ck_assert_str_eq(field(&r.im, 1), "e");
	ck_assert_int_eq(row_of(&r.im, &line, err), 0);
	cleanup(&r);
}
END_TEST

START_TEST(csv_bad_rows)
{
	struct run r;
	start(&r, "ab\"c,d\n\"x\"y,z\nok,1\n\"never closed,\nmore\n");
	size_t line;
	char err[256];
	ck_assert_int_eq(row_of(&r.im, &line, err), -1);
	ck_assert_str_eq(err, "quote inside an unquoted field");
	ck_assert_int_eq(row_of(&r.im, &line, err), -1);
	ck_assert_uint_eq(line, 2);
	ck_assert_str_eq(err, "unexpected character after a closing quote");
	ck_assert_int_eq(row_of(&r.im, &line, err), 1); /* back in step */
	ck_assert_uint_eq(line, 3);
	ck_assert_str_eq(field(&r.im, 0), "ok");
	ck_assert_int_eq(row_of(&r.im, &line, err), -1);
	ck_assert_str_eq(err, "quoted field opened on line 4 never closed");
	ck_assert_int_eq(row_of(&r.im, &line, err), 0);
	cleanup(&r);
}
END_TEST

START_TEST(csv_header_good)
{
	struct run r;
	start(&r, " id ,category,subject,backend,locator.path,event.created,attr.hired\n");
	size_t line;
	char err[256];
	ck_assert_int_eq(row_of(&r.im, &line, err), 1);
	ck_assert_int_eq(ctl_import_csv_header(&r.im, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.im.ncols, 7);
	ck_assert_int_eq(r.im.cols[0].kind, COL_ID);
	ck_assert_int_eq(r.im.cols[4].kind, COL_LOCATOR);
	ck_assert_str_eq(r.im.cols[4].name, "path");
	ck_assert_int_eq(r.im.cols[5].kind, COL_EVENT);
	ck_assert_str_eq(r.im.cols[5].name, "created");
	ck_assert_int_eq(r.im.cols[6].kind, COL_ATTR);
	cleanup(&r);
}
END_TEST

static void header_bad(const char *text, const char *msg)
{
	struct run r;
	run_text(&r, text);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.msgs, msg) != NULL, "for %s: %s", text, r.msgs);
	ck_assert_int_eq(fake.calls, 0);
	cleanup(&r);
}

START_TEST(csv_header_bad)
{
	header_bad("id,category,colour\na,b,c\n", "in.csv:1: bad CSV header: column 3: unknown "
	                                          "column \"colour\"");
	header_bad("category,subject\nb,c\n", "no \"id\" column");
	header_bad("id,subject\nb,c\n", "no \"category\" column");
	header_bad("id,category,id\n", "column 3: \"id\" appears twice");
	header_bad("id,category,attr.Bad Name\n", "\"Bad Name\" is not a valid name");
	header_bad("id,category,locator.\n", "unknown column \"locator.\"");
	header_bad("\n\nid,\"category\n", "in.csv:3: bad CSV header: quoted field opened");
}
END_TEST

/* --- records ------------------------------------------------------------------------------- */

START_TEST(csv_records)
{
	struct run r;
	run_text(&r,
	         "\xef\xbb\xbfid,category,subject,backend,locator.path,locator.host,event.created,"
	         "event.received,attr.hired,attr.score,attr.note\r\n"
	         "hr/1,job_application,person:7f3a,hr-files,\"/srv/a, \"\"b\"\".pdf\",db1,"
	         "2025-03-01T09:30:00+01:00,1740818000,false,12,\"two\nlines\"\r\n"
	         "\r\n"
	         "hr/2,job_application,,,,,,,,,\r\n"
	         "hr/3,job_application,p,b,,,,,true,-0.5,0123\r\n");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.im.skipped, 0);
	ck_assert_int_eq(r.im.imported, 3);
	ck_assert_uint_eq(json_array_size(fake.seen), 3);
	seen_is(0, "{\"id\": \"hr/1\", \"category\": \"job_application\", \"subject\": "
	           "\"person:7f3a\", \"backend\": \"hr-files\", \"locator\": {\"path\": "
	           "\"/srv/a, \\\"b\\\".pdf\", \"host\": \"db1\"}, \"events\": {\"created\": "
	           "\"2025-03-01T09:30:00+01:00\", \"received\": 1740818000}, \"attributes\": "
	           "{\"hired\": false, \"score\": 12, \"note\": \"two\\nlines\"}}");
	seen_is(1, "{\"id\": \"hr/2\", \"category\": \"job_application\"}");
	seen_is(2, "{\"id\": \"hr/3\", \"category\": \"job_application\", \"subject\": \"p\", "
	           "\"backend\": \"b\", \"attributes\": {\"hired\": true, \"score\": -0.5, "
	           "\"note\": \"0123\"}}");
	cleanup(&r);
}
END_TEST

START_TEST(csv_missing_columns)
{
	struct run r;
	run_text(&r, "id,category,subject\n"
	             "a,c,s\n"
	             "b,c\n"
	             "c,c,s,extra\n"
	             ",c,s\n"
	             "e,\xff,s\n"
	             "f,c,s\n");
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(r.im.skipped, 4);
	ck_assert_int_eq(r.im.imported, 2);
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:3: 2 fields where the header has 3\n"));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:4: 4 fields where the header has 3\n"));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:5: empty id\n"));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:6: column 2: not valid UTF-8\n"));
	seen_is(1, "{\"id\": \"f\", \"category\": \"c\", \"subject\": \"s\"}");
	cleanup(&r);
}
END_TEST

START_TEST(jsonl_records)
{
	struct run r;
	run_text(&r, "  \n\t{\"id\": \"a\", \"category\": \"c\", \"events\": {\"created\": 5}}\n"
	             "{\"id\": \"b\", \"category\": \"c\"}\r\n"
	             "\n"
	             "{not json}\n"
	             "[1, 2]\n"
	             "{\"id\": \"x\", \"id\": \"y\"}\n"
	             "{\"id\": \"d\", \"category\": \"c\", \"attributes\": {\"n\": \"Å\"}}");
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(r.im.imported, 3);
	ck_assert_int_eq(r.im.skipped, 3);
	seen_is(0, "{\"id\": \"a\", \"category\": \"c\", \"events\": {\"created\": 5}}");
	seen_is(1, "{\"id\": \"b\", \"category\": \"c\"}");
	seen_is(2, "{\"id\": \"d\", \"category\": \"c\", \"attributes\": {\"n\": \"Å\"}}");
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:5: invalid JSON at column"));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:6: a record is a JSON object\n"));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:7: invalid JSON"));
	cleanup(&r);
}
END_TEST

/* A line that is JSON but not a valid record is skipped here, by line, with the daemon's
 * own message; its neighbours go in the same batch, whose raw text reaches the daemon. */
START_TEST(jsonl_invalid_records_skipped)
{
	struct run r;
	run_text(
	    &r,
	    "{\"id\": \"a\", \"category\": \"c\"}\n"
	    "{\"id\": \"b\", \"category\": 5}\n"
	    "{\"id\": \"c\", \"category\": \"c\", \"colour\": \"red\"}\n"
	    "{\"id\": \"d\", \"category\": \"c\", \"events\": {\"created\": \"soon\"}}\n"
	    "{\"id\"  :  \"e\" , \"category\":\"c\",\"locator\":{\"path\":\"/x\\u00e5\"}}   \n");
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(r.im.skipped, 3);
	ck_assert_int_eq(r.im.imported, 2);
	ck_assert_int_eq(fake.calls, 1);
	ck_assert_uint_eq(fake.sizes[0], 2);
	seen_is(0, "{\"id\": \"a\", \"category\": \"c\"}");
	seen_is(1, "{\"id\": \"e\", \"category\": \"c\", \"locator\": {\"path\": \"/x\u00e5\"}}");
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:2: "));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:3: "));
	ck_assert_ptr_nonnull(strstr(r.msgs, "colour"));
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:4: "));
	ck_assert_ptr_null(strstr(r.msgs, "in.csv:1:"));
	ck_assert_ptr_null(strstr(r.msgs, "in.csv:5:"));
	cleanup(&r);
}
END_TEST

START_TEST(empty_input)
{
	struct run r;
	run_text(&r, "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(fake.calls, 0);
	cleanup(&r);
	run_text(&r, "\n \n");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(fake.calls, 0);
	cleanup(&r);
	run_text(&r, "id,category\r\n");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(fake.calls, 0);
	cleanup(&r);
}
END_TEST

/* --- batches ------------------------------------------------------------------------------- */

/* n JSON lines of records "r0".."r(n-1)" with a note of pad bytes; the caller frees. */
static char *jsonl(int n, int pad)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	for (int i = 0; i < n; i++)
		fprintf(f,
		        "{\"id\":\"r%d\",\"category\":\"c\",\"attributes\":{\"note\":\"%0*d\"}}\n",
		        i, pad, 0);
	fclose(f);
	return out;
}

START_TEST(batch_count_limit)
{
	struct run r;
	char *text = jsonl(25001, 1);
	run_text(&r, text);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(fake.calls, 3);
	ck_assert_uint_eq(fake.sizes[0], CTL_BATCH_RECORDS);
	ck_assert_uint_eq(fake.sizes[1], CTL_BATCH_RECORDS);
	ck_assert_uint_eq(fake.sizes[2], 5001);
	ck_assert_int_eq(r.im.imported, 25001);
	ck_assert_int_eq(r.im.inserted, 25001);
	cleanup(&r);
	free(text);
}
END_TEST

START_TEST(batch_byte_limit)
{
	struct run r;
	char *text = jsonl(300, 10000); /* ~10 KB each: about 90 per request */
	run_text(&r, text);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_ge(fake.calls, 4);
	size_t total = 0;
	for (int i = 0; i < fake.calls; i++) {
		ck_assert_uint_le(fake.bytes[i], CTL_BATCH_BYTES);
		ck_assert_uint_ge(fake.bytes[i], i + 1 < fake.calls ? CTL_BATCH_BYTES - 11000 : 0);
		total += fake.sizes[i];
	}
	ck_assert_uint_eq(total, 300);
	/* in order, none twice */
	for (size_t i = 0; i < 300; i++) {
		char want[64];
		snprintf(want, sizeof(want), "r%zu", i);
		ck_assert_str_eq(
		    json_string_value(json_object_get(json_array_get(fake.seen, i), "id")), want);
	}
	cleanup(&r);
	free(text);
}
END_TEST

START_TEST(batch_small_limits)
{
	struct run r;
	char *text = jsonl(7, 1);
	start(&r, text);
	r.im.max_records = 3;
	finish(&r);
	ck_assert_int_eq(fake.calls, 3);
	ck_assert_uint_eq(fake.sizes[0], 3);
	ck_assert_uint_eq(fake.sizes[1], 3);
	ck_assert_uint_eq(fake.sizes[2], 1);
	cleanup(&r);
	free(text);
	/* a record too large for any request is skipped, the others go */
	text = jsonl(1, 2000);
	char *both = rtn_xasprintf("%s{\"id\":\"small\",\"category\":\"c\"}\n", text);
	start(&r, both);
	r.im.max_bytes = 1000;
	finish(&r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(r.im.skipped, 1);
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:1: record of "));
	ck_assert_int_eq(fake.calls, 1);
	seen_is(0, "{\"id\": \"small\", \"category\": \"c\"}");
	cleanup(&r);
	free(both);
	free(text);
}
END_TEST

START_TEST(batch_rejects_resent)
{
	struct run r;
	start(&r, "id,category\n"
	          "ok1,c\n"
	          "bad-2,c\n"
	          "ok3,c\n"
	          "\"bad\n4\",c\n"
	          "ok5,c\n");
	fake.reject = "bad";
	finish(&r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(fake.calls, 2); /* refused, then the rest again */
	ck_assert_uint_eq(fake.sizes[0], 5);
	ck_assert_uint_eq(fake.sizes[1], 3);
	ck_assert_int_eq(r.im.imported, 3);
	ck_assert_int_eq(r.im.skipped, 2);
	ck_assert_ptr_nonnull(strstr(r.msgs, "in.csv:3: refused\nin.csv:5: refused\n"));
	seen_is(0, "{\"id\": \"ok1\", \"category\": \"c\"}");
	seen_is(1, "{\"id\": \"ok3\", \"category\": \"c\"}");
	seen_is(2, "{\"id\": \"ok5\", \"category\": \"c\"}");
	cleanup(&r);
	/* all refused: nothing left to send */
	start(&r, "{\"id\":\"bad\",\"category\":\"c\"}\n");
	fake.reject = "bad";
	finish(&r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(fake.calls, 1);
	ck_assert_uint_eq(json_array_size(fake.seen), 0);
	cleanup(&r);
}
END_TEST

START_TEST(batch_errors_stop)
{
	struct run r;
	char *text = jsonl(12000, 1);
	start(&r, text);
	fake.fail = "forbidden";
	finish(&r);
	ck_assert_int_eq(r.status, 77); /* refused: EX_NOPERM, as for every command */
	/* stops at the first refusal: the batch already out with it is answered, no more is
	 * sent, and the refusal is reported once */
	ck_assert_int_eq(fake.calls, 2);
	ck_assert_int_eq(replies.n, 0);
	ck_assert_ptr_nonnull(strstr(r.msgs, "retentionctl: forbidden: no\n"));
	ck_assert_ptr_null(strstr(strstr(r.msgs, "forbidden") + 1, "forbidden"));
	cleanup(&r);
	start(&r, text);
	fake.transport = -ECONNRESET;
	finish(&r);
	ck_assert_int_eq(r.status, 69);
	ck_assert_int_eq(fake.calls, 0);
	ck_assert_ptr_nonnull(strstr(r.msgs, "retentionctl: connection lost\n"));
	cleanup(&r);
	free(text);
}
END_TEST

/* --- CSV output and spans of the command line ---------------------------------------------- */

static char *csv_of(const json_t *v)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ctl_csv_field(f, v);
	fclose(f);
	return out;
}

START_TEST(csv_field_quoting_and_formulas)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain", "plain"},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"two\nlines", "\"two\nlines\""},
	    {" padded", "\" padded\""},
	    {"=1+2", "'=1+2"},
	    {"+cmd", "'+cmd"},
	    {"-1", "'-1"},
	    {"@SUM(A1)", "'@SUM(A1)"},
	    {"=a,b", "\"'=a,b\""},
	    {"\tcmd", "'\tcmd"},     /* a tab or carriage return first is read as a formula too */
	    {"\rcmd", "\"'\rcmd\""}, /* (and a carriage return is quoted) */
	    {"a=b", "a=b"},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_string(cases[i].in);
		char *got = csv_of(v);
		ck_assert_msg(!strcmp(got, cases[i].want), "%s -> %s, not %s", cases[i].in, got,
		              cases[i].want);
		free(got);
		json_decref(v);
	}
	/* numbers are not formulas: a negative one is written as it is */
	json_t *n = json_integer(-5);
	char *got = csv_of(n);
	ck_assert_str_eq(got, "-5");
	free(got);
	json_decref(n);
	got = csv_of(json_null());
	ck_assert_str_eq(got, "");
	free(got);
	/* an object or an array is one field of compact JSON, however small */
	json_t *o = json_pack("{s:s, s:[i, i]}", "hold", "lit", "n", 1, 2);
	got = csv_of(o);
	ck_assert_str_eq(got, "\"{\"\"hold\"\":\"\"lit\"\",\"\"n\"\":[1,2]}\"");
	free(got);
	json_decref(o);
	/* the rows of a table: a header of the keys, CRLF after each line */
	json_t *rows = json_pack("[{s:s, s:i}, {s:s}]", "a", "x,y", "b", 2, "a", "=z");
	static const struct ctl_col cols[] = {{"a", NULL, 0}, {"b", NULL, 0}, {NULL, NULL, 0}};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ctl_csv_rows(f, rows, cols);
	fclose(f);
	ck_assert_str_eq(out, "a,b\r\n\"x,y\",2\r\n'=z,\r\n");
	free(out);
	json_decref(rows);
}
END_TEST

START_TEST(span_parse)
{
	static const struct {
		const char *in;
		struct rtn_span want;
	} good[] = {
	    {"30d", {.days = 30}},
	    {"30 days", {.days = 30}},
	    {"1 day", {.days = 1}},
	    {"12h", {.hours = 12}},
	    {"1y6mo", {.years = 1, .months = 6}},
	    {"1 year 6 months", {.years = 1, .months = 6}},
	    {"2w 3d", {.weeks = 2, .days = 3}},
	    {"90min", {.minutes = 90}},
	    {"45s", {.seconds = 45}},
	    {"1 hour 30 minutes", {.hours = 1, .minutes = 30}},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rtn_span sp;
		char err[256] = "";
		ck_assert_msg(rtn_span_parse(good[i].in, &sp, err, sizeof(err)) == 0, "%s: %s",
		              good[i].in, err);
		ck_assert_msg(!memcmp(&sp, &good[i].want, sizeof(sp)), "%s parsed wrong",
		              good[i].in);
	}
	static const char *const bad[] = {"",         "d",      "30",          "30m",
	                                  "30x",      "-3d",    "3d 2d",       "3 d4",
	                                  "1000000d", "3days!", "3 fortnights"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rtn_span sp;
		char err[256] = "";
		ck_assert_msg(rtn_span_parse(bad[i], &sp, err, sizeof(err)) == -EINVAL, "%s parsed",
		              bad[i]);
		ck_assert_msg(*err, "%s: no message", bad[i]);
	}
	struct rtn_span sp;
	char err[256];
	ck_assert_int_eq(rtn_span_parse("30m", &sp, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "min or mo"));
}
END_TEST

static Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *t = tcase_create("print");
	tcase_add_test(t, thousands);
	tcase_add_test(t, widths);
	tcase_add_test(t, sanitize);
	tcase_add_test(t, table_utf8);
	tcase_add_test(t, table_sanitized);
	tcase_add_test(t, array_columns);
	tcase_add_test(t, printers_robust);
	tcase_add_test(t, csv_field_quoting_and_formulas);
	tcase_add_test(t, span_parse);
	suite_add_tcase(s, t);
	t = tcase_create("import");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, values);
	tcase_add_test(t, csv_quotes);
	tcase_add_test(t, csv_crlf_inside_quotes);
	tcase_add_test(t, csv_bad_rows);
	tcase_add_test(t, csv_header_good);
	tcase_add_test(t, csv_header_bad);
	tcase_add_test(t, csv_records);
	tcase_add_test(t, csv_missing_columns);
	tcase_add_test(t, jsonl_records);
	tcase_add_test(t, jsonl_invalid_records_skipped);
	tcase_add_test(t, empty_input);
	tcase_add_test(t, batch_count_limit);
	tcase_add_test(t, batch_byte_limit);
	tcase_add_test(t, batch_small_limits);
	tcase_add_test(t, batch_rejects_resent);
	tcase_add_test(t, batch_errors_stop);
	suite_add_tcase(s, t);
	return s;
}

RTN_TEST_MAIN(ctl_suite)
