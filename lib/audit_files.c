/* audit_files.c - which files of a rotated log hold a period
 *
 * Rotation leaves a chain of files: each file but the first begins with an
 * "audit.rotated" entry whose detail.previous names the file before it. A file holds
 * the entries from its first entry's time up to the first entry of the next file. The
 * walk reads the first line of each file only, newest first, and stops at the file that
 * begins at or before the period's start, so older files (kept or removed) are not
 * touched.
 */
#include "audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_int.h"
#include "util.h"

#define WALK_MAX 100000 /* files walked back: a loop in the chain ends here */

struct first {
	uint64_t seq;
	rtn_time_t time;
	bool rotated;
	char *previous; /* detail.previous of an audit.rotated entry */
};

/* The first entry of path. 0, -ENOENT, -EBADMSG (not an entry) or -errno, with err. */
static int read_first(const char *path, struct first *f, char *err, size_t errlen)
{
	struct rtn_audit_lines l = {.fd = -1};
	const char *s;
	size_t len;
	*f = (struct first){.time = RTN_TIME_NONE};
	int r = rtn_audit_open_lines(&l, path, err, errlen);
	if (r < 0)
		return r;
	int k = rtn_audit_next_line(&l, &s, &len);
	json_t *e = k == LINE_OK ? json_loadb(s, len, 0, NULL) : NULL;
	close(l.fd);
	free(l.p);
	if (k < 0)
		return rtn_errf(err, errlen, k, "%s: %s", path, strerror(-k));
	if (k == LINE_EOF) {
		json_decref(e);
		return rtn_errf(err, errlen, -ENODATA, "%s: empty", path);
	}
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *ts = json_string_value(json_object_get(e, "time"));
	json_t *seq = json_object_get(e, "seq");
	if (!type || !ts || !json_is_integer(seq) || rtn_time_parse(ts, &f->time) < 0) {
		json_decref(e);
		return rtn_errf(err, errlen, -EBADMSG, "%s:1: not an audit entry", path);
	}
	f->seq = (uint64_t)json_integer_value(seq);
	f->rotated = strcmp(type, "audit.rotated") == 0;
	const char *prev =
	    json_string_value(json_object_get(json_object_get(e, "detail"), "previous"));
	f->previous = f->rotated && prev ? rtn_xstrdup(prev) : NULL;
	json_decref(e);
	return 0;
}

int rtn_audit_first_seq(const char *path, uint64_t *seq)
{
	struct first f;
	char err[256];
	int r = read_first(path, &f, err, sizeof(err));
	if (r == 0)
		*seq = f.seq;
	free(f.previous);
	return r;
}

/* The seq of the last entry of path (read from its end), or 0 if unknown. */
static uint64_t last_seq(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint64_t seq = 0;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 1) {
		off_t want = st.st_size < RTN_AUDIT_LINE_MAX ? st.st_size : RTN_AUDIT_LINE_MAX;
		char *buf = rtn_xmalloc((size_t)want + 1);
		ssize_t got = pread(fd, buf, (size_t)want, st.st_size - want);
		if (got > 1) {
			buf[got] = '\0';
			size_t end = (size_t)got - (buf[got - 1] == '\n');
			buf[end] = '\0';
			char *nl = strrchr(buf, '\n');
			json_t *e = json_loads(nl ? nl + 1 : buf, 0, NULL);
			if (json_is_integer(json_object_get(e, "seq")))
				seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
			json_decref(e);
		}
		free(buf);
	}
	close(fd);
	return seq;
}

/* The file before the gap: of the files beside current named like it ("audit.log.*"),
 * the one that begins last before seq before. Its last seq, or 0 if there is none. */
