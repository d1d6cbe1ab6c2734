/* audit_head.c - the audit log's recorded head: written atomically, checked at start-up
 *
 * The record is one JSON object on one line: {"file", "hash", "seq", "size", "time",
 * "version": 1}. The check reads the log as rtn_audit_open() will find it (PATH, or
 * PATH.rotating after a crash inside a rotation) without writing anything: the entry
 * that ends at the recorded size must be the recorded one, and every whole line after
 * it must continue the chain. If the log begins after the recorded entry, it was rotated
 * since; its first entry ("audit.rotated") names the file it continues, and the check
 * goes on there.
 */
#include "audit_head.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define HEAD_MAX  (64 * 1024) /* longest head record read */
#define CHUNK     (64 * 1024)
#define MAX_FILES 16 /* files walked back through audit.rotated entries */

/* ---- the record ---------------------------------------------------------------------- */

static bool is_hash(const char *s)
{
	return s && strlen(s) == RTN_AUDIT_HASH_LEN &&
	       strspn(s, "0123456789abcdef") == RTN_AUDIT_HASH_LEN;
}

int rtn_audit_head_read(const char *path, struct rtn_audit_head *h, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len;
	memset(h, 0, sizeof(*h));
	int r = rtn_read_file(path, HEAD_MAX, &buf, &len);
	if (r == -ENOENT)
		return rtn_errf(err, errlen, r, "%s: no head recorded", path);
	if (r < 0)
		return rtn_errf(err, errlen, r == -EFBIG || r == -EINVAL ? -EBADMSG : r, "%s: %s",
		                path,
		                r == -EFBIG    ? "too large for a head record"
		                : r == -EINVAL ? "not a regular file"
		                               : strerror(-r));
	json_error_t je;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	json_t *seq = json_object_get(o, "seq"), *size = json_object_get(o, "size");
	const char *hash = json_string_value(json_object_get(o, "hash"));
	const char *file = json_string_value(json_object_get(o, "file"));
	const char *time = json_string_value(json_object_get(o, "time"));
	if (!o)
		r = rtn_errf(err, errlen, -EBADMSG, "%s: not a head record: %s", path, je.text);
	else if (!json_is_integer(seq) || json_integer_value(seq) < 1 || !is_hash(hash) || !file ||
	         !*file || !json_is_integer(size) || json_integer_value(size) < 1)
		r = rtn_errf(err, errlen, -EBADMSG,
		             "%s: not a head record: it needs \"seq\", \"hash\" (64 lower-case hex "
		             "digits), \"file\" and \"size\"",
		             path);
	if (r == 0) {
		h->seq = (uint64_t)json_integer_value(seq);
		memcpy(h->hash, hash, sizeof(h->hash));
		h->file = rtn_xstrdup(file);
		h->size = (int64_t)json_integer_value(size);
		if (!time || rtn_time_parse(time, &h->time) < 0)
			h->time = 0; /* only ever shown */
	}
	json_decref(o);
	return r;
}

int rtn_audit_head_write(const char *path, const struct rtn_audit_head *h, char *err, size_t errlen)
{
	char t[RTN_TIME_FMT_LEN] = "";
	if (h->time && rtn_time_format(h->time, t, sizeof(t)) < 0)
		t[0] = '\0';
	json_t *o =
	    json_pack("{s:I,s:s,s:s,s:I,s:s,s:i}", "seq", (json_int_t)h->seq, "hash", h->hash,
	              "file", h->file, "size", (json_int_t)h->size, "time", t, "version", 1);
	if (!o || !is_hash(h->hash) || h->seq < 1) {
		json_decref(o);
		return rtn_errf(err, errlen, -EINVAL,
		                "%s: not a head to record (a file name that "
		                "is not UTF-8?)",
		                path);
	}
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	char *line = rtn_xasprintf("%s\n", text);
	free(text);
	char *tmp = rtn_xasprintf("%s.tmp", path);
	int r = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		r = -errno;
	else if ((r = rtn_write_all(fd, line, strlen(line), NULL)) == 0 && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		rtn_errf(err, errlen, r, "%s: %s", fd < 0 ? tmp : path, strerror(-r));
		unlink(tmp);
	} else if ((r = rtn_sync_dir(path)) < 0) {
		rtn_errf(err, errlen, r, "%s: cannot sync its directory: %s", path, strerror(-r));
	}
	free(tmp);
	free(line);
	return r;
}

void rtn_audit_head_fini(struct rtn_audit_head *h)
{
	free(h->file);
	h->file = NULL;
}

