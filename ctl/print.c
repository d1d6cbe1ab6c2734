/* print.c - tables aligned by display width, numbers with separators, colour, generic output */
#include "print.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool ctl_color, ctl_color_err;

#define MAX_EXTRA_COLS 32

char *ctl_fmt_count(long long n, char *buf)
{
	char tmp[CTL_COUNT_LEN];
	unsigned long long u = n < 0 ? 0ull - (unsigned long long)n : (unsigned long long)n;
	int i = 0, digits = 0;
	do {
		if (digits && digits % 3 == 0)
			tmp[i++] = ',';
		tmp[i++] = (char)('0' + u % 10);
		u /= 10;
		digits++;
	} while (u);
	if (n < 0)
		tmp[i++] = '-';
	for (int j = 0; j < i; j++)
		buf[j] = tmp[i - 1 - j];
	buf[i] = '\0';
	return buf;
}

/* Decode one UTF-8 sequence of s[0..n): its length, or 0 if it is not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t c, min;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

struct range {
	uint32_t lo, hi;
};

static const struct range zero_width[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489},   {0x0591, 0x05bd}, {0x05bf, 0x05c7}, {0x0610, 0x061a},
    {0x064b, 0x065f}, {0x0670, 0x0670},   {0x06d6, 0x06ed}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},
    {0x200b, 0x200f}, {0x2060, 0x2064},   {0x20d0, 0x20ff}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f},
    {0xfeff, 0xfeff}, {0xe0100, 0xe01ef},
};

static const struct range wide[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x2e80, 0x303e},   {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},
    {0xa000, 0xa4cf},   {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},
    {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},
    {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

static bool in_ranges(uint32_t c, const struct range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c >= r[i].lo && c <= r[i].hi)
			return true;
	return false;
}

size_t ctl_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), w = 0;
	while (n) {
		uint32_t c;
		size_t l = utf8_decode(p, n, &c);
		if (!l) {
			l = 1, c = '?';
		}
		if (in_ranges(c, wide, sizeof(wide) / sizeof(wide[0])))
			w += 2;
		else if (!in_ranges(c, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
			w += 1;
		p += l;
		n -= l;
	}
	return w;
}

char *ctl_sanitize(const char *s, size_t len)
{
	if (!s)
		return rtn_xstrdup("");
	const unsigned char *p = (const unsigned char *)s;
	char *out = rtn_xmalloc(len * 4 + 1), *o = out;
	while (len) {
		uint32_t c;
		size_t l = utf8_decode(p, len, &c);
		if (!l) {
			o += sprintf(o, "\\x%02x", p[0]);
			l = 1;
		} else if (c == '\n') {
			o += sprintf(o, "\\n");
		} else if (c == '\t') {
			o += sprintf(o, "\\t");
		} else if (c == '\r') {
			o += sprintf(o, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			o += sprintf(o, "\\x%02x", (unsigned)c);
		} else if ((c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
		           (c >= 0x2066 && c <= 0x2069)) {
			/* C1 controls and bidi overrides would rearrange the terminal */
			o += sprintf(o, "\\u%04x", (unsigned)c);
		} else {
			memcpy(o, p, l);
			o += l;
		}
		p += l;
		len -= l;
	}
	*o = '\0';
	return out;
}

const char *ctl_state_color(const char *w)
{
	static const struct {
		const char *word, *esc;
	} map[] = {
	    {"active", "\033[32m"},    {"done", "\033[32m"},       {"valid", "\033[32m"},
	    {"keep", "\033[32m"},      {"queued", "\033[36m"},     {"sent", "\033[36m"},
	    {"held", "\033[33m"},      {"review", "\033[33m"},     {"paused", "\033[33m"},
	    {"unmanaged", "\033[33m"}, {"warning", "\033[33m"},    {"failed", "\033[1;31m"},
	    {"dead", "\033[1;31m"},    {"error", "\033[1;31m"},    {"invalid", "\033[1;31m"},
	    {"deleted", "\033[35m"},   {"anonymized", "\033[35m"}, {"delete", "\033[35m"},
	    {"anonymize", "\033[35m"},
	};
	if (!ctl_color || !w)
		return "";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(w, map[i].word))
			return map[i].esc;
	return "";
}

const char *ctl_err_color(bool warning)
{
	if (!ctl_color)
		return "";
	return warning ? "\033[33m" : "\033[1;31m";
}

const char *ctl_reset(void)
{
	return ctl_color ? "\033[0m" : "";
}

/* --- tables ------------------------------------------------------------------------------ */

