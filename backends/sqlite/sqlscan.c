/* sqlscan.c - retention-sqlite's scans: the rows of each scanned table listed as records
 *
 * A table block with "scan category NAME" is scanned; "subject = COLUMN", "event NAME =
 * COLUMN" and "attribute NAME = COLUMN" say what each row's record holds. As for jobs,
 * the SQL is built at start only from the configured names, each validated as a plain
 * identifier and double-quoted; the only value ever bound is the last key of a page:
 *   SELECT "key", "subject", "e1", ..., "a1", ... FROM "t"
 *       WHERE "key" IS NOT NULL ORDER BY "key" LIMIT 1000   (the first page)
 *       WHERE "key" > ?1 ORDER BY "key" LIMIT 1000          (the next ones)
 *   SELECT count(*) FROM "t" WHERE "key" IS NULL           (rows no locator can name)
 * Keyset pagination: each page is one statement, so one short read transaction, ended
 * (the statement reset) before its records go to rtn_scan_emit(), which may block while
 * the daemon catches up; a writer is never held up by a scan waiting on the daemon. Rows
 * written between pages are listed if their key lies ahead of the scan.
 *
 * A record: id "TABLE:KEY", the category, the subject, locator {"key": KEY} (what a job
 * on the record binds to find the row again: an integer key as a JSON integer, a text key
 * as a string; a row whose key is a real number or a blob is skipped, as no locator names
 * it exactly), events as Unix seconds, attributes.
 */
#include "sqlbk.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "record.h"
#include "utf8.h"
#include "util.h"
#include "values.h"

static void map_fini(struct sq_map *m)
{
	free(m->name);
	free(m->col);
}

void sq_scan_table_fini(struct sq_table *t)
{
	free(t->scan_cat);
	map_fini(&t->subject);
	for (size_t i = 0; i < t->nevents; i++)
		map_fini(&t->events[i]);
	free(t->events);
	for (size_t i = 0; i < t->nattrs; i++)
		map_fini(&t->attrs[i]);
	free(t->attrs);
	free(t->scan_first_sql);
	free(t->scan_next_sql);
	free(t->scan_null_sql);
}

static int col_ident(const char *file, const struct rtn_arg *a, struct rtn_diags *d)
{
	if (sq_valid_ident(a->text))
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
	             "invalid column \"%s\"; expected an SQL identifier of at most %d letters, "
	             "digits and '_' that does not start with a digit or \"sqlite_\"",
	             a->text, SQ_IDENT_MAX);
	return -EINVAL;
}

/* "= COLUMN" at args[at] of s, into m. 0 or -EINVAL. */
static int eq_column(const char *file, const struct rtn_stmt *s, size_t at, const char *usage,
                     struct sq_map *m, struct rtn_diags *d)
{
	if (s->nargs != at + 2 || strcmp(s->args[at].text, "=") != 0 || s->args[at].quoted) {
		const struct rtn_arg *a = &s->args[s->nargs > at ? at : s->nargs - 1];
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected \"%s\" (with spaces around '=')", usage);
		return -EINVAL;
	}
	const struct rtn_arg *c = &s->args[at + 1];
	if (col_ident(file, c, d) < 0)
		return -EINVAL;
	m->col = rtn_xstrdup(c->text);
	m->line = c->line;
	m->col_no = c->col;
	return 0;
}

/* "event NAME = COLUMN" or "attribute NAME = COLUMN" into (*v)[*n]. 0 or -EINVAL. */
static int named_map(const char *file, const struct rtn_stmt *s, const char *what,
                     struct sq_map **v, size_t *n, struct rtn_diags *d)
{
	char usage[64];
	snprintf(usage, sizeof(usage), "%s NAME = COLUMN", s->keyword);
	const struct rtn_arg *a = &s->args[0];
	if (s->nargs == 1 && strchr(a->text, '=')) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected \"%s\" (with spaces around '=')", usage);
		return -EINVAL;
	}
	if (rtn_val_name(file, a, what, d) < 0)
		return -EINVAL;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i].name, a->text) == 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "%s %s is given twice; first at %d:%d", what, a->text,
			             (*v)[i].at_line, (*v)[i].at_col);
			return -EINVAL;
		}
	}
	struct sq_map m = {.at_line = a->line, .at_col = a->col};
	if (eq_column(file, s, 1, usage, &m, d) < 0)
		return -EINVAL;
	m.name = rtn_xstrdup(a->text);
	*v = rtn_xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = m;
	return 0;
}

