/* syntax.c - the one lexer and parser of retentiond.conf, rule files and backend configs
 *
 * The lexer turns bytes into words, strings, newlines, ';', '{', '}' and end of file,
 * checking the encoding on the way. The parser is recursive descent over blocks; its
 * depth is bounded by RTN_SYNTAX_MAX_DEPTH (deeper blocks are skipped flat). Errors
 * never stop the parse: a statement with a bad token is dropped at its end and
 * parsing goes on with the next one, so every problem of a file is reported at once
 * (up to MAX_ERRORS, so that a binary file does not produce millions).
 */
#include "syntax.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_ERRORS 100
#define NONE       SIZE_MAX

enum tok_kind { T_EOF, T_NL, T_SEMI, T_LBRACE, T_RBRACE, T_WORD, T_STRING };

struct token {
	enum tok_kind kind;
	int line, col;
	char *text; /* owned; T_WORD and T_STRING only, NULL if bad */
	bool bad;   /* the token had an error (already reported) */
};

struct stmt_list {
	struct rtn_stmt *v;
	size_t n, cap;
};

struct parser {
	const char *file;
	const char *buf;
	size_t len, pos;
	int line, col;
	struct rtn_diags *d;
	size_t nerrors;
	bool stop;    /* too many errors: the lexer reports end of file */
	int enc_line; /* last line with an encoding error (one per line) */
	char *sbuf;   /* unescaped text of the string being lexed */
	size_t slen, scap;
	struct token peek;
	bool has_peek;
};

static void verr(struct parser *p, int line, int col, const char *fmt, va_list ap)
{
	if (p->stop)
		return;
	if (p->nerrors == MAX_ERRORS) {
		rtn_diag_add(p->d, RTN_SEV_ERROR, p->file, line, col,
		             "too many errors (%d); stopping here", MAX_ERRORS);
		p->stop = true;
		return;
	}
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	rtn_diag_add(p->d, RTN_SEV_ERROR, p->file, line, col, "%s", msg ? msg : fmt);
	free(msg);
	p->nerrors++;
}

__attribute__((format(printf, 4, 5))) static void err(struct parser *p, int line, int col,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(p, line, col, fmt, ap);
	va_end(ap);
}

/* ---- lexer --------------------------------------------------------------- */

static bool is_space(unsigned char c)
{
	/* '\r' is blank so that CRLF files read like LF files */
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_word_byte(unsigned char c)
{
	return !is_space(c) && c != '\n' && c != ';' && c != '{' && c != '}' && c != '#' &&
	       c != '"';
}

/* Length of the valid UTF-8 character at pos, or 0 if it is a NUL or invalid byte. */
static size_t char_len(const struct parser *p)
{
	unsigned char c = (unsigned char)p->buf[p->pos];
	size_t n;
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n == 1 || n > p->len - p->pos || !rtn_valid_utf8(p->buf + p->pos, n))
		return 0;
	return n;
}

/* Step over one character (not a newline); a bad byte is reported and sets *bad. */
static void step(struct parser *p, bool *bad)
{
	size_t n = char_len(p);
	if (n == 0) {
		unsigned char c = (unsigned char)p->buf[p->pos];
		if (p->enc_line != p->line) {
			if (c == 0)
				err(p, p->line, p->col, "NUL byte; the file must be UTF-8 text");
			else
				err(p, p->line, p->col,
				    "invalid UTF-8 (byte 0x%02x); the file must be UTF-8 text", c);
			p->enc_line = p->line;
		}
		*bad = true;
		n = 1;
	}
	p->pos += n;
	p->col++;
}

/* Append to the string being lexed; false if it would get too long. */
static bool sbuf_add(struct parser *p, const char *s, size_t n)
{
	if (p->slen + n > RTN_SYNTAX_MAX_TOKEN)
		return false;
	RTN_GROW(p->sbuf, p->slen + n + 1, p->scap);
	memcpy(p->sbuf + p->slen, s, n);
	p->slen += n;
	return true;
}

