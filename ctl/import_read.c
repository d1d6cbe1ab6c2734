/* import_read.c - retentionctl import's input: JSON lines and CSV rows (RFC 4180) read
 * and checked, CSV headers and records, the values of CSV words */
#include "import_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* --- input --------------------------------------------------------------------------------- */

static bool in_fill(struct in *in)
{
	if (in->pos < in->len)
		return true;
	if (in->eof)
		return false;
	size_t n = fread(in->buf, 1, sizeof(in->buf), in->f);
	if (n == 0) {
		in->eof = true;
		if (ferror(in->f))
			in->error = errno ? errno : EIO;
		return false;
	}
	in->pos = 0;
	in->len = n;
	return true;
}

static inline int in_getc(struct in *in)
{
	if (in->pos == in->len && !in_fill(in))
		return EOF;
	return in->buf[in->pos++];
}

static inline int in_peek(struct in *in)
{
	if (in->pos == in->len && !in_fill(in))
		return EOF;
	return in->buf[in->pos];
}

/* --- values -------------------------------------------------------------------------------- */

/* True if s[0..n) is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n, bool *integer)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i == n || s[i] < '0' || s[i] > '9')
		return false;
	if (s[i] == '0')
		i++;
	else
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	*integer = true;
	if (i < n && s[i] == '.') {
		*integer = false;
		if (++i == n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*integer = false;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

json_t *ctl_value_parse(const char *s, size_t len, bool null_word)
{
	if (len == 4 && !memcmp(s, "true", 4))
		return json_true();
	if (len == 5 && !memcmp(s, "false", 5))
		return json_false();
	if (null_word && len == 4 && !memcmp(s, "null", 4))
		return json_null();
	bool integer;
	if (len < 64 && json_number(s, len, &integer)) {
		char buf[64], *end;
		memcpy(buf, s, len);
		buf[len] = '\0';
		errno = 0;
		if (integer) {
			long long v = strtoll(buf, &end, 10);
			if (!errno)
				return json_integer(v);
		}
		errno = 0;
		double d = strtod(buf, &end);
		json_t *r = errno ? NULL : json_real(d); /* NULL for an infinity */
		if (r)
			return r;
	}
	if (!rtn_valid_utf8(s, len))
		return NULL;
	return json_stringn(s, len);
}

/* --- rows ---------------------------------------------------------------------------------- */

static bool row_put(struct importer *im, char c)
{
	if (im->row_len >= ROW_MAX)
		return false;
	RTN_GROW(im->row, im->row_len + 2, im->row_cap);
	im->row[im->row_len++] = c;
	return true;
}

static void field_begin(struct importer *im)
{
	size_t cap = im->fields_cap;
	RTN_GROW(im->off, im->nfields + 1, im->fields_cap);
	if (cap != im->fields_cap)
		im->flen = rtn_xreallocarray(im->flen, im->fields_cap, sizeof(size_t));
	im->off[im->nfields] = im->row_len;
}

static bool field_end(struct importer *im)
{
	im->flen[im->nfields] = im->row_len - im->off[im->nfields];
	im->nfields++;
	return row_put(im, '\0');
}

/* Discard the rest of the physical line. */
static void skip_line(struct importer *im)
{
	int c;
	while ((c = in_getc(im->in)) != EOF)
		if (c == '\n') {
			im->line++;
			return;
		}
}

