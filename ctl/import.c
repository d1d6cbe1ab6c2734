/* import.c - stream JSON lines or CSV into record.put batches, bounded memory */
#include "import_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "print.h"
#include "record.h"
#include "util.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	size_t line;
	int r;
	while (!im->status && (r = ctl_import_line(im, &line)) != 0) {
		if (r < 0) {
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
	while ((r = ctl_import_csv_row(im, &line, err, sizeof(err))) != 0) {
		if (r < 0 || !ctl_import_row_blank(im))
			break;
	}
	if (r == 0)
		return;
	if (r < 0 || ctl_import_csv_header(im, err, sizeof(err)) < 0) {
		clear_progress(im);
		fprintf(im->err, "%s:%zu: bad CSV header: %s\n", im->name, line, err);
		im->status = 1;
		return;
	}
	while (!im->status && (r = ctl_import_csv_row(im, &line, err, sizeof(err))) != 0) {
		if (r < 0) {
			skip(im, line, "%s", err);
			continue;
		}
		if (ctl_import_row_blank(im))
			continue;
		if (im->nfields != im->ncols) {
			skip(im, line, "%zu fields where the header has %zu", im->nfields,
			     im->ncols);
			continue;
		}
		json_t *rec = ctl_import_csv_record(im, err, sizeof(err));
		if (rec)
			batch_add(im, rec, NULL, 0, line);
		else
			skip(im, line, "%s", err);
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
	ctl_import_free_cols(im);
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
	if (ctl_import_detect_jsonl(im))
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
