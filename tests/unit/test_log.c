/* test_log.c - log lines: escaping of what came from outside, one line per call */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

static const char *esc(const char *s, size_t n)
{
	static char out[1024];
	size_t len = rtn_log_escape(out, sizeof(out), s, n);
	ck_assert_uint_eq(len, strlen(out));
	return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

START_TEST(test_printable_unchanged)
{
	ck_assert_str_eq(ESC("backend hr: job J-1 failed: disk full"),
	                 "backend hr: job J-1 failed: disk full");
	ck_assert_str_eq(ESC("\"quoted\" {json} ~"), "\"quoted\" {json} ~");
	/* UTF-8 text, two to four bytes a character, and U+00A0 */
	ck_assert_str_eq(ESC("Bjørn Ødegård ✓ 𝄞 \xc2\xa0."), "Bjørn Ødegård ✓ 𝄞 \xc2\xa0.");
	ck_assert_str_eq(ESC(""), "");
}
END_TEST

START_TEST(test_controls_escaped)
{
	ck_assert_str_eq(ESC("a\nb"), "a\\nb");
	ck_assert_str_eq(ESC("a\r\nb\tc"), "a\\r\\nb\\tc");
	ck_assert_str_eq(ESC("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
	ck_assert_str_eq(ESC("\x01\x07\x08\x0b\x0c\x1f\x7f"),
	                 "\\x01\\x07\\x08\\x0b\\x0c\\x1f\\x7f");
	/* a backslash is text: a message may quote one ("only \" and \\ are allowed") */
	ck_assert_str_eq(ESC("only \\\" and \\\\ are allowed"), "only \\\" and \\\\ are allowed");
	/* a NUL inside the bytes given */
	ck_assert_str_eq(esc("a\0b", 3), "a\\x00b");
}
END_TEST

START_TEST(test_forged_lines_stay_on_one)
{
	const char *evil = "disk on fire\n<5>audit head: seq 1 hash 00 file /x\n";
	const char *got = esc(evil, strlen(evil));
	ck_assert_ptr_null(strchr(got, '\n'));
	ck_assert_str_eq(got, "disk on fire\\n<5>audit head: seq 1 hash 00 file /x\\n");
}
END_TEST

START_TEST(test_bad_utf8_and_c1_escaped)
{
	/* C1 controls (U+0085 NEL, U+009B CSI) */
	ck_assert_str_eq(ESC("a\xc2\x85z\xc2\x9b"), "a\\xc2\\x85z\\xc2\\x9b");
	/* a lone continuation byte, a truncated sequence, an overlong '/', a surrogate,
	 * beyond U+10FFFF, and bytes never in UTF-8 */
	ck_assert_str_eq(ESC("\x80"), "\\x80");
	ck_assert_str_eq(ESC("\xe2\x9c"), "\\xe2\\x9c");
	ck_assert_str_eq(ESC("\xc0\xaf"), "\\xc0\\xaf");
	ck_assert_str_eq(ESC("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
	ck_assert_str_eq(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
	ck_assert_str_eq(ESC("\xfe\xff"), "\\xfe\\xff");
	/* a valid character right after a bad byte is kept */
	ck_assert_str_eq(ESC("\xff\xc3\xa5"), "\\xffå");
}
END_TEST

START_TEST(test_truncation_keeps_escapes_whole)
{
	char out[8];
	/* "ab" then "\n" (2) then "\x1b" (4) would be 8 with the NUL: the escape is left out */
	ck_assert_uint_eq(rtn_log_escape(out, sizeof(out), "ab\n\x1b", 4), 4);
	ck_assert_str_eq(out, "ab\\n");
	/* a UTF-8 character is not cut either */
	ck_assert_uint_eq(rtn_log_escape(out, 4, "ab✓", 5), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(rtn_log_escape(out, 1, "abc", 3), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(rtn_log_escape(out, 0, "abc", 3), 0);
}
END_TEST

/* What rtn_log() writes to stderr while f runs, as a string (caller frees). */
static char *captured(void (*f)(void))
{
	fflush(stderr);
	int saved = dup(2);
	FILE *tmp = tmpfile();
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(dup2(fileno(tmp), 2), 0);
	f();
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, 2), 0);
	close(saved);
	long n = ftell(tmp);
	if (n < 0)
		n = lseek(fileno(tmp), 0, SEEK_CUR);
	char *buf = rtn_xcalloc((size_t)n + 1, 1);
	rewind(tmp);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return buf;
}

static void log_evil(void)
{
	rtn_notice("backend %s: job %s failed: %s", "hr", "J-1",
	           "x\n<3>audit head: seq 9 hash ff file /a\x1b[2J");
}

static void log_long(void)
{
	static char big[6000];
	memset(big, '\n', sizeof(big) - 1);
	rtn_warn("long: %s", big);
}

START_TEST(test_one_line_per_call)
{
	unsetenv("JOURNAL_STREAM");
	rtn_log_set_ident("test_log");
	char *s = captured(log_evil);
	ck_assert_str_eq(s, "test_log: notice: backend hr: job J-1 failed: "
	                    "x\\n<3>audit head: seq 9 hash ff file /a\\x1b[2J\n");
	free(s);
	/* under journald the level prefix is ours alone */
	setenv("JOURNAL_STREAM", "8:1", 1);
	s = captured(log_evil);
	ck_assert_str_eq(s, "<5>backend hr: job J-1 failed: "
	                    "x\\n<3>audit head: seq 9 hash ff file /a\\x1b[2J\n");
	free(s);
	/* a message cut at the buffer's end is still one line */
	s = captured(log_long);
	ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);
	ck_assert(strncmp(s, "<4>long: \\n\\n", 13) == 0);
	free(s);
	unsetenv("JOURNAL_STREAM");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, test_printable_unchanged);
	tcase_add_test(tc, test_controls_escaped);
	tcase_add_test(tc, test_forged_lines_stay_on_one);
	tcase_add_test(tc, test_bad_utf8_and_c1_escaped);
	tcase_add_test(tc, test_truncation_keeps_escapes_whole);
	tcase_add_test(tc, test_one_line_per_call);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(log_suite)