struct cell {
	char *text;
	const char *color;
	size_t width;
};

struct ctl_table {
	int ncols, cur; /* cur: cells in the current row */
	char **headers;
	int *flags;
	struct cell *cells;
	size_t ncells, cap, rows;
};

struct ctl_table *ctl_table_new(int ncols, const char *const *headers)
{
	struct ctl_table *t = rtn_xcalloc(1, sizeof(*t));
	t->ncols = ncols;
	t->cur = ncols;
	t->flags = rtn_xcalloc((size_t)ncols, sizeof(int));
	if (headers) {
		t->headers = rtn_xcalloc((size_t)ncols, sizeof(char *));
		for (int i = 0; i < ncols; i++)
			t->headers[i] = rtn_xstrdup(headers[i] ? headers[i] : "");
	}
	return t;
}

void ctl_table_flags(struct ctl_table *t, int col, int flags)
{
	if (col >= 0 && col < t->ncols)
		t->flags[col] = flags;
}

static void push_cell(struct ctl_table *t, char *text, const char *color)
{
	RTN_GROW(t->cells, t->ncells + 1, t->cap);
	struct cell *c = &t->cells[t->ncells++];
	c->text = text;
	c->color = color && *color ? color : NULL;
	c->width = ctl_width(text);
	t->cur++;
}

void ctl_table_row(struct ctl_table *t)
{
	while (t->cur < t->ncols)
		push_cell(t, rtn_xstrdup(""), NULL);
	t->cur = 0;
	t->rows++;
}

void ctl_table_cell(struct ctl_table *t, const char *text, const char *color)
{
	if (t->cur >= t->ncols)
		return;
	push_cell(t, ctl_sanitize(text, text ? strlen(text) : 0), color);
}

void ctl_table_cellf(struct ctl_table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	ctl_table_cell(t, s, NULL);
	free(s);
}

void ctl_table_value(struct ctl_table *t, const json_t *v, int flags)
{
	char *s = ctl_value_text(v, flags & CTL_COUNT);
	ctl_table_cell(t, s, (flags & CTL_STATE) ? ctl_state_color(json_string_value(v)) : NULL);
	free(s);
}

size_t ctl_table_rows(const struct ctl_table *t)
{
	return t->rows;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

static void print_line(const struct ctl_table *t, FILE *f, int indent, const size_t *widths,
                       struct cell *row)
{
	int last = -1;
	for (int i = 0; i < t->ncols; i++)
		if (row[i].text[0])
			last = i;
	pad(f, (size_t)indent);
	for (int i = 0; i <= last; i++) {
		struct cell *c = &row[i];
		bool right = t->flags[i] & (CTL_RIGHT | CTL_COUNT);
		size_t gap = widths[i] - c->width;
		if (i)
			fputs("  ", f);
		if (right)
			pad(f, gap);
		if (c->color)
			fprintf(f, "%s%s%s", c->color, c->text, ctl_reset());
		else
			fputs(c->text, f);
		if (!right && i < last)
			pad(f, gap);
	}
	fputc('\n', f);
}

void ctl_table_print(const struct ctl_table *t, FILE *f, int indent)
{
	size_t n = (size_t)t->ncols;
	size_t *widths = rtn_xcalloc(n, sizeof(size_t));
	struct cell *hdr = NULL;
	if (t->headers) {
		hdr = rtn_xcalloc(n, sizeof(*hdr));
		for (size_t i = 0; i < n; i++) {
			hdr[i].text = t->headers[i];
			hdr[i].width = widths[i] = ctl_width(t->headers[i]);
		}
	}
	for (size_t i = 0; i < t->ncells; i++)
		if (t->cells[i].width > widths[i % n])
			widths[i % n] = t->cells[i].width;
	if (hdr)
		print_line(t, f, indent, widths, hdr);
	struct cell *row = rtn_xcalloc(n, sizeof(*row));
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t i = 0; i < n; i++) {
			size_t k = r * n + i;
			/* the last row may be short */
			row[i] = k < t->ncells ? t->cells[k] : (struct cell){.text = ""};
		}
		print_line(t, f, indent, widths, row);
	}
	free(row);
	free(hdr);
	free(widths);
}

void ctl_table_free(struct ctl_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i].text);
	if (t->headers)
		for (int i = 0; i < t->ncols; i++)
			free(t->headers[i]);
	free(t->headers);
	free(t->flags);
	free(t->cells);
	free(t);
}

