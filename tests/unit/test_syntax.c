/* test_syntax.c - the config lexer/parser (lib/syntax.c) and diagnostics (lib/diag.c) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "syntax.h"
#include "testutil.h"
#include "util.h"

/* Messages that recur; each is spelled out exactly once. */
#define UNTERM_LINE "unterminated string; expected a closing quote before the end of the line"
#define UNTERM_FILE "unterminated string; expected a closing quote before the end of the file"
#define ESC(c)      "unknown escape \"\\" c "\" in string; only \\\" and \\\\ are allowed"
#define BAD_UTF8(b) "invalid UTF-8 (byte " b "); the file must be UTF-8 text"

/* The result of the last parse; freed by the fixture's teardown. */
static struct rtn_syntax S;
static struct rtn_diags D;
static char *E; /* every diagnostic formatted, one per line */
static int RC;

static void setup(void)
{
	memset(&S, 0, sizeof(S));
	rtn_diags_init(&D);
	E = NULL;
}

static void teardown(void)
{
	rtn_syntax_free(&S);
	rtn_diags_fini(&D);
	free(E);
}

/* E = every diagnostic of D, formatted by rtn_diags_print, without the last newline. */
static void collect(void)
{
	size_t len = 0;
	free(E);
	E = NULL;
	FILE *f = open_memstream(&E, &len);
	ck_assert_ptr_nonnull(f);
	rtn_diags_print(&D, f);
	fclose(f);
	if (len)
		E[len - 1] = '\0';
}

/* Parse len bytes of src (copied to an exact-size buffer so ASan sees over-reads). */
static const char *parse_n(const char *src, size_t len)
{
	char *buf = rtn_xmalloc(len);
	memcpy(buf, src, len);
	rtn_syntax_free(&S);
	rtn_diags_fini(&D);
	RC = rtn_syntax_parse("t.conf", buf, len, &S, &D);
	free(buf);
	collect();
	ck_assert_int_eq(RC, D.nerrors ? -EINVAL : 0);
	return E;
}

static const char *parse(const char *src)
{
	return parse_n(src, strlen(src));
}

static const char *parse_path(const char *path)
{
	rtn_syntax_free(&S);
	rtn_diags_fini(&D);
	RC = rtn_syntax_parse_file(path, &S, &D);
	collect();
	return E;
}

/* The lines given, up to NULL, joined by newlines (in a static buffer). */
static const char *lines(const char *first, ...)
{
	static char buf[4096];
	size_t n = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *l = first; l; l = va_arg(ap, const char *))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "\n" : "", l);
	va_end(ap);
	ck_assert_uint_lt(n, sizeof(buf));
	return buf;
}

#define ck_ok(src)                                                                                 \
	do {                                                                                       \
		ck_assert_str_eq(parse(src), "");                                                  \
		ck_assert_int_eq(RC, 0);                                                           \
	} while (0)

static void ck_stmt(const struct rtn_stmt *s, const char *kw, int line, int col, size_t nargs)
{
	ck_assert_str_eq(s->keyword, kw);
	ck_assert_int_eq(s->line, line);
	ck_assert_int_eq(s->col, col);
	ck_assert_uint_eq(s->nargs, nargs);
}

static void ck_arg(const struct rtn_stmt *s, size_t i, const char *text, int line, int col,
                   bool quoted)
{
	ck_assert_uint_lt(i, s->nargs);
	ck_assert_str_eq(s->args[i].text, text);
	ck_assert_int_eq(s->args[i].line, line);
	ck_assert_int_eq(s->args[i].col, col);
	ck_assert(s->args[i].quoted == quoted);
}

/* ---- diag --------------------------------------------------------------- */

