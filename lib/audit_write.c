/* audit_write.c - the audit log's writer: open, append, group commit, rotation
 *
 * Entries are formatted by rtn_audit_format() (audit.c) and buffered; a flush writes
 * whole lines with one write() on an O_APPEND descriptor, a sync adds fdatasync().
 * The file only ever ends with a whole line, except after a crash during a write:
 * rtn_audit_open() then cuts the torn tail and records that it did.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define FLUSH_AT (64 * 1024) /* bytes buffered before rtn_audit_append writes them out */
#define CHUNK    (64 * 1024) /* read size of last_line() */

struct rtn_audit {
	char *path;
	int fd;
	uint64_t seq;                      /* of the last entry appended */
	char head[RTN_AUDIT_HASH_LEN + 1]; /* its hash */
	char *pending;                     /* whole lines not yet written */
	size_t len, cap;
	off_t size, synced;              /* bytes in the file, bytes known on disk */
	int broken;                      /* -EIO once the file's state is unknown */
	unsigned gen;                    /* recoveries so far: a mark from before one is stale */
	struct rtn_audit_mark recovered; /* where the last recovery left the log */
	gid_t group;                     /* the readers' group of every file, or (gid_t)-1 */
};

/* Make the file at fd readable by the owner's writes and the group's reads only (0640),
 * and its group a's readers' group when one is set. 0 or -errno (logged). */
static int share(const struct rtn_audit *a, int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_mode & 07777) != 0640 && fchmod(fd, 0640) < 0) {
		int r = -errno;
		rtn_warn("%s: cannot make it mode 0640: %s", path, strerror(errno));
		return r;
	}
	if (a->group != (gid_t)-1 && st.st_gid != a->group && fchown(fd, (uid_t)-1, a->group) < 0) {
		int r = -errno;
		rtn_warn(
		    "%s: cannot give it to group %u (audit-group): %s; its members cannot read "
		    "it (make its directory set-group-ID and of that group, as the shipped "
		    "tmpfiles.d snippet does)",
		    path, (unsigned)a->group, strerror(errno));
		return r;
	}
	return 0;
}

int rtn_audit_set_group(struct rtn_audit *a, gid_t group)
{
	a->group = group;
	return a->fd >= 0 ? share(a, a->fd, a->path) : 0;
}

/* fsync() the directory holding path (a warning if that fails). */
static void sync_dir(const char *path)
{
	int r = rtn_sync_dir(path);
	if (r < 0)
		rtn_warn("%s: cannot sync its directory: %s", path, strerror(-r));
}

/* A crash inside rtn_audit_rotate() leaves PATH.rotating: finish or undo the rotation. */
static void finish_rotation(const char *path)
{
	char *tmp = rtn_xasprintf("%s.rotating", path);
	struct stat st;
	if (lstat(tmp, &st) == 0) {
		if (lstat(path, &st) < 0 && errno == ENOENT) {
			if (rename(tmp, path) == 0) {
				rtn_warn("%s: completed an interrupted rotation", path);
				sync_dir(path);
			}
		} else if (unlink(tmp) == 0) {
			rtn_warn("%s: removed %s, left by an interrupted rotation", path, tmp);
		}
	}
	free(tmp);
}

/* Find the last whole line of the file: its offset and length (newline excluded, -1
 * if none), and where the whole lines end (a torn tail follows). */
static int last_line(int fd, off_t size, off_t *start, off_t *len, off_t *whole)
{
	char *b = rtn_xmalloc(CHUNK);
	off_t pos = size, nl1 = -1, nl2 = -1;
	int r = 0;
	while (pos > 0 && nl2 < 0) {
		size_t n = pos < CHUNK ? (size_t)pos : CHUNK;
		pos -= (off_t)n;
		if (pread(fd, b, n, pos) != (ssize_t)n) {
			r = -EIO;
			break;
		}
		for (size_t i = n; i-- > 0 && nl2 < 0;)
			if (b[i] == '\n')
				*(nl1 < 0 ? &nl1 : &nl2) = pos + (off_t)i;
		if (nl1 >= 0 && nl2 < 0 && nl1 - pos >= RTN_AUDIT_LINE_MAX)
			break;
	}
	free(b);
	*whole = nl1 + 1;
	*start = nl2 + 1;
	*len = nl1 < 0 ? -1 : nl1 - *start;
	return r;
}

