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
 * on the record binds to find the row again: an integer key as a JSON integer, text and
 * real keys as SQLite writes them, as text), events as Unix seconds, attributes.
 */
#include "sqlbk.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	return 0;
}