START_TEST(t_diag_format)
{
	struct rtn_diags d;
	rtn_diags_init(&d);
	rtn_diag_add(&d, RTN_SEV_ERROR, "a.rules", 3, 7, "bad %s %d", "thing", 42);
	rtn_diag_add(&d, RTN_SEV_WARNING, "a.rules", 4, 1, "odd");
	rtn_diag_add(&d, RTN_SEV_ERROR, "b.conf", 0, 0, "cannot read: %s", "No such file");
	rtn_diag_add(&d, RTN_SEV_WARNING, "b.conf", 0, 0, "empty");
	rtn_diag_add(&d, RTN_SEV_ERROR, "c.conf", 9, 0, "no column");
	ck_assert_uint_eq(d.n, 5);
	ck_assert_uint_eq(d.nerrors, 3);
	ck_assert_uint_eq(d.nwarnings, 2);
	const char *want[] = {"a.rules:3:7: bad thing 42", "a.rules:4:1: warning: odd",
	                      "b.conf: cannot read: No such file", "b.conf: warning: empty",
	                      "c.conf:9: no column"};
	for (size_t i = 0; i < 5; i++) {
		char *s = rtn_diag_format(&d.v[i]);
		ck_assert_str_eq(s, want[i]);
		free(s);
	}
	ck_assert_int_eq(d.v[0].line, 3);
	ck_assert_int_eq(d.v[0].col, 7);
	ck_assert_str_eq(d.v[0].msg, "bad thing 42");
	rtn_diags_fini(&d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(d.nerrors, 0);
	ck_assert_ptr_null(d.v);
	rtn_diags_fini(&d); /* twice is fine */
}
END_TEST

START_TEST(t_diag_print_and_copy)
{
	struct rtn_diags d;
	char file[] = "x.conf", *buf = NULL;
	size_t len = 0;
	rtn_diags_init(&d);
	for (int i = 1; i <= 20; i++) /* grows past the first allocation */
		rtn_diag_add(&d, RTN_SEV_ERROR, file, i, 2, "e%d", i);
	file[0] = 'y'; /* the file name was copied */
	char *big = rtn_xmalloc(10001);
	memset(big, 'm', 10000);
	big[10000] = '\0';
	rtn_diag_add(&d, RTN_SEV_WARNING, file, 21, 1, "%s", big);
	ck_assert_uint_eq(strlen(d.v[20].msg), 10000);
	free(big);

	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	rtn_diags_print(&d, f);
	fclose(f);
	ck_assert(strncmp(buf, "x.conf:1:2: e1\nx.conf:2:2: e2\n", 30) == 0);
	ck_assert_ptr_nonnull(strstr(buf, "x.conf:20:2: e20\ny.conf:21:1: warning: mmm"));
	ck_assert_int_eq(buf[len - 1], '\n');
	ck_assert_uint_eq(d.nerrors, 20);
	ck_assert_uint_eq(d.nwarnings, 1);
	free(buf);
	rtn_diags_fini(&d);
}
END_TEST

/* ---- statements --------------------------------------------------------- */

START_TEST(t_keywords_and_args)
{
	ck_ok("state-directory  /var/lib/retentiond\nguard 1000\n  review\n");
	ck_assert_uint_eq(S.nstmts, 3);
	ck_assert_str_eq(S.file, "t.conf");
	ck_stmt(&S.stmts[0], "state-directory", 1, 1, 1);
	ck_arg(&S.stmts[0], 0, "/var/lib/retentiond", 1, 18, false);
	ck_stmt(&S.stmts[1], "guard", 2, 1, 1);
	ck_arg(&S.stmts[1], 0, "1000", 2, 7, false);
	ck_stmt(&S.stmts[2], "review", 3, 3, 0);
	ck_assert(!S.stmts[2].block);
	ck_assert_ptr_null(S.stmts[2].children);

	ck_ok("retry 1 minute .. 6 hours\nkeep 5 years after end-of-year(created)");
	ck_assert_uint_eq(S.nstmts, 2);
	ck_stmt(&S.stmts[0], "retry", 1, 1, 5);
	ck_arg(&S.stmts[0], 2, "..", 1, 16, false);
	ck_stmt(&S.stmts[1], "keep", 2, 1, 4);
	ck_arg(&S.stmts[1], 3, "end-of-year(created)", 2, 20, false);
}
END_TEST

START_TEST(t_empty_input)
{
	ck_ok("");
	ck_assert_uint_eq(S.nstmts, 0);
	ck_ok("\n\n   \t\n# only a comment\n;;\n ; ;\n");
	ck_assert_uint_eq(S.nstmts, 0);
	/* a NULL buffer of length 0 is an empty file */
	rtn_syntax_free(&S);
	RC = rtn_syntax_parse("t.conf", NULL, 0, &S, &D);
	ck_assert_int_eq(RC, 0);
	ck_assert_uint_eq(S.nstmts, 0);
}
END_TEST

START_TEST(t_strings)
{
	ck_ok("basis \"Framsikt privacy notice, section d\"\n");
	ck_arg(&S.stmts[0], 0, "Framsikt privacy notice, section d", 1, 7, true);

	ck_ok("a \"say \\\"hi\\\" \\\\o/\" \"\" \"# not a comment; { } \" x\n");
	ck_stmt(&S.stmts[0], "a", 1, 1, 4);
	ck_arg(&S.stmts[0], 0, "say \"hi\" \\o/", 1, 3, true);
	ck_arg(&S.stmts[0], 1, "", 1, 21, true);
	ck_arg(&S.stmts[0], 2, "# not a comment; { } ", 1, 24, true);
	ck_arg(&S.stmts[0], 3, "x", 1, 48, false);

	/* a word ends at a quote and a string needs no space after it */
	ck_ok("a b\"c\"d\n");
	ck_stmt(&S.stmts[0], "a", 1, 1, 3);
	ck_arg(&S.stmts[0], 0, "b", 1, 3, false);
	ck_arg(&S.stmts[0], 1, "c", 1, 4, true);
	ck_arg(&S.stmts[0], 2, "d", 1, 7, false);

	/* tabs and UTF-8 are kept inside strings */
	ck_ok("a \"\tblåbær\"");
	ck_arg(&S.stmts[0], 0, "\tblåbær", 1, 3, true);
}
END_TEST

START_TEST(t_comments)
{
	ck_ok("# head\nfoo bar # tail { } \" ;\nbaz#x\nqux \"a#b\"#c\n  # indented\n");
	ck_assert_uint_eq(S.nstmts, 3);
	ck_stmt(&S.stmts[0], "foo", 2, 1, 1);
	ck_arg(&S.stmts[0], 0, "bar", 2, 5, false);
	ck_stmt(&S.stmts[1], "baz", 3, 1, 0);
	ck_stmt(&S.stmts[2], "qux", 4, 1, 1);
	ck_arg(&S.stmts[2], 0, "a#b", 4, 5, true);
	/* a comment at the end of the file without a newline */
	ck_ok("a # end");
	ck_stmt(&S.stmts[0], "a", 1, 1, 0);
}
END_TEST

START_TEST(t_semicolons)
{
	ck_ok("a;b c;;\n;\nd e f ; g");
	ck_assert_uint_eq(S.nstmts, 4);
	ck_stmt(&S.stmts[0], "a", 1, 1, 0);
	ck_stmt(&S.stmts[1], "b", 1, 3, 1);
	ck_arg(&S.stmts[1], 0, "c", 1, 5, false);
	ck_stmt(&S.stmts[2], "d", 3, 1, 2);
	ck_stmt(&S.stmts[3], "g", 3, 9, 0);
}
END_TEST

START_TEST(t_blocks)
{
	ck_ok("backend hr-files {\n"
	      "    socket /run/x.sock\n"
	      "\n"
	      "    max-inflight  64   # comment\n"
	      "}\n"
	      "guard 5\n");
	ck_assert_uint_eq(S.nstmts, 2);
	const struct rtn_stmt *b = &S.stmts[0];
	ck_stmt(b, "backend", 1, 1, 1);
	ck_arg(b, 0, "hr-files", 1, 9, false);
	ck_assert(b->block);
	ck_assert_uint_eq(b->nchildren, 2);
	ck_stmt(&b->children[0], "socket", 2, 5, 1);
	ck_stmt(&b->children[1], "max-inflight", 4, 5, 1);
	ck_assert_int_eq(b->end_line, 5);
	ck_assert_int_eq(b->end_col, 1);
	ck_stmt(&S.stmts[1], "guard", 6, 1, 1);

	/* a block with several arguments, and with none */
	ck_ok("a b \"c\" d {\n}\ne {\n  f\n}");
	ck_stmt(&S.stmts[0], "a", 1, 1, 3);
	ck_assert(S.stmts[0].block);
	ck_stmt(&S.stmts[1], "e", 3, 1, 0);
	ck_assert(S.stmts[1].block);
	ck_assert_uint_eq(S.stmts[1].nchildren, 1);
}
END_TEST

START_TEST(t_empty_blocks)
{
	ck_ok("a {}\nb { }\nc {\n}\nd { ;; }\ne {\n# c\n\n}\n");
	ck_assert_uint_eq(S.nstmts, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert(S.stmts[i].block);
		ck_assert_uint_eq(S.stmts[i].nchildren, 0);
	}
	ck_assert_int_eq(S.stmts[0].end_line, 1);
	ck_assert_int_eq(S.stmts[0].end_col, 4);
	ck_assert_int_eq(S.stmts[2].end_line, 4);
	ck_assert_int_eq(S.stmts[4].end_line, 9);
}
END_TEST

START_TEST(t_nested_blocks)
{
	ck_ok("a {\n  b x {\n    c { d }\n    e\n  }\n  f\n}\n");
	ck_assert_uint_eq(S.nstmts, 1);
	const struct rtn_stmt *a = &S.stmts[0];
	ck_assert_uint_eq(a->nchildren, 2);
	const struct rtn_stmt *b = &a->children[0];
	ck_stmt(b, "b", 2, 3, 1);
	ck_assert_uint_eq(b->nchildren, 2);
	const struct rtn_stmt *c = &b->children[0];
	ck_stmt(c, "c", 3, 5, 0);
	ck_assert_uint_eq(c->nchildren, 1);
	ck_stmt(&c->children[0], "d", 3, 9, 0);
	ck_assert_int_eq(c->end_col, 11);
	ck_stmt(&b->children[1], "e", 4, 5, 0);
	ck_assert_int_eq(b->end_line, 5);
	ck_assert_int_eq(b->end_col, 3);
	ck_stmt(&a->children[1], "f", 6, 3, 0);

	/* "}}" closes two blocks at once */
	ck_ok("a { b { c }}");
	ck_assert_uint_eq(S.stmts[0].children[0].nchildren, 1);
}
END_TEST

START_TEST(t_brace_ends_statement)
{
	ck_ok("rule police-certificate-checked { category police_certificate; delete immediately "
	      "after checked }");
	const struct rtn_stmt *r = &S.stmts[0];
	ck_assert_uint_eq(r->nchildren, 2);
	ck_stmt(&r->children[0], "category", 1, 35, 1);
	ck_stmt(&r->children[1], "delete", 1, 64, 3);
	ck_arg(&r->children[1], 2, "checked", 1, 89, false);
	ck_assert_int_eq(r->end_col, 97);
	/* "}" right after a word or a string */
	ck_ok("a { b c}\nd { e \"f\"}");
	ck_arg(&S.stmts[0].children[0], 0, "c", 1, 7, false);
	ck_arg(&S.stmts[1].children[0], 0, "f", 2, 7, true);
}
END_TEST

START_TEST(t_after_brace)
{
	ck_ok("a { b } c d\ne { } ; f\ng {} h {} i");
	ck_assert_uint_eq(S.nstmts, 7);
	ck_stmt(&S.stmts[0], "a", 1, 1, 0);
	ck_stmt(&S.stmts[1], "c", 1, 9, 1);
	ck_assert(!S.stmts[1].block);
	ck_stmt(&S.stmts[2], "e", 2, 1, 0);
	ck_stmt(&S.stmts[3], "f", 2, 9, 0);
	ck_stmt(&S.stmts[4], "g", 3, 1, 0);
	ck_stmt(&S.stmts[5], "h", 3, 6, 0);
	ck_assert(S.stmts[5].block);
	ck_stmt(&S.stmts[6], "i", 3, 11, 0);
	/* i is the next statement, in the same block */
	ck_ok("x { g {} i }");
	ck_assert_uint_eq(S.stmts[0].nchildren, 2);
	ck_stmt(&S.stmts[0].children[1], "i", 1, 10, 0);
}
END_TEST

START_TEST(t_crlf)
{
	/* '\r' is blank: CRLF files read like LF files */
	ck_ok("a b\r\nc {\r\n  d \"x y\"\r\n}\r\n# c\r\ne\r\n");
	ck_assert_uint_eq(S.nstmts, 3);
	ck_stmt(&S.stmts[0], "a", 1, 1, 1);
	ck_arg(&S.stmts[0], 0, "b", 1, 3, false);
	ck_stmt(&S.stmts[1].children[0], "d", 3, 3, 1);
	ck_arg(&S.stmts[1].children[0], 0, "x y", 3, 5, true);
	ck_stmt(&S.stmts[2], "e", 6, 1, 0);
	/* so is any other blank */
	ck_ok("a\fb\vc");
	ck_stmt(&S.stmts[0], "a", 1, 1, 2);
	/* a string cut by a CRLF is still unterminated */
	ck_assert_str_eq(parse("a \"b\r\nc \"d\\\r\n"),
	                 "t.conf:1:3: " UNTERM_LINE "\nt.conf:2:3: " UNTERM_LINE);
}
END_TEST

START_TEST(t_columns_utf8)
{
	/* columns count characters: å, æ are 2 bytes, ✓ is 3, 🙂 is 4; a tab is 1 */
	ck_ok("navn \"blåbær\" x\n✓🙂 y\n\tz\t\"w\"");
	ck_stmt(&S.stmts[0], "navn", 1, 1, 2);
	ck_arg(&S.stmts[0], 0, "blåbær", 1, 6, true);
	ck_arg(&S.stmts[0], 1, "x", 1, 15, false);
	ck_stmt(&S.stmts[1], "✓🙂", 2, 1, 1);
	ck_arg(&S.stmts[1], 0, "y", 2, 4, false);
	ck_stmt(&S.stmts[2], "z", 3, 2, 1);
	ck_arg(&S.stmts[2], 0, "w", 3, 4, true);
	/* and in errors */
	ck_assert_str_eq(parse("ærlig \"ø\\q\"\n"), "t.conf:1:9: " ESC("q"));
}
END_TEST

START_TEST(t_spec_examples)
{
	ck_ok("state-directory  /var/lib/retentiond\n"
	      "rules-directory  /etc/retentiond/rules.d\n"
	      "audit-log        /var/log/retentiond/audit.log\n"
	      "control-socket   /run/retentiond/control.sock\n"
	      "timezone         Europe/Oslo          # calendar arithmetic happens here\n"
	      "admin-group      retention-admin      # may change things\n"
	      "audit-group      retention-audit      # may read everything, change nothing\n"
	      "erasure-deadline 30 days\n"
	      "guard            1000                 # mass-deletion guard, see below\n"
	      "\n"
	      "backend hr-files {\n"
	      "    socket        /run/retentiond/backends/hr-files.sock\n"
	      "    max-inflight  64                  # jobs outstanding on this backend\n"
	      "    timeout       30 seconds          # no result in time: the job is retried\n"
	      "    retry         1 minute .. 6 hours # exponential backoff with jitter, bounds\n"
	      "    max-attempts  20                  # then the job is dead and shown as such\n"
	      "}\n");
	ck_assert_uint_eq(S.nstmts, 10);
	ck_stmt(&S.stmts[7], "erasure-deadline", 8, 1, 2);
	ck_assert_uint_eq(S.stmts[9].nchildren, 5);
	ck_stmt(&S.stmts[9].children[3], "retry", 15, 5, 5);

	ck_ok("# Framsikt privacy notice (d): applications of applicants who are not\n"
	      "# hired are kept one year, then shredded.\n"
	      "rule framsikt-job-applications {\n"
	      "    category  job_application\n"
	      "    delete    1 year after received\n"
	      "    unless    hired\n"
	      "    backend   hr-files\n"
	      "    basis     \"Framsikt privacy notice, section d\"\n"
	      "}\n"
	      "\n"
	      "rule police-certificate-checked { category police_certificate; delete immediately "
	      "after checked }\n"
	      "rule police-certificate-latest  { category police_certificate; delete 1 week after "
	      "received }\n"
	      "\n"
	      "rule travel-expenses {\n"
	      "    category  travel_expense\n"
	      "    keep      5 years after end-of-year(created)   # Bookkeeping Act minimum\n"
	      "    basis     \"Bookkeeping Act\"\n"
	      "}\n"
	      "rule travel-expenses-delete { category travel_expense; delete 5 years after "
	      "end-of-year(created) }\n"
	      "\n"
	      "rule board-members { category board_member; keep forever; basis \"Register of "
	      "Business Enterprises Act\" }\n"
	      "\n"
	      "rule mailboxes { category mailbox_content; delete 1 year after created; review }\n");
	ck_assert_uint_eq(S.nstmts, 7);
	const struct rtn_stmt *r = &S.stmts[0];
	ck_stmt(r, "rule", 3, 1, 1);
	ck_assert_uint_eq(r->nchildren, 5);
	ck_arg(&r->children[4], 0, "Framsikt privacy notice, section d", 8, 15, true);
	ck_assert_uint_eq(S.stmts[5].nchildren, 3);
	ck_stmt(&S.stmts[6].children[2], "review", 23, 73, 0);
}
END_TEST

/* ---- limits --------------------------------------------------------------- */

static char *repeat(const char *unit, size_t n, const char *head, const char *tail)
{
	size_t u = strlen(unit), h = strlen(head), t = strlen(tail);
	char *s = rtn_xmalloc(h + u * n + t + 1), *q = s;
	memcpy(q, head, h);
	q += h;
	for (size_t i = 0; i < n; i++, q += u)
		memcpy(q, unit, u);
	memcpy(q, tail, t + 1);
	return s;
}

START_TEST(t_depth)
{
	char *s = repeat("a {", RTN_SYNTAX_MAX_DEPTH, "", "");
	char *ok = repeat("}", RTN_SYNTAX_MAX_DEPTH, s, "");
	ck_ok(ok);
	const struct rtn_stmt *st = &S.stmts[0];
	for (int i = 1; i < RTN_SYNTAX_MAX_DEPTH; i++)
		st = &st->children[0];
	ck_assert(st->block);
	ck_assert_uint_eq(st->nchildren, 0);
	free(ok);

	/* one level deeper: the deep block is skipped, its parents are kept */
	char *head = rtn_xasprintf("%s b { c { } }", s);
	char *bad = repeat("}", RTN_SYNTAX_MAX_DEPTH, head, "\ny");
	free(head);
	ck_assert_str_eq(parse(bad),
	                 "t.conf:1:28: too many nested blocks; at most 8 levels are allowed");
	ck_assert_uint_eq(S.nstmts, 2);
	st = &S.stmts[0];
	for (int i = 1; i < RTN_SYNTAX_MAX_DEPTH; i++)
		st = &st->children[0];
	ck_assert_uint_eq(st->nchildren, 0);
	ck_stmt(&S.stmts[1], "y", 2, 1, 0);
	free(bad);
	free(s);

	/* deep nesting far beyond the limit is bounded: each stray "{" is reported, and the
	 * ones deeper than the limit are skipped */
	s = repeat("{", 100000, "", "");
	parse(s);
	ck_assert_uint_eq(D.nerrors, 18);
	ck_assert_ptr_nonnull(strstr(E, lines("t.conf:1:8: expected a keyword, found \"{\"",
	                                      "t.conf:1:9: expected a keyword, found \"{\"",
	                                      "t.conf:1:9: too many nested blocks; at most 8 "
	                                      "levels are allowed",
	                                      "t.conf:1:100001: unclosed block (opened at 1:8); "
	                                      "expected \"}\"",
	                                      NULL)));
	ck_assert_ptr_nonnull(strstr(E, "\nt.conf:1:100001: unclosed block (opened at 1:1); "
	                                "expected \"}\""));
	free(s);
}
END_TEST

START_TEST(t_max_args)
{
	char *s = repeat(" x", RTN_SYNTAX_MAX_ARGS, "a", "\nb");
	ck_ok(s);
	ck_assert_uint_eq(S.stmts[0].nargs, RTN_SYNTAX_MAX_ARGS);
	free(s);
	s = repeat(" x", RTN_SYNTAX_MAX_ARGS + 5, "a", "\nb");
	ck_assert_str_eq(parse(s), "t.conf:1:2051: too many arguments; at most 1024 are allowed");
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "b", 2, 1, 0);
	free(s);
}
END_TEST