int ctl_import_csv_row(struct importer *im, size_t *start, char *err, size_t errlen)
{
	enum { START, PLAIN, QUOTED, AFTER_QUOTE } st = START;
	size_t qline = 0;
	bool any = false;
	int c = 0;
	im->row_len = im->nfields = 0;
	im->row_quoted = false;
	*start = im->line;
	field_begin(im);
	for (;;) {
		c = in_getc(im->in);
		if (c == EOF) {
			if (st == QUOTED) {
				snprintf(err, errlen,
				         "quoted field opened on line %zu never closed", qline);
				return -1;
			}
			if (!any)
				return 0;
			break;
		}
		any = true;
		if (c == '\n')
			im->line++;
		bool crlf = c == '\r' && in_peek(im->in) == '\n';
		if (st == QUOTED) {
			if (c == '"')
				st = AFTER_QUOTE;
			else if (!row_put(im, (char)c))
				goto too_long;
			continue;
		}
		if (st == AFTER_QUOTE && c == '"') {
			st = QUOTED;
			if (!row_put(im, '"'))
				goto too_long;
			continue;
		}
		if (c == ',') {
			if (!field_end(im))
				goto too_long;
			field_begin(im);
			st = START;
			continue;
		}
		if (c == '\n')
			break;
		if (crlf)
			continue;
		if (st == AFTER_QUOTE) {
			snprintf(err, errlen, "unexpected character after a closing quote");
			skip_line(im);
			return -1;
		}
		if (c == '"') {
			if (st == PLAIN) {
				snprintf(err, errlen, "quote inside an unquoted field");
				skip_line(im);
				return -1;
			}
			st = QUOTED;
			qline = im->line;
			im->row_quoted = true;
			continue;
		}
		st = PLAIN;
		if (!row_put(im, (char)c))
			goto too_long;
	}
	if (!field_end(im))
		goto too_long;
	return 1;
too_long:
	snprintf(err, errlen, "row longer than %u bytes", ROW_MAX);
	if (c != '\n')
		skip_line(im);
	return -1;
}

bool ctl_import_row_blank(const struct importer *im)
{
	if (im->nfields != 1 || im->row_quoted)
		return false;
	for (size_t i = 0; i < im->flen[0]; i++)
		if (im->row[i] != ' ' && im->row[i] != '\t')
			return false;
	return true;
}

void ctl_import_free_cols(struct importer *im)
{
	for (size_t i = 0; i < im->ncols; i++)
		free(im->cols[i].name);
	free(im->cols);
	im->cols = NULL;
	im->ncols = 0;
}

int ctl_import_csv_header(struct importer *im, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum col_kind kind;
	} kinds[] = {{"id", COL_ID},           {"category", COL_CATEGORY}, {"subject", COL_SUBJECT},
	             {"backend", COL_BACKEND}, {"locator.", COL_LOCATOR},  {"event.", COL_EVENT},
	             {"attr.", COL_ATTR}};
	im->cols = rtn_xcalloc(im->nfields, sizeof(*im->cols));
	bool id = false, category = false;
	for (size_t i = 0; i < im->nfields; i++) {
		char *h = im->row + im->off[i];
		size_t n = im->flen[i];
		while (n && (*h == ' ' || *h == '\t'))
			h++, n--;
		while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		h[n] = '\0';
		size_t k = 0, kn = sizeof(kinds) / sizeof(kinds[0]);
		for (; k < kn; k++) {
			size_t pl = strlen(kinds[k].prefix);
			bool dotted = kinds[k].prefix[pl - 1] == '.';
			if (dotted ? !strncmp(h, kinds[k].prefix, pl) : !strcmp(h, kinds[k].prefix))
				break;
		}
		if (k == kn || (kinds[k].kind >= COL_LOCATOR && !h[strlen(kinds[k].prefix)])) {
			snprintf(err, errlen,
			         "column %zu: unknown column \"%.64s\" (expected id, category, "
			         "subject, backend, locator.KEY, event.NAME, attr.NAME)",
			         i + 1, h);
			return -1;
		}
		const char *name = kinds[k].kind >= COL_LOCATOR ? h + strlen(kinds[k].prefix) : h;
		if ((kinds[k].kind == COL_EVENT || kinds[k].kind == COL_ATTR) &&
		    !rtn_valid_name(name)) {
			snprintf(err, errlen, "column %zu: \"%.64s\" is not a valid name", i + 1,
			         name);
			return -1;
		}
		if (!rtn_valid_utf8(name, strlen(name))) {
			snprintf(err, errlen, "column %zu: not valid UTF-8", i + 1);
			return -1;
		}
		for (size_t j = 0; j < im->ncols; j++)
			if (im->cols[j].kind == kinds[k].kind && !strcmp(im->cols[j].name, name)) {
				snprintf(err, errlen, "column %zu: \"%.64s\" appears twice", i + 1,
				         h);
				return -1;
			}
		im->cols[im->ncols].kind = kinds[k].kind;
		im->cols[im->ncols++].name = rtn_xstrdup(name);
		id |= kinds[k].kind == COL_ID;
		category |= kinds[k].kind == COL_CATEGORY;
	}
	if (!id || !category) {
		snprintf(err, errlen, "the header has no \"%s\" column", id ? "category" : "id");
		return -1;
	}
	return 0;
}