/* ---- reading a log without writing it ------------------------------------------------ */

struct logf {
	char *path;
	int fd;      /* -1: the file does not exist */
	off_t whole; /* where its whole lines end (a torn tail follows) */
};

/* Open path read-only and find where its whole lines end. 0 (a missing file is empty),
 * or -errno (err). */
static int logf_open(struct logf *f, const char *path, char *err, size_t errlen)
{
	*f = (struct logf){.path = rtn_xstrdup(path), .fd = -1};
	struct stat st;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return errno == ENOENT
		           ? 0
		           : rtn_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(f->fd, &st) < 0)
		return rtn_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return rtn_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
	char *b = rtn_xmalloc(CHUNK);
	off_t pos = st.st_size;
	int r = 0;
	while (pos > 0 && f->whole == 0 && r == 0) {
		size_t n = pos < CHUNK ? (size_t)pos : CHUNK;
		pos -= (off_t)n;
		if (pread(f->fd, b, n, pos) != (ssize_t)n)
			r = rtn_errf(err, errlen, -EIO, "%s: cannot read it", path);
		for (size_t i = n; r == 0 && i-- > 0;)
			if (b[i] == '\n') {
				f->whole = pos + (off_t)i + 1;
				break;
			}
	}
	free(b);
	return r;
}

static void logf_close(struct logf *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	f->path = NULL;
	f->fd = -1;
}

/* The line that ends (with its newline) at byte end, into *line (caller frees; without
 * the newline) and *start. 0; -EBADMSG if byte end - 1 is not a newline or the line is
 * too long; -errno. */
static int line_before(const struct logf *f, off_t end, char **line, size_t *len, off_t *start)
{
	char c;
	*line = NULL;
	if (end < 1 || end > f->whole || pread(f->fd, &c, 1, end - 1) != 1 || c != '\n')
		return -EBADMSG;
	off_t from = end - 1 > RTN_AUDIT_LINE_MAX ? end - 1 - RTN_AUDIT_LINE_MAX : 0;
	size_t n = (size_t)(end - 1 - from);
	char *b = rtn_xmalloc(n + 1);
	if (pread(f->fd, b, n, from) != (ssize_t)n) {
		free(b);
		return -EIO;
	}
	char *nl = memrchr(b, '\n', n);
	if (!nl && from > 0) {
		free(b);
		return -EBADMSG;
	}
	size_t skip = nl ? (size_t)(nl - b) + 1 : 0;
	memmove(b, b + skip, n - skip);
	b[n - skip] = '\0';
	*line = b;
	*len = n - skip;
	*start = from + (off_t)skip;
	return 0;
}

/* Whole lines read forward from an offset. */
struct fwd {
	const struct logf *f;
	off_t pos;
	char *p;
	size_t start, len, cap;
};

/* The next whole line: 1 with [*s, *s + *n) (newline excluded) and its offset *at; 0 at
 * the end; -EBADMSG for a line too long; -errno. */