/* Restore seq and head from the last whole line, then cut a torn tail (*cut: its
 * length). A bad last whole line is left for the investigator: -EBADMSG. */
static int restore(struct rtn_audit *a, off_t size, off_t *cut, char *err, size_t errlen)
{
	off_t start, len, whole;
	char why[256];
	int r = last_line(a->fd, size, &start, &len, &whole);
	if (r < 0)
		return rtn_errf(err, errlen, r, "%s: %s", a->path, strerror(-r));
	if (len + 1 > RTN_AUDIT_LINE_MAX)
		return rtn_errf(err, errlen, -EBADMSG, "%s: the last line is longer than %d bytes",
		                a->path, RTN_AUDIT_LINE_MAX);
	if (len >= 0) {
		char *line = rtn_xmalloc((size_t)len + 1);
		struct rtn_audit_line e;
		if (pread(a->fd, line, (size_t)len, start) != (ssize_t)len)
			r = rtn_errf(err, errlen, -EIO, "%s: cannot read its last line", a->path);
		else if (rtn_audit_check_line(line, (size_t)len, &e, NULL, why, sizeof(why)) < 0)
			r = rtn_errf(err, errlen, -EBADMSG,
			             "%s: the last entry (at byte %lld) is bad: %s; see retentiond "
			             "--verify-audit",
			             a->path, (long long)start, why);
		free(line);
		if (r < 0)
			return r;
		a->seq = e.seq;
		memcpy(a->head, e.hash, sizeof(a->head));
	}
	*cut = size - whole;
	if (*cut > 0) {
		if (ftruncate(a->fd, whole) < 0 || fdatasync(a->fd) < 0)
			return rtn_errf(err, errlen, -errno,
			                "%s: cannot cut its torn last line: %s", a->path,
			                strerror(errno));
		rtn_warn("%s: cut a torn last line of %lld bytes at byte %lld (a crash during a "
		         "write; its action was never sent)",
		         a->path, (long long)*cut, (long long)whole);
	}
	a->size = a->synced = whole;
	return 0;
}

int rtn_audit_open(const char *path, rtn_time_t now, struct rtn_audit **out, char *err,
                   size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	finish_rotation(path);
	bool created = false;
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		created = fd >= 0;
	}
	if (fd < 0)
		return rtn_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	int r = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK
		        ? rtn_errf(err, errlen, -EBUSY, "%s: another process writes it", path)
		        : rtn_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	else if (fstat(fd, &st) < 0)
		r = rtn_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = rtn_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (created)
		sync_dir(path);
	struct rtn_audit *a = rtn_xcalloc(1, sizeof(*a));
	a->path = rtn_xstrdup(path);
	a->fd = fd;
	a->group = (gid_t)-1;
	memcpy(a->head, RTN_AUDIT_GENESIS, sizeof(a->head));
	off_t cut = 0;
	r = restore(a, st.st_size, &cut, err, errlen);
	if (r == 0 && cut > 0) {
		json_t *d = json_pack("{s:I,s:I}", "offset", (json_int_t)a->size, "torn_bytes",
		                      (json_int_t)cut);
		struct rtn_audit_entry e = {
		    .type = "audit.repaired", .actor = "daemon", .detail = d};
		r = rtn_audit_append(a, now, &e, RTN_AUDIT_SYNC);
		json_decref(d);
		if (r < 0)
			rtn_errf(err, errlen, r, "%s: %s", path, strerror(-r));
	}
	if (r < 0) {
		a->len = 0;
		rtn_audit_close(a);
		return r;
	}
	*out = a;
	return 0;
}

/* After a failed fdatasync() or a failed cut, the file's state is unknown: open it again
 * and take seq, head and size from what the file holds. Entries still buffered were
 * chained to a head the file may not have; they are dropped (their changes were rolled
 * back by the failed sync that broke the writer). */
