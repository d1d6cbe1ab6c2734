/* fsscan.c - retention-fs: a scan lists the regular files below every root that has
 * "scan category", one record each
 *
 *   {"id": PATH, "category": CATEGORY, "locator": {"path": PATH}, "events": {EVENT: T}}
 *
 * PATH is the root as configured joined with the file's path below it: the id is unique
 * across roots and the locator is what a delete job needs. EVENT is "modified" (mtime),
 * "changed" (ctime) or "created" (birth time, statx STATX_BTIME), T in Unix seconds.
 * A rename is a new id: the old one is no longer listed (the daemon marks it left after a
 * complete scan) and the new one is a new record with the file's own time.
 *
 * The walk starts from the root's descriptor opened at start-up and goes down with
 * openat(O_NOFOLLOW) and statx(AT_SYMLINK_NOFOLLOW) on each directory's descriptor, one
 * directory open per level, nothing collected: a symbolic link is never followed (it is
 * skipped and counted), a mount point never entered (skipped and counted), and what cannot
 * be read is skipped and counted. Sockets, FIFOs and devices are not records. A root that
 * is gone, or is no longer the directory opened at start-up, cannot be listed: the scan
 * goes on with the other roots and is incomplete.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "fsdel.h"
#include "jsonw.h"
#include "record.h"
#include "util.h"

#define MAX_DEPTH    256 /* directories below a root */
#define FUTURE_SLACK 300 /* seconds ahead of our clock a file's time may be unflagged */

static const char *const event_names[] = {"modified", "changed", "created"};

struct walk {
	const struct fs_root *root;
	struct rtn_scan_out *out;
	struct rtn_jw rec; /* the record being written */
	char *path;        /* the entry being looked at, in full */
	size_t len, cap;
};

/* The record of the regular file at w->path. 0 or -ECANCELED. */
static int emit_file(struct walk *w, const struct statx *sx)
{
	const struct statx_timestamp *ts = &sx->stx_mtime;
	if (w->root->scan_event == FS_EV_CTIME) {
		ts = &sx->stx_ctime;
	} else if (w->root->scan_event == FS_EV_BIRTH) {
		if (!(sx->stx_mask & STATX_BTIME)) {
			rtn_scan_skip(w->out, w->path, "its file system keeps no birth time");
			return 0;
		}
		ts = &sx->stx_btime;
	}
	if (w->len > RTN_ID_MAX) {
		rtn_scan_skip(w->out, w->path, "longer than a record id can be (512 bytes)");
		return 0;
	}
	/* written as text: a jansson tree built and printed costs more than the walk */
	struct rtn_jw *b = &w->rec;
	b->len = 0;
	JW_LIT(b, "{\"id\":");
	if (rtn_jw_string(b, w->path, w->len) < 0) {
		rtn_scan_skip(w->out, w->path, "its name is not UTF-8");
		return 0;
	}
	JW_LIT(b, ",\"category\":");
	rtn_jw_string(b, w->root->scan_category, strlen(w->root->scan_category));
	JW_LIT(b, ",\"locator\":{\"path\":");
	rtn_jw_string(b, w->path, w->len);
	JW_LIT(b, "},\"events\":{\"");
	const char *ev =
	    w->root->scan_event_name ? w->root->scan_event_name : event_names[w->root->scan_event];
	rtn_jw_put(b, ev, strlen(ev));
	JW_LIT(b, "\":");
	rtn_jw_int(b, (long long)ts->tv_sec);
	JW_LIT(b, "}}");
	if (ts->tv_sec > (long long)time(NULL) + FUTURE_SLACK)
		rtn_scan_future(w->out);
	return rtn_scan_emit_text(w->out, b->p, b->len);
}

