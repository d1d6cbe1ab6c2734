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
#include "rtime.h"
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

/* The request's args around the records: quiet, the import's id, a dry run's until. */
static char *batch_args(const struct importer *im, const struct batch *b, size_t *len)
{
	static const char tail[] = "]}";
	char *until = im->until ? json_dumps(im->until, JSON_ENCODE_ANY) : NULL;
	char *id = im->import_id[0] ? rtn_xasprintf("\"import\":\"%s\",", im->import_id) : NULL;
	char *head = rtn_xasprintf("{\"quiet\":true,%s%s%s%s\"records\":[", id ? id : "",
	                           until ? "\"until\":" : "", until ? until : "", until ? "," : "");
	free(until);
	free(id);
	size_t hl = strlen(head);
	*len = hl + b->len + sizeof(tail) - 1;
	char *a = rtn_xmalloc(*len + 1);
	memcpy(a, head, hl);
	memcpy(a + hl, b->text, b->len);
	memcpy(a + hl + b->len, tail, sizeof(tail));
	free(head);
	return a;
}

/* Is time a before time b (RFC 3339)? A missing or unreadable one is passed by any. */
static bool before(const char *a, const char *b)
{
	rtn_time_t x, y;
	if (!a || rtn_time_parse(a, &x) < 0)
		return b != NULL;
	if (!b || rtn_time_parse(b, &y) < 0)
		return true;
	return x < y;
}

/* A dry run's plan of one batch added to the sums: its "after" less its "before". */
static void add_preview(struct importer *im, const json_t *result)
{
	static const char *const parts[] = {"before", "after"};
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(result, parts[k]), i, t)
		{
			const char *rule = json_string_value(json_object_get(t, "rule")),
			           *action = json_string_value(json_object_get(t, "action"));
			json_int_t n = json_integer_value(json_object_get(t, "count"));
			if (!rule || !action)
				continue;
			char *key = rtn_xasprintf("%s %s", rule, action);
			json_t *x = json_object_get(im->preview, key);
			if (!x) {
				x = json_pack("{s:s, s:s, s:I, s:I}", "rule", rule, "action",
				              action, "delta", (json_int_t)0, "count",
				              (json_int_t)0);
				json_object_set_new(im->preview, key, x);
			}
			free(key);
			json_int_t d = json_integer_value(json_object_get(x, "delta"));
			json_object_set_new(x, "delta", json_integer(k ? d + n : d - n));
			if (!k)
				continue;
			json_object_set_new(
			    x, "count",
			    json_integer(json_integer_value(json_object_get(x, "count")) + n));
			const char *f = json_string_value(json_object_get(t, "first")),
			           *l = json_string_value(json_object_get(t, "last"));
			if (f && before(f, json_string_value(json_object_get(x, "first"))))
				json_object_set_new(x, "first", json_string(f));
			if (l && before(json_string_value(json_object_get(x, "last")), l))
				json_object_set_new(x, "last", json_string(l));
		}
	}
	im->due_now += json_integer_value(json_object_get(result, "due_now"));
	json_t *lim = json_object_get(result, "guard_limit");
	im->guard_limit = json_is_integer(lim) ? json_integer_value(lim) : -1;
}

static void add_counts(struct importer *im, const json_t *result, size_t n)
{
	json_t *ins = json_object_get(result, "inserted"),
	       *upd = json_object_get(result, "updated");
	json_t *count = json_object_get(result, "count");
	im->inserted += json_integer_value(ins);
	im->updated += json_integer_value(upd);
	im->already_deleted += json_integer_value(json_object_get(result, "already_deleted"));
	im->paused += json_integer_value(json_object_get(result, "paused"));
	im->imported += json_is_integer(count) ? json_integer_value(count) : (long long)n;
	if (im->preview)
		add_preview(im, result);
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
	char *args = batch_args(im, b, &len), err[512];
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
			im->status = !strcmp(rep.code, RTN_E_FORBIDDEN) ? 77 : 1; /* EX_NOPERM */
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
	im->cmd = "record.put";
	im->max_bytes = CTL_BATCH_BYTES;
	batch_init(&im->cur);
	for (int i = 0; i < PIPE_DEPTH; i++)
		batch_init(&im->sent[i]);
	im->t0 = im->last_progress = now();
}