/* Set member key of *obj (created on first use) to v. */
static void set_in(json_t *rec, const char *member, json_t **obj, const char *key, json_t *v)
{
	if (!*obj) {
		*obj = json_object();
		json_object_set_new(rec, member, *obj);
	}
	json_object_set_new(*obj, key, v);
}

json_t *ctl_import_csv_record(struct importer *im, char *err, size_t errlen)
{
	json_t *rec = json_object(), *loc = NULL, *ev = NULL, *attr = NULL;
	for (size_t i = 0; i < im->ncols; i++) {
		const struct col *c = &im->cols[i];
		const char *s = im->row + im->off[i];
		size_t n = im->flen[i];
		if (!rtn_valid_utf8(s, n)) {
			snprintf(err, errlen, "column %zu: not valid UTF-8", i + 1);
			goto bad;
		}
		if (!n && (c->kind == COL_ID || c->kind == COL_CATEGORY)) {
			snprintf(err, errlen, "empty %s", c->name);
			goto bad;
		}
		if (!n)
			continue;
		bool integer;
		switch (c->kind) {
		case COL_ID:
		case COL_CATEGORY:
		case COL_SUBJECT:
		case COL_BACKEND:
			json_object_set_new(rec, c->name, json_stringn(s, n));
			break;
		case COL_LOCATOR:
			set_in(rec, "locator", &loc, c->name, json_stringn(s, n));
			break;
		case COL_EVENT:
			/* integer Unix seconds, else a time string for the daemon to parse */
			if (json_number(s, n, &integer) && integer && n < 19)
				set_in(rec, "events", &ev, c->name,
				       json_integer(strtoll(s, NULL, 10)));
			else
				set_in(rec, "events", &ev, c->name, json_stringn(s, n));
			break;
		case COL_ATTR:
			set_in(rec, "attributes", &attr, c->name, ctl_value_parse(s, n, false));
			break;
		}
	}
	return rec;
bad:
	json_decref(rec);
	return NULL;
}

int ctl_import_line(struct importer *im, size_t *line)
{
	bool any = false, too_long = false;
	int c;
	*line = im->line;
	im->row_len = 0;
	while ((c = in_getc(im->in)) != EOF) {
		any = true;
		if (c == '\n') {
			im->line++;
			break;
		}
		if (!row_put(im, (char)c))
			too_long = true;
	}
	if (!any)
		return 0;
	if (im->row_len && im->row[im->row_len - 1] == '\r')
		im->row_len--;
	return too_long ? -1 : 1;
}

bool ctl_import_detect_jsonl(struct importer *im)
{
	if (in_fill(im->in) && im->in->len - im->in->pos >= 3 &&
	    !memcmp(im->in->buf + im->in->pos, "\xef\xbb\xbf", 3))
		im->in->pos += 3;
	for (;;) {
		int c = in_peek(im->in);
		if (c == '\n')
			im->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			return c == '{';
		im->in->pos++;
	}
}