/* --- JSON values ------------------------------------------------------------------------- */

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* True if every member (or element) of v is a scalar. */
static bool all_scalars(const json_t *v)
{
	const char *k;
	size_t i;
	json_t *m;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m) if (!is_scalar(m)) return false;
	} else {
		json_object_foreach((json_t *)v, k, m) if (!is_scalar(m)) return false;
	}
	return true;
}

char *ctl_value_text(const json_t *v, bool count)
{
	char buf[CTL_COUNT_LEN];
	if (!v)
		return rtn_xstrdup("");
	switch (json_typeof(v)) {
	case JSON_STRING:
		return rtn_xstrndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		if (count)
			return rtn_xstrdup(ctl_fmt_count(json_integer_value(v), buf));
		return rtn_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return rtn_xasprintf("%g", json_real_value(v));
	case JSON_TRUE:
		return rtn_xstrdup("yes");
	case JSON_FALSE:
		return rtn_xstrdup("no");
	case JSON_NULL:
		return rtn_xstrdup("-");
	default:
		break;
	}
	if (all_scalars(v)) {
		/* ["a", "b"] -> "a, b"; {"path": "/x"} -> "path=/x" */
		char *out = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&out, &len);
		if (!m)
			abort();
		const char *k;
		size_t i;
		json_t *e;
		bool first = true;
		if (json_is_array(v)) {
			json_array_foreach(v, i, e)
			{
				char *s = ctl_value_text(e, count);
				fprintf(m, "%s%s", first ? "" : ", ", s);
				free(s);
				first = false;
			}
		} else {
			json_object_foreach((json_t *)v, k, e)
			{
				char *s = ctl_value_text(e, count);
				fprintf(m, "%s%s=%s", first ? "" : ", ", k, s);
				free(s);
				first = false;
			}
		}
		fclose(m);
		return out;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s ? s : rtn_xstrdup("?");
}