START_TEST(t_max_token)
{
	char *s = repeat("w", RTN_SYNTAX_MAX_TOKEN, "a ", " b");
	ck_ok(s);
	ck_assert_uint_eq(strlen(S.stmts[0].args[0].text), RTN_SYNTAX_MAX_TOKEN);
	free(s);
	s = repeat("w", RTN_SYNTAX_MAX_TOKEN + 1, "a ", " b\nc");
	ck_assert_str_eq(parse(s), "t.conf:1:3: word too long; at most 65536 bytes are allowed");
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "c", 2, 1, 0);
	free(s);
	/* a keyword is a word */
	s = repeat("k", RTN_SYNTAX_MAX_TOKEN + 1, "", "\nc");
	ck_assert_str_eq(parse(s), "t.conf:1:1: word too long; at most 65536 bytes are allowed");
	free(s);

	/* strings count their bytes after unescaping */
	s = repeat("\\\\", RTN_SYNTAX_MAX_TOKEN, "a \"", "\"");
	ck_ok(s);
	ck_assert_uint_eq(strlen(S.stmts[0].args[0].text), RTN_SYNTAX_MAX_TOKEN);
	free(s);
	s = repeat("é", RTN_SYNTAX_MAX_TOKEN / 2 + 1, "a x \"", "\" y\nc");
	ck_assert_str_eq(parse(s), "t.conf:1:5: string too long; at most 65536 bytes are allowed");
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "c", 2, 1, 0);
	free(s);
}
END_TEST