static int fwd_next(struct fwd *w, const char **s, size_t *n, off_t *at)
{
	for (;;) {
		char *nl =
		    w->len > w->start ? memchr(w->p + w->start, '\n', w->len - w->start) : NULL;
		if (nl) {
			*s = w->p + w->start;
			*n = (size_t)(nl - *s);
			*at = w->pos - (off_t)(w->len - w->start);
			w->start = (size_t)(nl - w->p) + 1;
			return *n + 1 > RTN_AUDIT_LINE_MAX ? -EBADMSG : 1;
		}
		if (w->len - w->start >= RTN_AUDIT_LINE_MAX)
			return -EBADMSG;
		if (w->pos >= w->f->whole)
			return 0;
		if (w->start > 0) {
			memmove(w->p, w->p + w->start, w->len - w->start);
			w->len -= w->start;
			w->start = 0;
		}
		size_t want = w->f->whole - w->pos < CHUNK ? (size_t)(w->f->whole - w->pos) : CHUNK;
		RTN_GROW(w->p, w->len + want, w->cap);
		ssize_t got = pread(w->f->fd, w->p + w->len, want, w->pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EIO; /* the file shrank under us */
		w->len += (size_t)got;
		w->pos += got;
	}
}

/* The chain so far: the last entry linked. */
struct link {
	uint64_t seq;
	char hash[RTN_AUDIT_HASH_LEN + 1];
	uint64_t after; /* entries linked after the recorded head */
};

/* Link every whole line of f from byte from to the chain c. 0; -EILSEQ with why; -errno. */
static int follow(const struct logf *f, off_t from, struct link *c, char *why, size_t whylen,
                  char *err, size_t errlen)
{
	struct fwd w = {.f = f, .pos = from};
	const char *s;
	size_t n;
	off_t at;
	int k, r = 0;
	while (r == 0 && (k = fwd_next(&w, &s, &n, &at)) != 0) {
		struct rtn_audit_line e;
		char bad[300] = "";
		if (k == -EBADMSG)
			snprintf(bad, sizeof(bad), "a line longer than %d bytes",
			         RTN_AUDIT_LINE_MAX);
		else if (k < 0)
			r = rtn_errf(err, errlen, k, "%s: %s", f->path, strerror(-k));
		else if (rtn_audit_check_line(s, n, &e, NULL, bad, sizeof(bad)) == 0 &&
		         e.seq != c->seq + 1)
			snprintf(bad, sizeof(bad), "seq %llu follows seq %llu",
			         (unsigned long long)e.seq, (unsigned long long)c->seq);
		else if (!bad[0] && strcmp(e.prev, c->hash) != 0)
			snprintf(bad, sizeof(bad),
			         "seq %llu does not continue the hash of seq %llu",
			         (unsigned long long)e.seq, (unsigned long long)c->seq);
		if (r == 0 && bad[0])
			r = rtn_errf(
			    why, whylen, -EILSEQ,
			    "the chain after the recorded entry breaks at byte %lld of %s: %s",
			    (long long)at, f->path, bad);
		if (r == 0) {
			c->seq = e.seq;
			memcpy(c->hash, e.hash, sizeof(c->hash));
			c->after++;
		}
		if (k < 0)
			break;
	}
	free(w.p);
	return r;
}

/* Does f hold h as the entry that ends at h->size? 0, or -EILSEQ with why; -errno. */
static int holds(const struct logf *f, const struct rtn_audit_head *h, char *why, size_t whylen)
{
	char *line, bad[300];
	size_t len;
	off_t start;
	struct rtn_audit_line e;
	if (h->size > f->whole)
		return rtn_errf(why, whylen, -EILSEQ,
		                "%s holds %lld bytes of whole entries, fewer than the %lld up to "
		                "the recorded entry: entries were cut off its end",
		                f->path, (long long)f->whole, (long long)h->size);
	int r = line_before(f, h->size, &line, &len, &start);
	if (r == -EBADMSG)
		return rtn_errf(why, whylen, -EILSEQ,
		                "no entry of %s ends at byte %lld, where the recorded one did: the "
		                "file was rewritten",
		                f->path, (long long)h->size);
	if (r < 0)
		return r;
	if (rtn_audit_check_line(line, len, &e, NULL, bad, sizeof(bad)) < 0)
		r = rtn_errf(why, whylen, -EILSEQ,
		             "the line of %s that ends at byte %lld is not a valid entry (%s): the "
		             "file was rewritten",
		             f->path, (long long)h->size, bad);
	else if (e.seq != h->seq || strcmp(e.hash, h->hash) != 0)
		r = rtn_errf(why, whylen, -EILSEQ,
		             "the entry of %s that ends at byte %lld is seq %llu hash %s, not the "
		             "recorded one: the file was rewritten",
		             f->path, (long long)h->size, (unsigned long long)e.seq, e.hash);
	free(line);
	return r;
}

/* The first entry of f, parsed (*entry: new reference), or -EILSEQ with why; -errno. */
static int first_entry(const struct logf *f, struct rtn_audit_line *e, json_t **entry, char *why,
                       size_t whylen)
{
	struct fwd w = {.f = f};
	const char *s;
	size_t n;
	off_t at;
	char bad[300] = "";
	*entry = NULL;
	int k = fwd_next(&w, &s, &n, &at), r = 0;
	if (k == 1 && rtn_audit_check_line(s, n, e, entry, bad, sizeof(bad)) < 0)
		r = rtn_errf(why, whylen, -EILSEQ, "the first entry of %s is not valid: %s",
		             f->path, bad);
	else if (k == 0)
		r = rtn_errf(why, whylen, -EILSEQ, "%s holds no entry", f->path);
	else if (k == -EBADMSG)
		r = rtn_errf(why, whylen, -EILSEQ, "the first line of %s is longer than %d bytes",
		             f->path, RTN_AUDIT_LINE_MAX);
	else if (k < 0)
		r = k;
	free(w.p);
	if (r < 0) {
		json_decref(*entry);
		*entry = NULL;
	}
	return r;
}

/* {"file", "size", "seq", "hash"} of f's last whole entry (seq and hash left out if it is
 * not valid). New reference. */
static json_t *describe(const struct logf *f)
{
	json_t *d = json_pack("{s:s?,s:I}", "file", f->path, "size", (json_int_t)f->whole);
	if (!d)
		d = json_pack("{s:s,s:I}", "file", "(not UTF-8)", "size", (json_int_t)f->whole);
	char *line, bad[300];
	size_t len;
	off_t start;
	struct rtn_audit_line e;
	if (f->whole == 0) {
		json_object_set_new(d, "seq", json_integer(0));
		json_object_set_new(d, "hash", json_string(RTN_AUDIT_GENESIS));
	} else if (line_before(f, f->whole, &line, &len, &start) == 0) {
		if (rtn_audit_check_line(line, len, &e, NULL, bad, sizeof(bad)) == 0) {
			json_object_set_new(d, "seq", json_integer((json_int_t)e.seq));
			json_object_set_new(d, "hash", json_string(e.hash));
		}
		free(line);
	}
	return d;
}

int rtn_audit_head_check(const char *log_path, const struct rtn_audit_head *h, json_t **found,
                         char *err, size_t errlen)
{
	struct logf f[MAX_FILES];
	size_t n = 0;
	char why[1024] = "";
	struct link c = {0};
	struct stat st;
	*found = NULL;
	if (err && errlen)
		err[0] = '\0';
	/* What rtn_audit_open() will open: a crash between the renames of a rotation leaves
	 * the new file at PATH.rotating and no PATH; it is put in place then. */
	char *rotating = rtn_xasprintf("%s.rotating", log_path);
	bool use_rotating =
	    lstat(log_path, &st) < 0 && errno == ENOENT && lstat(rotating, &st) == 0;
	int r = logf_open(&f[n++], use_rotating ? rotating : log_path, err, errlen);
	free(rotating);
	/* Walk back through audit.rotated entries to the file whose entries reach back to h. */
	size_t k = 0; /* the file in which the chain is followed from */
	off_t from = 0;
	while (r == 0) {
		struct rtn_audit_line first;
		json_t *entry = NULL;
		k = n - 1;
		if (f[k].whole == 0) {
			r = rtn_errf(why, sizeof(why), -EILSEQ, "%s %s", f[k].path,
			             f[k].fd < 0 ? "does not exist" : "holds no entry");
			break;
		}
		if ((r = first_entry(&f[k], &first, &entry, why, sizeof(why))) < 0)
			break;
		const char *previous = json_string_value(
		    json_object_get(json_object_get(entry, "detail"), "previous"));
		if (first.seq <= h->seq) {
			/* h is in this file, or lost */
			if ((r = holds(&f[k], h, why, sizeof(why))) == 0)
				from = h->size;
		} else if (first.seq == h->seq + 1 && strcmp(first.prev, h->hash) == 0) {
			from = 0; /* h is the last entry of the file this one continues */
		} else if (!first.rotated || !previous) {
			r = rtn_errf(
			    why, sizeof(why), -EILSEQ,
			    "%s begins at seq %llu, after the recorded entry, and continues no "
			    "earlier file",
			    f[k].path, (unsigned long long)first.seq);
		} else if (n == MAX_FILES) {
			r = rtn_errf(why, sizeof(why), -EILSEQ,
			             "more than %d rotations since the recorded entry",
			             MAX_FILES - 1);
		} else {
			r = logf_open(&f[n++], previous, err, errlen);
			if (r == 0 && f[n - 1].fd < 0)
				r = rtn_errf(
				    why, sizeof(why), -EILSEQ,
				    "%s begins at seq %llu, after the recorded entry; %s, the "
				    "file it continues, does not exist",
				    f[k].path, (unsigned long long)first.seq, previous);
			json_decref(entry);
			if (r == 0)
				continue; /* look there */
			break;
		}
		json_decref(entry);
		break;
	}
	/* From h to the end, through every newer file. */
	c.seq = h->seq;
	memcpy(c.hash, h->hash, sizeof(c.hash));
	for (size_t i = k + 1; r == 0 && i-- > 0;)
		r = follow(&f[i], i == k ? from : 0, &c, why, sizeof(why), err, errlen);
	if (r == 0 || r == -EILSEQ) {
		*found = describe(&f[0]);
		if (r == 0)
			json_object_set_new(*found, "entries_after",
			                    json_integer((json_int_t)c.after));
		else
			json_object_set_new(*found, "reason", json_string(why));
	}
	for (size_t i = 0; i < n; i++)
		logf_close(&f[i]);
	return r;
}