/* Members whose integers are identifiers or positions, not counts: no separators. */
static bool plain_key(const char *k)
{
	static const char *const plain[] = {"seq",     "line",     "col",    "column", "index",
	                                    "id",      "job",      "pid",    "uid",    "gid",
	                                    "version", "protocol", "attempt"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (!strcmp(k, plain[i]))
			return true;
	return false;
}

static bool in_list(const char *k, const char *const *list)
{
	for (; list && *list; list++)
		if (!strcmp(k, *list))
			return true;
	return false;
}

/* "next_attempt" -> "NEXT ATTEMPT" (caller frees) */
static char *header_of(const char *key)
{
	char *h = rtn_xstrdup(key);
	for (char *p = h; *p; p++)
		*p = *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	return h;
}

/* "next_attempt" -> "next attempt:" (caller frees) */
static char *label_of(const char *key)
{
	char *h = rtn_xasprintf("%s:", key);
	for (char *p = h; *p; p++)
		if (*p == '_')
			*p = ' ';
	return h;
}

struct colset {
	const char *key[MAX_EXTRA_COLS * 2];
	char *header[MAX_EXTRA_COLS * 2];
	int flags[MAX_EXTRA_COLS * 2];
	int n;
};

/* The columns to show for arr: the preferred ones that occur, then the others. */
static void choose_columns(struct colset *cs, const json_t *arr, const struct ctl_col *cols,
                           const char *const *skip)
{
	size_t i;
	json_t *row;
	cs->n = 0;
	for (const struct ctl_col *c = cols; c && c->key; c++) {
		if (cs->n >= MAX_EXTRA_COLS)
			break;
		json_array_foreach(arr, i, row)
		{
			if (json_object_get(row, c->key)) {
				cs->key[cs->n] = c->key;
				cs->header[cs->n] = rtn_xstrdup(c->header);
				cs->flags[cs->n++] = c->flags;
				break;
			}
		}
	}
	int preferred = cs->n;
	json_array_foreach(arr, i, row)
	{
		const char *k;
		json_t *v;
		json_object_foreach(row, k, v)
		{
			bool known = in_list(k, skip);
			for (int j = 0; j < cs->n && !known; j++)
				known = !strcmp(cs->key[j], k);
			if (known || cs->n >= preferred + MAX_EXTRA_COLS)
				continue;
			cs->key[cs->n] = k;
			cs->header[cs->n] = header_of(k);
			cs->flags[cs->n++] = 0;
		}
	}
	/* extra columns of integers are right-aligned, counts get separators */
	for (int j = preferred; j < cs->n; j++) {
		bool num = true;
		json_array_foreach(arr, i, row)
		{
			json_t *v = json_object_get(row, cs->key[j]);
			if (v && !json_is_null(v) && !json_is_number(v))
				num = false;
		}
		if (num)
			cs->flags[j] = plain_key(cs->key[j]) ? CTL_RIGHT : CTL_COUNT;
	}
}

static void free_columns(struct colset *cs)
{
	for (int j = 0; j < cs->n; j++)
		free(cs->header[j]);
}

void ctl_print_array(FILE *f, const json_t *arr, const struct ctl_col *cols,
                     const char *const *skip, int indent)
{
	size_t i;
	json_t *row;
	if (!json_is_array(arr))
		return;
	bool objects = false;
	json_array_foreach(arr, i, row) objects |= json_is_object(row);
	if (!objects) {
		json_array_foreach(arr, i, row)
		{
			char *s = ctl_value_text(row, false), *c = ctl_sanitize(s, strlen(s));
			fprintf(f, "%*s%s\n", indent, "", c);
			free(c);
			free(s);
		}
		return;
	}
	struct colset cs;
	choose_columns(&cs, arr, cols, skip);
	struct ctl_table *t = ctl_table_new(cs.n, (const char *const *)cs.header);
	for (int j = 0; j < cs.n; j++)
		ctl_table_flags(t, j, cs.flags[j]);
	json_array_foreach(arr, i, row)
	{
		ctl_table_row(t);
		for (int j = 0; j < cs.n; j++)
			ctl_table_value(t, json_object_get(row, cs.key[j]), cs.flags[j]);
	}
	ctl_table_print(t, f, indent);
	ctl_table_free(t);
	free_columns(&cs);
}

void ctl_csv_field(FILE *f, const json_t *v)
{
	char *s;
	if (!v || json_is_null(v))
		s = rtn_xstrdup("");
	else if (json_is_boolean(v))
		s = rtn_xstrdup(json_is_true(v) ? "true" : "false");
	else if (json_is_object(v) || json_is_array(v)) /* one field: its compact JSON */
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	else
		s = ctl_value_text(v, false);
	if (!s)
		s = rtn_xstrdup("");
	if (json_is_string(v) && strchr("=+-@\t\r", s[0]) && s[0]) {
		/* A spreadsheet reads such a cell as a formula: one quote first keeps it text. */
		char *t = rtn_xasprintf("'%s", s);
		free(s);
		s = t;
	}
	size_t n = strlen(s);
	if (strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' || s[n - 1] == ' '))) {
		fputc('"', f);
		for (char *p = s; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	free(s);
}

void ctl_csv_rows(FILE *f, const json_t *arr, const struct ctl_col *cols)
{
	for (const struct ctl_col *c = cols; c->key; c++)
		fprintf(f, "%s%s", c == cols ? "" : ",", c->key);
	fputs("\r\n", f);
	size_t i;
	json_t *row;
	json_array_foreach(arr, i, row)
	{
		for (const struct ctl_col *c = cols; c->key; c++) {
			if (c != cols)
				fputc(',', f);
			ctl_csv_field(f, json_object_get(row, c->key));
		}
		fputs("\r\n", f);
	}
}

void ctl_print_array_csv(FILE *f, const json_t *arr, const struct ctl_col *cols,
                         const char *const *skip)
{
	size_t i;
	json_t *row;
	if (!json_is_array(arr))
		return;
	struct colset cs;
	choose_columns(&cs, arr, cols, skip);
	for (int j = 0; j < cs.n; j++) {
		json_t *k = json_string(cs.key[j]);
		if (j)
			fputc(',', f);
		ctl_csv_field(f, k);
		json_decref(k);
	}
	fputs("\r\n", f);
	json_array_foreach(arr, i, row)
	{
		for (int j = 0; j < cs.n; j++) {
			if (j)
				fputc(',', f);
			ctl_csv_field(f, json_object_get(row, cs.key[j]));
		}
		fputs("\r\n", f);
	}
	free_columns(&cs);
}

/* Scalars, lists of scalars and small flat objects fit on one line of a key/value block. */
static bool one_line(const json_t *m)
{
	return is_scalar(m) || (json_is_array(m) && all_scalars(m)) ||
	       (json_is_object(m) && json_object_size(m) <= 8 && all_scalars(m));
}

void ctl_print_generic(FILE *f, const json_t *v, const char *const *skip, int indent)
{
	const char *k;
	json_t *m;
	if (json_is_array(v)) {
		ctl_print_array(f, v, NULL, skip, indent);
		return;
	}
	if (!json_is_object(v)) {
		char *s = ctl_value_text(v, false), *c = ctl_sanitize(s, strlen(s));
		fprintf(f, "%*s%s\n", indent, "", c);
		free(c);
		free(s);
		return;
	}
	/* scalars, lists of scalars, empty lists and flat small objects: one line each */
	struct ctl_table *t = ctl_table_new(2, NULL);
	json_object_foreach((json_t *)v, k, m)
	{
		if (in_list(k, skip))
			continue;
		if (!one_line(m))
			continue;
		char *label = label_of(k);
		ctl_table_row(t);
		ctl_table_cell(t, label, NULL);
		free(label);
		if (json_is_array(m) && !json_array_size(m))
			ctl_table_cell(t, "none", NULL);
		else
			ctl_table_value(t, m, plain_key(k) ? 0 : CTL_COUNT);
	}
	ctl_table_print(t, f, indent);
	ctl_table_free(t);
	json_object_foreach((json_t *)v, k, m)
	{
		if (in_list(k, skip) || one_line(m))
			continue;
		char *label = label_of(k), *c = ctl_sanitize(label, strlen(label));
		fprintf(f, "%*s%s\n", indent, "", c);
		free(c);
		free(label);
		ctl_print_generic(f, m, NULL, indent + 2);
	}
}

void ctl_print_json(FILE *f, const json_t *v)
{
	json_dumpf(v, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', f);
}

void ctl_print_error_json(FILE *f, const char *code, const char *message, const json_t *details)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (!e) /* not UTF-8: the daemon's text is; a local message may quote a file name */
		e = json_pack("{s:s, s:s}", "code", code, "message", "(the message is not UTF-8)");
	if (details && !json_is_null(details))
		json_object_set(e, "details", (json_t *)details);
	json_t *o = json_pack("{s:o}", "error", e);
	ctl_print_json(f, o);
	json_decref(o);
}

void ctl_print_error(FILE *f, const char *code, const char *message, const json_t *details)
{
	bool tty = ctl_color_err;
	char *m = ctl_sanitize(message, strlen(message)), *c = ctl_sanitize(code, strlen(code));
	fprintf(f, "retentionctl: %s%s%s: %s\n", tty ? "\033[1;31m" : "", c, tty ? "\033[0m" : "",
	        m);
	free(m);
	free(c);
	if (!details || json_is_null(details))
		return;
	if (!json_is_array(details)) {
		ctl_print_generic(f, details, NULL, 2);
		return;
	}
	size_t i;
	json_t *d;
	json_array_foreach(details, i, d)
	{
		const char *text = json_string_value(json_object_get(d, "text"));
		const char *msg = json_string_value(json_object_get(d, "message"));
		json_t *idx = json_object_get(d, "index");
		const char *id = json_string_value(json_object_get(d, "id"));
		char *s;
		if (text)
			s = rtn_xstrdup(text);
		else if (json_is_integer(idx) && msg)
			s = rtn_xasprintf("record %" JSON_INTEGER_FORMAT "%s%s%s: %s",
			                  json_integer_value(idx), id ? " (" : "", id ? id : "",
			                  id ? ")" : "", msg);
		else if (msg)
			s = rtn_xstrdup(msg);
		else
			s = ctl_value_text(d, false);
		char *san = ctl_sanitize(s, strlen(s));
		fprintf(f, "  %s\n", san);
		free(san);
		free(s);
	}
}

void ctl_print_rest(FILE *f, const json_t *r, const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)r, k, v)
	{
		if (!in_list(k, known)) {
			ctl_print_generic(f, r, known, 0);
			return;
		}
	}
}

const json_t *ctl_find_list(const json_t *r, const char *key, const char **found)
{
	const char *k;
	json_t *v;
	*found = NULL;
	if (json_is_array(r))
		return r;
	if (json_is_array(json_object_get(r, key))) {
		*found = key;
		return json_object_get(r, key);
	}
	json_object_foreach((json_t *)r, k, v)
	{
		if (json_is_array(v) && json_is_object(json_array_get(v, 0))) {
			*found = k;
			return v;
		}
	}
	return NULL;
}

int ctl_print_list(FILE *f, const json_t *r, const char *key, const struct ctl_col *cols,
                   const char *const *skip, const char *empty)
{
	const char *found;
	const json_t *l = ctl_find_list(r, key, &found);
	if (json_is_object(r)) {
		const char *omit[] = {found ? found : "", NULL};
		ctl_print_generic(f, r, omit, 0);
	}
	if (!l)
		return 0;
	if (!json_array_size(l))
		fprintf(f, "%s\n", empty);
	else
		ctl_print_array(f, l, cols, skip, 0);
	return 0;
}
