/* import.c - stream JSON lines or CSV into record.put batches, bounded memory */
#include "import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "print.h"
#include "record.h"
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

/* Records as JSON text, comma-separated: the "records" of one record.put. */
struct batch {
	char *text;
	size_t len, cap;
	size_t n;            /* records */
	size_t *lines;       /* the input line of each */
	size_t *offs, *lens; /* each record within text */
	json_int_t id;       /* the request's id once sent */
};

struct importer;
/* Send record.put with args (a JSON object as text) and return the request's id ... */
typedef int (*start_fn)(struct importer *im, const char *args, size_t len, json_int_t *id,
                        char *err, size_t errlen);
/* ... and read the reply to request id. Both 0, or -errno with the reason in err. */
typedef int (*finish_fn)(struct importer *im, json_int_t id, struct rtn_reply *rep, char *err,
                         size_t errlen);

#define PIPE_DEPTH 2 /* batches sent and not yet answered: the daemon always has the next */

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
	/* the batch being filled, and those sent (oldest first) */
	struct batch cur, sent[PIPE_DEPTH];
	unsigned nsent;
	size_t max_records, max_bytes;
	/* the daemon */
	struct ctl_client *client;
	start_fn start;
	finish_fn finish;
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

static void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	b->lines = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
	b->offs = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
	b->lens = rtn_xcalloc(CTL_BATCH_RECORDS, sizeof(size_t));
}

static void batch_fini(struct batch *b)
{
	free(b->text);
	free(b->lines);
	free(b->offs);
	free(b->lens);
}

static void batch_append(struct batch *b, const char *text, size_t len, size_t line)
{
	RTN_GROW(b->text, b->len + len + 2, b->cap);
	if (b->n)
		b->text[b->len++] = ',';
	b->offs[b->n] = b->len;
	b->lens[b->n] = len;
	b->lines[b->n++] = line;
	memcpy(b->text + b->len, text, len);
	b->len += len;
	b->text[b->len] = '\0';
}

/* The request's args around the records. */
static char *batch_args(const struct batch *b, size_t *len)
{
	static const char head[] = "{\"quiet\":true,\"records\":[", tail[] = "]}";
	*len = sizeof(head) - 1 + b->len + sizeof(tail) - 1;
	char *a = rtn_xmalloc(*len + 1);
	memcpy(a, head, sizeof(head) - 1);
	memcpy(a + sizeof(head) - 1, b->text, b->len);
	memcpy(a + sizeof(head) - 1 + b->len, tail, sizeof(tail));
	return a;
}

static void add_counts(struct importer *im, const json_t *result, size_t n)
{
	json_t *ins = json_object_get(result, "inserted"),
	       *upd = json_object_get(result, "updated");
	json_t *count = json_object_get(result, "count");
	im->inserted += json_integer_value(ins);
	im->updated += json_integer_value(upd);
	im->imported += json_is_integer(count) ? json_integer_value(count) : (long long)n;
}

/* Drop from b the records that details ([{"index", "message"}]) name, reporting each by
 * line. False if details name none of them. */
static bool drop_rejected(struct importer *im, struct batch *b, const json_t *details)
{
	size_t n = b->n, i;
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
		struct batch keep;
		batch_init(&keep);
		for (i = 0; i < n; i++) {
			if (why[i]) {
				char *m = ctl_sanitize(why[i], strlen(why[i]));
				skip(im, b->lines[i], "%s", m);
				free(m);
				continue;
			}
			batch_append(&keep, b->text + b->offs[i], b->lens[i], b->lines[i]);
		}
		batch_fini(b);
		*b = keep;
	}
	free(why);
	return any;
}

static int send_batch(struct importer *im, struct batch *b)
{
	size_t len;
	char *args = batch_args(b, &len), err[512];
	int r = im->start(im, args, len, &b->id, err, sizeof(err));
	free(args);
	if (r < 0) {
		clear_progress(im);
		fprintf(im->err, "retentionctl: %s\n", err);
		im->status = r == -E2BIG ? 1 : 69;
	}
	return r;
}

/* Wait for the reply to the oldest batch sent. Records the daemon rejects are reported and
 * the rest of that batch sent again, once the batches after it are answered (rare: the
 * records were checked here already; only a daemon that knows better refuses some). */