/* The entries of the directory fd (w->path; fd is taken). 0 or -ECANCELED. */
static int walk_dir(struct walk *w, int fd, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		rtn_scan_skip(w->out, w->path, strerror(errno));
		close(fd);
		return 0;
	}
	const int at = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC;
	const unsigned mask =
	    STATX_TYPE | STATX_INO | STATX_MTIME | STATX_CTIME | STATX_BTIME | STATX_MNT_ID;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (errno = 0, e = readdir(d))) {
		const char *name = e->d_name;
		if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
			continue;
		size_t was = fs_path_push(&w->path, &w->len, &w->cap, name);
		struct statx sx;
		if (statx(dirfd(d), name, at, mask, &sx) < 0) {
			if (errno != ENOENT) /* gone since readdir: not a file any more */
				rtn_scan_skip(w->out, w->path, strerror(errno));
			fs_path_pop(w->path, &w->len, was);
			continue;
		}
		struct fs_mnt m = {makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_mnt_id,
		                   (sx.stx_mask & STATX_MNT_ID) != 0};
		bool dir = S_ISDIR(sx.stx_mode);
		if (S_ISLNK(sx.stx_mode)) {
			rtn_scan_skip(w->out, w->path, "a symbolic link; not followed");
		} else if ((dir || S_ISREG(sx.stx_mode)) && !fs_on_root_mount(w->root, &m, dir)) {
			rtn_scan_skip(w->out, w->path, "a mount point; not entered");
		} else if (S_ISREG(sx.stx_mode)) {
			r = emit_file(w, &sx);
		} else if (dir && depth >= MAX_DEPTH) {
			rtn_scan_skip(w->out, w->path, "nested more than 256 directories deep");
		} else if (dir) {
			int sub =
			    openat(dirfd(d), name,
			           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
			struct stat st;
			if (sub < 0 && errno != ENOENT) {
				rtn_scan_skip(w->out, w->path, strerror(errno));
			} else if (sub >= 0 && (fstat(sub, &st) < 0 || st.st_ino != sx.stx_ino ||
			                        st.st_dev != w->root->mnt.dev)) {
				/* replaced, or mounted on, since statx */
				rtn_scan_skip(w->out, w->path, "changed while being listed");
				close(sub);
			} else if (sub >= 0) {
				r = walk_dir(w, sub, depth + 1);
			}
		}
		fs_path_pop(w->path, &w->len, was);
	}
	if (r == 0 && errno)
		rtn_scan_skip(w->out, w->path, strerror(errno));
	closedir(d);
	return r;
}

/* The files of one root. 0, -ECANCELED, or -1 with err. */
static int scan_root(const struct fs_root *root, struct rtn_scan_out *out, char *err, size_t errlen)
{
	struct stat now, then;
	if (stat(root->real, &now) < 0)
		return rtn_errf(err, errlen, -1, "root %s: %s", root->name, strerror(errno));
	if (fstat(root->fd, &then) < 0 || now.st_ino != then.st_ino || now.st_dev != then.st_dev)
		return rtn_errf(
		    err, errlen, -1,
		    "root %s is no longer the directory opened at start-up (replaced or "
		    "mounted over); restart retention-fs",
		    root->name);
	int fd = openat(root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return rtn_errf(err, errlen, -1, "root %s: %s", root->name, strerror(errno));
	struct walk w = {.root = root, .out = out};
	size_t n = strcmp(root->name, "/") == 0 ? 0 : strlen(root->name);
	w.cap = n + 256;
	w.path = rtn_xmalloc(w.cap);
	memcpy(w.path, root->name, n);
	w.path[w.len = n] = '\0';
	rtn_info("scan: listing %s (category %s)", root->name, root->scan_category);
	int r = walk_dir(&w, fd, 0);
	free(w.rec.p);
	free(w.path);
	return r;
}

int fs_scan(void *ctx, struct rtn_scan_out *out, char *err, size_t errlen)
{
	const struct fs_conf *c = ctx;
	int rc = 0;
	for (size_t i = 0; i < c->nroots; i++) {
		if (!c->roots[i].scan_category)
			continue;
		char e[RTN_BACKEND_ERR_MAX];
		int r = scan_root(&c->roots[i], out, e, sizeof(e));
		if (r == -ECANCELED)
			return 0;
		if (r < 0 && rc == 0) {
			snprintf(err, errlen, "%s", e);
			rc = -1;
		}
	}
	return rc;
}
