/* inv_sqlite_scan.c - what a backend's scan reported, and tombstones seen again */
#include <stdio.h>
#include <string.h>

#include "inv_sqlite_int.h"

static void col_copy(sqlite3_stmt *s, int i, char *out, size_t n)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	snprintf(out, n, "%s", v ? v : "");
}

int rtn_sq_scan_lookup(struct rtn_inv *inv, const char *id, struct rtn_inv_scan_brief *b)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, K_LOOKUP);
	rtn_sq_bind_text(s, 1, id);
	int r = sqlite3_step(s);
	memset(b, 0, sizeof(*b));
	if (r == SQLITE_ROW) {
		b->rid = sqlite3_column_int64(s, 0);
		b->tombstone = sqlite3_column_int(s, 1) != 0;
		col_copy(s, 2, b->outcome, sizeof(b->outcome));
		b->busy = sqlite3_column_int(s, 3) != 0;
		col_copy(s, 4, b->backend, sizeof(b->backend));
		col_copy(s, 5, b->scan_backend, sizeof(b->scan_backend));
		col_copy(s, 6, b->scan_hash, sizeof(b->scan_hash));
	}
	sqlite3_reset(s);
	return rtn_sq_found(r);
}

/* A statement whose RETURNING gives one row id. */
static int returning_rid(sqlite3_stmt *s, int64_t *rid)
{
	int r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*rid = sqlite3_column_int64(s, 0);
		r = sqlite3_step(s); /* runs the statement to its end */
		sqlite3_reset(s);
		return r == SQLITE_DONE ? 0 : -EIO;
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE ? -ENOENT : -EIO;
}

int rtn_sq_scan_mark(struct rtn_inv *inv, const char *id, const char *backend, const char *hash,
                     int64_t *rid)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, K_MARK);
	rtn_sq_bind_text(s, 1, id);
	rtn_sq_bind_text(s, 2, backend);
	rtn_sq_bind_text(s, 3, hash);
	return returning_rid(s, rid);
}

int rtn_sq_scan_revive(struct rtn_inv *inv, int64_t rid, int64_t *new_rid)
{
	struct rtn_sq_was was;
	if (rtn_sq_record_was(inv, rid, &was) < 0)
		return -EIO;
	sqlite3_stmt *s = rtn_sq_stmt(inv, K_REVIVE);
	sqlite3_bind_int64(s, 1, rid);
	int r = returning_rid(s, new_rid);
	if (r == 0)
		rtn_sq_count_record_moved(inv, &was, "active", NULL);
	return r;
}

int rtn_sq_scan_rids(struct rtn_inv *inv, const char *backend, int64_t after, int64_t *rids,
                     bool *busy, int max)
{
	sqlite3_stmt *s = rtn_sq_stmt(inv, K_RIDS);
	rtn_sq_bind_text(s, 1, backend);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int(s, 3, max);
	int n = 0, r;
	while (n < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		rids[n] = sqlite3_column_int64(s, 0);
		busy[n++] = sqlite3_column_int(s, 1) != 0;
	}
	if (n < max && r != SQLITE_DONE)
		n = -EIO;
	sqlite3_reset(s);
	return n;
}
