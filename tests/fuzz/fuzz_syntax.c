/* fuzz_syntax.c - libFuzzer target for the config lexer/parser (lib/syntax.c)
 *
 * Parses the input, checks the invariants the tree promises (so that a bug shows as a
 * crash, not only as a sanitizer report), formats every diagnostic and frees it all.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "syntax.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, bool bare)
{
	if (!s || !rtn_valid_utf8(s, strlen(s)) || strlen(s) > RTN_SYNTAX_MAX_TOKEN)
		abort();
	if (bare && (!*s || strpbrk(s, " \t\r\v\f\n;{}#\"")))
		abort();
}

static void check_stmts(const struct rtn_stmt *v, size_t n, int depth)
{
	if (n && (depth > RTN_SYNTAX_MAX_DEPTH || !v))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct rtn_stmt *s = &v[i];
		check_text(s->keyword, true);
		if (s->line < 1 || s->col < 1 || s->nargs > RTN_SYNTAX_MAX_ARGS)
			abort();
		for (size_t j = 0; j < s->nargs; j++) {
			check_text(s->args[j].text, !s->args[j].quoted);
			if (s->args[j].line < s->line)
				abort();
		}
		if (!s->block && s->nchildren)
			abort();
		if (s->block && s->end_line < s->line)
			abort();
		check_stmts(s->children, s->nchildren, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtn_syntax s;
	struct rtn_diags d;
	rtn_diags_init(&d);
	int r = rtn_syntax_parse("fuzz.conf", (const char *)data, size, &s, &d);
	if ((r == 0) != (d.nerrors == 0) || (r != 0 && r != -EINVAL))
		abort();
	check_stmts(s.stmts, s.nstmts, 0);
	for (size_t i = 0; i < d.n; i++) {
		char *m = rtn_diag_format(&d.v[i]);
		if (strncmp(m, "fuzz.conf:", 10) != 0 || !rtn_valid_utf8(m, strlen(m)))
			abort();
		free(m);
	}
	rtn_syntax_free(&s);
	rtn_diags_fini(&d);
	return 0;
}