START_TEST(t_max_file)
{
	size_t n = RTN_SYNTAX_MAX_FILE + 1;
	char *s = rtn_xmalloc(n);
	memset(s, '\n', n);
	memcpy(s, "a b", 3);
	RC = rtn_syntax_parse("big.conf", s, n, &S, &D);
	collect();
	ck_assert_int_eq(RC, -EINVAL);
	ck_assert_str_eq(E, "big.conf: file too large; at most 16777216 bytes are allowed");
	ck_assert_uint_eq(S.nstmts, 0);
	ck_assert_str_eq(S.file, "big.conf");
	rtn_syntax_free(&S);
	/* one byte less is fine */
	rtn_diags_fini(&D);
	RC = rtn_syntax_parse("big.conf", s, n - 1, &S, &D);
	ck_assert_int_eq(RC, 0);
	ck_assert_uint_eq(S.nstmts, 1);
	free(s);
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

START_TEST(t_err_unterminated)
{
	ck_assert_str_eq(parse("a \"abc\nb c\n"), "t.conf:1:3: " UNTERM_LINE);
	ck_assert_int_eq(RC, -EINVAL);
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "b", 2, 1, 1);
	ck_assert_str_eq(parse("a\nb \"x\" \"abc \\\" def"), "t.conf:2:7: " UNTERM_FILE);
	ck_assert_uint_eq(S.nstmts, 1);
	/* a backslash does not join lines */
	ck_assert_str_eq(parse("a \"abc\\\nb\n"), "t.conf:1:3: " UNTERM_LINE);
	ck_assert_str_eq(parse("a \"\\"), "t.conf:1:3: " UNTERM_FILE);
	/* an unterminated string inside a block does not eat the block */
	ck_assert_str_eq(parse("r {\n  a \"x\n  b\n}\nc"), "t.conf:2:5: " UNTERM_LINE);
	ck_assert_uint_eq(S.nstmts, 2);
	ck_assert_uint_eq(S.stmts[0].nchildren, 1);
	ck_stmt(&S.stmts[0].children[0], "b", 3, 3, 0);
}
END_TEST