static void lex_word(struct parser *p, struct token *t)
{
	size_t start = p->pos;
	while (p->pos < p->len && is_word_byte((unsigned char)p->buf[p->pos]))
		step(p, &t->bad);
	if (p->pos - start > RTN_SYNTAX_MAX_TOKEN) {
		err(p, t->line, t->col, "word too long; at most %d bytes are allowed",
		    RTN_SYNTAX_MAX_TOKEN);
		t->bad = true;
	}
	if (!t->bad)
		t->text = rtn_xstrndup(p->buf + start, p->pos - start);
}

#define ONLY_ESCAPES "in string; only \\\" and \\\\ are allowed"

/* An unknown escape: name the escaped character if it is printable. */
static void bad_escape(struct parser *p, bool *bad)
{
	int line = p->line, col = p->col;
	p->pos++; /* the backslash */
	p->col++;
	unsigned char c = (unsigned char)p->buf[p->pos];
	size_t n = char_len(p);
	if (n > 1 || (c >= 0x20 && c < 0x7f))
		err(p, line, col, "unknown escape \"\\%.*s\" " ONLY_ESCAPES, (int)n,
		    p->buf + p->pos);
	else if (n == 1)
		err(p, line, col, "unknown escape \"\\\" followed by byte 0x%02x " ONLY_ESCAPES, c);
	*bad = true;
	step(p, bad); /* reports a NUL or invalid byte itself */
}

static void lex_string(struct parser *p, struct token *t)
{
	bool fits = true, long_reported = false;
	p->pos++; /* the opening quote */
	p->col++;
	p->slen = 0;
	for (;;) {
		if (p->pos == p->len || p->buf[p->pos] == '\n') {
			err(p, t->line, t->col,
			    "unterminated string; expected a closing quote "
			    "before the end of the %s",
			    p->pos == p->len ? "file" : "line");
			t->bad = true;
			break;
		}
		char c = p->buf[p->pos];
		if (c == '"') {
			p->pos++;
			p->col++;
			break;
		}
		size_t start = p->pos;
		if (c == '\\') {
			char e = p->pos + 1 < p->len ? p->buf[p->pos + 1] : '\n';
			if (e == '\r' && p->pos + 2 < p->len && p->buf[p->pos + 2] == '\n')
				e = '\n'; /* CRLF */
			if (e == '"' || e == '\\') {
				p->pos += 2;
				p->col += 2;
				fits = fits && sbuf_add(p, &e, 1);
			} else if (e == '\n') {
				p->pos++; /* unterminated: reported on the next round */
				p->col++;
			} else {
				bad_escape(p, &t->bad);
			}
		} else {
			step(p, &t->bad);
			fits = fits && sbuf_add(p, p->buf + start, p->pos - start);
		}
		if (!fits && !long_reported) {
			err(p, t->line, t->col, "string too long; at most %d bytes are allowed",
			    RTN_SYNTAX_MAX_TOKEN);
			long_reported = t->bad = true;
		}
	}
	if (!t->bad)
		t->text = rtn_xstrndup(p->sbuf ? p->sbuf : "", p->slen);
}

static void lex(struct parser *p, struct token *t)
{
	if (p->has_peek) {
		*t = p->peek;
		p->has_peek = false;
		return;
	}
	memset(t, 0, sizeof(*t));
	for (;;) {
		t->line = p->line;
		t->col = p->col;
		if (p->stop || p->pos >= p->len) {
			t->kind = T_EOF;
			return;
		}
		unsigned char c = (unsigned char)p->buf[p->pos];
		if (is_space(c)) {
			p->pos++;
			p->col++;
			continue;
		}
		if (c == '#') {
			bool ignored = false;
			while (p->pos < p->len && p->buf[p->pos] != '\n')
				step(p, &ignored);
			continue;
		}
		switch (c) {
		case '\n':
			t->kind = T_NL;
			p->pos++;
			p->line++;
			p->col = 1;
			return;
		case ';':
			t->kind = T_SEMI;
			break;
		case '{':
			t->kind = T_LBRACE;
			break;
		case '}':
			t->kind = T_RBRACE;
			break;
		case '"':
			t->kind = T_STRING;
			lex_string(p, t);
			return;
		default:
			t->kind = T_WORD;
			lex_word(p, t);
			return;
		}
		p->pos++;
		p->col++;
		return;
	}
}

static void unlex(struct parser *p, const struct token *t)
{
	p->peek = *t;
	p->has_peek = true;
}

/* ---- tree ---------------------------------------------------------------- */

