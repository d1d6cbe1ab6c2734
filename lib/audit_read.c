/* audit_read.c - the audit log's readers: the offline verifier and the query
 *
 * Both stream the files line by line (memory bounded by RTN_AUDIT_LINE_MAX apart from
 * a query's result) and stop at the first bad entry (verify) or skip it (query).
 */
#include "audit.h"
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define CHUNK (64 * 1024) /* read size */

static const char *str_member(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- reading lines, streaming ------------------------------------------------------ */

int rtn_audit_next_line(struct rtn_audit_lines *l, const char **s, size_t *n)
{
	for (;;) {
		char *nl = l->end > l->scan ? memchr(l->p + l->scan, '\n', l->end - l->scan) : NULL;
		if (nl || l->end - l->start >= RTN_AUDIT_LINE_MAX ||
		    (l->eof && l->end > l->start)) {
			size_t stop = nl ? (size_t)(nl - l->p) : l->end;
			*s = l->p + l->start;
			*n = stop - l->start;
			l->start = l->scan = nl ? stop + 1 : l->end;
			l->no++;
			if (*n + 1 > RTN_AUDIT_LINE_MAX)
				return LINE_LONG;
			return nl ? LINE_OK : LINE_TORN;
		}
		if (l->eof)
			return LINE_EOF;
		if (l->start > 0) {
			memmove(l->p, l->p + l->start, l->end - l->start);
			l->end -= l->start;
			l->start = 0;
		}
		l->scan = l->end;
		RTN_GROW(l->p, l->end + CHUNK, l->cap);
		ssize_t got = read(l->fd, l->p + l->end, CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		l->eof = got == 0;
		l->end += (size_t)got;
	}
}

int rtn_audit_open_lines(struct rtn_audit_lines *l, const char *path, char *err, size_t errlen)
{
	free(l->p);
	*l = (struct rtn_audit_lines){.fd = open(path, O_RDONLY | O_CLOEXEC)};
	if (l->fd < 0)
		return rtn_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* ---- verification -------------------------------------------------------------------- */

int rtn_audit_link(struct rtn_audit_chain *c, const struct rtn_audit_line *f, const json_t *e,
                   char *why, size_t whylen)
{
	if (c->entries == 0) {
		const json_t *d = json_object_get(e, "detail");
		const char *ph = str_member(d, "previous_head");
		if (f->seq == 1 && strcmp(f->prev, RTN_AUDIT_GENESIS) == 0) {
			/* the genesis */
		} else if (f->seq > 1 && f->rotated && ph && strcmp(ph, f->prev) == 0) {
			c->continues =
			    json_pack("{s:O?,s:I,s:s}", "file", json_object_get(d, "previous"),
			              "seq", (json_int_t)(f->seq - 1), "head", f->prev);
		} else if (f->seq == 1) {
			return rtn_errf(why, whylen, -EBADMSG,
			                "the first entry's prev is not the genesis (64 zeros)");
		} else {
			return rtn_errf(
			    why, whylen, -EBADMSG,
			    "the log starts at seq %llu: its beginning is missing (or give "
			    "the earlier files first)",
			    (unsigned long long)f->seq);
		}
		c->first_seq = f->seq;
		if (c->expect && strcmp(c->expect, f->prev) == 0)
			c->found = true, c->found_seq = f->seq - 1, c->found_at = 0;
	} else if (f->seq != c->seq + 1) {
		return rtn_errf(
		    why, whylen, -EBADMSG,
		    "seq %llu follows %llu: an entry was removed, inserted or reordered",
		    (unsigned long long)f->seq, (unsigned long long)c->seq);
	} else if (strcmp(f->prev, c->head) != 0) {
		return rtn_errf(
		    why, whylen, -EBADMSG,
		    "prev does not match the previous entry's hash: an entry was removed, "
		    "inserted or reordered");
	}
	c->seq = f->seq;
	memcpy(c->head, f->hash, sizeof(c->head));
	c->entries++;
	if (c->expect && strcmp(c->expect, c->head) == 0)
		c->found = true, c->found_seq = f->seq, c->found_at = c->entries;
	return 0;
}

/* {"file": F, "line": L, "seq": S or null, "reason": R}, in ASCII whatever the bytes. */
static json_t *bad_entry(const char *file, unsigned long line, json_t *seq, char *why)
{
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?'; /* jansson quotes the bad bytes of a line */
	json_t *f = json_string(file);
	return json_pack("{s:o,s:I,s:O?,s:s}", "file", f ? f : json_string("(not UTF-8)"), "line",
	                 (json_int_t)line, "seq", seq, "reason", why);
}

int rtn_audit_verify(const char *const *paths, size_t n, const char *expect_head, json_t **result,
                     char *err, size_t errlen)
{
	return rtn_audit_verify_each(paths, n, expect_head, NULL, NULL, result, err, errlen);
}

int rtn_audit_verify_each(const char *const *paths, size_t n, const char *expect_head,
                          rtn_audit_each_fn each, void *ctx, json_t **result, char *err,
                          size_t errlen)
{
	char expect[RTN_AUDIT_HASH_LEN + 1] = "";
	*result = NULL;
	if (n == 0)
		return rtn_errf(err, errlen, -EINVAL, "no file to verify");
	if (expect_head) {
		for (size_t i = 0; i < sizeof(expect) - 1 && expect_head[i]; i++)
			expect[i] = (char)(expect_head[i] | (expect_head[i] >= 'A' ? 0x20 : 0));
		if (strlen(expect_head) != RTN_AUDIT_HASH_LEN ||
		    strspn(expect, "0123456789abcdef") != RTN_AUDIT_HASH_LEN)
			return rtn_errf(err, errlen, -EINVAL, "not a hash: %s", expect_head);
	}
	struct rtn_audit_chain c = {.expect = expect_head ? expect : NULL};
	memcpy(c.head, RTN_AUDIT_GENESIS, sizeof(c.head));
	if (c.expect && strcmp(c.expect, RTN_AUDIT_GENESIS) == 0)
		c.found = true;
	struct rtn_audit_lines l = {.fd = -1};
	json_t *bad = NULL;
	unsigned long lines_in_last = 0;
	int r = 0;
	for (size_t i = 0; i < n && !bad && r == 0; i++) {
		if ((r = rtn_audit_open_lines(&l, paths[i], err, errlen)) < 0)
			break;
		for (;;) {
			const char *s;
			size_t len;
			char why[300] = "";
			json_t *e = NULL;
			struct rtn_audit_line f = {0};
			int k = rtn_audit_next_line(&l, &s, &len);
			if (k == LINE_EOF)
				break;
			if (k < 0) {
				r = rtn_errf(err, errlen, k, "%s: %s", paths[i], strerror(-k));
				break;
			}
			if (k == LINE_TORN)
				snprintf(why, sizeof(why),
				         "torn last line: no newline at the end "
				         "(a crash during a write, or the file "
				         "was cut)");
			else if (k == LINE_LONG)
				snprintf(why, sizeof(why), "line longer than %d bytes",
				         RTN_AUDIT_LINE_MAX);
			else if (rtn_audit_check_line(s, len, &f, NULL, why, sizeof(why)) < 0)
				rtn_audit_check_line(s, len, &f, &e, why,
				                     sizeof(why)); /* for seq */
			else if (c.entries == 0 && f.rotated &&
			         rtn_audit_check_line(s, len, &f, &e, why, sizeof(why)) == 0)
				rtn_audit_link(&c, &f, e, why,
				               sizeof(why)); /* the detail is needed */
			else
				rtn_audit_link(&c, &f, NULL, why, sizeof(why));
			if (why[0]) {
				json_t *seq = json_incref(json_object_get(e, "seq"));
				if (k == LINE_OK && !json_is_integer(seq) && f.seq > 0)
					seq = json_integer((json_int_t)f.seq); /* a chain error */
				bad = bad_entry(paths[i], l.no, json_is_integer(seq) ? seq : NULL,
				                why);
				json_decref(seq);
			}
			json_decref(e);
			if (bad)
				break;
			if (each)
				each(ctx, s, len, &f);
		}
		lines_in_last = l.no;
		close(l.fd);
	}
	free(l.p);
	if (r < 0) {
		json_decref(c.continues);
		return r;
	}
	if (!bad && c.expect && !c.found) {
		char why[200];
		snprintf(why, sizeof(why),
		         "the journal's head %s is not in this log: the tail was truncated or the "
		         "log rewritten",
		         c.expect);
		json_t *seq = json_integer((json_int_t)c.seq + 1);
		bad = bad_entry(paths[n - 1], lines_in_last + 1, seq, why);
		json_decref(seq);
	}
	json_t *res = json_pack("{s:b,s:I,s:I,s:s}", "valid", !bad, "entries",
	                        (json_int_t)c.entries, "files", (json_int_t)n, "head", c.head);
	if (bad) {
		json_object_set_new(res, "first_bad", bad);
		json_decref(c.continues);
	} else {
		json_object_set_new(res, "first_seq", json_integer((json_int_t)c.first_seq));
		json_object_set_new(res, "last_seq", json_integer((json_int_t)c.seq));
		if (c.continues)
			json_object_set_new(res, "continues_from", c.continues);
		if (c.expect)
			json_object_set_new(res, "journal_head",
			                    json_pack("{s:I,s:I}", "seq", (json_int_t)c.found_seq,
			                              "entries_after",
			                              (json_int_t)(c.entries - c.found_at)));
	}
	*result = res;
	return 0;
}

/* ---- query ------------------------------------------------------------------------- */

static bool member_is(const json_t *o, const char *key, const char *want)
{
	const char *v = str_member(o, key);
	return !want || (v && strcmp(v, want) == 0);
}

static bool matches(const json_t *e, const struct rtn_audit_filter *f)
{
	const char *type = str_member(e, "type");
	size_t tl = f->type ? strlen(f->type) : 0;
	if (f->type && (!type || (tl && f->type[tl - 1] == '.' ? strncmp(type, f->type, tl) != 0
	                                                       : strcmp(type, f->type) != 0)))
		return false;
	const json_t *detail = json_object_get(e, "detail");
	if (!member_is(e, "record", f->record) || !member_is(e, "category", f->category) ||
	    !(member_is(detail, "subject", f->subject) ||
	      (f->pseudonym && member_is(detail, "subject", f->pseudonym))))
		return false;
	bool since = f->since != RTN_TIME_NONE && f->since != 0;
	bool until = f->until != RTN_TIME_NONE && f->until != 0;
	rtn_time_t t;
	const char *ts = str_member(e, "time");
	if (!since && !until)
		return true;
	if (!ts || rtn_time_parse(ts, &t) < 0)
		return false;
	return (!since || t >= f->since) && (!until || t < f->until);
}

int rtn_audit_query(const char *const *paths, size_t n, const struct rtn_audit_filter *f,
                    json_t **result, char *err, size_t errlen)
{
	*result = NULL;
	size_t limit = f->limit, nmatch = 0, unreadable = 0;
	bool ring = f->last && limit > 0, stop = false;
	json_t **keep = ring ? rtn_xcalloc(limit, sizeof(*keep)) : NULL;
	json_t *arr = json_array();
	struct rtn_audit_lines l = {.fd = -1};
	int r = 0;
	for (size_t i = 0; i < n && !stop; i++) {
		if ((r = rtn_audit_open_lines(&l, paths[i], err, errlen)) < 0)
			break;
		while (!stop) {
			const char *s;
			size_t len;
			int k = rtn_audit_next_line(&l, &s, &len);
			if (k == LINE_EOF)
				break;
			if (k < 0) {
				r = rtn_errf(err, errlen, k, "%s: %s", paths[i], strerror(-k));
				stop = true;
				break;
			}
			json_t *e = k == LINE_OK ? json_loadb(s, len, 0, NULL) : NULL;
			if (!json_is_object(e)) {
				unreadable++;
				if (k == LINE_LONG)
					break; /* the rest of this file is out of step */
			} else if (matches(e, f)) {
				nmatch++;
				if (ring) {
					json_decref(keep[(nmatch - 1) % limit]);
					keep[(nmatch - 1) % limit] = json_incref(e);
				} else if (limit && nmatch > limit) {
					stop = true;
				} else {
					json_array_append(arr, e);
				}
			}
			json_decref(e);
		}
		close(l.fd);
	}
	free(l.p);
	for (size_t i = 0; ring && i < limit; i++) {
		size_t at = nmatch > limit ? (nmatch + i) % limit : i;
		if (r == 0 && i < nmatch)
			json_array_append(arr, keep[at]);
		json_decref(keep[at]);
	}
	free(keep);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*result = json_pack("{s:o,s:I,s:b,s:I}", "entries", arr, "count",
	                    (json_int_t)json_array_size(arr), "more", limit && nmatch > limit,
	                    "unreadable", (json_int_t)unreadable);
	return 0;
}