int sq_scan_config(const char *file, const struct rtn_stmt *s, struct sq_table *t,
                   struct rtn_diags *d)
{
	const char *k = s->keyword;
	if (strcmp(k, "scan") == 0) {
		if (s->nargs != 2 || strcmp(s->args[0].text, "category") != 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "expected \"scan category NAME\"");
			return -EINVAL;
		}
		if (t->scan_cat) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "\"scan\" is given twice in table %s; first at %d:%d", t->name,
			             t->scan_line, t->scan_col);
			return -EINVAL;
		}
		if (rtn_val_name(file, &s->args[1], "category", d) < 0)
			return -EINVAL;
		t->scan_cat = rtn_xstrdup(s->args[1].text);
		t->scan_line = s->args[1].line;
		t->scan_col = s->args[1].col;
		return 0;
	}
	int r;
	if (strcmp(k, "subject") == 0) {
		if (t->subject.col) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "\"subject\" is given twice in table %s; first at %d:%d",
			             t->name, t->subject.at_line, t->subject.at_col);
			return -EINVAL;
		}
		r = eq_column(file, s, 0, "subject = COLUMN", &t->subject, d);
		t->subject.at_line = s->line;
		t->subject.at_col = s->col;
	} else if (strcmp(k, "event") == 0) {
		r = named_map(file, s, "event", &t->events, &t->nevents, d);
	} else if (strcmp(k, "attribute") == 0) {
		r = named_map(file, s, "attribute", &t->attrs, &t->nattrs, d);
	} else {
		return -ENOENT;
	}
	if (!t->map_line) {
		t->map_line = s->line;
		t->map_col = s->col;
	}
	return r;
}

/* Append ", \"col\"" (or the first "\"col\"") to *cols. */
static void add_col(char **cols, const char *col)
{
	char *n = rtn_xasprintf("%s%s\"%s\"", *cols, **cols ? ", " : "", col);
	free(*cols);
	*cols = n;
}

int sq_scan_configured(const char *file, struct sq_table *t, struct rtn_diags *d)
{
	if (!t->scan_cat) {
		if (!t->map_line)
			return 0;
		rtn_diag_add(d, RTN_SEV_ERROR, file, t->map_line, t->map_col,
		             "table %s: subject, event and attribute say what a scan lists; they "
		             "need \"scan category NAME\"",
		             t->name);
		return -EINVAL;
	}
	bool listed = false;
	for (size_t i = 0; i < t->ncats && !listed; i++)
		listed = strcmp(t->cats[i], t->scan_cat) == 0;
	if (!listed) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, t->scan_line, t->scan_col,
		             "scan category %s is not a category of table %s (\"category\" must "
		             "list it, so that its records' jobs come here)",
		             t->scan_cat, t->name);
		return -EINVAL;
	}
	char *cols = rtn_xstrdup("");
	add_col(&cols, t->key);
	if (t->subject.col)
		add_col(&cols, t->subject.col);
	for (size_t i = 0; i < t->nevents; i++)
		add_col(&cols, t->events[i].col);
	for (size_t i = 0; i < t->nattrs; i++)
		add_col(&cols, t->attrs[i].col);
	t->scan_first_sql =
	    rtn_xasprintf("SELECT %s FROM \"%s\" WHERE \"%s\" IS NOT NULL ORDER BY \"%s\" LIMIT %d",
	                  cols, t->name, t->key, t->key, SQ_SCAN_PAGE);
	t->scan_next_sql =
	    rtn_xasprintf("SELECT %s FROM \"%s\" WHERE \"%s\" > ?1 ORDER BY \"%s\" LIMIT %d", cols,
	                  t->name, t->key, t->key, SQ_SCAN_PAGE);
	t->scan_null_sql =
	    rtn_xasprintf("SELECT count(*) FROM \"%s\" WHERE \"%s\" IS NULL", t->name, t->key);
	free(cols);
	return 0;
}