static void stmt_free(struct rtn_stmt *s)
{
	free(s->keyword);
	for (size_t i = 0; i < s->nargs; i++)
		free(s->args[i].text);
	free(s->args);
	for (size_t i = 0; i < s->nchildren; i++)
		stmt_free(&s->children[i]);
	free(s->children);
	memset(s, 0, sizeof(*s));
}

/* ---- parser -------------------------------------------------------------- */

static void parse_list(struct parser *p, int depth, struct rtn_stmt *opener, int oline, int ocol,
                       struct stmt_list *out);

/* Skip a block nested too deeply, counting braces without recursion. */
static void skip_block(struct parser *p)
{
	size_t level = 1;
	struct token t;
	for (;;) {
		lex(p, &t);
		free(t.text);
		if (t.kind == T_EOF)
			return;
		if (t.kind == T_LBRACE)
			level++;
		else if (t.kind == T_RBRACE && --level == 0)
			return;
	}
}

/* The '{' at t was just read: parse the block into s (at depth, the depth of s). */
static void open_block(struct parser *p, int depth, struct rtn_stmt *s, const struct token *t,
                       bool *bad)
{
	s->block = true;
	if (depth >= RTN_SYNTAX_MAX_DEPTH) {
		err(p, t->line, t->col, "too many nested blocks; at most %d levels are allowed",
		    RTN_SYNTAX_MAX_DEPTH);
		*bad = true;
		skip_block(p);
		return;
	}
	struct stmt_list list;
	if (s->keyword)
		parse_list(p, depth + 1, s, s->line, s->col, &list);
	else
		parse_list(p, depth + 1, s, t->line, t->col, &list);
	s->children = list.v;
	s->nchildren = list.n;
}

/* A block that belongs to no statement: parse it for its errors, then drop it. */
static void discard_block(struct parser *p, int depth, const struct token *t)
{
	struct rtn_stmt s = {0};
	bool bad = false;
	open_block(p, depth, &s, t, &bad);
	stmt_free(&s);
}

/* Skip the rest of a statement that cannot be used. */
static void skip_stmt(struct parser *p, int depth)
{
	struct token t;
	for (;;) {
		lex(p, &t);
		switch (t.kind) {
		case T_WORD:
		case T_STRING:
			free(t.text);
			continue;
		case T_NL:
		case T_SEMI:
			return;
		case T_EOF:
		case T_RBRACE:
			unlex(p, &t);
			return;
		case T_LBRACE:
			discard_block(p, depth, &t);
			return;
		}
	}
}

/* Parse one statement whose keyword kw was just read; append it to list unless it had
 * errors. *nl: it ended at a newline without a block. Returns its index or NONE. */
static size_t parse_stmt(struct parser *p, int depth, struct token *kw, struct stmt_list *list,
                         bool *nl)
{
	struct rtn_stmt s = {.keyword = kw->text, .line = kw->line, .col = kw->col};
	bool bad = kw->bad, too_many = false;
	size_t acap = 0;
	struct token t;
	*nl = false;
	for (;;) {
		lex(p, &t);
		if (t.kind == T_WORD || t.kind == T_STRING) {
			bad |= t.bad;
			if (s.nargs == RTN_SYNTAX_MAX_ARGS) {
				if (!too_many)
					err(p, t.line, t.col,
					    "too many arguments; at most %d are allowed",
					    RTN_SYNTAX_MAX_ARGS);
				too_many = bad = true;
				free(t.text);
				continue;
			}
			RTN_GROW(s.args, s.nargs + 1, acap);
			s.args[s.nargs++] = (struct rtn_arg){.text = t.text,
			                                     .line = t.line,
			                                     .col = t.col,
			                                     .quoted = t.kind == T_STRING};
			continue;
		}
		if (t.kind == T_NL)
			*nl = true;
		else if (t.kind == T_RBRACE || t.kind == T_EOF)
			unlex(p, &t);
		else if (t.kind == T_LBRACE)
			open_block(p, depth, &s, &t, &bad);
		break;
	}
	if (bad) {
		stmt_free(&s);
		return NONE;
	}
	RTN_GROW(list->v, list->n + 1, list->cap);
	list->v[list->n++] = s;
	return list->n - 1;
}