static int recover(struct rtn_audit *a)
{
	if (!a->broken)
		return 0;
	/* Our own lock is on the old descriptor: let it go first (flock locks belong to the
	 * open file, so a second open here would conflict with it). */
	if (a->fd >= 0)
		close(a->fd);
	a->fd = open(a->path, O_RDWR | O_APPEND | O_CLOEXEC);
	struct stat st;
	if (a->fd < 0)
		return -errno;
	if (flock(a->fd, LOCK_EX | LOCK_NB) < 0 || fstat(a->fd, &st) < 0) {
		int r = -errno;
		close(a->fd);
		a->fd = -1;
		return r;
	}
	char err[512];
	off_t cut = 0;
	if (restore(a, st.st_size, &cut, err, sizeof(err)) < 0) {
		rtn_err("%s: cannot recover the audit log: %s", a->path, err);
		return -EIO;
	}
	if (a->len)
		rtn_warn("%s: %zu bytes of buffered audit entries dropped on recovery", a->path,
		         a->len);
	a->len = 0;
	a->broken = 0;
	a->gen++;
	a->recovered.seq = a->seq;
	memcpy(a->recovered.head, a->head, sizeof(a->head));
	a->recovered.end = (int64_t)a->size;
	a->recovered.gen = a->gen;
	rtn_notice("%s: reopened after a failed sync; the log continues at seq %llu", a->path,
	           (unsigned long long)a->seq);
	return 0;
}

void rtn_audit_mark(struct rtn_audit *a, struct rtn_audit_mark *m)
{
	if (a->broken)
		(void)recover(a); /* a mark on a broken writer would not survive its recovery */
	m->gen = a->gen;
	m->seq = a->seq;
	memcpy(m->head, a->head, sizeof(m->head));
	m->end = (int64_t)a->size + (int64_t)a->len;
}

bool rtn_audit_mark_current(const struct rtn_audit *a, const struct rtn_audit_mark *m)
{
	return !a->broken && m->gen == a->gen;
}

int rtn_audit_undo(struct rtn_audit *a, const struct rtn_audit_mark *m)
{
	if (m->gen != a->gen) {
		/* A recovery since the mark dropped what was buffered then; what was appended
		 * after it belongs to the change being undone: back to where it left the log. */
		if (a->gen == 0 || a->recovered.gen != a->gen)
			return -EIO;
		return rtn_audit_undo(a, &a->recovered);
	}
	int64_t end = (int64_t)a->size + (int64_t)a->len;
	if (end <= m->end)
		return 0; /* nothing after the mark, or a recovery dropped it already */
	if ((int64_t)a->size <= m->end) {
		a->len = (size_t)(m->end - (int64_t)a->size);
	} else {
		if (ftruncate(a->fd, (off_t)m->end) < 0 || fdatasync(a->fd) < 0) {
			int r = -errno;
			a->broken = -EIO;
			rtn_err("%s: cannot take back entries of a change that did not happen: %s",
			        a->path, strerror(-r));
			return r;
		}
		a->size = (off_t)m->end;
		a->len = 0;
		if (a->synced > a->size)
			a->synced = a->size;
	}
	a->seq = m->seq;
	memcpy(a->head, m->head, sizeof(a->head));
	return 0;
}

int rtn_audit_append(struct rtn_audit *a, rtn_time_t now, const struct rtn_audit_entry *e,
                     unsigned flags)
{
	char hash[RTN_AUDIT_HASH_LEN + 1];
	if (a->broken && recover(a) < 0)
		return a->broken;
	char *line;
	size_t len;
	int r = rtn_audit_format(a->seq + 1, a->head, now, e, &line, &len, hash);
	if (r < 0)
		return r;
	RTN_GROW(a->pending, a->len + len, a->cap);
	memcpy(a->pending + a->len, line, len);
	a->len += len;
	free(line);
	a->seq++;
	memcpy(a->head, hash, sizeof(hash));
	if (flags & RTN_AUDIT_SYNC)
		return rtn_audit_sync(a);
	if (a->len >= FLUSH_AT)
		(void)rtn_audit_flush(a); /* an error stays and is returned by the next sync */
	return 0;
}

int rtn_audit_flush(struct rtn_audit *a)
{
	size_t done;
	if (a->broken && recover(a) < 0)
		return a->broken;
	if (a->len == 0)
		return 0;
	int r = rtn_write_all(a->fd, a->pending, a->len, &done);
	if (r < 0) {
		/* Take back a part written, so that the file ends with a whole line and the
		 * retry writes everything again. */
		if (done > 0 && ftruncate(a->fd, a->size) < 0) {
			a->broken = -EIO;
			rtn_err("%s: a failed write left a torn line that cannot be cut: %s",
			        a->path, strerror(errno));
		}
		return r;
	}
	a->size += (off_t)done;
	a->len = 0;
	return 0;
}