START_TEST(t_err_escape)
{
	ck_assert_str_eq(parse("basis \"a\\nb\"\nx"), "t.conf:1:9: " ESC("n"));
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "x", 2, 1, 0);
	/* every bad escape is reported; a non-ASCII character is shown as it is */
	ck_assert_str_eq(
	    parse("a \"\\t\\é\\'\""),
	    lines("t.conf:1:4: " ESC("t"), "t.conf:1:6: " ESC("é"), "t.conf:1:8: " ESC("'"), NULL));
	/* a control character is shown by its code */
	ck_assert_str_eq(parse("a \"\\\t\""), "t.conf:1:4: unknown escape \"\\\" followed by byte "
	                                      "0x09 in string; only \\\" and \\\\ are allowed");
	/* an escaped bad byte is an encoding error */
	ck_assert_str_eq(parse_n("a \"\\\xff\"", 6), "t.conf:1:5: " BAD_UTF8("0xff"));
}
END_TEST

START_TEST(t_err_unexpected_close)
{
	ck_assert_str_eq(parse("}\na b }\nc { d } }\ne"),
	                 "t.conf:1:1: unexpected \"}\"; no block is open\n"
	                 "t.conf:2:5: unexpected \"}\"; no block is open\n"
	                 "t.conf:3:9: unexpected \"}\"; no block is open");
	ck_assert_uint_eq(S.nstmts, 3);
	ck_stmt(&S.stmts[0], "a", 2, 1, 1);
	ck_stmt(&S.stmts[1], "c", 3, 1, 0);
	ck_stmt(&S.stmts[2], "e", 4, 1, 0);
}
END_TEST