/* Parse statements into out up to the end of the block opened by opener (at oline:ocol),
 * or to the end of the file if opener is NULL. */
static void parse_list(struct parser *p, int depth, struct rtn_stmt *opener, int oline, int ocol,
                       struct stmt_list *out)
{
	struct stmt_list list = {0};
	size_t prev = NONE; /* the statement a '{' on the next line would belong to */
	bool after_nl = false;
	struct token t;
	for (;;) {
		lex(p, &t);
		switch (t.kind) {
		case T_NL:
			continue;
		case T_SEMI:
			after_nl = false;
			continue;
		case T_EOF:
			if (opener && opener->keyword)
				err(p, t.line, t.col,
				    "unclosed block \"%s\" (opened at %d:%d); expected \"}\"",
				    opener->keyword, oline, ocol);
			else if (opener)
				err(p, t.line, t.col,
				    "unclosed block (opened at %d:%d); expected \"}\"", oline,
				    ocol);
			goto done;
		case T_RBRACE:
			if (opener)
				goto done;
			err(p, t.line, t.col, "unexpected \"}\"; no block is open");
			after_nl = false;
			continue;
		case T_LBRACE:
			if (after_nl) {
				err(p, t.line, t.col,
				    "\"{\" must be on the same line as its keyword");
				if (prev != NONE && !list.v[prev].block) {
					bool bad = false;
					open_block(p, depth, &list.v[prev], &t, &bad);
					if (bad) /* too deep; prev is the last one */
						stmt_free(&list.v[--list.n]);
				} else {
					discard_block(p, depth, &t);
				}
			} else {
				err(p, t.line, t.col, "expected a keyword, found \"{\"");
				discard_block(p, depth, &t);
			}
			after_nl = false;
			continue;
		case T_STRING:
			if (!t.bad)
				err(p, t.line, t.col, "expected a keyword, found string");
			free(t.text);
			skip_stmt(p, depth);
			after_nl = false;
			continue;
		case T_WORD:
			prev = parse_stmt(p, depth, &t, &list, &after_nl);
			continue;
		}
	}
done:
	*out = list;
	if (opener) {
		opener->end_line = t.line;
		opener->end_col = t.col;
	}
}

int rtn_syntax_parse(const char *file, const char *buf, size_t len, struct rtn_syntax *out,
                     struct rtn_diags *d)
{
	memset(out, 0, sizeof(*out));
	out->file = rtn_xstrdup(file);
	if (len > RTN_SYNTAX_MAX_FILE) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, 0, 0,
		             "file too large; at most %u bytes are allowed", RTN_SYNTAX_MAX_FILE);
		return -EINVAL;
	}
	struct parser p = {.file = file, .buf = buf, .len = len, .line = 1, .col = 1, .d = d};
	struct stmt_list list;
	parse_list(&p, 0, NULL, 0, 0, &list);
	free(p.sbuf);
	out->stmts = list.v;
	out->nstmts = list.n;
	return p.nerrors || p.stop ? -EINVAL : 0;
}

int rtn_syntax_parse_file(const char *path, struct rtn_syntax *out, struct rtn_diags *d)
{
	char *buf;
	size_t len;
	int r = rtn_read_file(path, RTN_SYNTAX_MAX_FILE, &buf, &len);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		out->file = rtn_xstrdup(path);
		if (r == -EFBIG)
			rtn_diag_add(d, RTN_SEV_ERROR, path, 0, 0,
			             "file too large; at most %u bytes are allowed",
			             RTN_SYNTAX_MAX_FILE);
		else if (r == -EINVAL) /* rtn_read_file: not a regular file */
			rtn_diag_add(d, RTN_SEV_ERROR, path, 0, 0,
			             "cannot read: not a regular file");
		else
			rtn_diag_add(d, RTN_SEV_ERROR, path, 0, 0, "cannot read: %s", strerror(-r));
		return -EINVAL;
	}
	r = rtn_syntax_parse(path, buf, len, out, d);
	free(buf);
	return r;
}

void rtn_syntax_free(struct rtn_syntax *s)
{
	free(s->file);
	for (size_t i = 0; i < s->nstmts; i++)
		stmt_free(&s->stmts[i]);
	free(s->stmts);
	memset(s, 0, sizeof(*s));
}