/* Prepare sql on db and throw it away: SQLITE_OK or the error. */
static int try_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	sqlite3_finalize(st);
	return rc & 0xff;
}

/* Check that column m of t exists; reported where it is named. */
static int check_col(const char *file, sqlite3 *db, const struct sq_table *t,
                     const struct sq_map *m, struct rtn_diags *d)
{
	char *sql = rtn_xasprintf("SELECT \"%s\" FROM \"%s\" LIMIT 0", m->col, t->name);
	int rc = try_prepare(db, sql);
	free(sql);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return -EAGAIN;
	if (rc == SQLITE_OK)
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, m->line, m->col_no, "table %s: %s", t->name,
	             sqlite3_errmsg(db));
	return -EINVAL;
}

/* True if SQLite's plan for sql sorts in a temporary b-tree (no index gives the order). */
static bool sorts(sqlite3 *db, const char *sql)
{
	char *q = rtn_xasprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st;
	bool temp = false;
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
		while (!temp && sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			temp = detail && strstr(detail, "TEMP B-TREE");
		}
	}
	sqlite3_finalize(st);
	free(q);
	return temp;
}

int sq_scan_check(const char *file, sqlite3 *db, const struct sq_table *t, struct rtn_diags *d)
{
	if (!t->scan_cat)
		return 0;
	int bad = 0, r;
	if (t->subject.col && (r = check_col(file, db, t, &t->subject, d)) < 0) {
		if (r == -EAGAIN)
			return r;
		bad = 1;
	}
	for (size_t i = 0; i < t->nevents; i++) {
		if ((r = check_col(file, db, t, &t->events[i], d)) == -EAGAIN)
			return r;
		bad |= r < 0;
	}
	for (size_t i = 0; i < t->nattrs; i++) {
		if ((r = check_col(file, db, t, &t->attrs[i], d)) == -EAGAIN)
			return r;
		bad |= r < 0;
	}
	if (bad)
		return -EINVAL;
	const char *sql[] = {t->scan_first_sql, t->scan_next_sql, t->scan_null_sql};
	for (int i = 0; i < 3; i++) {
		int rc = try_prepare(db, sql[i]);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			return -EAGAIN;
		if (rc != SQLITE_OK) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, t->scan_line, t->scan_col,
			             "table %s: %s", t->name, sqlite3_errmsg(db));
			return -EINVAL;
		}
	}
	if (sorts(db, t->scan_next_sql))
		rtn_diag_add(d, RTN_SEV_WARNING, file, t->scan_line, t->scan_col,
		             "table %s: no index begins with the key %s, so every page of a scan "
		             "sorts the whole table; CREATE INDEX on it makes a scan read each row "
		             "once",
		             t->name, t->key);
	return 0;
}

/* --- reading ------------------------------------------------------------------------- */

/* A scan's own connection (the workers keep theirs) and one page of records. */
struct scan {
	struct rtn_scan_out *out;
	sqlite3 *db;
	char id[RTN_ID_MAX + 1];
	struct rtn_jw text;       /* the page's records, one after the other */
	size_t end[SQ_SCAN_PAGE]; /* where each one ends in text */
};

/* Text as SQLite keeps a time: decimal Unix seconds, RFC 3339, or "YYYY-MM-DD",
 * "YYYY-MM-DD HH:MM[:SS[.SSS]]" (a 'T' or a space between, UTC unless an offset or 'Z'
 * follows), as date(), datetime() and CURRENT_TIMESTAMP write it. A fraction of a second
 * rounds up. 0 or -EINVAL. */