static uint64_t before_gap(const char *current, uint64_t before)
{
	char *dcopy = rtn_xstrdup(current), *bcopy = rtn_xstrdup(current);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t blen = strlen(base);
	uint64_t best_first = 0, found = 0;
	char *best = NULL;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.')
			continue;
		char *p = rtn_xasprintf("%s/%s", dir, de->d_name);
		struct first f;
		char e[8];
		if (read_first(p, &f, e, sizeof(e)) == 0 && f.seq < before && f.seq >= best_first) {
			best_first = f.seq;
			free(best);
			best = p;
			p = NULL;
		}
		free(f.previous);
		free(p);
	}
	if (d)
		closedir(d);
	if (best)
		found = last_seq(best);
	free(best);
	free(dcopy);
	free(bcopy);
	return found < before ? found : 0;
}

/* Where the previous file is: as named, else a file of that name beside the newer one
 * (the directory was moved). NULL if neither exists. */
static char *locate(const char *previous, const char *newer)
{
	struct stat st;
	if (stat(previous, &st) == 0)
		return rtn_xstrdup(previous);
	char *pcopy = rtn_xstrdup(previous), *ncopy = rtn_xstrdup(newer);
	char *beside = rtn_xasprintf("%s/%s", dirname(ncopy), basename(pcopy));
	free(pcopy);
	free(ncopy);
	if (stat(beside, &st) == 0)
		return beside;
	free(beside);
	return NULL;
}

int rtn_audit_files(const char *current, rtn_time_t since, rtn_time_t until, char ***paths,
                    size_t *n, char *err, size_t errlen)
{
	bool has_since = since != RTN_TIME_NONE && since != 0;
	bool has_until = until != RTN_TIME_NONE && until != 0;
	char **list = NULL; /* newest first while walking */
	size_t cnt = 0, cap = 0;
	char *path = rtn_xstrdup(current);
	int r = 0;
	*paths = NULL;
	*n = 0;
	for (size_t walked = 0;; walked++) {
		struct first f;
		if (walked == WALK_MAX) {
			r = rtn_errf(err, errlen, -ELOOP, "%s: more than %d files in the chain",
			             path, WALK_MAX);
			break;
		}
		if ((r = read_first(path, &f, err, errlen)) == -ENODATA && walked == 0) {
			RTN_GROW(list, cnt + 1, cap); /* a new log, nothing in it yet */
			list[cnt++] = path;
			path = NULL;
			r = 0;
			break;
		}
		if (r < 0)
			break;
		if (!(has_until && f.time >= until)) { /* else it begins after the period */
			RTN_GROW(list, cnt + 1, cap);
			list[cnt++] = path;
			path = NULL;
		}
		if ((has_since && f.time <= since) || !f.rotated) {
			free(f.previous);
			break;
		}
		if (!f.previous) {
			r = rtn_errf(err, errlen, -EBADMSG,
			             "%s: its audit.rotated entry names no previous file",
			             path ? path : list[cnt - 1]);
			break;
		}
		char *prev = locate(f.previous, path ? path : list[cnt - 1]);
		if (!prev) {
			uint64_t lo = before_gap(current, f.seq);
			if (lo)
				r = rtn_errf(
				    err, errlen, -ENOENT,
				    "%s is missing: the entries seq %llu..%llu between it and "
				    "its successor are not there",
				    f.previous, (unsigned long long)lo + 1,
				    (unsigned long long)f.seq - 1);
			else
				r = rtn_errf(
				    err, errlen, -ENOENT,
				    "%s is missing: the entries up to seq %llu (seq 1..%llu "
				    "unless an older file holds the first of them) are not there",
				    f.previous, (unsigned long long)f.seq - 1,
				    (unsigned long long)f.seq - 1);
			free(f.previous);
			break;
		}
		free(f.previous);
		free(path);
		path = prev;
	}
	free(path);
	if (r < 0) {
		for (size_t i = 0; i < cnt; i++)
			free(list[i]);
		free(list);
		return r;
	}
	for (size_t i = 0; i < cnt / 2; i++) {
		char *t = list[i];
		list[i] = list[cnt - 1 - i];
		list[cnt - 1 - i] = t;
	}
	*paths = list;
	*n = cnt;
	return 0;
}

void rtn_audit_files_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