START_TEST(t_err_keyword)
{
	ck_assert_str_eq(parse("\"basis\" x y\nb\n  \"q\" { c d }\ne"),
	                 "t.conf:1:1: expected a keyword, found string\n"
	                 "t.conf:3:3: expected a keyword, found string");
	ck_assert_uint_eq(S.nstmts, 2);
	ck_stmt(&S.stmts[0], "b", 2, 1, 0);
	ck_stmt(&S.stmts[1], "e", 4, 1, 0);

	ck_assert_str_eq(parse("{ a }\nb; { c\nd }\ne"),
	                 "t.conf:1:1: expected a keyword, found \"{\"\n"
	                 "t.conf:2:4: expected a keyword, found \"{\"");
	ck_assert_uint_eq(S.nstmts, 2);
	ck_stmt(&S.stmts[0], "b", 2, 1, 0);
	ck_stmt(&S.stmts[1], "e", 4, 1, 0);
	/* errors inside a stray block are still found */
	ck_assert_str_eq(parse("x { {\n"
	                       "\"s\" } }"),
	                 "t.conf:1:5: expected a keyword, found \"{\"\n"
	                 "t.conf:2:1: expected a keyword, found string");
	ck_assert_uint_eq(S.nstmts, 1);
	ck_assert_uint_eq(S.stmts[0].nchildren, 0);
}
END_TEST