static int text_time(const char *s, size_t n, rtn_time_t *out)
{
	char buf[48];
	if (!n || n > sizeof(buf) - 2 || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	size_t i = buf[0] == '-';
	if (i < n && strspn(buf + i, "0123456789") == n - i) {
		if (n - i > 12)
			return -EINVAL;
		long long v = strtoll(buf, NULL, 10);
		if (v < RTN_TIME_MIN || v > RTN_TIME_MAX)
			return -EINVAL;
		*out = (rtn_time_t)v;
		return 0;
	}
	if (rtn_time_parse_local(rtn_zone_utc(), buf, out) == 0)
		return 0;
	buf[n] = 'Z'; /* "YYYY-MM-DD HH:MM:SS.SSS" has no offset either */
	buf[n + 1] = '\0';
	return rtn_time_parse(buf, out);
}

/* The instant of column i: 1 with *out, 0 for NULL (the record lacks the event), or
 * -EINVAL when it is no time (a real number, a blob, text that does not read as one). */
static int column_time(sqlite3_stmt *st, int i, rtn_time_t *out)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER: {
		sqlite3_int64 v = sqlite3_column_int64(st, i);
		if (v < RTN_TIME_MIN || v > RTN_TIME_MAX)
			return -EINVAL;
		*out = (rtn_time_t)v;
		return 1;
	}
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_column_text(st, i);
		if (!s || text_time(s, (size_t)sqlite3_column_bytes(st, i), out) < 0)
			return -EINVAL;
		return 1;
	}
	default:
		return -EINVAL;
	}
}

/* Column i written as JSON: an integer, a real, a string or null. -1 (and part of it
 * written) for a blob, text that is not UTF-8 without NUL bytes, or a real that is not
 * finite. */
static int column_put(struct rtn_jw *b, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		JW_LIT(b, "null");
		return 0;
	case SQLITE_INTEGER:
		rtn_jw_int(b, (long long)sqlite3_column_int64(st, i));
		return 0;
	case SQLITE_FLOAT: {
		double v = sqlite3_column_double(st, i);
		char num[40];
		if (!isfinite(v))
			return -1;
		int n = snprintf(num, sizeof(num), "%.17g", v);
		rtn_jw_put(b, num, (size_t)n);
		if (!strpbrk(num, ".e")) /* read back as a real, not an integer */
			JW_LIT(b, ".0");
		return 0;
	}
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_column_text(st, i);
		size_t n = (size_t)sqlite3_column_bytes(st, i);
		return s && rtn_jw_string(b, s, n) == 0 ? 0 : -1;
	}
	default:
		return -1;
	}
}

/* Column i as the text of a key or subject in buf (an integer in decimal, text and reals
 * as SQLite writes them); its length, or -1 for a blob or text that is not UTF-8 without
 * NUL bytes. NULL is -2. */
static int column_text(sqlite3_stmt *st, int i, const char **p, char *buf, size_t len)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return -2;
	case SQLITE_INTEGER:
		*p = buf;
		return snprintf(buf, len, "%lld", (long long)sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_column_text(st, i);
		int n = sqlite3_column_bytes(st, i);
		if (!s || n < 0 || !rtn_valid_utf8(s, (size_t)n))
			return -1;
		*p = s;
		return n;
	}
	default:
		return -1;
	}
}

/* A member's key (a name from the config: plain ASCII), with the comma before it unless it
 * is the first of its object. */
static void member_key(struct rtn_jw *b, const char *name, bool first)
{
	if (!first)
		JW_LIT(b, ",");
	rtn_jw_string(b, name, strlen(name));
	JW_LIT(b, ":");
}

/* The record of the row st is on, written at the end of sc->text as JSON (written as text:
 * a jansson tree built and printed costs more than the query). 1, or 0 when it was skipped
 * (counted, logged by its id or table: never a value of the row). */