static void settle(struct importer *im)
{
	if (!im->nsent)
		return;
	struct batch b = im->sent[0];
	memmove(&im->sent[0], &im->sent[1], (im->nsent - 1) * sizeof(im->sent[0]));
	im->nsent--;
	for (;;) {
		struct rtn_reply rep;
		char err[512];
		int r = im->finish(im, b.id, &rep, err, sizeof(err));
		bool again = false;
		if (r < 0) {
			clear_progress(im);
			fprintf(im->err, "retentionctl: %s\n", err);
			im->status = 69;
		} else if (rep.ok) {
			add_counts(im, rep.result, b.n); /* even after a refusal: it was stored */
		} else if (!im->status && !strcmp(rep.code, RTN_E_BAD_REQUEST) &&
		           drop_rejected(im, &b, rep.details)) {
			again = b.n > 0;
		} else if (!im->status) {
			clear_progress(im);
			ctl_print_error(im->err, rep.code, rep.message, rep.details);
			im->status = 1;
		}
		if (r == 0)
			rtn_reply_fini(&rep);
		if (!again || im->status)
			break;
		while (im->nsent && !im->status)
			settle(im);
		if (im->status || send_batch(im, &b) < 0)
			break;
	}
	b.n = b.len = 0;
	im->sent[im->nsent] = b; /* its buffers serve again */
	show_progress(im, false);
}

/* Send the batch being filled. Up to PIPE_DEPTH batches are out at once: while the daemon
 * stores one it already has the next, and this process reads on. */
static void flush(struct importer *im)
{
	if (im->status || !im->cur.n)
		return;
	if (im->nsent == PIPE_DEPTH)
		settle(im);
	if (im->status)
		return;
	struct batch b = im->cur;
	if (send_batch(im, &b) < 0)
		return;
	im->cur = im->sent[im->nsent];
	im->cur.n = im->cur.len = 0;
	im->sent[im->nsent++] = b;
	show_progress(im, false);
}

/* Add rec, read on line, to the batch (checked as the daemon will check it, so that a bad
 * line is skipped here rather than refused with its whole batch); send the batch when full.
 * text is the record as JSON when the caller has it, else rec is encoded. */
static void batch_add(struct importer *im, json_t *rec, const char *text, size_t len, size_t line)
{
	struct rtn_record r;
	char err[256];
	if (rtn_record_from_json(rec, 0, &r, err, sizeof(err)) < 0) {
		char *m = ctl_sanitize(err, strlen(err));
		skip(im, line, "%s", m);
		free(m);
		json_decref(rec);
		return;
	}
	rtn_record_fini(&r);
	char *own = NULL;
	if (!text) {
		own = json_dumps(rec, JSON_COMPACT);
		text = own;
		len = own ? strlen(own) : 0;
	}
	json_decref(rec);
	if (!text || len + REQ_OVERHEAD > im->max_bytes) {
		skip(im, line, "record of %zu bytes is too large to send", len);
		free(own);
		return;
	}
	if (im->cur.n &&
	    (im->cur.n >= im->max_records || im->cur.len + len + 1 + REQ_OVERHEAD > im->max_bytes))
		flush(im);
	if (!im->status) {
		batch_append(&im->cur, text, len, line);
		im->records++;
	}
	free(own);
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
			batch_add(im, rec, im->row + i, im->row_len - i, line);
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
			batch_add(im, rec, NULL, 0, line);
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
	im->max_records = CTL_BATCH_RECORDS;
	im->max_bytes = CTL_BATCH_BYTES;
	batch_init(&im->cur);
	for (int i = 0; i < PIPE_DEPTH; i++)
		batch_init(&im->sent[i]);
	im->t0 = im->last_progress = now();
}

static void importer_fini(struct importer *im)
{
	free_cols(im);
	batch_fini(&im->cur);
	for (int i = 0; i < PIPE_DEPTH; i++)
		batch_fini(&im->sent[i]);
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
	flush(im);
	/* The batches out are answered even after a refusal, so that the summary counts
	 * what was stored; only a lost connection leaves them unread. */
	while (im->nsent && im->status != 69)
		settle(im);
	if (im->in->error && !im->status) {
		clear_progress(im);
		fprintf(im->err, "retentionctl: %s: %s\n", im->name, strerror(im->in->error));
		im->status = 1;
	}
	clear_progress(im);
	return im->status ? im->status : im->skipped ? 1 : 0;
}

static int start_client(struct importer *im, const char *args, size_t len, json_int_t *id,
                        char *err, size_t errlen)
{
	int r = ctl_client_send_text(im->client, "record.put", args, len, id);
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
