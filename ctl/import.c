/* import.c - stream JSON lines or CSV into record.put batches, bounded memory */
#include "import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "print.h"
#include "util.h"

#define ROW_MAX      RTN_LINE_MAX /* bytes of one JSON line or CSV row */
#define REQ_OVERHEAD 256          /* the request around the records: id, cmd, quiet */
#define IN_BUF       65536

struct in {
	FILE *f;
	unsigned char buf[IN_BUF];
	size_t pos, len;
	bool eof;
	int error; /* errno of a failed read */
};

enum col_kind { COL_ID, COL_CATEGORY, COL_SUBJECT, COL_BACKEND, COL_LOCATOR, COL_EVENT, COL_ATTR };

struct col {
	enum col_kind kind;
	char *name; /* after "locator.", "event.", "attr."; the column's name otherwise */
};

struct importer;
typedef int (*send_fn)(struct importer *im, json_t *args, struct rtn_reply *rep, char *err,
                       size_t errlen);

struct importer {
	const char *name; /* the input in messages */
	struct in *in;
	FILE *err;   /* messages and progress */
	size_t line; /* line of the next byte, from 1 */
	/* the current JSON line or CSV row; CSV fields are NUL-terminated within it */
	char *row;
	size_t row_len, row_cap;
	size_t *off, *flen, nfields, fields_cap;
	bool row_quoted;
	/* CSV header */
	struct col *cols;
	size_t ncols;
	/* the batch being filled */
	json_t *batch;
	size_t *lines, *sizes, bytes;
	size_t max_records, max_bytes;
	/* the daemon */
	struct ctl_client *client;
	send_fn send;
	/* pipelining: the batch the daemon is working on while the next one is read */
	int (*start)(struct importer *im, json_t *args, json_int_t *id, char *err, size_t errlen);
	int (*finish)(struct importer *im, json_int_t id, struct rtn_reply *rep, char *err,
	              size_t errlen);
	json_t *pend;
	size_t *plines, *psizes, pbytes;
	json_int_t pid;
	bool pending;
	/* counts and state */
	long long records, imported, inserted, updated, skipped;
	int status; /* 0 while all is well; 1 or 69 once stopped */
	bool progress, progress_shown;
	double t0, last_progress;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* --- messages ------------------------------------------------------------------------------ */

static void clear_progress(struct importer *im)
{
	if (im->progress_shown)
		fputs("\r\033[K", im->err);
	im->progress_shown = false;
}

static void show_progress(struct importer *im, bool force)
{
	double t = now();
	if (!im->progress || (!force && t - im->last_progress < 0.2))
		return;
	char n[CTL_COUNT_LEN], r[CTL_COUNT_LEN];
	double rate = t > im->t0 ? (double)im->imported / (t - im->t0) : 0;
	fprintf(im->err, "\rimported %s records, %s/s\033[K", ctl_fmt_count(im->imported, n),
	        ctl_fmt_count((long long)rate, r));
	fflush(im->err);
	im->progress_shown = true;
	im->last_progress = t;
}

/* Report "NAME:LINE: message" for a record or line that is skipped. */
static void __attribute__((format(printf, 3, 4)))
skip(struct importer *im, size_t line, const char *fmt, ...)
{
	va_list ap;
	clear_progress(im);
	fprintf(im->err, "%s:%zu: ", im->name, line);
	va_start(ap, fmt);
	vfprintf(im->err, fmt, ap);
	va_end(ap);
	fputc('\n', im->err);
	im->skipped++;
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

/* Read one CSV row (RFC 4180) starting on line *start. 1: a row in im->row (fields off/flen),
 * 0: end of input, -1: a bad row, skipped, with the reason in err. */
static int csv_row(struct importer *im, size_t *start, char *err, size_t errlen)
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

/* True if the row just read is a blank line. */
static bool row_blank(const struct importer *im)
{
	if (im->nfields != 1 || im->row_quoted)
		return false;
	for (size_t i = 0; i < im->flen[0]; i++)
		if (im->row[i] != ' ' && im->row[i] != '\t')
			return false;
	return true;
}

static void free_cols(struct importer *im)
{
	for (size_t i = 0; i < im->ncols; i++)
		free(im->cols[i].name);
	free(im->cols);
	im->cols = NULL;
	im->ncols = 0;
}

/* Read the header row into im->cols. 0, or -1 with the reason in err. */
static int csv_header(struct importer *im, char *err, size_t errlen)
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

/* The record of the current CSV row, or NULL with the reason in err. */
static json_t *csv_record(struct importer *im, char *err, size_t errlen)
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

/* --- batches ------------------------------------------------------------------------------- */

static void add_counts(struct importer *im, const json_t *result)
{
	json_t *ins = json_object_get(result, "inserted"),
	       *upd = json_object_get(result, "updated");
	json_t *count = json_object_get(result, "count");
	long long n = (long long)json_array_size(im->batch);
	im->inserted += json_integer_value(ins);
	im->updated += json_integer_value(upd);
	im->imported += json_is_integer(count) ? json_integer_value(count) : n;
}

/* Drop the records that details ([{"index", "message"}]) name, reporting each by line. False
 * if details name none of them. */
static bool drop_rejected(struct importer *im, const json_t *details)
{
	size_t n = json_array_size(im->batch), i, kept = 0;
	if (!n || !json_is_array(details))
		return false;
	const char **why = rtn_xcalloc(n, sizeof(*why));
	json_t *d;
	bool any = false;
	json_array_foreach(details, i, d)
	{
		json_t *idx = json_object_get(d, "index");
		const char *msg = json_string_value(json_object_get(d, "message"));
		if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
		    (size_t)json_integer_value(idx) >= n)
			continue;
		why[json_integer_value(idx)] = msg ? msg : "rejected by retentiond";
		any = true;
	}
	if (any) {
		json_t *keep = json_array();
		im->bytes = 0;
		for (i = 0; i < n; i++) {
			if (why[i]) {
				char *m = ctl_sanitize(why[i], strlen(why[i]));
				skip(im, im->lines[i], "%s", m);
				free(m);
				continue;
			}
			json_array_append(keep, json_array_get(im->batch, i));
			im->lines[kept] = im->lines[i];
			im->sizes[kept++] = im->sizes[i];
			im->bytes += im->sizes[i] + 1;
		}
		json_decref(im->batch);
		im->batch = keep;
	}
	free(why);
	return any;
}

/* Send the batch; records the daemon rejects are reported and the rest sent again. */
static void flush_sync(struct importer *im)
{
	while (json_array_size(im->batch) && !im->status) {
		json_t *args = json_pack("{s:O, s:b}", "records", im->batch, "quiet", 1);
		struct rtn_reply rep;
		char err[512];
		int r = im->send(im, args, &rep, err, sizeof(err));
		json_decref(args);
		if (r < 0) {
			clear_progress(im);
			fprintf(im->err, "retentionctl: %s\n", err);
			im->status = r == -E2BIG ? 1 : 69;
			break;
		}
		if (rep.ok) {
			add_counts(im, rep.result);
			json_array_clear(im->batch);
			im->bytes = 0;
		} else if (strcmp(rep.code, RTN_E_BAD_REQUEST) || !drop_rejected(im, rep.details)) {
			clear_progress(im);
			ctl_print_error(im->err, rep.code, rep.message, rep.details);
			im->status = 1;
		}
		rtn_reply_fini(&rep);
	}
	show_progress(im, false);
}

static void swap_pending(struct importer *im)
{
	json_t *b = im->batch;
	size_t *l = im->lines, *s = im->sizes, n = im->bytes;
	im->batch = im->pend;
	im->lines = im->plines;
	im->sizes = im->psizes;
	im->bytes = im->pbytes;
	im->pend = b;
	im->plines = l;
	im->psizes = s;
	im->pbytes = n;
}

/* Wait for the batch in flight. Rejected records are reported and the rest of that batch is
 * sent again, synchronously (rare: only when some lines were bad). */
static void settle(struct importer *im)
{
	if (!im->pending)
		return;
	im->pending = false;
	struct rtn_reply rep;
	char err[512];
	int r = im->finish(im, im->pid, &rep, err, sizeof(err));
	swap_pending(im); /* the batch in flight is now im->batch */
	if (r < 0) {
		clear_progress(im);
		fprintf(im->err, "retentionctl: %s\n", err);
		im->status = 69;
	} else if (rep.ok) {
		add_counts(im, rep.result);
		json_array_clear(im->batch);
		im->bytes = 0;
	} else if (strcmp(rep.code, RTN_E_BAD_REQUEST) || !drop_rejected(im, rep.details)) {
		clear_progress(im);
		ctl_print_error(im->err, rep.code, rep.message, rep.details);
		im->status = 1;
	} else {
		rtn_reply_fini(&rep);
		r = -1; /* already released */
		flush_sync(im);
	}
	if (r == 0)
		rtn_reply_fini(&rep);
	json_array_clear(im->batch);
	im->bytes = 0;
	swap_pending(im);
}

/* Send the batch. With a pipelining client the batch goes out and reading goes on while
 * the daemon stores it: the reader and the daemon work at the same time. */
static void flush(struct importer *im)
{
	if (!im->start) {
		flush_sync(im);
		return;
	}
	settle(im);
	if (im->status || !json_array_size(im->batch))
		return;
	json_t *args = json_pack("{s:O, s:b}", "records", im->batch, "quiet", 1);
	char err[512];
	int r = im->start(im, args, &im->pid, err, sizeof(err));
	json_decref(args);
	if (r < 0) {
		clear_progress(im);
		fprintf(im->err, "retentionctl: %s\n", err);
		im->status = r == -E2BIG ? 1 : 69;
		return;
	}
	swap_pending(im);
	im->pending = true;
	show_progress(im, false);
}

/* Add rec (taking the reference), read on line, to the batch; send the batch when full. */
static void batch_add(struct importer *im, json_t *rec, size_t line)
{
	size_t size = json_dumpb(rec, NULL, 0, JSON_COMPACT);
	if (size + REQ_OVERHEAD > im->max_bytes) {
		skip(im, line, "record of %zu bytes is too large to send", size);
		json_decref(rec);
		return;
	}
	size_t n = json_array_size(im->batch);
	if (n && (n >= im->max_records || im->bytes + size + 1 + REQ_OVERHEAD > im->max_bytes)) {
		flush(im);
		n = json_array_size(im->batch);
	}
	if (im->status) {
		json_decref(rec);
		return;
	}
	json_array_append_new(im->batch, rec);
	im->lines[n] = line;
	im->sizes[n] = size;
	im->bytes += size + 1;
	im->records++;
}

/* --- the two formats ----------------------------------------------------------------------- */

static void import_jsonl(struct importer *im)
{
	while (!im->status) {
		size_t line = im->line;
		bool any = false, too_long = false;
		int c;
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
			return;
		if (im->row_len && im->row[im->row_len - 1] == '\r')
			im->row_len--;
		if (too_long) {
			skip(im, line, "line longer than %u bytes", ROW_MAX);
			continue;
		}
		size_t i = 0;
		while (i < im->row_len && (im->row[i] == ' ' || im->row[i] == '\t'))
			i++;
		if (i == im->row_len)
			continue;
		json_error_t je;
		json_t *rec = json_loadb(im->row, im->row_len, JSON_REJECT_DUPLICATES, &je);
		if (!rec) {
			skip(im, line, "invalid JSON at column %d: %s", je.column, je.text);
		} else if (!json_is_object(rec)) {
			skip(im, line, "a record is a JSON object");
			json_decref(rec);
		} else {
			batch_add(im, rec, line);
		}
	}
}

static void import_csv(struct importer *im)
{
	char err[256];
	size_t line;
	int r;
	while ((r = csv_row(im, &line, err, sizeof(err))) != 0) {
		if (r < 0 || !row_blank(im))
			break;
	}
	if (r == 0)
		return;
	if (r < 0 || csv_header(im, err, sizeof(err)) < 0) {
		clear_progress(im);
		fprintf(im->err, "%s:%zu: bad CSV header: %s\n", im->name, line, err);
		im->status = 1;
		return;
	}
	while (!im->status && (r = csv_row(im, &line, err, sizeof(err))) != 0) {
		if (r < 0) {
			skip(im, line, "%s", err);
			continue;
		}
		if (row_blank(im))
			continue;
		if (im->nfields != im->ncols) {
			skip(im, line, "%zu fields where the header has %zu", im->nfields,
			     im->ncols);
			continue;
		}
		json_t *rec = csv_record(im, err, sizeof(err));
		if (rec)
			batch_add(im, rec, line);
		else
			skip(im, line, "%s", err);
	}
}

/* Skip a byte order mark and blank space; true if what follows is JSON lines. */
static bool detect_jsonl(struct importer *im)
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

static void importer_init(struct importer *im, FILE *f, const char *name, FILE *err)
{
	memset(im, 0, sizeof(*im));
	im->in = rtn_xcalloc(1, sizeof(*im->in));
	im->in->f = f;
	im->name = name;
	im->err = err;
	im->line = 1;
	im->batch = json_array();
	im->max_records = CTL_BATCH_RECORDS;
	im->max_bytes = CTL_BATCH_BYTES;
	im->lines = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
	im->sizes = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
	im->pend = json_array();
	im->plines = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
	im->psizes = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
	im->t0 = im->last_progress = now();
}

static void importer_fini(struct importer *im)
{
	free_cols(im);
	json_decref(im->batch);
	free(im->lines);
	free(im->sizes);
	json_decref(im->pend);
	free(im->plines);
	free(im->psizes);
	free(im->row);
	free(im->off);
	free(im->flen);
	free(im->in);
}

/* Read everything and send it; the exit status. */
static int import_run(struct importer *im)
{
	if (detect_jsonl(im))
		import_jsonl(im);
	else
		import_csv(im);
	if (!im->status)
		flush(im);
	if (!im->status)
		settle(im);
	if (im->in->error && !im->status) {
		clear_progress(im);
		fprintf(im->err, "retentionctl: %s: %s\n", im->name, strerror(im->in->error));
		im->status = 1;
	}
	clear_progress(im);
	return im->status ? im->status : im->skipped ? 1 : 0;
}

static int send_client(struct importer *im, json_t *args, struct rtn_reply *rep, char *err,
                       size_t errlen)
{
	int r = ctl_client_call(im->client, "record.put", args, rep);
	if (r < 0)
		snprintf(err, errlen, "%s", im->client->err);
	return r;
}

static int start_client(struct importer *im, json_t *args, json_int_t *id, char *err, size_t errlen)
{
	int r = ctl_client_send(im->client, "record.put", args, id);
	if (r < 0)
		snprintf(err, errlen, "%s", im->client->err);
	return r;
}

static int finish_client(struct importer *im, json_int_t id, struct rtn_reply *rep, char *err,
                         size_t errlen)
{
	int r = ctl_client_recv(im->client, id, rep);
	if (r < 0)
		snprintf(err, errlen, "%s", im->client->err);
	return r;
}

int ctl_import(struct ctl_client *c, FILE *in, const char *name, bool json)
{
	struct importer im;
	importer_init(&im, in, name, stderr);
	im.client = c;
	im.send = send_client;
	im.start = start_client;
	im.finish = finish_client;
	im.progress = isatty(STDERR_FILENO);
	int status = import_run(&im);
	double secs = now() - im.t0;
	if (json) {
		json_t *o = json_pack(
		    "{s:I, s:I, s:I, s:I, s:I}", "imported", (json_int_t)im.imported, "inserted",
		    (json_int_t)im.inserted, "updated", (json_int_t)im.updated, "skipped",
		    (json_int_t)im.skipped, "milliseconds", (json_int_t)(secs * 1000));
		ctl_print_json(stdout, o);
		json_decref(o);
	} else {
		char a[CTL_COUNT_LEN], b[CTL_COUNT_LEN], d[CTL_COUNT_LEN], e[CTL_COUNT_LEN];
		printf("imported %s records (%s inserted, %s updated) in %.1f s; %s line%s "
		       "skipped\n",
		       ctl_fmt_count(im.imported, a), ctl_fmt_count(im.inserted, b),
		       ctl_fmt_count(im.updated, d), secs, ctl_fmt_count(im.skipped, e),
		       im.skipped == 1 ? "" : "s");
	}
	importer_fini(&im);
	return status;
}