static int row_record(struct scan *sc, const struct sq_table *t, sqlite3_stmt *st, rtn_time_t now)
{
	char num[32], why[160];
	const char *k;
	int ktype = sqlite3_column_type(st, 0); /* before column_text may convert it */
	int kn = ktype == SQLITE_FLOAT ? -3 : column_text(st, 0, &k, num, sizeof(num));
	if (kn < 0) {
		snprintf(why, sizeof(why), "its key (%s) is %s, which no locator can name", t->key,
		         kn == -3   ? "a real number"
		         : kn == -2 ? "NULL"
		                    : "a blob or text that is not UTF-8");
		rtn_scan_skip(sc->out, t->name, why);
		return 0;
	}
	size_t tn = strlen(t->name);
	if (tn + 1 + (size_t)kn > RTN_ID_MAX) {
		snprintf(why, sizeof(why), "its key (%s) makes an id longer than %d bytes", t->key,
		         RTN_ID_MAX);
		rtn_scan_skip(sc->out, t->name, why);
		return 0;
	}
	memcpy(sc->id, t->name, tn);
	sc->id[tn] = ':';
	memcpy(sc->id + tn + 1, k, (size_t)kn);
	size_t idlen = tn + 1 + (size_t)kn;
	sc->id[idlen] = '\0';
	struct rtn_jw *b = &sc->text;
	size_t start = b->len;
	JW_LIT(b, "{\"id\":");
	rtn_jw_string(b, sc->id, idlen); /* valid UTF-8: column_text saw to it */
	JW_LIT(b, ",\"category\":");
	rtn_jw_string(b, t->scan_cat, strlen(t->scan_cat));
	JW_LIT(b, ",\"locator\":{\"key\":");
	if (ktype == SQLITE_INTEGER)
		rtn_jw_int(b, (long long)sqlite3_column_int64(st, 0));
	else
		rtn_jw_string(b, k, (size_t)kn);
	JW_LIT(b, "}");
	int i = 1;
	if (t->subject.col) {
		const char *s;
		int n = column_text(st, i, &s, num, sizeof(num));
		if (n == -1 || n > RTN_ID_MAX) {
			snprintf(
			    why, sizeof(why),
			    "its subject (%s) is a blob, text that is not UTF-8 or longer than "
			    "%d bytes",
			    t->subject.col, RTN_ID_MAX);
			goto skip;
		}
		if (n > 0) {
			JW_LIT(b, ",\"subject\":");
			rtn_jw_string(b, s, (size_t)n);
		}
		i++;
	}
	JW_LIT(b, ",\"events\":{");
	bool future = false, first = true;
	for (size_t e = 0; e < t->nevents; e++, i++) {
		rtn_time_t at;
		int r = column_time(st, i, &at);
		if (r < 0) {
			snprintf(why, sizeof(why),
			         "event %s (%s) is no time: integer Unix seconds, RFC 3339 or "
			         "YYYY-MM-DD HH:MM:SS expected",
			         t->events[e].name, t->events[e].col);
			goto skip;
		}
		if (r > 0) {
			member_key(b, t->events[e].name, first);
			first = false;
			rtn_jw_int(b, (long long)at);
			future |= at > now + SQ_FUTURE;
		}
	}
	JW_LIT(b, "}");
	if (t->nattrs) {
		JW_LIT(b, ",\"attributes\":{");
		for (size_t a = 0; a < t->nattrs; a++, i++) {
			member_key(b, t->attrs[a].name, a == 0);
			if (column_put(b, st, i) < 0) {
				snprintf(why, sizeof(why),
				         "attribute %s (%s) is a blob, text that is not UTF-8 or a "
				         "number that is not finite",
				         t->attrs[a].name, t->attrs[a].col);
				goto skip;
			}
		}
		JW_LIT(b, "}");
	}
	JW_LIT(b, "}");
	if (future)
		rtn_scan_future(sc->out);
	return 1;
skip:
	b->len = start;
	rtn_scan_skip(sc->out, sc->id, why);
	return 0;
}