START_TEST(t_err_brace_line)
{
	ck_assert_str_eq(parse("rule x\n{\n  category a\n}\nb"),
	                 "t.conf:2:1: \"{\" must be on the same line as its keyword");
	/* the block still goes with its statement, so later checks can see it */
	ck_assert_uint_eq(S.nstmts, 2);
	ck_stmt(&S.stmts[0], "rule", 1, 1, 1);
	ck_assert(S.stmts[0].block);
	ck_assert_uint_eq(S.stmts[0].nchildren, 1);
	ck_stmt(&S.stmts[0].children[0], "category", 3, 3, 1);
	ck_assert_int_eq(S.stmts[0].end_line, 4);
	ck_stmt(&S.stmts[1], "b", 5, 1, 0);
	/* comments and blank lines in between do not matter */
	ck_assert_str_eq(parse("a { rule x # c\n\n   { b } }"),
	                 "t.conf:3:4: \"{\" must be on the same line as its keyword");
	ck_assert_uint_eq(S.stmts[0].children[0].nchildren, 1);
	/* the statement before had an error: the block goes with nothing */
	ck_assert_str_eq(parse("a \xff\n{ b }\nc"),
	                 lines("t.conf:1:3: " BAD_UTF8("0xff"),
	                       "t.conf:2:1: \"{\" must be on the same line as its keyword", NULL));
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "c", 3, 1, 0);
	/* too deep for a block: the statement goes too */
	ck_assert_str_eq(parse("a{a{a{a{a{a{a{a{x\n{}}}}}}}}}"),
	                 lines("t.conf:2:1: \"{\" must be on the same line as its keyword",
	                       "t.conf:2:1: too many nested blocks; at most 8 levels are allowed",
	                       NULL));
	const struct rtn_stmt *st = &S.stmts[0];
	for (int i = 1; i < RTN_SYNTAX_MAX_DEPTH; i++)
		st = &st->children[0];
	ck_assert_uint_eq(st->nchildren, 0);
	/* after a ';' it is a stray block */
	ck_assert_str_eq(parse("rule x;\n{ }"), "t.conf:2:1: expected a keyword, found \"{\"");
}
END_TEST

START_TEST(t_err_unclosed)
{
	ck_assert_str_eq(parse("a\nb\nrule x {\n  c\n"),
	                 "t.conf:5:1: unclosed block \"rule\" (opened at 3:1); expected \"}\"");
	ck_assert_uint_eq(S.nstmts, 3);
	ck_assert_uint_eq(S.stmts[2].nchildren, 1);
	ck_assert_str_eq(parse("a {\n  b c { d"),
	                 "t.conf:2:10: unclosed block \"b\" (opened at 2:3); expected \"}\"\n"
	                 "t.conf:2:10: unclosed block \"a\" (opened at 1:1); expected \"}\"");
	ck_assert_str_eq(parse("\n"
	                       "  {"),
	                 "t.conf:2:3: expected a keyword, found \"{\"\n"
	                 "t.conf:2:4: unclosed block (opened at 2:3); expected \"}\"");
}
END_TEST

START_TEST(t_err_nul)
{
	ck_assert_str_eq(parse_n("a b\0c\nd\n", 8),
	                 "t.conf:1:4: NUL byte; the file must be UTF-8 text");
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "d", 2, 1, 0);
	ck_assert_str_eq(parse_n("\0", 1), "t.conf:1:1: NUL byte; the file must be UTF-8 text");
	ck_assert_str_eq(parse_n("a \"\0\"", 5),
	                 "t.conf:1:4: NUL byte; the file must be UTF-8 text");
	ck_assert_uint_eq(S.nstmts, 0);
}
END_TEST

START_TEST(t_err_utf8)
{
	ck_assert_str_eq(parse("a \xff\nb"), "t.conf:1:3: " BAD_UTF8("0xff"));
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "b", 2, 1, 0);
	/* truncated, overlong, surrogate, beyond U+10FFFF, lone continuation */
	ck_assert_str_eq(parse("a é\xc3\nb \xc0\x80\nc \xed\xa0\x80\nd \xf4\x90\x80\x80\ne \x80"),
	                 lines("t.conf:1:4: " BAD_UTF8("0xc3"), "t.conf:2:3: " BAD_UTF8("0xc0"),
	                       "t.conf:3:3: " BAD_UTF8("0xed"), "t.conf:4:3: " BAD_UTF8("0xf4"),
	                       "t.conf:5:3: " BAD_UTF8("0x80"), NULL));
	ck_assert_uint_eq(S.nstmts, 0);
	/* a sequence cut by the end of the file is not read past it */
	ck_assert_str_eq(parse_n("a \xf0\x9f\x99", 5), "t.conf:1:3: " BAD_UTF8("0xf0"));
	/* one report per line; a bad comment does not spoil its statement */
	ck_assert_str_eq(
	    parse("a \"\xe9t\xe9\" \xff\nb # caf\xe9 \xe9\n"),
	    lines("t.conf:1:4: " BAD_UTF8("0xe9"), "t.conf:2:8: " BAD_UTF8("0xe9"), NULL));
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "b", 2, 1, 0);
	/* a bad keyword of a block drops the block but its contents are checked */
	ck_assert_str_eq(parse("r\xff x {\n \"s\"\n}\nz"),
	                 lines("t.conf:1:2: " BAD_UTF8("0xff"),
	                       "t.conf:2:2: expected a keyword, found string", NULL));
	ck_assert_uint_eq(S.nstmts, 1);
	ck_stmt(&S.stmts[0], "z", 4, 1, 0);
}
END_TEST

