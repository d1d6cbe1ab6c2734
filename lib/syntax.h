/* syntax.h - the one syntax of retentiond.conf, rule files and backend configs
 *
 * '#' comments to end of line; a statement is a keyword with arguments, ended by a
 * newline, a ';' or the '}' that closes its block; a block is 'keyword [args] { ... }'
 * with its '{' on the keyword's line. An argument is a bare word (no whitespace,
 * ';', '{', '}', '#' or '"') or a double-quoted string with \" and \\ escapes.
 */
#ifndef RTN_SYNTAX_H
#define RTN_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* Limits that keep hostile input bounded. */
#define RTN_SYNTAX_MAX_FILE  (16u << 20) /* bytes of one file */
#define RTN_SYNTAX_MAX_TOKEN 65536       /* bytes of one word or string */
#define RTN_SYNTAX_MAX_DEPTH 8           /* nested blocks */
#define RTN_SYNTAX_MAX_ARGS  1024        /* arguments of one statement */

struct rtn_arg {
	char *text; /* owned, unescaped, NUL-terminated, valid UTF-8 */
	int line, col;
	bool quoted;
};

struct rtn_stmt {
	char *keyword; /* owned; always a bare word */
	int line, col;
	struct rtn_arg *args;
	size_t nargs;
	bool block; /* true if the statement had a { } block (possibly empty) */
	struct rtn_stmt *children;
	size_t nchildren;
	int end_line, end_col; /* position of the closing '}' of a block */
};

struct rtn_syntax {
	char *file; /* owned; the name used in diagnostics */
	struct rtn_stmt *stmts;
	size_t nstmts;
};

/* Error recovery (see syntax.c): a statement with a bad token, too many arguments or a
 * block nested too deeply is dropped with its block, and parsing resumes after it; a
 * block whose '{' was on the next line, or that is still open at the end of the file
 * (end_line/end_col then point there), is kept with the statements that parsed. '\r' is
 * blank, so CRLF files read like LF files. At most 100 errors are reported per file. */
/* Parse buf[0..len) named file into out; every problem goes to d as an error.
 * Returns 0, or -EINVAL if there were errors (out then holds the statements that
 * parsed cleanly, so callers can report further problems). Free out with
 * rtn_syntax_free() in both cases. */
int rtn_syntax_parse(const char *file, const char *buf, size_t len, struct rtn_syntax *out,
                     struct rtn_diags *d);
/* Read and parse a file; an unreadable file is one error at FILE:0:0. Same returns. */
int rtn_syntax_parse_file(const char *path, struct rtn_syntax *out, struct rtn_diags *d);
/* Free everything a parse produced; safe on a zeroed struct. */
void rtn_syntax_free(struct rtn_syntax *s);

#endif