int rtn_audit_sync(struct rtn_audit *a)
{
	int r = rtn_audit_flush(a);
	if (r < 0 || a->synced == a->size)
		return r;
	if (fdatasync(a->fd) < 0) {
		/* After a failed fdatasync() the page cache may have dropped the data: only a
		 * reopen (which checks the tail) knows the file's state again; the next flush
		 * does it (recover()). */
		r = -errno;
		a->broken = -EIO;
		rtn_err("%s: fdatasync: %s", a->path, strerror(-r));
		return r;
	}
	a->synced = a->size;
	return 0;
}

uint64_t rtn_audit_seq(const struct rtn_audit *a)
{
	return a->seq;
}

const char *rtn_audit_head(const struct rtn_audit *a)
{
	return a->head;
}

const char *rtn_audit_path(const struct rtn_audit *a)
{
	return a->path;
}

int64_t rtn_audit_size(const struct rtn_audit *a)
{
	return (int64_t)a->size;
}

void rtn_audit_log_head(const struct rtn_audit *a)
{
	rtn_notice("audit head: seq %llu hash %s file %s", (unsigned long long)a->seq, a->head,
	           a->path);
}

int rtn_audit_rotate(struct rtn_audit *a, rtn_time_t now, const char *rotated_path)
{
	char hash[RTN_AUDIT_HASH_LEN + 1];
	size_t done;
	int r = rtn_audit_sync(a);
	if (r < 0)
		return r;
	json_t *d = json_pack("{s:s,s:s}", "previous", rotated_path, "previous_head", a->head);
	if (!d)
		return -EINVAL;
	char *line = NULL;
	size_t len = 0;
	struct rtn_audit_entry e = {.type = "audit.rotated", .actor = "daemon", .detail = d};
	r = rtn_audit_format(a->seq + 1, a->head, now, &e, &line, &len, hash);
	json_decref(d);
	if (r < 0)
		return r;
	/* The new file is whole on disk before any name changes; a crash between the two
	 * renames leaves PATH.rotating, which rtn_audit_open() puts in place. */
	char *tmp = rtn_xasprintf("%s.rotating", a->path);
	int fd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	share(a, fd, tmp); /* a file its readers cannot read is still written */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || (r = rtn_write_all(fd, line, len, &done)) < 0 ||
	    fdatasync(fd) < 0) {
		r = r < 0 ? r : -errno;
		goto undo;
	}
	if (renameat2(AT_FDCWD, a->path, AT_FDCWD, rotated_path, RENAME_NOREPLACE) < 0) {
		r = -errno;
		if (r == -EINVAL && access(rotated_path, F_OK) < 0 && errno == ENOENT &&
		    rename(a->path, rotated_path) == 0)
			r = 0; /* a file system without RENAME_NOREPLACE */
		if (r < 0)
			goto undo;
	}
	if (rename(tmp, a->path) < 0) {
		r = -errno;
		if (rename(rotated_path, a->path) < 0) {
			a->broken = -EIO;
			rtn_err("%s: rotation failed half-way; the log is at %s", a->path,
			        rotated_path);
		}
		goto undo;
	}
	sync_dir(a->path);
	sync_dir(rotated_path);
	close(a->fd);
	a->fd = fd;
	a->seq++;
	memcpy(a->head, hash, sizeof(hash));
	a->size = a->synced = (off_t)len;
	rtn_notice("%s: rotated to %s after seq %llu", a->path, rotated_path,
	           (unsigned long long)a->seq - 1);
	goto out;
undo:
	close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(line);
	return r;
}

void rtn_audit_close(struct rtn_audit *a)
{
	if (!a)
		return;
	int r = rtn_audit_sync(a);
	if (r < 0)
		rtn_err("%s: %zu bytes of audit entries could not be written: %s", a->path, a->len,
		        strerror(-r));
	close(a->fd);
	free(a->pending);
	free(a->path);
	free(a);
}