/* Step st to the end of its page into sc->recs (*n of them); *last is a copy of the key
 * of its last row when the page is full. The statement is reset before this returns, which
 * ends the page's read transaction. SQLITE_DONE or the error. */
static int read_page(struct scan *sc, const struct sq_table *t, sqlite3_stmt *st, size_t *n,
                     size_t *rows, sqlite3_value **last)
{
	rtn_time_t now = time(NULL);
	int rc;
	*n = *rows = 0;
	sc->text.len = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++*rows == SQ_SCAN_PAGE &&
		    !(*last = sqlite3_value_dup(sqlite3_column_value(st, 0)))) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (row_record(sc, t, st, now))
			sc->end[(*n)++] = sc->text.len;
	}
	sqlite3_reset(st);
	return rc;
}

/* List table t. 0, 1 when the scan was cancelled, or -1 with err. */
static int scan_table(struct scan *sc, const struct sq_table *t, char *err, size_t errlen)
{
	sqlite3_stmt *first = NULL, *next = NULL, *nulls = NULL;
	sqlite3_value *last = NULL;
	int ret = -1, rc;
	if (sqlite3_prepare_v3(sc->db, t->scan_null_sql, -1, SQLITE_PREPARE_PERSISTENT, &nulls,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(sc->db, t->scan_first_sql, -1, SQLITE_PREPARE_PERSISTENT, &first,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(sc->db, t->scan_next_sql, -1, SQLITE_PREPARE_PERSISTENT, &next,
	                       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "table %s: %s", t->name, sqlite3_errmsg(sc->db));
		goto out;
	}
	/* Rows whose key is NULL: no locator names them, and "key > ?" never reaches them. */
	if ((rc = sqlite3_step(nulls)) != SQLITE_ROW) {
		snprintf(err, errlen, "table %s: %s", t->name, sqlite3_errmsg(sc->db));
		goto out;
	}
	long long nnull = sqlite3_column_int64(nulls, 0);
	sqlite3_reset(nulls);
	if (nnull > 0) {
		char why[128];
		snprintf(why, sizeof(why),
		         "a row whose key (%s) is NULL, which no locator can name", t->key);
		for (long long i = 0; i < nnull; i++)
			rtn_scan_skip(sc->out, t->name, why);
	}
	sqlite3_stmt *st = first;
	for (;;) {
		size_t n, rows;
		rc = read_page(sc, t, st, &n, &rows, &last);
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "table %s: %s", t->name,
			         rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(sc->db));
			goto out;
		}
		/* No read transaction is open here: emitting may wait for the daemon. */
		for (size_t i = 0, at = 0; i < n; at = sc->end[i++]) {
			if (rtn_scan_emit_text(sc->out, sc->text.p + at, sc->end[i] - at) < 0) {
				ret = 1;
				goto out;
			}
		}
		if (rows < SQ_SCAN_PAGE)
			break;
		sqlite3_bind_value(next, 1, last); /* a copy */
		sqlite3_value_free(last);
		last = NULL;
		st = next;
	}
	ret = 0;
out:
	sqlite3_value_free(last);
	sqlite3_finalize(nulls);
	sqlite3_finalize(first);
	sqlite3_finalize(next);
	return ret;
}

int sq_scan(void *ctx, struct rtn_scan_out *out, char *err, size_t errlen)
{
	const struct sq_conf *c = ctx;
	struct scan *sc = rtn_xcalloc(1, sizeof(*sc));
	sc->out = out;
	int rc = sq_open_db(c->database, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, c->busy_ms,
	                    NULL, &sc->db);
	int r = 0;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", c->database,
		         sc->db ? sqlite3_errmsg(sc->db) : sqlite3_errstr(rc));
		r = -1;
	}
	for (size_t i = 0; i < c->ntables && r == 0; i++)
		if (c->tables[i].scan_cat)
			r = scan_table(sc, &c->tables[i], err, errlen);
	sqlite3_close(sc->db);
	free(sc->text.p);
	free(sc);
	return r < 0 ? -1 : 0;
}