static void importer_fini(struct importer *im)
{
	json_decref(im->preview);
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
	int r = ctl_client_send_text(im->client, im->cmd, args, len, id);
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

/* A dry run's plan before the import: the totals of plan by until. 0, or the exit status. */
static int plan_before(struct importer *im, json_t **totals)
{
	struct rtn_reply rep;
	json_t *args = json_pack("{s:O, s:i}", "until", im->until, "limit", 1);
	int r = ctl_client_call(im->client, "plan", args, &rep);
	json_decref(args);
	if (r < 0) {
		fprintf(im->err, "retentionctl: %s\n", im->client->err);
		return r == -E2BIG ? 1 : 69;
	}
	if (!rep.ok) {
		ctl_print_error(im->err, rep.code, rep.message, rep.details);
		int status = !strcmp(rep.code, RTN_E_FORBIDDEN) ? 77 : 1; /* EX_NOPERM */
		rtn_reply_fini(&rep);
		return status;
	}
	*totals = json_incref(json_object_get(rep.result, "totals"));
	rtn_reply_fini(&rep);
	return 0;
}

/* A dry run's figures per rule and action: what the import adds ("import", "first",
 * "last") and the plan's total after it ("total": plan's count by until). */
static json_t *preview_rules(struct importer *im, const json_t *totals)
{
	json_t *all = json_object(), *a = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(totals, i, t)
	{
		const char *rule = json_string_value(json_object_get(t, "rule")),
		           *action = json_string_value(json_object_get(t, "action"));
		if (!rule || !action)
			continue;
		char *key = rtn_xasprintf("%s %s", rule, action);
		json_object_set_new(all, key,
		                    json_pack("{s:s, s:s, s:I, s:O}", "rule", rule, "action",
		                              action, "import", (json_int_t)0, "total",
		                              json_object_get(t, "count")));
		free(key);
	}
	const char *key;
	json_t *x;
	json_object_foreach(im->preview, key, x)
	{
		json_t *y = json_object_get(all, key);
		if (!y) {
			y = json_pack("{s:O, s:O, s:I, s:I}", "rule", json_object_get(x, "rule"),
			              "action", json_object_get(x, "action"), "import",
			              (json_int_t)0, "total", (json_int_t)0);
			json_object_set_new(all, key, y);
		}
		json_object_set_new(y, "import", json_incref(json_object_get(x, "count")));
		json_object_set_new(y, "total",
		                    json_integer(json_integer_value(json_object_get(y, "total")) +
		                                 json_integer_value(json_object_get(x, "delta"))));
		if (json_object_get(x, "first")) {
			json_object_set(y, "first", json_object_get(x, "first"));
			json_object_set(y, "last", json_object_get(x, "last"));
		}
	}
	/* in rule and action order, as plan gives them; none left at 0 */
	const char **keys = rtn_xcalloc(json_object_size(all) + 1, sizeof(*keys));
	size_t n = 0;
	json_object_foreach(all, key, x) keys[n++] = key;
	for (size_t j = 1; j < n; j++)
		for (size_t k = j; k > 0 && strcmp(keys[k - 1], keys[k]) > 0; k--) {
			const char *tmp = keys[k];
			keys[k] = keys[k - 1];
			keys[k - 1] = tmp;
		}
	for (size_t j = 0; j < n; j++) {
		x = json_object_get(all, keys[j]);
		if (json_integer_value(json_object_get(x, "total")) ||
		    json_integer_value(json_object_get(x, "import")))
			json_array_append(a, x);
	}
	free(keys);
	json_decref(all);
	return a;
}

static void print_dry_run(struct importer *im, const json_t *rules, bool json, double secs)
{
	bool would_pause = im->guard_limit >= 0 && im->due_now > im->guard_limit;
	if (json) {
		json_t *o = json_pack(
		    "{s:b, s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:b, s:O, s:I}", "dry_run", 1,
		    "until", im->until, "records", (json_int_t)im->imported, "inserted",
		    (json_int_t)im->inserted, "updated", (json_int_t)im->updated, "already_deleted",
		    (json_int_t)im->already_deleted, "skipped", (json_int_t)im->skipped, "due_now",
		    (json_int_t)im->due_now, "guard_limit",
		    im->guard_limit >= 0 ? json_integer(im->guard_limit) : json_null(),
		    "guard_would_pause", would_pause, "rules", rules, "milliseconds",
		    (json_int_t)(secs * 1000));
		ctl_print_json(stdout, o);
		json_decref(o);
		return;
	}
	char a[CTL_COUNT_LEN], b[CTL_COUNT_LEN], d[CTL_COUNT_LEN], e[CTL_COUNT_LEN],
	    f[CTL_COUNT_LEN];
	printf("dry run, nothing stored: would import %s record%s (%s new, %s updated), %s "
	       "already deleted (skipped); %s line%s skipped\n",
	       ctl_fmt_count(im->imported, a), im->imported == 1 ? "" : "s",
	       ctl_fmt_count(im->inserted, b), ctl_fmt_count(im->updated, d),
	       ctl_fmt_count(im->already_deleted, e), ctl_fmt_count(im->skipped, f),
	       im->skipped == 1 ? "" : "s");
	printf("due at once: %s%s\n", ctl_fmt_count(im->due_now, a),
	       would_pause ? " (more than the guard allows: they would be paused until "
	                     "'retentionctl guard confirm')"
	                   : "");
	const char *until = json_string_value(im->until);
	char ub[32];
	if (!until) {
		snprintf(ub, sizeof(ub), "%lld", (long long)json_integer_value(im->until));
		until = ub;
	}
	printf("due by %s, per rule (TOTAL is what 'retentionctl plan' will count):\n", until);
	static const struct ctl_col cols[] = {
	    {"rule", "RULE", 0},   {"action", "ACTION", 0}, {"import", "IMPORT", CTL_COUNT},
	    {"first", "FIRST", 0}, {"last", "LAST", 0},     {"total", "TOTAL", CTL_COUNT},
	    {NULL, NULL, 0},
	};
	if (json_array_size(rules))
		ctl_print_array(stdout, rules, cols, NULL, 2);
	else
		printf("  nothing\n");
}

int ctl_import(struct ctl_client *c, FILE *in, const char *name, bool json, bool dry_run,
               json_t *until)
{
	struct importer im;
	importer_init(&im, in, name, stderr);
	im.client = c;
	im.start = start_client;
	im.finish = finish_client;
	im.progress = isatty(STDERR_FILENO);
	snprintf(im.import_id, sizeof(im.import_id), "import-%lld-%ld", (long long)time(NULL),
	         (long)getpid());
	json_t *totals = NULL;
	int status = 0;
	if (dry_run) {
		im.cmd = "record.preview";
		im.until = until;
		im.preview = json_object();
		im.guard_limit = -1;
		status = plan_before(&im, &totals);
	}
	if (!status)
		status = import_run(&im);
	double secs = now() - im.t0;
	if (dry_run && (status == 0 || status == 1) && totals) {
		json_t *rules = preview_rules(&im, totals);
		print_dry_run(&im, rules, json, secs);
		json_decref(rules);
	} else if (dry_run) {
		/* nothing to show: the reason is printed */
	} else if (json) {
		json_t *o = json_pack(
		    "{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "imported", (json_int_t)im.imported,
		    "inserted", (json_int_t)im.inserted, "updated", (json_int_t)im.updated,
		    "already_deleted", (json_int_t)im.already_deleted, "skipped",
		    (json_int_t)im.skipped, "paused", (json_int_t)im.paused, "import", im.import_id,
		    "milliseconds", (json_int_t)(secs * 1000));
		ctl_print_json(stdout, o);
		json_decref(o);
	} else {
		char a[CTL_COUNT_LEN], b[CTL_COUNT_LEN], d[CTL_COUNT_LEN], e[CTL_COUNT_LEN],
		    f[CTL_COUNT_LEN];
		printf(
		    "imported %s record%s (%s inserted, %s updated), %s already deleted (skipped) "
		    "in %.1f s; %s line%s skipped\n",
		    ctl_fmt_count(im.imported, a), im.imported == 1 ? "" : "s",
		    ctl_fmt_count(im.inserted, b), ctl_fmt_count(im.updated, d),
		    ctl_fmt_count(im.already_deleted, f), secs, ctl_fmt_count(im.skipped, e),
		    im.skipped == 1 ? "" : "s");
		if (im.paused)
			printf("mass-deletion guard: %s record%s made due at once %s paused; see "
			       "'retentionctl status', release them with 'retentionctl guard "
			       "confirm'\n",
			       ctl_fmt_count(im.paused, a), im.paused == 1 ? "" : "s",
			       im.paused == 1 ? "is" : "are");
	}
	json_decref(totals);
	importer_fini(&im);
	return status;
}