START_TEST(t_err_many)
{
	/* every error is collected; good statements around them, in and out of blocks, stay */
	ck_assert_str_eq(
	    parse("first 1\n"
	          "bad \"x\\y\"\n"
	          "rule r {\n"
	          "  ok a\n"
	          "  \"str\"\n"
	          "  also \"b\n"
	          "  fine\n"
	          "}\n"
	          "}\n"
	          "last \"z\"\n"
	          "open {\n"),
	    lines("t.conf:2:7: " ESC("y"), "t.conf:5:3: expected a keyword, found string",
	          "t.conf:6:8: " UNTERM_LINE, "t.conf:9:1: unexpected \"}\"; no block is open",
	          "t.conf:12:1: unclosed block \"open\" (opened at 11:1); expected \"}\"", NULL));
	ck_assert_int_eq(RC, -EINVAL);
	ck_assert_uint_eq(D.nerrors, 5);
	ck_assert_uint_eq(S.nstmts, 4);
	ck_stmt(&S.stmts[0], "first", 1, 1, 1);
	ck_stmt(&S.stmts[1], "rule", 3, 1, 1);
	ck_assert_uint_eq(S.stmts[1].nchildren, 2);
	ck_stmt(&S.stmts[1].children[0], "ok", 4, 3, 1);
	ck_stmt(&S.stmts[1].children[1], "fine", 7, 3, 0);
	ck_stmt(&S.stmts[2], "last", 10, 1, 1);
	ck_stmt(&S.stmts[3], "open", 11, 1, 0);
}
END_TEST

START_TEST(t_err_limit)
{
	/* a flood of errors stops after 100, with a note */
	char *s = repeat("}\n", 500, "", "");
	parse(s);
	ck_assert_uint_eq(D.nerrors, 101);
	char *last = rtn_diag_format(&D.v[100]);
	ck_assert_str_eq(last, "t.conf:101:1: too many errors (100); stopping here");
	free(last);
	ck_assert_int_eq(RC, -EINVAL);
	free(s);
}
END_TEST

/* ---- files ---------------------------------------------------------------- */

START_TEST(t_parse_file)
{
	char dir[] = "/tmp/test_syntax.XXXXXX", want[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *path = rtn_xasprintf("%s/a.rules", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("rule r { category c }\nx \"\n", f);
	fclose(f);
	snprintf(want, sizeof(want), "%s:2:3: " UNTERM_LINE, path);
	ck_assert_str_eq(parse_path(path), want);
	ck_assert_int_eq(RC, -EINVAL);
	ck_assert_str_eq(S.file, path);
	ck_assert_uint_eq(S.nstmts, 1);
	unlink(path);

	/* a missing file, or a directory, is one error without a position */
	snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(ENOENT));
	ck_assert_str_eq(parse_path(path), want);
	ck_assert_int_eq(RC, -EINVAL);
	ck_assert_int_eq(D.v[0].line, 0);
	ck_assert_int_eq(D.v[0].col, 0);
	snprintf(want, sizeof(want), "%s: cannot read: not a regular file", dir);
	ck_assert_str_eq(parse_path(dir), want);
	ck_assert_int_eq(RC, -EINVAL);
	rmdir(dir);
	free(path);
}
END_TEST

static Suite *syntax_suite(void)
{
	Suite *s = suite_create("syntax");
	TCase *tc = tcase_create("diag");
	tcase_add_test(tc, t_diag_format);
	tcase_add_test(tc, t_diag_print_and_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("statements");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_keywords_and_args);
	tcase_add_test(tc, t_empty_input);
	tcase_add_test(tc, t_strings);
	tcase_add_test(tc, t_comments);
	tcase_add_test(tc, t_semicolons);
	tcase_add_test(tc, t_blocks);
	tcase_add_test(tc, t_empty_blocks);
	tcase_add_test(tc, t_nested_blocks);
	tcase_add_test(tc, t_brace_ends_statement);
	tcase_add_test(tc, t_after_brace);
	tcase_add_test(tc, t_crlf);
	tcase_add_test(tc, t_columns_utf8);
	tcase_add_test(tc, t_spec_examples);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, t_depth);
	tcase_add_test(tc, t_max_args);
	tcase_add_test(tc, t_max_token);
	tcase_add_test(tc, t_max_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_err_unterminated);
	tcase_add_test(tc, t_err_escape);
	tcase_add_test(tc, t_err_unexpected_close);
	tcase_add_test(tc, t_err_keyword);
	tcase_add_test(tc, t_err_brace_line);
	tcase_add_test(tc, t_err_unclosed);
	tcase_add_test(tc, t_err_nul);
	tcase_add_test(tc, t_err_utf8);
	tcase_add_test(tc, t_err_many);
	tcase_add_test(tc, t_err_limit);
	tcase_add_test(tc, t_parse_file);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(syntax_suite)
